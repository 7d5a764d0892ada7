//! The keyspace: every key's value, its expiry time and the log index that last changed it,
//! identical on every replica, with two derived indexes kept in step with it.
//!
//! ```text
//!   key ──► Entry { value, expires_at_ms, version }       version = index of the last write
//!   deleted key ──► tombstone index (at most TOMBSTONES_MAX, oldest forgotten first)
//!   expiring  (expires_at_ms, key)   every entry with an expiry, earliest first
//!   scan_order (scan position, key)  every entry, by FNV-1a-64 of the key (SCAN, RANDOMKEY)
//!
//!   lookup(key, now)   expired (expires_at_ms <= now) reads as absent      (lazy expiry)
//!   entry_mut(key, …)  an expired entry is removed first, as a deletion at this index;
//!                      a live one gets version = index (it is about to change)
//!   set_expiry(key, …) the one way to change an entry's expiry: the index follows
//!   changed_since(key, index)   WATCH: was the key written, deleted or expired after `index`?
//! ```
//!
//! Time is the log's, not a clock's: `now` is the time the leader stamped on the entry being
//! applied (never less than any earlier entry's, see `machine.rs`), so every replica decides
//! that a key has expired at the same entry. Reads between entries see the state as of the
//! last applied entry, expiry included. Expired entries are reclaimed by the next write to
//! them, by `DEL`, or by the leader's `DISTRIBUTED.EXPIRE` entry (active expiry: the leader
//! asks `next_expiry_ms` and `due` which keys to name, see `machine.rs`).
//!
//! Why `expiring`: the earliest expiry is what the leader polls on every tick, so it must be
//! O(log n), not a walk over every key; and DBSIZE subtracts the expired-but-not-reclaimed
//! keys by walking only those. Why `scan_order`: a SCAN cursor must mean the same thing on
//! every replica and fit the u64 that redis-cli and go-redis hold it in, so the walk goes by
//! a 64-bit hash of the key (`scan_position`), a position any replica can resume from.
//! Both are derived: never in a snapshot, rebuilt by `restore_entry`.
//!
//! Why tombstones: `WATCH k` then `EXEC` must fail if `k` was deleted in between, and a deleted
//! key has no entry left to carry its version. They are bounded: past `TOMBSTONES_MAX` the
//! oldest is forgotten and `tombstone_floor` remembers the newest index forgotten, so a watch
//! older than that on an absent key fails conservatively (a failed EXEC is always safe: the
//! client retries). The road not taken: keeping every tombstone, which grows without bound.
//! `flush` tombstones every key it removes, or past `TOMBSTONES_MAX` keys forgets them all at
//! once the same way: the floor becomes the flush's index.
//!
//! Invariants: `tombstones` and `tombstone_order` hold the same (key, index) pairs; a key is
//! never both live and tombstoned; no entry holds an empty container; `expiring` holds exactly
//! the (expires_at_ms, key) of the entries with an expiry and `scan_order` exactly one
//! (scan_position(key), key) per entry (an entry's expiry is private to this file, so nothing
//! else can change it behind the index's back).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use distributed_core::wire::Sink;

use crate::hash::Fnv64;
use crate::notify::Change;
use crate::value::Value;

/// Most tombstones kept for WATCH (see the module docs).
pub(crate) const TOMBSTONES_MAX: usize = 65_536;

/// One key's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// What the key holds.
    pub(crate) value: Value,
    /// When the key expires, in the log's milliseconds; `None` for never. Private: only `Db`
    /// changes it, so the `expiring` index never misses a change.
    expires_at_ms: Option<u64>,
    /// The log index of the last write to this key (WATCH compares it).
    pub(crate) version: u64,
}

impl Entry {
    /// An entry, as a snapshot holds it.
    pub(crate) fn new(value: Value, expires_at_ms: Option<u64>, version: u64) -> Entry {
        Entry {
            value,
            expires_at_ms,
            version,
        }
    }

    /// When the key expires, in the log's milliseconds; `None` for never.
    pub(crate) fn expires_at_ms(&self) -> Option<u64> {
        self.expires_at_ms
    }

    fn expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| at <= now_ms)
    }
}

/// Where SCAN and RANDOMKEY find `key`: FNV-1a-64 of its bytes, never 0 (a cursor of 0 means
/// "start" and "done"). The same on every replica and every build: cursors depend on it.
pub(crate) fn scan_position(key: &[u8]) -> u64 {
    let mut h = Fnv64::new();
    h.put_slice(key);
    h.finish().max(1)
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
    /// (expires_at_ms, key) of every entry with an expiry: the earliest first.
    expiring: BTreeSet<(u64, Bytes)>,
    /// (scan_position(key), key) of every entry: SCAN's and RANDOMKEY's walk.
    scan_order: BTreeSet<(u64, Bytes)>,
    /// Which keys changed, and how, since the machine last took the list: recorded only
    /// while keyspace notifications are on (`notify.rs`). Not state: never in a snapshot,
    /// equal in every comparison.
    journal: Journal,
}

/// The keyspace's change list for notifications (see `Db::journal`).
#[derive(Clone, Debug, Default)]
struct Journal {
    /// Record changes at all.
    on: bool,
    /// (key, how it changed), in order; at most one command's worth between takes.
    changes: Vec<(Bytes, Change)>,
}

impl PartialEq for Journal {
    fn eq(&self, _: &Journal) -> bool {
        true // not part of the keyspace's state
    }
}

impl Eq for Journal {}

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
            self.expire(key, index);
            return None;
        }
        self.note(key, Change::Touched);
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
        let entry = Entry::new(value, expires_at_ms, index);
        let change = match self.entries.insert(key.clone(), entry) {
            Some(old) => {
                self.unindex_expiry(&key, old.expires_at_ms);
                Change::Touched
            }
            None => Change::Created,
        };
        self.note(&key, change);
        self.index(&key, expires_at_ms);
    }

    /// Set the expiry of the entry under `key` (live or not) at `index`; false if there is none.
    pub(crate) fn set_expiry(
        &mut self,
        key: &[u8],
        expires_at_ms: Option<u64>,
        index: u64,
    ) -> bool {
        let Some((key, entry)) = self.entries.get_key_value(key) else {
            return false;
        };
        let (key, old) = (key.clone(), entry.expires_at_ms);
        self.unindex_expiry(&key, old);
        if let Some(at) = expires_at_ms {
            self.expiring.insert((at, key.clone()));
        }
        let entry = self.entries.get_mut(&key).expect("looked up above");
        entry.expires_at_ms = expires_at_ms;
        entry.version = index;
        self.note(&key, Change::Touched);
        true
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
        self.remove_as(key, index, Change::Deleted)
    }

    /// Remove `key` at `index` because it expired (the same as `remove`, noted as expiry).
    pub(crate) fn expire(&mut self, key: &[u8], index: u64) -> Option<Entry> {
        self.remove_as(key, index, Change::Expired)
    }

    fn remove_as(&mut self, key: &[u8], index: u64, change: Change) -> Option<Entry> {
        let (key, entry) = self.entries.remove_entry(key)?;
        self.unindex_expiry(&key, entry.expires_at_ms);
        self.scan_order.remove(&(scan_position(&key), key.clone()));
        self.note(&key, change);
        self.add_tombstone(key, index);
        Some(entry)
    }

    /// Record changes for keyspace notifications from now on (or stop, and forget them).
    pub(crate) fn set_journal(&mut self, on: bool) {
        self.journal.on = on;
        self.journal.changes.clear();
    }

    /// The changes recorded since the last take, oldest first.
    pub(crate) fn take_journal(&mut self) -> Vec<(Bytes, Change)> {
        std::mem::take(&mut self.journal.changes)
    }

    fn note(&mut self, key: &[u8], change: Change) {
        if self.journal.on {
            // Bounded by the command: one note per key it writes (a write notes a key once
            // per call into Db, and the machine takes the list after every command).
            self.journal
                .changes
                .push((Bytes::copy_from_slice(key), change));
        }
    }

    /// FLUSHDB at `index`: every key gone. Each removed key is tombstoned at `index`, so a
    /// watch on a key that was absent all along survives the flush (Redis' rule: FLUSHALL
    /// touches only the keys it deleted); more than `TOMBSTONES_MAX` keys would not all fit,
    /// so a flush that large forgets every tombstone and the floor becomes `index`
    /// (every older watch on an absent key fails, conservatively; see the module docs).
    pub(crate) fn flush(&mut self, index: u64) {
        let removed = std::mem::take(&mut self.entries);
        self.expiring.clear();
        self.scan_order.clear();
        if removed.len() > TOMBSTONES_MAX {
            self.tombstones.clear();
            self.tombstone_order.clear();
            self.tombstone_floor = self.tombstone_floor.max(index);
            return;
        }
        for key in removed.into_keys() {
            self.add_tombstone(key, index);
        }
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

    /// How many keys are live at `now_ms`: O(expired keys not yet reclaimed), which active
    /// expiry keeps small.
    pub(crate) fn live_len(&self, now_ms: u64) -> usize {
        self.entries.len() - self.due(now_ms).count()
    }

    /// The earliest expiry time of any stored key, reclaimed or not: when active expiry has
    /// something to do next.
    pub(crate) fn next_expiry_ms(&self) -> Option<u64> {
        self.expiring.first().map(|(at, _)| *at)
    }

    /// The stored keys expired at `now_ms`, earliest first.
    pub(crate) fn due(&self, now_ms: u64) -> impl Iterator<Item = &Bytes> + '_ {
        self.expiring
            .iter()
            .take_while(move |(at, _)| *at <= now_ms)
            .map(|(_, key)| key)
    }

    /// Every stored key (expired ones too) in scan order, from scan position `from` on.
    pub(crate) fn scan_from(&self, from: u64) -> impl Iterator<Item = (u64, &Bytes)> + '_ {
        self.scan_order
            .range((from, Bytes::new())..)
            .map(|(position, key)| (*position, key))
    }

    /// Every stored entry in key order, expired ones included (snapshots need them all).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Bytes, &Entry)> + '_ {
        self.entries.iter()
    }

    /// Every stored entry by key (KEYS walks it in order), expired ones included.
    pub(crate) fn entries(&self) -> &BTreeMap<Bytes, Entry> {
        &self.entries
    }

    /// Tombstones in key order, and the floor: for snapshots.
    pub(crate) fn tombstones(&self) -> (impl Iterator<Item = (&Bytes, u64)> + '_, u64) {
        (
            self.tombstones.iter().map(|(k, i)| (k, *i)),
            self.tombstone_floor,
        )
    }

    /// Rebuild from a snapshot: entries (key order, no duplicates: the caller checked), then
    /// tombstones and the floor. The derived indexes are rebuilt as the entries come.
    pub(crate) fn restore_entry(&mut self, key: Bytes, entry: Entry) {
        self.index(&key, entry.expires_at_ms);
        self.entries.insert(key, entry);
    }

    pub(crate) fn restore_tombstone(&mut self, key: Bytes, index: u64) {
        self.add_tombstone(key, index);
    }

    pub(crate) fn restore_floor(&mut self, floor: u64) {
        self.tombstone_floor = floor;
    }

    /// Enter `key` (about to hold an entry expiring at `expires_at_ms`) in both indexes.
    fn index(&mut self, key: &Bytes, expires_at_ms: Option<u64>) {
        if let Some(at) = expires_at_ms {
            self.expiring.insert((at, key.clone()));
        }
        self.scan_order.insert((scan_position(key), key.clone()));
    }

    fn unindex_expiry(&mut self, key: &Bytes, expires_at_ms: Option<u64>) {
        if let Some(at) = expires_at_ms {
            let removed = self.expiring.remove(&(at, key.clone()));
            assert!(removed, "the expiry index holds every entry's expiry");
        }
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

    /// The derived indexes hold exactly what the entries say.
    fn assert_indexes_in_step(db: &Db) {
        let expiring: BTreeSet<(u64, Bytes)> = (db.entries.iter())
            .filter_map(|(k, e)| e.expires_at_ms.map(|at| (at, k.clone())))
            .collect();
        assert_eq!(db.expiring, expiring);
        let scan: BTreeSet<(u64, Bytes)> = (db.entries.keys())
            .map(|k| (scan_position(k), k.clone()))
            .collect();
        assert_eq!(db.scan_order, scan);
    }

    #[test]
    fn the_expiry_and_scan_indexes_follow_every_change() {
        let mut db = Db::default();
        db.insert(k("a"), s("1"), Some(100), 1);
        db.insert(k("b"), s("1"), Some(50), 2);
        db.insert(k("c"), s("1"), None, 3);
        assert_indexes_in_step(&db);
        assert_eq!(db.next_expiry_ms(), Some(50));
        db.insert(k("b"), s("2"), Some(50), 4); // same expiry again
        db.insert(k("a"), s("2"), None, 5); // SET without KEEPTTL
        assert_indexes_in_step(&db);
        assert!(db.set_expiry(b"c", Some(10), 6));
        assert!(!db.set_expiry(b"nope", Some(10), 6));
        assert_eq!(db.lookup(b"c", 0).map(|e| e.version), Some(6));
        assert_indexes_in_step(&db);
        let due: Vec<&Bytes> = db.due(50).collect();
        assert_eq!(due, [&k("c"), &k("b")], "earliest first, up to now");
        assert_eq!(db.live_len(50), 1);
        assert!(db.entry_mut(b"c", 7, 10).is_none(), "expired: removed");
        db.remove(b"b", 8);
        assert_indexes_in_step(&db);
        assert_eq!(db.next_expiry_ms(), None);
    }

    #[test]
    fn a_flush_empties_everything_and_fails_the_watches_of_the_keys_it_removed() {
        let mut db = Db::default();
        db.insert(k("a"), s("1"), Some(100), 1);
        db.remove(b"a", 2);
        db.insert(k("b"), s("1"), None, 3);
        db.flush(4);
        assert_eq!((db.len(), db.tombstones.len()), (0, 2));
        assert_indexes_in_step(&db);
        assert!(db.changed_since(b"b", 3, 0), "b was removed by the flush");
        assert!(
            db.changed_since(b"a", 1, 0),
            "a's deletion is still remembered"
        );
        assert!(
            !db.changed_since(b"never", 3, 0),
            "an absent key was not touched"
        );
        assert!(!db.changed_since(b"b", 4, 0));
    }

    #[test]
    fn a_flush_of_more_keys_than_tombstones_fails_every_older_watch() {
        let mut db = Db::default();
        for i in 0..=TOMBSTONES_MAX {
            db.insert(Bytes::from(i.to_be_bytes().to_vec()), s("1"), None, 1);
        }
        db.flush(2);
        assert_eq!((db.len(), db.tombstones.len()), (0, 0));
        assert!(db.changed_since(b"never", 1, 0) && !db.changed_since(b"never", 2, 0));
    }

    #[test]
    fn scan_positions_are_fnv_hashes_and_never_zero() {
        assert_eq!(
            scan_position(b""),
            0xcbf2_9ce4_8422_2325,
            "FNV-1a's offset basis"
        );
        assert_eq!(scan_position(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut db = Db::default();
        for key in ["x", "y", "z"] {
            db.insert(k(key), s("1"), None, 1);
        }
        let walk: Vec<u64> = db.scan_from(0).map(|(p, _)| p).collect();
        assert!(walk.windows(2).all(|w| w[0] <= w[1]) && walk.len() == 3);
        let from_second: Vec<u64> = db.scan_from(walk[1]).map(|(p, _)| p).collect();
        assert_eq!(from_second, walk[1..]);
    }
}
