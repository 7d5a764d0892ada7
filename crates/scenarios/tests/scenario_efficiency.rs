//! What replication costs, over many seeds each, with every Raft invariant on: a leader repairs
//! hundreds of conflicting entries in a few round trips thanks to the follower's conflict hint
//! (Raft §5.3), an election costs at most two messages per peer per campaign, and neither an
//! idle nor a busy leader sends more than its heartbeats plus one round trip per proposal
//! (no retransmission storms). Costs are counted in messages (the simulator's `Stats`, or
//! lines of a traced run), never in wall-clock time.

mod common_scenarios;

use common_scenarios::{
    applied_once_everywhere, check, converged_without_losing_anything, ensure, leader_at,
    never_applied, options, others, pick, Outcome, Plan, Target, ELECTION_BOUND_UNITS,
    ELECTION_TIMEOUT_MIN_UNITS, HEARTBEAT_UNITS, TICK_UNITS,
};
use distributed_core::{NodeId, SeededRng};
use raft::{Entry, Role};
use scenarios::raft::RaftSimOptions;
use scenarios::FaultProfile;
use sim::{Stats, Time};

/// How many entries of `log` sit at an index where `reference` holds a different term.
fn conflicting(log: &[Entry], reference: &[Entry]) -> usize {
    let differs = |e: &&Entry| reference.get(e.index as usize - 1).map(|r| r.term) != Some(e.term);
    log.iter().filter(differs).count()
}

/// Raft §5.3, accelerated log backtracking: a follower rejecting an AppendEntries names the
/// term of its conflicting entry and the first index of that term, and the leader skips the
/// whole term at once. Here a cut-off leader and its one follower take 200 uncommitted
/// entries; the majority commits 200 others; then the two rejoin the one majority node that
/// holds those, which wins the election (§5.4.1) and must overwrite 200+ conflicting entries on
/// each. Finding each follower's match point takes a couple of rejected probes, not one per
/// conflicting entry. Everything ends identical, and the stale entries are never applied.
///
/// Check-quorum (thesis §6.2) gives a cut-off leader about one election timeout before it
/// steps down, keeping its log: so each burst is proposed at once (one per time unit) and
/// replicated in batches of Raft's default 64 entries. The simulator's per-seed choice of one
/// entry per append, four in flight, moves about four entries per round trip: too few to
/// reach the follower in time. The probe count this scenario bounds does not depend on the
/// batch: a probe is one AppendEntries, however many entries it carries.
#[test]
fn fast_log_backup_repairs_long_conflicting_logs() {
    const BURST: u64 = 200;
    const PROBES_MAX: usize = 3;
    check(
        module_path!(),
        "fast_log_backup_repairs_long_conflicting_logs",
        0..20,
        |seed| {
            let mut rng = SeededRng::new(seed ^ 0xBAC);
            let opts = RaftSimOptions {
                entries_per_append_max: Some(64),
                ..options(5, FaultProfile::None)
            };
            let mut plan = Plan::new(seed, opts);
            let ids = plan.ids();
            let t0 = ELECTION_BOUND_UNITS;
            let (first, _) = leader_at(&plan, t0)?;
            plan.propose(t0, Target::Leader);
            let t1 = t0 + 1_000;
            let mut stale_side = pick(&mut rng, &others(&ids, &[first]), 1);
            stale_side.push(first);
            plan.split(t1, &stale_side);
            let burst = |plan: &mut Plan, at: Time, to: Target| {
                (0..BURST)
                    .map(|k| plan.propose(at + k, to))
                    .collect::<Vec<_>>()
            };
            let stale = burst(&mut plan, t1 + 100, Target::Node(first));
            let t2 = t1 + ELECTION_BOUND_UNITS;
            let (second, _) = leader_at(&plan, t2)?;
            ensure!(
                !stale_side.contains(&second),
                "{second} leads at t={t2}, on the stale side"
            );
            let committed = burst(&mut plan, t2, Target::Leader);
            let t3 = t2 + ELECTION_BOUND_UNITS;
            let rest = others(&ids, &stale_side);
            let helper = pick(&mut rng, &others(&rest, &[second]), 1)[0];
            plan.split(t3, &[second, helper]);
            let holder = others(&rest, &[second, helper])[0];
            let doomed = burst(&mut plan, t3 + 100, Target::Node(second));
            let before = plan.state_at(t3)?;
            let reference = &before.node(holder).ok_or("the holder is down")?.log;
            let c_fin = plan.propose(t3 + ELECTION_BOUND_UNITS, Target::Leader);
            let t5 = t3 + ELECTION_BOUND_UNITS + 3_000;
            plan.heal(t5);
            let c_end = plan.propose(t5 + ELECTION_BOUND_UNITS, Target::Leader);
            let out = plan.run_traced(t5 + ELECTION_BOUND_UNITS + 3_000)?;
            let sent = (stale.iter().map(|c| (c, first))).chain(doomed.iter().map(|c| (c, second)));
            for (c, to) in sent {
                let got = out.request(c).accepted().map(|(n, _, _)| n);
                ensure!(got == Some(to), "{c:?} was accepted by {got:?}, not {to}");
            }
            // Thesis §6.2: both cut-off leaders stepped down long before the heal.
            for (old, cut) in [(first, t1), (second, t3)] {
                let quit =
                    (out.observed).first_time(cut, |m| !m.leaders().iter().any(|&(n, _)| n == old));
                ensure!(
                    quit.is_some_and(|t| t <= cut + ELECTION_TIMEOUT_MIN_UNITS + 2 * TICK_UNITS),
                    "{old}, cut off from the majority at t={cut}, led until {quit:?}"
                );
            }
            for c in &committed {
                let at = out.observed.applied_at(holder, c);
                ensure!(
                    at.is_some_and(|t| t < t3),
                    "{holder} applied {c:?} at {at:?}, not before t={t3}"
                );
            }
            let elected = out
                .observed
                .first_time(t3, |m| m.leaders().iter().any(|&(n, _)| n == holder));
            let elected =
                elected.ok_or_else(|| format!("{holder} never led the rejoined side (§5.4.1)"))?;
            for &n in &stale_side {
                let conflicts = before.node(n).map_or(0, |s| conflicting(&s.log, reference));
                ensure!(
                    conflicts >= BURST as usize,
                    "{n} has only {conflicts} conflicting entries"
                );
                let probes = rejections_before_first_success(&out, n, holder, elected, t5);
                ensure!(
                probes.is_some_and(|p| p <= PROBES_MAX),
                "{holder} (leader from t={elected}) needed {probes:?} rejected appends to find \
                 where {n}'s log matches, with {conflicts} conflicting entries: the conflict \
                 hint should skip a whole term per round trip"
            );
            }
            let mut repaired = stale_side.clone();
            repaired.push(holder);
            applied_once_everywhere(&out, &repaired, &c_fin)?;
            for c in committed.iter().chain([&c_end]) {
                applied_once_everywhere(&out, &ids, c)?;
            }
            for c in stale.iter().chain(&doomed) {
                never_applied(&out, c)?;
            }
            converged_without_losing_anything(&out)
        },
    );
}

/// How many AppendEntries `follower` rejected to `leader` in `from..=to` before it first
/// accepted one: the round trips the leader spent finding where their logs match. `None` if it
/// never accepted one.
fn rejections_before_first_success(
    out: &Outcome,
    follower: NodeId,
    leader: NodeId,
    from: Time,
    to: Time,
) -> Option<usize> {
    let route = format!(" {follower}→{leader} AppendEntriesResponse{{");
    let trace = out.report.trace.as_deref().unwrap_or("");
    let answers = trace
        .lines()
        .filter(|l| l.contains(&route) && !l.contains(" drop "));
    let mut in_window = answers.filter(|l| {
        let t = l.strip_prefix("t=").and_then(|r| r.split(' ').next());
        t.and_then(|t| t.parse::<Time>().ok())
            .is_some_and(|t| (from..=to).contains(&t))
    });
    in_window.position(|l| l.contains(" ok match="))
}

/// Messages sent up to `at` (exclusive) in this plan's run.
fn sent_before(plan: &Plan, at: Time) -> Result<Stats, String> {
    Ok(plan.state_at(at)?.stats)
}

/// Raft §5.2, §5.3: a campaign costs one RequestVote per peer and at most one answer each; a
/// leader with nothing to replicate sends one empty AppendEntries per follower per heartbeat
/// interval, each answered once. So the messages up to the first leader are at most
/// 2(n-1) per campaign plus the winner's first n-1 appends, and the messages over a quiet
/// window of W units are at most 2(n-1)(W/heartbeat + 1). No retries pile up.
#[test]
fn message_count_stays_bounded_when_idle() {
    const WINDOW_UNITS: Time = 20_000;
    check(
        module_path!(),
        "message_count_stays_bounded_when_idle",
        0..30,
        |seed| {
            let n = if seed % 2 == 0 { 3 } else { 5 };
            let peers = n as u64 - 1;
            let plan = Plan::new(seed, options(n, FaultProfile::None));
            let t0 = ELECTION_BOUND_UNITS;
            let out = plan.run(t0 + WINDOW_UNITS)?;
            let o = &out.observed;
            let elected = o
                .first_time(0, |m| !m.leaders().is_empty())
                .ok_or("no leader")?;
            let campaigns: std::collections::BTreeSet<(NodeId, u64)> = (o.during(0, elected))
                .flat_map(|m| {
                    m.nodes
                        .iter()
                        .enumerate()
                        .map(|(k, b)| (k, *b))
                        .collect::<Vec<_>>()
                })
                .filter_map(|(k, b)| b.filter(|b| b.role != Role::Follower).map(|b| (k, b.term)))
                .map(|(k, t)| (NodeId(k as u64 + 1), t))
                .collect();
            let election = sent_before(&plan, elected + 1)?.messages_sent;
            let bound = 2 * peers * campaigns.len() as u64 + peers;
            ensure!(
                election <= bound,
                "{election} messages to elect the first leader at t={elected} after {} campaigns; \
             bound {bound}",
                campaigns.len()
            );
            let idle = out.end.stats.messages_sent - sent_before(&plan, t0)?.messages_sent;
            let rounds = WINDOW_UNITS / HEARTBEAT_UNITS;
            let (low, high) = (2 * peers * (rounds - 1), 2 * peers * (rounds + 1));
            ensure!(
                (low..=high).contains(&idle),
                "{idle} messages in {WINDOW_UNITS} idle units with {n} nodes; expected \
             {low}..={high} (one heartbeat round trip per follower per {HEARTBEAT_UNITS} units)"
            );
            Ok(())
        },
    );
}

/// Raft §5.3: a proposal costs the leader one AppendEntries per follower (fewer when batched)
/// and one answer each, on top of the heartbeats, which keep their pace whatever the load.
/// Under the simulator's random client proposing every ~100 units, the window's messages stay
/// within 2(n-1)(W/heartbeat + 1) heartbeat messages plus 2(n-1)·proposals with 25% slack: a
/// pipelined append that arrives out of order, or is lost on the unreliable network, is
/// rejected and re-sent after one probe round trip, and no more. The runs are exactly
/// `distributed sim` runs (none and network profiles), so the CLI replays them.
#[test]
fn message_count_stays_bounded_when_busy() {
    const WINDOW_UNITS: Time = 20_000;
    check(
        module_path!(),
        "message_count_stays_bounded_when_busy",
        0..30,
        |seed| {
            let faults = if seed % 2 == 0 {
                FaultProfile::None
            } else {
                FaultProfile::Network
            };
            let n = 5;
            let peers = n as u64 - 1;
            let plan = Plan::with_client(seed, options(n, faults));
            let t0 = ELECTION_BOUND_UNITS;
            let before = sent_before(&plan, t0)?;
            let out = plan.run(t0 + WINDOW_UNITS)?;
            let after = &out.end.stats;
            let changed = out.observed.during(t0, t0 + WINDOW_UNITS).nth(1);
            ensure!(
                changed.is_none(),
                "an election in the window: {}",
                changed.map_or(String::new(), |m| m.to_string())
            );
            let sent = after.messages_sent - before.messages_sent;
            let proposals = after.inputs - before.inputs;
            let heartbeats = 2 * peers * (WINDOW_UNITS / HEARTBEAT_UNITS + 1);
            let bound = heartbeats + 2 * peers * proposals * 5 / 4;
            ensure!(
                proposals >= WINDOW_UNITS / 200 && sent <= bound,
                "{sent} messages for {proposals} proposals in {WINDOW_UNITS} units; bound {bound} \
             ({heartbeats} for heartbeats)"
            );
            Ok(())
        },
    );
}
