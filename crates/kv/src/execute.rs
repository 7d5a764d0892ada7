//! What each command means: a pure function from (map, command) to (map', reply).
//!
//! ```text
//!   command ──► is_read_only? ──yes──► read(&map)        ─► reply   (map untouched)
//!                    │
//!                    no ────────────► write(&mut map)   ─► reply   (map changed, or an Error
//!                                                                    reply and map unchanged)
//! ```
//!
//! Invariants:
//! - Deterministic: the reply and the new map depend only on the old map, the command and the
//!   limits. No clock, no randomness, ordered maps only; every replica computes the same thing.
//! - All or nothing: a command that answers `Reply::Error` has changed nothing. Checks happen
//!   before the first write.
//! - Never panics on client data: a non-integer counter or an overflow is an `Error` reply.
//!
//! Semantics follow Redis (the RESP front end must behave like `redis-server` for GET, SET NX/XX,
//! DEL, EXISTS, APPEND, INCRBY, MGET, MSET); compare-and-set is our own addition.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use crate::codec::Limits;
use crate::command::{Command, Condition};
use crate::reply::{KvError, Reply};

/// The replicated map. Ordered, so iteration (snapshots, digests) is the same on every replica.
pub(crate) type Map = BTreeMap<Bytes, Bytes>;

/// Answer a read-only command. Callers check `Command::is_read_only` first.
pub(crate) fn read(map: &Map, command: &Command) -> Reply {
    match command {
        Command::Noop => Reply::Ok,
        Command::Get { key } => Reply::Value(map.get(key).cloned()),
        Command::Exists { keys } => Reply::Int(count(keys.iter().filter(|k| map.contains_key(*k)))),
        Command::MultiGet { keys } => {
            Reply::Values(keys.iter().map(|k| map.get(k).cloned()).collect())
        }
        other => Reply::Error(KvError::NotReadOnly {
            command: other.name().to_string(),
        }),
    }
}

/// Apply any command to the map.
pub(crate) fn execute(map: &mut Map, limits: &Limits, command: &Command) -> Reply {
    match command {
        Command::Put { key, value } => {
            map.insert(key.clone(), value.clone());
            Reply::Ok
        }
        Command::PutIf {
            key,
            value,
            condition,
        } => put_if(map, key, value, *condition),
        Command::Delete { keys } => {
            Reply::Int(count(keys.iter().filter(|k| map.remove(*k).is_some())))
        }
        Command::Append { key, value } => append(map, limits, key, value),
        Command::CompareAndSet { key, expected, new } => compare_and_set(map, key, expected, new),
        Command::Increment { key, by } => increment(map, key, *by),
        Command::MultiPut { pairs } => {
            for (k, v) in pairs {
                map.insert(k.clone(), v.clone());
            }
            Reply::Ok
        }
        read_only => read(map, read_only),
    }
}

/// Lists are bounded by `keys_per_command_max`, far below `i64::MAX`.
fn count<T>(items: impl Iterator<Item = T>) -> i64 {
    i64::try_from(items.count()).unwrap_or(i64::MAX)
}

fn put_if(map: &mut Map, key: &Bytes, value: &Bytes, condition: Condition) -> Reply {
    let present = map.contains_key(key);
    let holds = match condition {
        Condition::IfAbsent => !present,
        Condition::IfPresent => present,
    };
    if !holds {
        return Reply::Skipped;
    }
    map.insert(key.clone(), value.clone());
    Reply::Ok
}

fn append(map: &mut Map, limits: &Limits, key: &Bytes, value: &Bytes) -> Reply {
    let old = map.get(key).map(Bytes::len).unwrap_or(0);
    let new_len = old + value.len();
    if new_len > limits.value_bytes_max {
        return Reply::Error(KvError::ValueTooLarge {
            bytes: new_len as u64,
            max: limits.value_bytes_max as u64,
        });
    }
    let mut joined = BytesMut::with_capacity(new_len);
    if let Some(old) = map.get(key) {
        joined.extend_from_slice(old);
    }
    joined.extend_from_slice(value);
    map.insert(key.clone(), joined.freeze());
    Reply::Int(new_len as i64)
}

fn compare_and_set(map: &mut Map, key: &Bytes, expected: &Option<Bytes>, new: &Bytes) -> Reply {
    let current = map.get(key);
    if current != expected.as_ref() {
        return Reply::Cas {
            ok: false,
            current: current.cloned(),
        };
    }
    map.insert(key.clone(), new.clone());
    Reply::Cas {
        ok: true,
        current: Some(new.clone()),
    }
}

fn increment(map: &mut Map, key: &Bytes, by: i64) -> Reply {
    let old = match map.get(key) {
        None => 0,
        Some(v) => match parse_integer(v) {
            Some(n) => n,
            None => return Reply::Error(KvError::NotAnInteger),
        },
    };
    let Some(new) = old.checked_add(by) else {
        return Reply::Error(KvError::Overflow);
    };
    map.insert(key.clone(), Bytes::from(new.to_string()));
    Reply::Int(new)
}

/// Parse a value the way Redis' `string2ll` does: the canonical decimal form of an `i64` and
/// nothing else (no `+`, no spaces, no leading zeros, no `-0`). Strict on purpose: a value that
/// `INCR` accepts is exactly one that `INCR` could have written, so the text round-trips.
pub(crate) fn parse_integer(text: &[u8]) -> Option<i64> {
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    // 19 digits hold every i64; more cannot be canonical.
    if digits.is_empty() || digits.len() > 19 || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut magnitude: u64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    let signed = if negative {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    i64::try_from(signed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_only_in_their_canonical_redis_form() {
        assert_eq!(parse_integer(b"0"), Some(0));
        assert_eq!(parse_integer(b"42"), Some(42));
        assert_eq!(parse_integer(b"-17"), Some(-17));
        assert_eq!(parse_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_integer(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"1.5",
            b"abc",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
        ] {
            assert_eq!(
                parse_integer(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn every_i64_written_by_increment_parses_back_to_itself() {
        for n in [i64::MIN, -1, 0, 1, 10, i64::MAX] {
            assert_eq!(parse_integer(n.to_string().as_bytes()), Some(n));
        }
    }

    #[test]
    fn reading_a_write_command_is_refused_not_applied() {
        let mut map = Map::new();
        let put = Command::Put {
            key: Bytes::from_static(b"k"),
            value: Bytes::from_static(b"v"),
        };
        assert!(read(&map, &put).is_error());
        assert!(map.is_empty());
        assert_eq!(execute(&mut map, &Limits::default(), &put), Reply::Ok);
        assert_eq!(map.len(), 1);
    }
}
