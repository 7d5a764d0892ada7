//! # testkit: one test harness for every protocol
//!
//! Every protocol core in this workspace is a [`distributed_core::Protocol`], so one harness
//! drives them all in tests: a lockstep [`Cluster`] where the test decides every tick and
//! every delivery, and golden-trace scripts ([`golden`]) where a scenario is a text file of
//! commands and the exact effects each must print.
//!
//! ```text
//!   tests/<scenario>.rs ──► Cluster<P, Observer> ──► node.step / tick / input ──► Effects
//!                                  │ persist → send (cut? intercept?) → notes → outputs
//!                                  └─► Observer: the protocol's checks and records
//!   tests/golden.rs ──► golden::run_file(testdata/x.txt, driver) ──► compare or rewrite
//! ```
//!
//! It is a dev-dependency only: no protocol crate links it into a binary.
//!
//! ## Layout
//!
//! ```text
//! lib.rs       this map
//! cluster.rs   Cluster<P, O>: lockstep nodes, disks, a network with cuts and an intercept;
//!              Observer (the protocol's hooks), Factory (build or rebuild a node from disk)
//! golden.rs    Directive, run_file / run_source, scripts_in, diff; GOLDEN_REWRITE=1 rewrites
//! ```

#![forbid(unsafe_code)]

pub mod cluster;
pub mod golden;

pub use cluster::{Cluster, Dropped, Factory, Intercept, Observer, DELIVERIES_PER_DRAIN_MAX};
pub use golden::Directive;
