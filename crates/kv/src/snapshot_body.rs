//! The body of a snapshot: every piece of replicated state, in one canonical order.
//!
//! ```text
//!   v2: applied_index:u64 ‖ clock_ms:u64
//!       ‖ keys:u64 ‖ (key ‖ type:u8 ‖ value ‖ expires:u8 (‖ at_ms:u64) ‖ version:u64)×keys
//!       ‖ tombstones:u64 ‖ (key ‖ index:u64)×n ‖ tombstone_floor:u64
//!       ‖ sessions:u64 ‖ (client_id ‖ seq ‖ last_index ‖ has_reply:u8 (‖ reply))×n
//!     value by type:
//!       0 string   bytes
//!       1 hash     n:u32 ‖ (field value)×n           fields ascending
//!       2 list     n:u32 ‖ element×n                  head first
//!       3 set      n:u32 ‖ member×n                   ascending
//!       4 zset     n:u32 ‖ (member score:f64 bits)×n  members ascending
//!
//!   v1 (read only): applied_index ‖ keys:u64 ‖ (key value)×keys ‖ sessions (v1 replies)
//! ```
//!
//! Reading checks what writing guarantees: keys, fields, members, tombstones and clients
//! strictly ascending, containers non-empty, scores not NaN, no version or session past
//! `applied_index`, nothing left over. Every count is bounded by what the input could hold.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::codec::{put_reply, read_reply, read_reply_v1};
use crate::db::Entry;
use crate::machine::StateMachine;
use crate::reply::Reply;
use crate::session::{Session, Sessions};
use crate::value::{Score, Value, ZSet};
use distributed_core::wire::{DecodeError, Reader, Sink};

/// Write the v2 body.
pub(crate) fn write_body(sm: &StateMachine, s: &mut impl Sink) {
    s.put_u64(sm.applied_index);
    s.put_u64(sm.clock_ms);
    s.put_u64(sm.db.len() as u64);
    for (key, entry) in sm.db.iter() {
        s.put_bytes(key);
        put_value(s, &entry.value);
        match entry.expires_at_ms() {
            None => s.put_u8(0),
            Some(at) => {
                s.put_u8(1);
                s.put_u64(at);
            }
        }
        s.put_u64(entry.version);
    }
    let (tombstones, floor) = sm.db.tombstones();
    let tombstones: Vec<(&Bytes, u64)> = tombstones.collect();
    s.put_u64(tombstones.len() as u64);
    for (key, index) in tombstones {
        s.put_bytes(key);
        s.put_u64(index);
    }
    s.put_u64(floor);
    s.put_u64(sm.sessions.len() as u64);
    for (client_id, session) in sm.sessions.iter() {
        s.put_u64(*client_id);
        s.put_u64(session.seq);
        s.put_u64(session.last_index);
        match &session.reply {
            None => s.put_u8(0),
            Some(reply) => {
                s.put_u8(1);
                put_reply(s, reply);
            }
        }
    }
}

fn put_value(s: &mut impl Sink, value: &Value) {
    match value {
        Value::Str(b) => {
            s.put_u8(0);
            s.put_bytes(b);
        }
        Value::Hash(h) => {
            s.put_u8(1);
            s.put_count(h.len());
            for (f, v) in h {
                s.put_bytes(f);
                s.put_bytes(v);
            }
        }
        Value::List(l) => {
            s.put_u8(2);
            s.put_count(l.len());
            l.iter().for_each(|e| s.put_bytes(e));
        }
        Value::Set(set) => {
            s.put_u8(3);
            s.put_count(set.len());
            set.iter().for_each(|m| s.put_bytes(m));
        }
        Value::ZSet(z) => {
            s.put_u8(4);
            s.put_count(z.len());
            let mut by_member: Vec<(&Bytes, Score)> = z.iter().collect();
            by_member.sort_by(|a, b| a.0.cmp(b.0));
            for (m, score) in by_member {
                s.put_bytes(m);
                s.put_u64(score.get().to_bits());
            }
        }
    }
}

/// A u64 item count, bounded by what the remaining input could possibly hold.
fn read_len(r: &mut Reader<'_>, what: &str, item_bytes_min: usize) -> Result<u64, DecodeError> {
    let n = r.u64(what)?;
    let room = (r.remaining() / item_bytes_min) as u64;
    if n > room {
        return Err(r.error(format!("{what}: {n} cannot fit in {} bytes", r.remaining())));
    }
    Ok(n)
}

fn bytes(r: &mut Reader<'_>, what: &str) -> Result<Bytes, DecodeError> {
    r.bytes_bounded(what, "u32", u32::MAX as usize)
}

/// Read the v2 body into a fresh machine.
pub(crate) fn read_body(sm: &mut StateMachine, body: &[u8]) -> Result<(), DecodeError> {
    let mut r = Reader::new(body);
    sm.applied_index = r.u64("applied_index")?;
    sm.clock_ms = r.u64("clock_ms")?;
    let keys = read_len(&mut r, "keys", 18)?;
    let mut previous: Option<Bytes> = None;
    for _ in 0..keys {
        let key = bytes(&mut r, "key")?;
        if previous.as_ref().is_some_and(|p| *p >= key) {
            return Err(r.error("keys: not strictly ascending"));
        }
        let value = read_value(&mut r)?;
        let expires_at_ms = match r.u8("expiry option")? {
            0 => None,
            1 => Some(r.u64("expires_at_ms")?),
            t => return Err(r.error(format!("expiry option: tag {t} is neither 0 nor 1"))),
        };
        let version = r.u64("version")?;
        if version > sm.applied_index {
            let applied = sm.applied_index;
            return Err(r.error(format!(
                "version: {version} is past applied_index {applied}"
            )));
        }
        previous = Some(key.clone());
        sm.db
            .restore_entry(key, Entry::new(value, expires_at_ms, version));
    }
    read_tombstones(&mut r, sm)?;
    read_sessions(&mut r, &mut sm.sessions, sm.applied_index, read_reply)?;
    r.finish("snapshot body")
}

fn read_tombstones(r: &mut Reader<'_>, sm: &mut StateMachine) -> Result<(), DecodeError> {
    let n = read_len(r, "tombstones", 12)?;
    let mut previous: Option<Bytes> = None;
    for _ in 0..n {
        let key = bytes(r, "tombstone key")?;
        let index = r.u64("tombstone index")?;
        if previous.as_ref().is_some_and(|p| *p >= key) {
            return Err(r.error("tombstones: not strictly ascending"));
        }
        if index > sm.applied_index || sm.db.lookup(&key, 0).is_some() {
            return Err(r.error(format!(
                "tombstone: index {index} past applied_index, or of a live key"
            )));
        }
        previous = Some(key.clone());
        sm.db.restore_tombstone(key, index);
    }
    let floor = r.u64("tombstone_floor")?;
    sm.db.restore_floor(floor);
    Ok(())
}

fn read_value(r: &mut Reader<'_>) -> Result<Value, DecodeError> {
    let value = match r.u8("value type")? {
        0 => return Ok(Value::Str(bytes(r, "string")?)),
        1 => {
            let n = r.count_fitting("hash fields", 8)?;
            let mut h = BTreeMap::new();
            for _ in 0..n {
                let (f, v) = (bytes(r, "field")?, bytes(r, "field value")?);
                if h.last_key_value().is_some_and(|(last, _)| *last >= f) {
                    return Err(r.error("hash fields: not strictly ascending"));
                }
                h.insert(f, v);
            }
            Value::Hash(h)
        }
        2 => {
            let n = r.count_fitting("list elements", 4)?;
            let l: VecDeque<Bytes> = (0..n)
                .map(|_| bytes(r, "element"))
                .collect::<Result<_, _>>()?;
            Value::List(l)
        }
        3 => {
            let n = r.count_fitting("set members", 4)?;
            let mut set = BTreeSet::new();
            for _ in 0..n {
                let m = bytes(r, "member")?;
                if set.last().is_some_and(|last| *last >= m) {
                    return Err(r.error("set members: not strictly ascending"));
                }
                set.insert(m);
            }
            Value::Set(set)
        }
        4 => Value::ZSet(read_zset(r)?),
        t => return Err(r.error(format!("value type: {t} is not a known type (0..=4)"))),
    };
    if value.is_empty_container() {
        return Err(r.error("value: an empty container is never stored"));
    }
    Ok(value)
}

fn read_zset(r: &mut Reader<'_>) -> Result<ZSet, DecodeError> {
    let n = r.count_fitting("zset members", 12)?;
    let mut z = ZSet::new();
    let mut previous: Option<Bytes> = None;
    for _ in 0..n {
        let m = bytes(r, "zset member")?;
        let score =
            Score::new(f64::from_bits(r.u64("score")?)).ok_or_else(|| r.error("score: NaN"))?;
        if previous.as_ref().is_some_and(|p| *p >= m) {
            return Err(r.error("zset members: not strictly ascending"));
        }
        previous = Some(m.clone());
        z.insert(m, score);
    }
    Ok(z)
}

/// Read the v1 body (strings only, no clock, v1 replies).
pub(crate) fn read_body_v1(sm: &mut StateMachine, body: &[u8]) -> Result<(), DecodeError> {
    let mut r = Reader::new(body);
    sm.applied_index = r.u64("applied_index")?;
    let keys = read_len(&mut r, "keys", 8)?;
    let mut previous: Option<Bytes> = None;
    for _ in 0..keys {
        let key = bytes(&mut r, "key")?;
        let value = bytes(&mut r, "value")?;
        if previous.as_ref().is_some_and(|p| *p >= key) {
            return Err(r.error("keys: not strictly ascending"));
        }
        previous = Some(key.clone());
        sm.db
            .restore_entry(key, Entry::new(Value::Str(value), None, 0));
    }
    read_sessions(&mut r, &mut sm.sessions, sm.applied_index, read_reply_v1)?;
    r.finish("snapshot body")
}

type ReadReply = fn(&mut Reader<'_>) -> Result<Reply, DecodeError>;

fn read_sessions(
    r: &mut Reader<'_>,
    sessions: &mut Sessions,
    applied_index: u64,
    read_reply: ReadReply,
) -> Result<(), DecodeError> {
    let count = read_len(r, "sessions", 25)?;
    let mut previous = 0u64;
    for _ in 0..count {
        let client_id = r.u64("client_id")?;
        let seq = r.u64("seq")?;
        let last_index = r.u64("last_index")?;
        let reply = match r.u8("reply option")? {
            0 => None,
            1 => Some(read_reply(r)?),
            t => return Err(r.error(format!("reply option: tag {t} is neither 0 nor 1"))),
        };
        if client_id <= previous {
            return Err(r.error(format!("client_id {client_id}: zero or not ascending")));
        }
        if seq == 0 || last_index == 0 || last_index > applied_index {
            return Err(r.error(format!(
                "client {client_id}: seq {seq} last_index {last_index} impossible at \
                 applied_index {applied_index}"
            )));
        }
        let session = Session {
            seq,
            reply,
            last_index,
        };
        if !sessions.insert(client_id, session) {
            return Err(r.error(format!(
                "client {client_id}: last_index {last_index} shared"
            )));
        }
        previous = client_id;
    }
    Ok(())
}
