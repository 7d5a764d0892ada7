//! What a replica stores: versions per key, clean or dirty (CRAQ §2.3), the Sent list
//! (OSDI '04 §3), and the durable writes that change them. One [`Store`] is both the replica's
//! memory and its disk image: the replica applies each [`Write`] it emits to its own store
//! with the same function the host uses to persist it, so the two cannot disagree.
//!
//! ```text
//!   key x: [ 3:"a" clean ][ 7:"b" dirty ][ 9:"c" dirty ]      acked_seq = 5, last_seq = 9
//!            └ newest version the tail has acked: what a read may return at once
//!                          └──────────── not yet acked: forwarded, waiting (the Sent list)
//!
//!   Sent list = every version with seq > acked_seq, by seq:   7 → x, 9 → x, 8 → y, …
//!   Ack{through=7} ──► acked_seq = 7: version 7 is clean, version 3 is dropped
//! ```
//!
//! The paper acks each update; here acks are cumulative (`through=seq`), because the tail
//! stores updates in seq order, so a version is clean exactly when `seq ≤ acked_seq`.
//!
//! Invariants (asserted on every write): updates arrive in seq order (`seq = last_seq + 1`);
//! `acked_seq ≤ last_seq` and never decreases; per key, versions ascend by seq and only the
//! oldest may be clean; the Sent list holds exactly the versions with `seq > acked_seq`.

use std::collections::BTreeMap;
use std::fmt;

use crate::chain::configuration::{Configuration, Epoch};
use crate::client::{Key, Value};

/// An update's place in the chain's one order of writes, given by the head. Version numbers in
/// CRAQ's sense are these: every version of every key is named by the seq of its write.
pub type Seq = u64;

/// One stored version of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// The write that made it.
    pub seq: Seq,
    /// What it says.
    pub value: Value,
}

/// One key's version, as a state-transfer chunk carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: Key,
    /// The write that made this version.
    pub seq: Seq,
    /// Its value.
    pub value: Value,
}

/// A replica's versions, Sent list and progress (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Store {
    /// Per key, its versions in ascending seq; only the first may be clean.
    versions: BTreeMap<Key, Vec<Version>>,
    /// The Sent list (§3): every dirty version, by seq, naming its key.
    sent: BTreeMap<Seq, Key>,
    /// The newest update this replica has stored: its history is updates `1..=last_seq`.
    last_seq: Seq,
    /// Every update through here is known stored at the tail (clean).
    acked_seq: Seq,
    /// The epoch whose state transfer this store completed (0: none). A joining replica is
    /// ready once this equals the epoch that made it join.
    installed_epoch: Epoch,
}

/// One durable write a replica or the master asks its host to persist before sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// The replica's start count: a heartbeat names it so an ack meant for an earlier life
    /// (whose clock started over) does not grant a lease now.
    Started { incarnation: u64 },
    /// The master's or a replica's newest configuration.
    Configure(Configuration),
    /// An update, stored before it is forwarded; `clean` at the tail, which commits it.
    Version {
        key: Key,
        seq: Seq,
        value: Value,
        clean: bool,
    },
    /// The tail has every update through `through`: they are clean, older versions go.
    Acked { through: Seq },
    /// A joining replica drops whatever it held before its state transfer starts.
    Wipe,
    /// Part of a state transfer: one clean version per key.
    Chunk { entries: Vec<Entry> },
    /// The state transfer of `epoch` is complete: the history is `1..=through`, all clean.
    Installed { epoch: Epoch, through: Seq },
}

/// What survives a crash: the master keeps its configuration, a replica its configuration,
/// its start count and its store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    /// The newest configuration persisted (None: epoch 1, from `Config::chain`).
    pub configuration: Option<Configuration>,
    /// How many times this replica started (the master leaves it 0).
    pub incarnation: u64,
    /// The replica's store (the master leaves it empty).
    pub store: Store,
}

/// Apply one write to a disk image: the meaning of "persist" (`Protocol::persist`).
pub fn persist(disk: &mut Disk, write: &Write) {
    match write {
        Write::Configure(c) => {
            let old = disk.configuration.as_ref().map_or(1, |o| o.epoch);
            assert!(c.epoch >= old, "epochs only grow: {c} after epoch {old}");
            disk.configuration = Some(c.clone());
        }
        Write::Started { incarnation } => {
            assert!(*incarnation > disk.incarnation, "a start count only grows");
            disk.incarnation = *incarnation;
        }
        other => disk.store.apply(other),
    }
}

impl Store {
    /// The newest update stored.
    pub fn last_seq(&self) -> Seq {
        self.last_seq
    }

    /// Every update through here is clean.
    pub fn acked_seq(&self) -> Seq {
        self.acked_seq
    }

    /// The epoch whose state transfer this store completed (0: none).
    pub fn installed_epoch(&self) -> Epoch {
        self.installed_epoch
    }

    /// How many keys have a version.
    pub fn keys(&self) -> usize {
        self.versions.len()
    }

    /// Does `key` have a version?
    pub fn contains(&self, key: &str) -> bool {
        self.versions.contains_key(key)
    }

    /// Every key with its versions, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &[Version])> {
        self.versions.iter().map(|(k, v)| (k, v.as_slice()))
    }

    /// `key`'s versions, oldest first (empty if never written).
    pub fn versions(&self, key: &str) -> &[Version] {
        self.versions.get(key).map_or(&[], Vec::as_slice)
    }

    /// Is `v` clean: known stored at the tail?
    pub fn is_clean(&self, v: &Version) -> bool {
        v.seq <= self.acked_seq
    }

    /// `key`'s newest version.
    pub fn latest(&self, key: &str) -> Option<&Version> {
        self.versions(key).last()
    }

    /// How many updates wait for the tail's ack (the Sent list's length).
    pub fn sent_len(&self) -> usize {
        self.sent.len()
    }

    /// The Sent list in seq order, as entries to forward again.
    pub fn sent(&self) -> impl Iterator<Item = Entry> + '_ {
        self.sent.iter().map(|(&seq, key)| {
            let v = self.versions(key).iter().find(|v| v.seq == seq);
            let v = v.expect("every Sent entry names a stored version");
            Entry {
                key: key.clone(),
                seq,
                value: v.value.clone(),
            }
        })
    }

    /// The version a read returns when the tail says `key`'s committed version is `version`
    /// (0: none). It is that version if still held; if this store already dropped it, an ack
    /// for a newer one arrived after the tail answered, and the newest clean version (itself
    /// committed after the answer, so within the read) is as good. None for never written.
    pub fn committed_at(&self, key: &str, version: Seq) -> Option<&Version> {
        let list = self.versions(key);
        if let Some(v) = list.iter().find(|v| v.seq == version) {
            return Some(v);
        }
        let oldest = list.first().filter(|v| self.is_clean(v) && version < v.seq);
        assert!(
            oldest.is_some() || version == 0,
            "the tail's version {version} of {key} is missing here: a successor never holds \
             what its predecessor lacks (OSDI '04 §3, update propagation)"
        );
        oldest
    }

    /// Chunk `index` of a state transfer: the newest version of each of at most `keys_max`
    /// keys, in key order, and whether it is the last chunk.
    pub fn chunk(&self, index: u32, keys_max: usize) -> (Vec<Entry>, bool) {
        let skip = (index as usize).saturating_mul(keys_max);
        let entries: Vec<Entry> = self
            .versions
            .iter()
            .skip(skip)
            .take(keys_max)
            .map(|(key, list)| {
                let v = list.last().expect("a stored key has a version");
                Entry {
                    key: key.clone(),
                    seq: v.seq,
                    value: v.value.clone(),
                }
            })
            .collect();
        let last = skip.saturating_add(keys_max) >= self.versions.len();
        (entries, last)
    }

    /// Apply one store write (every write but `Configure` and `Started`).
    pub fn apply(&mut self, write: &Write) {
        match write {
            Write::Version {
                key,
                seq,
                value,
                clean,
            } => self.store_version(key, *seq, value, *clean),
            Write::Acked { through } => self.ack_through(*through),
            Write::Wipe => *self = Store::default(),
            Write::Chunk { entries } => {
                for e in entries {
                    let v = Version {
                        seq: e.seq,
                        value: e.value.clone(),
                    };
                    self.versions.insert(e.key.clone(), vec![v]);
                }
            }
            Write::Installed { epoch, through } => self.install(*epoch, *through),
            Write::Configure(_) | Write::Started { .. } => {
                unreachable!("not a store write: {write:?}")
            }
        }
    }

    fn store_version(&mut self, key: &Key, seq: Seq, value: &Value, clean: bool) {
        assert_eq!(
            seq,
            self.last_seq + 1,
            "updates are stored in seq order, without gaps"
        );
        let v = Version {
            seq,
            value: value.clone(),
        };
        self.versions.entry(key.clone()).or_default().push(v);
        self.last_seq = seq;
        if clean {
            assert!(
                self.sent.is_empty(),
                "only the tail stores clean, and it sends nothing"
            );
            self.ack_through(seq);
            let list = self.versions.get_mut(key).expect("stored just now");
            list.drain(..list.len() - 1);
        } else {
            self.sent.insert(seq, key.clone());
        }
    }

    fn ack_through(&mut self, through: Seq) {
        assert!(
            through <= self.last_seq,
            "acked {through} beyond the last update stored, {}",
            self.last_seq
        );
        assert!(through >= self.acked_seq, "acks only move forward");
        self.acked_seq = through;
        let still_dirty = self.sent.split_off(&(through + 1));
        let now_clean = std::mem::replace(&mut self.sent, still_dirty);
        for key in now_clean.into_values() {
            let list = self.versions.get_mut(&key).expect("a Sent entry's key");
            let newest_clean = list.iter().rposition(|v| v.seq <= through);
            if let Some(k) = newest_clean {
                list.drain(..k);
            }
        }
    }

    fn install(&mut self, epoch: Epoch, through: Seq) {
        assert!(
            self.sent.is_empty(),
            "a state transfer carries clean versions only"
        );
        for (key, list) in &self.versions {
            assert!(
                list.iter().all(|v| v.seq <= through),
                "{key}: a chunk newer than the transfer's last update {through}"
            );
        }
        self.last_seq = through;
        self.acked_seq = through;
        self.installed_epoch = epoch;
    }
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Started { incarnation } => write!(f, "Started{{incarnation={incarnation}}}"),
            Write::Configure(c) => write!(f, "Configure{{{c}}}"),
            Write::Version {
                key,
                seq,
                value,
                clean,
            } => {
                let state = if *clean { "clean" } else { "dirty" };
                write!(f, "Version{{key={key} seq={seq} value={value} {state}}}")
            }
            Write::Acked { through } => write!(f, "Acked{{through={through}}}"),
            Write::Wipe => write!(f, "Wipe{{}}"),
            Write::Chunk { entries } => write!(f, "Chunk{{{}}}", entries_line(entries)),
            Write::Installed { epoch, through } => {
                write!(f, "Installed{{epoch={epoch} through={through}}}")
            }
        }
    }
}

/// `[x@3=a y@5=b]`: the entries of a chunk, one compact word each.
pub(crate) fn entries_line(entries: &[Entry]) -> String {
    let words: Vec<String> = entries
        .iter()
        .map(|e| format!("{}@{}={}", e.key, e.seq, e.value))
        .collect();
    format!("[{}]", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &mut Store, key: &str, value: &str, clean: bool) {
        let seq = store.last_seq() + 1;
        store.apply(&Write::Version {
            key: key.into(),
            seq,
            value: value.into(),
            clean,
        });
    }

    fn seqs(store: &Store, key: &str) -> Vec<Seq> {
        store.versions(key).iter().map(|v| v.seq).collect()
    }

    #[test]
    fn an_ack_makes_versions_clean_and_drops_the_ones_they_replace() {
        // CRAQ §2.3: on an ack, mark the version clean and delete every older one.
        let mut s = Store::default();
        for value in ["a", "b", "c"] {
            put(&mut s, "x", value, false);
        }
        put(&mut s, "y", "d", false);
        assert_eq!(s.sent_len(), 4, "everything forwarded waits for the tail");
        s.apply(&Write::Acked { through: 2 });
        assert_eq!(
            seqs(&s, "x"),
            [2, 3],
            "version 1 is replaced by clean version 2"
        );
        assert!(s.is_clean(&s.versions("x")[0]));
        assert!(!s.is_clean(s.latest("x").unwrap()));
        let sent: Vec<Seq> = s.sent().map(|e| e.seq).collect();
        assert_eq!(sent, [3, 4], "the Sent list is what the tail has not acked");
    }

    #[test]
    fn the_tail_stores_every_version_clean_and_keeps_only_the_newest() {
        let mut s = Store::default();
        put(&mut s, "x", "a", true);
        put(&mut s, "x", "b", true);
        assert_eq!(seqs(&s, "x"), [2]);
        assert_eq!((s.last_seq(), s.acked_seq(), s.sent_len()), (2, 2, 0));
    }

    #[test]
    #[should_panic(expected = "in seq order, without gaps")]
    fn storing_an_update_out_of_order_is_a_bug() {
        let mut s = Store::default();
        s.apply(&Write::Version {
            key: "x".into(),
            seq: 2,
            value: "a".into(),
            clean: false,
        });
    }

    #[test]
    fn a_read_gets_the_tails_committed_version_or_a_newer_clean_one() {
        let mut s = Store::default();
        for value in ["a", "b", "c"] {
            put(&mut s, "x", value, false);
        }
        assert_eq!(s.committed_at("x", 2).unwrap().value, "b");
        assert_eq!(s.committed_at("x", 0), None, "the tail never saw x");
        s.apply(&Write::Acked { through: 3 });
        // The tail answered 2, then its ack for 3 arrived first and dropped version 2.
        assert_eq!(s.committed_at("x", 2).unwrap().value, "c");
    }

    #[test]
    fn chunks_cover_every_key_once_in_key_order() {
        let mut s = Store::default();
        for key in ["d", "a", "c", "b", "a"] {
            put(&mut s, key, "v", false);
        }
        let (first, last) = s.chunk(0, 3);
        assert!(!last);
        let keys: Vec<&str> = first.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(first[0].seq, 5, "the newest version of a");
        let (second, last) = s.chunk(1, 3);
        assert!(last);
        assert_eq!(second.len(), 1);
        assert_eq!(Store::default().chunk(0, 3), (Vec::new(), true));
    }

    #[test]
    fn a_transfer_replaces_the_store_and_makes_it_all_clean() {
        let mut s = Store::default();
        put(&mut s, "stale", "from an earlier life", false);
        s.apply(&Write::Wipe);
        let entries = vec![Entry {
            key: "x".into(),
            seq: 4,
            value: "b".into(),
        }];
        s.apply(&Write::Chunk { entries });
        s.apply(&Write::Installed {
            epoch: 3,
            through: 6,
        });
        assert!(!s.contains("stale"));
        assert_eq!(
            (s.last_seq(), s.acked_seq(), s.installed_epoch()),
            (6, 6, 3)
        );
        assert!(s.is_clean(s.latest("x").unwrap()));
    }

    #[test]
    fn writes_print_as_one_line() {
        let w = Write::Version {
            key: "x".into(),
            seq: 3,
            value: "c1.2".into(),
            clean: false,
        };
        assert_eq!(w.to_string(), "Version{key=x seq=3 value=c1.2 dirty}");
        let entries = vec![Entry {
            key: "x".into(),
            seq: 3,
            value: "a".into(),
        }];
        assert_eq!(Write::Chunk { entries }.to_string(), "Chunk{[x@3=a]}");
    }
}
