//! Expiry is decided by the log, so every way of reaching an index decides it alike: a replica
//! that applied the entries live, one that replays them from the start (later, with another
//! clock on the wall), and one restored from a snapshot taken anywhere in between answer the
//! same, hold the same digest, and see the same keys expired at the same entries (Raft §5.3,
//! §7). Reads between entries judge expiry at the last applied entry's log time.

mod common;

use common::{cmd, Log};
use kv::{Config, Reply, Request, StateMachine};

/// A log's entries: (log time the leader stamped, words). Times go back where a new leader's
/// clock is behind (the machine's clock keeps the max); every type carries a TTL; the
/// leader's active expiry names keys, some of them rewritten since.
const ENTRIES: &[(u64, &[&str])] = &[
    (1_000, &["set", "s", "v", "PX", "500"]),
    (1_000, &["rpush", "l", "a", "b"]),
    (1_010, &["pexpire", "l", "700"]),
    (1_020, &["hset", "h", "f", "1"]),
    (1_020, &["expire", "h", "1"]),
    (1_030, &["sadd", "z", "m"]),
    (1_030, &["pexpireat", "z", "1600"]),
    (1_400, &["set", "s", "w", "KEEPTTL"]),
    (1_300, &["rpush", "l", "c"]), // a leader whose clock is behind
    (1_500, &["distributed.expire", "s", "l", "h"]),
    (1_550, &["get", "s"]),
    (1_600, &["set", "z", "fresh"]),
    (1_650, &["distributed.expire", "z", "l"]),
    (1_700, &["llen", "l"]),
    (1_700, &["setex", "e", "1", "x"]),
    (1_200, &["ttl", "e"]), // behind again: the log clock stays at 1_700
    (2_100, &["hlen", "h"]),
    (2_700, &["exists", "e", "z", "s"]),
];

/// Apply entry `i` of `ENTRIES` to `sm` at log index `i + 1`.
fn apply(sm: &mut StateMachine, i: usize) -> Reply {
    let (time_ms, words) = ENTRIES[i];
    let mut request = Request::once(cmd(words));
    request.time_ms = time_ms;
    sm.apply(i as u64 + 1, &request.encode())
}

/// What a client could ask between entries about every key: the read path's answers.
fn reads(sm: &StateMachine) -> Vec<Reply> {
    ["s", "l", "h", "z", "e"]
        .iter()
        .flat_map(|k| [cmd(&["pttl", k]), cmd(&["type", k])])
        .chain([cmd(&["dbsize"]), cmd(&["scan", "0", "COUNT", "100"])])
        .map(|c| sm.read(&c, 0))
        .collect()
}

/// After every entry of an uninterrupted run: its reply, digest and reads.
fn live_run() -> Vec<(Reply, u64, Vec<Reply>)> {
    let mut sm = StateMachine::new(Config::default()).unwrap();
    (0..ENTRIES.len())
        .map(|i| {
            let reply = apply(&mut sm, i);
            (reply, sm.digest(), reads(&sm))
        })
        .collect()
}

#[test]
fn a_replica_replaying_the_log_decides_every_expiry_as_the_live_one_did() {
    let live = live_run();
    assert_eq!(live_run(), live, "no clock but the log's: replay is exact");
    let (s_after_expiry, l_after_expiry) = (&live[9].2[1], &live[9].2[3]);
    assert_eq!(
        *s_after_expiry,
        Reply::Status("none".into()),
        "s expired at 1_500"
    );
    assert_eq!(
        *l_after_expiry,
        Reply::Status("list".into()),
        "l lives to 1_710"
    );
    assert_eq!(live[10].0, Reply::Null, "GET s at 1_550");
    assert_eq!(
        live[13].0,
        Reply::Int(3),
        "l lives to 1_710: named at 1_650, too early"
    );
    assert_eq!(
        live[17].0,
        Reply::Int(1),
        "at 2_700 only z (rewritten without TTL) is left"
    );
    assert_eq!(
        live[15].0,
        Reply::Int(1),
        "TTL by the log clock (1_700), not 1_200"
    );
}

#[test]
fn a_replica_restored_from_a_snapshot_anywhere_decides_expiry_as_the_live_one() {
    let live = live_run();
    for cut in 0..=ENTRIES.len() {
        let mut first = StateMachine::new(Config::default()).unwrap();
        (0..cut).for_each(|i| drop(apply(&mut first, i)));
        let mut restored = StateMachine::restore(Config::default(), &first.snapshot()).unwrap();
        assert_eq!(
            restored.clock_ms(),
            first.clock_ms(),
            "the log clock is in the snapshot"
        );
        if cut > 0 {
            assert_eq!(
                reads(&restored),
                live[cut - 1].2,
                "reads right after restore at {cut}"
            );
        }
        for (i, expected) in live.iter().enumerate().skip(cut) {
            let reply = apply(&mut restored, i);
            let got = (reply, restored.digest(), reads(&restored));
            assert_eq!(&got, expected, "entry {i} after a restore at {cut}");
        }
    }
}

#[test]
fn reads_between_entries_judge_expiry_at_the_last_applied_entry_s_log_time() {
    let mut log = Log::new();
    log.cmd_at(1_000, &["set", "k", "v", "PX", "100"]);
    log.cmd_at(1_050, &["distributed.noop"]);
    // Any wall clock now reads past 1_100; the machine knows only its log's 1_050.
    assert_eq!(log.read(&["get", "k"]), Reply::Bulk("v".into()));
    assert_eq!(log.read(&["pttl", "k"]), Reply::Int(50));
    log.cmd_at(1_100, &["distributed.noop"]);
    assert_eq!(log.read(&["get", "k"]), Reply::Null);
    assert_eq!(log.read(&["pttl", "k"]), Reply::Int(-2));
}
