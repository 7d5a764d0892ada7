//! What nodes say to each other over TCP: Raft messages, and requests a follower forwards to
//! its leader. Each frame is length + CRC-32 + payload.
//!
//! ```text
//!   frame:   [len u32][crc32(payload) u32][payload: len bytes]        len ≤ frame_bytes_max
//!   payload: [version=1][kind][fields]
//!     kind 1 Hello{from}                  first frame on every connection: who is talking
//!     kind 2 Raft(Message)                sub-kind 1..=11 (`RAFT_PRE_VOTE` …), one per raft
//!                                         message struct, each with its put_/get_ pair
//!                                         (version 2: entries carry a kind, RequestVote a
//!                                         leader-transfer flag, 9 is TimeoutNow; 10, 11:
//!                                         InstallSnapshot and its response, §7)
//!     kind 3 Forward{id, request}         a kv::Request (kv's own codec) for the leader
//!     kind 4 ForwardReply{id, resp}       the leader's answer, already a RESP frame
//!
//!   dialer ── Hello{from=n1} ─ Raft … Raft … Forward … ──► listener (one direction only)
//! ```
//!
//! Why the reply to a forward is RESP bytes: the follower only relays it to its client, and
//! the RESP frame is the one form every reply already has; a second reply codec would be a
//! second thing to keep in step with `kv::Reply`.
//!
//! The CRC catches corruption TCP's 16-bit checksum lets through; a bad CRC, length or payload
//! closes the connection (the dialer reconnects), never the node.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use distributed_core::NodeId;
use raft::{
    AppendEntries, AppendEntriesResponse, AppendResult, InstallSnapshot, InstallSnapshotResponse,
    Message, PreVote, PreVoteResponse, ReadFailure, ReadIndexRequest, ReadIndexResponse,
    RequestVote, RequestVoteResponse, TimeoutNow,
};

use crate::codec::{get_snapshot_meta, put_bytes, put_entries, put_node, put_snapshot_meta};
use crate::codec::{CodecError, Reader};

/// The peer payload format version.
pub const PEER_VERSION: u8 = 2;
/// Bytes before a frame's payload: length and CRC.
pub const FRAME_HEADER_BYTES: usize = 8;

/// One unit of peer traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerFrame {
    /// The dialer's identity; connections carry traffic one way, from the dialer.
    Hello {
        /// The sending node.
        from: NodeId,
    },
    /// A Raft RPC.
    Raft(Message),
    /// A client request a follower passes to the leader it believes in.
    Forward {
        /// The follower's number for it, echoed in the reply.
        id: u64,
        /// `kv::Request::encode` bytes; the leader decodes them with its limits.
        request: Bytes,
    },
    /// The leader's answer to a `Forward`, as the RESP frame the client will get.
    ForwardReply {
        /// The `id` of the `Forward`.
        id: u64,
        /// One encoded RESP frame.
        resp: Bytes,
    },
}

/// Append the framed wire form of `frame` to `out`.
pub fn encode_frame(frame: &PeerFrame, out: &mut BytesMut) {
    let payload = encode_payload(frame);
    out.put_u32(u32::try_from(payload.len()).expect("peer payloads are bounded"));
    out.put_u32(crc32fast::hash(&payload));
    out.put_slice(&payload);
}

/// Take one frame off `buf`: `Ok(None)` needs more bytes; `Err` means close the connection.
pub fn decode_frame(
    buf: &mut BytesMut,
    frame_bytes_max: usize,
) -> Result<Option<PeerFrame>, CodecError> {
    if buf.len() < FRAME_HEADER_BYTES {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > frame_bytes_max {
        return Err(CodecError {
            message: format!("peer frame of {len} bytes exceeds frame_bytes_max {frame_bytes_max}"),
        });
    }
    if buf.len() < FRAME_HEADER_BYTES + len {
        return Ok(None);
    }
    let crc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    buf.advance(FRAME_HEADER_BYTES);
    let payload = buf.split_to(len);
    if crc32fast::hash(&payload) != crc {
        return Err(CodecError {
            message: format!("peer frame of {len} bytes fails its CRC"),
        });
    }
    decode_payload(&payload).map(Some)
}

fn encode_payload(frame: &PeerFrame) -> Vec<u8> {
    let mut out = vec![PEER_VERSION];
    match frame {
        PeerFrame::Hello { from } => {
            out.put_u8(1);
            put_node(&mut out, Some(*from));
        }
        PeerFrame::Raft(msg) => {
            out.put_u8(2);
            encode_message(msg, &mut out);
        }
        PeerFrame::Forward { id, request } => {
            out.put_u8(3);
            out.put_u64(*id);
            put_bytes(&mut out, request);
        }
        PeerFrame::ForwardReply { id, resp } => {
            out.put_u8(4);
            out.put_u64(*id);
            put_bytes(&mut out, resp);
        }
    }
    out
}

/// Decode one payload (without the length and CRC).
pub fn decode_payload(payload: &[u8]) -> Result<PeerFrame, CodecError> {
    let mut r = Reader::new(payload);
    let version = r.u8("peer version")?;
    if version != PEER_VERSION {
        return Err(r.error(format!(
            "peer version {version}, this build speaks {PEER_VERSION}"
        )));
    }
    let frame = match r.u8("peer frame kind")? {
        1 => PeerFrame::Hello {
            from: r
                .node("hello from")?
                .ok_or_else(|| r.error("hello from node 0"))?,
        },
        2 => PeerFrame::Raft(decode_message(&mut r)?),
        3 => PeerFrame::Forward {
            id: r.u64("forward id")?,
            request: r.bytes("forward request")?,
        },
        4 => PeerFrame::ForwardReply {
            id: r.u64("reply id")?,
            resp: r.bytes("reply frame")?,
        },
        other => return Err(r.error(format!("unknown peer frame kind {other}"))),
    };
    r.finish("peer frame")?;
    Ok(frame)
}

// The sub-kinds of `PeerFrame::Raft`, one per Raft message. They are the wire format: a
// number is never renumbered or reused (version 2 added 9, 10 and 11).
const RAFT_PRE_VOTE: u8 = 1;
const RAFT_PRE_VOTE_RESPONSE: u8 = 2;
const RAFT_REQUEST_VOTE: u8 = 3;
const RAFT_REQUEST_VOTE_RESPONSE: u8 = 4;
const RAFT_APPEND_ENTRIES: u8 = 5;
const RAFT_APPEND_ENTRIES_RESPONSE: u8 = 6;
const RAFT_READ_INDEX_REQUEST: u8 = 7;
const RAFT_READ_INDEX_RESPONSE: u8 = 8;
const RAFT_TIMEOUT_NOW: u8 = 9;
const RAFT_INSTALL_SNAPSHOT: u8 = 10;
const RAFT_INSTALL_SNAPSHOT_RESPONSE: u8 = 11;

/// `[sub-kind][fields]`, one `put_`/`get_` pair per message struct: each `put_` writes its
/// sub-kind and fields; `decode_message` reads the sub-kind and the matching `get_` the fields.
fn encode_message(msg: &Message, out: &mut Vec<u8>) {
    match msg {
        Message::PreVote(m) => put_pre_vote(m, out),
        Message::PreVoteResponse(m) => put_pre_vote_response(m, out),
        Message::RequestVote(m) => put_request_vote(m, out),
        Message::RequestVoteResponse(m) => put_request_vote_response(m, out),
        Message::AppendEntries(m) => put_append_entries(m, out),
        Message::AppendEntriesResponse(m) => put_append_entries_response(m, out),
        Message::ReadIndexRequest(m) => put_read_index_request(m, out),
        Message::ReadIndexResponse(m) => put_read_index_response(m, out),
        Message::TimeoutNow(m) => put_timeout_now(m, out),
        Message::InstallSnapshot(m) => put_install_snapshot(m, out),
        Message::InstallSnapshotResponse(m) => put_install_snapshot_response(m, out),
    }
}

fn decode_message(r: &mut Reader<'_>) -> Result<Message, CodecError> {
    let msg = match r.u8("raft message kind")? {
        RAFT_PRE_VOTE => get_pre_vote(r)?.into(),
        RAFT_PRE_VOTE_RESPONSE => get_pre_vote_response(r)?.into(),
        RAFT_REQUEST_VOTE => get_request_vote(r)?.into(),
        RAFT_REQUEST_VOTE_RESPONSE => get_request_vote_response(r)?.into(),
        RAFT_APPEND_ENTRIES => get_append_entries(r)?.into(),
        RAFT_APPEND_ENTRIES_RESPONSE => get_append_entries_response(r)?.into(),
        RAFT_READ_INDEX_REQUEST => get_read_index_request(r)?.into(),
        RAFT_READ_INDEX_RESPONSE => get_read_index_response(r)?.into(),
        RAFT_TIMEOUT_NOW => get_timeout_now(r)?.into(),
        RAFT_INSTALL_SNAPSHOT => get_install_snapshot(r)?.into(),
        RAFT_INSTALL_SNAPSHOT_RESPONSE => get_install_snapshot_response(r)?.into(),
        other => return Err(r.error(format!("unknown raft message kind {other}"))),
    };
    Ok(msg)
}

fn put_pre_vote(m: &PreVote, out: &mut Vec<u8>) {
    out.put_u8(RAFT_PRE_VOTE);
    out.put_u64(m.term);
    out.put_u64(m.last_log_index);
    out.put_u64(m.last_log_term);
}

fn get_pre_vote(r: &mut Reader<'_>) -> Result<PreVote, CodecError> {
    Ok(PreVote {
        term: r.u64("term")?,
        last_log_index: r.u64("last")?,
        last_log_term: r.u64("last term")?,
    })
}

fn put_pre_vote_response(m: &PreVoteResponse, out: &mut Vec<u8>) {
    out.put_u8(RAFT_PRE_VOTE_RESPONSE);
    out.put_u64(m.term);
    out.put_u8(u8::from(m.vote_granted));
}

fn get_pre_vote_response(r: &mut Reader<'_>) -> Result<PreVoteResponse, CodecError> {
    Ok(PreVoteResponse {
        term: r.u64("term")?,
        vote_granted: r.bool("granted")?,
    })
}

fn put_request_vote(m: &RequestVote, out: &mut Vec<u8>) {
    out.put_u8(RAFT_REQUEST_VOTE);
    out.put_u64(m.term);
    out.put_u64(m.last_log_index);
    out.put_u64(m.last_log_term);
    out.put_u8(u8::from(m.leader_transfer));
}

fn get_request_vote(r: &mut Reader<'_>) -> Result<RequestVote, CodecError> {
    Ok(RequestVote {
        term: r.u64("term")?,
        last_log_index: r.u64("last")?,
        last_log_term: r.u64("last term")?,
        leader_transfer: r.bool("leader transfer")?,
    })
}

fn put_request_vote_response(m: &RequestVoteResponse, out: &mut Vec<u8>) {
    out.put_u8(RAFT_REQUEST_VOTE_RESPONSE);
    out.put_u64(m.term);
    out.put_u8(u8::from(m.vote_granted));
}

fn get_request_vote_response(r: &mut Reader<'_>) -> Result<RequestVoteResponse, CodecError> {
    Ok(RequestVoteResponse {
        term: r.u64("term")?,
        vote_granted: r.bool("granted")?,
    })
}

/// The fixed fields first, the entries last (they carry their own count).
fn put_append_entries(m: &AppendEntries, out: &mut Vec<u8>) {
    out.put_u8(RAFT_APPEND_ENTRIES);
    for v in [
        m.term,
        m.prev_log_index,
        m.prev_log_term,
        m.leader_commit,
        m.round,
    ] {
        out.put_u64(v);
    }
    put_entries(out, &m.entries);
}

fn get_append_entries(r: &mut Reader<'_>) -> Result<AppendEntries, CodecError> {
    // Fields are read in the order written, which is not the struct's order.
    Ok(AppendEntries {
        term: r.u64("term")?,
        prev_log_index: r.u64("prev index")?,
        prev_log_term: r.u64("prev term")?,
        leader_commit: r.u64("commit")?,
        round: r.u64("round")?,
        entries: r.entries(true)?,
    })
}

/// `[term][round][1 match | 2 prev conflict_term conflict_index]`.
fn put_append_entries_response(m: &AppendEntriesResponse, out: &mut Vec<u8>) {
    out.put_u8(RAFT_APPEND_ENTRIES_RESPONSE);
    out.put_u64(m.term);
    out.put_u64(m.round);
    match m.result {
        AppendResult::Ok { match_index } => {
            out.put_u8(1);
            out.put_u64(match_index);
        }
        AppendResult::Reject {
            prev_log_index,
            conflict_term,
            conflict_index,
        } => {
            out.put_u8(2);
            out.put_u64(prev_log_index);
            out.put_u64(conflict_term);
            out.put_u64(conflict_index);
        }
    }
}

fn get_append_entries_response(r: &mut Reader<'_>) -> Result<AppendEntriesResponse, CodecError> {
    let (term, round) = (r.u64("term")?, r.u64("round")?);
    let result = match r.u8("append result")? {
        1 => AppendResult::Ok {
            match_index: r.u64("match")?,
        },
        2 => AppendResult::Reject {
            prev_log_index: r.u64("prev index")?,
            conflict_term: r.u64("conflict term")?,
            conflict_index: r.u64("conflict index")?,
        },
        other => return Err(r.error(format!("unknown append result {other}"))),
    };
    Ok(AppendEntriesResponse {
        term,
        result,
        round,
    })
}

fn put_read_index_request(m: &ReadIndexRequest, out: &mut Vec<u8>) {
    out.put_u8(RAFT_READ_INDEX_REQUEST);
    out.put_u64(m.term);
    out.put_u64(m.id);
}

fn get_read_index_request(r: &mut Reader<'_>) -> Result<ReadIndexRequest, CodecError> {
    Ok(ReadIndexRequest {
        term: r.u64("term")?,
        id: r.u64("id")?,
    })
}

/// `[term][id][0 index | 1 leader | 2 pending_reads_max | 3 ticks]`.
fn put_read_index_response(m: &ReadIndexResponse, out: &mut Vec<u8>) {
    out.put_u8(RAFT_READ_INDEX_RESPONSE);
    out.put_u64(m.term);
    out.put_u64(m.id);
    match m.outcome {
        Ok(index) => {
            out.put_u8(0);
            out.put_u64(index);
        }
        Err(ReadFailure::NotLeader { leader }) => {
            out.put_u8(1);
            put_node(out, leader);
        }
        Err(ReadFailure::Busy { pending_reads_max }) => {
            out.put_u8(2);
            out.put_u64(pending_reads_max as u64);
        }
        Err(ReadFailure::TimedOut { ticks }) => {
            out.put_u8(3);
            out.put_u64(ticks);
        }
    }
}

fn get_read_index_response(r: &mut Reader<'_>) -> Result<ReadIndexResponse, CodecError> {
    let (term, id) = (r.u64("term")?, r.u64("id")?);
    let outcome = match r.u8("read outcome")? {
        0 => Ok(r.u64("read index")?),
        1 => Err(ReadFailure::NotLeader {
            leader: r.node("leader")?,
        }),
        2 => Err(ReadFailure::Busy {
            pending_reads_max: r.u64("pending")? as usize,
        }),
        3 => Err(ReadFailure::TimedOut {
            ticks: r.u64("ticks")?,
        }),
        other => return Err(r.error(format!("unknown read outcome {other}"))),
    };
    Ok(ReadIndexResponse { term, id, outcome })
}

fn put_timeout_now(m: &TimeoutNow, out: &mut Vec<u8>) {
    out.put_u8(RAFT_TIMEOUT_NOW);
    out.put_u64(m.term);
}

fn get_timeout_now(r: &mut Reader<'_>) -> Result<TimeoutNow, CodecError> {
    Ok(TimeoutNow {
        term: r.u64("term")?,
    })
}

fn put_install_snapshot(m: &InstallSnapshot, out: &mut Vec<u8>) {
    out.put_u8(RAFT_INSTALL_SNAPSHOT);
    out.put_u64(m.term);
    put_snapshot_meta(out, &m.meta);
    out.put_u64(m.offset);
    put_bytes(out, &m.data);
    out.put_u8(u8::from(m.done));
    out.put_u64(m.round);
}

fn get_install_snapshot(r: &mut Reader<'_>) -> Result<InstallSnapshot, CodecError> {
    Ok(InstallSnapshot {
        term: r.u64("term")?,
        meta: get_snapshot_meta(r)?,
        offset: r.u64("offset")?,
        data: r.bytes("snapshot chunk")?,
        done: r.bool("done")?,
        round: r.u64("round")?,
    })
}

fn put_install_snapshot_response(m: &InstallSnapshotResponse, out: &mut Vec<u8>) {
    out.put_u8(RAFT_INSTALL_SNAPSHOT_RESPONSE);
    for v in [m.term, m.index, m.received] {
        out.put_u64(v);
    }
    out.put_u8(u8::from(m.installed));
    out.put_u64(m.round);
}

fn get_install_snapshot_response(
    r: &mut Reader<'_>,
) -> Result<InstallSnapshotResponse, CodecError> {
    Ok(InstallSnapshotResponse {
        term: r.u64("term")?,
        index: r.u64("index")?,
        received: r.u64("received")?,
        installed: r.bool("installed")?,
        round: r.u64("round")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::{Entry, EntryKind, Membership};

    fn every_kind() -> Vec<PeerFrame> {
        let joint = Membership {
            voters: [1, 2, 4].map(NodeId).into(),
            outgoing: Some([1, 2, 3].map(NodeId).into()),
            learners: [5].map(NodeId).into(),
        };
        let entries = vec![
            Entry {
                term: 2,
                index: 5,
                data: Bytes::from_static(b"put"),
                kind: EntryKind::Normal,
            },
            Entry {
                term: 2,
                index: 6,
                data: Bytes::new(),
                kind: EntryKind::Config(joint),
            },
        ];
        let msgs = vec![
            Message::PreVote(PreVote {
                term: 5,
                last_log_index: 20,
                last_log_term: 4,
            }),
            Message::PreVoteResponse(PreVoteResponse {
                term: 5,
                vote_granted: true,
            }),
            Message::RequestVote(RequestVote {
                term: 4,
                last_log_index: 20,
                last_log_term: 3,
                leader_transfer: true,
            }),
            Message::TimeoutNow(TimeoutNow { term: 4 }),
            Message::RequestVoteResponse(RequestVoteResponse {
                term: 4,
                vote_granted: false,
            }),
            Message::AppendEntries(AppendEntries {
                term: 3,
                prev_log_index: 4,
                prev_log_term: 2,
                entries,
                leader_commit: 4,
                round: 9,
            }),
            Message::AppendEntriesResponse(AppendEntriesResponse {
                term: 3,
                result: AppendResult::Ok { match_index: 5 },
                round: 9,
            }),
            Message::AppendEntriesResponse(AppendEntriesResponse {
                term: 3,
                result: AppendResult::Reject {
                    prev_log_index: 4,
                    conflict_term: 1,
                    conflict_index: 2,
                },
                round: 0,
            }),
            Message::ReadIndexRequest(ReadIndexRequest { term: 3, id: 12 }),
            Message::ReadIndexResponse(ReadIndexResponse {
                term: 3,
                id: 12,
                outcome: Ok(42),
            }),
            Message::ReadIndexResponse(ReadIndexResponse {
                term: 3,
                id: 12,
                outcome: Err(ReadFailure::NotLeader {
                    leader: Some(NodeId(2)),
                }),
            }),
            Message::ReadIndexResponse(ReadIndexResponse {
                term: 3,
                id: 12,
                outcome: Err(ReadFailure::Busy {
                    pending_reads_max: 7,
                }),
            }),
            Message::ReadIndexResponse(ReadIndexResponse {
                term: 3,
                id: 12,
                outcome: Err(ReadFailure::TimedOut { ticks: 20 }),
            }),
            Message::InstallSnapshot(InstallSnapshot {
                term: 4,
                meta: raft::SnapshotMeta {
                    index: 120,
                    term: 3,
                    membership: raft::Membership::new([1, 2, 3].map(NodeId)),
                },
                offset: 4096,
                data: Bytes::from_static(b"chunk"),
                done: true,
                round: 2,
            }),
            Message::InstallSnapshotResponse(InstallSnapshotResponse {
                term: 4,
                index: 120,
                received: 4101,
                installed: true,
                round: 2,
            }),
        ];
        assert!(msgs.iter().any(|m| matches!(m, Message::AppendEntries(_))));
        let mut frames = vec![PeerFrame::Hello { from: NodeId(3) }];
        frames.extend(msgs.into_iter().map(PeerFrame::Raft));
        frames.push(PeerFrame::Forward {
            id: 7,
            request: Bytes::from_static(b"req"),
        });
        frames.push(PeerFrame::ForwardReply {
            id: 7,
            resp: Bytes::from_static(b"+OK\r\n"),
        });
        frames
    }

    #[test]
    fn every_frame_kind_survives_the_wire_back_to_back() {
        let mut buf = BytesMut::new();
        for f in every_kind() {
            encode_frame(&f, &mut buf);
        }
        for f in every_kind() {
            assert_eq!(decode_frame(&mut buf, 1 << 20).unwrap(), Some(f));
        }
        assert_eq!(decode_frame(&mut buf, 1 << 20).unwrap(), None);
    }

    #[test]
    fn a_partial_frame_waits_and_a_flipped_bit_fails_the_crc() {
        let mut whole = BytesMut::new();
        encode_frame(&PeerFrame::Hello { from: NodeId(1) }, &mut whole);
        let mut partial = BytesMut::from(&whole[..whole.len() - 1]);
        assert_eq!(decode_frame(&mut partial, 1 << 20).unwrap(), None);
        let last = whole.len() - 1;
        whole[last] ^= 1;
        let err = decode_frame(&mut whole, 1 << 20).unwrap_err();
        assert!(err.message.contains("fails its CRC"), "{err}");
    }

    #[test]
    fn a_frame_longer_than_the_bound_is_refused_before_it_is_buffered() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0][..]);
        let err = decode_frame(&mut buf, 1 << 20).unwrap_err();
        assert!(err.message.contains("exceeds frame_bytes_max"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_payload_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode_payload(&bytes);
            let mut buf = BytesMut::from(&bytes[..]);
            let _ = decode_frame(&mut buf, 1 << 10);
        }
    }
}
