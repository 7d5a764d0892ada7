//! What a Raft node asks of its host: durable writes, the disk image they build, client inputs
//! and outputs, and [`Ready`], the batch of effects with the host's contract on it.
//!
//! ```text
//!   Input::Propose ──► Raft ──► Ready { writes:   [HardState, Append([...])]   1. persist
//!                                       messages: [n1→n2 AppendEntries{..}]   2. send
//!                                       outputs:  [Accepted, Committed(..)] }  3. apply
//!                                                                              4. clear
//!   Input::Read{id} ──► ... ──► outputs: [Committed(..≤ index), ReadReady{id index}]
//!                                     or [ReadFailed{id reason}]
//! ```
//!
//! Reads (thesis §6.4): Raft never sees what is read; the host keeps that under its `id`.
//! `ReadReady{id, index}` is emitted only once this node has emitted `Committed` for every
//! index up to `index`, so a host that applies outputs in order answers the read right after
//! applying everything before it, from its own state machine, and the answer is linearizable.
//!
//! Durable state is exactly Figure 2's "persistent state on all servers": `currentTerm`,
//! `votedFor` ([`HardState`]) and `log[]`. Everything else (commit index, leader, progress) is
//! volatile and rebuilt after a restart.

use std::fmt;

use bytes::Bytes;
use distributed_core::{Effects, NodeId, Tick};

use crate::log::{Entry, Index, Term};
use crate::membership::{ChangeError, MembershipChange};
use crate::node::Raft;
use crate::snapshot::Snapshot;

/// The durable half of a node's identity in time: its term and whom it voted for in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HardState {
    /// The latest term the node has seen. Forgetting it could let a node act in an old term.
    pub term: Term,
    /// The candidate voted for in `term`. Forgetting it could let a node vote twice (§5.2).
    pub voted_for: Option<NodeId>,
}

/// A node's disk as the host stores it: what survives a crash, and nothing else.
/// `log[k].index == s + 1 + k`, where `s` is the snapshot's index (0 without one).
/// An empty (default) disk is a brand new node.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The last `HardState` written.
    pub hard_state: HardState,
    /// The durable log after the snapshot (from index 1 without one).
    pub log: Vec<Entry>,
    /// The latest snapshot written (§7): the state machine through `meta.index`, which
    /// replaces the log up to there. A restarted host restores its state machine from it.
    pub snapshot: Option<Snapshot>,
}

/// One durable write. The host completes every write of a [`Ready`] before sending its messages
/// (but see `Config::leader_writes_in_parallel`).
#[derive(Clone, Debug)]
pub enum Write {
    /// Replace the stored term and vote.
    HardState(HardState),
    /// Truncate the durable log from `entries[0].index` on (if it exists), then append `entries`.
    Append(Vec<Entry>),
    /// Replace the stored snapshot, then drop the log through `meta.index`; if the log does not
    /// hold `(meta.term, meta.index)`, drop all of it (§7: nothing in it is known to follow).
    Snapshot(Snapshot),
}

impl Write {
    /// The `(index, term)` where the durable log ends once `writes` are on disk, as far as
    /// they say: the last entry appended, or a snapshot's point past it. What a host reports
    /// with `Input::LogDurable` once they are durable (thesis §10.2.1); `None` if they only
    /// change the term or vote. A snapshot behind the last append keeps the entries after it
    /// if the log holds its point; if it does not, the node dropped them from its own log too,
    /// and `mark_durable` ignores a report of an entry the log no longer holds.
    pub fn last_log_point(writes: &[Write]) -> Option<(Index, Term)> {
        let mut point: Option<(Index, Term)> = None;
        for w in writes {
            match w {
                Write::Append(entries) => {
                    if let Some(e) = entries.last() {
                        point = Some((e.index, e.term)); // an append truncates what follows
                    }
                }
                Write::Snapshot(s) => {
                    if point.is_none_or(|(index, _)| index <= s.meta.index) {
                        point = Some((s.meta.index, s.meta.term));
                    }
                }
                Write::HardState(_) => {}
            }
        }
        point
    }
}

/// A request from a client or the host.
#[derive(Clone, Debug)]
pub enum Input {
    /// Append this command to the replicated log (leader only).
    Propose(Bytes),
    /// A linearizable read without a log entry (thesis §6.4), on the leader or, forwarded to
    /// it, on a follower. Answered by exactly one `ReadReady` or `ReadFailed` with this `id`,
    /// unless the node crashes first.
    Read {
        /// The host's opaque name for the read; Raft only hands it back. Ids of reads pending
        /// on one node should differ, or the host cannot tell their answers apart.
        id: u64,
    },
    /// Change the cluster's membership (Raft §6), at the leader. Refused with
    /// `Output::ChangeRejected`; otherwise complete once a plain (not joint) config entry that
    /// includes the change is output as `Committed`.
    ChangeMembership(MembershipChange),
    /// Hand leadership to voter `to` (thesis §3.10), at the leader. Refused or abandoned with
    /// `Output::ChangeRejected`; it succeeded when `to` leads.
    TransferLeadership {
        /// The voter that should take over.
        to: NodeId,
    },
    /// The host snapshotted its state machine after applying every entry through `index`
    /// (`data` is the state, in the host's format): the node may discard its log through
    /// `index` (§7). Ignored unless `index` lies above the node's current snapshot and at or
    /// below its last `Committed` output; a host simply tries again later.
    Snapshot {
        /// The last index the state machine had applied when `data` was taken.
        index: Index,
        /// The serialized state machine; opaque to Raft, sent as is to lagging followers.
        data: Bytes,
    },
    /// The host's writes through the entry `(index, term)` are durable: the last entry of a
    /// `Write::Append` (or the point of a `Write::Snapshot`) whose writes just completed.
    /// Needed only with `Config::leader_writes_in_parallel`; harmless otherwise.
    LogDurable {
        /// The entry's index.
        index: Index,
        /// Its term: a report about an entry since overwritten is ignored.
        term: Term,
    },
}

/// What a node tells its host.
#[derive(Clone, Debug)]
pub enum Output {
    /// The leader accepted a proposal at this (index, term); it is NOT committed yet.
    Accepted {
        /// Where the proposal sits in the leader's log.
        index: Index,
        /// The leader's term; if a different term commits at `index`, the proposal was lost.
        term: Term,
    },
    /// This node is not the leader; `leader` is its best guess.
    NotLeader {
        /// Where the client should retry, if known.
        leader: Option<NodeId>,
    },
    /// A committed entry, delivered in index order, each index once per node incarnation
    /// (after a restart, commit_index starts again at the disk's snapshot index and entries
    /// are re-delivered from the one after it: the host restores its state machine from
    /// `Disk::snapshot` before driving the node, then replays).
    /// Entries with empty `data` are a new leader's no-ops (§8): advance past them.
    Committed(Entry),
    /// The leader sent this node a snapshot past its log (§7), now persisted: replace the whole
    /// state machine with `data`. The next `Committed` is `meta.index + 1`.
    RestoreSnapshot(Snapshot),
    /// The read `id` may be answered now: every entry through `index` has already been output as
    /// `Committed`, and `index` covers every write that completed before the read arrived.
    ReadReady {
        /// The id from `Input::Read`.
        id: u64,
        /// The read index (§6.4): the leader's commit index when it took the read.
        index: Index,
    },
    /// A membership change or leadership transfer was refused, or a transfer was abandoned.
    ChangeRejected {
        /// Why; every case is safe to retry later.
        reason: ChangeError,
    },
    /// The read `id` cannot be served here; the client should retry (possibly elsewhere).
    ReadFailed {
        /// The id from `Input::Read`.
        id: u64,
        /// Why, and where to retry.
        reason: ReadFailure,
    },
}

/// Why a read failed. Every case is safe to retry: a failed read has no effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFailure {
    /// No leader known, or leadership (or the term) changed while the read waited: its
    /// confirmation can no longer arrive. `leader` is the best guess of where to retry.
    NotLeader {
        /// Where the client should retry, if known.
        leader: Option<NodeId>,
    },
    /// `pending_reads_max` reads already wait on this node (or on the leader it forwards to).
    Busy {
        /// The bound that was hit.
        pending_reads_max: usize,
    },
    /// Not ready within `election_timeout_ticks_max` ticks: a lost message or a partition.
    /// By then a healthy leader has confirmed itself several times over.
    TimedOut {
        /// How long the read waited.
        ticks: Tick,
    },
}

/// The effects of one call into a Raft node, and the host's contract for carrying them out.
///
/// After each `step`, `tick` or `input`, the host must, **in this order**:
///
/// 1. **Persist** every entry of `writes`, in order, durably (apply each to the node's [`Disk`]
///    with `<Raft as Protocol>::persist`, or the equivalent on real storage, then fsync).
///    A granted vote and an acknowledged entry are promises; a message announcing them must
///    never outlive a crash that forgets them (§5.2, §5.3, Figure 2 "persistent state").
/// 2. **Send** every envelope in `messages`. Loss, delay, duplication and reordering are
///    fine: Raft tolerates them. Retrying is the node's job, not the host's.
/// 3. **Apply** every output: `Committed` entries go to the state machine in the order given,
///    `RestoreSnapshot` replaces the state machine at that point in the sequence,
///    `Accepted` / `NotLeader` go back to the waiting client, and `ReadReady` is answered
///    from the state machine as it stands at that point in the sequence.
/// 4. **Advance**: `clear()` the `Ready` and feed the node its next event.
/// 5. **Compact** (optional, §7): now and then, snapshot the state machine at the last
///    applied index and hand it over with `Input::Snapshot { index, data }`; the node answers
///    with a `Write::Snapshot` and forgets its log through `index`.
/// 6. **Restart**: rebuild the state machine from `Disk::snapshot` (if any) before calling
///    `Raft::new` with the disk; the node re-delivers `Committed` from the snapshot index on.
///
/// A host may batch several calls before carrying out one `Ready`, as long as it keeps the
/// order: all writes, then all messages, then all outputs.
///
/// With `Config::leader_writes_in_parallel` (thesis §10.2.1) steps 1 and 2 overlap for the
/// messages only a leader sends: `AppendEntries` and `InstallSnapshot` may leave while the
/// writes are still on their way to disk, and the host reports each completed `Write::Append`
/// with `Input::LogDurable { index, term }` of its last entry. Every other message (votes,
/// acknowledgements) still waits for the writes before it. Outputs may then be applied at once:
/// with the option on, the node commits only what a quorum holds durably, counting itself
/// only through what it was told is durable.
///
/// # A complete driving loop
///
/// Three nodes in one process, a `VecDeque` for the network, a `Disk` per node:
///
/// ```
/// use std::collections::VecDeque;
/// use bytes::Bytes;
/// use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
/// use raft::{Config, Disk, Input, Message, Output, Raft, Ready, Role};
///
/// let ids: Vec<NodeId> = (1..=3).map(NodeId).collect();
/// let mut disks = vec![Disk::default(); ids.len()];
/// let mut nodes: Vec<Raft> = ids
///     .iter()
///     .map(|&id| Raft::new(Config::new(id, ids.clone()), &Disk::default(), SeededRng::new(id.0)))
///     .collect::<Result<_, _>>()
///     .expect("valid config");
/// let mut network: VecDeque<Envelope<Message>> = VecDeque::new();
/// let mut applied: Vec<Vec<Bytes>> = vec![Vec::new(); ids.len()];
/// let mut ready = Ready::new();
///
/// // The host's half of the contract, after every call into node `i`.
/// let mut carry_out = |i: usize, ready: &mut Ready, network: &mut VecDeque<_>| {
///     for write in &ready.writes {
///         <Raft as Protocol>::persist(&mut disks[i], write); // 1. persist
///     }
///     network.extend(ready.messages.drain(..)); //              2. send
///     for output in ready.outputs.drain(..) {
///         if let Output::Committed(entry) = output {
///             if !entry.data.is_empty() {
///                 applied[i].push(entry.data); //               3. apply (skip no-ops)
///             }
///         }
///     }
///     ready.clear(); //                                         4. advance
/// };
///
/// let mut proposed = false;
/// for _ in 0..500 {
///     for i in 0..nodes.len() {
///         nodes[i].tick(&mut ready);
///         carry_out(i, &mut ready, &mut network);
///     }
///     while let Some(env) = network.pop_front() {
///         let i = ids.iter().position(|&id| id == env.to).unwrap();
///         nodes[i].step(env.from, env.msg, &mut ready);
///         carry_out(i, &mut ready, &mut network);
///     }
///     if let Some(i) = nodes.iter().position(|n| n.role() == Role::Leader) {
///         if !proposed {
///             nodes[i].input(Input::Propose(Bytes::from("x=1")), &mut ready);
///             carry_out(i, &mut ready, &mut network);
///             proposed = true;
///         }
///     }
/// }
/// for (i, node) in nodes.iter().enumerate() {
///     assert_eq!(applied[i], vec![Bytes::from("x=1")], "{} applied it", node.id());
///     assert_eq!(disks[i].log.len(), node.entries().len(), "the disk holds the whole log");
/// }
/// ```
pub type Ready = Effects<Raft>;

/// Apply one write to a disk image: the meaning of "persist" (see `Protocol::persist`).
pub(crate) fn persist(disk: &mut Disk, write: &Write) {
    match write {
        Write::HardState(hs) => disk.hard_state = *hs,
        Write::Append(entries) => {
            let Some(first) = entries.first() else {
                return;
            };
            let offset = disk.snapshot.as_ref().map_or(0, |s| s.meta.index);
            assert!(
                first.index > offset && first.index <= offset + disk.log.len() as Index + 1,
                "Write::Append at {} would leave a gap after {} durable entries past the snapshot at {offset}",
                first.index,
                disk.log.len()
            );
            disk.log.truncate((first.index - offset - 1) as usize);
            disk.log.extend(entries.iter().cloned());
        }
        Write::Snapshot(snapshot) => {
            let offset = disk.snapshot.as_ref().map_or(0, |s| s.meta.index);
            let (index, term) = (snapshot.meta.index, snapshot.meta.term);
            assert!(
                index > offset,
                "Write::Snapshot at {index} does not move past the durable one at {offset}"
            );
            let k = (index - offset) as usize;
            if disk.log.get(k - 1).is_some_and(|e| e.term == term) {
                disk.log.drain(..k);
            } else {
                disk.log.clear();
            }
            disk.snapshot = Some(snapshot.clone());
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Propose(data) => write!(f, "Propose{{bytes={}}}", data.len()),
            Input::Read { id } => write!(f, "Read{{id={id}}}"),
            Input::ChangeMembership(change) => write!(f, "ChangeMembership{{{change}}}"),
            Input::TransferLeadership { to } => write!(f, "TransferLeadership{{to={to}}}"),
            Input::Snapshot { index, data } => {
                write!(f, "Snapshot{{index={index} bytes={}}}", data.len())
            }
            Input::LogDurable { index, term } => {
                write!(f, "LogDurable{{index={index} term={term}}}")
            }
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Accepted { index, term } => write!(f, "Accepted{{index={index} term={term}}}"),
            Output::NotLeader { leader: Some(id) } => write!(f, "NotLeader{{leader={id}}}"),
            Output::NotLeader { leader: None } => write!(f, "NotLeader{{leader=none}}"),
            Output::Committed(e) => write!(
                f,
                "Committed{{index={} term={} bytes={}}}",
                e.index,
                e.term,
                e.data.len()
            ),
            Output::ReadReady { id, index } => write!(f, "ReadReady{{id={id} index={index}}}"),
            Output::RestoreSnapshot(s) => write!(f, "Restore{s}"),
            Output::ReadFailed { id, reason } => write!(f, "ReadFailed{{id={id} reason={reason}}}"),
            Output::ChangeRejected { reason } => write!(f, "ChangeRejected{{{reason}}}"),
        }
    }
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadFailure::NotLeader { leader: Some(id) } => write!(f, "NotLeader{{leader={id}}}"),
            ReadFailure::NotLeader { leader: None } => write!(f, "NotLeader{{leader=none}}"),
            ReadFailure::Busy { pending_reads_max } => {
                write!(f, "Busy{{pending_reads_max={pending_reads_max}}}")
            }
            ReadFailure::TimedOut { ticks } => write!(f, "TimedOut{{ticks={ticks}}}"),
        }
    }
}

impl fmt::Display for HardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.voted_for {
            Some(id) => write!(f, "HardState{{term={} vote={id}}}", self.term),
            None => write!(f, "HardState{{term={} vote=none}}", self.term),
        }
    }
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::HardState(hs) => write!(f, "{hs}"),
            Write::Append(entries) => match entries.first() {
                Some(first) => write!(f, "Append{{from={first} n={}}}", entries.len()),
                None => write!(f, "Append{{n=0}}"),
            },
            Write::Snapshot(s) => write!(f, "{s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::EntryKind;

    fn entry(term: Term, index: Index) -> Entry {
        Entry {
            term,
            index,
            data: Bytes::from_static(b"hello"),
            kind: EntryKind::Normal,
        }
    }

    #[test]
    fn an_append_write_truncates_the_conflicting_suffix_then_appends() {
        // Raft §5.3: a follower deletes a conflicting entry and all that follow it.
        let mut disk = Disk::default();
        persist(
            &mut disk,
            &Write::Append(vec![entry(1, 1), entry(1, 2), entry(1, 3)]),
        );
        persist(&mut disk, &Write::Append(vec![entry(2, 2)]));
        let terms: Vec<Term> = disk.log.iter().map(|e| e.term).collect();
        assert_eq!(terms, vec![1, 2]);
    }

    #[test]
    fn inputs_outputs_and_writes_print_as_one_line() {
        assert_eq!(
            Input::Propose(Bytes::from_static(b"hello")).to_string(),
            "Propose{bytes=5}"
        );
        assert_eq!(
            Output::Committed(entry(3, 7)).to_string(),
            "Committed{index=7 term=3 bytes=5}"
        );
        assert_eq!(
            Output::Accepted { index: 7, term: 3 }.to_string(),
            "Accepted{index=7 term=3}"
        );
        assert_eq!(
            Output::NotLeader { leader: None }.to_string(),
            "NotLeader{leader=none}"
        );
        assert_eq!(
            Write::Append(vec![entry(3, 7)]).to_string(),
            "Append{from=(3,7) n=1}"
        );
        let hs = HardState {
            term: 4,
            voted_for: Some(NodeId(2)),
        };
        assert_eq!(
            Write::HardState(hs).to_string(),
            "HardState{term=4 vote=n2}"
        );
    }

    #[test]
    fn reads_and_their_answers_print_as_one_line() {
        assert_eq!(Input::Read { id: 7 }.to_string(), "Read{id=7}");
        assert_eq!(
            Output::ReadReady { id: 7, index: 42 }.to_string(),
            "ReadReady{id=7 index=42}"
        );
        let failed = |reason| Output::ReadFailed { id: 7, reason }.to_string();
        assert_eq!(
            failed(ReadFailure::NotLeader {
                leader: Some(NodeId(3))
            }),
            "ReadFailed{id=7 reason=NotLeader{leader=n3}}"
        );
        assert_eq!(
            failed(ReadFailure::Busy {
                pending_reads_max: 2
            }),
            "ReadFailed{id=7 reason=Busy{pending_reads_max=2}}"
        );
        assert_eq!(
            failed(ReadFailure::TimedOut { ticks: 20 }),
            "ReadFailed{id=7 reason=TimedOut{ticks=20}}"
        );
    }
}
