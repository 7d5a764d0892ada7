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
//!   a quick DFS over session positions ───────► holds (sc_search.rs; tries the earliest
//!     │                                          sent put first)
//!   saturation: must-come-before edges
//!   inferred from reads (sc_saturate.rs) ─────► violation (a cycle: each op must precede
//!     │                                          the next, with the read that forces it)
//!   the DFS again, within those edges ────────► holds · violation (where it got stuck)
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
use super::sc_saturate::{saturate, Cycle};
use super::sc_search::{Found, Problem, Search};
use super::verdict::{chain, context, Edge, Step, Verdict, WeakModel, WeakReport};
use crate::checker::{Budget, CheckResult, Checker};
use crate::history::KvOperation;
use crate::kv::RegisterModel;
use crate::model::{Completion, Operation};

/// Search steps (ops placed) the sequential search may take before answering unknown.
pub const SEQUENTIAL_STEPS_MAX_DEFAULT: u64 = 2_000_000;

/// Steps of the first search, before saturation: enough for most histories that have an order.
const QUICK_SEARCH_STEPS: u64 = 100_000;

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
    // A quick search first: with the real-time trying order it finds most orders at once.
    let mut problem = Problem::new(view);
    let quick = match problem.search(QUICK_SEARCH_STEPS.min(steps_max)) {
        Found::Order(order) => return holds(&problem, &order),
        other => other,
    };
    if let Err(cycle) = saturate(&mut problem) {
        return Verdict::Violation(Box::new(cycle_report(&problem, &cycle)));
    }
    let found = match quick {
        Found::Stuck(prefix) => Found::Stuck(prefix), // already exhaustive: no order
        _ => problem.search(steps_max),
    };
    match found {
        Found::Order(order) => holds(&problem, &order),
        Found::Stuck(prefix) => Verdict::Violation(Box::new(stuck_report(&problem, &prefix))),
        Found::OutOfBudget(steps) => Verdict::Unknown(format!(
            "no sequential order found within the budget of {steps} search steps \
             (sequential_steps_max); deciding sequential consistency is NP-complete \
             (Gibbons & Korach 1997), and this history is causally consistent and not \
             linearizable, so only the search could tell"
        )),
    }
}

/// `Holds`, after replaying the order the search found.
fn holds(problem: &Problem<'_, '_>, order: &[usize]) -> Verdict {
    assert!(
        explains(problem, order),
        "the sequential search returned an order that does not explain the history"
    );
    Verdict::Holds
}

/// Whether `order` is a sequential order, checked from the definition alone: every op that
/// returned (and every put with no return that someone read) exactly once, each session's ops
/// after the ones that returned before them, and every read seeing the latest put to its key
/// (or nil before any).
fn explains(problem: &Problem<'_, '_>, order: &[usize]) -> bool {
    let view = problem.view;
    let mut placed = vec![false; view.ops.len()];
    // Per session, how many of its returned ops are placed.
    let mut done = vec![0; view.sessions.len()];
    // Per op, how many of its session's returned ops come before it.
    let mut returned_before = vec![0; view.ops.len()];
    for session in &view.sessions {
        let mut count = 0;
        for &op in &session.ops {
            returned_before[op] = count;
            count += usize::from(view.ops[op].returned);
        }
    }
    let mut writer: Vec<Option<usize>> = vec![None; view.keys.len()];
    for &op in order {
        let (s, key) = (view.ops[op].session, view.ops[op].key);
        let earlier_returned = returned_before[op];
        // A returned op comes right after its session's earlier returned ops; one with no
        // return (someone read it) any time after them: it orders none of its session.
        let in_order = if view.ops[op].returned {
            done[s] == earlier_returned
        } else {
            done[s] >= earlier_returned
        };
        if placed[op] || !problem.required[op] || !in_order {
            return false;
        }
        placed[op] = true;
        if view.ops[op].returned {
            done[s] += 1;
        }
        match view.reads_from(op) {
            None => writer[key] = Some(op),
            Some(ReadsFrom::Init) if writer[key].is_none() => {}
            Some(ReadsFrom::Put(w)) if writer[key] == Some(w) => {}
            Some(_) => return false,
        }
    }
    (0..placed.len()).all(|i| placed[i] == problem.required[i])
}

/// No sequential order: the must-come-before edges close a cycle. Each inferred edge is
/// explained by the read that forces it.
fn cycle_report(problem: &Problem<'_, '_>, cycle: &Cycle) -> WeakReport {
    let view = problem.view;
    let headline = format!(
        "no order of the {} operations keeps every client's order and gives every read its \
         value: each op below must come before the next, and the last before the first",
        problem.required_count()
    );
    let mut report = WeakReport::new(WeakModel::Sequential, "no sequential order", headline);
    report.steps = chain(view, &cycle.links, &[]);
    report.closes_cycle = true;
    let n = cycle.links.len();
    for (k, &(a, edge)) in cycle.links.iter().enumerate() {
        if edge != Some(Edge::Before) {
            continue;
        }
        let b = cycle.links[(k + 1) % n].0;
        let r = problem.why[&(a, b)];
        let why = match (view.reads_from(r), r == a) {
            (Some(ReadsFrom::Init), _) => format!(
                "{} read nil, so it precedes every put to its key",
                view.name(r)
            ),
            (Some(ReadsFrom::Put(w)), true) => format!(
                "{} read {}, which must come before {}",
                view.name(r),
                view.name(w),
                view.name(b)
            ),
            _ => format!(
                "{} read {}, and {} must come before that read",
                view.name(r),
                view.name(b),
                view.name(a)
            ),
        };
        report
            .lines
            .push(format!("{} before {}: {why}", view.name(a), view.name(b)));
    }
    let ops: Vec<usize> = cycle.links.iter().map(|l| l.0).collect();
    report.context = context(view, view.ops[ops[0]].key, &ops);
    report
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
        .filter_map(|s| replay.head(s))
        .collect();
    let headline = format!(
        "no order of the {} operations keeps every client's order and gives every read its \
         value: every way the search tried got stuck, at best after {} of them",
        problem.required_count(),
        prefix.len()
    );
    let mut report = WeakReport::new(WeakModel::Sequential, "no sequential order", headline);
    let shown = prefix.len().saturating_sub(PREFIX_SHOWN_MAX);
    if shown > 0 {
        report.lines.push(format!(
            "(the first {shown} ops of the longest prefix are not shown)"
        ));
    }
    for (k, &op) in prefix.iter().enumerate().skip(shown) {
        report.steps.push(step(view, op, (k + 1).to_string()));
    }
    let mut placed_ops = vec![false; view.ops.len()];
    prefix.iter().for_each(|&op| placed_ops[op] = true);
    for &op in &heads {
        report.steps.push(step(view, op, "!!".to_string()));
        let why = why_not(problem, &replay, &placed_ops, op);
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
fn why_not(
    problem: &Problem<'_, '_>,
    replay: &Search<'_, '_, '_>,
    placed: &[bool],
    op: usize,
) -> String {
    let view = problem.view;
    if replay.waiting[op] > 0 {
        let first = problem.preds[op].iter().find(|&&p| !placed[p]);
        let first = first.map_or("another op".to_string(), |&p| view.name(p));
        return format!("cannot come next: it must come after {first}, not yet placed");
    }
    let key = view.ops[op].key;
    let current = match replay.state.value[key] {
        0 => "nil".to_string(),
        w => format!(
            "{:?} (from {})",
            view.put_value(w as usize - 1),
            view.name(w as usize - 1)
        ),
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
        return format!(
            "cannot come next: it would overwrite {current}, which {reader} has yet to read"
        );
    }
    "could come next, but every order from there gets stuck".to_string()
}
