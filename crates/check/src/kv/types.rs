//! The values a key can hold, and the typed commands on them, as a single copy of the store
//! would run them.
//!
//! ```text
//!   Slot = None (absent) | Some(Entry { value, deadline })
//!
//!   value    Str("x") | Hash{f=v,..} | List[a,b,..] | Set{a,b,..} | ZSet{m:3,..}
//!              │
//!              ├─ command of its type ──► answer, new value (kept deadline)
//!              ├─ command of another type ─► WRONGTYPE, nothing changes
//!              └─ last field/element/member removed ──► the key is gone (Redis deletes
//!                                                        empty aggregates, deadline too)
//! ```
//!
//! Invariants: aggregates are never empty (an empty one is an absent key); hash fields, set
//! members and sorted-set members are kept sorted, so two equal contents are equal values
//! (the search caches states by equality). The road not taken: `BTreeMap`/`BTreeSet`, whose
//! clone costs a node allocation each; these values are small and cloned on every step.

use super::command::Command;
use super::outcome::Outcome;
use crate::model::Time;

/// What a key holds, if anything.
pub(crate) type Slot = Option<Entry>;

/// A present key: its value and, if it has one, its deadline.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Entry {
    /// The key's value.
    pub value: Value,
    /// When the key expires, as far as the history can tell (`kv/expiry.rs`).
    pub deadline: Option<Deadline>,
}

/// A key's expiry time `E`, known only to lie in `[lo, hi]`: the write that set it was stamped
/// somewhere in its interval `[invoke, return]`, and `E = stamp + ttl_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Deadline {
    /// Earliest possible expiry: the setter's invoke + ttl.
    pub lo: Time,
    /// Latest possible expiry: the setter's return + ttl (`Time::MAX` if it never returned).
    pub hi: Time,
    /// The ttl itself: a `pttl` can never answer more.
    pub ttl_ms: u64,
}

/// A key's value, one variant per Redis type the models know.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Value {
    /// A string.
    Str(String),
    /// A hash: (field, value) pairs sorted by field; never empty.
    Hash(Vec<(String, String)>),
    /// A list, head first; never empty.
    List(Vec<String>),
    /// A set, sorted; never empty.
    Set(Vec<String>),
    /// A sorted set: (member, score) pairs sorted by member; never empty.
    ZSet(Vec<(String, i64)>),
}

/// A fresh key holding `value`, with no deadline.
pub(crate) fn fresh(value: Value) -> Entry {
    Entry {
        value,
        deadline: None,
    }
}

/// The integer reply for a count or a flag.
fn int(n: usize) -> Outcome {
    Outcome::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Run a hash, list, set or sorted-set command on `slot`; the store's answer. `None` if the
/// command is not one of these (the caller runs it).
pub(crate) fn run_typed(slot: &mut Slot, command: &Command) -> Option<Outcome> {
    use Command as C;
    let answer = match command {
        C::HSet { .. } | C::HGet { .. } | C::HDel { .. } | C::HLen { .. } => {
            run_hash(slot, command)
        }
        C::LPush { .. } | C::RPush { .. } | C::LPop { .. } | C::RPop { .. } | C::LLen { .. } => {
            run_list(slot, command)
        }
        C::SAdd { .. } | C::SRem { .. } | C::SIsMember { .. } | C::SCard { .. } => {
            run_set(slot, command)
        }
        C::ZAdd { .. } | C::ZScore { .. } | C::ZRem { .. } | C::ZCard { .. } => {
            run_zset(slot, command)
        }
        _ => return None,
    };
    Some(answer)
}

/// Drop the key if its aggregate became empty.
fn drop_if_empty(slot: &mut Slot) {
    let empty = match slot.as_ref().map(|e| &e.value) {
        Some(Value::Hash(v)) => v.is_empty(),
        Some(Value::List(v) | Value::Set(v)) => v.is_empty(),
        Some(Value::ZSet(v)) => v.is_empty(),
        _ => false,
    };
    if empty {
        *slot = None;
    }
}

fn run_hash(slot: &mut Slot, command: &Command) -> Outcome {
    if slot.is_none() {
        if let Command::HSet { .. } = command {
            *slot = Some(fresh(Value::Hash(Vec::new())));
        } else {
            // Reads and deletes on an absent hash: nil or 0, and nothing to change.
            return match command {
                Command::HGet { .. } => Outcome::nil(),
                _ => int(0),
            };
        }
    }
    let Some(Entry {
        value: Value::Hash(fields),
        ..
    }) = slot.as_mut()
    else {
        return Outcome::WrongType;
    };
    let at = |f: &str| fields.binary_search_by(|(g, _)| g.as_str().cmp(f));
    let answer = match command {
        Command::HSet { field, value, .. } => match at(field) {
            Ok(i) => {
                fields[i].1 = value.clone();
                int(0)
            }
            Err(i) => {
                fields.insert(i, (field.clone(), value.clone()));
                int(1)
            }
        },
        Command::HGet { field, .. } => Outcome::Value(at(field).ok().map(|i| fields[i].1.clone())),
        Command::HDel { field, .. } => int(at(field).map(|i| fields.remove(i)).is_ok().into()),
        _ => int(fields.len()),
    };
    drop_if_empty(slot);
    answer
}

fn run_list(slot: &mut Slot, command: &Command) -> Outcome {
    if slot.is_none() {
        match command {
            Command::LPush { .. } | Command::RPush { .. } => {
                *slot = Some(fresh(Value::List(Vec::new())));
            }
            Command::LLen { .. } => return int(0),
            _ => return Outcome::nil(),
        }
    }
    let Some(Entry {
        value: Value::List(items),
        ..
    }) = slot.as_mut()
    else {
        return Outcome::WrongType;
    };
    let answer = match command {
        Command::LPush { value, .. } => {
            items.insert(0, value.clone());
            int(items.len())
        }
        Command::RPush { value, .. } => {
            items.push(value.clone());
            int(items.len())
        }
        Command::LPop { .. } => Outcome::Value(Some(items.remove(0))),
        Command::RPop { .. } => Outcome::Value(items.pop()),
        _ => int(items.len()),
    };
    drop_if_empty(slot);
    answer
}

fn run_set(slot: &mut Slot, command: &Command) -> Outcome {
    if slot.is_none() {
        if let Command::SAdd { .. } = command {
            *slot = Some(fresh(Value::Set(Vec::new())));
        } else {
            return int(0);
        }
    }
    let Some(Entry {
        value: Value::Set(members),
        ..
    }) = slot.as_mut()
    else {
        return Outcome::WrongType;
    };
    let answer = match command {
        Command::SAdd { member, .. } => match members.binary_search(member) {
            Ok(_) => int(0),
            Err(i) => {
                members.insert(i, member.clone());
                int(1)
            }
        },
        Command::SRem { member, .. } => int(members
            .binary_search(member)
            .map(|i| members.remove(i))
            .is_ok()
            .into()),
        Command::SIsMember { member, .. } => int(members.binary_search(member).is_ok().into()),
        _ => int(members.len()),
    };
    drop_if_empty(slot);
    answer
}

fn run_zset(slot: &mut Slot, command: &Command) -> Outcome {
    if slot.is_none() {
        match command {
            Command::ZAdd { .. } => *slot = Some(fresh(Value::ZSet(Vec::new()))),
            Command::ZScore { .. } => return Outcome::nil(),
            _ => return int(0),
        }
    }
    let Some(Entry {
        value: Value::ZSet(members),
        ..
    }) = slot.as_mut()
    else {
        return Outcome::WrongType;
    };
    let at = |m: &str| members.binary_search_by(|(n, _)| n.as_str().cmp(m));
    let answer = match command {
        Command::ZAdd { score, member, .. } => match at(member) {
            Ok(i) => {
                members[i].1 = *score;
                int(0)
            }
            Err(i) => {
                members.insert(i, (member.clone(), *score));
                int(1)
            }
        },
        Command::ZScore { member, .. } => {
            Outcome::Value(at(member).ok().map(|i| members[i].1.to_string()))
        }
        Command::ZRem { member, .. } => int(at(member).map(|i| members.remove(i)).is_ok().into()),
        _ => int(members.len()),
    };
    drop_if_empty(slot);
    answer
}

/// One short, bounded description of a value: `"x"`, `hash{f="v"}`, `list["a", "b"]`,
/// `set{"a"}`, `zset{"m"=3}`; aggregates show at most [`SHOWN_ITEMS_MAX`] items.
pub(crate) fn describe_value(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("{s:?}"),
        Value::Hash(v) => items("hash{", v.iter().map(|(f, x)| format!("{f:?}={x:?}")), "}"),
        Value::List(v) => items("list[", v.iter().map(|x| format!("{x:?}")), "]"),
        Value::Set(v) => items("set{", v.iter().map(|x| format!("{x:?}")), "}"),
        Value::ZSet(v) => items("zset{", v.iter().map(|(m, s)| format!("{m:?}={s}")), "}"),
    }
}

/// Most items of one aggregate a description shows; the rest are counted.
pub(crate) const SHOWN_ITEMS_MAX: usize = 8;

fn items(open: &str, all: impl ExactSizeIterator<Item = String>, close: &str) -> String {
    let n = all.len();
    let mut shown: Vec<String> = all.take(SHOWN_ITEMS_MAX).collect();
    if n > SHOWN_ITEMS_MAX {
        shown.push(format!("…+{}", n - SHOWN_ITEMS_MAX));
    }
    format!("{open}{}{close}", shown.join(", "))
}
