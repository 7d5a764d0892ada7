//! What the simulated clients ask: the op mix over the key space, as the store's own
//! [`kv::Body`] (one command, or a MULTI/EXEC transaction).
//!
//! One vocabulary: the body a replica runs is the body the history records
//! (`HistoryBuilder::invoke_kv` / `complete_kv`), and the `check` crate alone says what a body
//! and its reply mean to the linearizability model (`check`'s `kv/request.rs`). So this file
//! only has to draw bodies that model knows; a reply it cannot state is counted *unexpected*.
//!
//! ```text
//!   key kind      keys         ops (one command each)                         share
//!   ────────────  ───────────  ─────────────────────────────────────────────  ─────
//!   string        s0 s1 …      GET SET APPEND CAS DEL                          37%
//!   counter       n0 n1 …      GET INCRBY SET CAS DEL (only integers, so no     36%
//!                              INCR ever meets a non-integer)
//!   hash          h0 h1        HSET HGET HDEL HLEN DEL, one field of f0..f3    ┐
//!   list          l0 l1        LPUSH RPUSH LPOP RPOP LLEN DEL                  │ 12%
//!   set           m0 m1        SADD SREM SISMEMBER SCARD DEL, members e0..e4   │ (1 in 10
//!   sorted set    z0 z1        ZADD (integer score) ZSCORE ZREM ZCARD DEL      ┘  wrong-type)
//!   volatile      v0 v1        SET PX, SETEX, PEXPIRE, PERSIST; and GET PTTL    5%
//!                              TTL EXISTS (reads only without wall-clock skew)
//!   transaction   one group    MULTI 2..=4 of the above on a group's keys EXEC; 10%
//!                              1 in 3 WATCHes a key of the group first
//! ```
//!
//! **Transactions** draw every key from one small *group* (`TXN_GROUPS`: `{s0 h0 l0}`,
//! `{s1 n1 m0 z0}`): the checker's search is per partition, and a transaction joins its keys'
//! partitions; random keys would merge the whole key space into one partition too large to
//! search. A WATCHed EXEC first reads `DISTRIBUTED.INDEX` (as the server's WATCH does, through
//! the read path) and sends that index as the body's `since` (`client.rs`); a watched key
//! written since then makes the replica answer `*-1`, which the history records as *aborted*
//! (the model checks that an aborted EXEC changed nothing).
//!
//! **Wrong types**: one typed op in ten is a *read* of another type (`GET h0`, `LLEN s1`, …),
//! so WRONGTYPE replies are exercised without a key ever changing type (a write of the wrong
//! type to an absent key would create it with that type and confuse the rest of the mix).
//!
//! **Volatile keys and the clock.** The model judges expiry assuming every entry's `time_ms`
//! lies inside its op's [invoke, return] interval, in simulated ms (`check`'s `kv/expiry.rs`).
//! The sim stamps a request with the *receiving node's* wall clock at the send
//! (`wall_clock.rs`), and a leader stamps its active-expiry entries with its own: without
//! skew every offset is 0, so a stamp is the send time (after the invoke, before the `Done`),
//! and no entry is stamped in the future. Under the skew profiles a host's clock is up to
//! ±250 ms off: a client's own stamp would not help, since a leader ahead still stamps
//! `DISTRIBUTED.EXPIRE` in the future and expires a key before a read that returns before its
//! earliest deadline. So with skew (`volatile_reads == false`) volatile keys are only written
//! blindly (`SET PX`, whose `+OK` says nothing of the clock), as before: the replicas still
//! expire them under skewed leaders, and replica agreement judges that.
//!
//! Contention: keys are drawn skewed towards the first of each kind (the smaller of two
//! uniform draws), so most ops collide on a few keys, which is where linearizability bugs
//! show. Values written are unique to their request (`client.seq`), so a read names the write
//! it saw.

use std::collections::BTreeMap;

use bytes::Bytes;
use distributed_core::{Rng, SeededRng};

#[path = "ops_mix.rs"]
mod mix;

pub(crate) use mix::{counter_op, string_op, typed_op, volatile_op};

/// One op: what the replica runs and the history records, and what kind of op it is (for
/// the run's counters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpSpec {
    /// The body sent, exactly as recorded. A WATCHed EXEC's `since` is filled in by the client
    /// once it has read the index.
    pub(crate) body: kv::Body,
    /// What the counters make of its reply.
    pub(crate) kind: OpKind,
}

/// What kind of op, for [`OpCounts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// A single command on a key of its own type.
    Plain,
    /// A MULTI/EXEC transaction.
    Exec,
    /// A read of a volatile key: answered "absent" once the key expired.
    VolatileRead,
    /// A read of a key of another type: answered WRONGTYPE when the key exists.
    WrongType,
}

/// The last value a client saw for each string or counter key: makes its `cas` expectations
/// plausible, so some succeed (a `cas` with a random expectation almost always fails).
pub(crate) type Memory = BTreeMap<String, Option<String>>;

/// How many keys of each typed kind (hash, list, set, sorted set), and of volatile keys.
pub(crate) const TYPED_KEYS: usize = 2;

/// The transaction groups: each EXEC draws all its keys from one. Named by kind and index;
/// the string and counter indexes wrap to the options' key counts. `n0` is in none: every
/// session opens with an `incr` on (mostly) `n0`, so during an outage it gathers the ops
/// without a return, and each of those doubles the orders a partition's search may try;
/// merged with `s0`'s, they exhausted the search budget (seed 274 of the membership run).
const TXN_GROUPS: [&[(char, usize)]; 2] = [
    &[('s', 0), ('h', 0), ('l', 0)],
    &[('s', 1), ('n', 1), ('m', 0), ('z', 0)],
];

/// Commands per transaction: 2..=TXN_COMMANDS_MAX.
const TXN_COMMANDS_MAX: u64 = 4;

/// The keys clients draw from, and the mix of ops on each kind.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeySpace {
    /// How many text keys (`s0..`).
    pub(crate) string_keys: usize,
    /// How many integer keys (`n0..`).
    pub(crate) counter_keys: usize,
    /// Volatile keys are read too (no wall-clock skew: see the module docs).
    pub(crate) volatile_reads: bool,
}

impl KeySpace {
    /// A random op for the client with session `client_id`, about to send request `seq`.
    pub(crate) fn draw(
        &self,
        rng: &mut SeededRng,
        memory: &Memory,
        client_id: u64,
        seq: u64,
    ) -> OpSpec {
        let unique = format!("{client_id}.{seq}");
        let (command, kind) = match rng.range(0, 100) {
            0..=4 => volatile_op(rng, self.volatile_reads, &unique),
            5..=14 => return self.transaction(rng, memory, &unique),
            15..=26 => typed_op(rng, self, &unique),
            27..=62 => {
                let key = format!("n{}", skewed(rng, self.counter_keys));
                (counter_op(rng, memory, &key), OpKind::Plain)
            }
            _ => {
                let key = format!("s{}", skewed(rng, self.string_keys));
                (string_op(rng, memory, &key, &unique), OpKind::Plain)
            }
        };
        OpSpec {
            body: kv::Body::One(command),
            kind,
        }
    }

    /// The first op of a session: an `incr`, which every replica variant answers only once it
    /// has been applied. The replicas create a session when its seq-1 request applies (the
    /// dissertation's RegisterClient, §6.3, folded into the first command); a session opened
    /// by a read that a broken replica answers locally, or by a put it acknowledges before
    /// commit, may never exist, and every later write would be refused as `SessionUnknown`.
    pub(crate) fn opening(&self, rng: &mut SeededRng) -> OpSpec {
        let key = format!("n{}", skewed(rng, self.counter_keys));
        OpSpec {
            body: kv::Body::One(kv::Command::incr_by(bytes(&key), small_delta(rng))),
            kind: OpKind::Plain,
        }
    }

    /// A MULTI/EXEC of 2..=4 commands on one group's keys; one in three WATCHes one of them
    /// (`since` is 0 until the client has read the index).
    fn transaction(&self, rng: &mut SeededRng, memory: &Memory, unique: &str) -> OpSpec {
        let group = TXN_GROUPS[rng.range(0, TXN_GROUPS.len() as u64) as usize];
        let n = rng.range(2, TXN_COMMANDS_MAX + 1);
        let mut keys = Vec::new();
        let commands = (0..n)
            .map(|i| {
                let (kind, index) = group[rng.range(0, group.len() as u64) as usize];
                let key = self.group_key(kind, index);
                let unique = format!("{unique}.{i}");
                keys.push(key.clone());
                match kind {
                    's' => string_op(rng, memory, &key, &unique),
                    'n' => counter_op(rng, memory, &key),
                    _ => mix::typed_write_or_read(rng, kind, &key, &unique),
                }
            })
            .collect();
        let watched = if rng.range(0, 3) == 0 {
            vec![bytes(&keys[rng.range(0, keys.len() as u64) as usize])]
        } else {
            Vec::new()
        };
        OpSpec {
            body: kv::Body::Exec {
                watched,
                since: 0,
                commands,
            },
            kind: OpKind::Exec,
        }
    }

    /// A group's key of `kind`: string and counter indexes wrap to how many there are.
    fn group_key(&self, kind: char, index: usize) -> String {
        match kind {
            's' => format!("s{}", index % self.string_keys.max(1)),
            'n' => format!("n{}", index % self.counter_keys.max(1)),
            _ => format!("{kind}{index}"),
        }
    }
}

/// An index in `0..n` biased towards 0: P(0) ≈ 2/n.
pub(crate) fn skewed(rng: &mut SeededRng, n: usize) -> usize {
    let n = n.max(1) as u64;
    rng.range(0, n).min(rng.range(0, n)) as usize
}

/// A delta in -2..=5: counters drift upwards but also go negative, and never overflow.
pub(crate) fn small_delta(rng: &mut SeededRng) -> i64 {
    rng.range(0, 8) as i64 - 2
}

/// The command whose words are `words` (name first); the mix only draws valid ones.
pub(crate) fn command(words: &[&str]) -> kv::Command {
    kv::Command::from_words(words.iter().map(|w| bytes(w)).collect())
        .unwrap_or_else(|e| panic!("the op mix drew an invalid command {words:?}: {e}"))
}

pub(crate) fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn text(b: &Bytes) -> Option<String> {
    String::from_utf8(b.to_vec()).ok()
}

/// A value reply (`Bulk` or `Null`) as optional text.
fn value(reply: &kv::Reply) -> Option<Option<String>> {
    match reply.as_value().ok()? {
        Some(b) => Some(Some(text(b)?)),
        None => Some(None),
    }
}

/// What a `Done(reply)` to `body` tells the client about a string or counter key's value
/// now, if anything: (key, value or absent). Only single commands teach it.
pub(crate) fn observed(body: &kv::Body, reply: &kv::Reply) -> Option<(String, Option<String>)> {
    use kv::Reply as R;
    let kv::Body::One(c) = body else { return None };
    let args = c.args();
    let key = text(args.first()?)?;
    if !(key.starts_with('s') || key.starts_with('n')) {
        return None;
    }
    let seen = match (c.name(), reply) {
        ("get", r) => value(r)?,
        ("set", r) if r.is_ok() && args.len() == 2 => Some(text(&args[1])?),
        ("del", R::Int(_)) => None,
        ("cas", R::Array(items)) => match items.as_slice() {
            [R::Int(_), current] => value(current)?,
            _ => return None,
        },
        ("incrby", R::Int(n)) => Some(n.to_string()),
        _ => return None,
    };
    Some((key, seen))
}

/// What the clients did over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Ops started (each is one history entry).
    pub invoked: u64,
    /// Ops that got a `Done` the model could state: history entries with a return.
    pub ok: u64,
    /// History entries with no return (abandoned, still in flight at the end, or unexpected).
    pub no_return: u64,
    /// Ops given up on after `op_attempts_max` sends.
    pub abandoned: u64,
    /// `Done` replies the model could not state (an error, or the wrong shape): a finding.
    pub unexpected: u64,
    /// MULTI/EXEC transactions answered (applied or aborted).
    pub execs: u64,
    /// Of those, aborted by a WATCHed key written since the client read the index (`*-1`).
    pub aborted_execs: u64,
    /// Reads of a volatile key that found it absent: expired (or not yet written).
    pub expired_reads: u64,
    /// WRONGTYPE replies to reads of a key of another type.
    pub wrongtype: u64,
}

impl OpCounts {
    /// Add another run's counts.
    pub fn add(&mut self, other: &OpCounts) {
        self.invoked += other.invoked;
        self.ok += other.ok;
        self.no_return += other.no_return;
        self.abandoned += other.abandoned;
        self.unexpected += other.unexpected;
        self.execs += other.execs;
        self.aborted_execs += other.aborted_execs;
        self.expired_reads += other.expired_reads;
        self.wrongtype += other.wrongtype;
    }

    /// Count what a recorded `Done(reply)` to `spec` exercised.
    pub(crate) fn tally(&mut self, spec: &OpSpec, reply: &kv::Reply) {
        use kv::Reply as R;
        match spec.kind {
            OpKind::Plain => {}
            OpKind::Exec => {
                self.execs += 1;
                self.aborted_execs += u64::from(matches!(reply, R::NullArray));
            }
            OpKind::VolatileRead => {
                let exists = matches!(&spec.body, kv::Body::One(c) if c.name() == "exists");
                let absent = match reply {
                    R::Null | R::Int(-2) => true,
                    R::Int(0) => exists,
                    _ => false,
                };
                self.expired_reads += u64::from(absent);
            }
            OpKind::WrongType => {
                self.wrongtype +=
                    u64::from(matches!(reply, R::Error(e) if e.code() == "WRONGTYPE"));
            }
        }
    }
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
