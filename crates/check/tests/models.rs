//! The bundled models' step rules, one operation at a time (no search involved).

use check::{Command, CounterModel, KvModel, KvState, Model, Outcome, RegisterModel};

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// The kv model's state over the keys `k` and `n`, both holding string `v` (absent for `None`).
fn kv_state(v: Option<&str>) -> KvState {
    let init = KvModel.init_partition(&["k".to_string(), "n".to_string()]);
    match v {
        None => init,
        Some(v) => KvModel
            .step(&init, &Command::put("k", v), Some(&Outcome::Done))
            .and_then(|s| KvModel.step(&s, &Command::put("n", v), Some(&Outcome::Done)))
            .expect("a put always fits"),
    }
}

/// One kv step from both keys holding `from`: the string the command's key holds after, or
/// `None` if the output does not fit.
fn kv_step(from: Option<&str>, c: &Command, out: Option<&Outcome>) -> Option<Option<String>> {
    let after = KvModel.step(&kv_state(from), c, out)?;
    Some(after.string_value(c.key()).map(str::to_string))
}

#[test]
fn kv_get_accepts_only_the_current_value_and_nil_only_when_absent() {
    let get = Command::get("k");
    assert_eq!(
        kv_step(Some("x"), &get, Some(&Outcome::value("x"))),
        Some(some("x"))
    );
    assert_eq!(kv_step(Some("x"), &get, Some(&Outcome::value("y"))), None);
    assert_eq!(kv_step(None, &get, Some(&Outcome::nil())), Some(None));
    assert_eq!(
        kv_step(Some(""), &get, Some(&Outcome::nil())),
        None,
        "empty is not absent"
    );
}

#[test]
fn kv_put_overwrites_and_delete_removes_whatever_was_there() {
    assert_eq!(
        kv_step(Some("x"), &Command::put("k", "y"), Some(&Outcome::Done)),
        Some(some("y"))
    );
    assert_eq!(
        kv_step(Some("x"), &Command::delete("k"), Some(&Outcome::Done)),
        Some(None)
    );
    assert_eq!(
        kv_step(None, &Command::delete("k"), Some(&Outcome::Done)),
        Some(None)
    );
}

#[test]
fn kv_append_to_an_absent_key_creates_it() {
    let append = Command::append("k", "b");
    assert_eq!(
        kv_step(None, &append, Some(&Outcome::Done)),
        Some(some("b"))
    );
    assert_eq!(
        kv_step(Some("a"), &append, Some(&Outcome::Done)),
        Some(some("ab"))
    );
}

#[test]
fn kv_cas_must_report_exactly_whether_the_compare_held() {
    let cas = Command::cas("k", Some("x"), "y");
    assert_eq!(
        kv_step(Some("x"), &cas, Some(&Outcome::Swapped(true))),
        Some(some("y"))
    );
    assert_eq!(
        kv_step(Some("x"), &cas, Some(&Outcome::Swapped(false))),
        None
    );
    assert_eq!(
        kv_step(Some("z"), &cas, Some(&Outcome::Swapped(false))),
        Some(some("z"))
    );
    assert_eq!(
        kv_step(Some("z"), &cas, Some(&Outcome::Swapped(true))),
        None
    );
}

#[test]
fn kv_cas_with_expected_nil_succeeds_only_on_an_absent_key() {
    let cas = Command::cas("k", None, "y");
    assert_eq!(
        kv_step(None, &cas, Some(&Outcome::Swapped(true))),
        Some(some("y"))
    );
    assert_eq!(
        kv_step(Some("x"), &cas, Some(&Outcome::Swapped(true))),
        None
    );
}

#[test]
fn kv_incr_counts_from_zero_and_must_return_the_new_value() {
    let incr = Command::incr("n", 2);
    assert_eq!(
        kv_step(None, &incr, Some(&Outcome::Counter(2))),
        Some(some("2"))
    );
    assert_eq!(
        kv_step(Some("5"), &incr, Some(&Outcome::Counter(7))),
        Some(some("7"))
    );
    assert_eq!(kv_step(Some("5"), &incr, Some(&Outcome::Counter(6))), None);
}

#[test]
fn kv_incr_of_a_non_integer_cannot_have_succeeded_and_changes_nothing_if_unanswered() {
    let incr = Command::incr("n", 1);
    assert_eq!(
        kv_step(Some("abc"), &incr, Some(&Outcome::Counter(1))),
        None
    );
    assert_eq!(kv_step(Some("abc"), &incr, None), Some(some("abc")));
    let overflow = Command::incr("n", i64::MAX);
    assert_eq!(kv_step(Some("1"), &overflow, None), Some(some("1")));
}

#[test]
fn with_no_return_every_kv_command_is_possible_from_every_state() {
    // The contract in model.rs: an unanswered op can always be placed (last, if need be).
    let commands = [
        Command::get("k"),
        Command::put("k", "v"),
        Command::append("k", "v"),
        Command::cas("k", Some("x"), "v"),
        Command::cas("k", None, "v"),
        Command::delete("k"),
        Command::incr("k", 1),
    ];
    for state in [None, some("x"), some("7"), some("")] {
        for c in &commands {
            assert!(
                kv_step(state.as_deref(), c, None).is_some(),
                "{c} from {state:?}"
            );
        }
    }
}

#[test]
fn a_write_answered_with_a_value_is_impossible() {
    assert_eq!(
        kv_step(None, &Command::put("k", "x"), Some(&Outcome::value("x"))),
        None
    );
}

#[test]
fn the_register_reads_its_last_write_and_knows_nothing_else() {
    let r = RegisterModel;
    let s = r
        .step(&r.init(), &Command::put("k", "x"), Some(&Outcome::Done))
        .unwrap();
    assert_eq!(
        r.step(&s, &Command::get("k"), Some(&Outcome::value("x"))),
        Some(some("x"))
    );
    assert_eq!(r.step(&s, &Command::get("k"), Some(&Outcome::nil())), None);
    assert_eq!(
        r.step(&s, &Command::delete("k"), Some(&Outcome::Done)),
        None
    );
}

#[test]
fn the_counter_reads_absent_as_zero_and_rejects_non_integers() {
    let c = CounterModel;
    assert_eq!(
        c.step(&0, &Command::get("n"), Some(&Outcome::nil())),
        Some(0)
    );
    assert_eq!(c.step(&3, &Command::get("n"), Some(&Outcome::nil())), None);
    assert_eq!(
        c.step(&3, &Command::get("n"), Some(&Outcome::value("3"))),
        Some(3)
    );
    assert_eq!(
        c.step(&3, &Command::get("n"), Some(&Outcome::value("three"))),
        None
    );
    assert_eq!(
        c.step(&3, &Command::incr("n", -5), Some(&Outcome::Counter(-2))),
        Some(-2)
    );
    assert_eq!(c.step(&3, &Command::incr("n", 1), None), Some(4));
}

#[test]
fn models_describe_operations_and_states_on_one_line() {
    let quoted = Command::put("k1", "two\nlines");
    assert_eq!(
        KvModel.describe_operation(&quoted, Some(&Outcome::Done)),
        "put(k1, \"two\\nlines\")"
    );
    let get = Command::get("k1");
    assert_eq!(
        KvModel.describe_operation(&get, Some(&Outcome::value("x"))),
        "get(k1) -> \"x\""
    );
    assert_eq!(
        KvModel.describe_operation(&get, Some(&Outcome::nil())),
        "get(k1) -> nil"
    );
    let cas = Command::cas("k1", None, "y");
    assert_eq!(
        KvModel.describe_operation(&cas, Some(&Outcome::Swapped(true))),
        "cas(k1, nil -> \"y\") -> true"
    );
    assert_eq!(
        KvModel.describe_operation(&Command::incr("n", 2), None),
        "incr(n, 2)"
    );
    assert_eq!(KvModel.describe_state(&kv_state(None)), "{}");
    assert_eq!(CounterModel.describe_state(&4), "4");
}

#[test]
fn every_key_is_its_own_partition() {
    assert_eq!(KvModel.partition(&Command::put("a", "x")), "a");
    assert_ne!(
        KvModel.partition(&Command::get("a")),
        KvModel.partition(&Command::get("b"))
    );
    assert!(KvModel.is_read_only(&Command::get("a")));
    assert!(!KvModel.is_read_only(&Command::cas("a", None, "x")));
}
