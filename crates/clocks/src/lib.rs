//! # clocks: logical time and CRDTs, as deterministic building blocks
//!
//! The replication schemes of this workspace (primary-backup, chain, Dynamo-style quorums) and
//! its CRDT store need two things no consensus log gives them: a way to say which of two
//! updates came first, or that neither did; and data types whose replicas agree without
//! agreeing on an order. This crate has both, sans-IO: physical time is an argument, never
//! read from a clock, and every container is ordered (`BTreeMap`), so a run replays exactly.
//!
//! ## Layout
//!
//! ```text
//! lib.rs                this map and the chapter below
//! error.rs              ClockError and the bounds: NODES_MAX, ELEMENTS_MAX, SIBLINGS_MAX
//! counters.rs           one counter per node: the shape vector clocks, version vectors and
//!                       G-Counters share (merge, compare), crate-private
//! sorted.rs             merge-join of two sorted maps: the loop under compare and merge
//! lamport.rs            Lamport clocks (1978, IR1/IR2) and the total order (time, node)
//! vector.rs             vector clocks (Fidge 1988, Mattern 1989) and Causality
//! version_vector.rs     version vectors and dots: what a replica has seen, one update's name
//! causal_context.rs     causal contexts: dots seen, with gaps (version vector + dot cloud)
//! dvv.rs                DvvSet: dotted version vector sibling store (Preguiça et al. 2010)
//! hlc.rs                hybrid logical clocks (Kulkarni et al. 2014, Fig. 5) with a drift bound
//! crdt/mod.rs           the Crdt and DeltaCrdt traits; which CRDT for which job
//! crdt/delta.rs         DeltaBuffer: numbered deltas, "what since k?" (Almeida et al. 2018)
//! crdt/g_counter.rs     G-Counter (grow-only)
//! crdt/pn_counter.rs    PN-Counter (up and down)
//! crdt/lww.rs           LWW-Register on HLC stamps, ties by node id
//! crdt/mv_register.rs   MV-Register on the DVV store
//! crdt/or_set.rs        OR-Set, add-wins, tombstone-free (dots + causal context)
//! crdt/rga.rs           RGA sequence: insert-after, tombstones (Roh et al. 2011)
//! crdt/rga_tests.rs     its unit tests
//! ```
//!
//! Tests beside the sources: `tests/common/` (scripts of updates at three replicas, and
//! executions with a known happened-before), `tests/crdt_properties.rs` and
//! `tests/clock_properties.rs` (proptest, 128–256 cases each, in the default `cargo test`),
//! `tests/soak.rs` (the heaviest of them on 20,000 cases, about 15 s:
//! `cargo test -p clocks -- --ignored`), `tests/readme.rs` (the README example is the one
//! below). `benches/crdt_merge.rs`: OR-Set and G-Counter merge throughput.
//!
//! ## Why logical time
//!
//! Physical clocks on different machines disagree by milliseconds at best, and "the write
//! with the later wall-clock time" is not "the write that saw the other". What a distributed
//! system can know for sure is **causality**: event `a` happened before `b` (`a → b`) if they
//! are on one node in that order, or `a` sent a message that `b` received, or through a chain
//! of those (Lamport 1978). Everything else is concurrent: no one could have known.
//!
//! ```text
//!   clock          answers                               cannot answer            size
//!   ─────────────  ────────────────────────────────────  ───────────────────────  ──────────
//!   Lamport        a → b ⇒ L(a) < L(b); one total order  is L(a) < L(b) causal?   one u64
//!   vector         a → b ⇔ V(a) < V(b); concurrency      wall-clock time          one per node
//!   version vector what a replica has seen; dominance    (same as vector)         one per server
//!   dotted VV      which sibling values are concurrent   —                        one per server
//!   HLC            a → b ⇒ H(a) < H(b); near wall time   concurrency              u64 + u32
//! ```
//!
//! A Lamport clock orders everything but cannot tell you that two writes raced. A vector
//! clock can, at one entry per node. A version vector is the same shape applied to replicas'
//! state instead of events; a dotted version vector adds the name of each write, so a store
//! keeps exactly the concurrent siblings, no more (false conflicts) and no fewer (lost
//! writes). A hybrid logical clock is Lamport's clock wearing a wall clock: what a database
//! wants for MVCC timestamps, with a bound that refuses clocks too far ahead.
//!
//! ## Which CRDT for which job
//!
//! A CRDT is a type whose `merge` is a join, so replicas that saw the same updates agree
//! whatever the order (Shapiro et al. 2011). Counters: [`GCounter`] if it only grows,
//! [`PnCounter`] if it also shrinks (no floor: that needs coordination). One value:
//! [`LwwRegister`] if losing one of two racing writes is acceptable (it *silently* drops it),
//! [`MvRegister`] if not (readers see the siblings and resolve them). Sets: [`OrSet`], where
//! an add racing a remove wins. Sequences (text, lists): [`Rga`], whose tombstones are its
//! cost. Counters and the OR-Set also ship **deltas** (Almeida et al. 2018), small states
//! that merge like full ones; [`DeltaBuffer`] keeps them for peers that lag.
//!
//! ## Example
//!
//! Two replicas of a shopping list: one removes "milk" while the other adds it again. The
//! remove takes away only the add it had seen, so the concurrent add wins, and after one
//! merge each way both replicas hold the same set. (The README's "Clocks and CRDTs" shows
//! this same example; `tests/readme.rs` fails if the two drift apart.)
//!
//! ```
//! use clocks::{Crdt, OrSet};
//! use distributed_core::NodeId;
//!
//! let mut phone = OrSet::new();
//! phone.add("milk", NodeId(1))?;
//! let mut laptop = phone.clone();
//! laptop.remove(&"milk")?; phone.add("milk", NodeId(1))?; // concurrently
//! phone.merge(&laptop)?; laptop.merge(&phone)?;
//! assert!(laptop.contains(&"milk") && phone == laptop); // add wins; replicas agree
//! # Ok::<(), clocks::ClockError>(())
//! ```

#![forbid(unsafe_code)]

mod causal_context;
mod counters;
mod crdt;
mod dvv;
mod error;
mod hlc;
mod lamport;
mod sorted;
mod vector;
mod version_vector;

pub use causal_context::CausalContext;
pub use crdt::delta::{Catchup, DeltaBuffer};
pub use crdt::g_counter::GCounter;
pub use crdt::lww::{LwwRegister, LwwStamp};
pub use crdt::mv_register::MvRegister;
pub use crdt::or_set::OrSet;
pub use crdt::pn_counter::{PnCounter, PnVersion};
pub use crdt::rga::{Rga, RgaId};
pub use crdt::{Crdt, DeltaCrdt};
pub use dvv::DvvSet;
pub use error::{ClockError, ELEMENTS_MAX, NODES_MAX, SIBLINGS_MAX};
pub use hlc::{Hlc, HlcTimestamp};
pub use lamport::{LamportClock, LamportTimestamp};
pub use vector::{Causality, VectorClock};
pub use version_vector::{Dot, VersionVector};
