//! Leader election scenarios (Raft §5.2), over many seeds each, with every Raft invariant on:
//! a healthy cluster elects one leader and keeps it; losing the leader (crashed or cut off)
//! elects another among the rest, and the old one rejoins as a follower; elections settle after
//! every disruption while a majority is connected; and without a majority nobody wins a new term.
//! Election safety itself (one leader per term) is an invariant checked after every event.
//! Every bound is in simulated time units (see `common_scenarios` for the scale).

mod common_scenarios;

use std::collections::BTreeSet;

use common_scenarios::observe::{Moment, Observed};
use common_scenarios::script::Reply;
use common_scenarios::{
    applied_within, check, ensure, leader_at, options, others, pick, Plan, RaftTweak, Target,
    CHECK_QUORUM_OFF, COMMIT_BOUND_UNITS, ELECTION_BOUND_UNITS, ELECTION_TIMEOUT_MAX_UNITS,
    ELECTION_TIMEOUT_MIN_UNITS, PRE_VOTE_OFF, TICK_UNITS,
};
use distributed_core::{NodeId, Rng, SeededRng};
use raft::{Role, Term};
use scenarios::raft::RaftSimOptions;
use scenarios::FaultProfile;
use sim::Time;

fn healthy(nodes: usize) -> RaftSimOptions {
    options(nodes, FaultProfile::None)
}

/// The one leader among `among` in `m` whose term is the highest of `among`'s terms, if there
/// is exactly one such leader.
fn sole_leader(m: &Moment, among: &BTreeSet<NodeId>) -> Option<(NodeId, Term)> {
    let top = (m.nodes.iter().enumerate())
        .filter(|(k, _)| among.contains(&NodeId(*k as u64 + 1)))
        .filter_map(|(_, b)| b.map(|b| b.term))
        .max()?;
    let leaders: Vec<_> = (m.leaders().into_iter())
        .filter(|(n, t)| among.contains(n) && *t == top)
        .collect();
    (leaders.len() == 1).then(|| leaders[0])
}

/// Raft §5.2: a follower that hears no leader campaigns, a majority of votes elects it, and its
/// heartbeats keep everyone else from campaigning again. So the cluster settles on one leader
/// within a few election timeouts, every node in its term, and then nothing changes.
#[test]
fn a_leader_is_elected_in_a_healthy_cluster() {
    check(
        module_path!(),
        "a_leader_is_elected_in_a_healthy_cluster",
        0..50,
        |seed| {
            let nodes = if seed % 2 == 0 { 3 } else { 5 };
            let end = 4 * ELECTION_BOUND_UNITS;
            let out = Plan::new(seed, healthy(nodes)).run(end)?;
            let timeline = &out.observed.timeline;
            let first = out.observed.first_time(0, |m| !m.leaders().is_empty());
            ensure!(
                first.is_some_and(|t| t <= ELECTION_BOUND_UNITS),
                "the first leader appeared at {first:?}, bound t={ELECTION_BOUND_UNITS}"
            );
            let settled = timeline.last().map_or(0, |m| m.at);
            ensure!(
                settled <= ELECTION_BOUND_UNITS,
                "roles or terms still changed at t={settled}, after the bound \
             t={ELECTION_BOUND_UNITS}: {}",
                timeline.last().map_or(String::new(), |m| m.to_string())
            );
            let leaders = out.end.live().filter(|(_, n)| n.role == Role::Leader);
            let leaders: Vec<NodeId> = leaders.map(|(id, _)| id).collect();
            ensure!(leaders.len() == 1, "leaders at the end: {leaders:?}");
            let term = out.end.node(leaders[0]).map_or(0, |n| n.term);
            for (id, n) in out.end.live() {
                ensure!(
                    n.term == term && n.leader == Some(leaders[0]),
                    "{id} is in term {} following {:?}, not term {term} following {}",
                    n.term,
                    n.leader,
                    leaders[0]
                );
            }
            Ok(())
        },
    );
}

/// Raft §5.2: when the leader crashes or is cut off, the others stop hearing heartbeats, time
/// out, and elect a new leader of a higher term among themselves. When the old leader comes
/// back, the first message of the higher term turns it into a follower (§5.1), and it does not
/// disturb the new leader: it never campaigned while it was away.
#[test]
fn a_new_leader_is_elected_after_the_leader_is_lost() {
    check(
        module_path!(),
        "a_new_leader_is_elected_after_the_leader_is_lost",
        0..40,
        |seed| {
            let nodes = if seed % 2 == 0 { 3 } else { 5 };
            let crash = seed % 4 < 2;
            let mut plan = Plan::new(seed, healthy(nodes));
            let lost_at = ELECTION_BOUND_UNITS;
            let before = plan.state_at(lost_at)?;
            let old = before.leader().ok_or("no leader before the loss")?;
            let old_term = before.node(old).map_or(0, |n| n.term);
            let back_at = lost_at + ELECTION_BOUND_UNITS;
            if crash {
                plan.crash(lost_at, old);
                plan.restart(back_at, old);
            } else {
                plan.split(lost_at, &[old]);
                plan.heal(back_at);
            }
            let out = plan.run(back_at + ELECTION_BOUND_UNITS)?;
            let o = &out.observed;
            let new_leader =
                |m: &Moment| m.leaders().iter().any(|&(n, t)| n != old && t > old_term);
            let elected = o.first_time(lost_at, new_leader);
            ensure!(
                elected.is_some_and(|t| t <= lost_at + ELECTION_BOUND_UNITS),
                "after {old} (term {old_term}) was lost at t={lost_at}, a new leader came at \
             {elected:?}; bound t={}",
                lost_at + ELECTION_BOUND_UNITS
            );
            let successor = o.at(back_at).leaders().into_iter().find(|&(n, _)| n != old);
            let (successor, term) = successor.ok_or("nobody but the old leader leads at rejoin")?;
            let end = &out.end;
            ensure!(
                end.leader() == Some(successor),
                "{successor} led term {term} when {old} rejoined, but {:?} leads at the end",
                end.leader()
            );
            let rejoined = end.node(old).ok_or("the old leader is down at the end")?;
            ensure!(
                rejoined.role == Role::Follower
                    && rejoined.term == term
                    && rejoined.leader == Some(successor),
                "{old} rejoined as {:?} of term {} following {:?}, not a follower of {successor} \
             in term {term}",
                rejoined.role,
                rejoined.term,
                rejoined.leader
            );
            Ok(())
        },
    );
}

/// What one churn round does to the five nodes.
enum Round {
    /// Cut a random minority off: the majority side must elect and keep a leader.
    Minority(Vec<NodeId>),
    /// Crash three nodes: two cannot elect anyone (Raft §5.2 needs three votes of five).
    NoMajority(Vec<NodeId>),
    /// Everyone back and connected.
    Healthy,
}

/// Raft §5.2: whenever a majority can talk, a leader emerges among it and stays, even as the
/// nodes of the minority come back (with pre-vote they kept their terms while away, thesis
/// §9.6; without it they would force one more election); whenever no majority is up, no new
/// term gets a leader.
#[test]
fn elections_settle_under_repeated_churn() {
    const ROUNDS: u64 = 10;
    const ROUND_UNITS: Time = 2 * ELECTION_BOUND_UNITS;
    check(
        module_path!(),
        "elections_settle_under_repeated_churn",
        0..30,
        |seed| {
            let mut rng = SeededRng::new(seed ^ 0xC4_u64);
            let mut plan = Plan::new(seed, healthy(5));
            let ids = plan.ids();
            let mut rounds = Vec::new();
            for r in 0..ROUNDS {
                let start = (r + 1) * ROUND_UNITS;
                plan.heal(start);
                ids.iter().for_each(|&n| plan.restart(start, n));
                let round = match rng.range(0, 3) {
                    0 => {
                        let k = rng.range(1, 3) as usize;
                        Round::Minority(pick(&mut rng, &ids, k))
                    }
                    1 => Round::NoMajority(pick(&mut rng, &ids, 3)),
                    _ => Round::Healthy,
                };
                match &round {
                    Round::Minority(cut) => plan.split(start, cut),
                    Round::NoMajority(down) => down.iter().for_each(|&n| plan.crash(start, n)),
                    Round::Healthy => {}
                }
                rounds.push((start, round));
            }
            let out = plan.run((ROUNDS + 1) * ROUND_UNITS - 1)?;
            for (start, round) in &rounds {
                let end = start + ROUND_UNITS - 1;
                let o = &out.observed;
                match round {
                    Round::NoMajority(down) => {
                        let term_before = o.at(*start).term_max();
                        let usurper = o.during(*start, end).find_map(|m| {
                            (m.leaders().into_iter()).find(|&(_, t)| t > term_before)
                        });
                        ensure!(
                            usurper.is_none(),
                            "with {down:?} down from t={start}, {usurper:?} won a term above \
                         {term_before}"
                        );
                    }
                    Round::Minority(_) | Round::Healthy => {
                        let cut: &[NodeId] = match round {
                            Round::Minority(cut) => cut,
                            _ => &[],
                        };
                        let majority: BTreeSet<NodeId> =
                            ids.iter().filter(|n| !cut.contains(n)).copied().collect();
                        let settled = settle_time(o, *start, end, &majority);
                        ensure!(
                            settled.is_some_and(|t| t <= start + ELECTION_BOUND_UNITS),
                            "round from t={start} with {cut:?} cut off: the majority {majority:?} \
                         settled on one leader at {settled:?} (bound t={})",
                            start + ELECTION_BOUND_UNITS
                        );
                    }
                }
            }
            Ok(())
        },
    );
}

/// The time (at or after `from`) from which `among` has had one unchanging leader of its
/// highest term until `to`, if it has one at `to`.
fn settle_time(o: &Observed, from: Time, to: Time, among: &BTreeSet<NodeId>) -> Option<Time> {
    let mut since: Option<(Time, Option<(NodeId, Term)>)> = None;
    for m in o.during(from, to) {
        let now = sole_leader(m, among);
        if since.is_none_or(|(_, l)| l != now) {
            since = Some((m.at.max(from), now));
        }
    }
    since.and_then(|(at, l)| l.map(|_| at))
}

/// Raft §5.2: a candidate needs votes from a majority of the whole cluster. With three of five
/// nodes down (the leader among them), or a four-node cluster split two and two, nobody wins a
/// new term. With pre-vote (thesis §9.6, the default) nobody even starts one: a node whose
/// timer fires asks for pre-votes and bumps its term only if a majority would vote for it, so
/// every term stays exactly where it was for the whole cut, while the cut-off nodes keep asking
/// (they show up as pre-candidates). With check-quorum (thesis §6.2) the old leader on its
/// side of the split stops leading within about an election timeout, so from then on nobody
/// leads at all. Once a majority is back, a leader emerges. Each seed also runs with pre-vote
/// off, the paper's elections: there the terms climb at every timeout, and still nobody wins.
#[test]
fn no_leader_is_elected_without_a_majority() {
    check(
        module_path!(),
        "no_leader_is_elected_without_a_majority",
        0..40,
        |seed| {
            without_a_majority(seed, None)?;
            without_a_majority(seed, Some(PRE_VOTE_OFF))
        },
    );
}

/// One run of `no_leader_is_elected_without_a_majority`, with the default config or `tweak`.
fn without_a_majority(seed: u64, tweak: Option<RaftTweak>) -> Result<(), String> {
    let mut rng = SeededRng::new(seed ^ 0x40_u64);
    let nodes = if seed % 2 == 1 { 4 } else { 5 };
    let mut plan = match tweak {
        None => Plan::new(seed, healthy(nodes)),
        Some(t) => Plan::tweaked(seed, healthy(nodes), t),
    };
    let ids = plan.ids();
    let cut_at = ELECTION_BOUND_UNITS;
    let back_at = cut_at + 3 * ELECTION_BOUND_UNITS;
    let before = plan.state_at(cut_at)?;
    let old = before.leader().ok_or("no leader before the cut")?;
    let others: Vec<NodeId> = ids.iter().copied().filter(|&n| n != old).collect();
    let term_before = before.live().map(|(_, n)| n.term).max().unwrap_or(0);
    if nodes == 5 {
        let mut down = pick(&mut rng, &others, 2);
        down.push(old);
        down.iter().for_each(|&n| plan.crash(cut_at, n));
        plan.restart(back_at, down[0]);
    } else {
        let mut side = pick(&mut rng, &others, 1);
        side.push(old);
        plan.split(cut_at, &side);
        plan.heal(back_at);
    }
    let out = plan.run(back_at + ELECTION_BOUND_UNITS)?;
    let o = &out.observed;
    let usurper = o
        .during(cut_at, back_at - 1)
        .find_map(|m| m.leaders().into_iter().find(|&(_, t)| t > term_before));
    ensure!(
        usurper.is_none(),
        "without a majority from t={cut_at}, {usurper:?} won a term above {term_before}"
    );
    // Check-quorum: the old leader counts acks from a quorum over the last
    // election_timeout_ticks_min; the last ones came before the cut. Two ticks of slack for
    // the tick it notices on and the heartbeat before the cut.
    let leaderless_from = cut_at + ELECTION_TIMEOUT_MIN_UNITS + 2 * TICK_UNITS;
    let led = (o.during(leaderless_from, back_at - 1)).find(|m| !m.leaders().is_empty());
    ensure!(
        led.is_none(),
        "without a majority from t={cut_at}, someone still leads after t={leaderless_from} \
         (check-quorum): {}",
        led.map_or(String::new(), |m| m.to_string())
    );
    let campaigned = o.at(back_at - 1).term_max();
    if tweak.is_none() {
        // Thesis §9.6: no pre-vote can succeed without a majority, so no term moves.
        let moved = (o.during(cut_at, back_at - 1)).find(|m| m.term_max() != term_before);
        ensure!(
            moved.is_none(),
            "with pre-vote, a term moved from {term_before} without a majority: {}",
            moved.map_or(String::new(), |m| m.to_string())
        );
        let asking = (o.during(cut_at, back_at - 1)).any(|m| {
            m.nodes
                .iter()
                .flatten()
                .any(|b| b.role == Role::PreCandidate)
        });
        ensure!(asking, "nobody asked for pre-votes while cut off");
    } else {
        ensure!(
            campaigned > term_before,
            "without pre-vote nobody campaigned while cut off (terms stayed at {term_before})"
        );
    }
    let everyone: BTreeSet<NodeId> = ids.iter().copied().collect();
    let settled = settle_time(o, back_at, back_at + ELECTION_BOUND_UNITS, &everyone);
    ensure!(
        settled.is_some_and(|t| t <= back_at + ELECTION_BOUND_UNITS),
        "after a majority returned at t={back_at}, a leader settled at {settled:?}"
    );
    Ok(())
}

/// Thesis §9.6 (pre-vote) with check-quorum (§4.2.3): a follower cut off for several election
/// timeouts keeps asking for pre-votes and never gets one, so its term stays put; when it
/// returns it just follows. The leader and its term stay the same through the cut, the heal and
/// after, nobody else leads or reaches a higher term, and commands commit throughout (the
/// returning follower catches up). Each seed also runs with pre-vote off for contrast: the
/// cut-off node's term climbs at every timeout, and on its return its first answer to the
/// leader carries that term and deposes the leader (§5.1), an election for nothing.
#[test]
fn a_partitioned_node_rejoining_does_not_disrupt_a_healthy_leader() {
    check(
        module_path!(),
        "a_partitioned_node_rejoining_does_not_disrupt_a_healthy_leader",
        0..60,
        |seed| {
            let r = rejoin(seed, None)?;
            let o = &r.out.observed;
            let disturbed = o
                .during(r.cut_at, r.end)
                .find(|m| m.leaders() != [(r.leader, r.term)] || m.term_max() != r.term);
            ensure!(
                disturbed.is_none(),
                "{} led term {} when {} was cut off at t={}, healed at t={}; then: {}",
                r.leader,
                r.term,
                r.away,
                r.cut_at,
                r.back_at,
                disturbed.map_or(String::new(), |m| m.to_string())
            );
            let asked = (o.during(r.cut_at, r.back_at)).any(|m| {
                m.nodes[r.away.0 as usize - 1].is_some_and(|b| b.role == Role::PreCandidate)
            });
            ensure!(asked, "{} never asked for pre-votes while cut off", r.away);
            let ids: Vec<NodeId> = r.out.end.live().map(|(id, _)| id).collect();
            let majority: Vec<NodeId> = ids.iter().copied().filter(|&n| n != r.away).collect();
            applied_within(
                &r.out,
                &majority,
                &r.during,
                r.cut_at + 1_000,
                COMMIT_BOUND_UNITS,
            )?;
            applied_within(
                &r.out,
                &ids,
                &r.after,
                r.back_at + 2_000,
                COMMIT_BOUND_UNITS,
            )?;
            let back = r.out.end.node(r.away).ok_or("the rejoined node is down")?;
            ensure!(
                (back.role, back.term, back.leader) == (Role::Follower, r.term, Some(r.leader)),
                "{} rejoined as {:?} of term {} following {:?}",
                r.away,
                back.role,
                back.term,
                back.leader
            );

            let r = rejoin(seed, Some(PRE_VOTE_OFF))?;
            let o = &r.out.observed;
            let climbed = o.at(r.back_at - 1).nodes[r.away.0 as usize - 1].map_or(0, |b| b.term);
            ensure!(
                climbed > r.term,
                "pre-vote off: {} stayed in term {climbed} while cut off",
                r.away
            );
            let deposed = o.first_time(r.back_at, |m| !m.leaders().contains(&(r.leader, r.term)));
            ensure!(
                deposed.is_some_and(|t| t <= r.back_at + ELECTION_BOUND_UNITS),
                "pre-vote off: {} (term {climbed}) rejoined at t={} but {} led term {} until \
                 {deposed:?}",
                r.away,
                r.back_at,
                r.leader,
                r.term
            );
            Ok(())
        },
    );
}

/// One run of the rejoin scenario: who led, who was cut off, when, and the two commands.
struct Rejoin {
    out: common_scenarios::Outcome,
    leader: NodeId,
    term: Term,
    away: NodeId,
    cut_at: Time,
    back_at: Time,
    end: Time,
    /// Proposed while `away` is cut off.
    during: raft::Bytes,
    /// Proposed after the heal.
    after: raft::Bytes,
}

fn rejoin(seed: u64, tweak: Option<RaftTweak>) -> Result<Rejoin, String> {
    let mut rng = SeededRng::new(seed ^ 0x9E);
    let nodes = if seed % 2 == 1 { 5 } else { 3 };
    let mut plan = match tweak {
        None => Plan::new(seed, healthy(nodes)),
        Some(t) => Plan::tweaked(seed, healthy(nodes), t),
    };
    let ids = plan.ids();
    let cut_at = ELECTION_BOUND_UNITS;
    let (leader, term) = leader_at(&plan, cut_at)?;
    let away = pick(&mut rng, &others(&ids, &[leader]), 1)[0];
    let back_at = cut_at + 5 * ELECTION_TIMEOUT_MAX_UNITS;
    let end = back_at + ELECTION_BOUND_UNITS;
    plan.split(cut_at, &[away]);
    plan.heal(back_at);
    let during = plan.propose(cut_at + 1_000, Target::Leader);
    let after = plan.propose(back_at + 2_000, Target::Leader);
    let out = plan.run(end)?;
    Ok(Rejoin {
        out,
        leader,
        term,
        away,
        cut_at,
        back_at,
        end,
        during,
        after,
    })
}

/// Check-quorum (thesis §6.2): a leader cut off from every follower hears no quorum, and within
/// about an election timeout it stops leading, so clients that ask it are redirected instead of
/// waiting on a leader that can commit nothing. It does not give up early: half a timeout
/// after the cut it still leads. Its term stays put (pre-vote: it cannot win a pre-vote alone),
/// and the others elect a new leader. Each seed also runs with check-quorum off for contrast:
/// then the cut-off leader still believes it leads its old term at the end.
#[test]
fn an_isolated_leader_steps_down_by_check_quorum() {
    check(
        module_path!(),
        "an_isolated_leader_steps_down_by_check_quorum",
        0..60,
        |seed| {
            let nodes = if seed % 2 == 0 { 3 } else { 5 };
            let cut_at = ELECTION_BOUND_UNITS;
            // The last acks arrive before the cut; two ticks of slack for the tick the leader
            // notices on and the heartbeat before the cut.
            let bound = cut_at + ELECTION_TIMEOUT_MIN_UNITS + 2 * TICK_UNITS;
            let end = cut_at + ELECTION_BOUND_UNITS;
            let mut plan = Plan::new(seed, healthy(nodes));
            let (old, term) = leader_at(&plan, cut_at)?;
            plan.split(cut_at, &[old]);
            let probe = plan.propose(bound, Target::Node(old));
            let out = plan.run(end)?;
            let o = &out.observed;
            let leads = |m: &Moment| m.leaders().contains(&(old, term));
            let early = cut_at + ELECTION_TIMEOUT_MIN_UNITS / 2;
            ensure!(
                leads(&o.at(early)),
                "{old} stopped leading term {term} before t={early}, half a timeout after the \
                 cut at t={cut_at}: {}",
                o.at(early)
            );
            let stepped_down = o.first_time(cut_at, |m| !leads(m));
            ensure!(
                stepped_down.is_some_and(|t| t <= bound),
                "{old}, cut off at t={cut_at}, led term {term} until {stepped_down:?}; bound \
                 t={bound}"
            );
            let replies: Vec<_> = out
                .request(&probe)
                .attempts
                .iter()
                .map(|a| a.reply)
                .collect();
            ensure!(
                matches!(replies.as_slice(), [Some(Reply::NotLeader { .. })]),
                "a proposal to {old} after it stepped down got {replies:?}"
            );
            let moved = o
                .during(cut_at, end)
                .find_map(|m| m.nodes[old.0 as usize - 1].filter(|b| b.term != term));
            ensure!(
                moved.is_none(),
                "the cut-off {old} moved from term {term}: {moved:?}"
            );
            let successor = o.first_time(cut_at, |m| {
                m.leaders().iter().any(|&(n, t)| n != old && t > term)
            });
            ensure!(
                successor.is_some_and(|t| t <= cut_at + ELECTION_BOUND_UNITS),
                "the others elected a new leader at {successor:?}"
            );

            let mut plan = Plan::tweaked(seed, healthy(nodes), CHECK_QUORUM_OFF);
            let (old, term) = leader_at(&plan, cut_at)?;
            plan.split(cut_at, &[old]);
            let out = plan.run(end)?;
            let still = out.end.node(old).map(|n| (n.role, n.term));
            ensure!(
                still == Some((Role::Leader, term)),
                "check-quorum off: the cut-off {old} (leader of term {term}) is {still:?} at \
                 t={end}, not still leading"
            );
            Ok(())
        },
    );
}
