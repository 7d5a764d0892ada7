//! Peer frames (`server::peers::frames::decode_frame`), and the Raft node they reach.
//!
//! ```text
//!   input = disk:u8 ‖ op*      the harness plays the network and the host of node n1
//!     op 0  frame: payload bytes, framed with a correct length and CRC (so mutations reach
//!           the payload decoder), appended to the connection's receive buffer
//!     op 1  raw bytes appended as they are (framing errors: the connection closes)
//!     op 2  ticks
//!     op 3  the peers answer what n1 sent them (votes granted, appends and chunks taken)
//!     op 4  a client proposes; op 5 the host snapshots at its applied index
//!     op 6  restart n1 from its disk
//!     op 7  like op 0, but one u64 field of a decoded Raft message is then set to an edge
//!           value (0, 1, u64::MAX, …): any value is encodable, this only helps the fuzzer
//!   every decoded frame: encode ──► decode ──► the same frame
//!   every Raft message n1 sends: the same round trip
//!   every Write n1 asks for: persisted (Raft's meaning) AND encoded as WAL records; replaying
//!   the records (server::disk::replay) gives the same disk; a restart from it succeeds
//! ```
//!
//! A peer is untrusted here (anyone can connect to the peer port and say Hello): a frame may
//! be refused or ignored, never crash the node or corrupt what it persists.

use bytes::{Bytes, BytesMut};
use distributed_core::{NodeId, Protocol, SeededRng};
use raft::{
    AppendEntries, AppendEntriesResponse, AppendResult, Disk, Entry, HardState, InstallSnapshot,
    InstallSnapshotResponse, Message, PreVote, PreVoteResponse, Raft, ReadIndexRequest,
    ReadIndexResponse, Ready, RequestVote, RequestVoteResponse, TimeoutNow, Write,
};
use server::disk::replay::Replay;
use server::disk::wal_records::encode_write;
use server::peers::frames::{decode_frame, encode_frame, PeerFrame};

use crate::{raft_config, Input, Seed};

/// Largest frame this harness accepts (the node's default is 16 MiB; small keeps runs fast).
const FRAME_BYTES_MAX: usize = 1 << 16;
/// Operations per input: bounds the run time of one input.
const OPS_MAX: usize = 256;
/// The WAL record size the encoder aims for: small, so appends split into several records.
const RECORD_BYTES_TARGET: usize = 256;

/// n1, its disk and its WAL, as a host keeps them.
struct Host {
    raft: Raft,
    /// What `persist` built from every write.
    disk: Disk,
    /// The same writes as WAL records.
    wal: Vec<Vec<u8>>,
    /// Effects of the current call.
    ready: Ready,
    /// What the peers would answer to the messages n1 sent.
    answers: Vec<(NodeId, Message)>,
    /// The last index delivered to the "state machine" (Committed or RestoreSnapshot).
    applied: u64,
}

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let disk = initial_disk(input.u8());
    let mut host = Host::start(disk);
    let mut recv = BytesMut::new();
    let mut from = NodeId(2);
    for _ in 0..OPS_MAX {
        if input.is_empty() {
            break;
        }
        match input.u8() % 8 {
            op @ (0 | 7) => {
                let payload = input.bytes(FRAME_BYTES_MAX);
                recv.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                recv.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
                recv.extend_from_slice(payload);
                let edge = (op == 7).then(|| (input.u8(), input.edgy_u64()));
                host.receive(&mut recv, &mut from, edge);
            }
            1 => {
                recv.extend_from_slice(input.bytes(64));
                host.receive(&mut recv, &mut from, None);
            }
            2 => {
                for _ in 0..=input.u8() % 32 {
                    host.raft.tick(&mut host.ready);
                    host.carry_out();
                }
            }
            3 => host.deliver_answers(),
            4 => {
                let data = Bytes::copy_from_slice(input.bytes(32));
                host.raft.input(raft::Input::Propose(data), &mut host.ready);
                host.carry_out();
            }
            5 => {
                let input = raft::Input::Snapshot {
                    index: host.applied,
                    data: Bytes::from_static(b"state"),
                };
                host.raft.input(input, &mut host.ready);
                host.carry_out();
            }
            6 => host.restart(),
            _ => unreachable!("op is taken modulo 8"),
        }
    }
    host.restart();
}

impl Host {
    fn start(disk: Disk) -> Host {
        let mut wal = Vec::new();
        encode_write(
            &Write::HardState(disk.hard_state),
            RECORD_BYTES_TARGET,
            &mut wal,
        );
        if let Some(s) = &disk.snapshot {
            encode_write(&Write::Snapshot(s.clone()), RECORD_BYTES_TARGET, &mut wal);
        }
        encode_write(
            &Write::Append(disk.log.clone()),
            RECORD_BYTES_TARGET,
            &mut wal,
        );
        let raft = Raft::new(raft_config(), &disk, SeededRng::new(1)).expect("a valid disk");
        let applied = raft.applied_index();
        Host {
            raft,
            disk,
            wal,
            ready: Ready::new(),
            answers: Vec::new(),
            applied,
        }
    }

    /// Take every whole frame off the receive buffer, as a peer connection does. `edge`:
    /// (which field, value) to set in each Raft message before it is stepped.
    fn receive(&mut self, recv: &mut BytesMut, from: &mut NodeId, edge: Option<(u8, u64)>) {
        loop {
            match decode_frame(recv, FRAME_BYTES_MAX) {
                Ok(Some(frame)) => {
                    round_trip(&frame);
                    match frame {
                        PeerFrame::Hello { from: id } => *from = id,
                        PeerFrame::Raft(mut msg) => {
                            if let Some((field, value)) = edge {
                                let mut fields = u64_fields(&mut msg);
                                if !fields.is_empty() {
                                    let k = usize::from(field) % fields.len();
                                    *fields[k] = value;
                                }
                            }
                            self.raft.step(*from, msg, &mut self.ready);
                            self.carry_out();
                        }
                        PeerFrame::Forward { .. } | PeerFrame::ForwardReply { .. } => {}
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    assert!(!e.message.is_empty(), "a frame error says why");
                    recv.clear(); // the connection closes; the peer dials again
                    return;
                }
            }
        }
    }

    /// The host's duties, in order: persist, send, apply.
    fn carry_out(&mut self) {
        for w in &self.ready.writes {
            Raft::persist(&mut self.disk, w);
            encode_write(w, RECORD_BYTES_TARGET, &mut self.wal);
        }
        for env in &self.ready.messages {
            round_trip(&PeerFrame::Raft(env.msg.clone()));
            if let Some(answer) = answer(&env.msg) {
                self.answers.push((env.to, answer));
            }
        }
        for out in &self.ready.outputs {
            match out {
                raft::Output::Committed(e) => self.applied = e.index,
                raft::Output::RestoreSnapshot(s) => self.applied = s.meta.index,
                _ => {}
            }
        }
        self.ready.clear();
    }

    fn deliver_answers(&mut self) {
        for (from, msg) in std::mem::take(&mut self.answers) {
            self.raft.step(from, msg, &mut self.ready);
            self.carry_out();
        }
    }

    /// Crash and restart: the WAL replays to exactly the disk `persist` built, and the node
    /// starts from it.
    fn restart(&mut self) {
        let replayed = Replay::new(None)
            .records(self.wal.iter().map(Vec::as_slice))
            .unwrap_or_else(|e| panic!("n1's own WAL does not replay: {e}"))
            .finish();
        assert_eq!(
            replayed.hard_state, self.disk.hard_state,
            "hard state replays"
        );
        assert_eq!(replayed.log, self.disk.log, "log replays");
        assert_eq!(replayed.snapshot, self.disk.snapshot, "snapshot replays");
        self.raft = Raft::new(raft_config(), &self.disk, SeededRng::new(2))
            .unwrap_or_else(|e| panic!("n1 does not restart from its own disk: {e}"));
        self.applied = self.raft.applied_index();
        self.answers.clear();
    }
}

/// A frame survives the wire.
fn round_trip(frame: &PeerFrame) {
    let mut wire = BytesMut::new();
    encode_frame(frame, &mut wire);
    let back = decode_frame(&mut wire, usize::MAX)
        .unwrap_or_else(|e| panic!("{frame:?} does not decode after encoding: {e}"));
    assert_eq!(
        back.as_ref(),
        Some(frame),
        "a frame survives encode + decode"
    );
    assert!(wire.is_empty(), "one frame, whole");
}

/// Every u64 field of a message (entries' terms and indexes included), to set one to an edge.
fn u64_fields(msg: &mut Message) -> Vec<&mut u64> {
    match msg {
        Message::PreVote(PreVote {
            term,
            last_log_index,
            last_log_term,
        })
        | Message::RequestVote(RequestVote {
            term,
            last_log_index,
            last_log_term,
            ..
        }) => vec![term, last_log_index, last_log_term],
        Message::PreVoteResponse(PreVoteResponse { term, .. })
        | Message::RequestVoteResponse(RequestVoteResponse { term, .. })
        | Message::TimeoutNow(TimeoutNow { term }) => vec![term],
        Message::AppendEntries(AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit,
            round,
        }) => {
            let mut fields = vec![term, prev_log_index, prev_log_term, leader_commit, round];
            for e in entries {
                fields.push(&mut e.term);
                fields.push(&mut e.index);
            }
            fields
        }
        Message::AppendEntriesResponse(AppendEntriesResponse {
            term,
            result,
            round,
        }) => match result {
            AppendResult::Ok { match_index } => vec![term, round, match_index],
            AppendResult::Reject {
                prev_log_index,
                conflict_term,
                conflict_index,
            } => vec![term, round, prev_log_index, conflict_term, conflict_index],
        },
        Message::ReadIndexRequest(ReadIndexRequest { term, id }) => vec![term, id],
        Message::ReadIndexResponse(ReadIndexResponse { term, id, outcome }) => match outcome {
            Ok(index) => vec![term, id, index],
            Err(raft::ReadFailure::TimedOut { ticks }) => vec![term, id, ticks],
            Err(_) => vec![term, id],
        },
        Message::InstallSnapshot(InstallSnapshot {
            term,
            meta,
            offset,
            round,
            ..
        }) => vec![term, &mut meta.index, &mut meta.term, offset, round],
        Message::InstallSnapshotResponse(InstallSnapshotResponse {
            term,
            index,
            received,
            round,
            ..
        }) => vec![term, index, received, round],
    }
}

/// What a cooperative peer answers: votes granted, entries and snapshot chunks taken.
fn answer(msg: &Message) -> Option<Message> {
    Some(match msg {
        Message::PreVote(PreVote { term, .. }) => Message::PreVoteResponse(PreVoteResponse {
            term: *term,
            vote_granted: true,
        }),
        Message::RequestVote(RequestVote { term, .. }) => {
            Message::RequestVoteResponse(RequestVoteResponse {
                term: *term,
                vote_granted: true,
            })
        }
        Message::AppendEntries(AppendEntries {
            term,
            prev_log_index,
            entries,
            round,
            ..
        }) => Message::AppendEntriesResponse(AppendEntriesResponse {
            term: *term,
            result: AppendResult::Ok {
                match_index: prev_log_index.saturating_add(entries.len() as u64),
            },
            round: *round,
        }),
        Message::InstallSnapshot(InstallSnapshot {
            term,
            meta,
            offset,
            data,
            done,
            round,
        }) => Message::InstallSnapshotResponse(InstallSnapshotResponse {
            term: *term,
            index: meta.index,
            received: offset.saturating_add(data.len() as u64),
            installed: *done,
            round: *round,
        }),
        _ => return None,
    })
}

/// n1's disk before the run: empty, a short log, or a snapshot with a log after it.
fn initial_disk(choice: u8) -> Disk {
    let entry = |term, index| Entry::normal(term, index, Bytes::from_static(b"cmd"));
    let hard_state = |term| HardState {
        term,
        voted_for: Some(NodeId(2)),
    };
    match choice % 3 {
        0 => Disk::default(),
        1 => Disk {
            hard_state: hard_state(2),
            log: vec![entry(1, 1), entry(1, 2), entry(2, 3)],
            snapshot: None,
        },
        _ => Disk {
            hard_state: hard_state(3),
            log: vec![entry(2, 6), entry(3, 7)],
            snapshot: Some(raft::Snapshot {
                meta: raft::SnapshotMeta {
                    index: 5,
                    term: 2,
                    membership: raft::Membership::new([1, 2, 3].map(NodeId)),
                },
                data: Bytes::from_static(b"state"),
            }),
        },
    }
}

/// Frames of every kind a node sends, as the encoder writes them, between a few ops.
pub fn seeds() -> Vec<Vec<u8>> {
    let frames = seed_frames();
    let payload = |f: &PeerFrame| {
        let mut wire = BytesMut::new();
        encode_frame(f, &mut wire);
        wire[8..].to_vec()
    };
    let mut out = Vec::new();
    for disk in 0..3u8 {
        let mut seed = Seed::new();
        seed.u8(disk);
        for f in &frames {
            seed.u8(0).bytes(&payload(f)).u8(2).u8(3);
        }
        out.push(seed.take());
    }
    // The same frames with an edge value in some field.
    for (k, f) in frames.iter().enumerate() {
        let mut seed = Seed::new();
        seed.u8(1).u8(0).bytes(&payload(&frames[0]));
        seed.u8(7).bytes(&payload(f)).u8(k as u8).edgy_u64(u64::MAX);
        seed.u8(2).u8(31);
        out.push(seed.take());
    }
    // A node that wins an election, takes proposals, snapshots and restarts.
    let mut seed = Seed::new();
    seed.u8(1).u8(2).u8(31).u8(3).u8(3).u8(4).bytes(b"x");
    seed.u8(3).u8(5).u8(3).u8(6);
    out.push(seed.take());
    out
}

/// One frame of each kind a peer sends.
fn seed_frames() -> Vec<PeerFrame> {
    let meta = raft::SnapshotMeta {
        index: 9,
        term: 3,
        membership: raft::Membership::new([1, 2, 3].map(NodeId)),
    };
    let entries = vec![
        Entry::normal(3, 4, Bytes::from_static(b"put")),
        Entry::normal(3, 5, Bytes::new()),
    ];
    vec![
        PeerFrame::Hello { from: NodeId(2) },
        PeerFrame::Raft(Message::AppendEntries(AppendEntries {
            term: 3,
            prev_log_index: 3,
            prev_log_term: 2,
            entries,
            leader_commit: 4,
            round: 1,
        })),
        PeerFrame::Raft(Message::RequestVote(RequestVote {
            term: 4,
            last_log_index: 9,
            last_log_term: 3,
            leader_transfer: false,
        })),
        PeerFrame::Raft(Message::InstallSnapshot(InstallSnapshot {
            term: 4,
            meta,
            offset: 0,
            data: Bytes::from_static(b"chunk"),
            done: true,
            round: 2,
        })),
        PeerFrame::Raft(Message::ReadIndexRequest(ReadIndexRequest {
            term: 4,
            id: 7,
        })),
        PeerFrame::Forward {
            id: 7,
            request: Bytes::from_static(b"req"),
        },
    ]
}
