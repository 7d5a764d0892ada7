//! Sequential consistency (Lamport, *How to Make a Multiprocessor Computer That Correctly
//! Executes Multiprocess Programs*, 1979): "the result of any execution is the same as if the
//! operations of all the processors were executed in some sequential order, and the operations
//! of each individual processor appear in this sequence in the order specified by its
//! program." For a store: one order of all operations, respecting each client's session
//! order, in which a single register per key gives every read its value. Unlike
//! linearizability it ignores real time between clients: a read may be stale, as long as one
//! order explains all clients at once.
//!
//! Not compositional: each key's sub-history may be sequentially consistent while the whole
//! is not, so there is no partitioning by key (Herlihy & Wing 1990 §3.3 make the same point
//! for SC against linearizability's locality). The store-buffer shape:
//!
//! ```text
//!   c1: put(x,1)  get(y) -> nil       key x alone: get(x)->nil, put(x,1)      fine
//!   c2: put(y,1)  get(x) -> nil       key y alone: get(y)->nil, put(y,1)      fine
//!   together: get(y)->nil before put(y,1) before get(x)->nil before put(x,1)
//!             before get(y)->nil (session order): a cycle, no single order
//! ```
//!
//! Deciding it is NP-complete (Gibbons & Korach 1997), so the check tries cheap answers first:
//!
//! ```text
//!   not causally consistent ──────────────────► violation (SC implies CC; the causal pattern
//!     │                                          is the evidence)
//!   linearizable, with each client's session
//!   order counted as real time ───────────────► holds (a linearization is a sequential order)
//!     │
//!   DFS over session positions (sc_search.rs) ─► holds · violation (where it got stuck)
//!                                                · unknown (out of its step budget)
//! ```
//!
//! The linearizability shortcut re-times the history first: the linearizability checker
//! counts touching intervals as concurrent, but a client's reply and its next request at the
//! same tick are in session order. Each event gets its rank in (time, the client's own event
//! order), so a client's ops no longer touch, and a linearization found respects session order.
//!
//! Invariants: `Holds` only with an order found (by the search, or by the linearizability
//! checker); `Violation` only when the search was exhaustive or the history is not causal.

use super::causal::{self, Patterns};
use super::order::CausalOrder;
use super::registers::{ReadsFrom, Registers};
use super::sc_search::{Found, Problem, Search};
use super::verdict::{Step, Verdict, WeakModel, WeakReport};
use crate::checker::{Budget, CheckResult, Checker};
use crate::history::KvOperation;
use crate::kv::RegisterModel;
use crate::model::{Completion, Operation};

/// Search steps (ops placed) the sequential search may take before answering unknown.
pub const SEQUENTIAL_STEPS_MAX_DEFAULT: u64 = 2_000_000;

/// Steps per partition for the linearizability shortcut; past it, the search decides.
const LINEARIZABLE_SHORTCUT_STEPS: u64 = 200_000;

/// Most prefix ops a stuck report shows (the last ones, nearest the dead end).
const PREFIX_SHOWN_MAX: usize = 30;

/// The sequential-consistency verdict of a register view.
pub(crate) fn check(view: &Registers<'_>, co: &CausalOrder, steps_max: u64) -> Verdict {
    let found = Patterns::find(view, co);
    if let Some(mut report) = causal::report(view, co, &found, WeakModel::Sequential) {
        report.headline = format!(
            "not even causally consistent, and sequential consistency implies causal \
             consistency: {}",
            report.headline
        );
        return Verdict::Violation(Box::new(report));
    }
    if linearizable_in_session_order(view) {
        return Verdict::Holds;
    }
    let problem = Problem::new(view);
    match problem.search(steps_max) {
        Found::Order(order) => {
            assert!(
                explains(&problem, &order),
                "the sequential search returned an order that does not explain the history"
            );
            Verdict::Holds
        }
        Found::Stuck(prefix) => Verdict::Violation(Box::new(stuck_report(&problem, &prefix))),
        Found::OutOfBudget(steps) => Verdict::Unknown(format!(
            "no sequential order found within the budget of {steps} search steps \
             (sequential_steps_max); deciding sequential consistency is NP-complete \
             (Gibbons & Korach 1997), and this history is causally consistent and not \
             linearizable, so only the search could tell"
        )),
    }
}

/// Whether `order` is a sequential order: every session's returned ops in session order,
/// optional puts after their session's earlier ops, and every read sees the latest put to its
/// key (or nil before any). Replays it from scratch.
fn explains(problem: &Problem<'_, '_>, order: &[usize]) -> bool {
    let view = problem.view;
    let mut pos = vec![0; problem.chains.len()];
    let mut writer: Vec<Option<usize>> = vec![None; view.keys.len()];
    for &op in order {
        let (s, key) = (view.ops[op].session, view.ops[op].key);
        if view.ops[op].returned {
            if problem.chains[s].get(pos[s]) != Some(&op) {
                return false;
            }
            pos[s] += 1;
        } else {
            let Some(&(_, _, release)) = problem.loose.iter().find(|l| l.0 == op) else {
                return false;
            };
            if pos[s] < release as usize {
                return false;
            }
        }
        match view.reads_from(op) {
            None => writer[key] = Some(op),
            Some(ReadsFrom::Init) if writer[key].is_none() => {}
            Some(ReadsFrom::Put(w)) if writer[key] == Some(w) => {}
            Some(_) => return false,
        }
    }
    (0..pos.len()).all(|s| pos[s] == problem.chains[s].len())
}

/// Whether the linearizability checker finds a linearization of the view's ops re-timed so
/// that session order is real-time order (see the module docs).
fn linearizable_in_session_order(view: &Registers<'_>) -> bool {
    // (time, the client's own event number, session, op, is its return)
    let mut events: Vec<(u64, usize, usize, usize, bool)> = Vec::with_capacity(2 * view.ops.len());
    for (s, session) in view.sessions.iter().enumerate() {
        let mut seq = 0;
        for &i in &session.ops {
            let op = view.history_op(i);
            events.push((op.invoke, seq, s, i, false));
            if let Some(ret) = op.ret() {
                events.push((ret, seq + 1, s, i, true));
            }
            seq += 2;
        }
    }
    events.sort_unstable();
    let mut times = vec![(0, None); view.ops.len()];
    for (rank, &(_, _, _, i, is_return)) in events.iter().enumerate() {
        if is_return {
            times[i].1 = Some(rank as u64);
        } else {
            times[i].0 = rank as u64;
        }
    }
    let ops: Vec<KvOperation> = (0..view.ops.len())
        .map(|i| {
            let op = view.history_op(i);
            let completion = match (&op.completion, times[i].1) {
                (Completion::Returned { output, .. }, Some(at)) => Completion::Returned {
                    at,
                    output: output.clone(),
                },
                _ => Completion::NoReturn,
            };
            Operation {
                client: op.client,
                input: op.input.clone(),
                invoke: times[i].0,
                completion,
            }
        })
        .collect();
    let checker = Checker::default().with_budget(Budget::steps(LINEARIZABLE_SHORTCUT_STEPS));
    checker.check(&RegisterModel, &ops) == CheckResult::Linearizable
}

/// Where the exhaustive search got stuck: the longest prefix, and why no session head fits.
fn stuck_report(problem: &Problem<'_, '_>, prefix: &[usize]) -> WeakReport {
    let view = problem.view;
    let mut replay = Search::new(problem);
    for &op in prefix {
        replay.place(op);
    }
    let heads: Vec<usize> = (0..problem.chains.len())
        .filter_map(|s| problem.chains[s].get(replay.state.pos[s] as usize).copied())
        .collect();
    let placed: usize = replay.state.pos.iter().map(|&p| p as usize).sum();
    let headline = format!(
        "no order of the {} operations keeps every client's order and gives every read its \
         value: every way the search tried got stuck, at best after {placed} of them",
        problem.required()
    );
    let mut report = WeakReport::new(WeakModel::Sequential, "no sequential order", headline);
    let shown = prefix.len().saturating_sub(PREFIX_SHOWN_MAX);
    if shown > 0 {
        report
            .lines
            .push(format!("(the first {shown} ops of the longest prefix are not shown)"));
    }
    for (k, &op) in prefix.iter().enumerate().skip(shown) {
        report.steps.push(step(view, op, (k + 1).to_string()));
    }
    let mut placed_ops = vec![false; view.ops.len()];
    prefix.iter().for_each(|&op| placed_ops[op] = true);
    for &op in &heads {
        report.steps.push(step(view, op, "!!".to_string()));
        let why = why_not(view, &replay, &placed_ops, op);
        report.lines.push(format!("{}: {why}", view.name(op)));
    }
    report.lines.push(
        "[n] = n-th op of the longest prefix found; [!!] = each client's next op, none of \
         which can come next"
            .to_string(),
    );
    report.instances = 1;
    report
}

fn step(view: &Registers<'_>, op: usize, role: String) -> Step {
    Step {
        op: view.report_op(op),
        role,
        then: None,
    }
}

/// Why session head `op` cannot come next in the state `replay` reached.
fn why_not(view: &Registers<'_>, replay: &Search<'_, '_, '_>, placed: &[bool], op: usize) -> String {
    let key = view.ops[op].key;
    let current = match replay.state.value[key] {
        0 => "nil".to_string(),
        w => format!("{:?} (from {})", view.put_value(w as usize - 1), view.name(w as usize - 1)),
    };
    let name = &view.keys[key];
    if view.reads_from(op).is_some() {
        return format!("cannot come next: {name} holds {current}");
    }
    if replay.dooms(key) {
        let writer = match replay.state.value[key] {
            0 => ReadsFrom::Init,
            w => ReadsFrom::Put(w as usize - 1),
        };
        let reader = (0..view.ops.len())
            .find(|&r| view.ops[r].key == key && view.reads_from(r) == Some(writer) && !placed[r])
            .map_or("a read".to_string(), |r| view.name(r));
        return format!("cannot come next: it would overwrite {current}, which {reader} has yet to read");
    }
    "could come next, but every order from there gets stuck".to_string()
}
