//! Proptest strategies: keys, values and members from small alphabets so generated commands
//! collide, and a generator per command family; `arb_entry` is what the determinism and
//! snapshot properties feed to replicas.
#![allow(dead_code)] // each test binary uses a different subset

use super::b;
use bytes::Bytes;
use kv::{Command, Request};
use proptest::prelude::*;

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

/// Any command within the default limits: every family (strings with SET's options and
/// expiry, keyspace, expiry, hashes, lists, sets, sorted sets), on keys that collide across
/// types.
pub fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => arb_basic_command(),
        1 => arb_string_command(),
        1 => arb_keyspace_command(),
        1 => arb_expiry_command(),
        1 => arb_hash_command(),
        1 => arb_list_command(),
        1 => arb_set_command(),
        1 => arb_zset_command(),
    ]
}

/// GET, SET and its options, DEL, EXISTS, APPEND, CAS, INCRBY, MGET, MSET, DISTRIBUTED.NOOP.
fn arb_basic_command() -> impl Strategy<Value = Command> {
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

/// Numbers as clients send them: mostly small (so times and offsets stay near the log's),
/// sometimes any i64 (overflow paths), sometimes not a number.
pub fn arb_number() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        6 => (-5i64..5_000).prop_map(|n| b(&n.to_string())),
        2 => any::<i64>().prop_map(|n| b(&n.to_string())),
        1 => Just(b("x")),
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
fn arb_small_number() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        8 => (-4i64..6).prop_map(|n| b(&n.to_string())),
        1 => Just(b("x")),
    ]
}

/// An expiry option and its number, or PERSIST (GETEX's).
fn arb_expiry_option() -> impl Strategy<Value = Vec<Bytes>> {
    let unit = prop::sample::select(vec!["EX", "PX", "EXAT", "PXAT"]).prop_map(b);
    prop_oneof![
        Just(Vec::new()),
        Just(vec![b("PERSIST")]),
        (unit, arb_number()).prop_map(|(u, n)| vec![u, n]),
    ]
}

/// The strings family beyond SET/GET: GETSET GETDEL GETEX SETNX SETEX PSETEX MSETNX STRLEN
/// GETRANGE SETRANGE INCRBYFLOAT.
pub fn arb_string_command() -> impl Strategy<Value = Command> {
    let float = prop::sample::select(vec!["1.5", "-0.25", "1e3", "10", "abc", "inf", "0"]);
    prop_oneof![
        (arb_key(), arb_value()).prop_map(|(k, v)| words("getset", vec![k, v])),
        arb_key().prop_map(|k| words("getdel", vec![k])),
        (arb_key(), arb_expiry_option()).prop_map(|(k, o)| words("getex", [vec![k], o].concat())),
        (arb_key(), arb_value()).prop_map(|(k, v)| words("setnx", vec![k, v])),
        (arb_key(), arb_number(), arb_value()).prop_map(|(k, n, v)| words("setex", vec![k, n, v])),
        (arb_key(), arb_number(), arb_value()).prop_map(|(k, n, v)| words("psetex", vec![k, n, v])),
        prop::collection::vec((arb_key(), arb_value()), 1..4).prop_map(|pairs| words(
            "msetnx",
            pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()
        )),
        arb_key().prop_map(|k| words("strlen", vec![k])),
        (arb_key(), arb_number(), arb_number())
            .prop_map(|(k, s, e)| words("getrange", vec![k, s, e])),
        (arb_key(), -2i64..64, arb_value())
            .prop_map(|(k, o, v)| words("setrange", vec![k, b(&o.to_string()), v])),
        (arb_key(), float).prop_map(|(k, x)| words("incrbyfloat", vec![k, b(x)])),
    ]
}

/// The keyspace family: TYPE RENAME RENAMENX COPY KEYS SCAN DBSIZE FLUSHDB UNLINK RANDOMKEY
/// TOUCH.
pub fn arb_keyspace_command() -> impl Strategy<Value = Command> {
    let pattern = prop::sample::select(vec!["*", "c*", "?", "[ab]", "[^a]*", "\\*"]).prop_map(b);
    let scan_option = prop_oneof![
        pattern.clone().prop_map(|p| vec![b("MATCH"), p]),
        (1u64..5).prop_map(|n| vec![b("COUNT"), b(&n.to_string())]),
        prop::sample::select(vec!["string", "list", "hash", "set", "zset", "none"])
            .prop_map(|t| vec![b("TYPE"), b(t)]),
    ];
    prop_oneof![
        arb_key().prop_map(|k| words("type", vec![k])),
        (arb_key(), arb_key()).prop_map(|(a, z)| words("rename", vec![a, z])),
        (arb_key(), arb_key()).prop_map(|(a, z)| words("renamenx", vec![a, z])),
        (arb_key(), arb_key(), any::<bool>()).prop_map(|(a, z, replace)| {
            let mut args = vec![a, z];
            args.extend(replace.then(|| b("REPLACE")));
            words("copy", args)
        }),
        pattern.prop_map(|p| words("keys", vec![p])),
        (any::<u64>(), prop::collection::vec(scan_option, 0..3)).prop_map(|(c, o)| {
            let cursor = if c % 2 == 0 {
                b("0")
            } else {
                b(&c.to_string())
            };
            words("scan", [vec![cursor], o.concat()].concat())
        }),
        Just(words("dbsize", vec![])),
        Just(words("randomkey", vec![])),
        prop::sample::select(vec!["", "ASYNC", "SYNC"]).prop_map(|m| words(
            "flushdb",
            (!m.is_empty()).then(|| b(m)).into_iter().collect()
        )),
        arb_keys().prop_map(|keys| words("unlink", keys)),
        arb_keys().prop_map(|keys| words("touch", keys)),
    ]
}

/// The expiry family: EXPIRE PEXPIRE EXPIREAT PEXPIREAT with NX|XX|GT|LT, TTL PTTL
/// EXPIRETIME PEXPIRETIME PERSIST, and DISTRIBUTED.EXPIRE.
pub fn arb_expiry_command() -> impl Strategy<Value = Command> {
    let setter = prop::sample::select(vec!["expire", "pexpire", "expireat", "pexpireat"]);
    let reader = prop::sample::select(vec!["ttl", "pttl", "expiretime", "pexpiretime", "persist"]);
    let condition = prop::sample::select(vec!["NX", "XX", "GT", "LT"]).prop_map(b);
    prop_oneof![
        (
            setter,
            arb_key(),
            arb_number(),
            prop::collection::vec(condition, 0..2)
        )
            .prop_map(|(name, k, n, c)| words(name, [vec![k, n], c].concat())),
        (reader, arb_key()).prop_map(|(name, k)| words(name, vec![k])),
        arb_keys().prop_map(|keys| words("distributed.expire", keys)),
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
            key_and((arb_member(), arb_small_number()).prop_map(|(f, n)| vec![f, n]))
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
            key_and(arb_small_number().prop_map(|n| vec![n, b("WITHVALUES")]))
        ),
        one_of(vec!["hscan"], key_and(scan_args())),
    ]
}

/// List commands.
pub fn arb_list_command() -> impl Strategy<Value = Command> {
    let end = || prop::sample::select(vec!["LEFT", "RIGHT"]).prop_map(b);
    let two_numbers = (arb_small_number(), arb_small_number()).prop_map(|(a, z)| vec![a, z]);
    prop_oneof![
        one_of(
            vec!["lpush", "rpush", "lpushx", "rpushx"],
            key_and(arb_members())
        ),
        one_of(vec!["lpop", "rpop", "llen"], key_and(Just(vec![]))),
        one_of(
            vec!["lpop", "rpop", "lindex"],
            key_and(arb_small_number().prop_map(|n| vec![n]))
        ),
        one_of(vec!["lrange", "ltrim"], key_and(two_numbers)),
        one_of(
            vec!["lset", "lrem"],
            key_and((arb_small_number(), arb_member()).prop_map(|(n, m)| vec![n, m]))
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
            key_and((arb_member(), arb_small_number()).prop_map(|(m, n)| vec![m, b("RANK"), n]))
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
            key_and(arb_small_number().prop_map(|n| vec![n]))
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
    let ranks =
        (arb_small_number(), arb_small_number()).prop_map(|(a, z)| vec![a, z, b("WITHSCORES")]);
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
            key_and(arb_small_number().prop_map(|n| vec![n]))
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
            key_and(
                (arb_small_number(), arb_small_number()).prop_map(|(a, z)| vec![
                    a,
                    z,
                    b("WITHSCORES")
                ])
            )
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
