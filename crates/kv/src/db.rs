//! The keyspace: every key's value, its expiry time and the log index that last changed it,
//! identical on every replica.
//!
//! ```text
//!   key ──► Entry { value, expires_at_ms, version }       version = index of the last write
//!   deleted key ──► tombstone index (at most TOMBSTONES_MAX, oldest forgotten first)
//!
//!   lookup(key, now)   expired (expires_at_ms <= now) reads as absent      (lazy expiry)
//!   entry_mut(key, …)  an expired entry is removed first, as a deletion at this index;
//!                      a live one gets version = index (it is about to change)
//!   changed_since(key, index)   WATCH: was the key written, deleted or expired after `index`?
//! ```
//!
//! Time is the log's, not a clock's: `now` is the time the leader stamped on the entry being
//! applied (never less than any earlier entry's, see `machine.rs`), so every replica decides
//! that a key has expired at the same entry. Reads between entries see the state as of the
//! last applied entry, expiry included.
//!
//! Why tombstones: `WATCH k` then `EXEC` must fail if `k` was deleted in between, and a deleted
//! key has no entry left to carry its version. They are bounded: past `TOMBSTONES_MAX` the
//! oldest is forgotten and `tombstone_floor` remembers the newest index forgotten, so a watch
//! older than that on an absent key fails conservatively (a failed EXEC is always safe: the
//! client retries). The road not taken: keeping every tombstone, which grows without bound.
//!
//! Invariants: `tombstones` and `tombstone_order` hold the same (key, index) pairs; a key is
//! never both live and tombstoned; no entry holds an empty container.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::value::Value;

/// Most tombstones kept for WATCH (see the module docs).
pub(crate) const TOMBSTONES_MAX: usize = 65_536;

/// One key's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// What the key holds.
    pub(crate) value: Value,
    /// When the key expires, in the log's milliseconds; `None` for never.
    pub(crate) expires_at_ms: Option<u64>,
    /// The log index of the last write to this key (WATCH compares it).
    pub(crate) version: u64,
}

impl Entry {
    fn expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| at <= now_ms)
    }
}

/// The replicated keyspace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Db {
    /// Live keys (and expired ones not yet removed). Ordered: snapshots and scans are canonical.
    entries: BTreeMap<Bytes, Entry>,
    /// Deleted key → the index it was deleted at.
    tombstones: BTreeMap<Bytes, u64>,
    /// The same pairs by (index, key): the eviction order.
    tombstone_order: BTreeSet<(u64, Bytes)>,
    /// The newest index among forgotten tombstones: older watches on absent keys fail.
    tombstone_floor: u64,
}

impl Db {
    /// The live entry under `key` at `now_ms`.
    pub(crate) fn lookup(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.entries.get(key).filter(|e| !e.expired(now_ms))
    }

    /// The live value under `key`.
    pub(crate) fn value(&self, key: &[u8], now_ms: u64) -> Option<&Value> {
        self.lookup(key, now_ms).map(|e| &e.value)
    }

    /// The live entry under `key`, about to be written at `index`: an expired one is removed
    /// first (a deletion at `index`), a live one's version becomes `index`.
    pub(crate) fn entry_mut(&mut self, key: &[u8], index: u64, now_ms: u64) -> Option<&mut Entry> {
        if self.entries.get(key)?.expired(now_ms) {
            self.remove(key, index);
            return None;
        }
        let entry = self.entries.get_mut(key)?;
        entry.version = index;
        Some(entry)
    }

    /// Put `value` under `key` at `index`, with `expires_at_ms`. Replaces whatever was there.
    pub(crate) fn insert(
        &mut self,
        key: Bytes,
        value: Value,
        expires_at_ms: Option<u64>,
        index: u64,
    ) {
        assert!(
            !value.is_empty_container(),
            "an empty container is never stored"
        );
        self.forget_tombstone(&key);
        let entry = Entry {
            value,
            expires_at_ms,
            version: index,
        };
        self.entries.insert(key, entry);
    }

    /// Delete `key` at `index` if the last write left its container empty: the one place
    /// that keeps "no entry holds an empty container" after a command removed elements.
    /// Returns true if it deleted the key.
    pub(crate) fn drop_if_empty(&mut self, key: &[u8], index: u64) -> bool {
        let empty = self
            .entries
            .get(key)
            .is_some_and(|e| e.value.is_empty_container());
        if empty {
            self.remove(key, index);
        }
        empty
    }

    /// Remove `key` at `index`, live or expired; returns its entry.
    pub(crate) fn remove(&mut self, key: &[u8], index: u64) -> Option<Entry> {
        let (key, entry) = self.entries.remove_entry(key)?;
        self.add_tombstone(key, index);
        Some(entry)
    }

    /// WATCH: was `key` written, deleted or expired after `index`, as of `now_ms`? Answers
    /// true when it cannot tell (a forgotten tombstone): a spurious abort is safe.
    pub(crate) fn changed_since(&self, key: &[u8], index: u64, now_ms: u64) -> bool {
        match self.entries.get(key) {
            Some(e) => e.version > index || e.expired(now_ms),
            None => match self.tombstones.get(key) {
                Some(&deleted) => deleted > index,
                None => index < self.tombstone_floor,
            },
        }
    }

    /// How many keys are stored, expired ones not yet removed included.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every stored entry in key order, expired ones included (snapshots need them all).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Bytes, &Entry)> + '_ {
        self.entries.iter()
    }

    /// Tombstones in key order, and the floor: for snapshots.
    pub(crate) fn tombstones(&self) -> (impl Iterator<Item = (&Bytes, u64)> + '_, u64) {
        (
            self.tombstones.iter().map(|(k, i)| (k, *i)),
            self.tombstone_floor,
        )
    }

    /// Rebuild from a snapshot: entries (key order, no duplicates: the caller checked), then
    /// tombstones and the floor.
    pub(crate) fn restore_entry(&mut self, key: Bytes, entry: Entry) {
        self.entries.insert(key, entry);
    }

    pub(crate) fn restore_tombstone(&mut self, key: Bytes, index: u64) {
        self.add_tombstone(key, index);
    }

    pub(crate) fn restore_floor(&mut self, floor: u64) {
        self.tombstone_floor = floor;
    }

    fn add_tombstone(&mut self, key: Bytes, index: u64) {
        if let Some(old) = self.tombstones.insert(key.clone(), index) {
            self.tombstone_order.remove(&(old, key.clone()));
        }
        self.tombstone_order.insert((index, key));
        while self.tombstones.len() > TOMBSTONES_MAX {
            let (index, key) = self
                .tombstone_order
                .pop_first()
                .expect("order holds every tombstone");
            self.tombstones.remove(&key);
            self.tombstone_floor = self.tombstone_floor.max(index);
        }
    }

    fn forget_tombstone(&mut self, key: &[u8]) {
        if let Some((key, index)) = self.tombstones.remove_entry(key) {
            self.tombstone_order.remove(&(index, key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &'static str) -> Value {
        Value::Str(Bytes::from_static(v.as_bytes()))
    }

    fn k(key: &'static str) -> Bytes {
        Bytes::from_static(key.as_bytes())
    }

    #[test]
    fn an_expired_key_reads_as_absent_and_is_removed_by_the_next_write() {
        let mut db = Db::default();
        db.insert(k("a"), s("1"), Some(100), 1);
        assert!(db.lookup(b"a", 99).is_some());
        assert!(
            db.lookup(b"a", 100).is_none(),
            "expires at its time, not after"
        );
        assert_eq!(db.len(), 1, "reads never remove");
        assert!(db.entry_mut(b"a", 2, 100).is_none());
        assert_eq!(db.len(), 0);
        assert!(
            db.changed_since(b"a", 1, 100),
            "an expiry is a change for WATCH"
        );
    }

    #[test]
    fn an_emptied_container_is_dropped_and_tombstoned_and_others_are_kept() {
        let mut db = Db::default();
        let one: std::collections::BTreeSet<Bytes> = [k("m")].into();
        db.insert(k("s"), Value::Set(one), None, 1);
        db.insert(k("t"), s("x"), None, 1);
        let Some(Entry {
            value: Value::Set(members),
            ..
        }) = db.entry_mut(b"s", 2, 0)
        else {
            panic!("a set")
        };
        members.clear();
        assert!(db.drop_if_empty(b"s", 2));
        assert!(
            !db.drop_if_empty(b"t", 2),
            "a string is never an empty container"
        );
        assert!(!db.drop_if_empty(b"absent", 2));
        assert!(db.lookup(b"s", 0).is_none());
        assert!(db.changed_since(b"s", 1, 0) && !db.changed_since(b"s", 2, 0));
    }

    #[test]
    fn watch_sees_writes_deletions_and_recreations_after_its_index() {
        let mut db = Db::default();
        db.insert(k("a"), s("1"), None, 5);
        assert!(!db.changed_since(b"a", 5, 0));
        db.entry_mut(b"a", 7, 0).unwrap();
        assert!(db.changed_since(b"a", 5, 0));
        db.remove(b"a", 8);
        assert!(db.changed_since(b"a", 7, 0));
        assert!(!db.changed_since(b"a", 8, 0));
        assert!(!db.changed_since(b"never", 0, 0));
    }

    #[test]
    fn tombstones_are_bounded_and_a_watch_older_than_a_forgotten_one_fails() {
        let mut db = Db::default();
        for i in 0..TOMBSTONES_MAX as u64 + 2 {
            let key = Bytes::from(i.to_be_bytes().to_vec());
            db.insert(key.clone(), s("x"), None, 2 * i + 1);
            db.remove(&key, 2 * i + 2);
        }
        assert_eq!(db.tombstones.len(), TOMBSTONES_MAX);
        assert_eq!(db.tombstone_order.len(), TOMBSTONES_MAX);
        assert_eq!(
            db.tombstone_floor, 4,
            "the two oldest deletions are forgotten"
        );
        assert!(db.changed_since(b"unknown", 3, 0), "cannot tell: fail safe");
        assert!(!db.changed_since(b"unknown", 4, 0));
    }
}
