//! The reference store synthetic histories are replayed on: a plain single-copy Redis-like
//! store with a clock, written independently of `KvModel` so each checks the other.
//!
//! ```text
//!   apply(command, point) ──► a write stamps the clock: clock = max(clock, point)
//!                          ──► every key it touches whose deadline is behind the clock is gone
//!                          ──► run, answer
//! ```
//!
//! This is the store `kv/expiry.rs` assumes: a write is stamped at its linearization point
//! (inside its interval), reads do not move the clock, and a key is gone once the clock is
//! past its deadline.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::kv::{Command, Outcome};
use crate::model::Time;

/// One key's value.
enum Val {
    /// A string.
    Str(String),
    /// field → value.
    Hash(BTreeMap<String, String>),
    /// Head first.
    List(VecDeque<String>),
    /// Members.
    Set(BTreeSet<String>),
    /// member → score.
    ZSet(BTreeMap<String, i64>),
}

/// The store: keys with values and deadlines, and the clock.
#[derive(Default)]
pub(super) struct Store {
    /// key → (value, deadline).
    keys: BTreeMap<String, (Val, Option<Time>)>,
    /// The largest stamp so far.
    clock: Time,
}

impl Store {
    /// Apply `command` at linearization point `point`; the answer.
    pub(super) fn apply(&mut self, command: &Command, point: Time) -> Outcome {
        if !command.is_read() {
            self.clock = self.clock.max(point);
        }
        match command {
            Command::Multi(commands) => {
                Outcome::Multi(commands.iter().map(|c| self.one(c, point)).collect())
            }
            one => self.one(one, point),
        }
    }

    fn one(&mut self, command: &Command, point: Time) -> Outcome {
        let key = command.key().to_string();
        if matches!(self.keys.get(&key), Some((_, Some(deadline))) if self.clock > *deadline) {
            self.keys.remove(&key);
        }
        match command {
            Command::Put { value, .. } => {
                self.keys.insert(key, (Val::Str(value.clone()), None));
                Outcome::Done
            }
            Command::PutPx { value, ttl_ms, .. } => {
                self.keys
                    .insert(key, (Val::Str(value.clone()), Some(point + ttl_ms)));
                Outcome::Done
            }
            Command::Delete { .. } => {
                self.keys.remove(&key);
                Outcome::Done
            }
            Command::PExpire { ttl_ms, .. } => match self.keys.get_mut(&key) {
                Some((_, deadline)) => {
                    *deadline = Some(point + ttl_ms);
                    Outcome::Int(1)
                }
                None => Outcome::Int(0),
            },
            Command::PTtl { .. } | Command::Ttl { .. } => {
                let ms = match self.keys.get(&key) {
                    None => return Outcome::Int(-2),
                    Some((_, None)) => return Outcome::Int(-1),
                    Some((_, Some(deadline))) => deadline - self.clock,
                };
                match command {
                    Command::Ttl { .. } => Outcome::Int(((ms + 500) / 1000) as i64),
                    _ => Outcome::Int(ms as i64),
                }
            }
            Command::Persist { .. } => match self.keys.get_mut(&key) {
                Some((_, deadline @ Some(_))) => {
                    *deadline = None;
                    Outcome::Int(1)
                }
                _ => Outcome::Int(0),
            },
            Command::Exists { .. } => Outcome::Int(self.keys.contains_key(&key).into()),
            _ => self.typed(key, command),
        }
    }

    /// Commands on one value's contents: `WRONGTYPE` if the key holds another type.
    fn typed(&mut self, key: String, command: &Command) -> Outcome {
        let entry = self.keys.remove(&key);
        let (mut val, deadline) = match entry {
            Some((val, deadline)) => (Some(val), deadline),
            None => (None, None),
        };
        let answer = match run(&mut val, command) {
            Some(answer) => answer,
            None => Outcome::WrongType,
        };
        let empty = match &val {
            Some(Val::Hash(m)) => m.is_empty(),
            Some(Val::List(l)) => l.is_empty(),
            Some(Val::Set(s)) => s.is_empty(),
            Some(Val::ZSet(z)) => z.is_empty(),
            _ => false,
        };
        if let (Some(val), false) = (val, empty) {
            self.keys.insert(key, (val, deadline));
        }
        answer
    }
}

/// Run a content command on `val` (created if absent and the command writes); `None` for a
/// value of another type.
fn run(val: &mut Option<Val>, command: &Command) -> Option<Outcome> {
    run_string(val, command).or_else(|| run_container(val, command))
}

fn count(n: usize) -> Outcome {
    Outcome::Int(n as i64)
}

fn flag(b: bool) -> Outcome {
    Outcome::Int(i64::from(b))
}

/// The string commands; `None` if `command` is not one, or `val` holds another type.
fn run_string(val: &mut Option<Val>, command: &Command) -> Option<Outcome> {
    use Command as C;
    let answer = match (command, val.as_mut()) {
        (C::Get { .. }, None) => Outcome::Value(None),
        (C::Get { .. }, Some(Val::Str(s))) => Outcome::Value(Some(s.clone())),
        (C::Append { value, .. }, Some(Val::Str(s))) => {
            s.push_str(value);
            Outcome::Done
        }
        (C::Append { value, .. }, None) => {
            *val = Some(Val::Str(value.clone()));
            Outcome::Done
        }
        (C::Cas { expected, new, .. }, current @ (None | Some(Val::Str(_)))) => {
            let now = match current {
                Some(Val::Str(s)) => Some(s.as_str()),
                _ => None,
            };
            let swapped = now == expected.as_deref();
            if swapped {
                *val = Some(Val::Str(new.clone()));
            }
            Outcome::Swapped(swapped)
        }
        (C::Incr { delta, .. }, Some(Val::Str(s))) => {
            let n = s.parse::<i64>().expect("counter keys hold integers") + delta;
            *s = n.to_string();
            Outcome::Counter(n)
        }
        (C::Incr { delta, .. }, None) => {
            *val = Some(Val::Str(delta.to_string()));
            Outcome::Counter(*delta)
        }
        _ => return None,
    };
    Some(answer)
}

/// The hash, list, set and sorted-set commands; `None` if `command` is not one, or `val`
/// holds another type.
fn run_container(val: &mut Option<Val>, command: &Command) -> Option<Outcome> {
    use Command as C;
    let answer = match (command, val.as_mut()) {
        (C::HSet { .. } | C::HGet { .. } | C::HDel { .. } | C::HLen { .. }, _) => {
            let Val::Hash(m) = val.get_or_insert_with(|| Val::Hash(BTreeMap::new())) else {
                return None;
            };
            match command {
                C::HSet { field, value, .. } => {
                    flag(m.insert(field.clone(), value.clone()).is_none())
                }
                C::HGet { field, .. } => Outcome::Value(m.get(field).cloned()),
                C::HDel { field, .. } => flag(m.remove(field).is_some()),
                _ => count(m.len()),
            }
        }
        (
            C::LPush { .. } | C::RPush { .. } | C::LPop { .. } | C::RPop { .. } | C::LLen { .. },
            _,
        ) => {
            let Val::List(l) = val.get_or_insert_with(|| Val::List(VecDeque::new())) else {
                return None;
            };
            match command {
                C::LPush { value, .. } => {
                    l.push_front(value.clone());
                    count(l.len())
                }
                C::RPush { value, .. } => {
                    l.push_back(value.clone());
                    count(l.len())
                }
                C::LPop { .. } => Outcome::Value(l.pop_front()),
                C::RPop { .. } => Outcome::Value(l.pop_back()),
                _ => count(l.len()),
            }
        }
        (C::SAdd { .. } | C::SRem { .. } | C::SIsMember { .. } | C::SCard { .. }, _) => {
            let Val::Set(s) = val.get_or_insert_with(|| Val::Set(BTreeSet::new())) else {
                return None;
            };
            match command {
                C::SAdd { member, .. } => flag(s.insert(member.clone())),
                C::SRem { member, .. } => flag(s.remove(member)),
                C::SIsMember { member, .. } => flag(s.contains(member)),
                _ => count(s.len()),
            }
        }
        (C::ZAdd { .. } | C::ZScore { .. } | C::ZRem { .. } | C::ZCard { .. }, _) => {
            let Val::ZSet(z) = val.get_or_insert_with(|| Val::ZSet(BTreeMap::new())) else {
                return None;
            };
            match command {
                C::ZAdd { score, member, .. } => flag(z.insert(member.clone(), *score).is_none()),
                C::ZScore { member, .. } => Outcome::Value(z.get(member).map(i64::to_string)),
                C::ZRem { member, .. } => flag(z.remove(member).is_some()),
                _ => count(z.len()),
            }
        }
        _ => return None,
    };
    Some(answer)
}
