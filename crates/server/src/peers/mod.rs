//! The peers' door: what nodes say to each other, and the TCP connections that carry it.
//!
//! ```text
//!   node task ── PeerFrame ──► frames.rs (len + CRC + payload) ──► transport.rs ──► TCP
//!   TCP ──► transport.rs (Hello first, bounded frames) ──► frames.rs ──► Event::Peer ──► node
//! ```

pub mod frames;
pub(crate) mod transport;
