//! Persistence scenarios (Raft Figure 2 "persistent state", §5.2, §5.3, §5.4), over many seeds
//! each, with every Raft invariant on: at the instant a node crashes, its term, vote and log are
//! all on its disk; a node restarted from that disk takes up where it left off, re-applies
//! everything committed and catches up on what it missed; whole-cluster restarts lose nothing;
//! and agreement holds on a network that loses, duplicates, delays and reorders messages.
//! Bounds are in simulated time units.

mod common_scenarios;

use common_scenarios::{
    applied_everywhere, applied_once_everywhere, check, converged_without_losing_anything, ensure,
    everyone_applied_everything, leader_at, memory_is_on_disk, options, others, pick, Plan, Target,
    COMMIT_BOUND_UNITS, ELECTION_BOUND_UNITS, HEARTBEAT_UNITS,
};
use distributed_core::{NodeId, SeededRng};
use raft::{Bytes, Role};
use scenarios::FaultProfile;
use sim::Time;

fn healthy(seed: u64, nodes: usize) -> Plan {
    Plan::new(seed, options(nodes, FaultProfile::None))
}

/// One crash of some nodes, restarted together.
struct Outage {
    /// When they crash.
    crash_at: Time,
    /// When they restart.
    restart_at: Time,
    /// Who.
    nodes: Vec<NodeId>,
}

/// For every outage: at the crash, each victim's term, vote and log are on its disk, and right
/// after the restart its term is no lower than before (Figure 2: persisted before anything
/// that depends on them is sent).
fn outages_lost_nothing(plan: &Plan, outages: &[Outage]) -> Result<(), String> {
    for o in outages {
        let before = plan.state_at(o.crash_at)?;
        let after = plan.state_at(o.restart_at + 1)?;
        for &n in &o.nodes {
            memory_is_on_disk(&before, n)?;
            let (was, is) = (before.node(n), after.node(n));
            let (was, is) = (was.map_or(0, |s| s.term), is.map_or(0, |s| s.term));
            ensure!(
                is >= was,
                "{n} restarted at t={} in term {is}, below {was}",
                o.restart_at
            );
        }
    }
    Ok(())
}

/// Raft Figure 2, §5.4: the whole cluster crashes and restarts from disk, then only the leader,
/// then only a follower, then everyone again; a command is committed after each. Nothing any
/// node held is lost at a crash, every node re-applies the whole committed log after each
/// restart, at the same indices, and the logs end identical.
#[test]
fn state_survives_crash_and_restart_of_every_node() {
    check(
        module_path!(),
        "state_survives_crash_and_restart_of_every_node",
        0..30,
        |seed| {
            let mut plan = healthy(seed, 3);
            let ids = plan.ids();
            let mut t = ELECTION_BOUND_UNITS;
            let mut commands = vec![plan.propose(t, Target::Leader)];
            let mut outages = Vec::new();
            for round in 0..4 {
                let crash_at = t + 2_000;
                let (leader, _) = leader_at(&plan, crash_at)?;
                let nodes = match round {
                    1 => vec![leader],
                    2 => others(&ids, &[leader])[..1].to_vec(),
                    _ => ids.clone(),
                };
                let restart_at = crash_at + 500;
                for &n in &nodes {
                    plan.crash(crash_at, n);
                    plan.restart(restart_at, n);
                }
                outages.push(Outage {
                    crash_at,
                    restart_at,
                    nodes,
                });
                t = restart_at + ELECTION_BOUND_UNITS;
                commands.push(plan.propose(t, Target::Leader));
            }
            let out = plan.run(t + 2 * COMMIT_BOUND_UNITS)?;
            outages_lost_nothing(&plan, &outages)?;
            for c in &commands {
                applied_once_everywhere(&out, &ids, c)?;
            }
            everyone_applied_everything(&out)?;
            converged_without_losing_anything(&out)
        },
    );
}

/// Raft Figure 2, §5.3: a follower acknowledges entries only once they are on its disk, so one
/// that crashes (again and again, here in three rounds, one or two followers of five at a time)
/// comes back with every entry it held, and the leader only has to send what it missed.
#[test]
fn a_follower_crash_and_restart_keeps_its_log() {
    const CATCH_UP_BOUND_UNITS: Time = 10 * HEARTBEAT_UNITS;
    check(
        module_path!(),
        "a_follower_crash_and_restart_keeps_its_log",
        0..30,
        |seed| {
            let mut rng = SeededRng::new(seed ^ 0xF011);
            let mut plan = healthy(seed, 5);
            let ids = plan.ids();
            let mut t = ELECTION_BOUND_UNITS;
            let (leader, _) = leader_at(&plan, t)?;
            let mut commands = Vec::new();
            let mut outages = Vec::new();
            for round in 0..3 {
                commands.extend((0..5).map(|k| plan.propose(t + 100 * k, Target::Leader)));
                let crash_at = t + 300;
                let nodes = pick(&mut rng, &others(&ids, &[leader]), 1 + round % 2);
                let missed: Vec<Bytes> = (0..5)
                    .map(|k| plan.propose(crash_at + 500 + 100 * k, Target::Leader))
                    .collect();
                let restart_at = crash_at + 3_000;
                for &n in &nodes {
                    plan.crash(crash_at, n);
                    plan.restart(restart_at, n);
                }
                commands.extend(missed.iter().cloned());
                outages.push((
                    Outage {
                        crash_at,
                        restart_at,
                        nodes,
                    },
                    missed,
                ));
                t = restart_at + 2 * CATCH_UP_BOUND_UNITS;
            }
            let out = plan.run(t)?;
            let (all, missed): (Vec<Outage>, Vec<Vec<Bytes>>) = outages.into_iter().unzip();
            outages_lost_nothing(&plan, &all)?;
            for (o, missed) in all.iter().zip(&missed) {
                ensure!(
                    out.observed
                        .at(o.restart_at)
                        .leaders()
                        .iter()
                        .any(|&(n, _)| n == leader),
                    "{leader} no longer leads when {:?} restart at t={}",
                    o.nodes,
                    o.restart_at
                );
                for c in missed {
                    let applied = o.nodes.iter().map(|&n| out.observed.applied_at(n, c));
                    for (n, at) in o.nodes.iter().zip(applied) {
                        let caught_up =
                            at.is_some_and(|t| t <= o.restart_at + CATCH_UP_BOUND_UNITS);
                        ensure!(
                            caught_up,
                            "{n}, restarted at t={}, applied {c:?} at {at:?}",
                            o.restart_at
                        );
                    }
                }
            }
            for c in &commands {
                applied_once_everywhere(&out, &ids, c)?;
            }
            converged_without_losing_anything(&out)
        },
    );
}

/// Raft §5.4.1, Figure 2: a leader that crashes has every entry it accepted on its disk,
/// including the last one, which may not have reached anyone. The new leader holds every
/// committed entry; the old one restarts as a follower of the new term with its log intact, and
/// its unreplicated entry is then either committed everywhere or overwritten, never half.
#[test]
fn a_leader_crash_and_restart_keeps_committed_entries() {
    check(
        module_path!(),
        "a_leader_crash_and_restart_keeps_committed_entries",
        0..30,
        |seed| {
            let mut plan = healthy(seed, 5);
            let ids = plan.ids();
            let t0 = ELECTION_BOUND_UNITS;
            let (old, _) = leader_at(&plan, t0)?;
            let committed: Vec<Bytes> = (0..5)
                .map(|k| plan.propose(t0 + 100 * k, Target::Leader))
                .collect();
            let crash_at = t0 + 1_500;
            let last = plan.propose(crash_at - 8, Target::Node(old));
            plan.crash(crash_at, old);
            let later: Vec<Bytes> = (0..3)
                .map(|k| plan.propose(crash_at + ELECTION_BOUND_UNITS + 100 * k, Target::Leader))
                .collect();
            let restart_at = crash_at + ELECTION_BOUND_UNITS + 2_000;
            plan.restart(restart_at, old);
            let out = plan.run(restart_at + ELECTION_BOUND_UNITS)?;
            let outage = Outage {
                crash_at,
                restart_at,
                nodes: vec![old],
            };
            outages_lost_nothing(&plan, &[outage])?;
            let during = plan.state_at(restart_at)?;
            let successor = during
                .leader()
                .ok_or("nobody leads while the old leader is down")?;
            let log = &during.node(successor).ok_or("successor down")?.log;
            for c in &committed {
                let index = applied_once_everywhere(&out, &ids, c)?;
                let held = log.get(index as usize - 1).is_some_and(|e| e.data == *c);
                ensure!(
                    held,
                    "the new leader {successor} lacks committed {c:?} at {index} (§5.4.1)"
                );
            }
            for c in &later {
                applied_once_everywhere(&out, &ids, c)?;
            }
            let rejoined = out
                .end
                .node(old)
                .ok_or("the old leader is down at the end")?;
            ensure!(
                rejoined.role == Role::Follower,
                "{old} rejoined as {:?}",
                rejoined.role
            );
            let appliers = ids
                .iter()
                .filter(|&&n| out.observed.applied_at(n, &last).is_some());
            let appliers = appliers.count();
            ensure!(
                appliers == 0 || appliers == ids.len(),
                "the last entry {old} accepted before crashing was applied by {appliers} nodes"
            );
            converged_without_losing_anything(&out)
        },
    );
}

/// Raft §5.3, §5.4 under the network profile (2% loss, 1% duplication, delays of 5..60 units
/// that reorder, and 0.5% of messages held back 1,000..6,000 units): 200 commands proposed to
/// the leader, each retried until committed as a client would, all commit, on every node, in
/// one order. Retries may commit a command twice; agreement on the order is what matters.
#[test]
fn agreement_on_an_unreliable_network() {
    const COMMANDS: u64 = 200;
    check(
        module_path!(),
        "agreement_on_an_unreliable_network",
        0..30,
        |seed| {
            let mut plan = Plan::new(seed, options(5, FaultProfile::Network));
            let ids = plan.ids();
            let t0 = ELECTION_BOUND_UNITS;
            let commands: Vec<Bytes> = (0..COMMANDS)
                .map(|k| plan.propose_until_committed(t0 + 50 * k, 3_000))
                .collect();
            let end = t0 + 50 * COMMANDS + 3 * ELECTION_BOUND_UNITS;
            let out = plan.run(end)?;
            for c in &commands {
                applied_everywhere(&out, &ids, c)?;
            }
            let retried = (out.requests.iter())
                .filter(|r| r.attempts.len() > 1)
                .count();
            ensure!(
                retried * 10 <= commands.len(),
                "{retried} of {} commands needed a retry",
                commands.len()
            );
            everyone_applied_everything(&out)?;
            converged_without_losing_anything(&out)
        },
    );
}
