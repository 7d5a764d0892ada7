//! The weaker models through the library: input rules, bounds, no-return semantics, and the
//! corners of each definition (module docs in `src/weak/` cite the papers).

use check::{
    check_all_weak, check_weak, check_weak_with, CheckResult, Command, History, HistoryBuilder,
    ModelKind, Outcome, Verdict, WeakBudget, WeakModel,
};

/// A register history builder with one-line helpers.
struct H(HistoryBuilder);

impl H {
    fn new() -> Self {
        H(HistoryBuilder::with_model(ModelKind::Register))
    }
    fn put(mut self, client: u64, key: &str, value: &str, t: (u64, u64)) -> Self {
        let put = Command::put(key, value);
        self.0
            .returned(client, put, t.0, t.1, Outcome::Done)
            .unwrap();
        self
    }
    fn put_lost(mut self, client: u64, key: &str, value: &str, invoke: u64) -> Self {
        self.0.no_return(client, Command::put(key, value), invoke);
        self
    }
    fn get(mut self, client: u64, key: &str, seen: Option<&str>, t: (u64, u64)) -> Self {
        let out = seen.map_or(Outcome::nil(), Outcome::value);
        self.0
            .returned(client, Command::get(key), t.0, t.1, out)
            .unwrap();
        self
    }
    fn fin(mut self, replica: u64, key: &str, values: &[&str]) -> Self {
        self.0.final_value(replica, key, values);
        self
    }
    fn build(self) -> History {
        self.0.build().unwrap()
    }
}

fn verdict(h: &History, model: WeakModel) -> Verdict {
    check_weak(h, model).unwrap()
}

fn pattern(h: &History, model: WeakModel) -> String {
    match verdict(h, model) {
        Verdict::Violation(r) => r.pattern,
        other => panic!("{model}: expected a violation, got {other}"),
    }
}

#[test]
fn a_value_put_twice_to_one_key_is_refused_naming_both_operations() {
    let h = H::new()
        .put(1, "x", "1", (0, 1))
        .put(2, "y", "1", (0, 1)) // the same value on another key is fine
        .put(2, "x", "1", (2, 3))
        .build();
    let err = check_weak(&h, WeakModel::Causal).unwrap_err().to_string();
    assert!(
        err.contains("operations #0 and #2 both put \"1\" to key x"),
        "{err}"
    );
}

#[test]
fn a_client_with_overlapping_operations_is_refused_as_not_sequential() {
    let h = H::new()
        .put(1, "x", "1", (0, 10))
        .get(1, "x", None, (5, 12))
        .build();
    let err = check_weak(&h, WeakModel::ReadYourWrites)
        .unwrap_err()
        .to_string();
    assert!(err.contains("client 1 is not sequential"), "{err}");
    assert!(err.contains("#0") && err.contains("#1"), "{err}");
}

#[test]
fn an_operation_other_than_get_and_put_is_refused() {
    let mut b = HistoryBuilder::new();
    b.returned(1, Command::incr("n", 1), 0, 1, Outcome::Counter(1))
        .unwrap();
    let err = check_weak(&b.build().unwrap(), WeakModel::Causal).unwrap_err();
    assert!(err.to_string().contains("get and put only"), "{err}");
}

#[test]
fn eventual_convergence_without_final_values_is_bad_input() {
    let h = H::new().put(1, "x", "1", (0, 1)).build();
    let err = check_weak(&h, WeakModel::Eventual).unwrap_err().to_string();
    assert!(
        err.contains("final state") && err.contains("version 3"),
        "{err}"
    );
    let all = check_all_weak(&h, WeakBudget::default()).unwrap();
    assert!(
        all.iter().all(|(m, _)| *m != WeakModel::Eventual),
        "skipped without finals"
    );
}

#[test]
fn a_history_over_the_op_bound_is_unknown_and_says_which_bound() {
    let h = H::new()
        .put(1, "x", "1", (0, 1))
        .get(2, "x", Some("1"), (2, 3))
        .get(2, "x", Some("1"), (4, 5))
        .build();
    let budget = WeakBudget {
        ops_max: 2,
        ..WeakBudget::default()
    };
    match check_weak_with(&h, WeakModel::Causal, budget).unwrap() {
        Verdict::Unknown(why) => assert!(why.contains("at most 2"), "{why}"),
        other => panic!("expected unknown, got {other}"),
    }
}

#[test]
fn the_sequential_search_answers_unknown_when_out_of_steps() {
    // A stale read: sequentially consistent, not linearizable, so only the search decides.
    let h = H::new()
        .put(1, "x", "1", (0, 5))
        .put(2, "x", "2", (10, 15))
        .get(3, "x", Some("1"), (20, 25))
        .build();
    let tight = WeakBudget {
        sequential_steps_max: 1,
        ..WeakBudget::default()
    };
    match check_weak_with(&h, WeakModel::Sequential, tight).unwrap() {
        Verdict::Unknown(why) => assert!(why.contains("budget") && why.contains("NP-complete")),
        other => panic!("expected unknown, got {other}"),
    }
    assert!(verdict(&h, WeakModel::Sequential).holds());
}

#[test]
fn a_reply_and_the_next_request_at_the_same_tick_are_in_session_order() {
    // The store-buffer shape with touching intervals. The linearizability checker counts
    // touching intervals as concurrent, so it linearizes this; each client's reply and next
    // request are still in session order, and no single order explains both reads.
    let h = H::new()
        .put(1, "x", "1", (0, 5))
        .get(1, "y", None, (5, 7))
        .put(2, "y", "1", (0, 5))
        .get(2, "x", None, (5, 7))
        .build();
    assert_eq!(h.check(), CheckResult::Linearizable);
    assert_eq!(pattern(&h, WeakModel::Sequential), "no sequential order");
    assert!(verdict(&h, WeakModel::Causal).holds());
}

#[test]
fn a_read_of_the_clients_own_next_write_at_the_same_tick_is_a_causal_cycle() {
    // The linearizability checker counts the touching intervals as concurrent and places the
    // put first; the client sent the put after its read returned, so the read saw its future.
    let h = H::new()
        .get(1, "x", Some("1"), (0, 5))
        .put(1, "x", "1", (5, 9))
        .build();
    assert_eq!(h.check(), CheckResult::Linearizable);
    assert_eq!(pattern(&h, WeakModel::Causal), "CyclicCO");
}

#[test]
fn a_put_with_no_return_may_take_effect_after_its_clients_next_put() {
    // c1's first put timed out and arrived late, after its second: c2 sees 2 then 1. Not a
    // causal violation (no session edge leaves an op with no return), and linearizable.
    let h = H::new()
        .put_lost(1, "x", "1", 0)
        .put(1, "x", "2", (10, 15))
        .get(2, "x", Some("2"), (20, 22))
        .get(2, "x", Some("1"), (23, 25))
        .fin(1, "x", &["1"])
        .build();
    assert_eq!(h.check(), CheckResult::Linearizable);
    for (model, v) in check_all_weak(&h, WeakBudget::default()).unwrap() {
        assert!(v.holds(), "{model}: {v}");
    }
}

#[test]
fn a_get_with_no_return_constrains_nothing() {
    let mut b = HistoryBuilder::with_model(ModelKind::Register);
    b.returned(1, Command::put("x", "1"), 0, 5, Outcome::Done)
        .unwrap();
    b.no_return(1, Command::get("x"), 6);
    b.returned(1, Command::get("x"), 8, 9, Outcome::value("1"))
        .unwrap();
    let h = b.build().unwrap();
    for (model, v) in check_all_weak(&h, WeakBudget::default()).unwrap() {
        assert!(v.holds(), "{model}: {v}");
    }
}

#[test]
fn reading_nil_after_a_causally_earlier_put_is_write_co_init_read() {
    // Bouajjani et al. 2017, the WriteCOInitRead pattern: put(x) →co get(x) -> nil.
    let h = H::new()
        .put(1, "x", "1", (0, 5))
        .put(1, "y", "1", (6, 8))
        .get(2, "y", Some("1"), (9, 10))
        .get(2, "x", None, (11, 12))
        .build();
    assert_eq!(pattern(&h, WeakModel::Causal), "WriteCOInitRead");
    let report = verdict(&h, WeakModel::Causal);
    let text = report.to_string();
    assert!(
        text.contains("[w] c1 put(x, \"1\")") && text.contains("[r] c2 get(x) -> nil"),
        "{text}"
    );
    // Read-your-writes and monotonic reads see nothing of it: the put was another client's,
    // and c2 read x only once.
    assert!(verdict(&h, WeakModel::ReadYourWrites).holds());
    assert!(verdict(&h, WeakModel::MonotonicReads).holds());
}

#[test]
fn concurrent_puts_read_in_different_orders_by_two_clients_are_causal_but_not_sequential() {
    // Causal consistency lets each client order concurrent writes its own way.
    let h = H::new()
        .put(1, "x", "a", (0, 5))
        .put(2, "x", "b", (0, 5))
        .get(3, "x", Some("a"), (6, 7))
        .get(3, "x", Some("b"), (8, 9))
        .get(4, "x", Some("b"), (6, 7))
        .get(4, "x", Some("a"), (8, 9))
        .build();
    assert!(verdict(&h, WeakModel::Causal).holds());
    assert!(
        verdict(&h, WeakModel::MonotonicReads).holds(),
        "a and b are concurrent"
    );
    assert_eq!(pattern(&h, WeakModel::Sequential), "no sequential order");
}

#[test]
fn siblings_that_every_replica_keeps_converge() {
    let h = H::new()
        .put(1, "x", "a", (0, 5))
        .put(2, "x", "b", (0, 5))
        .fin(1, "x", &["a", "b"])
        .fin(2, "x", &["b", "a"])
        .build();
    assert!(verdict(&h, WeakModel::Eventual).holds());
}

#[test]
fn a_sibling_causally_overwritten_by_another_kept_sibling_is_stale_not_lost() {
    let h = H::new()
        .put(1, "x", "a", (0, 5))
        .get(2, "x", Some("a"), (6, 7))
        .put(2, "x", "b", (8, 9))
        .fin(1, "x", &["a", "b"])
        .build();
    assert_eq!(
        pattern(&h, WeakModel::Eventual),
        "causally overwritten sibling kept"
    );
}

#[test]
fn a_final_nil_after_an_acknowledged_put_loses_that_write() {
    let h = H::new().put(1, "x", "a", (0, 5)).fin(1, "y", &[]).build();
    assert_eq!(pattern(&h, WeakModel::Eventual), "acknowledged write lost");
    let text = verdict(&h, WeakModel::Eventual).to_string();
    assert!(text.contains("every replica ends with x absent"), "{text}");
}

#[test]
fn a_put_with_no_return_that_someone_read_took_effect_and_can_be_lost() {
    let h = H::new()
        .put_lost(1, "x", "a", 0)
        .get(2, "x", Some("a"), (3, 4))
        .fin(1, "x", &[])
        .build();
    assert_eq!(pattern(&h, WeakModel::Eventual), "observed write lost");
    // Unread, it may never have happened: a final nil is then explained.
    let unread = H::new().put_lost(1, "x", "a", 0).fin(1, "x", &[]).build();
    assert!(verdict(&unread, WeakModel::Eventual).holds());
}

#[test]
fn a_final_value_no_put_wrote_is_thin_air() {
    let h = H::new()
        .put(1, "x", "a", (0, 5))
        .fin(1, "x", &["a"])
        .fin(1, "z", &["q"])
        .build();
    assert_eq!(pattern(&h, WeakModel::Eventual), "thin-air final value");
}

#[test]
fn a_concurrent_put_may_lose_to_arbitration_without_a_violation() {
    // Last-writer-wins between concurrent writes is convergence, not loss.
    let h = H::new()
        .put(1, "x", "a", (0, 5))
        .put(2, "x", "b", (0, 5))
        .fin(1, "x", &["a"])
        .fin(2, "x", &["a"])
        .build();
    assert!(verdict(&h, WeakModel::Eventual).holds());
}

#[test]
fn a_replica_that_does_not_report_a_key_holds_it_absent() {
    let h = H::new()
        .put(1, "x", "a", (0, 5))
        .fin(1, "x", &["a"])
        .fin(2, "y", &[])
        .build();
    match verdict(&h, WeakModel::Eventual) {
        Verdict::Violation(r) => {
            assert_eq!(r.pattern, "divergence");
            assert!(
                r.lines.iter().any(|l| l.contains("replica 2: x = nil")),
                "{r}"
            );
        }
        other => panic!("expected divergence, got {other}"),
    }
}
