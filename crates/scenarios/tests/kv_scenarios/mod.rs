//! The harness the KV scenario suites (`scenario_kv_basic.rs`, `scenario_kv_faults.rs`) share:
//! scripted clerks, audits that judge what the clerks saw on the values themselves, and a seed
//! loop that turns a failure into a replayable report.
//!
//! ```text
//!   ClerkCluster::new(seed, opts, specs) [+ sim_mut(): scripted faults] ─► run ─► ClerkRun
//!     the cluster `scenarios::raft_kv::simulation` builds (same replicas, invariants, fault
//!     profile), driven by clerks instead of the library's clients: each may be pinned to
//!     some servers for a while, may stick to the leader or go round the servers, and only
//!     appends unique tokens, increments by one, puts unique values, or reads
//!   audit_appends / audit_counters (ClerkRun) ─► exactly once, read from the values
//!   each_seed(opts, seeds, |seed| { run_library / run_clerks; audits } -> Result)
//!     └ any Err ─► panic with the seed, its failure line, its history file, replay commands
//! ```
//!
//! Environment switches (all off by default), read by every suite that uses this harness:
//!
//! ```text
//!   SCENARIO_KV_SEED=S                 run only seed S
//!   SCENARIO_KV_TRACE=1                print the trace of every run
//!   SCENARIO_KV_VARIANT=ack-before-commit|stale-follower-reads
//!                                      run every scenario against a broken replica: the tests
//!                                      must fail (which shows they can)
//!   SCENARIO_KV_RENUMBER_RETRIES=1     clerks resend under a new seq: the exactly-once audits
//!                                      must fail
//! ```
//!
//! ## Layout
//!
//! ```text
//! mod.rs       this map, ensure!, what a clerk is asked to do (ClerkSpec, Pin, Mix), OpRecord
//! cluster.rs   ClerkCluster: the raft-kv cluster driven by clerks; ClerkRun: what it produced
//! clerk.rs     the clerks as the simulation's workload: sessions, retries, op draws
//! audit.rs     audit_appends, audit_counters: exactly-once, judged on the values
//! run.rs       options, run_library, run_clerks, rotating_clerks, each_seed, failure reports
//! ```
#![allow(dead_code)] // each suite uses a different part of the harness

/// Return `Err(message)` from a scenario unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}
pub(crate) use ensure;

mod audit;
mod clerk;
mod cluster;
mod run;

use std::fmt;

use distributed_core::NodeId;
use sim::Time;

pub use audit::{audit_appends, audit_counters};
pub use cluster::{ClerkCluster, ClerkRun};
#[allow(unused_imports)] // each suite uses a different part of the harness
pub use run::{
    all, all_ops_returned, clerks, each_seed, every_client_completes, options, rotating_clerks,
    run_clerks, run_library,
};

/// What one clerk does over a run.
#[derive(Clone, Debug)]
pub struct ClerkSpec {
    /// The servers it may talk to: a clerk on one side of a partition (as in the MIT lab's
    /// partition tests) is given only that side's servers.
    pub servers: Vec<NodeId>,
    /// It starts no op before this time.
    pub start_at: Time,
    /// It starts no op at or after this time.
    pub stop_at: Time,
    /// It starts at most this many ops.
    pub ops_max: u64,
    /// Whether it sends its next op to the server that answered the last one (as a real
    /// client does), or to the next of its servers in turn (so reads reach followers too,
    /// which must redirect them: a follower that answers from its own state serves stale
    /// reads even to a lone client).
    pub follow_leader: bool,
    /// A window in which it may talk only to some servers: a clerk stuck on one side of a
    /// partition, reconnected to every server after the heal (as in the MIT lab).
    pub pinned: Option<Pin>,
    /// What its ops are.
    pub mix: Mix,
}

/// From `from` until `until`, a clerk talks only to `servers`.
#[derive(Clone, Debug)]
pub struct Pin {
    /// Start of the window.
    pub from: Time,
    /// End of the window (exclusive).
    pub until: Time,
    /// The servers it may talk to meanwhile.
    pub servers: Vec<NodeId>,
}

/// A clerk's op mix, as weights, and how many keys of each kind it uses. Append keys are
/// `a0..`, counter keys `n0..`, put keys `p0..`: kinds never share a key, so an append log or
/// a counter is never overwritten and can be audited on its value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mix {
    /// Append a unique token `"<clerk>.<op>;"`.
    pub append: u64,
    /// Increment a counter by exactly one.
    pub incr: u64,
    /// Put a unique value `"<clerk>.<op>"`.
    pub put: u64,
    /// Read a key of a kind the mix writes.
    pub get: u64,
    /// Keys per kind.
    pub keys: usize,
}

/// One op a clerk started: the history entry plus what only the clerk knows.
#[derive(Clone, Debug)]
pub struct OpRecord {
    /// The clerk (1-based), its lane in the history.
    pub clerk: u64,
    /// What it asked, in the checker's words.
    pub command: check::Command,
    /// When it was first sent.
    pub invoke: Time,
    /// When and what it returned, if it did.
    pub done: Option<(Time, check::Outcome)>,
    /// The server whose `Done` completed it.
    pub served_by: Option<NodeId>,
    /// Sends whose fate was unknown (`Retry` or a timeout): where a retry could apply twice.
    pub uncertain_sends: u32,
}

impl fmt::Display for OpRecord {
    /// `c4 get(a0) -> "5.1;5.2;…(310 bytes)" [t=8010..t=8010] by n2`: values cut at 40 bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{} {}", self.clerk, self.command)?;
        match &self.done {
            Some((_, check::Outcome::Value(Some(v)))) if v.len() > 40 => {
                let cut = (0..=40).rev().find(|&i| v.is_char_boundary(i)).unwrap_or(0);
                write!(f, " -> \"{}…({} bytes)\"", &v[..cut], v.len())?;
            }
            Some((_, outcome)) => write!(f, " -> {outcome}")?,
            None => {}
        }
        match (&self.done, self.served_by) {
            (Some((ret, _)), Some(node)) => write!(f, " [t={}..t={ret}] by {node}", self.invoke),
            _ => write!(f, " [t={}..?] no return", self.invoke),
        }
    }
}
