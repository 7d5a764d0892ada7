//! Writing a history back out: one [`Line`] per operation, fields in the documented order, so
//! `History::parse_json_lines` reads it back to an equal history.

use serde::Serialize;
use serde_json::Value;

use crate::history::KvOperation;
use crate::kv::{Command, Outcome};

/// One operation as written to a file; field order is the documented one.
#[derive(Serialize)]
pub(super) struct Line<'a> {
    /// `client`.
    client: u64,
    /// `op`, `key` and the op's own fields.
    #[serde(flatten)]
    command: Fields<'a>,
    /// `invoke`.
    invoke: u64,
    /// `return`; always written, null for no return.
    #[serde(rename = "return")]
    ret: Option<u64>,
    /// `output`, omitted for acknowledged writes and for no return.
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
}

/// A command's fields: a line's, or one sub-command object of a multi's `ops`.
#[derive(Serialize, Default)]
struct Fields<'a> {
    /// `op`.
    op: &'static str,
    /// `key` (every op but multi).
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    /// `field` (hset, hget, hdel).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// `score` (zadd).
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<i64>,
    /// `member` (sets and sorted sets).
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<&'a str>,
    /// `expected` (cas only): `Some(None)` writes null, "key absent".
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<Option<&'a str>>,
    /// `value` (put, append, cas, hset, lpush, rpush).
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    /// `delta` (incr).
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<i64>,
    /// `px` (put with a deadline, pexpire).
    #[serde(skip_serializing_if = "Option::is_none")]
    px: Option<u64>,
    /// `ops` (multi).
    #[serde(skip_serializing_if = "Option::is_none")]
    ops: Option<Vec<Fields<'a>>>,
}

impl<'a> From<&'a Command> for Fields<'a> {
    fn from(command: &'a Command) -> Self {
        use Command as C;
        let mut f = Fields {
            op: command.name(),
            key: Some(command.key()),
            ..Fields::default()
        };
        match command {
            C::Put { value, .. }
            | C::Append { value, .. }
            | C::LPush { value, .. }
            | C::RPush { value, .. } => f.value = Some(value),
            C::PutPx { value, ttl_ms, .. } => {
                (f.value, f.px) = (Some(value.as_str()), Some(*ttl_ms))
            }
            C::PExpire { ttl_ms, .. } => f.px = Some(*ttl_ms),
            C::Cas { expected, new, .. } => {
                (f.expected, f.value) = (Some(expected.as_deref()), Some(new.as_str()));
            }
            C::Incr { delta, .. } => f.delta = Some(*delta),
            C::HSet { field, value, .. } => {
                (f.field, f.value) = (Some(field.as_str()), Some(value.as_str()))
            }
            C::HGet { field, .. } | C::HDel { field, .. } => f.field = Some(field),
            C::SAdd { member, .. }
            | C::SRem { member, .. }
            | C::SIsMember { member, .. }
            | C::ZScore { member, .. }
            | C::ZRem { member, .. } => f.member = Some(member),
            C::ZAdd { score, member, .. } => {
                (f.score, f.member) = (Some(*score), Some(member.as_str()))
            }
            C::Multi(commands) => {
                f.key = None;
                f.ops = Some(commands.iter().map(Fields::from).collect());
            }
            _ => {}
        }
        f
    }
}

impl<'a> From<&'a KvOperation> for Line<'a> {
    fn from(op: &'a KvOperation) -> Self {
        Line {
            client: op.client,
            command: Fields::from(&op.input),
            invoke: op.invoke,
            ret: op.ret(),
            output: op.output().and_then(|out| output(out, false)),
        }
    }
}

/// An answer as JSON; `None` for an acknowledged write at the top level (the field is
/// omitted), `"ok"` for one inside a multi's list.
fn output(out: &Outcome, in_list: bool) -> Option<Value> {
    let v = match out {
        Outcome::Done if in_list => Value::from("ok"),
        Outcome::Done => return None,
        Outcome::Value(v) => v.as_deref().map_or(Value::Null, Value::from),
        Outcome::Swapped(b) => Value::Bool(*b),
        Outcome::Counter(n) | Outcome::Int(n) => Value::from(*n),
        Outcome::WrongType => serde_json::json!({"error": "wrongtype"}),
        Outcome::Aborted => Value::from("aborted"),
        Outcome::Multi(outs) => Value::Array(
            outs.iter()
                .map(|o| output(o, true).unwrap_or(Value::Null))
                .collect(),
        ),
    };
    Some(v)
}
