//! What nodes say to each other over TCP: Raft messages, and requests a follower forwards to
//! its leader. Each frame is length + CRC-32 + payload.
//!
//! ```text
//!   every integer little-endian (`distributed_core::wire`), every byte string u32-length-prefixed
//!   frame:   [len u32][crc32(payload) u32][payload: len bytes]        len ≤ frame_bytes_max
//!   payload: [version=3][kind][fields]
//!     kind 1 Hello{from}                  first frame on every connection: who is talking
//!     kind 2 Raft(Message)                sub-kind 1..=11 (`RAFT_PRE_VOTE` …), one per raft
//!                                         message struct, each with its put_/get_ pair
//!                                         (9 is TimeoutNow; 10, 11: InstallSnapshot and
//!                                         its response, §7)
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
//! A Raft message's bytes from its sub-kind on are `raft::Message::wire_bytes` (raft's
//! `message/wire_size.rs`), which the simulator counts; a test below holds the two equal for
//! every message kind, and the frame adds 10 bytes (length, CRC, version, frame kind).
//!
//! The CRC catches corruption TCP's 16-bit checksum lets through; a bad CRC, length or payload
//! closes the connection (the dialer reconnects), never the node.
//!
//! Versions 1 and 2 were big-endian, header included. A peer running such an older build sends
//! a length this build reads as huge, so the length error says how it reads big-endian and
//! names the likely cause; a version-1 or -2 payload is refused naming its version.

use bytes::{Buf, Bytes, BytesMut};
use distributed_core::wire::{DecodeError, Reader, Sink};
use distributed_core::NodeId;
use raft::Message;

use super::raft_messages::{decode_message, encode_message};
use crate::codec::{get_node, older_build, put_node};

/// The peer payload format version. Versions 1 and 2 were big-endian (see the module docs).
pub const PEER_VERSION: u8 = 3;
/// Bytes before a frame's payload: length and CRC.
pub const FRAME_HEADER_BYTES: usize = 8;
// [len u32][crc32 u32].
const _: () = assert!(FRAME_HEADER_BYTES == 2 * std::mem::size_of::<u32>());

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
) -> Result<Option<PeerFrame>, DecodeError> {
    if buf.len() < FRAME_HEADER_BYTES {
        return Ok(None);
    }
    let mut header = Reader::new(&buf[..FRAME_HEADER_BYTES]);
    let len = header.u32("frame length")?;
    let crc = header.u32("frame CRC")?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > frame_bytes_max {
        let mut message =
            format!("peer frame of {len} bytes exceeds frame_bytes_max {frame_bytes_max}");
        let big_endian = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if big_endian <= frame_bytes_max {
            message += &format!(
                " (read big-endian it is {big_endian} bytes: is the peer an older build, peer \
                 version 1 or 2? run one build on every node)"
            );
        }
        return Err(DecodeError::at(0, message));
    }
    if buf.len() - FRAME_HEADER_BYTES < len {
        return Ok(None);
    }
    buf.advance(FRAME_HEADER_BYTES);
    let payload = buf.split_to(len);
    if crc32fast::hash(&payload) != crc {
        let message = format!("peer frame of {len} bytes fails its CRC");
        return Err(DecodeError::at(FRAME_HEADER_BYTES, message));
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
            out.put_bytes(request);
        }
        PeerFrame::ForwardReply { id, resp } => {
            out.put_u8(4);
            out.put_u64(*id);
            out.put_bytes(resp);
        }
    }
    out
}

/// Decode one payload (without the length and CRC).
pub fn decode_payload(payload: &[u8]) -> Result<PeerFrame, DecodeError> {
    let mut r = Reader::new(payload);
    let version = r.u8("peer version")?;
    if version < PEER_VERSION {
        let why = older_build(
            "peer payload",
            version,
            PEER_VERSION,
            "run one build on every node",
        );
        return Err(DecodeError::at(0, why));
    }
    if version != PEER_VERSION {
        return Err(DecodeError::at(
            0,
            format!("peer version {version}, this build speaks {PEER_VERSION}"),
        ));
    }
    let frame = match r.u8("peer frame kind")? {
        1 => PeerFrame::Hello {
            from: get_node(&mut r, "hello from")?.ok_or_else(|| r.error("hello from node 0"))?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use raft::{
        AppendEntries, AppendEntriesResponse, AppendResult, InstallSnapshot,
        InstallSnapshotResponse, PreVote, PreVoteResponse, ReadFailure, ReadIndexRequest,
        ReadIndexResponse, RequestVote, RequestVoteResponse, TimeoutNow,
    };
    use raft::{Entry, EntryKind, Membership};
    use std::collections::BTreeSet;

    use distributed_core::WireSize;

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

    /// Which Raft message kind `m` is. Exhaustive on purpose: a new kind does not compile
    /// here until it is named, and then the size test below fails until `every_kind` and
    /// `more_raft_messages` hold one of it.
    fn raft_kind(m: &Message) -> &'static str {
        match m {
            Message::PreVote(_) => "PreVote",
            Message::PreVoteResponse(_) => "PreVoteResponse",
            Message::RequestVote(_) => "RequestVote",
            Message::RequestVoteResponse(_) => "RequestVoteResponse",
            Message::AppendEntries(_) => "AppendEntries",
            Message::AppendEntriesResponse(_) => "AppendEntriesResponse",
            Message::InstallSnapshot(_) => "InstallSnapshot",
            Message::InstallSnapshotResponse(_) => "InstallSnapshotResponse",
            Message::ReadIndexRequest(_) => "ReadIndexRequest",
            Message::ReadIndexResponse(_) => "ReadIndexResponse",
            Message::TimeoutNow(_) => "TimeoutNow",
        }
    }

    /// Beyond `every_kind`: a batch of many entries with a config among them, a snapshot
    /// chunk of a joint configuration with learners, a read answered "no leader known".
    fn more_raft_messages() -> Vec<Message> {
        let joint = Membership {
            voters: [1, 2, 4, 6, 7].map(NodeId).into(),
            outgoing: Some([1, 2, 3].map(NodeId).into()),
            learners: [5, 8].map(NodeId).into(),
        };
        let mut entries: Vec<Entry> = (10..40)
            .map(|i| Entry::normal(7, i, Bytes::from(vec![b'x'; i as usize])))
            .collect();
        entries.push(Entry {
            term: 7,
            index: 40,
            data: Bytes::new(),
            kind: EntryKind::Config(joint.clone()),
        });
        let append = AppendEntries {
            term: 7,
            prev_log_index: 9,
            prev_log_term: 6,
            entries,
            leader_commit: 9,
            round: 1 << 40,
        };
        let chunk = InstallSnapshot {
            term: 7,
            meta: raft::SnapshotMeta {
                index: 500,
                term: 6,
                membership: joint,
            },
            offset: 0,
            data: Bytes::from(vec![0xee; 1000]),
            done: false,
            round: 3,
        };
        let no_leader = ReadIndexResponse {
            term: 7,
            id: 1,
            outcome: Err(ReadFailure::NotLeader { leader: None }),
        };
        vec![append.into(), chunk.into(), no_leader.into()]
    }

    #[test]
    fn every_raft_message_takes_exactly_its_wire_bytes_in_a_real_frame() {
        // raft's message/wire_size.rs promises the size of what this encoder writes; the
        // simulator counts that size. The frame adds its header, the version and the frame
        // kind around it.
        let framing = FRAME_HEADER_BYTES + 2;
        let every = every_kind().into_iter().filter_map(|f| match f {
            PeerFrame::Raft(m) => Some(m),
            _ => None,
        });
        let mut kinds = BTreeSet::new();
        for msg in every.chain(more_raft_messages()) {
            kinds.insert(raft_kind(&msg));
            let mut buf = BytesMut::new();
            encode_frame(&PeerFrame::Raft(msg.clone()), &mut buf);
            assert_eq!(buf.len(), framing + msg.wire_bytes(), "{msg}");
            let mut payload = Vec::new();
            encode_message(&msg, &mut payload);
            assert_eq!(payload.len(), msg.wire_bytes(), "{msg}");
        }
        assert_eq!(kinds.len(), 11, "one of every Raft message kind: {kinds:?}");
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
