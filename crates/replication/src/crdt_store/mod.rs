//! # A highly available CRDT register store, as a deterministic, sans-IO state machine
//!
//! The available corner of the consistency map. Every node holds every key, and every node
//! answers every get and every put **alone, at once**: no leader, no quorum, no forwarding. A
//! put is stored durably on the node that took it and acknowledged; the other nodes hear of it
//! by gossip. Each key is a state-based CRDT register (Shapiro, Preguiça, Baquero & Zawirski,
//! "Conflict-free Replicated Data Types", SSS 2011, and INRIA RR-7506 §2–3), so any two nodes
//! that have received the same puts hold the same state, whatever the order, duplication or
//! loss of the messages in between: *strong eventual consistency*.
//!
//! ## The idea
//!
//! ```text
//!   client c1 ── put x=a ──► n1: x := [a@n1:1]  persist, Push{x} ──► n2 n3 (push_fanout)
//!                            n1 ── Reply{ok} ──► c1                  (nobody waited for)
//!   client c2 ── put x=b ──► n2: x := [b@n2:1]  (had not heard of a: concurrent)
//!   gossip, every gossip_interval_ticks:  n1 ── Digest ──► n2 ── Sync ──► n1 ── Push ──► n2
//!                            n1, n2: x = [a@n1:1 b@n2:1]              (siblings: MV-register)
//!   client c3 ── get x ────► n3: Siblings([a, b]); its session at n3 records {n1:1 n2:1}
//!   client c3 ── put x=c ──► n3: x := [c@n3:1], superseding what c3 saw: a and b
//! ```
//!
//! ## The registers
//!
//! ```text
//!   mv (default)  MV-register, causal-CRDT form (register.rs): puts that did not see each
//!                 other are siblings; a get returns them all; a put supersedes exactly what its
//!                 client's session had seen of the key (state.rs: sessions travel with the key)
//!   lww           LWW-register on HLC stamps (Kulkarni et al. 2014) from the node's physical
//!                 clock = its own ticks + a configured offset (quorum/clock.rs): one value; of
//!                 two concurrent puts the smaller stamp vanishes, silently
//! ```
//!
//! ## What it promises, and what it does not
//!
//! - **Always available**: every request is answered by the node asked, in the same event.
//! - **Eventual convergence**: once puts stop and gossip can reach every node (directly or by
//!   relay), every node holds the join of every stored put's state: the same values.
//! - **MV: no acknowledged put lost**: a put is superseded only by a put whose client's session
//!   held it (so the client had seen it, or it was its own earlier put).
//! - **Not linearizable, not sequential, not causal**: a get at a node the client's put has
//!   not reached misses it. A client that stays on one node reads its own puts and never reads
//!   backwards (that node's state only grows); but gossip orders nothing across keys, so a
//!   reader elsewhere may see a client's put to `y` before its earlier put to `x`
//!   (monotonic writes, writes-follow-reads and causal consistency can fail).
//! - **The session caveats** (state.rs): the client vocabulary carries no causal context, so
//!   a client that moves to a node the key's state has not reached writes without what it saw
//!   there: its put stands beside the value it read, as a sibling (MV), or sorts below it and
//!   is lost (LWW, if its stamp is smaller). Sessions are per key, so a put that follows a
//!   value only through another key (its client read `y`, written after `x=a` by a client
//!   whose `x=a` has not arrived here) stands beside `a` too. The eventual checker calls both
//!   a stale sibling; nothing else loses or hides a put.
//! - **LWW** keeps one value and loses concurrent puts silently by design; by HLC it keeps the
//!   causally later of two puts whenever the later one's node had received the earlier one
//!   (and clocks are within the drift bound), however skewed their physical clocks.
//!
//! ## Broken on purpose (`Variant`, each caught by a checker in the simulator)
//!
//! ```text
//!   lww-wall-clock         LWW stamps from the skewed physical clock alone, nothing observed:
//!                          a put on a slow node, after its client read a value stamped by a
//!                          fast node, sorts below it: acknowledged and silently lost
//!                          (eventual: "acknowledged write lost"; read-your-writes and causal:
//!                          the older value is read after the put)
//!   concurrent-as-ordered  the MV merge compares contexts as version vectors and takes the
//!                          incoming siblings when they are concurrent: a sibling is dropped;
//!                          two nodes that merged in opposite directions keep different
//!                          siblings under equal contexts for ever (eventual: divergence), and a
//!                          put its client made after reading the dropped one's rival is lost
//!                          (causal: an older value is read again)
//!   lww-arrival-order      the LWW merge keeps whatever arrived last: a late or reordered older
//!                          state overwrites a causally later put (eventual: "acknowledged
//!                          write lost"; causal)
//! ```
//!
//! ## Layout
//!
//! ```text
//! mod.rs        this chapter and the re-exports
//! config.rs     Config (resolution, variant, gossip period and peers, push fanout, bounds,
//!               clock offset), Resolution, Variant, PeerChoice, validate
//! register.rs   Siblings (the MV-register: dots + causal context), Register, MergeRule
//! state.rs      KeyState: register + client sessions; puts, reads, merge, digest, check
//! message.rs    Digest, Sync, Push: one-line Display, the Message enum, WireSize
//! disk.rs       Disk, Write, persist
//! node.rs       CrdtStore: state, new (from disk), Protocol, get and put, accessors
//! gossip.rs     peers, rounds, digests, syncs, pushes, merging received states
//! invariant.rs  check_invariants across nodes: one dot one value, no dot from the future
//! ```
//!
//! Tests: `tests/crdt_store.rs` (sentences), `tests/crdt_store_properties.rs` (proptest:
//! convergence under any order and duplication; an `--ignored` soak of every variant) and
//! `tests/crdt_store_golden.rs`, which runs the scripts in `testdata/crdt_store/`.
//!
//! ## Not here
//!
//! Membership changes (a fixed node list), partial replication (every node holds every key:
//! quorum/ shows placement), deleting keys (a remove needs tombstones or an OR-set of values),
//! garbage-collecting sessions (bounded per key, never forgotten), client-side contexts (the
//! vocabulary has none), Byzantine peers.

mod config;
mod disk;
mod gossip;
mod invariant;
mod message;
mod node;
mod register;
mod state;

pub use config::{Config, ConfigError, PeerChoice, Resolution, Variant, NODES_MAX};
pub use disk::{persist, Disk, Write};
pub use invariant::check_invariants;
pub use message::{Digest, Message, Push, Sync};
pub use node::{Counters, CrdtStore};
pub use register::{MergeError, MergeRule, Register, Siblings};
pub use state::{KeyState, PutCheck, Session};
