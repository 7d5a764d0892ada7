//! The command table: one row per command, the single source of truth for its name, arity,
//! flags, which arguments are keys, its documentation, and the function that runs it.
//!
//! ```text
//!   Spec { name: "get", arity: 2, flags: READONLY|FAST, keys: first=1 last=1 step=1,
//!          group: String, summary, since, exec: Read(strings::get) }
//!
//!   lookup(b"GET") ──► &Spec ──► Command::new checks arity ──► the log ──► exec
//!   the RESP front end reads the same rows for COMMAND, COMMAND DOCS and its arity check;
//!   the README's command list is generated from them
//! ```
//!
//! Arity follows Redis: it counts the name, `N > 0` means exactly `N` words, `N < 0` at least
//! `-N`. Key positions follow Redis' legacy key spec (`first`, `last`, `step`; `last = -1` is the
//! last argument), which is what `COMMAND INFO` reports and what cluster routing will use.
//!
//! Each family of commands (strings, keys, hashes, …) keeps its rows next to its code, in
//! `exec/<family>.rs` as `SPECS`; this file joins them into one sorted index, built once.
//!
//! Invariants (checked by a test): names are unique and lower-case; a `READONLY` command has a
//! `Read` exec and a `WRITE` command a `Write` exec; key positions lie within the arity.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::exec::{self, ReadFn, WriteFn};

/// A command's flags, as `COMMAND INFO` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(u16);

impl Flags {
    /// Changes the keyspace: goes through the log.
    pub const WRITE: Flags = Flags(1);
    /// Never changes anything: may be served by a read path without a log entry.
    pub const READONLY: Flags = Flags(1 << 1);
    /// O(1) or O(log n).
    pub const FAST: Flags = Flags(1 << 2);
    /// May grow memory: refused when memory is short (Redis' `denyoom`).
    pub const DENYOOM: Flags = Flags(1 << 3);

    /// Both sets of flags.
    pub const fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// True if every flag of `other` is set.
    pub const fn has(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flag names, as `COMMAND INFO` prints them.
    pub fn names(self) -> Vec<&'static str> {
        let all = [
            (Flags::WRITE, "write"),
            (Flags::READONLY, "readonly"),
            (Flags::DENYOOM, "denyoom"),
            (Flags::FAST, "fast"),
        ];
        all.iter()
            .filter(|(f, _)| self.has(*f))
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Which arguments are keys: positions `first..=last` (counting the name as 0) every `step`.
/// `first = 0` means the command takes no keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Position of the first key (0: none).
    pub first: u8,
    /// Position of the last key; -1 is the last word, -2 the one before.
    pub last: i8,
    /// Distance between keys (2 for `MSET k v k v`).
    pub step: u8,
}

impl KeySpec {
    /// No keys.
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };
    /// Exactly the first argument.
    pub const FIRST: KeySpec = KeySpec {
        first: 1,
        last: 1,
        step: 1,
    };
    /// Every argument.
    pub const ALL: KeySpec = KeySpec {
        first: 1,
        last: -1,
        step: 1,
    };
    /// The first two arguments (`RENAME src dst`, `COPY`, `LMOVE`, `SMOVE`).
    pub const FIRST_TWO: KeySpec = KeySpec {
        first: 1,
        last: 2,
        step: 1,
    };
}

/// The documentation group, as `COMMAND DOCS` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Keyspace commands that work on any type.
    Generic,
    /// Strings, integers and floats.
    String,
    /// Hashes.
    Hash,
    /// Lists.
    List,
    /// Sets.
    Set,
    /// Sorted sets.
    SortedSet,
    /// Publish and subscribe.
    PubSub,
    /// MULTI, EXEC, WATCH.
    Transactions,
    /// Questions about the server's storage (MEMORY).
    Server,
    /// This project's own commands.
    Distributed,
}

impl Group {
    /// The group's name in Redis' command docs.
    pub fn name(self) -> &'static str {
        match self {
            Group::Generic => "generic",
            Group::String => "string",
            Group::Hash => "hash",
            Group::List => "list",
            Group::Set => "set",
            Group::SortedSet => "sorted-set",
            Group::PubSub => "pubsub",
            Group::Transactions => "transactions",
            Group::Server => "server",
            Group::Distributed => "distributed",
        }
    }
}

/// How a command runs: on a read-only view, or on the keyspace at a log index.
#[derive(Clone, Copy)]
pub(crate) enum Exec {
    Read(ReadFn),
    Write(WriteFn),
}

/// One row of the table.
#[derive(Clone, Copy)]
pub struct Spec {
    /// The name, lower-case.
    pub name: &'static str,
    /// Redis' arity (see the module docs).
    pub arity: i16,
    /// `WRITE` or `READONLY`, plus hints.
    pub flags: Flags,
    /// Which arguments are keys.
    pub keys: KeySpec,
    /// The documentation group.
    pub group: Group,
    /// One line for `COMMAND DOCS` and the README.
    pub summary: &'static str,
    /// The Redis version that introduced it (ours: the project's first version with it).
    pub since: &'static str,
    /// The function that runs it.
    pub(crate) exec: Exec,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spec({})", self.name)
    }
}

/// The flag sets the families' rows use, by their initials: Read-only or Write, Denyoom, Fast.
pub(crate) mod flags {
    use super::Flags;

    pub(crate) const R: Flags = Flags::READONLY;
    pub(crate) const RF: Flags = Flags::READONLY.with(Flags::FAST);
    pub(crate) const W: Flags = Flags::WRITE;
    pub(crate) const WF: Flags = Flags::WRITE.with(Flags::FAST);
    pub(crate) const WD: Flags = Flags::WRITE.with(Flags::DENYOOM);
    pub(crate) const WDF: Flags = WD.with(Flags::FAST);
}

impl Spec {
    /// A row of a family's table (`exec/*.rs`), in the order the rows are written.
    #[allow(clippy::too_many_arguments)] // one per column of the table
    pub(crate) const fn new(
        group: Group,
        name: &'static str,
        arity: i16,
        flags: Flags,
        keys: KeySpec,
        since: &'static str,
        summary: &'static str,
        exec: Exec,
    ) -> Spec {
        Spec {
            name,
            arity,
            flags,
            keys,
            group,
            summary,
            since,
            exec,
        }
    }

    /// True if `words` (the name included) is an accepted count for this command.
    pub fn arity_accepts(&self, words: usize) -> bool {
        let need = usize::from(self.arity.unsigned_abs());
        if self.arity >= 0 {
            words == need
        } else {
            words >= need
        }
    }

    /// True for a command that never changes anything.
    pub fn is_read_only(&self) -> bool {
        self.flags.has(Flags::READONLY)
    }

    /// True if argument `position` (the name excluded) of a command with `args` arguments
    /// is a key.
    pub fn is_key(&self, position: usize, args: usize) -> bool {
        let (first, step) = (
            usize::from(self.keys.first),
            usize::from(self.keys.step.max(1)),
        );
        let word = position + 1;
        first != 0
            && word >= first
            && word <= self.last_key_word(args)
            && (word - first).is_multiple_of(step)
    }

    /// The word position of the last key for a command with `args` arguments.
    fn last_key_word(&self, args: usize) -> usize {
        let last = self.keys.last;
        let last = if last >= 0 {
            usize::from(last.unsigned_abs())
        } else {
            (args + 1).saturating_sub(usize::from(last.unsigned_abs()))
        };
        last.min(args)
    }

    /// The positions (in `args`, the name excluded) of the keys among `args`.
    pub fn key_positions(&self, args: usize) -> impl Iterator<Item = usize> {
        let words = args + 1;
        let k = self.keys;
        let last = if k.last >= 0 {
            usize::from(k.last.unsigned_abs())
        } else {
            words.saturating_sub(usize::from(k.last.unsigned_abs()))
        };
        let first = usize::from(k.first);
        let step = usize::from(k.step.max(1));
        let range = if first == 0 || first > last.min(args) {
            0..0
        } else {
            first..last.min(args) + 1
        };
        range.step_by(step).map(|p| p - 1)
    }
}

/// Every row, sorted by name.
fn index() -> &'static [&'static Spec] {
    static INDEX: OnceLock<Vec<&'static Spec>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut all: Vec<&'static Spec> = exec::FAMILIES.iter().flat_map(|f| f.iter()).collect();
        all.sort_by_key(|s| s.name);
        all
    })
}

/// The row for `name`, whatever its case; `None` for an unknown command.
pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    const NAME_BYTES_MAX: usize = 32;
    if name.len() > NAME_BYTES_MAX {
        return None;
    }
    let mut lower = [0u8; NAME_BYTES_MAX];
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let lower = &lower[..name.len()];
    let all = index();
    all.binary_search_by(|s| s.name.as_bytes().cmp(lower))
        .ok()
        .map(|i| all[i])
}

/// Every command, in name order: for `COMMAND` and the README.
pub fn all() -> impl Iterator<Item = &'static Spec> {
    index().iter().copied()
}

/// The text Redis prints for an unknown command (`unknown command 'x', with args beginning
/// with: 'a' 'b'`), shown bytes escaped as printable text.
pub fn unknown_command_message(name: &[u8], args: &[Bytes]) -> String {
    let shown: Vec<String> = args
        .iter()
        .take(3)
        .map(|a| format!("'{}'", String::from_utf8_lossy(a)))
        .collect();
    format!(
        "unknown command '{}', with args beginning with: {}",
        String::from_utf8_lossy(name),
        shown.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_consistent_with_its_flags_and_unique() {
        let mut names = std::collections::BTreeSet::new();
        for s in all() {
            assert!(names.insert(s.name), "{} twice", s.name);
            assert_eq!(
                s.name,
                s.name.to_ascii_lowercase(),
                "{} is lower-case",
                s.name
            );
            match s.exec {
                Exec::Read(_) => assert!(s.is_read_only(), "{} reads, so READONLY", s.name),
                Exec::Write(_) => assert!(s.flags.has(Flags::WRITE), "{} writes", s.name),
            }
            assert!(s.arity != 0, "{}: arity 0 means nothing", s.name);
        }
        assert!(names.len() >= 10, "the table is populated");
    }

    #[test]
    fn lookup_ignores_case_and_refuses_unknown_or_huge_names() {
        assert_eq!(lookup(b"GeT").map(|s| s.name), Some("get"));
        assert!(lookup(b"nosuch").is_none());
        assert!(lookup(&[b'a'; 200]).is_none());
    }

    #[test]
    fn arity_counts_the_name_and_negative_means_at_least() {
        let get = lookup(b"get").unwrap();
        assert!(get.arity_accepts(2) && !get.arity_accepts(1) && !get.arity_accepts(3));
        let del = lookup(b"del").unwrap();
        assert!(del.arity_accepts(2) && del.arity_accepts(9) && !del.arity_accepts(1));
    }

    #[test]
    fn key_positions_follow_the_key_spec() {
        let mset = lookup(b"mset").unwrap();
        assert_eq!(mset.key_positions(4).collect::<Vec<_>>(), [0, 2]);
        let del = lookup(b"del").unwrap();
        assert_eq!(del.key_positions(3).collect::<Vec<_>>(), [0, 1, 2]);
        let get = lookup(b"get").unwrap();
        assert_eq!(get.key_positions(1).collect::<Vec<_>>(), [0]);
        for spec in all() {
            for args in 0..7 {
                let listed: Vec<usize> = spec.key_positions(args).collect();
                let tested: Vec<usize> = (0..args).filter(|&p| spec.is_key(p, args)).collect();
                assert_eq!(listed, tested, "{} with {args} arguments", spec.name);
            }
        }
    }
}
