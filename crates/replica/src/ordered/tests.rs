//! The replica's rules on a toy core: a sequencer that decides every proposal in the call that
//! makes it (one node, no peers), or relays it when it does not lead. Small enough to read in
//! one go, and enough to show each rule of the request path without a real consensus run.

use std::fmt;

use bytes::Bytes;
use distributed_core::{Effects, NodeId, Protocol};
use kv::{Command, KvError, Reply, Request};

use super::*;
use crate::io::Outcome;

/// A one-node core. `FORWARD`: relay like a PBFT backup instead of answering proposals.
#[derive(Clone, Debug)]
struct Sequencer<const FORWARD: bool> {
    leads: bool,
    /// Entries decided so far (index = position + 1 + snapshot index).
    next_index: u64,
    /// When set, the next proposal is decided as this other entry instead (a lost slot).
    overwrite_next: Option<Bytes>,
}

#[derive(Clone, Debug)]
enum Never {}
impl fmt::Display for Never {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

#[derive(Clone, Debug)]
enum SeqInput {
    Propose(Bytes),
    Read(u64),
    Snapshot(u64, Bytes),
}
impl fmt::Display for SeqInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

#[derive(Clone, Debug)]
enum SeqOutput {
    Placed(u64),
    Refused,
    Decided(u64, Option<Bytes>),
    Ready(u64, u64),
}
impl fmt::Display for SeqOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The disk: the snapshot's index and bytes, if any.
#[derive(Clone, Debug, Default)]
struct SeqDisk(Option<(u64, Vec<u8>)>);

impl<const FORWARD: bool> Protocol for Sequencer<FORWARD> {
    type Message = Never;
    type Input = SeqInput;
    type Output = SeqOutput;
    type Write = (u64, Bytes);
    type Disk = SeqDisk;

    fn id(&self) -> NodeId {
        NodeId(1)
    }
    fn step(&mut self, _: NodeId, msg: Never, _: &mut Effects<Self>) {
        match msg {}
    }
    fn tick(&mut self, _: &mut Effects<Self>) {}
    fn input(&mut self, input: SeqInput, out: &mut Effects<Self>) {
        match input {
            SeqInput::Propose(entry) if self.leads || FORWARD => {
                let index = self.next_index;
                self.next_index += 1;
                if !FORWARD {
                    out.outputs.push(SeqOutput::Placed(index));
                }
                let decided = self.overwrite_next.take().unwrap_or(entry);
                out.outputs.push(SeqOutput::Decided(index, Some(decided)));
            }
            SeqInput::Propose(_) => out.outputs.push(SeqOutput::Refused),
            SeqInput::Read(id) => out.outputs.push(SeqOutput::Ready(id, self.next_index - 1)),
            SeqInput::Snapshot(index, data) => out.writes.push((index, data)),
        }
    }
    fn persist(disk: &mut SeqDisk, write: &(u64, Bytes)) {
        disk.0 = Some((write.0, write.1.to_vec()));
    }
}

impl<const FORWARD: bool> OrderingCore for Sequencer<FORWARD> {
    const FORWARDS_PROPOSALS: bool = FORWARD;
    fn propose_input(entry: Bytes) -> SeqInput {
        SeqInput::Propose(entry)
    }
    fn read_input(id: u64) -> Option<SeqInput> {
        Some(SeqInput::Read(id))
    }
    fn snapshot_input(index: u64, data: Bytes) -> Option<SeqInput> {
        Some(SeqInput::Snapshot(index, data))
    }
    fn checkpoint_input(_: u64, _: Bytes) -> Option<SeqInput> {
        None
    }
    fn event(output: &SeqOutput) -> CoreEvent {
        match output {
            SeqOutput::Placed(index) => CoreEvent::Accepted { index: *index },
            SeqOutput::Refused => CoreEvent::NotLeader {
                leader: Some(NodeId(2)),
            },
            SeqOutput::Decided(index, entry) => CoreEvent::Committed {
                index: *index,
                epoch: 1,
                entry: entry.clone(),
            },
            SeqOutput::Ready(id, index) => CoreEvent::ReadReady {
                id: *id,
                index: *index,
            },
        }
    }
    fn leads(&self) -> bool {
        self.leads
    }
    fn leader_hint(&self) -> Option<NodeId> {
        Some(NodeId(if self.leads { 1 } else { 2 }))
    }
    fn disk_snapshot(disk: &SeqDisk) -> Option<(u64, &[u8])> {
        disk.0.as_ref().map(|(i, d)| (*i, d.as_slice()))
    }
}

fn replica<const F: bool>(leads: bool, config: OrderedConfig) -> OrderedReplica<Sequencer<F>> {
    let core = Sequencer {
        leads,
        next_index: 1,
        overwrite_next: None,
    };
    OrderedReplica::new(config, core, &SeqDisk::default()).expect("valid")
}

fn set(tag: u64, key: &'static [u8]) -> Input {
    let command = Command::set(Bytes::from_static(key), Bytes::from_static(b"v"));
    OrderedReplica::<Sequencer<false>>::request(tag, Request::in_session(tag, 1, command), tag)
}

fn texts<C: OrderingCore>(out: &Effects<OrderedReplica<C>>) -> Vec<String> {
    out.outputs.iter().map(|o| o.to_string()).collect()
}

#[test]
fn a_leader_answers_a_write_once_its_entry_is_decided_and_applied() {
    let mut r = replica::<false>(true, OrderedConfig::default());
    let mut out = Effects::new();
    r.input(set(7, b"k"), &mut out);
    assert_eq!(
        texts(&out),
        ["Applied{index=1 term=1}", "Reply{tag=7 Done(Status{OK})}"]
    );
    assert_eq!(r.machine().get(b"k"), Some(&Bytes::from_static(b"v")));
    assert_eq!(r.pending_len(), 0);
}

#[test]
fn a_node_that_does_not_lead_refuses_with_its_hint_and_proposes_nothing() {
    let mut r = replica::<false>(false, OrderedConfig::default());
    let mut out = Effects::new();
    r.input(set(3, b"k"), &mut out);
    assert_eq!(texts(&out), ["Reply{tag=3 NotLeader(n2)}"]);
    assert_eq!(r.machine().applied_index(), 0);
}

#[test]
fn a_request_decided_as_another_entry_at_its_index_is_answered_retry_not_done() {
    // Paxos: a new leader may decide another value in the slot this leader proposed into.
    let mut r = replica::<false>(true, OrderedConfig::default());
    r.core.overwrite_next = Some(Request::in_session(9, 1, Command::get(&b"x"[..])).encode());
    let mut out = Effects::new();
    r.input(set(4, b"k"), &mut out);
    assert_eq!(texts(&out)[1], "Reply{tag=4 Retry}");
    assert_eq!(
        r.machine().get(b"k"),
        None,
        "our write was not the one applied"
    );
}

#[test]
fn a_malformed_request_is_refused_without_an_entry() {
    let mut r = replica::<false>(true, OrderedConfig::default());
    let long = Bytes::from(vec![b'k'; r.machine().config().limits.key_bytes_max + 1]);
    let input = OrderedReplica::<Sequencer<false>>::request(
        1,
        Request::in_session(1, 1, Command::get(long)),
        1,
    );
    let mut out = Effects::new();
    r.input(input, &mut out);
    assert!(matches!(
        out.outputs.as_slice(),
        [Output::Reply {
            tag: 1,
            outcome: Outcome::Done(Reply::Error(KvError::Malformed(_)))
        }]
    ));
    assert_eq!(r.machine().applied_index(), 0);
}

#[test]
fn a_read_on_the_core_path_is_served_from_the_machine_without_an_entry() {
    let config = OrderedConfig {
        reads: OrderedReads::Core,
        ..OrderedConfig::default()
    };
    let mut r = replica::<false>(true, config);
    let mut out = Effects::new();
    r.input(set(1, b"k"), &mut out);
    out.clear();
    let get = Request::in_session(1, 2, Command::get(&b"k"[..]));
    r.input(
        OrderedReplica::<Sequencer<false>>::request(2, get, 2),
        &mut out,
    );
    assert_eq!(texts(&out), ["Reply{tag=2 Done(Bulk{bytes=1})}"]);
    assert_eq!(r.machine().applied_index(), 1, "no entry for the read");
}

#[test]
fn on_a_forwarding_core_the_tag_travels_in_the_entry_and_every_executor_answers() {
    // PBFT: the client's tag is in the entry, so a replica that never saw the request
    // answers it once it executes it.
    let mut r = replica::<true>(false, OrderedConfig::default());
    let mut out = Effects::new();
    r.input(set(42, b"k"), &mut out);
    assert_eq!(
        texts(&out),
        ["Applied{index=1 term=1}", "Reply{tag=42 Done(Status{OK})}"]
    );
}

#[test]
fn a_restarted_replica_starts_from_the_snapshot_on_its_disk() {
    let config = OrderedConfig {
        snapshot_log_entries_max: 2,
        ..OrderedConfig::default()
    };
    let mut r = replica::<false>(true, config.clone());
    let mut out = Effects::new();
    r.input(set(1, b"a"), &mut out);
    r.input(set(2, b"b"), &mut out);
    let mut disk = SeqDisk::default();
    for w in &out.writes {
        Sequencer::<false>::persist(&mut disk, w);
    }
    assert_eq!(
        disk.0.as_ref().map(|(i, _)| *i),
        Some(2),
        "a snapshot after 2 entries"
    );
    let core = Sequencer::<false> {
        leads: true,
        next_index: 3,
        overwrite_next: None,
    };
    let again = OrderedReplica::new(config, core, &disk).expect("the snapshot restores");
    assert_eq!(again.machine().applied_index(), 2);
    assert_eq!(again.machine().get(b"b"), Some(&Bytes::from_static(b"v")));
}

#[test]
fn a_snapshot_that_does_not_restore_is_an_error_at_start_not_a_panic() {
    let disk = SeqDisk(Some((3, b"not a snapshot".to_vec())));
    let core = Sequencer::<false> {
        leads: true,
        next_index: 4,
        overwrite_next: None,
    };
    let err = OrderedReplica::new(OrderedConfig::default(), core, &disk).err();
    assert!(
        matches!(err, Some(crate::ReplicaError::Snapshot(_))),
        "{err:?}"
    );
}
