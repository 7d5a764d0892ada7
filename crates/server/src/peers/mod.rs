//! The peers' door: what nodes say to each other, and the TCP connections that carry it.
//!
//! ```text
//!   node task ── PeerFrame ──► frames.rs (len + CRC + payload; raft_messages.rs for Raft's)
//!                          ──► transport.rs ──► TCP
//!   TCP ──► transport.rs (Hello first, bounded frames) ──► frames.rs ──► Event::Peer ──► node
//! ```

pub mod frames;
mod raft_messages;
pub(crate) mod transport;
