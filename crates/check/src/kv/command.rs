//! What a client asked for: [`Command`], one variant per store command the models know.
//!
//! ```text
//!   strings   get put put(px) append cas delete incr     value: a string
//!   hashes    hset hget hdel hlen                        value: field -> string
//!   lists     lpush rpush lpop rpop llen                 value: a sequence of strings
//!   sets      sadd srem sismember scard                  value: a set of strings
//!   sorted    zadd zscore zrem zcard                     value: member -> integer score
//!   expiry    put(px) pexpire persist pttl ttl           a deadline on the whole key
//!   keys      delete exists                              any type
//!   multi     [c1; c2; ...]                              MULTI ... EXEC, one atomic step
//! ```
//!
//! Each command touches the keys [`Command::keys`] lists: one, or for a transaction the union
//! of its sub-commands' keys. A transaction holds at most [`MULTI_OPS_MAX`] sub-commands and
//! none of them is a transaction (Redis refuses a nested MULTI); `History` validation enforces
//! both. The one-per-type subset is what a workload can check cheaply: every command either
//! reads a small answer (a value, a count, a flag) or writes and answers a count.

use std::fmt;

/// The most sub-commands one transaction may hold: bounds a step's work and a line's size.
pub const MULTI_OPS_MAX: usize = 64;

/// What a client asked the store to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Read the key's string value.
    Get {
        /// The key read.
        key: String,
    },
    /// Overwrite the key (any type) with a string; drops any expiry.
    Put {
        /// The key written.
        key: String,
        /// The new value.
        value: String,
    },
    /// Append to the key's string value (an absent key counts as "").
    Append {
        /// The key written.
        key: String,
        /// The suffix added.
        value: String,
    },
    /// Compare-and-set: write `new` only if the value is `expected` (`None` = absent).
    Cas {
        /// The key compared and written.
        key: String,
        /// The value the key must hold for the swap to happen; `None` means absent.
        expected: Option<String>,
        /// The value written on success.
        new: String,
    },
    /// Remove the key, whatever its type.
    Delete {
        /// The key removed.
        key: String,
    },
    /// Add `delta` to the key's integer value (absent = 0) and return the result.
    Incr {
        /// The key incremented.
        key: String,
        /// How much to add; may be negative.
        delta: i64,
    },
    /// `SET key value PX ttl_ms`: overwrite with a string that expires `ttl_ms` after the
    /// store's clock when the write applied (see `kv/expiry.rs`).
    PutPx {
        /// The key written.
        key: String,
        /// The new value.
        value: String,
        /// Time to live, in the history's time units; at least 1.
        ttl_ms: u64,
    },
    /// `PEXPIRE key ttl_ms`: give an existing key a deadline; answers 1, or 0 if absent.
    PExpire {
        /// The key given a deadline.
        key: String,
        /// Time to live, in the history's time units; at least 1.
        ttl_ms: u64,
    },
    /// `PTTL key`: -2 if absent, -1 if it has no deadline, else the time left.
    PTtl {
        /// The key asked about.
        key: String,
    },
    /// `PERSIST key`: drop the key's deadline; answers 1 if it had one, else 0.
    Persist {
        /// The key made permanent.
        key: String,
    },
    /// `TTL key`: `pttl` in whole seconds (-2 absent, -1 no deadline).
    Ttl {
        /// The key asked about.
        key: String,
    },
    /// `EXISTS key`: 1 if the key is there (of any type), else 0.
    Exists {
        /// The key asked about.
        key: String,
    },
    /// `HSET key field value`: answers 1 if the field is new, 0 if it was overwritten.
    HSet {
        /// The hash.
        key: String,
        /// The field written.
        field: String,
        /// Its new value.
        value: String,
    },
    /// `HGET key field`: the field's value, or nil.
    HGet {
        /// The hash.
        key: String,
        /// The field read.
        field: String,
    },
    /// `HDEL key field`: answers 1 if the field was there, else 0.
    HDel {
        /// The hash.
        key: String,
        /// The field removed.
        field: String,
    },
    /// `HLEN key`: how many fields.
    HLen {
        /// The hash.
        key: String,
    },
    /// `LPUSH key value`: push at the head, answer the new length.
    LPush {
        /// The list.
        key: String,
        /// The element pushed.
        value: String,
    },
    /// `RPUSH key value`: push at the tail, answer the new length.
    RPush {
        /// The list.
        key: String,
        /// The element pushed.
        value: String,
    },
    /// `LPOP key`: remove and answer the head, or nil.
    LPop {
        /// The list.
        key: String,
    },
    /// `RPOP key`: remove and answer the tail, or nil.
    RPop {
        /// The list.
        key: String,
    },
    /// `LLEN key`: the list's length.
    LLen {
        /// The list.
        key: String,
    },
    /// `SADD key member`: answers 1 if added, 0 if already there.
    SAdd {
        /// The set.
        key: String,
        /// The member added.
        member: String,
    },
    /// `SREM key member`: answers 1 if removed, 0 if absent.
    SRem {
        /// The set.
        key: String,
        /// The member removed.
        member: String,
    },
    /// `SISMEMBER key member`: answers 1 or 0.
    SIsMember {
        /// The set.
        key: String,
        /// The member asked about.
        member: String,
    },
    /// `SCARD key`: how many members.
    SCard {
        /// The set.
        key: String,
    },
    /// `ZADD key score member`: answers 1 if the member is new, 0 if its score was updated.
    ZAdd {
        /// The sorted set.
        key: String,
        /// The member's score. Integers only: exact to compare, and Redis prints an integral
        /// score without a fraction, so `zscore` answers compare as text.
        score: i64,
        /// The member added or updated.
        member: String,
    },
    /// `ZSCORE key member`: the score as text (`"3"`), or nil.
    ZScore {
        /// The sorted set.
        key: String,
        /// The member asked about.
        member: String,
    },
    /// `ZREM key member`: answers 1 if removed, 0 if absent.
    ZRem {
        /// The sorted set.
        key: String,
        /// The member removed.
        member: String,
    },
    /// `ZCARD key`: how many members.
    ZCard {
        /// The sorted set.
        key: String,
    },
    /// `MULTI c1 c2 ... EXEC`: the sub-commands applied atomically, in order, as one step.
    Multi(Vec<Command>),
}

impl Command {
    /// `get(key)`.
    pub fn get(key: &str) -> Self {
        Command::Get { key: key.into() }
    }

    /// `put(key, value)`.
    pub fn put(key: &str, value: &str) -> Self {
        Command::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    /// `append(key, value)`.
    pub fn append(key: &str, value: &str) -> Self {
        Command::Append {
            key: key.into(),
            value: value.into(),
        }
    }

    /// `cas(key, expected -> new)`; `expected = None` means "only if absent".
    pub fn cas(key: &str, expected: Option<&str>, new: &str) -> Self {
        Command::Cas {
            key: key.into(),
            expected: expected.map(str::to_string),
            new: new.into(),
        }
    }

    /// `delete(key)`.
    pub fn delete(key: &str) -> Self {
        Command::Delete { key: key.into() }
    }

    /// `incr(key, delta)`.
    pub fn incr(key: &str, delta: i64) -> Self {
        Command::Incr {
            key: key.into(),
            delta,
        }
    }

    /// `put(key, value, px=ttl_ms)`.
    pub fn put_px(key: &str, value: &str, ttl_ms: u64) -> Self {
        Command::PutPx {
            key: key.into(),
            value: value.into(),
            ttl_ms,
        }
    }

    /// A transaction of `commands`.
    pub fn multi(commands: Vec<Command>) -> Self {
        Command::Multi(commands)
    }

    /// The key this command touches; for a transaction, its first sub-command's key ("" if
    /// it has none). [`Command::keys`] lists them all.
    pub fn key(&self) -> &str {
        match self {
            Command::Multi(commands) => commands.first().map_or("", Command::key),
            Command::Get { key }
            | Command::Put { key, .. }
            | Command::Append { key, .. }
            | Command::Cas { key, .. }
            | Command::Delete { key }
            | Command::Incr { key, .. }
            | Command::PutPx { key, .. }
            | Command::PExpire { key, .. }
            | Command::PTtl { key }
            | Command::Persist { key }
            | Command::Ttl { key }
            | Command::Exists { key }
            | Command::HSet { key, .. }
            | Command::HGet { key, .. }
            | Command::HDel { key, .. }
            | Command::HLen { key }
            | Command::LPush { key, .. }
            | Command::RPush { key, .. }
            | Command::LPop { key }
            | Command::RPop { key }
            | Command::LLen { key }
            | Command::SAdd { key, .. }
            | Command::SRem { key, .. }
            | Command::SIsMember { key, .. }
            | Command::SCard { key }
            | Command::ZAdd { key, .. }
            | Command::ZScore { key, .. }
            | Command::ZRem { key, .. }
            | Command::ZCard { key } => key,
        }
    }

    /// Every key this command touches, sorted and without repeats.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = match self {
            Command::Multi(commands) => commands.iter().map(Command::key).collect(),
            one => vec![one.key()],
        };
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The history file's name for this command (`"get"`, `"hset"`, `"multi"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Get { .. } => "get",
            Command::Put { .. } | Command::PutPx { .. } => "put",
            Command::Append { .. } => "append",
            Command::Cas { .. } => "cas",
            Command::Delete { .. } => "delete",
            Command::Incr { .. } => "incr",
            Command::PExpire { .. } => "pexpire",
            Command::PTtl { .. } => "pttl",
            Command::Persist { .. } => "persist",
            Command::Ttl { .. } => "ttl",
            Command::Exists { .. } => "exists",
            Command::HSet { .. } => "hset",
            Command::HGet { .. } => "hget",
            Command::HDel { .. } => "hdel",
            Command::HLen { .. } => "hlen",
            Command::LPush { .. } => "lpush",
            Command::RPush { .. } => "rpush",
            Command::LPop { .. } => "lpop",
            Command::RPop { .. } => "rpop",
            Command::LLen { .. } => "llen",
            Command::SAdd { .. } => "sadd",
            Command::SRem { .. } => "srem",
            Command::SIsMember { .. } => "sismember",
            Command::SCard { .. } => "scard",
            Command::ZAdd { .. } => "zadd",
            Command::ZScore { .. } => "zscore",
            Command::ZRem { .. } => "zrem",
            Command::ZCard { .. } => "zcard",
            Command::Multi(_) => "multi",
        }
    }

    /// True if the command never changes the store: a read, or a transaction of reads.
    pub fn is_read(&self) -> bool {
        match self {
            Command::Multi(commands) => commands.iter().all(Command::is_read),
            Command::Get { .. }
            | Command::PTtl { .. }
            | Command::Ttl { .. }
            | Command::Exists { .. }
            | Command::HGet { .. }
            | Command::HLen { .. }
            | Command::LLen { .. }
            | Command::SIsMember { .. }
            | Command::SCard { .. }
            | Command::ZScore { .. }
            | Command::ZCard { .. } => true,
            _ => false,
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Command as C;
        match self {
            C::Get { key } => write!(f, "get({key})"),
            C::Put { key, value } => write!(f, "put({key}, {value:?})"),
            C::Append { key, value } => write!(f, "append({key}, {value:?})"),
            C::Cas { key, expected, new } => {
                write!(f, "cas({key}, {} -> {new:?})", show(expected.as_deref()))
            }
            C::Delete { key } => write!(f, "delete({key})"),
            C::Incr { key, delta } => write!(f, "incr({key}, {delta})"),
            C::PutPx { key, value, ttl_ms } => write!(f, "put({key}, {value:?}, px={ttl_ms})"),
            C::PExpire { key, ttl_ms } => write!(f, "pexpire({key}, {ttl_ms})"),
            C::HSet { key, field, value } => write!(f, "hset({key}, {field:?}, {value:?})"),
            C::HGet { key, field } | C::HDel { key, field } => {
                write!(f, "{}({key}, {field:?})", self.name())
            }
            C::LPush { key, value } | C::RPush { key, value } => {
                write!(f, "{}({key}, {value:?})", self.name())
            }
            C::SAdd { key, member }
            | C::SRem { key, member }
            | C::SIsMember { key, member }
            | C::ZScore { key, member }
            | C::ZRem { key, member } => write!(f, "{}({key}, {member:?})", self.name()),
            C::ZAdd { key, score, member } => write!(f, "zadd({key}, {score}, {member:?})"),
            C::PTtl { key }
            | C::Persist { key }
            | C::Ttl { key }
            | C::Exists { key }
            | C::HLen { key }
            | C::LPop { key }
            | C::RPop { key }
            | C::LLen { key }
            | C::SCard { key }
            | C::ZCard { key } => write!(f, "{}({key})", self.name()),
            C::Multi(commands) => {
                f.write_str("multi[")?;
                for (i, c) in commands.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    write!(f, "{sep}{c}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// `"x"` for a value, `nil` for absent: the notation reports use for states and reads.
pub(crate) fn show(v: Option<&str>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "nil".to_string(),
    }
}
