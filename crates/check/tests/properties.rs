//! Property tests: histories produced by a sequential store with random, consistent overlap are
//! always linearizable; the same histories with one stale read injected never are.
//!
//! Construction: operation `i` gets the secret linearization point `BASE + SPACING * i` and an
//! interval stretching a random amount either side of it. Replaying the operations in point
//! order against a plain map gives their outputs, so the points are a witness. Some operations
//! get no return; of those, some took effect and some never did.

use std::collections::BTreeMap;

use check::{
    Budget, CheckResult, Checker, Command, History, KvModel, KvOperation, ModelKind, Operation,
    Outcome,
};
use proptest::prelude::*;

/// Time of the first linearization point; leaves room for intervals that start earlier.
const BASE_TICKS: u64 = 10_000;
/// Distance between consecutive linearization points.
const SPACING_TICKS: u64 = 100;
/// How far the injection pushes everything after its gap, to make room for three operations.
const SHIFT_TICKS: u64 = 1_000;

/// One generated operation: (kind, key, ticks before its point, ticks after, fate, cas pick).
type OpSpec = (u8, u8, u64, u64, u8, u8);

fn op_spec() -> impl Strategy<Value = OpSpec> {
    // Up to 3.5 spacings either side: each operation overlaps up to ~7 neighbours.
    (0u8..6, 0u8..3, 0u64..350, 0u64..350, 0u8..100, 0u8..4)
}

/// The operation's command; values are unique (`v{i}`), which the stale-read proof needs.
fn command(i: usize, kind: u8, key: u8, pick: u8) -> Command {
    let key = format!("k{key}");
    let value = format!("v{i}");
    match kind {
        0 => Command::get(&key),
        1 => Command::put(&key, &value),
        2 => Command::append(&key, &value),
        3 => {
            // Name a recent value or "absent", so swaps both succeed and fail.
            let expected = (pick > 0).then(|| format!("v{}", i.saturating_sub(usize::from(pick))));
            Command::Cas {
                key,
                expected,
                new: value,
            }
        }
        4 => Command::delete(&key),
        _ => Command::incr("n", i64::from(pick) + 1),
    }
}

fn apply(store: &mut BTreeMap<String, String>, c: &Command) -> Outcome {
    match c {
        Command::Get { key } => Outcome::Value(store.get(key).cloned()),
        Command::Put { key, value } => {
            store.insert(key.clone(), value.clone());
            Outcome::Done
        }
        Command::Append { key, value } => {
            store.entry(key.clone()).or_default().push_str(value);
            Outcome::Done
        }
        Command::Cas { key, expected, new } => {
            let swapped = store.get(key) == expected.as_ref();
            if swapped {
                store.insert(key.clone(), new.clone());
            }
            Outcome::Swapped(swapped)
        }
        Command::Delete { key } => {
            store.remove(key);
            Outcome::Done
        }
        Command::Incr { key, delta } => {
            let now: i64 = store.get(key).map_or(0, |v| v.parse().unwrap());
            store.insert(key.clone(), (now + delta).to_string());
            Outcome::Counter(now + delta)
        }
        other => unreachable!("`command` draws no {other}"),
    }
}

/// The history the specs describe (points are in index order, so replay is in index order).
fn sequential_history(specs: &[OpSpec]) -> Vec<KvOperation> {
    let mut store = BTreeMap::new();
    let mut ops = Vec::with_capacity(specs.len());
    for (i, &(kind, key, before, after, fate, pick)) in specs.iter().enumerate() {
        let c = command(i, kind, key, pick);
        let point = BASE_TICKS + SPACING_TICKS * i as u64;
        let (invoke, ret) = (point - before, point + after);
        let client = (i % 5) as u64;
        let op = match fate {
            0..=93 => Operation::returned(client, c.clone(), invoke, ret, apply(&mut store, &c)),
            94..=96 => {
                apply(&mut store, &c); // took effect, but the answer was lost
                Operation::no_return(client, c, invoke)
            }
            _ => Operation::no_return(client, c, invoke), // never took effect
        };
        ops.push(op);
    }
    ops
}

/// Open a gap before point `gap` (every time at or after it moves later by `SHIFT_TICKS`,
/// which keeps every order and every point inside its interval) and put a stale read in it:
/// `put(k, old)`, then `put(k, fresh)`, then `get(k) -> old`. Real time forces that order, and
/// no operation can make the value `old` again (values are unique, appends only grow a value
/// that starts "stale-fresh"), so no linearization exists.
fn inject_stale_read(ops: &mut Vec<KvOperation>, gap: usize, key: u8) -> String {
    let t = BASE_TICKS + SPACING_TICKS * gap as u64 - SPACING_TICKS / 2;
    let shift = |x: u64| if x >= t { x + SHIFT_TICKS } else { x };
    for op in ops.iter_mut() {
        op.invoke = shift(op.invoke);
        if let check::Completion::Returned { at, .. } = &mut op.completion {
            *at = shift(*at);
        }
    }
    let key = format!("k{key}");
    ops.push(Operation::returned(
        7,
        Command::put(&key, "stale-old"),
        t + 1,
        t + 2,
        Outcome::Done,
    ));
    ops.push(Operation::returned(
        8,
        Command::put(&key, "stale-fresh"),
        t + 3,
        t + 4,
        Outcome::Done,
    ));
    ops.push(Operation::returned(
        9,
        Command::get(&key),
        t + 5,
        t + 6,
        Outcome::value("stale-old"),
    ));
    key
}

fn checker() -> Checker {
    Checker::default().with_budget(Budget::steps(2_000_000))
}

proptest! {
    #[test]
    fn histories_from_a_sequential_store_with_consistent_overlap_are_linearizable(
        specs in prop::collection::vec(op_spec(), 0..60)
    ) {
        let ops = sequential_history(&specs);
        let (result, stats) = checker().check_with_stats(&KvModel, &ops);
        prop_assert_eq!(result, CheckResult::Linearizable, "stats: {:?}", stats);
    }

    #[test]
    fn the_same_histories_with_one_stale_read_injected_are_always_a_violation(
        specs in prop::collection::vec(op_spec(), 0..60),
        gap_pick in 0usize..1000,
        key in 0u8..3,
    ) {
        let mut ops = sequential_history(&specs);
        let gap = gap_pick % (specs.len() + 1);
        let key = inject_stale_read(&mut ops, gap, key);
        match checker().check(&KvModel, &ops) {
            CheckResult::Violation(report) => {
                prop_assert_eq!(&report.partition, &key);
                let stale = format!("get({key}) -> \"stale-old\"");
                prop_assert!(report.ops.iter().any(|o| o.text == stale), "{}", report);
            }
            other => prop_assert!(false, "stale read missed: {:?}", other),
        }
    }

    #[test]
    fn a_history_written_as_json_lines_reads_back_equal_and_checks_the_same(
        specs in prop::collection::vec(op_spec(), 0..40)
    ) {
        let history = History::new(ModelKind::Kv, sequential_history(&specs)).unwrap();
        let text = history.to_json_lines();
        let back = History::parse_json_lines(&text).unwrap();
        prop_assert_eq!(&back, &history);
        prop_assert_eq!(checker().check_history(&back), CheckResult::Linearizable);
    }
}
