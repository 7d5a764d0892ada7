//! What the simulated clients ask, and how each answer is written into the checked history.
//!
//! Every op exists twice: as the `kv::Command` a replica runs and as the `check::Command` the
//! linearizability checker's `kv` model replays. The two must mean the same thing, and every
//! `Done` reply must become the outcome the model would compute, or the checker reports
//! violations that are not there (or misses ones that are). The table this file keeps:
//!
//! ```text
//!   key kind   kv::Command                 kv::Reply              check::Command    Outcome
//!   ─────────  ──────────────────────────  ─────────────────────  ────────────────  ─────────────
//!   any        Get{k}                      Value(v)               get(k)            Value(v)
//!   any        Put{k,v}                    Ok                     put(k,v)          Done
//!   any        Delete{[k]}                 Int(removed)           delete(k)         Done
//!   any        CompareAndSet{k,exp,new}    Cas{ok,current}        cas(k,exp,new)    Swapped(ok)
//!   string     Append{k,v}                 Int(new length)        append(k,v)       Done
//!   counter    Increment{k,by}             Int(new value)         incr(k,by)        Counter(n)
//!   volatile   SET k v PX ms               Ok                     put(k,v)          Done
//!   any        (anything else)             (anything else)        —                 unexpected
//! ```
//!
//! The model keeps less than the replies say (`delete`'s count, `append`'s length, a failed
//! `cas`'s current value are dropped), which can only hide a violation, never invent one.
//!
//! Keys come in two kinds so that every reply is one the model can state: *string* keys
//! (`s0`, `s1`, …) never see `incr`, and *counter* keys (`n0`, `n1`, …) only ever hold
//! canonical integers (`incr` results and `i64::to_string` values), so `incr` never meets a
//! non-integer and never overflows with the small deltas used. Errors are thereby never
//! expected; one that arrives anyway is reported as *unexpected*, not guessed at.
//!
//! *Volatile* keys (`v0`, `v1`, one op in twenty) are written with a short TTL and never read:
//! the model has no clock, so it could not say when they vanish, and with no reader it need
//! not. They are there for the replicas: every run then expires keys through the leader's
//! `DISTRIBUTED.EXPIRE` entries (active expiry) under the run's faults, and the replica
//! invariants (state digests at every applied index, one term per index) judge that.
//!
//! Contention: keys are drawn skewed towards the first of each kind (the smaller of two
//! uniform draws), so most ops collide on a few keys, which is where linearizability bugs show.

use std::collections::BTreeMap;

use bytes::Bytes;
use distributed_core::{Rng, SeededRng};

/// One op, as the replica runs it and as the checker replays it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpSpec {
    /// What the replica runs.
    pub(crate) kv: kv::Command,
    /// What the checker's `kv` model replays: the same meaning in the history's vocabulary.
    pub(crate) check: check::Command,
}

/// The last value a client saw for each key: makes its `cas` expectations plausible, so some
/// succeed (a `cas` with a random expectation almost always fails, and tests little).
pub(crate) type Memory = BTreeMap<String, Option<String>>;

/// The keys clients draw from, and the mix of ops on each kind.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeySpace {
    /// How many text keys (`s0..`).
    pub(crate) string_keys: usize,
    /// How many integer keys (`n0..`).
    pub(crate) counter_keys: usize,
}

impl KeySpace {
    /// A random op for the client with session `client_id`, about to send request `seq`.
    /// Values written are unique to that request, so a read names the write it saw.
    pub(crate) fn draw(
        &self,
        rng: &mut SeededRng,
        memory: &Memory,
        client_id: u64,
        seq: u64,
    ) -> OpSpec {
        match rng.range(0, 20) {
            0 => volatile_put(rng, format!("{client_id}.{seq}")),
            1..=8 => {
                let key = format!("n{}", skewed(rng, self.counter_keys));
                counter_op(rng, memory, key)
            }
            _ => {
                let key = format!("s{}", skewed(rng, self.string_keys));
                string_op(rng, memory, key, format!("{client_id}.{seq}"))
            }
        }
    }
}

/// How many volatile keys there are, and the longest TTL they are written with (in ms, the
/// simulated time's unit): a few ticks, so many expire within a run.
const VOLATILE_KEYS: u64 = 2;
const VOLATILE_TTL_MS_MAX: u64 = 500;

/// `SET v<i> unique PX ms`: a write the model sees as a put, on a key no op reads.
fn volatile_put(rng: &mut SeededRng, unique: String) -> OpSpec {
    let key = format!("v{}", rng.range(0, VOLATILE_KEYS));
    let ttl_ms = rng.range(1, VOLATILE_TTL_MS_MAX + 1).to_string();
    let words = ["set", key.as_str(), unique.as_str(), "PX", ttl_ms.as_str()];
    let kv = kv::Command::from_words(words.iter().map(|w| bytes(w)).collect())
        .expect("SET k v PX ms is a valid command");
    OpSpec {
        kv,
        check: check::Command::Put { key, value: unique },
    }
}

impl KeySpace {
    /// The first op of a session: an `incr`, which every replica variant answers only once it
    /// has been applied. The replicas create a session when its seq-1 request applies (the
    /// dissertation's RegisterClient, §6.3, folded into the first command); a session opened
    /// by a read that a broken replica answers locally, or by a put it acknowledges before
    /// commit, may never exist, and every later write would be refused as `SessionUnknown`.
    pub(crate) fn opening(&self, rng: &mut SeededRng) -> OpSpec {
        let key = format!("n{}", skewed(rng, self.counter_keys));
        incr(key, small_delta(rng))
    }
}

/// An index in `0..n` biased towards 0: P(0) ≈ 2/n.
fn skewed(rng: &mut SeededRng, n: usize) -> usize {
    let n = n.max(1) as u64;
    rng.range(0, n).min(rng.range(0, n)) as usize
}

/// The expectation of a `cas`: usually the last value seen, sometimes "absent".
fn expectation(rng: &mut SeededRng, memory: &Memory, key: &str) -> Option<String> {
    match memory.get(key) {
        Some(seen) if rng.range(0, 4) != 0 => seen.clone(),
        _ => None,
    }
}

fn string_op(rng: &mut SeededRng, memory: &Memory, key: String, unique: String) -> OpSpec {
    match rng.range(0, 100) {
        0..=34 => get(key),
        35..=59 => put(key, unique),
        60..=79 => {
            let letter = char::from(b'a' + rng.range(0, 26) as u8).to_string();
            OpSpec {
                kv: kv::Command::append(bytes(&key), bytes(&letter)),
                check: check::Command::Append { key, value: letter },
            }
        }
        80..=91 => {
            let expected = expectation(rng, memory, &key);
            cas(key, expected, unique)
        }
        _ => delete(key),
    }
}

fn counter_op(rng: &mut SeededRng, memory: &Memory, key: String) -> OpSpec {
    let small = |rng: &mut SeededRng| rng.range(0, 21).to_string();
    match rng.range(0, 100) {
        0..=29 => get(key),
        30..=69 => incr(key, small_delta(rng)),
        70..=79 => {
            let value = small(rng);
            put(key, value)
        }
        80..=89 => {
            let expected = expectation(rng, memory, &key);
            let new = small(rng);
            cas(key, expected, new)
        }
        _ => delete(key),
    }
}

/// A delta in -2..=5: counters drift upwards but also go negative, and never overflow.
fn small_delta(rng: &mut SeededRng) -> i64 {
    rng.range(0, 8) as i64 - 2
}

fn incr(key: String, by: i64) -> OpSpec {
    OpSpec {
        kv: kv::Command::incr_by(bytes(&key), by),
        check: check::Command::Incr { key, delta: by },
    }
}

fn get(key: String) -> OpSpec {
    OpSpec {
        kv: kv::Command::get(bytes(&key)),
        check: check::Command::Get { key },
    }
}

fn put(key: String, value: String) -> OpSpec {
    OpSpec {
        kv: kv::Command::set(bytes(&key), bytes(&value)),
        check: check::Command::Put { key, value },
    }
}

fn cas(key: String, expected: Option<String>, new: String) -> OpSpec {
    OpSpec {
        kv: kv::Command::cas(bytes(&key), expected.as_deref().map(bytes), bytes(&new)),
        check: check::Command::Cas { key, expected, new },
    }
}

fn delete(key: String) -> OpSpec {
    OpSpec {
        kv: kv::Command::del(vec![bytes(&key)]),
        check: check::Command::Delete { key },
    }
}

fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn text(b: &Bytes) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| format!("a value that is not UTF-8: {b:?}"))
}

/// A value reply (`Bulk` or `Null`) as the model's optional text.
fn value(reply: &kv::Reply) -> Option<Result<Option<String>, String>> {
    let v = reply.as_value().ok()?;
    Some(v.map(text).transpose())
}

/// A CAS reply, `[1|0, current]`, as (swapped, current).
fn cas_parts(reply: &kv::Reply) -> Option<(bool, &kv::Reply)> {
    match reply {
        kv::Reply::Array(items) => match items.as_slice() {
            [kv::Reply::Int(ok), current] => Some((*ok == 1, current)),
            _ => None,
        },
        _ => None,
    }
}

/// The history outcome of a `Done(reply)` to `command`, or why the model cannot state it.
pub(crate) fn outcome(
    command: &check::Command,
    reply: &kv::Reply,
) -> Result<check::Outcome, String> {
    use check::{Command as C, Outcome as O};
    use kv::Reply as R;
    let unexpected = || format!("{command} was answered {reply}");
    match (command, reply) {
        (C::Get { .. }, r) => Ok(O::Value(value(r).ok_or_else(unexpected)??)),
        (C::Put { .. }, r) if r.is_ok() => Ok(O::Done),
        (C::Delete { .. } | C::Append { .. }, R::Int(_)) => Ok(O::Done),
        (C::Cas { .. }, r) => cas_parts(r)
            .map(|(ok, _)| O::Swapped(ok))
            .ok_or_else(unexpected),
        (C::Incr { .. }, R::Int(n)) => Ok(O::Counter(*n)),
        _ => Err(unexpected()),
    }
}

/// What a `Done(reply)` to `command` tells the client about its key's value now, if anything.
pub(crate) fn observed(command: &check::Command, reply: &kv::Reply) -> Option<Option<String>> {
    use check::Command as C;
    use kv::Reply as R;
    match (command, reply) {
        (C::Get { .. }, r) => value(r)?.ok(),
        (C::Put { value, .. }, r) if r.is_ok() => Some(Some(value.clone())),
        (C::Delete { .. }, R::Int(_)) => Some(None),
        (C::Cas { .. }, r) => value(cas_parts(r)?.1)?.ok(),
        (C::Incr { .. }, R::Int(n)) => Some(Some(n.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use check::{Command as C, Outcome as O};
    use kv::{KvError, Reply as R};

    #[test]
    fn every_reply_maps_to_the_outcome_the_model_computes() {
        let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        let cases = [
            (C::get("s0"), R::Bulk(b("x")), O::value("x")),
            (C::get("s0"), R::Null, O::nil()),
            (C::put("s0", "x"), R::ok(), O::Done),
            (C::delete("s0"), R::Int(1), O::Done),
            (C::append("s0", "a"), R::Int(3), O::Done),
            (
                C::cas("s0", None, "y"),
                R::Array(vec![R::Int(0), R::Bulk(b("x"))]),
                O::Swapped(false),
            ),
            (C::incr("n0", 2), R::Int(7), O::Counter(7)),
        ];
        for (command, reply, want) in cases {
            assert_eq!(outcome(&command, &reply), Ok(want), "{command} {reply}");
        }
    }

    #[test]
    fn an_error_or_a_reply_of_the_wrong_shape_is_unexpected_not_guessed() {
        let err = outcome(&C::incr("n0", 1), &R::Error(KvError::NotAnInteger)).unwrap_err();
        assert!(err.contains("incr(n0, 1)"), "{err}");
        assert!(outcome(&C::get("s0"), &R::ok()).is_err());
        assert!(outcome(&C::put("s0", "x"), &R::Int(1)).is_err());
    }

    #[test]
    fn both_halves_of_a_drawn_op_name_the_same_key_and_kind() {
        let space = KeySpace {
            string_keys: 3,
            counter_keys: 2,
        };
        let mut rng = SeededRng::new(7);
        let memory = Memory::new();
        let mut kinds = std::collections::BTreeSet::new();
        for seq in 1..2_000 {
            let op = space.draw(&mut rng, &memory, 1, seq);
            let key = op.check.key().to_string();
            assert_eq!(
                op.kv.name() == "incrby",
                key.starts_with('n') && op.check.name() == "incr"
            );
            if op.check.name() == "append" {
                assert!(
                    key.starts_with('s'),
                    "appends only on string keys: {}",
                    op.check
                );
            }
            kinds.insert(op.check.name());
        }
        assert_eq!(kinds.len(), 6, "every op kind is drawn: {kinds:?}");
    }

    #[test]
    fn volatile_keys_are_written_with_a_short_ttl_and_modelled_as_puts() {
        let space = KeySpace {
            string_keys: 3,
            counter_keys: 2,
        };
        let mut rng = SeededRng::new(5);
        let memory = Memory::new();
        let volatile: Vec<OpSpec> = (1..400)
            .map(|seq| space.draw(&mut rng, &memory, 1, seq))
            .filter(|op| op.check.key().starts_with('v'))
            .collect();
        assert!(volatile.len() >= 5, "about one op in twenty");
        for op in volatile {
            assert_eq!((op.kv.name(), op.check.name()), ("set", "put"));
            let args = op.kv.args();
            assert_eq!(args[2].as_ref(), b"PX");
            let ttl: u64 = std::str::from_utf8(&args[3]).unwrap().parse().unwrap();
            assert!((1..=VOLATILE_TTL_MS_MAX).contains(&ttl));
        }
    }

    #[test]
    fn a_session_opens_with_an_increment_that_only_a_commit_can_answer() {
        let space = KeySpace {
            string_keys: 3,
            counter_keys: 2,
        };
        let mut rng = SeededRng::new(11);
        for _ in 0..100 {
            let op = space.opening(&mut rng);
            assert_eq!(op.kv.name(), "incrby");
            assert!(!op.kv.is_read_only());
        }
    }

    #[test]
    fn keys_are_skewed_towards_the_first_of_each_kind() {
        let mut rng = SeededRng::new(3);
        let mut hits = [0u32; 3];
        for _ in 0..9_000 {
            hits[skewed(&mut rng, 3)] += 1;
        }
        assert!(hits[0] > hits[1] && hits[1] > hits[2], "{hits:?}");
    }
}
