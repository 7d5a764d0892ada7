//! The binary forms this crate writes: requests (what a Raft log entry's `data` holds) and
//! replies (what a snapshot's dedup table holds), both versioned, both bounded.
//!
//! ```text
//!   request.rs   Request v2 = version:u8 (=2) ‖ client_id:u64 ‖ seq:u64 ‖ time_ms:u64 ‖ body
//!                (v1, typed commands without a time, still decodes: old WALs replay)
//!   reply.rs     Reply v2, a tagged tree of RESP3 shapes; v1 (the typed replies) still
//!                decodes, for old snapshots
//! ```
//!
//! Integers are little-endian and byte strings u32-length-prefixed (the workspace's one wire
//! vocabulary, `distributed_core::wire`). Every decoder treats its input as hostile: it never
//! panics, bounds every length and count before allocating, and names the field and offset it
//! stopped at.

mod reply;
mod request;
mod request_v1;

pub(crate) use reply::{put_reply, read_reply, read_reply_v1};
pub use request::{Limits, REQUEST_VERSION};
