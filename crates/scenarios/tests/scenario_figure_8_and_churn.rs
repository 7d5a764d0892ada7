//! Figure 8 and churn scenarios (Raft §5.4.2, §5.4.3), over many seeds each, with every Raft
//! invariant on: leaders are crashed or cut off right after they accept proposals, before the
//! entries spread, again and again, so logs diverge in the shapes of the paper's Figure 8; and
//! clients keep proposing while nodes crash, restart and get partitioned at random. Afterwards
//! everything is healed: the cluster must agree, commit a new command on every node, and still
//! hold every entry any node ever applied. The broken `CommitOldTerm` rule must be caught by the
//! same Figure 8 scenario. Bounds are in simulated time units.

mod common_scenarios;

use std::collections::BTreeSet;

use common_scenarios::{
    applied_everywhere, check, converged_without_losing_anything, ensure,
    everyone_applied_everything, leader_at, options, others, pick, Plan, Target,
    ELECTION_BOUND_UNITS, HEARTBEAT_UNITS,
};
use distributed_core::{NodeId, Rng, SeededRng};
use raft::Variant;
use scenarios::FaultProfile;
use sim::{Time, TraceLevel};

/// How a Figure 8 run takes leaders away.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takeaway {
    /// Crash the leader (it restarts later from its disk).
    Crash,
    /// Cut the leader off, alone or with one follower (the partition heals later).
    Isolate,
}

/// The Figure 8 scenario for one seed, driven by elections: find the next election (by
/// running the plan so far), propose one to three commands to the new leader, and take it away
/// soon after: half the time within 60 units (its no-op and proposals reach some followers, not
/// all), else within two heartbeats or up to 3,000 units. Crashed nodes come back one at a time
/// so that at least three are up. After 30 takeaways everything is healed, one last command must
/// commit everywhere, and nothing any node ever applied may be missing from the final logs.
fn figure_8(
    seed: u64,
    faults: FaultProfile,
    variant: Variant,
    how: Takeaway,
) -> Result<(), String> {
    const TAKEAWAYS: usize = 30;
    let mut rng = SeededRng::new(seed ^ 0xF18);
    let mut opts = options(5, faults);
    opts.variant = variant;
    let mut plan = Plan::new(seed, opts);
    let ids = plan.ids();
    let mut down: BTreeSet<NodeId> = BTreeSet::new();
    let mut t = 0;
    for _ in 0..TAKEAWAYS {
        // A heal may have undone the last takeaway: then the standing leader is next.
        let (elected, leader) = match plan.next_election(t, t + 3 * ELECTION_BOUND_UNITS)? {
            Some((at, leader, _)) => (at, leader),
            None => (
                t,
                plan.state_at(t)?
                    .leader()
                    .ok_or("no leader and no election")?,
            ),
        };
        for k in 0..rng.range(1, 4) {
            plan.propose(elected + 1 + k, Target::Node(leader));
        }
        let at = elected
            + match rng.range(0, 10) {
                0..=4 => rng.range(1, 60),
                5..=7 => rng.range(60, 2 * HEARTBEAT_UNITS),
                _ => rng.range(2 * HEARTBEAT_UNITS, 3_000),
            };
        take_away(&mut plan, &mut rng, &mut down, how, at, leader);
        if how == Takeaway::Crash && (down.len() >= 3 || rng.chance(300_000)) {
            let n = pick(&mut rng, &down.iter().copied().collect::<Vec<_>>(), 1)[0];
            plan.restart(at + 1, n);
            down.remove(&n);
        }
        if how == Takeaway::Isolate && rng.chance(200_000) {
            plan.heal(at + 1);
        }
        t = at + 2;
    }
    plan.heal(t);
    ids.iter().for_each(|&n| plan.restart(t, n));
    let last = plan.propose_until_committed(t + ELECTION_BOUND_UNITS, 3_000);
    let out = plan.run(t + 3 * ELECTION_BOUND_UNITS)?;
    applied_everywhere(&out, &ids, &last)?;
    everyone_applied_everything(&out)?;
    converged_without_losing_anything(&out)
}

fn take_away(
    plan: &mut Plan,
    rng: &mut SeededRng,
    down: &mut BTreeSet<NodeId>,
    how: Takeaway,
    at: Time,
    leader: NodeId,
) {
    match how {
        Takeaway::Crash => {
            plan.crash(at, leader);
            down.insert(leader);
        }
        Takeaway::Isolate => {
            let mut side = vec![leader];
            if rng.chance(500_000) {
                side.extend(pick(rng, &others(&plan.ids(), &[leader]), 1));
            }
            plan.split(at, &side);
        }
    }
}

/// Raft §5.4.2, Figure 8: a leader may count replicas to commit only entries of its own term.
/// With leaders crashing right after proposing, old-term entries often sit on a majority while
/// a node without them can still win an election; an entry committed by counting them would be
/// overwritten. With the correct rule, no committed entry is ever lost.
#[test]
fn figure_8_with_random_leader_crashes_never_loses_a_committed_entry() {
    let name = "figure_8_with_random_leader_crashes_never_loses_a_committed_entry";
    check(module_path!(), name, 0..40, |seed| {
        figure_8(seed, FaultProfile::None, Variant::Correct, Takeaway::Crash)
    });
}

/// Raft §5.4.2, Figure 8 on the unreliable network profile (loss, duplication, reordering, very
/// late messages): leaders are cut off (alone or with one follower) right after proposing,
/// partitions come and go, and stale messages arrive terms later. No committed entry is lost.
#[test]
fn figure_8_on_an_unreliable_network() {
    check(
        module_path!(),
        "figure_8_on_an_unreliable_network",
        0..40,
        |seed| {
            figure_8(
                seed,
                FaultProfile::Network,
                Variant::Correct,
                Takeaway::Isolate,
            )
        },
    );
}

/// The paper's Figure 8, move by move, each move aimed at the state the previous ones made (by
/// running the plan so far). With one entry per append, so that a follower can acknowledge an
/// old entry before it gets the new leader's no-op:
///
/// ```text
///   (a) A leads; A and B are cut off; x is proposed to A: x sits on A and B only (index i)
///   (b) the other three elect M; M is cut off at once: its no-op (M's term, index i) is on M
///   (c) A, B and the other two reunite; A or B (they hold x) is elected: L
///   (d) L sends x to a follower C; the moment L applies index i, L and B are cut off
///   (e) M, C and the third node elect M, whose last term is newer than x's; M overwrites i
/// ```
///
/// With the correct rule L applies index i only once its own no-op is on a majority, so M can
/// never win in (e) and x survives. With `CommitOldTerm`, L applies x as soon as three nodes
/// hold it, and (e) loses it.
fn figure_8_sequence(seed: u64, variant: Variant) -> Result<(), String> {
    let mut rng = SeededRng::new(seed ^ 0xF8);
    let mut opts = options(5, FaultProfile::None);
    opts.variant = variant;
    opts.entries_per_append_max = Some(1);
    let mut plan = Plan::new(seed, opts);
    let ids = plan.ids();
    let t0 = ELECTION_BOUND_UNITS;
    let (a, _) = leader_at(&plan, t0)?;
    let b = pick(&mut rng, &others(&ids, &[a]), 1)[0];
    plan.split(t0, &[a, b]);
    let x = plan.propose(t0 + 1, Target::Node(a));
    let window = 3 * ELECTION_BOUND_UNITS;
    let (e1, m, _) = (plan.next_election(t0 + 1, t0 + window)?).ok_or("(b): no election")?;
    plan.split(e1 + 1, &[m]);
    let (e2, l, _) = (plan.next_election(e1 + 2, e1 + window)?).ok_or("(c): no election")?;
    ensure!(
        l == a || l == b,
        "(c): {l} was elected, but only {a} and {b} hold {x:?}"
    );
    let probe = plan.execute(e2 + window, TraceLevel::Off)?;
    let (_, i, _) = probe
        .request(&x)
        .accepted()
        .ok_or("(a): x was not accepted")?;
    let applied = (probe.observed.history.iter())
        .find(|ap| ap.node == l && ap.entry.index == i && ap.at >= e2)
        .map(|ap| ap.at)
        .ok_or_else(|| format!("(d): {l} never applied index {i}"))?;
    plan.split(applied + 1, &[a, b]);
    let heal_at = applied + 1 + ELECTION_BOUND_UNITS;
    plan.heal(heal_at);
    let last = plan.propose(heal_at + ELECTION_BOUND_UNITS, Target::Leader);
    let out = plan.run(heal_at + 2 * ELECTION_BOUND_UNITS)?;
    applied_everywhere(&out, &ids, &last)?;
    everyone_applied_everything(&out)?;
    converged_without_losing_anything(&out)
}

/// Raft §5.4.2, Figure 8, exactly: with the correct commit rule the sequence above never loses
/// an entry any node applied.
#[test]
fn the_figure_8_sequence_never_loses_a_committed_entry() {
    check(
        module_path!(),
        "the_figure_8_sequence_never_loses_a_committed_entry",
        0..40,
        |seed| figure_8_sequence(seed, Variant::Correct),
    );
}

/// The checks can fail: with the deliberately broken rule that commits entries of older terms
/// by counting replicas (§5.4.2), the same sequence loses a committed entry on most seeds, and
/// an invariant (or the final comparison of logs) says so.
#[test]
fn the_figure_8_sequence_catches_the_rule_that_commits_old_terms_by_counting_replicas() {
    let verdicts: Vec<(u64, Result<(), String>)> = (0..40)
        .map(|seed| (seed, figure_8_sequence(seed, Variant::CommitOldTerm)))
        .collect();
    let caught: Vec<u64> = (verdicts.iter())
        .filter(|(_, v)| v.as_ref().is_err_and(|e| !e.starts_with('(')))
        .map(|(s, _)| *s)
        .collect();
    let first = (verdicts.iter()).find_map(|(_, v)| v.as_ref().err()?.lines().next());
    assert!(
        caught.len() * 2 >= verdicts.len(),
        "CommitOldTerm caught on only {} of {} seeds ({caught:?}); first failure: {first:?}",
        caught.len(),
        verdicts.len()
    );
    println!("CommitOldTerm caught on seeds {caught:?}; first: {first:?}");
}

/// One churn run: three clients propose to the leader every 100..300 units each, while every
/// 300..2,500 units a random node crashes, a crashed node restarts, a random minority is cut
/// off, or the network heals. After 60,000 units everything is healed and restarted.
fn churn(seed: u64, faults: FaultProfile) -> Result<(), String> {
    const CHURN_UNITS: Time = 60_000;
    let mut rng = SeededRng::new(seed ^ 0xC8);
    let mut plan = Plan::new(seed, options(5, faults));
    let ids = plan.ids();
    let mut proposed = 0;
    for client in 0..3 {
        let mut t = 1_000 + client * 37;
        while t < CHURN_UNITS {
            plan.propose(t, Target::Leader);
            proposed += 1;
            t += rng.range(100, 300);
        }
    }
    let mut down: BTreeSet<NodeId> = BTreeSet::new();
    let mut t = 2_000;
    while t < CHURN_UNITS {
        let live = others(&ids, &down.iter().copied().collect::<Vec<_>>());
        match rng.range(0, 10) {
            0..=2 if down.len() < 2 => {
                let n = pick(&mut rng, &live, 1)[0];
                plan.crash(t, n);
                down.insert(n);
            }
            3..=5 if !down.is_empty() => {
                let n = pick(&mut rng, &down.iter().copied().collect::<Vec<_>>(), 1)[0];
                plan.restart(t, n);
                down.remove(&n);
            }
            6 | 7 => {
                let k = rng.range(1, 3) as usize;
                plan.split(t, &pick(&mut rng, &ids, k));
            }
            _ => plan.heal(t),
        }
        t += rng.range(300, 2_500);
    }
    plan.heal(CHURN_UNITS);
    ids.iter().for_each(|&n| plan.restart(CHURN_UNITS, n));
    let last = plan.propose_until_committed(CHURN_UNITS + ELECTION_BOUND_UNITS, 3_000);
    let out = plan.run(CHURN_UNITS + 3 * ELECTION_BOUND_UNITS)?;
    applied_everywhere(&out, &ids, &last)?;
    everyone_applied_everything(&out)?;
    converged_without_losing_anything(&out)?;
    let committed = (out.requests.iter())
        .filter(|r| r.command != last && r.committed_at.is_some())
        .count();
    ensure!(
        committed * 2 >= proposed,
        "only {committed} of {proposed} client commands committed during the churn"
    );
    Ok(())
}

/// Raft §5.4.3 under churn on a reliable network: whatever crashes, restarts and partitions
/// happen while clients propose, every command any node applied is still in the final log at
/// the same index, every node ends with the same log, and most commands commit along the way.
#[test]
fn churn_with_concurrent_proposals_reliable() {
    check(
        module_path!(),
        "churn_with_concurrent_proposals_reliable",
        0..25,
        |seed| churn(seed, FaultProfile::None),
    );
}

/// The same churn on the unreliable network profile (loss, duplication, reordering, very late
/// messages).
#[test]
fn churn_with_concurrent_proposals_unreliable() {
    check(
        module_path!(),
        "churn_with_concurrent_proposals_unreliable",
        0..25,
        |seed| churn(seed, FaultProfile::Network),
    );
}
