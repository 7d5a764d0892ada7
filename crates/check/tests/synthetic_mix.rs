//! Synthetic histories of the newer kinds (transactions, typed values, WRONGTYPE, deadlines):
//! linearizable by construction, so the checker must accept every one, and a single read
//! changed to a value nobody wrote must be refused.

use check::synthetic::{linearizable_history_with, Mix, Spec};
use check::{Budget, CheckResult, Checker, Command, History, ModelKind, Outcome};

fn everything() -> Mix {
    Mix {
        multi_permille: 150,
        typed: true,
        wrongtype_permille: 30,
        expiry_permille: 150,
    }
}

fn spec(seed: u64) -> Spec {
    Spec {
        seed,
        clients: 6,
        keys: 20,
        ops: 400,
        op_ticks_max: 20,
        no_return_permille: 20,
    }
}

fn checker() -> Checker {
    Checker::default().with_budget(Budget::steps(2_000_000))
}

#[test]
fn generated_histories_with_transactions_types_and_deadlines_are_linearizable() {
    for seed in 0..20 {
        let h = linearizable_history_with(&spec(seed), &everything());
        let (result, stats) = checker().check_history_with_stats(&h);
        assert_eq!(result, CheckResult::Linearizable, "seed {seed}: {stats:?}");
    }
}

#[test]
fn the_generated_mix_holds_every_new_kind() {
    let h = linearizable_history_with(&spec(1), &everything());
    let names: std::collections::BTreeSet<&str> = h
        .ops()
        .iter()
        .flat_map(|o| match &o.input {
            Command::Multi(cs) => cs.iter().map(Command::name).chain(["multi"]).collect(),
            one => vec![one.name()],
        })
        .collect();
    for name in [
        "multi", "hset", "lpush", "sadd", "zadd", "pexpire", "pttl", "exists",
    ] {
        assert!(names.contains(name), "no {name} in {names:?}");
    }
    assert!(h
        .ops()
        .iter()
        .any(|o| o.output() == Some(&Outcome::Aborted)));
    assert!(h
        .ops()
        .iter()
        .any(|o| o.output() == Some(&Outcome::WrongType)));
}

/// The history with its `n`th returned string read (outside transactions) that saw a value
/// changed to one nobody wrote.
fn with_a_read_of_nothing_written(h: &History, n: usize) -> Option<History> {
    let mut ops = h.ops().to_vec();
    let target = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            matches!(o.input, Command::Get { .. })
                && matches!(o.output(), Some(Outcome::Value(Some(_))))
        })
        .nth(n)?
        .0;
    if let check::Completion::Returned { output, .. } = &mut ops[target].completion {
        *output = Outcome::value("never-written");
    }
    Some(History::new(ModelKind::Kv, ops).unwrap())
}

#[test]
fn a_generated_history_with_one_read_changed_to_an_unwritten_value_is_refused() {
    for seed in 0..10 {
        let h = linearizable_history_with(&spec(seed), &everything());
        let mutated = with_a_read_of_nothing_written(&h, seed as usize).expect("reads exist");
        match checker().check_history(&mutated) {
            CheckResult::Violation(report) => {
                assert!(
                    report.ops.iter().any(|o| o.text.contains("never-written")),
                    "{report}"
                );
            }
            other => panic!("seed {seed}: the mutant was not refused: {other:?}"),
        }
    }
}
