//! What a server stores: committed registers, the log of puts not yet known committed, the
//! client sessions that make retried puts apply once, and the durable writes that change them.
//! One [`Store`] is both the server's memory and its disk image: the server applies each
//! [`Write`] it emits to its own store with the function the host uses to persist it.
//!
//! ```text
//!   values   x=a@3  y=b@5                   committed: on every backup of the primary's view
//!   log      6: x=c (c1.4)  7: z=d (c2.9)   stored here, not yet known on every backup
//!   sessions c1 → put 4 at seq 6, c2 → put 9 at seq 7
//!            committed_seq = 5, last_seq = 7, lineage = 4 (the tenure this history belongs to)
//!
//!   Commit{through=6} ──► x=c@6 moves from the log to the values
//! ```
//!
//! Seqs number puts in the one order the primaries of a lineage chain give them; a backup
//! stores only `last_seq + 1`, so its history `1..=last_seq` is a prefix of its primary's.
//! Reads at the primary return committed values only: a put still in the log may be lost with
//! the primary, and a read must not expose what a later primary might not have.
//!
//! A state transfer builds a staging copy beside the live store (`Stage`, `Chunk`) and swaps
//! it in with its last write (`Installed`), so the live store is never half replaced.
//!
//! Invariants (asserted on every write): puts are stored in seq order without gaps;
//! `committed_seq ≤ last_seq` and never decreases; the log holds exactly the seqs in
//! `(committed_seq, last_seq]`; every value's seq is `≤ committed_seq`.

use std::collections::BTreeMap;
use std::fmt;

use crate::client::{Key, OpId, Value};
use crate::primary_backup::view::{View, ViewNum};

/// A put's place in its lineage's one order of writes, given by the primary.
pub type Seq = u64;

/// A committed register: its value and the put that wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The put that wrote it.
    pub seq: Seq,
    /// What it says.
    pub value: Value,
}

/// A put in the log: what it writes and which client request made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The key written.
    pub key: Key,
    /// The value written.
    pub value: Value,
    /// The request, so a retry is recognised on whichever server is primary by then.
    pub op: OpId,
}

/// One client's newest put: what makes a retry of it a no-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The client's own number of that put (`OpId::seq`).
    pub op_seq: u64,
    /// Where it sits in the history.
    pub seq: Seq,
}

/// One item of a state transfer: a committed register, a log record, or a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A committed register.
    Value { key: Key, stored: Stored },
    /// A put in the log.
    Logged { seq: Seq, record: Record },
    /// A client's session.
    Session { client: u64, session: Session },
}

/// A server's registers, log, sessions and progress (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Store {
    /// Committed registers.
    values: BTreeMap<Key, Stored>,
    /// Puts stored and not yet known committed, by seq.
    log: BTreeMap<Seq, Record>,
    /// Each client's newest put.
    sessions: BTreeMap<u64, Session>,
    /// The newest put stored: the history is `1..=last_seq`.
    last_seq: Seq,
    /// Every put through here is committed.
    committed_seq: Seq,
    /// The tenure whose history this store holds (0: none: new, or between transfers).
    lineage: ViewNum,
    /// As primary: `last_seq` when it took its tenure. It reads only once `committed_seq`
    /// reaches it, because the puts an earlier primary acknowledged are all at or below it.
    tenure_start_seq: Seq,
    /// A state transfer in progress: the chunks so far, kept apart from the live store until
    /// the last one swaps them in, so that a transfer cut short (the primary fails, the view
    /// changes, this server crashes) leaves a consistent store behind, if an old one. A
    /// transfer abandoned midway stays here, one store's worth at most, until the next
    /// transfer's first chunk replaces it.
    staged: Option<Box<Store>>,
}

/// One durable write a server or the view service asks its host to persist before sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// The server's start count: a ping names it, so a reply meant for an earlier life (whose
    /// clock started over) grants no lease now.
    Started { incarnation: u64 },
    /// The view service's current view, and whether its primary acknowledged it.
    ServiceView { view: View, acked: bool },
    /// A server's newest view; with `tenure_start`, the server takes up the primary's job in
    /// it: its store becomes the lineage `view.since`, its history through `tenure_start`.
    Adopt {
        view: View,
        tenure_start: Option<Seq>,
    },
    /// A put, stored before it is forwarded or acknowledged; `evict` is the client whose
    /// session makes room for this one's (at `sessions_max`).
    Put {
        seq: Seq,
        record: Record,
        evict: Option<u64>,
    },
    /// Every put through `through` is committed.
    Commit { through: Seq },
    /// A state transfer begins: chunks go to an empty staging copy; the live store stays.
    Stage,
    /// Part of a state transfer, into the staging copy.
    Chunk { items: Vec<Item> },
    /// A state transfer is complete: the staging copy replaces the live store, which is now
    /// the lineage `tenure` through `through`.
    Installed {
        tenure: ViewNum,
        through: Seq,
        committed: Seq,
    },
}

/// What survives a crash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    /// The newest view persisted (None: view 1, from the config).
    pub view: Option<View>,
    /// The view service only: whether the primary acknowledged `view`.
    pub acked: bool,
    /// How many times this server started.
    pub incarnation: u64,
    /// The server's store (the view service leaves it empty).
    pub store: Store,
}

/// Apply one write to a disk image: the meaning of "persist" (`Protocol::persist`).
pub fn persist(disk: &mut Disk, write: &Write) {
    match write {
        Write::Started { incarnation } => {
            assert!(*incarnation > disk.incarnation, "a start count only grows");
            disk.incarnation = *incarnation;
        }
        Write::ServiceView { view, acked } => {
            set_view(disk, view);
            disk.acked = *acked;
        }
        Write::Adopt { view, .. } => {
            set_view(disk, view);
            disk.store.apply(write);
        }
        other => disk.store.apply(other),
    }
}

fn set_view(disk: &mut Disk, view: &View) {
    let old = disk.view.as_ref().map_or(1, |v| v.num);
    assert!(view.num >= old, "views only grow: {view} after view {old}");
    disk.view = Some(view.clone());
}

impl Store {
    /// The newest put stored.
    pub fn last_seq(&self) -> Seq {
        self.last_seq
    }
    /// Every put through here is committed.
    pub fn committed_seq(&self) -> Seq {
        self.committed_seq
    }
    /// The tenure whose history this store holds (0: none).
    pub fn lineage(&self) -> ViewNum {
        self.lineage
    }
    /// As primary: the history it started its tenure with.
    pub fn tenure_start_seq(&self) -> Seq {
        self.tenure_start_seq
    }
    /// `key`'s committed value.
    pub fn committed(&self, key: &str) -> Option<&Value> {
        self.values.get(key).map(|s| &s.value)
    }
    /// Every committed register, in key order.
    pub fn values(&self) -> impl Iterator<Item = (&Key, &Stored)> + '_ {
        self.values.iter()
    }
    /// How many puts are stored and not known committed.
    pub fn log_len(&self) -> usize {
        self.log.len()
    }
    /// The log records after `seq`, in seq order.
    pub fn log_after(&self, seq: Seq) -> impl Iterator<Item = (Seq, &Record)> + '_ {
        self.log.range(seq + 1..).map(|(&s, r)| (s, r))
    }
    /// `client`'s newest put.
    pub fn session(&self, client: u64) -> Option<Session> {
        self.sessions.get(&client).copied()
    }
    /// How many clients have a session.
    pub fn sessions_len(&self) -> usize {
        self.sessions.len()
    }

    /// How many distinct keys are written, committed or not.
    pub fn keys(&self) -> usize {
        let mut fresh: Vec<&Key> = self.log.values().map(|r| &r.key).collect();
        fresh.sort();
        fresh.dedup();
        let fresh = fresh.iter().filter(|k| !self.values.contains_key(**k));
        self.values.len() + fresh.count()
    }

    /// Is `key` written, committed or not?
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key) || self.log.values().any(|r| r.key == key)
    }

    /// Every register with its newest stored value, committed or not: what this server would
    /// hold once its log commits. The final state a convergence check compares.
    pub fn registers(&self) -> BTreeMap<Key, Value> {
        let mut all: BTreeMap<Key, Value> = self
            .values
            .iter()
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect();
        for record in self.log.values() {
            all.insert(record.key.clone(), record.value.clone());
        }
        all
    }

    /// `key`'s value in the history through `seq` (None: not written by then). Needs
    /// `seq ≥ committed_seq`: older values are gone once committed over.
    pub fn value_as_of(&self, key: &str, seq: Seq) -> Option<&Value> {
        assert!(
            seq >= self.committed_seq,
            "as of {seq}: committed through {} already",
            self.committed_seq
        );
        let logged = self.log.range(..=seq).rev().find(|(_, r)| r.key == key);
        logged
            .map(|(_, r)| &r.value)
            .or_else(|| self.committed(key))
    }

    /// Every key written by the history through `seq` (see `value_as_of`).
    pub fn keys_as_of(&self, seq: Seq) -> Vec<&Key> {
        let mut keys: Vec<&Key> = self.values.keys().collect();
        keys.extend(self.log.range(..=seq).map(|(_, r)| &r.key));
        keys.sort();
        keys.dedup();
        keys
    }

    /// The client whose session a put by `client` evicts, if the table is full.
    pub fn eviction_for(&self, client: u64, sessions_max: usize) -> Option<u64> {
        if self.sessions.contains_key(&client) || self.sessions.len() < sessions_max {
            return None;
        }
        let oldest = self.sessions.iter().min_by_key(|(_, s)| s.seq);
        oldest.map(|(&c, _)| c)
    }

    /// How many items a state transfer of this store carries.
    pub fn items(&self) -> usize {
        self.values.len() + self.log.len() + self.sessions.len()
    }

    /// Chunk `index` of a state transfer: at most `items_max` items (registers, then the log,
    /// then sessions), and whether it is the last chunk.
    pub fn chunk(&self, index: u32, items_max: usize) -> (Vec<Item>, bool) {
        let values = self.values.iter().map(|(k, s)| Item::Value {
            key: k.clone(),
            stored: s.clone(),
        });
        let log = self.log.iter().map(|(&seq, r)| Item::Logged {
            seq,
            record: r.clone(),
        });
        let sessions = self
            .sessions
            .iter()
            .map(|(&client, &session)| Item::Session { client, session });
        let skip = (index as usize).saturating_mul(items_max);
        let items: Vec<Item> = values
            .chain(log)
            .chain(sessions)
            .skip(skip)
            .take(items_max)
            .collect();
        (items, skip.saturating_add(items_max) >= self.items())
    }

    /// Apply one store write (every write but `Started` and `ServiceView`).
    pub fn apply(&mut self, write: &Write) {
        match write {
            Write::Adopt { view, tenure_start } => {
                if let Some(start) = *tenure_start {
                    assert_eq!(start, self.last_seq, "a tenure starts at the whole history");
                    self.lineage = view.since;
                    self.tenure_start_seq = start;
                }
            }
            Write::Put { seq, record, evict } => self.put(*seq, record, *evict),
            Write::Commit { through } => self.commit(*through),
            Write::Stage => self.staged = Some(Box::default()),
            Write::Chunk { items } => {
                let staged = self.staged.as_mut().expect("a chunk follows Stage");
                items.iter().for_each(|item| staged.take_item(item));
            }
            Write::Installed {
                tenure,
                through,
                committed,
            } => self.install(*tenure, *through, *committed),
            Write::Started { .. } | Write::ServiceView { .. } => {
                unreachable!("not a store write: {write:?}")
            }
        }
    }

    fn put(&mut self, seq: Seq, record: &Record, evict: Option<u64>) {
        assert_eq!(seq, self.last_seq + 1, "puts are stored in seq order");
        if let Some(client) = evict {
            self.sessions.remove(&client);
        }
        let session = Session {
            op_seq: record.op.seq,
            seq,
        };
        self.sessions.insert(record.op.client, session);
        self.log.insert(seq, record.clone());
        self.last_seq = seq;
    }

    fn commit(&mut self, through: Seq) {
        assert!(
            self.committed_seq <= through && through <= self.last_seq,
            "commit through {through} outside {}..={}",
            self.committed_seq,
            self.last_seq
        );
        let rest = self.log.split_off(&(through + 1));
        for (seq, r) in std::mem::replace(&mut self.log, rest) {
            let stored = Stored {
                seq,
                value: r.value,
            };
            self.values.insert(r.key, stored);
        }
        self.committed_seq = through;
    }

    fn take_item(&mut self, item: &Item) {
        match item {
            Item::Value { key, stored } => {
                self.values.insert(key.clone(), stored.clone());
            }
            Item::Logged { seq, record } => {
                self.log.insert(*seq, record.clone());
            }
            Item::Session { client, session } => {
                self.sessions.insert(*client, *session);
            }
        }
    }

    fn install(&mut self, tenure: ViewNum, through: Seq, committed: Seq) {
        let staged = self.staged.take().expect("Installed follows Stage");
        *self = *staged;
        assert!(committed <= through, "committed beyond the history");
        assert!(
            self.values.values().all(|s| s.seq <= committed),
            "a transferred register is newer than the transfer's commit point {committed}"
        );
        let logged: Vec<Seq> = self.log.keys().copied().collect();
        assert_eq!(
            logged,
            (committed + 1..=through).collect::<Vec<_>>(),
            "a transfer's log is exactly the puts after its commit point"
        );
        self.last_seq = through;
        self.committed_seq = committed;
        self.lineage = tenure;
        self.tenure_start_seq = 0;
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Value { key, stored } => write!(f, "{key}@{}={}", stored.seq, stored.value),
            Item::Logged { seq, record } => {
                write!(f, "{seq}:{}={}({})", record.key, record.value, record.op)
            }
            Item::Session { client, session } => {
                write!(f, "c{client}.{}@{}", session.op_seq, session.seq)
            }
        }
    }
}

/// `[x@3=a 6:y=b(c1.4) c1.4@6]`: a chunk's items, one compact word each.
pub(crate) fn items_line(items: &[Item]) -> String {
    let words: Vec<String> = items.iter().map(Item::to_string).collect();
    format!("[{}]", words.join(" "))
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Started { incarnation } => write!(f, "Started{{incarnation={incarnation}}}"),
            Write::ServiceView { view, acked } => {
                write!(f, "ServiceView{{{view} acked={acked}}}")
            }
            Write::Adopt { view, tenure_start } => match tenure_start {
                Some(s) => write!(f, "Adopt{{{view} tenure_start={s}}}"),
                None => write!(f, "Adopt{{{view}}}"),
            },
            Write::Put { seq, record, evict } => {
                let Record { key, value, op } = record;
                write!(f, "Put{{seq={seq} key={key} value={value} op={op}")?;
                match evict {
                    Some(c) => write!(f, " evict=c{c}}}"),
                    None => write!(f, "}}"),
                }
            }
            Write::Commit { through } => write!(f, "Commit{{through={through}}}"),
            Write::Stage => write!(f, "Stage{{}}"),
            Write::Chunk { items } => write!(f, "Chunk{{{}}}", items_line(items)),
            Write::Installed {
                tenure,
                through,
                committed,
            } => write!(
                f,
                "Installed{{tenure={tenure} through={through} committed={committed}}}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &mut Store, key: &str, value: &str, client: u64, op_seq: u64) {
        let record = Record {
            key: key.into(),
            value: value.into(),
            op: OpId {
                client,
                seq: op_seq,
            },
        };
        let seq = store.last_seq() + 1;
        store.apply(&Write::Put {
            seq,
            record,
            evict: None,
        });
    }

    #[test]
    fn a_commit_moves_log_records_into_the_committed_registers() {
        let mut s = Store::default();
        put(&mut s, "x", "a", 1, 1);
        put(&mut s, "x", "b", 1, 2);
        put(&mut s, "y", "c", 2, 1);
        assert_eq!(s.committed("x"), None, "nothing is committed yet");
        s.apply(&Write::Commit { through: 2 });
        assert_eq!(s.committed("x").map(String::as_str), Some("b"));
        assert_eq!((s.committed_seq(), s.last_seq(), s.log_len()), (2, 3, 1));
        assert_eq!(s.value_as_of("y", 3).map(String::as_str), Some("c"));
        assert_eq!(s.value_as_of("y", 2), None, "y is written only at seq 3");
        assert_eq!(s.registers().len(), 2);
        assert_eq!(s.keys(), 2);
    }

    #[test]
    fn sessions_remember_each_clients_newest_put_and_evict_the_oldest_when_full() {
        let mut s = Store::default();
        put(&mut s, "x", "a", 1, 1);
        put(&mut s, "x", "b", 2, 1);
        put(&mut s, "x", "c", 1, 2);
        assert_eq!(s.session(1), Some(Session { op_seq: 2, seq: 3 }));
        assert_eq!(
            s.eviction_for(3, 2),
            Some(2),
            "client 2's put is the oldest"
        );
        assert_eq!(s.eviction_for(1, 2), None, "a known client needs no room");
        assert_eq!(s.eviction_for(3, 3), None, "there is room");
    }

    #[test]
    fn chunks_carry_registers_then_the_log_then_sessions_and_rebuild_the_store() {
        let mut s = Store::default();
        for (k, v) in [("a", "1"), ("b", "2"), ("a", "3")] {
            let op_seq = s.last_seq() + 1;
            put(&mut s, k, v, 1, op_seq);
        }
        s.apply(&Write::Commit { through: 2 });
        assert_eq!(s.items(), 2 + 1 + 1);
        let mut copy = Store::default();
        copy.apply(&Write::Stage);
        let (mut index, mut done) = (0, false);
        while !done {
            let (items, last) = s.chunk(index, 3);
            copy.apply(&Write::Chunk { items });
            (index, done) = (index + 1, last);
        }
        assert_eq!(index, 2, "four items in chunks of three");
        copy.apply(&Write::Installed {
            tenure: 4,
            through: 3,
            committed: 2,
        });
        assert_eq!(copy.registers(), s.registers());
        assert_eq!(copy.session(1), s.session(1));
        assert_eq!(
            (copy.last_seq(), copy.committed_seq(), copy.lineage()),
            (3, 2, 4)
        );
        assert_eq!(Store::default().chunk(0, 3), (Vec::new(), true));
    }

    #[test]
    #[should_panic(expected = "in seq order")]
    fn storing_a_put_out_of_order_is_a_bug() {
        let mut s = Store::default();
        let record = Record {
            key: "x".into(),
            value: "a".into(),
            op: OpId { client: 1, seq: 1 },
        };
        s.apply(&Write::Put {
            seq: 2,
            record,
            evict: None,
        });
    }

    #[test]
    fn writes_print_as_one_line() {
        let record = Record {
            key: "x".into(),
            value: "a".into(),
            op: OpId { client: 1, seq: 4 },
        };
        let w = Write::Put {
            seq: 6,
            record: record.clone(),
            evict: Some(3),
        };
        assert_eq!(w.to_string(), "Put{seq=6 key=x value=a op=c1.4 evict=c3}");
        let items = vec![
            Item::Logged { seq: 6, record },
            Item::Session {
                client: 1,
                session: Session { op_seq: 4, seq: 6 },
            },
        ];
        assert_eq!(
            Write::Chunk { items }.to_string(),
            "Chunk{[6:x=a(c1.4) c1.4@6]}"
        );
    }
}
