//! Membership scenarios (Raft §6, thesis §4.3, §3.10): an operator with a goal (a voter set, or
//! a leader) reconfigures a simulated cluster one safe change at a time, while the random
//! client keeps proposing and scripted faults interrupt it. Every Raft invariant (election
//! safety across old and new configurations, log matching, leader completeness, state
//! machine safety, monotonic commit, committed configurations agree) is checked after every
//! event by the simulator; each scenario then checks where the cluster ended up.
//!
//! ```text
//!   Operator, every POLL_UNITS, if the highest-term leader's configuration is settled:
//!     goal Voters(V): a voter-to-be that is not a member ──► AddLearner   (learners first)
//!                     a learner of V                      ──► Promote (or Replace, if asked)
//!                     a voter outside V (maybe the leader)──► Remove
//!     goal Leader(n): n is not the leader                 ──► TransferLeadership{to=n}
//!   every other poll goes to the random client
//! ```
//!
//! Interrupted changes: a first run finds when the operator sent its first voter change and
//! to whom; a second run of the same seed crashes or isolates that leader right after (a run
//! is a pure function of its seed and its script, and events planned later change nothing
//! before them). Every bound is in simulated time units, never wall clock.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use distributed_core::{NodeId, SeededRng};
use raft::{Input, MembershipChange, Output, Raft, Role};
use scenarios::raft::{simulation, Client, RaftSimOptions};
use scenarios::FaultProfile;
use sim::{ClusterView, Partition, Report, Time, Workload, WorkloadStep};

/// How often the operator looks at the cluster.
const POLL_UNITS: Time = 100;
/// Seeds per scenario.
const SEEDS: u64 = 8;
/// Simulated time per run: enough for several changes, each a few heartbeats long, and for
/// an election or two after a fault.
const RUN_UNITS: Time = 40_000;

/// Where the operator wants the cluster.
#[derive(Clone, Debug)]
enum Goal {
    /// Exactly these voters; `replace` pairs an addition with a removal in one joint change.
    Voters {
        voters: BTreeSet<NodeId>,
        replace: bool,
    },
    /// Replace whoever leads when the operator starts by `add` (learner first).
    ReplaceLeader { add: NodeId },
    /// Remove whoever leads when the operator starts.
    RemoveLeader,
    /// This node leads.
    Leader(NodeId),
}

/// What the operator did, for the scenario to inspect after the run.
#[derive(Clone, Debug, Default)]
struct Log {
    /// (time, node, input) of every change or transfer sent.
    sent: Vec<(Time, NodeId, String)>,
    /// The first voter-changing request: when and to which leader.
    first_voter_change: Option<(Time, NodeId)>,
    /// Every `ChangeRejected` seen.
    rejected: Vec<String>,
    /// When the goal was first seen reached.
    reached_at: Option<Time>,
}

struct Operator {
    goal: Goal,
    client: Client,
    client_next_at: Time,
    next_at: Time,
    start_at: Time,
    log: Rc<RefCell<Log>>,
}

fn leader<'a>(view: &ClusterView<'a, Raft>) -> Option<(NodeId, &'a Raft)> {
    view.live()
        .filter(|(_, n)| n.role() == Role::Leader)
        .max_by_key(|(_, n)| n.term())
}

impl Operator {
    /// The next request toward the goal, from a settled leader `id`; `None` once reached.
    fn next(&mut self, id: NodeId, r: &Raft) -> Option<Input> {
        let m = r.membership();
        match self.goal.clone() {
            Goal::ReplaceLeader { add } => {
                let mut voters = m.voters.clone();
                voters.remove(&id);
                voters.insert(add);
                self.goal = Goal::Voters {
                    voters,
                    replace: true,
                };
                self.next(id, r)
            }
            Goal::RemoveLeader => {
                let mut voters = m.voters.clone();
                voters.remove(&id);
                self.goal = Goal::Voters {
                    voters,
                    replace: false,
                };
                self.next(id, r)
            }
            Goal::Leader(to) => (to != id).then_some(Input::TransferLeadership { to }),
            Goal::Voters { voters, replace } => {
                let adding: Vec<NodeId> = voters.difference(&m.voters).copied().collect();
                let removing: Vec<NodeId> = m.voters.difference(&voters).copied().collect();
                let change = if let Some(&n) = adding.iter().find(|&&n| !m.is_learner(n)) {
                    MembershipChange::AddLearner(n)
                } else if let (true, Some(&add), Some(&remove)) =
                    (replace, adding.first(), removing.first())
                {
                    MembershipChange::Replace { remove, add }
                } else if let Some(&n) = adding.first() {
                    MembershipChange::Promote(n)
                } else if let Some(&n) = removing.first() {
                    MembershipChange::Remove(n)
                } else {
                    return None;
                };
                Some(Input::ChangeMembership(change))
            }
        }
    }
}

impl Workload<Raft> for Operator {
    fn poll(&mut self, view: &ClusterView<Raft>, rng: &mut SeededRng) -> WorkloadStep<Input> {
        let now = view.now();
        let mut input = None;
        if now >= self.next_at {
            self.next_at = now + POLL_UNITS;
            if let Some((id, r)) = leader(view).filter(|_| now >= self.start_at) {
                let settled =
                    !r.membership().is_joint() && r.membership_index() <= r.commit_index();
                if settled {
                    match self.next(id, r) {
                        Some(i) => {
                            let mut log = self.log.borrow_mut();
                            let voter_change = matches!(
                                &i,
                                Input::ChangeMembership(
                                    MembershipChange::Promote(_)
                                        | MembershipChange::Replace { .. }
                                        | MembershipChange::Remove(_)
                                )
                            );
                            if voter_change && log.first_voter_change.is_none() {
                                log.first_voter_change = Some((now, id));
                            }
                            log.sent.push((now, id, i.to_string()));
                            input = Some((id, i));
                        }
                        None => {
                            self.log.borrow_mut().reached_at.get_or_insert(now);
                        }
                    }
                }
            }
        }
        if input.is_none() && now >= self.client_next_at {
            let step = self.client.poll(view, rng);
            self.client_next_at = now + step.next_poll_units.unwrap_or(Time::MAX / 2).max(1);
            input = step.input;
        }
        WorkloadStep {
            input,
            next_poll_units: Some(
                self.next_at
                    .min(self.client_next_at)
                    .saturating_sub(now)
                    .max(1),
            ),
        }
    }

    fn on_output(&mut self, node: NodeId, output: &Output, now: Time) {
        if let Output::ChangeRejected { reason } = output {
            self.log
                .borrow_mut()
                .rejected
                .push(format!("{now} {node} {reason}"));
        }
        self.client.on_output(node, output, now);
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        self.client.on_input_dropped(node, now);
    }
}

/// One run's verdict and what the operator saw.
struct Run {
    report: Report,
    log: Log,
    /// Per slot: (role, membership voters, last index), `None` when down.
    end: Vec<Option<(Role, BTreeSet<NodeId>, u64)>>,
}

/// The faults a scenario scripts, by time.
#[derive(Clone, Copy)]
enum Fault {
    Crash(NodeId),
    Restart(NodeId),
    Isolate(NodeId),
    Heal,
}

fn run(seed: u64, voters: usize, goal: Goal, start_at: Time, faults: &[(Time, Fault)]) -> Run {
    let opts = RaftSimOptions {
        nodes: voters,
        faults: FaultProfile::None,
        membership_changes: true,
        max_time_units: RUN_UNITS,
        ..RaftSimOptions::default()
    };
    let log = Rc::new(RefCell::new(Log::default()));
    let operator = Operator {
        goal,
        client: Client::new(opts.propose_interval_units, 3_000),
        client_next_at: 0,
        next_at: 0,
        start_at,
        log: log.clone(),
    };
    let mut sim = simulation(seed, &opts)
        .expect("valid options")
        .with_workload(operator);
    let slots = opts.slots();
    for &(at, fault) in faults {
        match fault {
            Fault::Crash(id) => sim.schedule_crash(at, id),
            Fault::Restart(id) => sim.schedule_restart(at, id),
            Fault::Isolate(id) => sim.schedule_partition(at, Partition::isolate(slots, id)),
            Fault::Heal => sim.schedule_heal(at),
        }
    }
    let report = sim.run();
    let view = sim.view();
    let end = (1..=slots as u64)
        .map(|i| {
            let n = view.node(NodeId(i))?;
            Some((n.role(), n.membership().voters.clone(), n.last_index()))
        })
        .collect();
    let log = log.borrow().clone();
    Run { report, log, end }
}

fn ids(v: &[u64]) -> BTreeSet<NodeId> {
    v.iter().copied().map(NodeId).collect()
}

/// The run broke no invariant, and reached its goal.
fn assert_safe_and_reached(seed: u64, r: &Run) {
    if let Some(v) = r.report.violation() {
        panic!("seed {seed}: {v}");
    }
    assert!(
        r.log.reached_at.is_some(),
        "seed {seed}: goal not reached: {:?}",
        r.log
    );
}

/// Every live member (by the final configuration) agrees on the voters.
fn assert_members_agree(seed: u64, r: &Run, voters: &BTreeSet<NodeId>) {
    for id in voters {
        let Some((_, v, _)) = &r.end[id.0 as usize - 1] else {
            continue;
        };
        assert_eq!(v, voters, "seed {seed}: {id} runs another configuration");
    }
}

#[test]
fn the_cluster_grows_from_three_to_five_voters_through_learners() {
    // Thesis §4.2.1: new servers join as learners first; Raft §6: each promotion is joint.
    for seed in 0..SEEDS {
        let target = ids(&[1, 2, 3, 4, 5]);
        let goal = Goal::Voters {
            voters: target.clone(),
            replace: false,
        };
        let r = run(seed, 3, goal, 2_000, &[]);
        assert_safe_and_reached(seed, &r);
        assert_members_agree(seed, &r, &target);
        let learners_first = r
            .log
            .sent
            .iter()
            .position(|(_, _, s)| s.contains("AddLearner"));
        let first_promote = r
            .log
            .sent
            .iter()
            .position(|(_, _, s)| s.contains("Promote"));
        assert!(
            learners_first < first_promote,
            "seed {seed}: {:?}",
            r.log.sent
        );
    }
}

#[test]
fn the_cluster_shrinks_from_five_to_three_voters() {
    for seed in 0..SEEDS {
        let target = ids(&[1, 2, 3]);
        let goal = Goal::Voters {
            voters: target.clone(),
            replace: false,
        };
        let r = run(seed, 5, goal, 2_000, &[]);
        assert_safe_and_reached(seed, &r);
        assert_members_agree(seed, &r, &target);
    }
}

#[test]
fn the_leader_is_replaced_by_a_new_node_in_one_joint_change() {
    // Raft §6: remove and add in one C_old,new; the old leader steps down after C_new commits.
    for seed in 0..SEEDS {
        let r = run(seed, 3, Goal::ReplaceLeader { add: NodeId(4) }, 2_000, &[]);
        assert_safe_and_reached(seed, &r);
        let (_, old_leader) = r.log.first_voter_change.expect("a replace was sent");
        let end = r.end[old_leader.0 as usize - 1].as_ref().expect("up");
        assert_ne!(
            end.0,
            Role::Leader,
            "seed {seed}: {old_leader} left and stepped down"
        );
        assert!(!end.1.contains(&old_leader), "seed {seed}");
        assert!(
            r.log.sent.iter().any(|(_, _, s)| s.contains("Replace")),
            "seed {seed}"
        );
    }
}

#[test]
fn the_leader_removes_itself_and_the_rest_elect_a_new_one() {
    // Raft §6: a leader not in C_new keeps managing without counting itself, then steps down.
    for seed in 0..SEEDS {
        let r = run(seed, 5, Goal::RemoveLeader, 2_000, &[]);
        assert_safe_and_reached(seed, &r);
        let (_, removed) = r.log.first_voter_change.expect("a removal was sent");
        let leaders: Vec<usize> = (r.end.iter().enumerate())
            .filter(|(_, n)| n.as_ref().is_some_and(|n| n.0 == Role::Leader))
            .map(|(k, _)| k + 1)
            .collect();
        assert_eq!(leaders.len(), 1, "seed {seed}: one new leader: {leaders:?}");
        assert_ne!(leaders[0] as u64, removed.0, "seed {seed}");
    }
}

/// A voter change interrupted by `fault_of(leader)` right after it was sent: the cluster stays
/// safe and still reaches the goal once the fault ends.
fn interrupted(seed: u64, faults: impl Fn(Time, NodeId) -> Vec<(Time, Fault)>) -> Run {
    let goal = || Goal::Voters {
        voters: ids(&[1, 2, 4]),
        replace: true,
    };
    let first = run(seed, 3, goal(), 2_000, &[]);
    assert_safe_and_reached(seed, &first);
    let (at, leader) = first
        .log
        .first_voter_change
        .expect("a voter change was sent");
    let r = run(seed, 3, goal(), 2_000, &faults(at, leader));
    assert_safe_and_reached(seed, &r);
    assert_members_agree(seed, &r, &ids(&[1, 2, 4]));
    r
}

#[test]
fn a_change_interrupted_by_a_leader_crash_is_finished_or_undone_by_the_next_leader() {
    // Raft §6: the next leader holds C_old,new if it committed, and completes the change;
    // otherwise the entry is lost and the old configuration rules. Either way, one leader
    // per term across both configurations.
    for seed in 0..SEEDS {
        interrupted(seed, |at, leader| {
            vec![
                (at + 10, Fault::Crash(leader)),
                (at + 5_000, Fault::Restart(leader)),
            ]
        });
    }
}

#[test]
fn a_change_interrupted_by_a_partition_completes_after_it_heals() {
    for seed in 0..SEEDS {
        interrupted(seed, |at, leader| {
            vec![(at + 10, Fault::Isolate(leader)), (at + 6_000, Fault::Heal)]
        });
    }
}

#[test]
fn leadership_moves_to_an_up_to_date_follower_without_an_election_timeout() {
    // Thesis §3.10: TimeoutNow makes the target campaign at once.
    for seed in 0..SEEDS {
        let r = run(seed, 3, Goal::Leader(NodeId(2)), 3_000, &[]);
        assert_safe_and_reached(seed, &r);
        let sent = r.log.sent.iter().find(|(_, _, s)| s.contains("Transfer"));
        let reached = r.log.reached_at.expect("reached");
        // Done within a few polls, well under the 1,000-unit shortest election timeout that a
        // leader change without TimeoutNow would cost (n2 may already lead: nothing sent).
        if let Some((sent_at, _, _)) = sent {
            assert!(
                reached - sent_at < 1_000,
                "seed {seed}: {sent_at}..{reached}"
            );
        }
        assert_eq!(
            r.end[1].as_ref().map(|n| n.0),
            Some(Role::Leader),
            "seed {seed}"
        );
    }
}

#[test]
fn leadership_moves_to_a_lagging_follower_once_it_has_caught_up() {
    // Thesis §3.10: the leader brings the target up to date before TimeoutNow, or voters
    // holding more entries would refuse it (§5.4.1).
    for seed in 0..SEEDS {
        let faults = [
            (1_000, Fault::Crash(NodeId(3))),
            (8_000, Fault::Restart(NodeId(3))),
        ];
        let r = run(seed, 3, Goal::Leader(NodeId(3)), 8_050, &faults);
        assert_safe_and_reached(seed, &r);
        assert_eq!(
            r.end[2].as_ref().map(|n| n.0),
            Some(Role::Leader),
            "seed {seed}"
        );
    }
}
