//! # paxos: Multi-Paxos with flexible quorums, as a deterministic, sans-IO state machine
//!
//! Lamport, "Paxos Made Simple" (2001) §2 (single-decree Paxos) and §3 (a replicated state
//! machine: one Paxos instance per log slot, one distinguished leader running phase 1 once for
//! all slots); van Renesse & Altinbuken, "Paxos Made Moderately Complex" (PMMC, 2015) §3 for
//! the shape of a leader (scout, commanders, adopted, preempted, no-ops for holes); Howard,
//! Malkhi & Spiegelman, "Flexible Paxos" (2016) §3 for quorums that only need to intersect
//! across phases. It never touches a socket, a clock or a file: drive it through
//! [`distributed_core::Protocol`] and carry out each [`Ready`] in order (persist → send →
//! deliver).
//!
//! ## The idea
//!
//! Every node is an **acceptor** (it promises and accepts, and remembers both on disk), a
//! **learner** (it finds out what was chosen and delivers it in slot order) and a potential
//! **leader** (proposer). A value is *chosen* in a slot once a phase-2 quorum of acceptors
//! accepted it at one ballot. Two rules keep a chosen value chosen: an acceptor never accepts
//! below a ballot it promised, and a new leader proposes, in every slot, the value of the
//! highest ballot any acceptor of its phase-1 quorum reports.
//!
//! ```text
//!   phase 1: once per leader, for every slot from s on         (PMS §2.2 1a/1b, §3; PMMC scout)
//!
//!     candidate n1                 acceptor n2                  acceptor n3
//!       │ promise b3.n1 (persist)    │                            │
//!       ├── Prepare{b3.n1 from=s} ──►│ promised := b3.n1 (persist)│
//!       ├── Prepare{b3.n1 from=s} ───┼───────────────────────────►│ (persist)
//!       │◄── Promise{b3.n1 [7:b2.n2:"y"]} ──┤                      │
//!       │◄── Promise{b3.n1 []} ─────────────┼──────────────────────┤
//!       │ phase-1 quorum: per slot, the highest-ballot value; holes get a no-op
//!
//!   phase 2: per slot                                           (PMS §2.2 2a/2b; PMMC commander)
//!
//!     leader n1                    acceptor n2                  acceptor n3
//!       │ accept 7:b3.n1:"y" (persist)│                           │
//!       ├── Accept{b3.n1 slot=7 "y"} ►│ accept (persist)          │
//!       │◄── Accepted{b3.n1 slot=7} ──┤                           │
//!       │ phase-2 quorum: "y" chosen in 7, delivered in slot order │
//!       ├── Commit{b3.n1 through=7} ─►│ its pvalue is b3.n1's: chosen, delivered
//!
//!   leader change                                               (PMS §3; PMMC "preempted")
//!
//!     n1 leads at b1.n1; "x" accepted by n1, n2 in slot 1 (chosen); n1 crashes
//!     n3 hears no leader for T ticks ──► Prepare{b2.n3} ──► n2 promises, reports 1:b1.n1:"x"
//!     n3 must re-propose "x" in slot 1 at b2.n3 (the quorums meet in n2): "x" stays chosen
//!     n1 restarts, still thinking in b1.n1 ──► its messages are answered Nack{promised=b2.n3}
//! ```
//!
//! ## Invariants
//!
//! - **Agreement**: no two nodes deliver different values in one slot (the simulator checks it
//!   after every event, through [`Paxos::chosen`] and the `Committed` outputs).
//! - An acceptor never accepts below its promise; the promise never decreases (asserted).
//! - Persist before send: a Promise or Accepted leaves only after the write it states.
//! - Each slot is output once per incarnation, in slot order (asserted).
//! - Every phase-1 quorum meets every phase-2 quorum (`Config::validate`, Flexible Paxos §3).
//!
//! ## Paxos and Raft are the same at heart
//!
//! | Paxos                         | Raft                                           |
//! |-------------------------------|------------------------------------------------|
//! | ballot `b3.n2`                | term 3 (and the vote says whose)               |
//! | phase 1: Prepare / Promise    | election: RequestVote, with log recovery       |
//! | phase 2: Accept / Accepted    | AppendEntries and its acknowledgements         |
//! | Commit{through}               | `leaderCommit` in AppendEntries                |
//! | adopted value, no-op in holes | the new leader's log, and its no-op (§8)       |
//!
//! Where they differ: a Paxos leader's log comes from the *union of the promises*, slot by
//! slot, so any node may win phase 1 and learn what it lacks from the promises; Raft elects
//! only a candidate whose log is already up to date (§5.4.1), so a leader never needs to
//! learn from followers, and the log is one sequence that followers must match as a prefix
//! (Paxos slots are independent, so holes exist and are filled with no-ops). Raft re-proposes
//! old entries under their old term and needs the §5.4.2 commit rule for it; Paxos re-proposes
//! them at the new ballot, which is why a learner here trusts only pvalues of the commit
//! notice's ballot.
//!
//! ## Broken on purpose
//!
//! [`Variant::AcceptOwnValue`] (a new leader ignores the values its promises report) and
//! [`Variant::SmallPhase1Quorum`] (phase 1 with `n − q2` promises, too few to meet every
//! phase-2 quorum) each break agreement; `tests/chaos.rs` shows that the agreement check
//! catches them under seeded faults (the first in every seed tried, the second in about half),
//! and `testdata/accept_own_value_breaks_agreement.txt` shows the first step by step.
//!
//! ## Layout
//!
//! ```text
//! lib.rs        this chapter and the public re-exports
//! ballot.rs     Ballot (b3.n2), Slot, Value (Command | Noop), PValue (slot, ballot, value)
//! config.rs     Config (flexible quorums, timeouts, bounds, Variant), validate, read_quorum
//! message/      one struct per message with its one-line Display, and the Message enum
//!   mod.rs      Message, From impls
//!   phase1.rs   Prepare, Promise (paged), Nack                       (PMS §2.2; PMMC scout)
//!   phase2.rs   Accept, Accepted, Commit                       (PMS §2.2, §2.3; commander)
//!   learn.rs    CatchUp, Chosen, InstallSnapshot                               (PMS §3)
//!   read.rs     Confirm, Confirmed                                          (read round)
//!   wire_size.rs WireSize for every message: its bytes, field by field (no server runs it yet)
//! ready.rs      Disk, Write, Snapshot, Input, Output, ReadFailure, Ready: the host contract
//! role.rs       Role; Phase1 (candidate), Leader, Proposal: what each role remembers
//! node.rs       the Paxos struct, new (from disk), accessors, Counters, the ballot rule, step
//! acceptor.rs   on_prepare, on_accept, on_commit: the acceptor's two rules       (PMS §2.2)
//! candidate.rs  timeouts, phase 1, paged promises, adopting, preemption   (PMS §3; PMMC §3)
//! leader.rs     adopt + fill holes, proposals, counting Accepted, heartbeats  (PMMC §3)
//! learner.rs    commit notices, in-order delivery, catch-up, snapshots      (PMS §2.3, §3)
//! read.rs       read rounds, and why n − max(q1, q2) + 1 acknowledgements suffice
//! ```
//!
//! ## Not here
//!
//! Reconfiguration (the node set is fixed); leader leases; several slots per Accept; chunked
//! snapshots (a snapshot travels in one message); stickiness (a node that times out may
//! preempt a healthy leader it cannot hear, as in plain Paxos; randomized timeouts keep duels
//! short); a partitioned leader does not step down on its own (its proposals and reads time
//! out until a Nack reaches it). Peers are trusted to be crash-faulty, not Byzantine: a
//! message is checked only for a ballot its sender owns and slots below `SLOT_MAX`.

#![forbid(unsafe_code)]

mod acceptor;
mod ballot;
mod candidate;
mod config;
mod leader;
mod learner;
mod message;
mod node;
mod read;
mod ready;
mod role;

pub use ballot::{Ballot, PValue, Slot, Value, SLOT_MAX};
pub use bytes::Bytes;
pub use config::{Config, ConfigError, Variant};
pub use message::{
    Accept, Accepted, CatchUp, Chosen, Commit, Confirm, Confirmed, InstallSnapshot, Message, Nack,
    Prepare, Promise,
};
pub use node::{Counters, Paxos};
pub use ready::{Disk, Input, Output, ReadFailure, Ready, Snapshot, Write};
pub use role::Role;
