//! The clients' door: RESP connections from `redis-cli`, `redis-benchmark` and client
//! libraries, and the tables from RESP commands to what the node does.
//!
//! ```text
//!   socket ──► resp/ (parse, bounded) ──► command.rs (interpret) ──► connection.rs (state:
//!              normal / multi / subscribed) ──► Event::Client ──► node task
//!   socket ◄── resp/ (encode, RESP2 or RESP3) ◄── writer.rs (replies in order, pushes) ◄──┘
//!   node task ── Output::Published ──► pubsub.rs Hub ──► each subscriber's mailbox ──► writer
//! ```
//!
//! ```text
//! resp/            RESP2 and RESP3 frames: parse (partial, pipelined, inline, bounded,
//!                  large bulks without a copy) and encode (per version, and between nodes)
//! command.rs       a frame ──► Action (kv command, connection op, refusal); kv::Reply ──► frame
//! table.rs         the connection commands' own table; both tables joined for COMMAND, README
//! command_info.rs  COMMAND, COUNT, LIST, INFO, DOCS, GETKEYS from the tables
//! refusals.rs      what is refused on purpose (Lua, AUTH) and FUNCTION FLUSH/LIST
//! connection.rs    one connection: accept, read, the state machine, dispatch
//! session.rs       the kv session of a connection's writes, and read/write ordering
//! writer.rs        the replies in order, pub/sub pushes between them, the RESP version
//! transaction.rs   MULTI/EXEC/DISCARD/WATCH: the queue, the watch, EXEC's one log entry
//! blocking.rs      BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP: try the pop
//!                  through the log, park on this node until a key fills, retry
//! parked.rs        the parked clients by key: oldest first, claims, CLIENT UNBLOCK, bounds
//! pubsub.rs        the hub of subscriptions, per-connection subscriptions, bounded mailboxes
//! glob.rs          Redis' glob patterns (PSUBSCRIBE, CONFIG GET, COMMAND LIST)
//! registry.rs      the open connections (CLIENT LIST/INFO/ID/SETNAME), the HELLO reply
//! settings.rs      CONFIG GET/SET: this node's settings, Redis' encoding hints as no-ops
//! ```
//!
//! Later front ends (Redis Cluster, etcd's v3 gRPC API) join as siblings of `resp/` over the
//! same node task, so a write through one is read through another.

pub mod blocking;
pub mod command;
pub mod command_info;
pub(crate) mod connection;
pub mod glob;
pub mod parked;
pub mod pubsub;
mod refusals;
pub mod registry;
pub mod resp;
pub(crate) mod session;
pub mod settings;
pub mod table;
pub mod transaction;
pub(crate) mod writer;
