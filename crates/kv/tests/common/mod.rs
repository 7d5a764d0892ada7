//! Helpers shared by the integration tests: a tiny log driver and proptest strategies.
#![allow(dead_code)] // each test binary uses a different subset

use bytes::Bytes;
use kv::{Command, Config, Reply, Request, StateMachine};
use proptest::prelude::*;

/// Bytes from a string literal, for readable tests.
pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// A state machine plus the next log index, so tests read as a sequence of commits.
pub struct Log {
    pub sm: StateMachine,
    pub next_index: u64,
}

impl Log {
    pub fn new() -> Self {
        Self::with(Config::default())
    }

    pub fn with(config: Config) -> Self {
        Log {
            sm: StateMachine::new(config).expect("valid config"),
            next_index: 1,
        }
    }

    /// Commit raw entry bytes at the next index.
    pub fn commit(&mut self, data: &[u8]) -> Reply {
        let index = self.next_index;
        self.next_index += 1;
        self.sm.apply(index, data)
    }

    /// Commit a request at the next index.
    pub fn request(&mut self, client_id: u64, seq: u64, command: Command) -> Reply {
        self.commit(&Request::in_session(client_id, seq, command).encode())
    }

    /// Commit a command with no session.
    pub fn run(&mut self, command: Command) -> Reply {
        self.commit(&Request::once(command).encode())
    }

    /// Commit a command with no session, stamped with log time `time_ms`.
    pub fn run_at(&mut self, time_ms: u64, command: Command) -> Reply {
        let mut request = Request::once(command);
        request.time_ms = time_ms;
        self.commit(&request.encode())
    }
}

/// A command from its words: `cmd(&["set", "k", "v", "NX"])`.
pub fn cmd(words: &[&str]) -> Command {
    Command::from_words(words.iter().map(|w| b(w)).collect()).expect("a valid command")
}

pub fn get(key: &str) -> Command {
    Command::get(b(key))
}

pub fn put(key: &str, value: &str) -> Command {
    Command::set(b(key), b(value))
}

pub fn incr(key: &str, by: i64) -> Command {
    Command::incr_by(b(key), by)
}

pub fn value(s: &str) -> Reply {
    Reply::Bulk(b(s))
}

/// An array of bulk strings.
pub fn array(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| value(s)).collect())
}

/// A RESP3 set of bulk strings (members in byte order).
pub fn set_of(items: &[&str]) -> Reply {
    Reply::Set(items.iter().map(|s| value(s)).collect())
}

/// An array of integers.
pub fn ints(items: &[i64]) -> Reply {
    Reply::Array(items.iter().map(|n| Reply::Int(*n)).collect())
}

/// A double, as the text Redis prints for it.
pub fn double(text: &str) -> Reply {
    Reply::Double(b(text))
}

/// An error reply with Redis' `ERR` code.
pub fn err(message: &str) -> Reply {
    Reply::error("ERR", message)
}

/// `WRONGTYPE`, as `Log::cmd` shows it.
pub fn wrong_type() -> Reply {
    let e = kv::KvError::WrongType;
    Reply::error(e.code(), e.to_string())
}

/// `reply` with an error shown as its code and text, as a client sees it, so tests compare
/// errors with `err("…")` whichever variant carries them.
pub fn as_seen(reply: Reply) -> Reply {
    match reply {
        Reply::Error(e) => Reply::error(e.code(), e.to_string()),
        other => other,
    }
}

impl Log {
    /// Commit the command whose words are `words`; errors as a client sees them.
    pub fn cmd(&mut self, words: &[&str]) -> Reply {
        as_seen(self.run(cmd(words)))
    }

    /// Answer the command whose words are `words` on the read path, without the log.
    pub fn read(&self, words: &[&str]) -> Reply {
        as_seen(self.sm.read(&cmd(words)))
    }
}

/// The reply of `words` after `setup`, checking that it changed nothing: a machine that ran
/// it ends with the digest of one that ran `DISTRIBUTED.NOOP` in its place.
pub fn reply_changing_nothing(setup: &[&[&str]], words: &[&str]) -> Reply {
    let (mut tried, mut idle) = (Log::new(), Log::new());
    for s in setup {
        tried.cmd(s);
        idle.cmd(s);
    }
    let reply = tried.cmd(words);
    idle.cmd(&["distributed.noop"]);
    assert_eq!(
        tried.sm.digest(),
        idle.sm.digest(),
        "{words:?} changed nothing"
    );
    reply
}

/// The `[1|0, current]` reply of `CAS`.
pub fn cas_reply(ok: bool, current: Option<&str>) -> Reply {
    Reply::Array(vec![
        Reply::Int(i64::from(ok)),
        Reply::bulk_or_null(current.map(b)),
    ])
}

/// Keys from a small alphabet, so generated commands collide on keys and interact.
pub fn arb_key() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "c", "counter", ""]).prop_map(b),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Bytes::from),
    ]
}

/// Values that are sometimes integers, so `INCRBY` both succeeds and fails.
pub fn arb_value() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        any::<i64>().prop_map(|n| b(&n.to_string())),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Bytes::from),
    ]
}

pub fn arb_keys() -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(arb_key(), 1..5)
}

fn words(name: &'static str, rest: Vec<Bytes>) -> Command {
    let mut all = vec![Bytes::from_static(name.as_bytes())];
    all.extend(rest);
    Command::from_words(all).expect("generated commands are valid")
}

/// Any command within the default limits: strings (SET's options and expiry included),
/// hashes, lists, sets and sorted sets, on keys that collide across types.
pub fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => arb_string_command(),
        1 => arb_hash_command(),
        1 => arb_list_command(),
        1 => arb_set_command(),
        1 => arb_zset_command(),
    ]
}

/// String and keyspace commands.
pub fn arb_string_command() -> impl Strategy<Value = Command> {
    let set_option = prop::sample::select(vec!["NX", "XX", "GET", "KEEPTTL"]).prop_map(b);
    prop_oneof![
        Just(Command::noop()),
        arb_key().prop_map(Command::get),
        (arb_key(), arb_value()).prop_map(|(k, v)| Command::set(k, v)),
        (
            arb_key(),
            arb_value(),
            prop::collection::vec(set_option, 0..3)
        )
            .prop_map(|(k, v, o)| words("set", [vec![k, v], o].concat())),
        (arb_key(), arb_value(), 1u64..5000)
            .prop_map(|(k, v, ms)| words("set", vec![k, v, b("PX"), b(&ms.to_string())])),
        arb_keys().prop_map(Command::del),
        arb_keys().prop_map(|keys| words("exists", keys)),
        (arb_key(), arb_value()).prop_map(|(k, v)| Command::append(k, v)),
        (arb_key(), prop::option::of(arb_value()), arb_value())
            .prop_map(|(k, expected, new)| Command::cas(k, expected, new)),
        (arb_key(), any::<i64>()).prop_map(|(k, by)| Command::incr_by(k, by)),
        arb_keys().prop_map(|keys| words("mget", keys)),
        prop::collection::vec((arb_key(), arb_value()), 1..5).prop_map(|pairs| words(
            "mset",
            pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()
        )),
    ]
}

/// Members and fields from a small alphabet, so container commands meet them again.
pub fn arb_member() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        4 => prop::sample::select(vec!["m", "n", "o", "p", ""]).prop_map(b),
        1 => arb_value(),
    ]
}

fn arb_members() -> impl Strategy<Value = Vec<Bytes>> {
    prop::collection::vec(arb_member(), 1..4)
}

/// Small integers as text (counts, indexes, ranks), and sometimes not an integer.
fn arb_number() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        8 => (-4i64..6).prop_map(|n| b(&n.to_string())),
        1 => Just(b("x")),
    ]
}

/// Scores and score bounds, valid and not.
fn arb_score() -> impl Strategy<Value = Bytes> {
    let texts = vec![
        "1", "2.5", "-1", "0", "inf", "-inf", "+inf", "(1", "1e3", "nan", "x",
    ];
    prop::sample::select(texts).prop_map(b)
}

/// Lex bounds, valid and not.
fn arb_lex() -> impl Strategy<Value = Bytes> {
    prop::sample::select(vec!["-", "+", "[m", "(n", "[o", "p"]).prop_map(b)
}

/// A command named by one of `names` with the arguments `args` gives.
fn one_of(
    names: Vec<&'static str>,
    args: impl Strategy<Value = Vec<Bytes>>,
) -> impl Strategy<Value = Command> {
    (prop::sample::select(names), args).prop_map(|(name, args)| words(name, args))
}

/// A key then `rest`.
fn key_and(rest: impl Strategy<Value = Vec<Bytes>>) -> impl Strategy<Value = Vec<Bytes>> {
    (arb_key(), rest).prop_map(|(k, rest)| [vec![k], rest].concat())
}

fn scan_args() -> impl Strategy<Value = Vec<Bytes>> {
    let cursor = prop::sample::select(vec!["0", "1109", "x"]).prop_map(b);
    (
        cursor,
        prop::option::of(1u8..4),
        prop::option::of(Just(b("m*"))),
    )
        .prop_map(|(cursor, count, pattern)| {
            let mut args = vec![cursor];
            args.extend(
                count
                    .into_iter()
                    .flat_map(|n| [b("COUNT"), b(&n.to_string())]),
            );
            args.extend(pattern.into_iter().flat_map(|p| [b("MATCH"), p]));
            args
        })
}

/// Hash commands.
pub fn arb_hash_command() -> impl Strategy<Value = Command> {
    let pairs = prop::collection::vec((arb_member(), arb_value()), 1..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .flat_map(|(f, v)| [f, v])
            .collect::<Vec<_>>()
    });
    prop_oneof![
        one_of(vec!["hset"], key_and(pairs)),
        one_of(
            vec!["hsetnx"],
            key_and((arb_member(), arb_value()).prop_map(|(f, v)| vec![f, v]))
        ),
        one_of(vec!["hdel", "hmget"], key_and(arb_members())),
        one_of(
            vec!["hincrby"],
            key_and((arb_member(), arb_number()).prop_map(|(f, n)| vec![f, n]))
        ),
        one_of(
            vec!["hincrbyfloat"],
            key_and((arb_member(), arb_score()).prop_map(|(f, x)| vec![f, x]))
        ),
        one_of(
            vec!["hget", "hexists", "hstrlen"],
            key_and(arb_member().prop_map(|f| vec![f]))
        ),
        one_of(
            vec!["hgetall", "hkeys", "hvals", "hlen", "hrandfield"],
            key_and(Just(vec![]))
        ),
        one_of(
            vec!["hrandfield"],
            key_and(arb_number().prop_map(|n| vec![n, b("WITHVALUES")]))
        ),
        one_of(vec!["hscan"], key_and(scan_args())),
    ]
}

/// List commands.
pub fn arb_list_command() -> impl Strategy<Value = Command> {
    let end = || prop::sample::select(vec!["LEFT", "RIGHT"]).prop_map(b);
    let two_numbers = (arb_number(), arb_number()).prop_map(|(a, z)| vec![a, z]);
    prop_oneof![
        one_of(
            vec!["lpush", "rpush", "lpushx", "rpushx"],
            key_and(arb_members())
        ),
        one_of(vec!["lpop", "rpop", "llen"], key_and(Just(vec![]))),
        one_of(
            vec!["lpop", "rpop", "lindex"],
            key_and(arb_number().prop_map(|n| vec![n]))
        ),
        one_of(vec!["lrange", "ltrim"], key_and(two_numbers)),
        one_of(
            vec!["lset", "lrem"],
            key_and((arb_number(), arb_member()).prop_map(|(n, m)| vec![n, m]))
        ),
        one_of(
            vec!["linsert"],
            key_and(
                (
                    prop::sample::select(vec!["BEFORE", "AFTER"]),
                    arb_member(),
                    arb_member()
                )
                    .prop_map(|(w, p, e)| vec![b(w), p, e])
            )
        ),
        one_of(
            vec!["lpos"],
            key_and((arb_member(), arb_number()).prop_map(|(m, n)| vec![m, b("RANK"), n]))
        ),
        one_of(
            vec!["lmove"],
            (arb_key(), arb_key(), end(), end()).prop_map(|(s, d, f, t)| vec![s, d, f, t])
        ),
        one_of(
            vec!["rpoplpush"],
            (arb_key(), arb_key()).prop_map(|(s, d)| vec![s, d])
        ),
    ]
}

/// Set commands, SPOP and SRANDMEMBER included (their picks must agree across replicas).
pub fn arb_set_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        one_of(vec!["sadd", "srem", "smismember"], key_and(arb_members())),
        one_of(
            vec!["smembers", "scard", "spop", "srandmember"],
            key_and(Just(vec![]))
        ),
        one_of(
            vec!["spop", "srandmember"],
            key_and(arb_number().prop_map(|n| vec![n]))
        ),
        one_of(
            vec!["sismember"],
            key_and(arb_member().prop_map(|m| vec![m]))
        ),
        one_of(vec!["sinter", "sunion", "sdiff"], arb_keys()),
        one_of(
            vec!["sinterstore", "sunionstore", "sdiffstore"],
            key_and(arb_keys()),
        ),
        one_of(
            vec!["smove"],
            (arb_key(), arb_key(), arb_member()).prop_map(|(s, d, m)| vec![s, d, m])
        ),
        one_of(
            vec!["sintercard"],
            arb_keys().prop_map(|keys| [vec![b(&keys.len().to_string())], keys].concat())
        ),
        one_of(vec!["sscan"], key_and(scan_args())),
    ]
}

/// Sorted-set commands.
pub fn arb_zset_command() -> impl Strategy<Value = Command> {
    let flags = prop::collection::vec(
        prop::sample::select(vec!["NX", "XX", "GT", "LT", "CH", "INCR"]).prop_map(b),
        0..2,
    );
    let pairs = prop::collection::vec((arb_score(), arb_member()), 1..3).prop_map(|pairs| {
        pairs
            .into_iter()
            .flat_map(|(s, m)| [s, m])
            .collect::<Vec<_>>()
    });
    let scores = (arb_score(), arb_score()).prop_map(|(a, z)| vec![a, z]);
    let lexes = (arb_lex(), arb_lex()).prop_map(|(a, z)| vec![a, z]);
    let ranks = (arb_number(), arb_number()).prop_map(|(a, z)| vec![a, z, b("WITHSCORES")]);
    prop_oneof![
        one_of(
            vec!["zadd"],
            key_and((flags, pairs).prop_map(|(f, p)| [f, p].concat()))
        ),
        one_of(
            vec!["zincrby"],
            key_and((arb_score(), arb_member()).prop_map(|(s, m)| vec![s, m]))
        ),
        one_of(vec!["zrem", "zmscore"], key_and(arb_members())),
        one_of(
            vec!["zscore", "zrank", "zrevrank"],
            key_and(arb_member().prop_map(|m| vec![m]))
        ),
        one_of(vec!["zcard", "zpopmin", "zpopmax"], key_and(Just(vec![]))),
        one_of(
            vec!["zpopmin", "zpopmax"],
            key_and(arb_number().prop_map(|n| vec![n]))
        ),
        one_of(
            vec!["zrange", "zrevrange", "zremrangebyrank"],
            key_and(ranks.prop_map(|mut r| {
                r.truncate(2);
                r
            }))
        ),
        one_of(
            vec!["zrange", "zrevrange"],
            key_and((arb_number(), arb_number()).prop_map(|(a, z)| vec![a, z, b("WITHSCORES")]))
        ),
        one_of(
            vec![
                "zrangebyscore",
                "zrevrangebyscore",
                "zcount",
                "zremrangebyscore"
            ],
            key_and(scores)
        ),
        one_of(vec!["zrangebylex", "zlexcount"], key_and(lexes)),
        one_of(vec!["zscan"], key_and(scan_args())),
    ]
}

/// Any request: a few clients (0 = no session) with small, colliding sequence numbers, so
/// duplicates, stale requests and unknown sessions all occur; log times that sometimes go
/// backwards, as a new leader's clock may.
pub fn arb_request() -> impl Strategy<Value = Request> {
    (0u64..4, 0u64..5, 0u64..10_000, arb_command()).prop_map(|(client_id, seq, time_ms, c)| {
        let mut r = Request::in_session(client_id, seq, c);
        r.time_ms = time_ms;
        r
    })
}

/// A log entry: usually a request, sometimes empty (leader no-op) or garbage.
pub fn arb_entry() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => arb_request().prop_map(|r| r.encode().to_vec()),
        1 => Just(Vec::new()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}
