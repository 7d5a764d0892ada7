//! Property tests for the weaker models.
//!
//! The corpus: a single register per key, run one operation at a time (operation `i` takes
//! effect at the secret point `BASE + SPACING * i`), each interval stretched a random amount
//! either side of its point, clients kept sequential with at least a tick between an answer and
//! the next request. Such a history is linearizable, hence
//! every weaker model holds. Mutations redirect reads to other values of their key (or nil, or
//! a value never written), which breaks the models in every combination.
//!
//! Checked: a sequential run holds everywhere; a read redirected to a causally overwritten value
//! breaks causal consistency; causal consistency implies each session guarantee; linearizable
//! implies sequential implies causal; and the library agrees with naive oracles written here
//! from the definitions alone (Floyd–Warshall closure, every quantifier spelled out, and a
//! brute-force search for sequential consistency on small histories).
//!
//! `cargo test -p check --test weak_properties -- --ignored` runs the soak (SOAK_CASES, default
//! 20,000 cases per property).

use std::collections::BTreeMap;

use check::{
    check_all_weak, Budget, CheckResult, Checker, Command, Completion, FinalValue, History,
    KvOperation, ModelKind, Operation, Outcome, Verdict, WeakBudget, WeakModel,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[path = "weak_oracle/mod.rs"]
mod oracle;

/// Time of the first point.
const BASE_TICKS: u64 = 10_000;
/// Distance between consecutive points.
const SPACING_TICKS: u64 = 100;

/// One generated op: (client, is a put, key, ticks before its point, ticks after, fate).
type Spec = (u8, bool, u8, u64, u64, u8);

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..4,
        any::<bool>(),
        0u8..3,
        0u64..350,
        0u64..350,
        0u8..100,
    )
}

/// Read redirections: (which read, which value of its key).
fn redirects() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((any::<usize>(), any::<usize>()), 0..3)
}

/// The sequential run the specs describe, with every replica's final state.
fn sequential_run(specs: &[Spec]) -> History {
    let mut store: BTreeMap<String, String> = BTreeMap::new();
    // (client, command, invoke, ret, output; None = no return, point)
    let mut drafts: Vec<(u64, Command, u64, u64, Option<Outcome>, u64)> = Vec::new();
    for (i, &(client, is_put, key, before, after, fate)) in specs.iter().enumerate() {
        let point = BASE_TICKS + SPACING_TICKS * i as u64;
        let key = format!("k{key}");
        let (command, output) = if is_put {
            let value = format!("v{i}");
            if fate < 95 {
                store.insert(key.clone(), value.clone()); // 90..95: took effect, answer lost
            }
            (Command::put(&key, &value), Outcome::Done)
        } else {
            (Command::get(&key), Outcome::Value(store.get(&key).cloned()))
        };
        let output = (fate < 90).then_some(output);
        drafts.push((
            u64::from(client),
            command,
            point - before,
            point + after,
            output,
            point,
        ));
    }
    // Keep each client sequential, with a tick of think time: a returned op ends before its
    // successor's point, and the successor starts after it ends. (At the same tick, the
    // linearizability checker would count the two as concurrent while session order does
    // not: weak_models.rs tests that corner on its own.)
    let mut last: BTreeMap<u64, usize> = BTreeMap::new();
    for b in 0..drafts.len() {
        if let Some(&a) = last.get(&drafts[b].0) {
            let point_b = drafts[b].5;
            let start_b = if drafts[a].4.is_some() {
                drafts[a].3 = drafts[a].3.min(point_b - 1);
                drafts[a].3 + 1
            } else {
                drafts[a].2
            };
            drafts[b].2 = drafts[b].2.max(start_b);
        }
        last.insert(drafts[b].0, b);
    }
    let ops = drafts
        .into_iter()
        .map(|(client, command, invoke, ret, output, _)| match output {
            Some(out) => Operation::returned(client, command, invoke, ret, out),
            None => Operation::no_return(client, command, invoke),
        })
        .collect();
    let finals = store
        .iter()
        .flat_map(|(k, v)| (1..=2).map(move |r| FinalValue::new(r, k, &[v.as_str()])))
        .collect();
    History::new(ModelKind::Register, ops)
        .unwrap()
        .with_finals(finals)
        .unwrap()
}

/// The history with some reads' outputs changed to another value of their key (a put's
/// value, nil, or one never written).
fn redirect(history: &History, picks: &[(usize, usize)]) -> History {
    let mut ops: Vec<KvOperation> = history.ops().to_vec();
    let reads: Vec<usize> = (0..ops.len())
        .filter(|&i| matches!(ops[i].input, Command::Get { .. }) && ops[i].ret().is_some())
        .collect();
    for &(r, v) in picks {
        if reads.is_empty() {
            break;
        }
        let i = reads[r % reads.len()];
        let key = ops[i].input.key().to_string();
        let mut values: Vec<Option<String>> = vec![None, Some("never-written".to_string())];
        values.extend(ops.iter().filter_map(|o| match &o.input {
            Command::Put { key: k, value } if *k == key => Some(Some(value.clone())),
            _ => None,
        }));
        if let Completion::Returned { output, .. } = &mut ops[i].completion {
            *output = Outcome::Value(values[v % values.len()].clone());
        }
    }
    History::new(ModelKind::Register, ops)
        .unwrap()
        .with_finals(history.finals().to_vec())
        .unwrap()
}

fn verdicts(history: &History) -> BTreeMap<WeakModel, Verdict> {
    check_all_weak(history, WeakBudget::default())
        .unwrap()
        .into_iter()
        .collect()
}

fn linearizable(history: &History) -> bool {
    let checker = Checker::default()
        .with_threads(1)
        .with_budget(Budget::steps(2_000_000));
    checker.check_history(history) == CheckResult::Linearizable
}

fn holds(v: &Verdict) -> Result<bool, TestCaseError> {
    match v {
        Verdict::Unknown(why) => Err(TestCaseError::fail(format!(
            "unknown on a small history: {why}"
        ))),
        v => Ok(v.holds()),
    }
}

fn every_model_holds_on_a_sequential_run(specs: Vec<Spec>) -> Result<(), TestCaseError> {
    let h = sequential_run(&specs);
    prop_assert!(linearizable(&h));
    for (model, v) in verdicts(&h) {
        prop_assert!(v.holds(), "{}: {}\n{}", model, v, h.to_json_lines());
    }
    Ok(())
}

fn a_causally_overwritten_read_breaks_causal(
    specs: Vec<Spec>,
    pick: usize,
) -> Result<(), TestCaseError> {
    // A suffix makes sure a candidate exists: c7 puts s1, puts s2, reads s2.
    let mut h = sequential_run(&specs);
    let t = BASE_TICKS + SPACING_TICKS * specs.len() as u64 + 1_000;
    let mut ops = h.ops().to_vec();
    ops.push(Operation::returned(
        7,
        Command::put("k0", "s1"),
        t,
        t + 1,
        Outcome::Done,
    ));
    ops.push(Operation::returned(
        7,
        Command::put("k0", "s2"),
        t + 2,
        t + 3,
        Outcome::Done,
    ));
    ops.push(Operation::returned(
        7,
        Command::get("k0"),
        t + 4,
        t + 5,
        Outcome::value("s2"),
    ));
    h = History::new(ModelKind::Register, ops).unwrap();
    // (read, its own earlier put w2, a put w1 causally before w2), all on one key.
    let naive = oracle::Naive::new(&h);
    let candidates = naive.overwritten_by_own_put();
    prop_assert!(!candidates.is_empty());
    let (r, w1) = candidates[pick % candidates.len()];
    let mut ops = h.ops().to_vec();
    let value = match &ops[w1].input {
        Command::Put { value, .. } => value.clone(),
        _ => unreachable!("w1 is a put"),
    };
    if let Completion::Returned { output, .. } = &mut ops[r].completion {
        *output = Outcome::Value(Some(value));
    }
    let mutated = History::new(ModelKind::Register, ops).unwrap();
    let v = check::check_weak(&mutated, WeakModel::Causal).unwrap();
    match v.report() {
        Some(report) => prop_assert_eq!(&report.pattern, "WriteCORead", "{}", report),
        None => prop_assert!(false, "missed:\n{}", mutated.to_json_lines()),
    }
    let ryw = check::check_weak(&mutated, WeakModel::ReadYourWrites).unwrap();
    prop_assert!(!ryw.holds(), "the overwriting put was the reader's own");
    Ok(())
}

fn the_models_are_ordered(
    specs: Vec<Spec>,
    picks: Vec<(usize, usize)>,
) -> Result<(), TestCaseError> {
    let h = redirect(&sequential_run(&specs), &picks);
    let v = verdicts(&h);
    let sc = holds(&v[&WeakModel::Sequential])?;
    let cc = holds(&v[&WeakModel::Causal])?;
    if linearizable(&h) {
        prop_assert!(sc, "linearizable but not SC:\n{}", h.to_json_lines());
    }
    if sc {
        prop_assert!(cc, "SC but not CC:\n{}", h.to_json_lines());
    }
    if cc {
        for model in WeakModel::SESSION {
            prop_assert!(
                holds(&v[&model])?,
                "CC but not {}:\n{}",
                model,
                h.to_json_lines()
            );
        }
    }
    Ok(())
}

fn the_library_agrees_with_the_naive_oracle(
    specs: Vec<Spec>,
    picks: Vec<(usize, usize)>,
) -> Result<(), TestCaseError> {
    let h = redirect(&sequential_run(&specs), &picks);
    let naive = oracle::Naive::new(&h);
    let v = verdicts(&h);
    let text = h.to_json_lines();
    prop_assert_eq!(
        holds(&v[&WeakModel::Causal])?,
        naive.causal(),
        "causal\n{}",
        text
    );
    prop_assert_eq!(
        holds(&v[&WeakModel::ReadYourWrites])?,
        naive.read_your_writes(),
        "ryw\n{}",
        text
    );
    prop_assert_eq!(
        holds(&v[&WeakModel::MonotonicReads])?,
        naive.monotonic_reads(),
        "mr\n{}",
        text
    );
    prop_assert_eq!(
        holds(&v[&WeakModel::MonotonicWrites])?,
        naive.monotonic_writes(),
        "mw\n{}",
        text
    );
    prop_assert_eq!(
        holds(&v[&WeakModel::WritesFollowReads])?,
        naive.writes_follow_reads(),
        "wfr\n{}",
        text
    );
    if naive.len() <= oracle::BRUTE_FORCE_OPS_MAX {
        prop_assert_eq!(
            holds(&v[&WeakModel::Sequential])?,
            naive.sequential(),
            "sc\n{}",
            text
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_sequential_run_holds_under_every_model(specs in prop::collection::vec(spec(), 0..40)) {
        every_model_holds_on_a_sequential_run(specs)?;
    }

    #[test]
    fn a_read_redirected_to_a_causally_overwritten_value_breaks_causal_consistency(
        specs in prop::collection::vec(spec(), 0..30),
        pick in any::<usize>(),
    ) {
        a_causally_overwritten_read_breaks_causal(specs, pick)?;
    }

    #[test]
    fn linearizable_implies_sequential_implies_causal_implies_each_session_guarantee(
        specs in prop::collection::vec(spec(), 0..30),
        picks in redirects(),
    ) {
        the_models_are_ordered(specs, picks)?;
    }

    #[test]
    fn causal_session_and_sequential_verdicts_match_naive_oracles(
        specs in prop::collection::vec(spec(), 0..14),
        picks in redirects(),
    ) {
        the_library_agrees_with_the_naive_oracle(specs, picks)?;
    }
}

/// Cases per property in the soak.
fn soak_cases() -> u32 {
    std::env::var("SOAK_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

#[test]
#[ignore = "soak: many cases; run with --ignored"]
fn soak_every_property_with_many_cases() {
    // No failure file: a soak failure prints its minimal case; the quick tests above keep
    // the regressions file.
    let config = Config {
        cases: soak_cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let specs = |n| prop::collection::vec(spec(), 0..n);
    runner
        .run(&specs(60), every_model_holds_on_a_sequential_run)
        .unwrap();
    runner
        .run(&(specs(40), any::<usize>()), |(s, p)| {
            a_causally_overwritten_read_breaks_causal(s, p)
        })
        .unwrap();
    runner
        .run(&(specs(40), redirects()), |(s, p)| {
            the_models_are_ordered(s, p)
        })
        .unwrap();
    runner
        .run(&(specs(16), redirects()), |(s, p)| {
            the_library_agrees_with_the_naive_oracle(s, p)
        })
        .unwrap();
}
