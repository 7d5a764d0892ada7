//! The store's own vocabulary in, the model's out: a [`kv::Body`] (one command, or a
//! MULTI/EXEC transaction) and its [`kv::Reply`], read as a [`Command`] and an [`Outcome`].
//!
//! A workload records what it sent and what it heard in the store's types, and this file is
//! the one place that says what they mean to the model:
//!
//! ```text
//!   kv::Body::One(SET k v PX 100)     ──► put(k, "v", px=100)          +OK     ──► ok
//!   kv::Body::One(DEL a b)            ──► multi[delete(a); delete(b)]  :1      ──► [ok, ok]
//!   kv::Body::One(MGET a b)           ──► multi[get(a); get(b)]        *2 x _  ──► ["x", nil]
//!   kv::Body::Exec{[SET a 1; INCR n]} ──► multi[put(a, "1"); incr(n, 1)] *2 +OK :3 ──► [ok, 3]
//!   kv::Body::Exec{..}                                                  *-1    ──► aborted
//!   any single-key command            ──► ...                          -WRONGTYPE ─► WRONGTYPE
//! ```
//!
//! A command over several keys (`DEL`, `UNLINK`, `MSET`, `MGET`) is one atomic step, so it
//! becomes a transaction of one-key commands; the commands of an `EXEC` are flattened the
//! same way. Seconds become milliseconds (`EX`, `SETEX`, `EXPIRE`); `TTL` stays in seconds.
//!
//! The model keeps less than some replies say (`DEL`'s count, `APPEND`'s length, a failed
//! `CAS`'s current value): dropping information can only hide a violation, never invent one.
//! What the model cannot state is an error naming the command, never a guess: a command it
//! does not know, an option it does not model (`SET NX`, `EXPIRE GT`, `ZADD XX`, absolute
//! deadlines), a non-integer score, an error reply other than `WRONGTYPE`. `WATCH` is read
//! only through its result: an aborted `EXEC` applied nothing (which the model checks); whether
//! the abort itself was justified would need the watched keys' history, which is not kept.
//!
//! The road not taken: running `kv`'s own `StateMachine` as the model. It would check the
//! order of operations but never their meaning (a wrong reply computed the same way twice
//! agrees with itself), and it needs each entry's exact `time_ms`, which a history does not
//! have (`kv/expiry.rs` works from invoke and return instead).

use bytes::Bytes;

use super::command::{Command, MULTI_OPS_MAX};
use super::outcome::{Answer, Outcome};

/// The model's command for what a client sent; an error says what the model cannot state.
pub fn command_from_kv(body: &kv::Body) -> Result<Command, String> {
    let flat = match body {
        kv::Body::One(c) => {
            let mut one = commands(c)?;
            if one.len() == 1 {
                return Ok(one.remove(0));
            }
            one
        }
        kv::Body::Exec { commands: cs, .. } => {
            let mut flat = Vec::new();
            for c in cs {
                flat.extend(commands(c)?);
            }
            flat
        }
    };
    if flat.is_empty() || flat.len() > MULTI_OPS_MAX {
        return Err(format!(
            "a transaction of {} commands: the model checks 1 to {MULTI_OPS_MAX}",
            flat.len()
        ));
    }
    Ok(Command::Multi(flat))
}

/// The model's outcome for `reply` to `body` (the reply a `Done` carried).
pub fn outcome_from_kv(body: &kv::Body, reply: &kv::Reply) -> Result<Outcome, String> {
    match body {
        kv::Body::One(c) => {
            let cmds = commands(c)?;
            let mut outs = outcomes(c, &cmds, reply)?;
            Ok(match outs.len() {
                1 => outs.remove(0),
                _ => Outcome::Multi(outs),
            })
        }
        kv::Body::Exec { commands: cs, .. } => match reply {
            kv::Reply::NullArray => Ok(Outcome::Aborted),
            kv::Reply::Error(e) if e.code() == "EXECABORT" => Ok(Outcome::Aborted),
            kv::Reply::Array(items) if items.len() == cs.len() => {
                let mut flat = Vec::new();
                for (c, r) in cs.iter().zip(items) {
                    flat.extend(outcomes(c, &commands(c)?, r)?);
                }
                Ok(Outcome::Multi(flat))
            }
            other => Err(format!(
                "EXEC of {} commands was answered {other}",
                cs.len()
            )),
        },
    }
}

/// The one-key commands `c` stands for.
fn commands(c: &kv::Command) -> Result<Vec<Command>, String> {
    let args: Vec<String> = c.args().iter().map(text).collect::<Result<_, _>>()?;
    let unknown = || format!("the checker's kv model does not know {c}");
    let per_key = |make: fn(String) -> Command| Ok(args.iter().cloned().map(make).collect());
    let one = |command: Command| Ok(vec![command]);
    match (c.name(), args.as_slice()) {
        ("del" | "unlink", _) => per_key(|key| Command::Delete { key }),
        ("mget", _) => per_key(|key| Command::Get { key }),
        ("mset", pairs) if pairs.len() % 2 == 0 => Ok(pairs
            .chunks(2)
            .map(|p| Command::put(&p[0], &p[1]))
            .collect()),
        (name, [key]) => one(key_only(name, key.clone()).ok_or_else(unknown)?),
        _ => one(with_arguments(c.name(), &args).ok_or_else(unknown)??),
    }
}

/// A command whose only argument is its key.
fn key_only(name: &str, key: String) -> Option<Command> {
    Some(match name {
        "get" => Command::Get { key },
        "incr" => Command::Incr { key, delta: 1 },
        "decr" => Command::Incr { key, delta: -1 },
        "exists" => Command::Exists { key },
        "persist" => Command::Persist { key },
        "ttl" => Command::Ttl { key },
        "pttl" => Command::PTtl { key },
        "hlen" => Command::HLen { key },
        "lpop" => Command::LPop { key },
        "rpop" => Command::RPop { key },
        "llen" => Command::LLen { key },
        "scard" => Command::SCard { key },
        "zcard" => Command::ZCard { key },
        _ => return None,
    })
}

/// A one-key command with more arguments; `None` if the model does not know it, an error if
/// it knows it but not these arguments (a bad number, an option it does not model).
fn with_arguments(name: &str, args: &[String]) -> Option<Result<Command, String>> {
    let s = |i: usize| args[i].clone();
    let c = match (name, args.len()) {
        ("set", 2) => Command::put(&args[0], &args[1]),
        ("set", 4) => return Some(set_with_expiry(args)),
        ("setex", 3) => return Some(ms(&args[1], 1000).map(|t| put_px(s(0), s(2), t))),
        ("psetex", 3) => return Some(ms(&args[1], 1).map(|t| put_px(s(0), s(2), t))),
        ("expire" | "pexpire", 2) => {
            let unit = if name == "expire" { 1000 } else { 1 };
            return Some(ms(&args[1], unit).map(|ttl_ms| Command::PExpire { key: s(0), ttl_ms }));
        }
        ("incrby" | "decrby", 2) => return Some(incr_by(name, args)),
        ("append", 2) => Command::append(&args[0], &args[1]),
        ("cas", 2) => Command::cas(&args[0], None, &args[1]),
        ("cas", 3) => Command::cas(&args[0], Some(&args[1]), &args[2]),
        _ => return typed_with_arguments(name, args),
    };
    Some(Ok(c))
}

/// The hash, list, set and sorted-set commands of [`with_arguments`].
fn typed_with_arguments(name: &str, args: &[String]) -> Option<Result<Command, String>> {
    let s = |i: usize| args[i].clone();
    let c = match (name, args.len()) {
        ("hset", 3) => Command::HSet {
            key: s(0),
            field: s(1),
            value: s(2),
        },
        ("hget", 2) => Command::HGet {
            key: s(0),
            field: s(1),
        },
        ("hdel", 2) => Command::HDel {
            key: s(0),
            field: s(1),
        },
        ("lpush", 2) => Command::LPush {
            key: s(0),
            value: s(1),
        },
        ("rpush", 2) => Command::RPush {
            key: s(0),
            value: s(1),
        },
        ("sadd", 2) => Command::SAdd {
            key: s(0),
            member: s(1),
        },
        ("srem", 2) => Command::SRem {
            key: s(0),
            member: s(1),
        },
        ("sismember", 2) => Command::SIsMember {
            key: s(0),
            member: s(1),
        },
        ("zscore", 2) => Command::ZScore {
            key: s(0),
            member: s(1),
        },
        ("zrem", 2) => Command::ZRem {
            key: s(0),
            member: s(1),
        },
        ("zadd", 3) => {
            let score = args[1].parse::<i64>().map_err(|_| {
                format!(
                    "zadd score {:?}: the model keeps integer scores only",
                    args[1]
                )
            });
            return Some(score.map(|score| Command::ZAdd {
                key: s(0),
                score,
                member: s(2),
            }));
        }
        _ => return None,
    };
    Some(Ok(c))
}

/// `SET key value EX|PX n`; any other option is one the model does not keep.
fn set_with_expiry(args: &[String]) -> Result<Command, String> {
    let unit = match args[2].to_ascii_lowercase().as_str() {
        "ex" => 1000,
        "px" => 1,
        other => {
            return Err(format!(
                "set option {other:?}: the model keeps EX and PX only"
            ))
        }
    };
    Ok(put_px(
        args[0].clone(),
        args[1].clone(),
        ms(&args[3], unit)?,
    ))
}

fn put_px(key: String, value: String, ttl_ms: u64) -> Command {
    Command::PutPx { key, value, ttl_ms }
}

/// `INCRBY` / `DECRBY key n` as `incr(key, ±n)`.
fn incr_by(name: &str, args: &[String]) -> Result<Command, String> {
    let by: i64 = args[1]
        .parse()
        .map_err(|_| format!("{name} by {:?}: not an integer", args[1]))?;
    let delta = if name == "decrby" {
        by.checked_neg()
    } else {
        Some(by)
    };
    let delta = delta.ok_or_else(|| format!("{name} by {by}: out of range"))?;
    Ok(Command::Incr {
        key: args[0].clone(),
        delta,
    })
}

/// A positive time to live `n` in units of `unit_ms`, as milliseconds.
fn ms(n: &str, unit_ms: u64) -> Result<u64, String> {
    n.parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .and_then(|n| n.checked_mul(unit_ms))
        .ok_or_else(|| format!("time to live {n:?}: the model keeps positive ones only"))
}

/// The outcomes of `reply` to `c`, which stands for the one-key commands `cmds`.
fn outcomes(c: &kv::Command, cmds: &[Command], reply: &kv::Reply) -> Result<Vec<Outcome>, String> {
    let what = || format!("{c} was answered {reply}");
    match (cmds, reply) {
        ([one], r) => Ok(vec![outcome(one, r).ok_or_else(what)?]),
        (_, kv::Reply::Array(items)) if items.len() == cmds.len() => cmds
            .iter()
            .zip(items)
            .map(|(one, r)| outcome(one, r).ok_or_else(what))
            .collect(),
        (_, r) => cmds
            .iter()
            .map(|one| outcome(one, r).ok_or_else(what))
            .collect(),
    }
}

/// The outcome of `reply` to the one-key command `c`, if the model can state it.
fn outcome(c: &Command, reply: &kv::Reply) -> Option<Outcome> {
    use kv::Reply as R;
    if let R::Error(e) = reply {
        return (e.code() == "WRONGTYPE" && c.can_be_wrongtype()).then_some(Outcome::WrongType);
    }
    Some(match (c.answer(), reply) {
        (Answer::Value, R::Bulk(b) | R::Double(b)) => Outcome::Value(Some(text(b).ok()?)),
        (Answer::Value, R::Null) => Outcome::Value(None),
        (Answer::Done, r) if r.is_ok() => Outcome::Done,
        (Answer::Done, R::Int(_))
            if matches!(c, Command::Delete { .. } | Command::Append { .. }) =>
        {
            Outcome::Done
        }
        (Answer::Swapped, R::Array(parts)) => match parts.as_slice() {
            [R::Int(ok @ (0 | 1)), _] => Outcome::Swapped(*ok == 1),
            _ => return None,
        },
        (Answer::Counter, R::Int(n)) => Outcome::Counter(*n),
        (Answer::Int, R::Int(n)) => Outcome::Int(*n),
        _ => return None,
    })
}

/// Bytes as text: the model's values are strings.
fn text(b: &Bytes) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| format!("a value that is not UTF-8: {b:?}"))
}
