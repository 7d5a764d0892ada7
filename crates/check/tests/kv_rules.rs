//! The kv model's newer rules on small hand-written histories, each with a history it must
//! accept and one it must refuse: transactions, aborted transactions, typed values and
//! WRONGTYPE, deadlines (`kv/expiry.rs`), and how transactions join partitions.
//!
//! Times are simulated milliseconds, as the store's `time_ms` stamps are.

use check::{
    Budget, CheckResult, Checker, Command, KvModel, KvOperation, Operation, Outcome, Stats,
};

/// An operation of client `c` over `[invoke, ret]` that answered `out`.
fn op(c: u64, command: Command, out: Outcome, invoke: u64, ret: u64) -> KvOperation {
    Operation::returned(c, command, invoke, ret, out)
}

fn get(c: u64, k: &str, read: Option<&str>, invoke: u64, ret: u64) -> KvOperation {
    op(
        c,
        Command::get(k),
        Outcome::Value(read.map(str::to_string)),
        invoke,
        ret,
    )
}

fn put(c: u64, k: &str, v: &str, invoke: u64, ret: u64) -> KvOperation {
    op(c, Command::put(k, v), Outcome::Done, invoke, ret)
}

fn value(v: &str) -> Outcome {
    Outcome::value(v)
}

fn check(ops: &[KvOperation]) -> (CheckResult, Stats) {
    Checker::default()
        .with_budget(Budget::steps(200_000))
        .check_with_stats(&KvModel, ops)
}

fn accepted(ops: &[KvOperation]) {
    let (result, stats) = check(ops);
    assert_eq!(result, CheckResult::Linearizable, "{stats:?}");
}

/// Refused, and the report names `partition`.
fn refused(ops: &[KvOperation], partition: &str) {
    match check(ops).0 {
        CheckResult::Violation(report) => assert_eq!(report.partition, partition, "{report}"),
        other => panic!("expected a violation in {partition}, got {other:?}"),
    }
}

// ---- transactions: one atomic operation over all their keys (issue 14, item 1) ----

fn transfer() -> Command {
    Command::multi(vec![Command::put("a", "1"), Command::put("b", "1")])
}

fn both_written() -> Outcome {
    Outcome::Multi(vec![Outcome::Done, Outcome::Done])
}

#[test]
fn a_reader_after_a_transaction_sees_all_of_it() {
    accepted(&[
        op(1, transfer(), both_written(), 0, 10),
        get(2, "a", Some("1"), 12, 14),
        get(2, "b", Some("1"), 15, 16),
    ]);
}

#[test]
fn a_reader_that_sees_half_a_transaction_is_refused() {
    // c2 reads a, then b, both while c1's transaction runs: "1" then nil means b was read
    // after a was written but before b was, which splits the transaction.
    refused(
        &[
            op(1, transfer(), both_written(), 0, 100),
            get(2, "a", Some("1"), 10, 20),
            get(2, "b", None, 30, 40),
        ],
        "a+b",
    );
}

#[test]
fn a_transaction_of_reads_sees_one_instant() {
    let read_both = Command::multi(vec![Command::get("a"), Command::get("b")]);
    accepted(&[
        op(1, transfer(), both_written(), 0, 100),
        op(
            2,
            read_both.clone(),
            Outcome::Multi(vec![value("1"), value("1")]),
            10,
            20,
        ),
        op(
            3,
            read_both.clone(),
            Outcome::Multi(vec![Outcome::nil(), Outcome::nil()]),
            10,
            20,
        ),
    ]);
    refused(
        &[
            op(1, transfer(), both_written(), 0, 100),
            op(
                2,
                read_both,
                Outcome::Multi(vec![value("1"), Outcome::nil()]),
                10,
                20,
            ),
        ],
        "a+b",
    );
}

#[test]
fn commands_inside_a_transaction_see_the_ones_before_them() {
    let bump = Command::multi(vec![Command::incr("n", 2), Command::incr("n", 3)]);
    accepted(&[op(
        1,
        bump.clone(),
        Outcome::Multi(vec![Outcome::Counter(2), Outcome::Counter(5)]),
        0,
        5,
    )]);
    refused(
        &[op(
            1,
            bump,
            Outcome::Multi(vec![Outcome::Counter(2), Outcome::Counter(3)]),
            0,
            5,
        )],
        "n",
    );
}

#[test]
fn an_aborted_transaction_changes_nothing() {
    // EXEC answered nil (a WATCHed key changed): none of its writes may be seen.
    let aborted = op(1, transfer(), Outcome::Aborted, 0, 10);
    accepted(&[aborted.clone(), get(2, "a", None, 20, 25)]);
    refused(&[aborted, get(2, "a", Some("1"), 20, 25)], "a");
}

#[test]
fn a_transaction_joins_the_partitions_of_its_keys_and_others_stay_apart() {
    let (result, stats) = check(&[
        put(1, "a", "0", 0, 5),
        put(2, "b", "0", 0, 5),
        op(1, transfer(), both_written(), 10, 20),
        put(3, "z", "9", 0, 5),
    ]);
    assert_eq!(result, CheckResult::Linearizable);
    assert_eq!(stats.partitions, 2, "a+b and z");
}

#[test]
fn a_partition_past_the_size_bound_is_reported_too_large_not_searched() {
    let ops: Vec<KvOperation> = (0..5)
        .map(|i| put(i, "a", "x", i * 10, i * 10 + 5))
        .collect();
    let budget = Budget {
        partition_ops_max: 4,
        ..Budget::steps(1_000)
    };
    let (result, stats) = Checker::default()
        .with_budget(budget)
        .check_with_stats(&KvModel, &ops);
    assert_eq!(result, CheckResult::Unknown);
    assert_eq!(stats.too_large, ["a (5 ops)"]);
    assert_eq!(stats.steps, 0, "no search was started");
}

// ---- typed values (issue 14, item 4) ----

#[test]
fn a_hash_field_reads_what_was_written_and_a_new_field_counts_one() {
    let hset = |v: &str| Command::HSet {
        key: "h".into(),
        field: "f".into(),
        value: v.into(),
    };
    let hget = Command::HGet {
        key: "h".into(),
        field: "f".into(),
    };
    accepted(&[
        op(1, hset("x"), Outcome::Int(1), 0, 5),
        op(1, hset("y"), Outcome::Int(0), 6, 8),
        op(2, hget.clone(), value("y"), 10, 12),
    ]);
    refused(
        &[
            op(1, hset("x"), Outcome::Int(1), 0, 5),
            op(1, hset("y"), Outcome::Int(1), 6, 8),
        ],
        "h",
    );
    refused(
        &[
            op(1, hset("x"), Outcome::Int(1), 0, 5),
            op(2, hget, value("z"), 6, 8),
        ],
        "h",
    );
}

#[test]
fn a_list_pops_in_push_order() {
    let lpush = |v: &str| Command::LPush {
        key: "l".into(),
        value: v.into(),
    };
    let rpop = Command::RPop { key: "l".into() };
    let pushes = [
        op(1, lpush("a"), Outcome::Int(1), 0, 5),
        op(1, lpush("b"), Outcome::Int(2), 6, 8),
    ];
    let mut fifo = pushes.to_vec();
    fifo.push(op(2, rpop.clone(), value("a"), 10, 12));
    accepted(&fifo);
    let mut lifo = pushes.to_vec();
    lifo.push(op(2, rpop, value("b"), 10, 12));
    refused(&lifo, "l");
}

#[test]
fn a_set_adds_a_member_once_and_a_sorted_set_keeps_its_score() {
    let sadd = Command::SAdd {
        key: "s".into(),
        member: "m".into(),
    };
    accepted(&[
        op(1, sadd.clone(), Outcome::Int(1), 0, 5),
        op(2, sadd.clone(), Outcome::Int(0), 6, 8),
    ]);
    refused(
        &[
            op(1, sadd.clone(), Outcome::Int(1), 0, 5),
            op(2, sadd, Outcome::Int(1), 6, 8),
        ],
        "s",
    );
    let zadd = Command::ZAdd {
        key: "z".into(),
        score: 3,
        member: "m".into(),
    };
    let zscore = Command::ZScore {
        key: "z".into(),
        member: "m".into(),
    };
    accepted(&[
        op(1, zadd.clone(), Outcome::Int(1), 0, 5),
        op(2, zscore.clone(), value("3"), 6, 8),
    ]);
    refused(
        &[
            op(1, zadd, Outcome::Int(1), 0, 5),
            op(2, zscore, value("4"), 6, 8),
        ],
        "z",
    );
}

#[test]
fn a_command_on_a_key_of_another_type_answers_wrongtype_and_changes_nothing() {
    let lpush = Command::LPush {
        key: "k".into(),
        value: "a".into(),
    };
    accepted(&[
        put(1, "k", "s", 0, 5),
        op(2, lpush.clone(), Outcome::WrongType, 6, 8),
        get(2, "k", Some("s"), 9, 10),
    ]);
    refused(
        &[
            put(1, "k", "s", 0, 5),
            op(2, lpush.clone(), Outcome::Int(1), 6, 8),
        ],
        "k",
    );
    refused(&[op(2, lpush, Outcome::WrongType, 6, 8)], "k");
}

// ---- deadlines (issue 14, item 2; the rules are in kv/expiry.rs) ----

fn put_px(v: &str, ttl_ms: u64, invoke: u64, ret: u64) -> KvOperation {
    op(
        1,
        Command::put_px("k", v, ttl_ms),
        Outcome::Done,
        invoke,
        ret,
    )
}

#[test]
fn a_key_read_before_its_earliest_deadline_is_still_there() {
    // Set during [0, 10] with px=100: it expires somewhere in [100, 110].
    accepted(&[put_px("v", 100, 0, 10), get(2, "k", Some("v"), 20, 30)]);
    refused(&[put_px("v", 100, 0, 10), get(2, "k", None, 20, 30)], "k");
}

#[test]
fn a_key_read_around_its_deadline_may_be_there_or_gone_but_gone_stays_gone() {
    accepted(&[put_px("v", 100, 0, 10), get(2, "k", Some("v"), 95, 105)]);
    accepted(&[put_px("v", 100, 0, 10), get(2, "k", None, 95, 105)]);
    refused(
        &[
            put_px("v", 100, 0, 10),
            get(2, "k", None, 95, 105),
            get(2, "k", Some("v"), 120, 130),
        ],
        "k",
    );
}

#[test]
fn a_write_invoked_after_the_latest_deadline_finds_the_key_gone() {
    let append = op(3, Command::append("k", "x"), Outcome::Done, 200, 210);
    accepted(&[
        put_px("v", 100, 0, 10),
        append.clone(),
        get(2, "k", Some("x"), 220, 230),
    ]);
    refused(
        &[
            put_px("v", 100, 0, 10),
            append,
            get(2, "k", Some("vx"), 220, 230),
        ],
        "k",
    );
}

#[test]
fn pttl_answers_within_what_the_interval_allows_and_ttl_in_seconds() {
    let pttl = |left: i64| {
        op(
            2,
            Command::PTtl { key: "k".into() },
            Outcome::Int(left),
            20,
            30,
        )
    };
    let ttl = |left: i64| {
        op(
            2,
            Command::Ttl { key: "k".into() },
            Outcome::Int(left),
            20,
            30,
        )
    };
    // Set during [0, 10] with px=10000; asked during [20, 30]: 9970..=10000 ms are left.
    accepted(&[put_px("v", 10_000, 0, 10), pttl(9_975)]);
    refused(&[put_px("v", 10_000, 0, 10), pttl(10_001)], "k");
    refused(&[put_px("v", 10_000, 0, 10), pttl(9_000)], "k");
    accepted(&[put_px("v", 10_000, 0, 10), ttl(10)]);
    refused(&[put_px("v", 10_000, 0, 10), ttl(3)], "k");
    let pttl_of_a_plain_key = op(
        2,
        Command::PTtl { key: "k".into() },
        Outcome::Int(-1),
        20,
        30,
    );
    accepted(&[put(1, "k", "v", 0, 10), pttl_of_a_plain_key.clone()]);
    refused(&[put_px("v", 10_000, 0, 10), pttl_of_a_plain_key], "k");
}

#[test]
fn persist_keeps_a_key_past_its_deadline_and_pexpire_gives_one() {
    let persist = op(
        2,
        Command::Persist { key: "k".into() },
        Outcome::Int(1),
        20,
        30,
    );
    accepted(&[
        put_px("v", 100, 0, 10),
        persist,
        get(2, "k", Some("v"), 500, 510),
    ]);
    let persist_absent = op(
        2,
        Command::Persist { key: "k".into() },
        Outcome::Int(1),
        20,
        30,
    );
    refused(&[persist_absent], "k");
    let pexpire = op(
        2,
        Command::PExpire {
            key: "k".into(),
            ttl_ms: 50,
        },
        Outcome::Int(1),
        20,
        30,
    );
    let late_write = op(3, Command::append("k", "x"), Outcome::Done, 200, 210);
    accepted(&[
        put(1, "k", "v", 0, 10),
        pexpire.clone(),
        late_write.clone(),
        get(2, "k", Some("x"), 220, 230),
    ]);
    refused(
        &[
            put(1, "k", "v", 0, 10),
            pexpire,
            late_write,
            get(2, "k", Some("vx"), 220, 230),
        ],
        "k",
    );
}

#[test]
fn exists_counts_a_key_of_any_type() {
    let exists = |n: i64| {
        op(
            2,
            Command::Exists { key: "k".into() },
            Outcome::Int(n),
            10,
            12,
        )
    };
    let sadd = op(
        1,
        Command::SAdd {
            key: "k".into(),
            member: "m".into(),
        },
        Outcome::Int(1),
        0,
        5,
    );
    accepted(&[sadd.clone(), exists(1)]);
    refused(&[sadd, exists(0)], "k");
}
