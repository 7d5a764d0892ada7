//! Log agreement scenarios (Raft §5.3, §5.4), over many seeds each, with every Raft invariant
//! on: a leader's proposals commit on every node at the index it accepted them; agreement goes on
//! while a majority is up and stops without one; a follower that was away catches up; a cut-off
//! leader's uncommitted entries are overwritten when it rejoins. The invariants catch any two
//! nodes applying different commands at one index; these scenarios check that the commands that
//! should commit do, when they should, and that the ones that should not, don't. Bounds are in
//! simulated time units (a heartbeat is 200, the longest election timeout 2,000).

mod common_scenarios;

use common_scenarios::script::Reply;
use common_scenarios::{
    applied_once_everywhere, applied_within, check, converged_without_losing_anything, ensure,
    leader_at, never_applied, options, others, pick, Outcome, Plan, Target, COMMIT_BOUND_UNITS,
    ELECTION_BOUND_UNITS, ELECTION_TIMEOUT_MIN_UNITS, HEARTBEAT_UNITS, TICK_UNITS,
};
use distributed_core::{NodeId, SeededRng};
use raft::{Bytes, Index, Term};
use scenarios::FaultProfile;
use sim::Time;

fn healthy(seed: u64, nodes: usize) -> Plan {
    Plan::new(seed, options(nodes, FaultProfile::None))
}

/// The node that accepted `command`, and where; an error if nobody did.
fn accepted(out: &Outcome, command: &Bytes) -> Result<(NodeId, Index), String> {
    let r = out.request(command);
    let (node, index, _) = r
        .accepted()
        .ok_or_else(|| format!("{command:?} was never accepted: attempts {:?}", r.attempts))?;
    Ok((node, index))
}

/// Raft §5.3: the leader appends a proposal, replicates it, commits it once a majority stores
/// it, and every node applies it at that index. One at a time, each proposal lands at the next
/// index, nothing is applied there before it is proposed, and all nodes apply it within a few
/// heartbeats.
#[test]
fn basic_agreement_commits_each_proposal_on_every_node() {
    check(
        module_path!(),
        "basic_agreement_commits_each_proposal_on_every_node",
        0..40,
        |seed| {
            let nodes = if seed % 2 == 0 { 3 } else { 5 };
            let mut plan = healthy(seed, nodes);
            let ids = plan.ids();
            let start = ELECTION_BOUND_UNITS;
            let commands: Vec<(Time, Bytes)> = (0..5)
                .map(|k| start + k * 1_000)
                .map(|at| (at, plan.propose(at, Target::Leader)))
                .collect();
            let out = plan.run(start + 5 * 1_000 + COMMIT_BOUND_UNITS)?;
            let mut previous: Index = 0;
            for (at, c) in &commands {
                let (_, index) = accepted(&out, c)?;
                ensure!(
                    index > previous,
                    "{c:?} accepted at {index}, not after {previous}"
                );
                previous = index;
                let early =
                    (out.observed.history.iter()).find(|a| a.entry.index == index && a.at < *at);
                ensure!(
                    early.is_none(),
                    "index {index} was applied before {c:?} was proposed: {}",
                    early.map_or(String::new(), |a| a.to_string())
                );
                let applied = applied_once_everywhere(&out, &ids, c)?;
                ensure!(
                    applied == index,
                    "{c:?} accepted at {index}, applied at {applied}"
                );
                applied_within(&out, &ids, c, *at, COMMIT_BOUND_UNITS)?;
            }
            Ok(())
        },
    );
}

/// Raft §5.3: a leader needs a majority, not everyone. With one follower of three crashed or
/// cut off, the leader and the other follower go on committing; the failed follower applies
/// nothing meanwhile, and once back it gets every entry it missed, at the same indices. Its
/// return deposes nobody: restarted, it is simply a follower; cut off, it asked for pre-votes
/// in vain and kept its term (thesis §9.6), so the leader still leads for the last proposal.
#[test]
fn agreement_continues_despite_a_failed_follower() {
    check(
        module_path!(),
        "agreement_continues_despite_a_failed_follower",
        0..40,
        |seed| {
            let mut rng = SeededRng::new(seed ^ 0xF0);
            let mut plan = healthy(seed, 3);
            let ids = plan.ids();
            let t0 = ELECTION_BOUND_UNITS;
            let (leader, term) = leader_at(&plan, t0)?;
            let failed = pick(&mut rng, &others(&ids, &[leader]), 1)[0];
            let survivors = others(&ids, &[failed]);
            let c1 = plan.propose(t0, Target::Leader);
            let (fail_at, back_at) = (t0 + 2_000, t0 + 8_000);
            if seed % 2 == 0 {
                plan.crash(fail_at, failed);
                plan.restart(back_at, failed);
            } else {
                plan.split(fail_at, &[failed]);
                plan.heal(back_at);
            }
            let c2 = plan.propose(fail_at + 500, Target::Leader);
            let c3 = plan.propose(fail_at + 1_500, Target::Leader);
            let c4 = plan.propose(back_at + ELECTION_BOUND_UNITS, Target::Leader);
            let out = plan.run(back_at + ELECTION_BOUND_UNITS + 2 * COMMIT_BOUND_UNITS)?;
            for (c, at) in [(&c2, fail_at + 500), (&c3, fail_at + 1_500)] {
                let (by, _) = accepted(&out, c)?;
                ensure!(
                    by == leader,
                    "{c:?} went to {by}, but {leader} should still lead"
                );
                applied_within(&out, &survivors, c, at, COMMIT_BOUND_UNITS)?;
                let seen = out.observed.applied_at(failed, c);
                ensure!(
                    seen.is_none_or(|t| t >= back_at),
                    "{failed} applied {c:?} at {seen:?} while it was away"
                );
            }
            let got = out.request(&c4).accepted().map(|(n, _, t)| (n, t));
            ensure!(
                got == Some((leader, term)),
                "{c4:?} was accepted as {got:?}: {failed}'s return should not have deposed \
                 {leader} of term {term}"
            );
            for c in [&c1, &c2, &c3, &c4] {
                applied_once_everywhere(&out, &ids, c)?;
            }
            Ok(())
        },
    );
}

/// Raft §5.2, §5.4.1: when the leader fails, the other two elect a new one (whose log holds
/// every committed entry) and agreement continues. When that leader fails too, the last node
/// cannot commit anything alone: a proposal made then is applied by nobody.
#[test]
fn agreement_continues_after_the_leader_fails() {
    check(
        module_path!(),
        "agreement_continues_after_the_leader_fails",
        0..40,
        |seed| {
            let mut plan = healthy(seed, 3);
            let ids = plan.ids();
            let t0 = ELECTION_BOUND_UNITS;
            let (first, _) = leader_at(&plan, t0)?;
            let c1 = plan.propose(t0, Target::Leader);
            let fail_at = t0 + 2_000;
            if seed % 2 == 0 {
                plan.crash(fail_at, first);
            } else {
                plan.split(fail_at, &[first]);
            }
            let later = fail_at + ELECTION_BOUND_UNITS;
            let c2 = plan.propose(later, Target::Leader);
            let c3 = plan.propose(later + 1_000, Target::Leader);
            let second_fails_at = later + 3_000;
            let (second, _) = leader_at(&plan, second_fails_at)?;
            plan.crash(second_fails_at, second);
            let last = others(&ids, &[first, second])[0];
            let lone = [
                plan.propose(second_fails_at + 100, Target::Node(last)),
                plan.propose(second_fails_at + 100, Target::Node(first)),
            ];
            let out = plan.run(second_fails_at + 2 * ELECTION_BOUND_UNITS)?;
            applied_once_everywhere(&out, &ids, &c1)?;
            ensure!(second != first, "{first} still leads after it failed");
            for (c, at) in [(&c2, later), (&c3, later + 1_000)] {
                let (by, _) = accepted(&out, c)?;
                ensure!(
                    by == second,
                    "{c:?} went to {by}, not the new leader {second}"
                );
                applied_within(&out, &[second, last], c, at, COMMIT_BOUND_UNITS)?;
            }
            for c in &lone {
                never_applied(&out, c)?;
            }
            Ok(())
        },
    );
}

/// Raft §5.3: the leader keeps retrying a follower it cannot reach; when the follower returns
/// (from a crash, with its log on disk, or from a partition), the consistency check finds where
/// its log ends and the leader sends everything after. Once the cluster has a current leader
/// (with pre-vote, thesis §9.6, the one the follower left simply carries on), the follower
/// catches up within a few heartbeats.
#[test]
fn a_reconnected_follower_catches_up() {
    const MISSED: u64 = 30;
    const CATCH_UP_BOUND_UNITS: Time = 10 * HEARTBEAT_UNITS;
    check(
        module_path!(),
        "a_reconnected_follower_catches_up",
        0..40,
        |seed| {
            let mut rng = SeededRng::new(seed ^ 0xCA);
            let mut plan = healthy(seed, 5);
            let ids = plan.ids();
            let t0 = ELECTION_BOUND_UNITS;
            let (leader, _) = leader_at(&plan, t0)?;
            let away = pick(&mut rng, &others(&ids, &[leader]), 1)[0];
            let leave_at = t0 + 1_000;
            let missed: Vec<Bytes> = (0..MISSED)
                .map(|k| plan.propose(leave_at + 500 + 100 * k, Target::Leader))
                .collect();
            let back_at = leave_at + 500 + 100 * MISSED + 2_000;
            if seed % 2 == 0 {
                plan.crash(leave_at, away);
                plan.restart(back_at, away);
            } else {
                plan.split(leave_at, &[away]);
                plan.heal(back_at);
            }
            let out = plan.run(back_at + ELECTION_BOUND_UNITS + CATCH_UP_BOUND_UNITS)?;
            let led = out.observed.current_leader_from(back_at);
            ensure!(
            led.is_some_and(|t| t <= back_at + ELECTION_BOUND_UNITS),
            "{away} came back at t={back_at}; the cluster had a current leader again at {led:?}"
        );
            let led = led.unwrap_or(back_at);
            for c in &missed {
                let seen = out.observed.applied_at(away, c);
                ensure!(
                    seen.is_some_and(|t| t >= back_at),
                    "{away} applied {c:?} at {seen:?}: while away, or never"
                );
                applied_once_everywhere(&out, &ids, c)?;
            }
            let last = missed.last().ok_or("no commands")?;
            applied_within(&out, &[away], last, led, CATCH_UP_BOUND_UNITS)
        },
    );
}

/// Raft §5.3, §5.4.2: a leader commits only what a majority stores. A leader left with one
/// follower of five accepts a proposal but cannot commit it: nobody applies it while the
/// majority is away. Check-quorum (thesis §6.2) makes that leader step down within about an
/// election timeout, the entry staying in its log and its follower's, and pre-vote (thesis
/// §9.6) keeps the two at their term meanwhile. If the other three were cut off, they elect a
/// leader that never had the proposal; it is overwritten after the heal, and that leader is not
/// disturbed by the two rejoining. If the three were crashed instead, they restart into an
/// election either side can win (the two holders have the longer log, but three restarted
/// voters can elect one of their own, §5.4.1): the proposal commits everywhere exactly when the
/// first leader after the restart holds it (a leader never drops an entry, and its no-op
/// commits everything before it, §5.4.2). Either way it is applied by every node or by none.
#[test]
fn no_agreement_without_a_majority() {
    check(
        module_path!(),
        "no_agreement_without_a_majority",
        0..40,
        |seed| {
            let mut rng = SeededRng::new(seed ^ 0x3A);
            let mut plan = healthy(seed, 5);
            let ids = plan.ids();
            let t0 = ELECTION_BOUND_UNITS;
            let (leader, term) = leader_at(&plan, t0)?;
            let c1 = plan.propose(t0, Target::Leader);
            let mut minority = pick(&mut rng, &others(&ids, &[leader]), 1);
            minority.push(leader);
            let majority = others(&ids, &minority);
            let (cut_at, back_at) = (t0 + 2_000, t0 + 2_000 + 3 * ELECTION_BOUND_UNITS);
            let partitioned = seed % 2 == 1;
            if partitioned {
                plan.split(cut_at, &minority);
                plan.heal(back_at);
            } else {
                majority.iter().for_each(|&n| plan.crash(cut_at, n));
                majority.iter().for_each(|&n| plan.restart(back_at, n));
            }
            let stranded = plan.propose(cut_at + 100, Target::Node(leader));
            let fin = plan.propose(back_at + ELECTION_BOUND_UNITS, Target::Leader);
            let out = plan.run(back_at + ELECTION_BOUND_UNITS + 2 * COMMIT_BOUND_UNITS)?;
            let o = &out.observed;
            applied_once_everywhere(&out, &ids, &c1)?;
            let (by, _) = accepted(&out, &stranded)?;
            ensure!(
                by == leader,
                "the stranded proposal went to {by}, not {leader}"
            );
            let early = o.applications(&stranded).find(|a| a.at < back_at);
            ensure!(
                early.is_none(),
                "applied without a majority: {}",
                early.map_or(String::new(), |a| a.to_string())
            );
            minority_steps_down_and_keeps_its_term(&out, leader, term, &minority, cut_at, back_at)?;
            let want = if partitioned {
                let at_heal = o.at(back_at).leaders();
                let kept = o.at(out.end.at).leaders();
                ensure!(
                    at_heal.len() == 1 && kept == at_heal,
                    "the majority's leader at the heal {at_heal:?} should still lead at the end \
                     (thesis §9.6: the rejoining minority never raised its term), not {kept:?}"
                );
                0
            } else {
                let elected = o.first_time(back_at, |m| !m.leaders().is_empty());
                let elected = elected.ok_or("no leader after the majority restarted")?;
                let first = o.at(elected).leaders();
                let (winner, _) = *first.first().ok_or("no leader")?;
                let state = plan.state_at(elected + 1)?;
                let log = &state.node(winner).ok_or("the first leader is down")?.log;
                if log.iter().any(|e| e.data == stranded) {
                    ids.len()
                } else {
                    0
                }
            };
            applied_once_everywhere(&out, &ids, &fin)?;
            let appliers = ids
                .iter()
                .filter(|&&n| o.applied_at(n, &stranded).is_some())
                .count();
            ensure!(
                appliers == want,
                "partitioned={partitioned}: the stranded proposal was applied by {appliers} of {} \
                 nodes, expected {want} (all exactly when the first leader after the return held \
                 it)",
                ids.len()
            );
            converged_without_losing_anything(&out)
        },
    );
}

/// Thesis §6.2 and §9.6, for `no_agreement_without_a_majority`: the cut-off `leader` stops
/// leading within an election timeout (plus two ticks: the one it notices on, and the heartbeat
/// before the cut), and no node of `minority` moves from `term` while the majority is away.
fn minority_steps_down_and_keeps_its_term(
    out: &Outcome,
    leader: NodeId,
    term: Term,
    minority: &[NodeId],
    cut_at: Time,
    back_at: Time,
) -> Result<(), String> {
    let o = &out.observed;
    let bound = cut_at + ELECTION_TIMEOUT_MIN_UNITS + 2 * TICK_UNITS;
    let stepped_down = o.first_time(cut_at, |m| !m.leaders().contains(&(leader, term)));
    ensure!(
        stepped_down.is_some_and(|t| t <= bound),
        "{leader} led term {term} without a majority until {stepped_down:?}; check-quorum bound \
         t={bound}"
    );
    for m in o.during(cut_at, back_at - 1) {
        for &n in minority {
            let now = m.nodes[n.0 as usize - 1].map(|b| b.term);
            ensure!(
                now == Some(term),
                "{n} is in term {now:?} at t={}, not {term}: pre-vote should keep it there",
                m.at
            );
        }
    }
    Ok(())
}

/// Raft §5.3: proposals arriving together at one leader get consecutive indices in arrival
/// order, and each commits exactly once everywhere. Proposals sent to followers meanwhile are
/// refused with a pointer to the leader, and never applied.
#[test]
fn concurrent_proposals_all_commit_once() {
    check(
        module_path!(),
        "concurrent_proposals_all_commit_once",
        0..40,
        |seed| {
            let mut plan = healthy(seed, 3);
            let ids = plan.ids();
            let t0 = ELECTION_BOUND_UNITS;
            let (leader, term) = leader_at(&plan, t0)?;
            let mut burst = Vec::new();
            let mut misdirected = Vec::new();
            for k in 0..20 {
                burst.push(plan.propose(t0, Target::Leader));
                if k % 4 == 0 {
                    for &f in &others(&ids, &[leader]) {
                        misdirected.push(plan.propose(t0, Target::Node(f)));
                    }
                }
            }
            let out = plan.run(t0 + 3_000)?;
            let changed = out.observed.during(t0, t0 + 3_000).nth(1);
            ensure!(
                changed.is_none(),
                "roles changed during the burst: {}",
                changed.map_or(String::new(), |m| m.to_string())
            );
            let mut indices = Vec::new();
            for c in &burst {
                let r = out.request(c);
                let got = r.accepted();
                ensure!(
                    got.is_some_and(|(n, _, t)| n == leader && t == term),
                    "{c:?} accepted as {got:?}, not by {leader} in term {term}"
                );
                let index = applied_once_everywhere(&out, &ids, c)?;
                ensure!(
                    got.is_some_and(|(_, i, _)| i == index),
                    "{c:?} moved from {got:?} to {index}"
                );
                indices.push(index);
            }
            let consecutive = indices.windows(2).all(|w| w[1] == w[0] + 1);
            ensure!(
                consecutive,
                "burst indices in order of proposal: {indices:?}"
            );
            for c in &misdirected {
                let replies: Vec<_> = out.request(c).attempts.iter().map(|a| a.reply).collect();
                let redirected = Some(Reply::NotLeader {
                    leader: Some(leader),
                });
                ensure!(
                    replies == [redirected],
                    "{c:?} to a follower got {replies:?}"
                );
                never_applied(&out, c)?;
            }
            Ok(())
        },
    );
}

/// Raft §5.3, §5.4.1 (the lab's "rejoin"): a leader cut off with three uncommitted entries is
/// replaced. Then the new leader is cut off, and the old leader rejoins the third node. It cannot
/// win an election (its last term is older than the third node's) and the third node, elected,
/// overwrites the stale entries. After a full heal all logs are identical and the stale entries
/// were never applied anywhere.
#[test]
fn a_partitioned_old_leader_rejoins_and_its_uncommitted_entries_are_overwritten() {
    let name = "a_partitioned_old_leader_rejoins_and_its_uncommitted_entries_are_overwritten";
    check(module_path!(), name, 0..40, |seed| {
        let mut plan = healthy(seed, 3);
        let ids = plan.ids();
        let t0 = ELECTION_BOUND_UNITS;
        let (old, _) = leader_at(&plan, t0)?;
        let c1 = plan.propose(t0, Target::Leader);
        let t1 = t0 + 2_000;
        plan.split(t1, &[old]);
        let stale: Vec<Bytes> = (1..=3)
            .map(|k| plan.propose(t1 + 100 * k, Target::Node(old)))
            .collect();
        let c2 = plan.propose(t1 + ELECTION_BOUND_UNITS, Target::Leader);
        let t2 = t1 + ELECTION_BOUND_UNITS + 2_000;
        let (second, _) = leader_at(&plan, t2)?;
        ensure!(second != old, "{old} still leads the majority at t={t2}");
        plan.split(t2, &[second]);
        let c3 = plan.propose(t2 + ELECTION_BOUND_UNITS, Target::Leader);
        let t3 = t2 + ELECTION_BOUND_UNITS + 2_000;
        plan.heal(t3);
        let c4 = plan.propose(t3 + 1_000, Target::Leader);
        let out = plan.run(t3 + 1_000 + 5_000)?;
        let third = others(&ids, &[old, second])[0];
        let (by, _) = accepted(&out, &c3)?;
        ensure!(by == third, "{by}, not {third}, led after {old} rejoined");
        for c in &stale {
            never_applied(&out, c)?;
            let kept = out
                .end
                .node(old)
                .is_some_and(|n| n.log.iter().any(|e| e.data == *c));
            ensure!(!kept, "{old} still holds the stale {c:?} at the end");
        }
        for c in [&c1, &c2, &c3, &c4] {
            applied_once_everywhere(&out, &ids, c)?;
        }
        converged_without_losing_anything(&out)
    });
}
