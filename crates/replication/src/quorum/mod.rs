//! # Dynamo-style quorum replication, as a deterministic, sans-IO state machine
//!
//! DeCandia, Hastorun, Jampani, Kakulapati, Lakshman, Pilchin, Sivasubramanian, Vosshall &
//! Vogels, "Dynamo: Amazon's Highly Available Key-value Store" (SOSP '07), §4.1–4.7: no
//! leader, no log, no agreement on an order. Every key lives on N nodes picked by consistent
//! hashing; any node takes a request; a put is done when W of the N stored it, a get when R of
//! them answered; versions that raced are kept side by side as siblings and handed to the
//! reader. What it buys is availability ("always writeable"); what it pays is that a reader may
//! see an old value, or several.
//!
//! ## The idea
//!
//! ```text
//!   ring (ring.rs, §4.2–4.3): key x ──► range r1 ──► home [n1 n2 n3], fallbacks [n4 n5]
//!
//!   put x=v at n5 ─ Forward ─► n1, the first home node, coordinates (forward.rs, §4.5)
//!     n1: new version = a dot over what n1 holds (DVV) or an HLC stamp (LWW)  (version.rs)
//!     n1: persist, ── Replicate ──► n2, n3; W acks (n1's own counts) ──► Ok  (write.rs)
//!     n3 silent ──► Replicate{hint=n3} ──► n4: sloppy quorum; n4 hands it back later
//!                                                                 (handoff.rs, §4.6)
//!   get x at any node ── Fetch ──► n1 n2 n3; R replies merged ──► Value | Siblings
//!     every reply in: Repair ──► each home node that answered less     (read.rs)
//!   every so often: n1 ⇄ n2 compare Merkle trees of r1, sync what differs
//!                                                  (anti_entropy.rs, merkle.rs, §4.7)
//! ```
//!
//! Any node coordinates a get. A put is coordinated by the first home node of its key that
//! answers, because the coordinator names the new version with a dot over its own copy
//! (§4.4's "the coordinator generates the vector clock"), and one coordinator per key puts
//! every earlier put in the next one's context (forward.rs); every other node forwards the
//! put (§4.5) and passes the answer back, so clients never see `Redirect`.
//!
//! ## What it promises, and what it does not
//!
//! - **Eventual convergence**: once writes stop and the network heals, hinted handoff, read
//!   repair and anti-entropy bring every home node of a key to the same version, the merge of
//!   every version any node stored (merges are joins: any order, any duplication).
//! - **No silent loss under DVV**: an acknowledged put survives as a sibling until a put whose
//!   coordinator held it supersedes it. The catch (version.rs, "read your context"): the
//!   client vocabulary carries no causal context, so a put supersedes whatever its
//!   coordinator holds, read by the client or not (a lost update, but a visible rule); and
//!   a put coordinated while the first home node is unreachable, by a node that never got
//!   the put `a` before it, is kept *beside* `a` as a sibling even when its client had seen
//!   `a` (the eventual checker's "stale sibling"). Only a context carried by the client
//!   closes that gap.
//! - **Not linearizable, even with R + W > N**: a put that timed out may be applied later; a
//!   read may see a put that is still in flight and the next read miss it; a sloppy quorum
//!   counts stand-ins, so read and write quorums need not meet. R + W > N narrows the window.
//! - **LWW (HLC)** returns one value and loses concurrent puts silently, and a causally later
//!   put only when clocks drift past the HLC's bound.
//!
//! ## Broken on purpose (`Variant`, each caught by a checker in the simulator)
//!
//! ```text
//!   r-plus-w-le-n             R + W ≤ N (N=3 R=1 W=1): a get asks only a replica the last Ok
//!                             put has not reached: a stale read (linearizability fails; the
//!                             store still converges)
//!   lww-wall-clock            LWW stamps from the coordinator's skewed physical clock, no HLC:
//!                             a put made after reading (or writing) a value stamped by a faster
//!                             clock sorts below it and vanishes although acknowledged: the
//!                             eventual checker names it ("acknowledged write lost"), and the
//!                             causal and read-your-writes checks see the older value come back
//!   vc-concurrent-as-ordered  the merge takes "not dominated" for "newer": of two versions the
//!                             store sees as concurrent, the one that arrived last survives. An
//!                             acknowledged put vanishes without a sibling, and replicas
//!                             disagree: anti-entropy and read repair copy whichever arrives
//!                             last, and can chase each other in circles (the soak in
//!                             tests/quorum_properties.rs finds keys still divergent after 400
//!                             quiet ticks in about 1 history of 150): the eventual check
//!                             reports divergence. When the dropped put causally follows the
//!                             kept one, the causal check sees the older value come back
//! ```
//!
//! ## Layout
//!
//! ```text
//! mod.rs           this chapter and the re-exports
//! config.rs        Config (N, R, W, resolution, sloppy, timeouts, bounds), Resolution,
//!                  Variant, validate
//! ring.rs          consistent hashing: tokens, ranges, preference lists (home, fallbacks)
//! version.rs       Version (DvvSet | LwwRegister), the merge rules, a get's answer, digests
//! clock.rs         the physical clock (own ticks + offset), HLC and wall-clock stamps
//! merkle.rs        MerkleTree: fixed depth over key-hash buckets, one per range
//! message/         one struct per message with its one-line Display, the Message enum
//!   client.rs      Forward, Forwarded                                        (§4.5)
//!   replica.rs     Replicate, Replicated, Fetch, Fetched, Repair             (§4.5, §4.6)
//!   handoff.rs     HandOff, HandedOff                                        (§4.6)
//!   merkle.rs      TreeQuery, TreeHashes, LeafSync                           (§4.7)
//!   wire_size.rs   WireSize for every message, field by field
//! disk.rs          Disk, Write, persist: the store, the hints, the clock
//! pending.rs       requests in flight: Targets (home nodes, stand-ins), Recent answers
//! node.rs          Quorum: state, new (from disk), Protocol, store_merge, answer, tick
//! write.rs         coordinating a put: new version, W acks, stand-ins, timeouts
//! forward.rs       puts from every node but the first home node of their key
//! read.rs          coordinating a get: R replies, siblings, read repair
//! handoff.rs       the hint store and handing hints back
//! anti_entropy.rs  Merkle exchanges between the home nodes of a range
//! ```
//!
//! Tests: `tests/quorum_*.rs` (sentences, proptests) and `tests/quorum_golden.rs`, which runs
//! the scripts `testdata/quorum_*.txt`.
//!
//! ## Not here
//!
//! Membership changes and the placement strategies of §4.2 (issue 17); a failure detector
//! shared across requests (§4.8; a node learns of a silent peer per request, by timeout);
//! client-side contexts and client-side resolution (§4.4's "semantic reconciliation": the
//! vocabulary has none); durable-write-before-ack buffering (§6.1's "in-memory buffer" is the
//! road not taken: every version is persisted before it is acknowledged); Byzantine peers.

mod anti_entropy;
pub(crate) mod clock;
mod config;
mod disk;
mod forward;
mod handoff;
pub(crate) mod merkle;
mod message;
mod node;
mod pending;
mod read;
mod ring;
mod version;
mod write;

pub use clock::ClockState;
pub use config::{Config, ConfigError, Resolution, Variant, NODES_MAX, TOKENS_PER_NODE_MAX};
pub use disk::{persist, Disk, Hint, Write};
pub use merkle::{MerkleTree, DEPTH as MERKLE_DEPTH, LEAVES as MERKLE_LEAVES};
pub use message::{
    Fetch, Fetched, Forward, Forwarded, HandOff, HandedOff, LeafSync, Message, Repair, Replicate,
    Replicated, TreeHashes, TreeQuery,
};
pub use node::{Counters, Quorum};
pub use ring::{position, Place, RangeId, Ring};
pub use version::{MergeError, MergeRule, Version};
