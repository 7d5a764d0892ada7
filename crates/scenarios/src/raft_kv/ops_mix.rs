//! The op mix per key kind: which commands each kind of key sees, and how often (the table
//! in `ops.rs`). Every command drawn here is one the checker's `kv` model knows, with the
//! options it knows (one field, one member, one value, integer scores, no counts).

use distributed_core::{Rng, SeededRng};

use super::{command, skewed, small_delta, KeySpace, Memory, OpKind, TYPED_KEYS};

/// How many volatile keys there are, and the longest TTL they are written with (in ms, the
/// simulated time's unit): a few ticks, so many expire within a run.
pub(crate) const VOLATILE_KEYS: u64 = 2;
pub(crate) const VOLATILE_TTL_MS_MAX: u64 = 500;

/// Fields of a hash, members of a set or sorted set: few, so ops collide on them.
const FIELDS: u64 = 4;
const MEMBERS: u64 = 5;

/// The expectation of a `cas`: usually the last value seen, sometimes "absent".
fn expectation(rng: &mut SeededRng, memory: &Memory, key: &str) -> Option<String> {
    match memory.get(key) {
        Some(seen) if rng.range(0, 4) != 0 => seen.clone(),
        _ => None,
    }
}

fn cas(key: &str, expected: Option<String>, new: &str) -> kv::Command {
    match expected {
        Some(e) => command(&["cas", key, &e, new]),
        None => command(&["cas", key, new]),
    }
}

/// A string key's op: GET, SET, APPEND, CAS or DEL.
pub(crate) fn string_op(
    rng: &mut SeededRng,
    memory: &Memory,
    key: &str,
    unique: &str,
) -> kv::Command {
    match rng.range(0, 100) {
        0..=34 => command(&["get", key]),
        35..=59 => command(&["set", key, unique]),
        60..=79 => {
            let letter = char::from(b'a' + rng.range(0, 26) as u8).to_string();
            command(&["append", key, &letter])
        }
        80..=91 => cas(key, expectation(rng, memory, key), unique),
        _ => command(&["del", key]),
    }
}

/// A counter key's op: it only ever holds canonical integers, so INCRBY never fails.
pub(crate) fn counter_op(rng: &mut SeededRng, memory: &Memory, key: &str) -> kv::Command {
    let small = |rng: &mut SeededRng| rng.range(0, 21).to_string();
    match rng.range(0, 100) {
        0..=29 => command(&["get", key]),
        30..=69 => command(&["incrby", key, &small_delta(rng).to_string()]),
        70..=79 => command(&["set", key, &small(rng)]),
        80..=89 => {
            let expected = expectation(rng, memory, key);
            cas(key, expected, &small(rng))
        }
        _ => command(&["del", key]),
    }
}

/// A hash, list, set or sorted-set op, or (one in ten) a read of another type.
pub(crate) fn typed_op(
    rng: &mut SeededRng,
    space: &KeySpace,
    unique: &str,
) -> (kv::Command, OpKind) {
    if rng.range(0, 10) == 0 {
        return (wrong_type_read(rng, space), OpKind::WrongType);
    }
    let kind = ['h', 'l', 'm', 'z'][rng.range(0, 4) as usize];
    let key = format!("{kind}{}", skewed(rng, TYPED_KEYS));
    (typed_write_or_read(rng, kind, &key, unique), OpKind::Plain)
}

/// An op on `key` of `kind` (`h` hash, `l` list, `m` set, `z` sorted set).
pub(crate) fn typed_write_or_read(
    rng: &mut SeededRng,
    kind: char,
    key: &str,
    unique: &str,
) -> kv::Command {
    let roll = rng.range(0, 100);
    if roll >= 95 {
        return command(&["del", key]);
    }
    let field = format!("f{}", rng.range(0, FIELDS));
    let member = format!("e{}", rng.range(0, MEMBERS));
    let pick = |names: [&'static str; 4]| names[(roll / 24).min(3) as usize];
    match kind {
        'h' => match pick(["hset", "hget", "hdel", "hlen"]) {
            "hset" => command(&["hset", key, &field, unique]),
            "hlen" => command(&["hlen", key]),
            name => command(&[name, key, &field]),
        },
        'l' => match pick(["lpush", "rpush", "lpop", "rpop"]) {
            name @ ("lpush" | "rpush") => command(&[name, key, unique]),
            _ if roll.is_multiple_of(3) => command(&["llen", key]),
            name => command(&[name, key]),
        },
        'm' => match pick(["sadd", "srem", "sismember", "scard"]) {
            "scard" => command(&["scard", key]),
            name => command(&[name, key, &member]),
        },
        _ => match pick(["zadd", "zscore", "zrem", "zcard"]) {
            "zadd" => {
                let score = (rng.range(0, 26) as i64 - 5).to_string();
                command(&["zadd", key, &score, &member])
            }
            "zcard" => command(&["zcard", key]),
            name => command(&[name, key, &member]),
        },
    }
}

/// A read of some key with a command of another type: WRONGTYPE if the key exists. Reads
/// only, so no key ever changes type.
fn wrong_type_read(rng: &mut SeededRng, space: &KeySpace) -> kv::Command {
    let kinds = ['s', 'n', 'h', 'l', 'm', 'z'];
    let kind = kinds[rng.range(0, kinds.len() as u64) as usize];
    let key = match kind {
        's' => format!("s{}", skewed(rng, space.string_keys)),
        'n' => format!("n{}", skewed(rng, space.counter_keys)),
        _ => format!("{kind}{}", skewed(rng, TYPED_KEYS)),
    };
    let reads: [(char, &[&str]); 5] = [
        ('s', &["get"]),
        ('h', &["hlen"]),
        ('l', &["llen"]),
        ('m', &["scard"]),
        ('z', &["zcard"]),
    ];
    let own = if kind == 'n' { 's' } else { kind };
    let others: Vec<&[&str]> = reads
        .iter()
        .filter(|(k, _)| *k != own)
        .map(|(_, r)| *r)
        .collect();
    let name = others[rng.range(0, others.len() as u64) as usize][0];
    command(&[name, &key])
}

/// A volatile key's op. With `reads`: writes with a TTL, TTL changes, and reads of the key
/// and its TTL; without (wall-clock skew, see `ops.rs`): `SET k v PX ms` only.
pub(crate) fn volatile_op(rng: &mut SeededRng, reads: bool, unique: &str) -> (kv::Command, OpKind) {
    let key = format!("v{}", rng.range(0, VOLATILE_KEYS));
    let ttl_ms = rng.range(1, VOLATILE_TTL_MS_MAX + 1).to_string();
    let roll = if reads { rng.range(0, 100) } else { 0 };
    let write = |c| (c, OpKind::Plain);
    let read = |c| (c, OpKind::VolatileRead);
    match roll {
        0..=29 => write(command(&["set", &key, unique, "PX", &ttl_ms])),
        30..=34 => write(command(&["setex", &key, "1", unique])),
        35..=44 => write(command(&["pexpire", &key, &ttl_ms])),
        45..=49 => write(command(&["persist", &key])),
        50..=69 => read(command(&["get", &key])),
        70..=84 => read(command(&["pttl", &key])),
        85..=89 => read(command(&["ttl", &key])),
        _ => read(command(&["exists", &key])),
    }
}
