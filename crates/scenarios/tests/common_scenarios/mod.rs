//! The harness the Raft scenario suites (`scenario_*.rs`) share: scripted plans on top of the
//! deterministic simulator, an observer that records what the cluster did, and a seed loop
//! that turns a failure into a replayable report.
//!
//! ```text
//!   check(file, test, seeds, |seed| { plan faults and requests; run; assert } -> Result)
//!     │ per seed: Plan ──state_at(t)──► aim the next fault (e.g. at the leader at t)
//!     │                ──run(until)───► Outcome { report, observed, requests, end state }
//!     └ any Err ──► panic with: seed, message, script, replay commands, trace tail of the
//!                   failing seed's last run (replayed with the trace on: same seed, same run)
//! ```
//!
//! Every bound a scenario asserts is in simulated time units or in message counts, never wall
//! clock. Time scale (the `none` and `network` fault profiles): a tick is 100 units, so the Raft
//! defaults give a heartbeat every 200 units and election timeouts of 1,000..2,000 units; a
//! message takes 5..30 units (5..60 on the unreliable network, sometimes thousands more).
//!
//! Replay one seed with its full trace:
//! `SCENARIO_SEED=7 SCENARIO_TRACE=1 cargo test -p scenarios --test <file> -- --exact <test> --nocapture`.
//!
//! ## Layout
//!
//! ```text
//! mod.rs       this map, time constants, the seed loop, assertions several suites share
//! plan.rs      Plan (faults + requests for one seed), RaftTweak, state_at, run, State, Outcome
//! observe.rs   Observer: an Invariant that records roles over time and every applied entry
//! script.rs    Script: a Workload that proposes scripted commands to a node or the leader
//! ```
#![allow(dead_code, unused_imports)] // each scenario file uses a different part of the harness

pub mod observe;
pub mod plan;
pub mod script;

use std::ops::Range;

use distributed_core::{NodeId, Rng, SeededRng};
use raft::{Bytes, Config, Index, Term};
use scenarios::raft::RaftSimOptions;
use scenarios::FaultProfile;
use sim::{Time, TraceLevel};

pub use plan::{Outcome, Plan, RaftTweak, State};
pub use script::Target;

/// Time units per node tick in the fault profiles the scenarios use (no clock skew).
pub const TICK_UNITS: Time = 100;
/// How often a leader sends heartbeats: `heartbeat_interval_ticks` (2) ticks.
pub const HEARTBEAT_UNITS: Time = 2 * TICK_UNITS;
/// The shortest election timeout: `election_timeout_ticks_min` (10) ticks. Also the
/// check-quorum window: a leader that heard from no quorum for this long steps down, and a
/// follower that heard from a leader within it refuses (pre-)votes (thesis §6.2, §9.6).
pub const ELECTION_TIMEOUT_MIN_UNITS: Time = 10 * TICK_UNITS;
/// The longest election timeout: `election_timeout_ticks_max` (20) ticks.
pub const ELECTION_TIMEOUT_MAX_UNITS: Time = 20 * TICK_UNITS;
/// How long an election may take after the cluster needs one: five longest timeouts. A split
/// vote costs one more timeout, so this allows four splits in a row (Raft §5.2: randomized
/// timeouts make repeated splits unlikely, not impossible).
pub const ELECTION_BOUND_UNITS: Time = 5 * ELECTION_TIMEOUT_MAX_UNITS;
/// How long a healthy leader may take to commit and spread an entry: a few heartbeats.
pub const COMMIT_BOUND_UNITS: Time = 5 * HEARTBEAT_UNITS;

/// The paper's elections (§5.2) without the thesis's pre-vote (§9.6): every timeout bumps the
/// term. For contrasts only; the defaults have pre-vote on.
pub const PRE_VOTE_OFF: RaftTweak = RaftTweak {
    name: "pre_vote=false",
    apply: pre_vote_off,
};

/// Leaders without check-quorum (thesis §6.2): a cut-off leader goes on believing it leads
/// until it hears a higher term. For contrasts only; the defaults have it on.
pub const CHECK_QUORUM_OFF: RaftTweak = RaftTweak {
    name: "check_quorum=false",
    apply: check_quorum_off,
};

fn pre_vote_off(c: &mut Config) {
    c.pre_vote = false;
}

fn check_quorum_off(c: &mut Config) {
    c.check_quorum = false;
}

/// Return `Err(message)` from the scenario unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}
pub(crate) use ensure;

/// How many trace lines of the failing run a report shows.
const TRACE_TAIL_LINES: usize = 40;

/// Run `scenario` for every seed of `seeds` (or only `$SCENARIO_SEED`), and panic with a
/// replayable report if any seed fails. `file` is the test binary (`module_path!()`), `test`
/// the test's name, so the report can print the command that reruns exactly this seed.
pub fn check(
    file: &str,
    test: &str,
    seeds: Range<u64>,
    scenario: impl Fn(u64) -> Result<(), String>,
) {
    time_scale_matches_the_raft_defaults();
    let seeds = match std::env::var("SCENARIO_SEED")
        .ok()
        .map(|s| s.parse::<u64>())
    {
        Some(Ok(s)) => s..s + 1,
        Some(Err(e)) => panic!("SCENARIO_SEED is not a seed: {e}"),
        None => seeds,
    };
    let tracing = std::env::var_os("SCENARIO_TRACE").is_some();
    let mut failures: Vec<(u64, String)> = Vec::new();
    for seed in seeds.clone() {
        plan::forget_last_run();
        let result = scenario(seed);
        if tracing {
            print_full_trace(seed);
        }
        if let Err(message) = result {
            let first = failures.is_empty();
            failures.push((seed, report(file, test, seed, &message, first)));
        }
    }
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|(s, _)| s.to_string()).collect();
        let details: Vec<&str> = failures.iter().take(3).map(|(_, r)| r.as_str()).collect();
        panic!(
            "{file}::{test} failed on {} of {} seeds: {}\n\n{}",
            failures.len(),
            seeds.end - seeds.start,
            list.join(", "),
            details.join("\n")
        );
    }
}

/// One failing seed: its message, script, replay commands, and (for the first) the trace tail.
fn report(file: &str, test: &str, seed: u64, message: &str, with_trace: bool) -> String {
    let mut s = format!("--- seed {seed} ---\n{message}\n");
    s += &format!(
        "replay: SCENARIO_SEED={seed} SCENARIO_TRACE=1 cargo test -p scenarios --test {file} -- \
         --exact {test} --nocapture\n"
    );
    let Some((plan, until)) = plan::last_run() else {
        return s;
    };
    if plan.is_cli_run() {
        let o = &plan.opts;
        s += &format!(
            "replay: distributed sim --protocol raft --nodes {} --faults {} --variant {} \
             --seed {seed} --max-time {until} --trace\n",
            o.nodes,
            o.faults,
            variant_name(o.variant)
        );
    }
    s += &format!(
        "script of the last run (to t={until}):\n{}",
        plan.describe()
    );
    if with_trace {
        if let Ok(out) = plan.execute(until, TraceLevel::Events) {
            let lines: Vec<&str> = out.report.trace.as_deref().unwrap_or("").lines().collect();
            let tail = &lines[lines.len().saturating_sub(TRACE_TAIL_LINES)..];
            s += &format!("trace tail ({} of {} lines):\n", tail.len(), lines.len());
            for line in tail {
                s += &format!("  {line}\n");
            }
        }
    }
    s
}

fn print_full_trace(seed: u64) {
    if let Some((plan, until)) = plan::last_run() {
        if let Ok(out) = plan.execute(until, TraceLevel::Events) {
            println!("=== seed {seed}: trace to t={until} ===");
            println!("{}", out.report.trace.unwrap_or_default());
            println!("{}", out.report.stats);
        }
    }
}

fn variant_name(v: raft::Variant) -> &'static str {
    match v {
        raft::Variant::Correct => "correct",
        raft::Variant::CommitOldTerm => "commit-old-term",
        raft::Variant::LeaseIgnoresDrift => "lease-ignores-drift",
        raft::Variant::OneStepMembership => "one-step-membership",
        raft::Variant::LeaderCountsUnsyncedWrites => "leader-counts-unsynced",
    }
}

fn time_scale_matches_the_raft_defaults() {
    let c = Config::new(NodeId(1), vec![NodeId(1)]);
    assert_eq!(c.heartbeat_interval_ticks * TICK_UNITS, HEARTBEAT_UNITS);
    assert_eq!(
        c.election_timeout_ticks_min * TICK_UNITS,
        ELECTION_TIMEOUT_MIN_UNITS
    );
    assert_eq!(
        c.election_timeout_ticks_max * TICK_UNITS,
        ELECTION_TIMEOUT_MAX_UNITS
    );
}

/// Options for a cluster of `nodes` under `faults`, everything else as the CLI defaults it.
pub fn options(nodes: usize, faults: FaultProfile) -> RaftSimOptions {
    RaftSimOptions {
        nodes,
        faults,
        ..RaftSimOptions::default()
    }
}

/// The leader just before `at`, and its term; an error if nobody leads then.
pub fn leader_at(plan: &Plan, at: Time) -> Result<(NodeId, Term), String> {
    let state = plan.state_at(at)?;
    let leader = state
        .leader()
        .ok_or_else(|| format!("no leader at t={at}"))?;
    Ok((leader, state.node(leader).map_or(0, |n| n.term)))
}

/// The nodes of `ids` that are not in `except`.
pub fn others(ids: &[NodeId], except: &[NodeId]) -> Vec<NodeId> {
    ids.iter()
        .copied()
        .filter(|n| !except.contains(n))
        .collect()
}

/// `k` distinct nodes of `ids`, chosen by `rng` (the scenario's own stream, seeded from the
/// seed, so the choice replays with it).
pub fn pick(rng: &mut SeededRng, ids: &[NodeId], k: usize) -> Vec<NodeId> {
    let mut left = ids.to_vec();
    (0..k.min(left.len()))
        .map(|_| left.remove(rng.range(0, left.len() as u64) as usize))
        .collect()
}

/// Every node of `nodes` applied `command` no later than `bound` units after `since`.
pub fn applied_within(
    out: &Outcome,
    nodes: &[NodeId],
    command: &Bytes,
    since: Time,
    bound: Time,
) -> Result<(), String> {
    for &n in nodes {
        let at = out.observed.applied_at(n, command);
        ensure!(
            at.is_some_and(|t| t <= since + bound),
            "{n} applied {command:?} at {at:?}, not within {bound} units of t={since}"
        );
    }
    Ok(())
}

/// How many lines of a traced run's trace fall in `from..=to` and satisfy `pred`. Lines look
/// like `t=1200 n2→n3 AppendEntriesResponse{term=3 reject prev=14 hint=(2,9)}`.
pub fn count_lines(out: &Outcome, from: Time, to: Time, pred: impl Fn(&str) -> bool) -> usize {
    let trace = out.report.trace.as_deref().unwrap_or("");
    trace
        .lines()
        .filter(|l| {
            let t = l.strip_prefix("t=").and_then(|r| r.split(' ').next());
            t.and_then(|t| t.parse::<Time>().ok())
                .is_some_and(|t| (from..=to).contains(&t))
        })
        .filter(|l| pred(l))
        .count()
}

/// `command` was applied exactly once by every node of `nodes` (their current incarnations),
/// all at the same index; returns that index.
pub fn applied_once_everywhere(
    out: &Outcome,
    nodes: &[NodeId],
    command: &Bytes,
) -> Result<Index, String> {
    let mut at: Option<(NodeId, Index)> = None;
    for &n in nodes {
        let count = out.observed.applied_count(n, command);
        ensure!(
            count == 1,
            "{n} applied {command:?} {count} times, not once"
        );
        let i = out.observed.applied_index(n, command).unwrap_or(0);
        if let Some((m, j)) = at {
            ensure!(
                i == j,
                "{n} applied {command:?} at index {i} but {m} at {j}"
            );
        }
        at = Some((n, i));
    }
    Ok(at.map_or(0, |(_, i)| i))
}

/// Every node of `nodes` applied `command` at least once (a retried command may commit
/// twice), first at the same index everywhere; returns that index.
pub fn applied_everywhere(
    out: &Outcome,
    nodes: &[NodeId],
    command: &Bytes,
) -> Result<Index, String> {
    let mut at: Option<(NodeId, Index)> = None;
    for &n in nodes {
        let i = out.observed.applied_index(n, command);
        let i = i.ok_or_else(|| format!("{n} never applied {command:?}"))?;
        if let Some((m, j)) = at {
            ensure!(
                i == j,
                "{n} applied {command:?} at index {i} but {m} at {j}"
            );
        }
        at = Some((n, i));
    }
    Ok(at.map_or(0, |(_, i)| i))
}

/// Everything `node` holds in memory that Figure 2 calls persistent (term, vote, log) is on
/// its disk in `state`: a crash at this instant loses none of it.
pub fn memory_is_on_disk(state: &State, node: NodeId) -> Result<(), String> {
    let Some(n) = state.node(node) else {
        return Err(format!("{node} is down at t={}", state.at));
    };
    let disk = state.disk(node);
    let hs = disk.hard_state;
    ensure!(
        (hs.term, hs.voted_for) == (n.term, n.voted_for),
        "at t={} {node} is in term {} having voted {:?}, but its disk says {hs}",
        state.at,
        n.term,
        n.voted_for
    );
    ensure!(
        disk.log == n.log,
        "at t={} {node}'s log ends at {:?} but its disk's at {:?}",
        state.at,
        n.log.last().map(|e| e.to_string()),
        disk.log.last().map(|e| e.to_string())
    );
    Ok(())
}

/// Nobody, in any incarnation, ever applied `command`.
pub fn never_applied(out: &Outcome, command: &Bytes) -> Result<(), String> {
    match out.observed.applications(command).next() {
        Some(a) => Err(format!(
            "{} applied {command:?} at index {} at t={}",
            a.node, a.entry.index, a.at
        )),
        None => Ok(()),
    }
}

/// At the end, every live node holds the same log, and every entry anyone ever applied is in
/// it at its index (Raft §5.4.3: a committed entry is never lost or replaced).
pub fn converged_without_losing_anything(out: &Outcome) -> Result<(), String> {
    let mut live = out.end.live();
    let Some((first, reference)) = live.next() else {
        return Err("no node is up at the end".into());
    };
    for (id, n) in live {
        ensure!(
            n.log == reference.log,
            "at the end {id}'s log (last {:?}) differs from {first}'s (last {:?})",
            n.log.last(),
            reference.log.last()
        );
    }
    for a in &out.observed.history {
        let kept = reference.log.get(a.entry.index as usize - 1);
        ensure!(
            kept == Some(&a.entry),
            "{} applied {} ({:?}) at t={}, but the final log has {:?} there",
            a.node,
            a.entry,
            a.entry.data,
            a.at,
            kept.map(|e| (e.to_string(), e.data.clone()))
        );
    }
    Ok(())
}

/// Every live node applied every entry of its final log up to the highest commit index: the
/// cluster caught up.
pub fn everyone_applied_everything(out: &Outcome) -> Result<Index, String> {
    let top = out
        .end
        .live()
        .map(|(_, n)| n.commit_index)
        .max()
        .unwrap_or(0);
    for (id, n) in out.end.live() {
        let k = id.0 as usize - 1;
        let applied = out.observed.base[k] + out.observed.applied[k].len() as Index;
        ensure!(
            applied == top && n.commit_index == top,
            "{id} applied {applied} entries (commit_index {}) but the cluster committed {top}",
            n.commit_index
        );
    }
    Ok(top)
}
