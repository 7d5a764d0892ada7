//! The clients' door: RESP connections from `redis-cli`, `redis-benchmark` and client
//! libraries, and the table from RESP commands to what the node does.
//!
//! ```text
//!   socket ──► resp/ (parse, bounded) ──► command.rs (RESP ↔ kv::Command) ──► connection.rs
//!                                                                             │ Event::Client
//!   socket ◄── resp/ (encode) ◄── replies in pipeline order ◄─────────────────┘ node task
//! ```
//!
//! Later front ends (Redis Cluster, etcd's v3 gRPC API) join as siblings of `resp/` over the
//! same node task, so a write through one is read through another.

pub mod command;
pub(crate) mod connection;
pub mod resp;
