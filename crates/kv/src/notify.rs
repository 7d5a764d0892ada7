//! Keyspace notifications (Redis' `notify-keyspace-events`): a message on a pub/sub channel
//! for every key a command changed, produced where the command is applied.
//!
//! ```text
//!   SET foo bar applied at index i, on every replica
//!     Db journal: (foo, Created)                          which keys changed, and how
//!     events(flags, SET, reply, journal) ──► outbox:      in Redis' order:
//!       __keyevent@0__:new  foo                           n: a key that did not exist
//!       __keyspace@0__:foo  set                           K: per key, the event as message
//!       __keyevent@0__:set  foo                           E: per event, the key as message
//!   the host delivers the outbox to its subscribers like PUBLISH (replica Output::Published)
//! ```
//!
//! Which keys changed comes from the keyspace itself (`db.rs` journals every insert, write,
//! deletion and expiry while notifications are on), not from each command's code; what the
//! event is called comes from the command (`event_of`, Redis' names: `INCR` → `incrby`,
//! `ZINCRBY` → `zincr`, `LMOVE` → `lpop` on the source and `rpush` on the destination…).
//! The road not taken: a `notify(…)` call in each of a hundred command functions, as Redis
//! does; the journal keeps the commands free of it and cannot forget a key.
//!
//! The flags are the node's setting, not replicated state: like Redis, each server has its
//! own (`CONFIG SET notify-keyspace-events` on one node reaches that node's subscribers).
//! Every replica applies every entry, so a node with notifications on sees every change,
//! whichever node the client wrote through. Off (the default) costs nothing: no journal.
//!
//! Where ours differs from Redis: a write that reached a key and changed nothing (`SADD` of a
//! member already there, through the log) still notifies, except a count reply of 0; a key
//! removed by expiry says `expired` when the leader's `DISTRIBUTED.EXPIRE` entry or the
//! next write to it applies, not when a read finds it (reads change nothing here).

use std::fmt;

use bytes::Bytes;

use crate::command::table::Group;
use crate::command::Command;
use crate::reply::Reply;

/// How a command changed one key (the keyspace's journal, `db.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// The key did not exist (or had expired) and now does.
    Created,
    /// The key existed and was written (its value or its expiry).
    Touched,
    /// The key was deleted (by the command, or because it left a container empty).
    Deleted,
    /// The key had expired and was removed.
    Expired,
}

/// The classes and channels a node publishes notifications for, parsed from Redis' letters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyspaceEvents(u16);

const KEYSPACE: u16 = 1; // K
const KEYEVENT: u16 = 1 << 1; // E
const GENERIC: u16 = 1 << 2; // g
const STRING: u16 = 1 << 3; // $
const LIST: u16 = 1 << 4; // l
const SET: u16 = 1 << 5; // s
const HASH: u16 = 1 << 6; // h
const ZSET: u16 = 1 << 7; // z
const EXPIRED: u16 = 1 << 8; // x
const EVICTED: u16 = 1 << 9; // e
const STREAM: u16 = 1 << 10; // t
const KEY_MISS: u16 = 1 << 11; // m
const MODULE: u16 = 1 << 12; // d
const NEW: u16 = 1 << 13; // n
/// `A`: every class but `m` and `n`, as in Redis.
const ALL: u16 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The class letters in the order Redis prints them, `A` aside.
const CLASSES: &[(u16, char)] = &[
    (GENERIC, 'g'),
    (STRING, '$'),
    (LIST, 'l'),
    (SET, 's'),
    (HASH, 'h'),
    (ZSET, 'z'),
    (EXPIRED, 'x'),
    (EVICTED, 'e'),
    (STREAM, 't'),
    (MODULE, 'd'),
    (NEW, 'n'),
];

impl KeyspaceEvents {
    /// Notifications off.
    pub const OFF: KeyspaceEvents = KeyspaceEvents(0);

    /// Redis' letters (`KEA`, `Kl`, `gKE`…); an unknown letter is an error.
    pub fn parse(text: &[u8]) -> Result<KeyspaceEvents, String> {
        let mut flags = 0;
        for c in text {
            flags |= match c {
                b'A' => ALL,
                b'K' => KEYSPACE,
                b'E' => KEYEVENT,
                b'm' => KEY_MISS,
                _ => match CLASSES.iter().find(|(_, l)| *l as u8 == *c) {
                    Some((flag, _)) => *flag,
                    None => return Err(format!("invalid event class character '{}'", *c as char)),
                },
            };
        }
        Ok(KeyspaceEvents(flags))
    }

    /// True if some class goes to some channel: only then is there anything to journal.
    pub fn is_on(self) -> bool {
        self.0 & (KEYSPACE | KEYEVENT) != 0 && self.0 & !(KEYSPACE | KEYEVENT) != 0
    }

    fn has(self, flag: u16) -> bool {
        self.0 & flag != 0
    }
}

impl fmt::Display for KeyspaceEvents {
    /// Redis' canonical spelling (`CONFIG GET` answers it): `A` for all classes, else the
    /// class letters in Redis' order, then `K`, `E`, `m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        if self.0 & ALL == ALL {
            text.push('A');
            if self.has(NEW) {
                // Redis prints only `A` here and so loses `n`; keeping it is the honest spelling.
                text.push('n');
            }
        } else {
            text.extend(
                CLASSES
                    .iter()
                    .filter(|(f, _)| self.has(*f))
                    .map(|(_, l)| *l),
            );
        }
        for (flag, letter) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
            if self.has(flag) {
                text.push(letter);
            }
        }
        f.write_str(&text)
    }
}

/// Append to `out` the (channel, message) pairs of the notifications `command` causes,
/// given the keys it changed (`changes`, in order) and its reply.
pub(crate) fn events(
    flags: KeyspaceEvents,
    command: &Command,
    reply: &Reply,
    changes: &[(Bytes, Change)],
    out: &mut Vec<(Bytes, Bytes)>,
) {
    if matches!(reply, Reply::Error(_)) || changed_nothing(command, reply) {
        return;
    }
    let mut announced: Vec<&Bytes> = Vec::new();
    for (key, change) in changes {
        match change {
            Change::Expired => publish(flags, EXPIRED, "expired", key, out),
            Change::Deleted => {
                // RENAME's source says `rename_from`; any other deletion says `del`, after the
                // command's own event if the command first wrote the key (LPOP of the last
                // element: `lpop`, then `del`), as Redis does.
                let (class, event) = event_of(command, key);
                let renamed = event == "rename_from" && !announced.contains(&key);
                if renamed {
                    publish(flags, class, event, key, out);
                } else {
                    publish(flags, GENERIC, "del", key, out);
                }
                announced.push(key);
            }
            Change::Created | Change::Touched => {
                if *change == Change::Created {
                    publish(flags, NEW, "new", key, out);
                }
                if !announced.contains(&key) {
                    announced.push(key);
                    let (class, event) = event_of(command, key);
                    publish(flags, class, event, key, out);
                    if event == "set" && sets_expiry(command) {
                        publish(flags, GENERIC, "expire", key, out);
                    }
                }
            }
        }
    }
}

/// A reply that counts changes and says none (`SADD` of members already there, `DEL` of
/// absent keys): Redis notifies nothing then.
fn changed_nothing(command: &Command, reply: &Reply) -> bool {
    const COUNTERS: &[&str] = &[
        "sadd",
        "srem",
        "zrem",
        "hdel",
        "del",
        "unlink",
        "lrem",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "persist",
    ];
    COUNTERS.contains(&command.name()) && *reply == Reply::Int(0)
}

/// True for the SET forms that also give the key a TTL (Redis follows `set` with `expire`).
fn sets_expiry(command: &Command) -> bool {
    match command.name() {
        "setex" | "psetex" => true,
        "set" => command.args()[2..].iter().any(|a| {
            let a = a.to_ascii_uppercase();
            matches!(a.as_slice(), b"EX" | b"PX" | b"EXAT" | b"PXAT")
        }),
        _ => false,
    }
}

fn publish(
    flags: KeyspaceEvents,
    class: u16,
    event: &str,
    key: &Bytes,
    out: &mut Vec<(Bytes, Bytes)>,
) {
    if !flags.has(class) {
        return;
    }
    if flags.has(KEYSPACE) {
        let mut channel = b"__keyspace@0__:".to_vec();
        channel.extend_from_slice(key);
        out.push((
            Bytes::from(channel),
            Bytes::copy_from_slice(event.as_bytes()),
        ));
    }
    if flags.has(KEYEVENT) {
        let channel = format!("__keyevent@0__:{event}");
        out.push((Bytes::from(channel), key.clone()));
    }
}

/// The class and name of the event `command` causes on `key`, as Redis names it.
fn event_of(command: &Command, key: &[u8]) -> (u16, &'static str) {
    let args = command.args();
    let first = args.first().is_some_and(|k| k.as_ref() == key);
    let word = |i: usize| {
        args.get(i)
            .map(|w| w.to_ascii_uppercase())
            .unwrap_or_default()
    };
    let end = |left: bool, pop: bool| match (left, pop) {
        (true, true) => "lpop",
        (false, true) => "rpop",
        (true, false) => "lpush",
        (false, false) => "rpush",
    };
    let name = command.name();
    match name {
        "set" | "setnx" | "setex" | "psetex" | "getset" | "mset" | "msetnx" => (STRING, "set"),
        "incr" | "decr" | "incrby" | "decrby" => (STRING, "incrby"),
        "getex" if args[1..].iter().any(|a| a.eq_ignore_ascii_case(b"PERSIST")) => {
            (GENERIC, "persist")
        }
        "getex" | "expire" | "pexpire" | "expireat" | "pexpireat" => (GENERIC, "expire"),
        "rename" | "renamenx" if first => (GENERIC, "rename_from"),
        "rename" | "renamenx" => (GENERIC, "rename_to"),
        "copy" => (GENERIC, "copy_to"),
        "lpushx" => (LIST, "lpush"),
        "rpushx" => (LIST, "rpush"),
        "rpoplpush" | "brpoplpush" => (LIST, if first { "rpop" } else { "lpush" }),
        "lmove" | "blmove" if first => (LIST, end(word(2) == b"LEFT", true)),
        "lmove" | "blmove" => (LIST, end(word(3) == b"LEFT", false)),
        "lmpop" | "blmpop" => {
            let left = args.iter().any(|a| a.eq_ignore_ascii_case(b"LEFT"));
            (LIST, end(left, true))
        }
        "smove" => (SET, if first { "srem" } else { "sadd" }),
        "hmset" | "hsetnx" => (HASH, "hset"),
        "zincrby" => (ZSET, "zincr"),
        "zadd" if args.iter().any(|a| a.eq_ignore_ascii_case(b"INCR")) => (ZSET, "zincr"),
        "zmpop" | "bzmpop" => {
            let min = args.iter().any(|a| a.eq_ignore_ascii_case(b"MIN"));
            (ZSET, if min { "zpopmin" } else { "zpopmax" })
        }
        // The rest are named after themselves: lpush, sadd, hincrby, zpopmin, ltrim, …
        _ => (class_of(command.spec().group), name),
    }
}

fn class_of(group: Group) -> u16 {
    match group {
        Group::String => STRING,
        Group::List => LIST,
        Group::Set => SET,
        Group::Hash => HASH,
        Group::SortedSet => ZSET,
        _ => GENERIC,
    }
}
