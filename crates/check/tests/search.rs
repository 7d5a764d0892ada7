//! The search on classic small histories: what must pass, what must fail, and the report.

use check::synthetic::{linearizable_history, Spec};
use check::{
    Budget, CheckResult, Checker, Command, CounterModel, KvModel, KvOperation, Operation, Outcome,
    Stats,
};

fn put(c: u64, k: &str, v: &str, invoke: u64, ret: u64) -> KvOperation {
    Operation::returned(c, Command::put(k, v), invoke, ret, Outcome::Done)
}

fn get(c: u64, k: &str, read: Option<&str>, invoke: u64, ret: u64) -> KvOperation {
    let out = Outcome::Value(read.map(str::to_string));
    Operation::returned(c, Command::get(k), invoke, ret, out)
}

fn cas(
    c: u64,
    k: &str,
    from: Option<&str>,
    to: &str,
    ok: bool,
    invoke: u64,
    ret: u64,
) -> KvOperation {
    Operation::returned(
        c,
        Command::cas(k, from, to),
        invoke,
        ret,
        Outcome::Swapped(ok),
    )
}

fn checker() -> Checker {
    Checker::default().with_budget(Budget::steps(100_000))
}

fn check(ops: &[KvOperation]) -> (CheckResult, Stats) {
    checker().check_with_stats(&KvModel, ops)
}

fn is_ok(ops: &[KvOperation]) -> bool {
    match check(ops).0 {
        CheckResult::Linearizable => true,
        CheckResult::Violation(_) => false,
        CheckResult::Unknown => panic!("tiny history ran out of budget"),
    }
}

#[test]
fn an_empty_history_is_linearizable() {
    assert!(is_ok(&[]));
}

#[test]
fn a_stale_read_after_a_completed_overwrite_is_a_violation() {
    // Herlihy & Wing §3: real-time order is part of the spec, not just per-client order.
    let ops = [
        put(1, "k1", "x", 0, 10),
        put(3, "k1", "y", 12, 15),
        get(2, "k1", Some("x"), 20, 25),
    ];
    let CheckResult::Violation(report) = check(&ops).0 else {
        panic!("stale read accepted")
    };
    assert_eq!(report.partition, "k1");
    assert_eq!(report.prefix, vec![0, 1], "both puts place, the get cannot");
    assert_eq!(report.stuck.len(), 1);
    assert_eq!(report.ops[report.stuck[0].op].text, "get(k1) -> \"x\"");
    assert!(!report.stuck[0].fits);
    assert_eq!(report.stuck_state(), "\"y\"");
}

#[test]
fn the_report_prints_one_line_per_operation_and_where_it_stuck() {
    let ops = [
        put(1, "k1", "x", 0, 10),
        put(3, "k1", "y", 12, 15),
        get(2, "k1", Some("x"), 20, 25),
    ];
    let CheckResult::Violation(report) = check(&ops).0 else {
        panic!("stale read accepted")
    };
    let expected = "\
violation: partition k1 has no linearization (kv model, 3 ops; 1 of 1 partitions failed)
operations by invoke time; [n] = n-th in the longest linearizable prefix, [!] = stuck:
  [1] c1 put(k1, \"x\") [t=0..t=10]
  [2] c3 put(k1, \"y\") [t=12..t=15]
  [!] c2 get(k1) -> \"x\" [t=20..t=25]
stuck after 2 of 3 ops, in state \"y\"; none of these can come next:
  c2 get(k1) -> \"x\" [t=20..t=25]: rejected in this state
";
    assert_eq!(report.to_string(), expected);
}

#[test]
fn a_read_concurrent_with_a_write_may_see_the_old_or_the_new_value() {
    for read in [None, Some("y")] {
        let ops = [put(1, "k", "y", 0, 10), get(2, "k", read, 2, 8)];
        assert!(is_ok(&ops), "read {read:?} during the put");
    }
    let ops = [put(1, "k", "y", 0, 10), get(2, "k", Some("z"), 2, 8)];
    assert!(!is_ok(&ops), "a value nobody wrote");
}

#[test]
fn two_concurrent_writes_may_land_in_either_order() {
    for last in ["x", "y"] {
        let ops = [
            put(1, "k", "x", 0, 10),
            put(2, "k", "y", 5, 15),
            get(3, "k", Some(last), 20, 25),
        ];
        assert!(is_ok(&ops), "final read {last}");
    }
}

#[test]
fn once_a_later_read_sees_the_new_value_an_even_later_read_cannot_see_the_old() {
    let ops = [
        put(1, "k", "x", 0, 10),
        put(2, "k", "y", 5, 30),
        get(3, "k", Some("y"), 12, 14),
        get(4, "k", Some("x"), 16, 18),
    ];
    assert!(!is_ok(&ops), "new-then-old reads with the write still open");
}

#[test]
fn touching_intervals_count_as_concurrent() {
    assert!(is_ok(&[put(1, "k", "x", 0, 10), get(2, "k", None, 10, 12)]));
    assert!(!is_ok(&[
        put(1, "k", "x", 0, 10),
        get(2, "k", None, 11, 12)
    ]));
}

#[test]
fn a_write_with_no_return_may_have_taken_effect() {
    let ops = [
        put(1, "k", "x", 0, 10),
        Operation::no_return(2, Command::put("k", "y"), 5),
        get(3, "k", Some("y"), 20, 25),
    ];
    assert!(is_ok(&ops));
}

#[test]
fn a_write_with_no_return_may_never_have_taken_effect() {
    let ops = [
        put(1, "k", "x", 0, 10),
        Operation::no_return(2, Command::put("k", "y"), 5),
        get(3, "k", Some("x"), 20, 25),
        get(3, "k", Some("x"), 1000, 1001),
    ];
    assert!(is_ok(&ops));
}

#[test]
fn a_write_with_no_return_takes_effect_at_most_once_and_never_before_its_invoke() {
    let flip_back = [
        put(1, "k", "x", 0, 10),
        Operation::no_return(2, Command::put("k", "y"), 5),
        get(3, "k", Some("y"), 20, 25),
        get(3, "k", Some("x"), 30, 35),
    ];
    assert!(!is_ok(&flip_back), "y took effect, so x cannot come back");
    let too_early = [
        get(1, "k", Some("y"), 0, 5),
        Operation::no_return(2, Command::put("k", "y"), 10),
    ];
    assert!(!is_ok(&too_early), "read y before anyone asked to write it");
}

#[test]
fn a_read_with_no_return_constrains_nothing_and_is_dropped() {
    let ops = [
        put(1, "k", "x", 0, 10),
        Operation::no_return(2, Command::get("k"), 3),
    ];
    let (result, stats) = check(&ops);
    assert_eq!(result, CheckResult::Linearizable);
    assert_eq!(stats.dropped_reads, 1);
    assert_eq!(stats.ops, 1);
}

#[test]
fn a_chain_of_successful_compare_and_sets_is_linearizable_in_chain_order() {
    // Issued concurrently; only one order (nil→a→b→c) explains every `true`.
    let ops = [
        cas(3, "k", Some("b"), "c", true, 0, 30),
        cas(1, "k", None, "a", true, 0, 30),
        cas(2, "k", Some("a"), "b", true, 0, 30),
        get(4, "k", Some("c"), 31, 32),
    ];
    assert!(is_ok(&ops));
}

#[test]
fn two_compare_and_sets_from_the_same_value_cannot_both_succeed() {
    let ops = [
        put(1, "k", "a", 0, 5),
        cas(2, "k", Some("a"), "b", true, 10, 20),
        cas(3, "k", Some("a"), "c", true, 10, 20),
    ];
    let CheckResult::Violation(report) = check(&ops).0 else {
        panic!("double cas accepted")
    };
    assert_eq!(report.prefix.len(), 2, "the put and one cas place");
    assert_eq!(report.stuck.len(), 1);
}

#[test]
fn a_failed_compare_and_set_needs_a_moment_when_the_value_differed() {
    let alone = [
        put(1, "k", "a", 0, 5),
        cas(2, "k", Some("a"), "b", false, 10, 20),
    ];
    assert!(!is_ok(&alone), "nothing else could have changed the value");
    let with_rival = [
        put(1, "k", "a", 0, 5),
        cas(2, "k", Some("a"), "b", false, 10, 20),
        put(3, "k", "z", 12, 14),
    ];
    assert!(is_ok(&with_rival), "the rival put explains the failure");
}

#[test]
fn concurrent_increments_must_return_distinct_counts() {
    let incr =
        |c: u64, n: i64| Operation::returned(c, Command::incr("n", 1), 0, 10, Outcome::Counter(n));
    let checker = checker();
    let ok = [incr(1, 2), incr(2, 1), incr(3, 3)];
    assert_eq!(checker.check(&CounterModel, &ok), CheckResult::Linearizable);
    let dup = [incr(1, 1), incr(2, 1)];
    assert!(matches!(
        checker.check(&CounterModel, &dup),
        CheckResult::Violation(_)
    ));
}

#[test]
fn partitions_are_independent_and_the_smallest_failing_one_is_reported() {
    let mut ops = vec![
        put(1, "big", "x", 0, 10),
        put(2, "big", "y", 12, 15),
        get(3, "big", Some("x"), 20, 25),
        get(4, "small", Some("ghost"), 0, 5),
        put(5, "fine", "v", 0, 5),
        get(5, "fine", Some("v"), 6, 7),
    ];
    let (result, stats) = check(&ops);
    let CheckResult::Violation(report) = result else {
        panic!("violations missed")
    };
    assert_eq!(report.partition, "small");
    assert_eq!((report.partitions_failed, report.partitions_total), (2, 3));
    assert_eq!(
        stats.violating,
        vec!["big".to_string(), "small".to_string()]
    );
    ops.swap(0, 5);
    assert_eq!(
        check(&ops).0,
        CheckResult::Violation(report),
        "order of input does not matter"
    );
}

#[test]
fn the_same_history_gives_the_same_report_on_one_thread_or_many() {
    let mut history = linearizable_history(&Spec {
        ops: 400,
        keys: 8,
        ..Spec::default()
    })
    .ops()
    .to_vec();
    history.push(get(9, "k1", Some("never written"), 100_000, 100_001));
    history.push(get(9, "k2", Some("never written"), 100_000, 100_001));
    let one = checker().with_threads(1).check(&KvModel, &history);
    let four = checker().with_threads(4).check(&KvModel, &history);
    assert!(matches!(one, CheckResult::Violation(_)));
    assert_eq!(one, four);
}

#[test]
fn an_exhausted_budget_answers_unknown_never_linearizable() {
    let history = linearizable_history(&Spec {
        ops: 200,
        keys: 1,
        clients: 10,
        ..Spec::default()
    });
    let tiny = Checker::default().with_budget(Budget::steps(10));
    let (result, stats) = tiny.check_with_stats(&KvModel, history.ops());
    assert_eq!(result, CheckResult::Unknown);
    assert_eq!(stats.unknown, vec!["k0".to_string()]);
    assert!(stats.partition_steps_max <= 10);
}

#[test]
fn a_proven_violation_stands_even_if_another_partition_is_unknown() {
    let mut ops = linearizable_history(&Spec {
        ops: 200,
        keys: 1,
        clients: 10,
        ..Spec::default()
    })
    .ops()
    .to_vec();
    ops.push(get(1, "elsewhere", Some("ghost"), 0, 1));
    let (result, stats) = Checker::default()
        .with_budget(Budget::steps(10))
        .check_with_stats(&KvModel, &ops);
    assert!(matches!(result, CheckResult::Violation(r) if r.partition == "elsewhere"));
    assert_eq!(stats.unknown, vec!["k0".to_string()]);
}

#[test]
fn a_single_key_history_of_two_thousand_heavily_overlapping_ops_answers_within_its_step_budget() {
    // 50 clients on one key, operations up to 200 ticks long: each overlaps dozens of others.
    let spec = Spec {
        seed: 3,
        clients: 50,
        keys: 1,
        ops: 2000,
        op_ticks_max: 200,
        no_return_permille: 10,
    };
    let history = linearizable_history(&spec);
    let steps_max = 2_000_000;
    let checker = Checker::default().with_budget(Budget::steps(steps_max));
    let (result, stats) = checker.check_with_stats(&KvModel, history.ops());
    assert!(
        stats.partition_steps_max <= steps_max,
        "budget overrun: {stats:?}"
    );
    assert!(
        !matches!(result, CheckResult::Violation(_)),
        "a linearizable-by-construction history was called a violation"
    );
    eprintln!("2000-op single key: {result:?} after {} steps", stats.steps);
}
