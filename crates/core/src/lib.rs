//! # distributed-core: the vocabulary every protocol core shares
//!
//! Every protocol in this workspace (Raft today; Paxos, PBFT, SWIM and the rest later) is a
//! *sans-IO* state machine: it never opens a socket, reads a clock or rolls dice on its own.
//! Messages come in through [`Protocol::step`], time comes in through [`Protocol::tick`], client
//! requests come in through [`Protocol::input`], and everything the node wants done comes back
//! out as [`Effects`] that the host (the simulator, the real server, or a unit test) carries out.
//!
//! ## Layout
//!
//! ```text
//! lib.rs        this map
//! id.rs         NodeId and Tick: who and when, the two nouns every message carries
//! rng.rs        Rng trait + SeededRng: the only source of randomness a protocol may use
//! protocol.rs   the Protocol contract, Effects (persist → send → deliver, plus opt-in notes;
//!               writes overlapping sends when a node asks: step 5) and Envelope
//! machine.rs    Machine: the seam between a consensus log and the state machine it drives
//! wire.rs       Sink, Reader, DecodeError: the one little-endian binary vocabulary that kv,
//!               storage and server write and read their formats in
//! wire/size.rs  WireSize: the bytes a value takes in that vocabulary, without writing it
//!               (what the simulator counts to compare protocols by bytes on the wire)
//! ```
//!
//! ## The one-line `Display` convention
//!
//! Every message, input and output type implements `Display` as one compact line,
//! `Name{field=value field=value}`, e.g. `AppendEntries{term=3 prev=(2,14) n=3 commit=14}`.
//! The simulator's trace prefixes it with time and route (`t=1200 n2→n3 ...`), and the same
//! text appears in test failures and reports, so a learner reads one notation everywhere.
//!
//! ## Why determinism is a rule, not a preference
//!
//! The simulator finds bugs by replaying a seed. That only works if the protocol's behaviour is a
//! pure function of (seed, inputs, order of events). So protocol crates use no wall clock, no
//! `thread_rng`, no tokio, and never let the iteration order of a std `HashMap` reach their
//! output: they use `BTreeMap`, `Vec` or sorted keys instead.

#![forbid(unsafe_code)]

mod id;
mod machine;
mod protocol;
mod rng;
pub mod wire;

pub use id::{NodeId, Tick};
pub use machine::Machine;
pub use protocol::{Effects, Envelope, Notes, Protocol};
pub use rng::{Rng, SeededRng};
pub use wire::{DecodeError, Reader, Sink, WireSize};
