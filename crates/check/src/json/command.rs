//! One line's command and output: every op's fields, transactions' `ops` lists, and answers.
//!
//! ```text
//!   {"op":"multi","ops":[{"op":"put","key":"a","value":"1"},{"op":"incr","key":"n"}], ...,
//!    "output":["ok",1]}                      one answer per sub-command, "ok" for a write
//!   {"op":"multi", ..., "output":"aborted"}  EXEC answered nil: nothing applied
//!   {"op":"hget", ..., "output":{"error":"wrongtype"}}   the key holds another type
//! ```
//!
//! A sub-command object holds `op`, `key` and its op's fields, nothing else; a transaction
//! holds 1 to `MULTI_OPS_MAX` of them and no transaction. Errors name the sub-command
//! (`ops[2]: ...`), and the caller adds the line.

use serde_json::{Map, Value};

use super::{kind_of, optional_i64, text, unsigned};
use crate::kv::{Command, Outcome, MULTI_OPS_MAX};

/// The fields each op may carry beyond `op` and `key`; anything else is a typo.
pub(super) fn allowed_fields(op: &str) -> &'static [&'static str] {
    match op {
        "put" => &["value", "px"],
        "append" | "lpush" | "rpush" => &["value"],
        "cas" => &["expected", "value"],
        "incr" => &["delta"],
        "pexpire" => &["px"],
        "hset" => &["field", "value"],
        "hget" | "hdel" => &["field"],
        "sadd" | "srem" | "sismember" | "zscore" | "zrem" => &["member"],
        "zadd" => &["score", "member"],
        "multi" => &["ops"],
        _ => &[],
    }
}

/// Every op a line may name, for the "unknown op" message.
const KNOWN_OPS: &str = "get, put, append, cas, delete, exists, incr, pexpire, persist, pttl, \
    ttl, hset, hget, hdel, \
    hlen, lpush, rpush, lpop, rpop, llen, sadd, srem, sismember, scard, zadd, zscore, zrem, \
    zcard or multi";

/// The command a line (or a transaction's sub-command object) describes; `op` is its
/// already-read `"op"` field.
pub(super) fn parse_command(op: &str, map: &Map<String, Value>) -> Result<Command, String> {
    if op == "multi" {
        if map.contains_key("key") {
            return Err("a multi has no \"key\": its sub-commands name theirs".to_string());
        }
        return parse_multi(map);
    }
    let key = text(map, "key")?;
    let field = || text(map, "field");
    let value = || text(map, "value");
    let command = match op {
        "get" => Command::Get { key },
        "put" => match map.get("px") {
            None => Command::Put {
                key,
                value: value()?,
            },
            Some(_) => Command::PutPx {
                key,
                value: value()?,
                ttl_ms: unsigned(map, "px")?,
            },
        },
        "append" => Command::Append {
            key,
            value: value()?,
        },
        "cas" => parse_cas(key, map)?,
        "delete" => Command::Delete { key },
        "incr" => Command::Incr {
            key,
            delta: optional_i64(map, "delta")?.unwrap_or(1),
        },
        "pexpire" => Command::PExpire {
            key,
            ttl_ms: unsigned(map, "px")?,
        },
        "pttl" => Command::PTtl { key },
        "persist" => Command::Persist { key },
        "ttl" => Command::Ttl { key },
        "exists" => Command::Exists { key },
        "hset" => Command::HSet {
            key,
            field: field()?,
            value: value()?,
        },
        "hget" => Command::HGet {
            key,
            field: field()?,
        },
        "hdel" => Command::HDel {
            key,
            field: field()?,
        },
        "hlen" => Command::HLen { key },
        "lpush" => Command::LPush {
            key,
            value: value()?,
        },
        "rpush" => Command::RPush {
            key,
            value: value()?,
        },
        "lpop" => Command::LPop { key },
        "rpop" => Command::RPop { key },
        "llen" => Command::LLen { key },
        other => return parse_set_command(other, key, map),
    };
    Ok(command)
}

/// The set and sorted-set commands (the rest of `parse_command`).
fn parse_set_command(op: &str, key: String, map: &Map<String, Value>) -> Result<Command, String> {
    let member = || text(map, "member");
    let command = match op {
        "sadd" => Command::SAdd {
            key,
            member: member()?,
        },
        "srem" => Command::SRem {
            key,
            member: member()?,
        },
        "sismember" => Command::SIsMember {
            key,
            member: member()?,
        },
        "scard" => Command::SCard { key },
        "zadd" => Command::ZAdd {
            key,
            score: optional_i64(map, "score")?.ok_or("missing field \"score\"")?,
            member: member()?,
        },
        "zscore" => Command::ZScore {
            key,
            member: member()?,
        },
        "zrem" => Command::ZRem {
            key,
            member: member()?,
        },
        "zcard" => Command::ZCard { key },
        other => return Err(format!("unknown op {other:?} (expected {KNOWN_OPS})")),
    };
    Ok(command)
}

fn parse_cas(key: String, map: &Map<String, Value>) -> Result<Command, String> {
    let expected = match map.get("expected") {
        None => return Err("missing field \"expected\" (use null for \"key absent\")".into()),
        Some(Value::Null) => None,
        Some(_) => Some(text(map, "expected")?),
    };
    Ok(Command::Cas {
        key,
        expected,
        new: text(map, "value")?,
    })
}

/// A transaction's `ops`: 1 to `MULTI_OPS_MAX` sub-command objects, none a transaction.
fn parse_multi(map: &Map<String, Value>) -> Result<Command, String> {
    let items = match map.get("ops") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(format!(
                "\"ops\" must be an array, found {}",
                kind_of(other)
            ))
        }
        None => return Err("missing field \"ops\" (the multi's sub-commands)".to_string()),
    };
    if items.is_empty() || items.len() > MULTI_OPS_MAX {
        return Err(format!(
            "\"ops\" holds 1 to {MULTI_OPS_MAX} sub-commands, found {}",
            items.len()
        ));
    }
    let sub = |(i, item): (usize, &Value)| -> Result<Command, String> {
        let at = |m: String| format!("ops[{i}]: {m}");
        let Value::Object(sub) = item else {
            return Err(at(format!("expected an object, found {}", kind_of(item))));
        };
        let op = match sub.get("op") {
            Some(Value::String(s)) => s.as_str(),
            Some(other) => {
                return Err(at(format!(
                    "\"op\" must be a string, found {}",
                    kind_of(other)
                )))
            }
            None => return Err(at("missing field \"op\"".to_string())),
        };
        if op == "multi" {
            return Err(at("a multi cannot hold another multi".to_string()));
        }
        for name in sub.keys() {
            if name != "op" && name != "key" && !allowed_fields(op).contains(&name.as_str()) {
                return Err(at(format!("unknown field {name:?} for op {op:?}")));
            }
        }
        parse_command(op, sub).map_err(at)
    };
    let commands = items
        .iter()
        .enumerate()
        .map(sub)
        .collect::<Result<_, _>>()?;
    Ok(Command::Multi(commands))
}

/// The output of an op that returned, read as the kind its command gets. `found` is the
/// `output` field (or one element of a transaction's output list, where `in_list` is true
/// and an acknowledged write reads `"ok"`).
pub(super) fn parse_output(
    command: &Command,
    found: Option<&Value>,
    in_list: bool,
) -> Result<Outcome, String> {
    use crate::kv::Answer;
    let name = command.name();
    if let Some(Value::Object(error)) = found {
        return parse_error(command, error);
    }
    match (command.answer(), found) {
        (Answer::Done, None | Some(Value::Null)) if !in_list => Ok(Outcome::Done),
        (Answer::Done, Some(Value::String(s))) if in_list && s == "ok" => Ok(Outcome::Done),
        (Answer::Done, _) if in_list => Err(format!("{name} answers \"ok\" in a multi's output")),
        (Answer::Done, Some(_)) => Err(format!("{name} has no output; omit \"output\"")),
        (_, None) => Err(format!("missing field \"output\" ({name} returned)")),
        (Answer::Value, Some(Value::Null)) => Ok(Outcome::Value(None)),
        (Answer::Value, Some(v)) => Ok(Outcome::Value(Some(text_of(v)?))),
        (Answer::Swapped, Some(Value::Bool(b))) => Ok(Outcome::Swapped(*b)),
        (Answer::Swapped, Some(other)) => Err(format!(
            "\"output\" of {name} must be true or false, found {}",
            kind_of(other)
        )),
        (Answer::Counter | Answer::Int, Some(v)) => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                _ => None,
            };
            let n = n.ok_or_else(|| {
                format!(
                    "\"output\" of {name} must be an integer, found {}",
                    kind_of(v)
                )
            })?;
            Ok(match command.answer() {
                Answer::Counter => Outcome::Counter(n),
                _ => Outcome::Int(n),
            })
        }
        (Answer::Transaction, Some(v)) => parse_transaction_output(command, v),
    }
}

/// A multi's output: `"aborted"`, or a list with one answer per sub-command.
fn parse_transaction_output(command: &Command, v: &Value) -> Result<Outcome, String> {
    let Command::Multi(commands) = command else {
        return Err("only a multi answers with a list".to_string());
    };
    match v {
        Value::String(s) if s == "aborted" => Ok(Outcome::Aborted),
        Value::Array(outs) if outs.len() == commands.len() => {
            let each = commands.iter().zip(outs).enumerate().map(|(i, (c, o))| {
                parse_output(c, Some(o), true).map_err(|m| format!("output[{i}]: {m}"))
            });
            Ok(Outcome::Multi(each.collect::<Result<_, _>>()?))
        }
        Value::Array(outs) => Err(format!(
            "the multi has {} sub-commands but its output lists {} answers",
            commands.len(),
            outs.len()
        )),
        other => Err(format!(
            "\"output\" of multi must be a list of answers or \"aborted\", found {}",
            kind_of(other)
        )),
    }
}

/// `{"error":"wrongtype"}`: the only error a history names.
fn parse_error(command: &Command, error: &Map<String, Value>) -> Result<Outcome, String> {
    let is_wrongtype = error.len() == 1
        && matches!(error.get("error"), Some(Value::String(s)) if s.eq_ignore_ascii_case("wrongtype"));
    if !is_wrongtype {
        return Err("an error output must be {\"error\":\"wrongtype\"}".to_string());
    }
    if !command.can_be_wrongtype() {
        return Err(format!("{} never answers WRONGTYPE", command.name()));
    }
    Ok(Outcome::WrongType)
}

/// A string answer; integers read as their decimal text.
fn text_of(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(format!(
            "\"output\" must be a string, found {}",
            kind_of(other)
        )),
    }
}
