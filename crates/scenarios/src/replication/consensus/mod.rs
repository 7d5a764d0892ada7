//! The consensus logs as register schemes: raft-kv and paxos-kv in the consistency map.
//!
//! ```text
//!   register.rs   KvRegister<P>: a replica of the KV store wrapped as a register node
//!                 (ClientRequest in, ClientReply out; Disk, Write and Message unchanged)
//!   schemes.rs    ConsensusLog (what differs: which replica, built how), Consensus<L> (the
//!                 one RegisterScheme for both), RaftRegisters, PaxosRegisters
//! ```
//!
//! These rows are the map's reference: every model should hold on every seed, and the price
//! shows in the messages-per-op and latency columns.

mod register;
mod schemes;

pub use register::{ConsensusNode, KvRegister};
pub use schemes::{Consensus, ConsensusLog, PaxosRegisters, RaftRegisters};
