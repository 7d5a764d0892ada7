//! Snapshot scenarios (Raft §7), over many seeds each, with every Raft invariant on (snapshot
//! safety included): the host compacts each node's log every few applied entries; a follower
//! that was cut off or down while the leader compacted past it is brought up to date by
//! InstallSnapshot, on a reliable or a lossy network; nodes restart from their snapshot plus
//! the log after it, alone or all together; and under continuous load the retained log stays
//! bounded. Bounds are in simulated time units.

mod common_scenarios;

use common_scenarios::{
    count_lines, ensure, leader_at, options, others, Outcome, Plan, Target, COMMIT_BOUND_UNITS,
    ELECTION_BOUND_UNITS,
};
use distributed_core::NodeId;
use raft::{Bytes, Index};
use scenarios::FaultProfile;
use sim::Time;

/// Snapshot every this many applied entries: small, so a few dozen commands compact often.
const SNAPSHOT_EVERY: u64 = 5;

fn compacting(seed: u64, faults: FaultProfile) -> Plan {
    Plan::new(seed, options(3, faults)).compacting(SNAPSHOT_EVERY)
}

/// Propose `n` commands to the leader, one every `gap` units from `from`; returns them and the
/// time of the last.
fn propose_series(plan: &mut Plan, from: Time, n: usize, gap: Time) -> (Vec<Bytes>, Time) {
    let commands = (0..n)
        .map(|k| plan.propose(from + k as Time * gap, Target::Leader))
        .collect();
    (commands, from + n as Time * gap)
}

/// Every live node ends at the cluster's commit index, having applied (or restored) all of it.
fn everyone_caught_up(out: &Outcome) -> Result<Index, String> {
    let top = out
        .end
        .live()
        .map(|(_, n)| n.commit_index)
        .max()
        .unwrap_or(0);
    for (id, n) in out.end.live() {
        ensure!(
            n.commit_index == top && n.applied_index == top,
            "{id} ends at commit {} applied {}, but the cluster committed {top}",
            n.commit_index,
            n.applied_index
        );
    }
    Ok(top)
}

/// `node` applied `command` in its current incarnation, at the index every other node did.
fn applied_by(out: &Outcome, node: NodeId, command: &Bytes) -> Result<(), String> {
    let i = out.observed.applied_index(node, command);
    ensure!(
        i.is_some(),
        "{node} never applied {command:?} after catching up"
    );
    Ok(())
}

/// `node` restored a leader's snapshot at or after `since`.
fn restored_after(out: &Outcome, node: NodeId, since: Time) -> Result<Index, String> {
    let found = (out.observed.restores.iter()).find(|&&(at, n, _)| n == node && at >= since);
    found
        .map(|&(_, _, index)| index)
        .ok_or_else(|| format!("{node} restored no snapshot after t={since}"))
}

/// Raft §7: each server snapshots its own state machine and discards the log it covers; the
/// commands keep committing and every node ends with a short log and the whole state.
#[test]
fn every_node_snapshots_and_forgets_the_log_its_snapshot_covers() {
    common_scenarios::check(
        module_path!(),
        "every_node_snapshots_and_forgets_the_log_its_snapshot_covers",
        0..15,
        |seed| {
            let mut plan = compacting(seed, FaultProfile::None);
            let (commands, last) = propose_series(&mut plan, ELECTION_BOUND_UNITS, 20, 100);
            let out = plan.run(last + 5 * COMMIT_BOUND_UNITS)?;
            for c in &commands {
                ensure!(
                    out.request(c).committed_at.is_some(),
                    "{c:?} never committed"
                );
            }
            everyone_caught_up(&out)?;
            for (id, n) in out.end.live() {
                ensure!(n.snapshot_index >= SNAPSHOT_EVERY, "{id} never snapshotted");
                ensure!(
                    n.log.len() as u64 <= 2 * SNAPSHOT_EVERY,
                    "{id} retains {} entries past its snapshot at {}",
                    n.log.len(),
                    n.snapshot_index
                );
            }
            Ok(())
        },
    );
}

/// One follower misses many commands (cut off, or down) while the leader compacts past them;
/// when it is back it must receive the snapshot and then the entries after it (§7).
fn lagging_follower_catches_up(seed: u64, faults: FaultProfile, crash: bool) -> Result<(), String> {
    let mut plan = compacting(seed, faults);
    let t0 = ELECTION_BOUND_UNITS;
    let (leader, _) = leader_at(&plan, t0)?;
    let ids = plan.ids();
    let lagging = others(&ids, &[leader])[0];
    if crash {
        plan.crash(t0, lagging);
    } else {
        plan.split(t0, &[lagging]);
    }
    let (_, last) = propose_series(&mut plan, t0 + 100, 25, 60);
    let back = last + 2 * COMMIT_BOUND_UNITS;
    if crash {
        plan.restart(back, lagging);
    } else {
        plan.heal(back);
    }
    let after = plan.propose_until_committed(back + ELECTION_BOUND_UNITS, 2 * COMMIT_BOUND_UNITS);
    let out = plan.run(back + 4 * ELECTION_BOUND_UNITS)?;
    restored_after(&out, lagging, back)?;
    ensure!(
        out.request(&after).committed_at.is_some(),
        "{after:?} never committed"
    );
    applied_by(&out, lagging, &after)?;
    everyone_caught_up(&out)?;
    Ok(())
}

/// Raft §7: the leader discarded the entries a cut-off follower needs, so when the partition
/// heals it sends its snapshot (InstallSnapshot), and the follower applies on from there.
#[test]
fn a_follower_cut_off_while_the_leader_compacted_catches_up_from_its_snapshot() {
    common_scenarios::check(
        module_path!(),
        "a_follower_cut_off_while_the_leader_compacted_catches_up_from_its_snapshot",
        0..15,
        |seed| lagging_follower_catches_up(seed, FaultProfile::None, false),
    );
}

/// The same on a network that loses, duplicates, delays and reorders messages: lost or
/// duplicated chunks are resent or ignored, and the transfer still completes (§7).
#[test]
fn a_snapshot_is_installed_across_an_unreliable_network() {
    common_scenarios::check(
        module_path!(),
        "a_snapshot_is_installed_across_an_unreliable_network",
        0..15,
        |seed| lagging_follower_catches_up(seed, FaultProfile::Network, false),
    );
}

/// A follower down while the leader compacted restarts from its own (older) disk and is
/// brought up to date by the leader's snapshot (§7).
#[test]
fn a_follower_that_was_down_while_the_leader_compacted_installs_its_snapshot() {
    common_scenarios::check(
        module_path!(),
        "a_follower_that_was_down_while_the_leader_compacted_installs_its_snapshot",
        0..15,
        |seed| lagging_follower_catches_up(seed, FaultProfile::None, true),
    );
}

/// Raft §7: after every node crashes, each restarts from its snapshot plus the log after it:
/// commit and applied indices start at the snapshot, not at 0, and the cluster goes on.
#[test]
fn every_node_crashes_and_restarts_from_its_snapshot() {
    common_scenarios::check(
        module_path!(),
        "every_node_crashes_and_restarts_from_its_snapshot",
        0..15,
        |seed| {
            let mut plan = compacting(seed, FaultProfile::None);
            let (_, last) = propose_series(&mut plan, ELECTION_BOUND_UNITS, 20, 100);
            let crash_at = last + 5 * COMMIT_BOUND_UNITS;
            let ids = plan.ids();
            for &n in &ids {
                plan.crash(crash_at, n);
                plan.restart(crash_at + 500, n);
            }
            let after = plan.propose_until_committed(crash_at + 500 + ELECTION_BOUND_UNITS, 1_000);
            let restarted = plan.state_at(crash_at + 501)?;
            for &n in &ids {
                let snap = restarted
                    .disk(n)
                    .snapshot
                    .as_ref()
                    .map_or(0, |s| s.meta.index);
                let node = restarted.node(n).ok_or_else(|| format!("{n} is down"))?;
                ensure!(snap > 0, "{n} restarted without a snapshot on disk");
                ensure!(
                    node.applied_index >= snap && node.commit_index >= snap,
                    "{n} restarted at applied {} commit {}, below its snapshot at {snap}",
                    node.applied_index,
                    node.commit_index
                );
            }
            let out = plan.run(crash_at + 500 + 3 * ELECTION_BOUND_UNITS)?;
            ensure!(
                out.request(&after).committed_at.is_some(),
                "{after:?} never committed"
            );
            everyone_caught_up(&out)?;
            Ok(())
        },
    );
}

/// Raft §7: a restarted node's state machine is its snapshot plus a replay of the committed
/// entries after it, not a rebuild from index 1: its first applied entry follows the snapshot.
#[test]
fn a_restarted_node_replays_only_the_entries_after_its_snapshot() {
    common_scenarios::check(
        module_path!(),
        "a_restarted_node_replays_only_the_entries_after_its_snapshot",
        0..15,
        |seed| {
            let mut plan = compacting(seed, FaultProfile::None);
            let (_, last) = propose_series(&mut plan, ELECTION_BOUND_UNITS, 23, 100);
            let crash_at = last + 5 * COMMIT_BOUND_UNITS;
            let (leader, _) = leader_at(&plan, crash_at)?;
            let victim = others(&plan.ids(), &[leader])[0];
            plan.crash(crash_at, victim);
            let restart_at = crash_at + 500;
            plan.restart(restart_at, victim);
            let out = plan.run(restart_at + 3 * ELECTION_BOUND_UNITS)?;
            let base = out.observed.base[victim.0 as usize - 1];
            ensure!(
                base >= SNAPSHOT_EVERY,
                "{victim} restarted from no snapshot"
            );
            let first = (out.observed.history.iter())
                .find(|a| a.node == victim && a.at >= restart_at)
                .map(|a| a.entry.index);
            ensure!(
                first.is_none_or(|i| i == base + 1),
                "{victim} restarted from a snapshot at {base} but then applied {first:?} first"
            );
            everyone_caught_up(&out)?;
            Ok(())
        },
    );
}

/// Raft §7's purpose: under continuous load the retained log stays bounded by the snapshot
/// threshold plus what is in flight, on every node and on every disk, at every sample.
#[test]
fn the_retained_log_stays_bounded_under_continuous_load() {
    common_scenarios::check(
        module_path!(),
        "the_retained_log_stays_bounded_under_continuous_load",
        0..8,
        |seed| {
            let mut plan = compacting(seed, FaultProfile::None);
            let (commands, last) = propose_series(&mut plan, ELECTION_BOUND_UNITS, 150, 40);
            let bound = SNAPSHOT_EVERY as usize + 15;
            for k in 1..=3 {
                let at = ELECTION_BOUND_UNITS + k * (last - ELECTION_BOUND_UNITS) / 3;
                let state = plan.state_at(at)?;
                for (id, n) in state.live() {
                    ensure!(n.snapshot_index > 0, "at t={at} {id} has no snapshot yet");
                    let disk = state.disk(id).log.len();
                    ensure!(
                        n.log.len() <= bound && disk <= bound,
                        "at t={at} {id} retains {} entries ({disk} on disk), over {bound}",
                        n.log.len()
                    );
                }
            }
            let out = plan.run(last + 5 * COMMIT_BOUND_UNITS)?;
            let committed = commands
                .iter()
                .filter(|c| out.request(c).committed_at.is_some());
            ensure!(
                committed.count() == commands.len(),
                "some commands never committed"
            );
            let top = everyone_caught_up(&out)?;
            ensure!(top > 150, "only {top} entries committed");
            Ok(())
        },
    );
}

/// What `distributed sim --protocol raft` runs (the random client, the seed's own snapshot
/// threshold, every fault): most seeds compact, and leaders ship snapshots in chunks to nodes
/// that fell behind, so the 2,000-seed runs check §7 as a matter of course.
#[test]
fn the_default_simulation_compacts_and_installs_snapshots_on_most_seeds() {
    let (mut compacted, mut installed) = (0, 0);
    let seeds = 0..16;
    for seed in seeds.clone() {
        let plan = Plan::with_client(seed, options(5, FaultProfile::All));
        let out = plan.run_traced(30_000).expect("no invariant violated");
        let restores = count_lines(&out, 0, Time::MAX, |l| l.contains("RestoreSnapshot{"));
        let chunks = count_lines(&out, 0, Time::MAX, |l| l.contains("InstallSnapshot{"));
        compacted += u64::from(out.end.live().any(|(_, n)| n.snapshot_index > 0));
        installed += u64::from(restores > 0 && chunks > 0);
    }
    let n = seeds.end - seeds.start;
    assert!(
        compacted * 4 >= n * 3,
        "only {compacted} of {n} seeds compacted"
    );
    assert!(
        installed * 2 >= n,
        "only {installed} of {n} seeds installed a snapshot"
    );
}
