//! Raft's messages inside a peer frame (`PeerFrame::Raft`, frames.rs): a sub-kind byte, then
//! the message struct's fields, one `put_`/`get_` pair per struct.
//!
//! ```text
//!   Message::AppendEntries(m) ──put_append_entries──► [5][term][prev index][prev term]
//!                                                     [commit][round][entries…]
//!   [5]… ──decode_message──► get_append_entries ──► Message::AppendEntries(m)
//!   sub-kinds 1..=11: RAFT_PRE_VOTE … RAFT_INSTALL_SNAPSHOT_RESPONSE (below)
//! ```
//!
//! Every integer is little-endian and every byte string u32-length-prefixed (core's `wire`).
//! Decoding trusts nothing: counts are checked against what is left, unknown sub-kinds and
//! outcomes are errors naming the field, and no read panics.

use distributed_core::wire::{DecodeError, Reader, Sink};
use raft::{
    AppendEntries, AppendEntriesResponse, AppendResult, InstallSnapshot, InstallSnapshotResponse,
    Message, PreVote, PreVoteResponse, ReadFailure, ReadIndexRequest, ReadIndexResponse,
    RequestVote, RequestVoteResponse, TimeoutNow,
};

use crate::codec::{get_entries, get_node, get_snapshot_meta};
use crate::codec::{put_entries, put_node, put_snapshot_meta};

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
pub(crate) fn encode_message(msg: &Message, out: &mut Vec<u8>) {
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

pub(crate) fn decode_message(r: &mut Reader<'_>) -> Result<Message, DecodeError> {
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

fn get_pre_vote(r: &mut Reader<'_>) -> Result<PreVote, DecodeError> {
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

fn get_pre_vote_response(r: &mut Reader<'_>) -> Result<PreVoteResponse, DecodeError> {
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

fn get_request_vote(r: &mut Reader<'_>) -> Result<RequestVote, DecodeError> {
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

fn get_request_vote_response(r: &mut Reader<'_>) -> Result<RequestVoteResponse, DecodeError> {
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

fn get_append_entries(r: &mut Reader<'_>) -> Result<AppendEntries, DecodeError> {
    // Fields are read in the order written, which is not the struct's order.
    Ok(AppendEntries {
        term: r.u64("term")?,
        prev_log_index: r.u64("prev index")?,
        prev_log_term: r.u64("prev term")?,
        leader_commit: r.u64("commit")?,
        round: r.u64("round")?,
        entries: get_entries(r)?,
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

fn get_append_entries_response(r: &mut Reader<'_>) -> Result<AppendEntriesResponse, DecodeError> {
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

fn get_read_index_request(r: &mut Reader<'_>) -> Result<ReadIndexRequest, DecodeError> {
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

fn get_read_index_response(r: &mut Reader<'_>) -> Result<ReadIndexResponse, DecodeError> {
    let (term, id) = (r.u64("term")?, r.u64("id")?);
    let outcome = match r.u8("read outcome")? {
        0 => Ok(r.u64("read index")?),
        1 => Err(ReadFailure::NotLeader {
            leader: get_node(r, "leader")?,
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

fn get_timeout_now(r: &mut Reader<'_>) -> Result<TimeoutNow, DecodeError> {
    Ok(TimeoutNow {
        term: r.u64("term")?,
    })
}

fn put_install_snapshot(m: &InstallSnapshot, out: &mut Vec<u8>) {
    out.put_u8(RAFT_INSTALL_SNAPSHOT);
    out.put_u64(m.term);
    put_snapshot_meta(out, &m.meta);
    out.put_u64(m.offset);
    out.put_bytes(&m.data);
    out.put_u8(u8::from(m.done));
    out.put_u64(m.round);
}

fn get_install_snapshot(r: &mut Reader<'_>) -> Result<InstallSnapshot, DecodeError> {
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
) -> Result<InstallSnapshotResponse, DecodeError> {
    Ok(InstallSnapshotResponse {
        term: r.u64("term")?,
        index: r.u64("index")?,
        received: r.u64("received")?,
        installed: r.bool("installed")?,
        round: r.u64("round")?,
    })
}
