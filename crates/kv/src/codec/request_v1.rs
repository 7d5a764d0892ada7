//! Version 1 of the request format (typed commands, no log time), read so that a WAL written
//! before the command table replays; never written.
//!
//! ```text
//!   client_id:u64 ‖ seq:u64 ‖ tag:u8 ‖ fields         (after the version byte)
//!   0 Noop                 → DISTRIBUTED.NOOP      6 Append key value   → APPEND key value
//!   1 Get key              → GET key               7 Cas key opt new    → CAS key [expected] new
//!   2 Put key value        → SET key value         8 Increment key i64  → INCRBY key n
//!   3 PutIf key value c    → SET key value NX|XX   9 MultiGet n key×n   → MGET key…
//!   4 Delete n key×n       → DEL key…             10 MultiPut n (k v)×n → MSET k v…
//!   5 Exists n key×n       → EXISTS key…
//! ```
//!
//! Each maps to the command with the same meaning; its log time is 0 (no expiry existed).

use bytes::Bytes;

use super::request::Limits;
use crate::command::{Command, Request};
use distributed_core::wire::{DecodeError, Reader};

/// Read the rest of a version-1 request.
pub(crate) fn read(r: &mut Reader<'_>, limits: &Limits) -> Result<Request, DecodeError> {
    let client_id = r.u64("client_id")?;
    let seq = r.u64("seq")?;
    let start = r.offset();
    let words = read_words(r, limits)?;
    let command =
        Command::from_words(words).map_err(|e| DecodeError::at(start, format!("command: {e}")))?;
    Ok(Request::in_session(client_id, seq, command))
}

fn word(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// The v1 command as the words of its v2 equivalent.
fn read_words(r: &mut Reader<'_>, l: &Limits) -> Result<Vec<Bytes>, DecodeError> {
    let key = |r: &mut Reader<'_>| r.bytes_bounded("key", "key_bytes_max", l.key_bytes_max);
    let value = |r: &mut Reader<'_>| r.bytes_bounded("value", "value_bytes_max", l.value_bytes_max);
    let count =
        |r: &mut Reader<'_>| r.count("keys", "args_per_command_max", 1, l.args_per_command_max);
    let tag = r.u8("command tag")?;
    let words = match tag {
        0 => vec![word("distributed.noop")],
        1 => vec![word("get"), key(r)?],
        2 => vec![word("set"), key(r)?, value(r)?],
        3 => {
            let (k, v) = (key(r)?, value(r)?);
            let condition = match r.u8("condition")? {
                0 => word("NX"),
                1 => word("XX"),
                c => return Err(r.error(format!("condition: {c} is neither 0 (NX) nor 1 (XX)"))),
            };
            vec![word("set"), k, v, condition]
        }
        4 | 5 | 9 => {
            let name = ["del", "exists", "", "", "", "mget"][usize::from(tag - 4)];
            let n = count(r)?;
            let mut words = vec![word(name)];
            for _ in 0..n {
                words.push(key(r)?);
            }
            words
        }
        6 => vec![word("append"), key(r)?, value(r)?],
        7 => {
            let mut words = vec![word("cas"), key(r)?];
            match r.u8("option")? {
                0 => {}
                1 => words.push(value(r)?),
                t => return Err(r.error(format!("option: tag {t} is neither 0 nor 1"))),
            }
            words.push(value(r)?);
            words
        }
        8 => vec![
            word("incrby"),
            key(r)?,
            Bytes::from(r.i64("by")?.to_string()),
        ],
        10 => {
            let n = count(r)?;
            let mut words = vec![word("mset")];
            for _ in 0..n {
                words.push(key(r)?);
                words.push(value(r)?);
            }
            words
        }
        t => return Err(r.error(format!("command tag: {t} is not a known command (0..=10)"))),
    };
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use distributed_core::wire::Sink;

    fn v1(tag: u8, fields: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut buf = vec![1u8];
        buf.put_u64(7);
        buf.put_u64(3);
        buf.put_u8(tag);
        fields(&mut buf);
        buf
    }

    #[test]
    fn version_1_entries_decode_to_the_commands_with_the_same_meaning() {
        let put_if = v1(3, |b| {
            b.put_bytes(b"k");
            b.put_bytes(b"v");
            b.put_u8(0);
        });
        let r = Request::decode(&put_if, &Limits::default()).unwrap();
        assert_eq!((r.client_id, r.seq, r.time_ms), (7, 3, 0));
        let words: Vec<&[u8]> = r
            .command()
            .unwrap()
            .args()
            .iter()
            .map(|a| a.as_ref())
            .collect();
        assert_eq!(r.command().unwrap().name(), "set");
        assert_eq!(words, [&b"k"[..], b"v", b"NX"]);
        let cas_absent = v1(7, |b| {
            b.put_bytes(b"k");
            b.put_u8(0);
            b.put_bytes(b"new");
        });
        let r = Request::decode(&cas_absent, &Limits::default()).unwrap();
        assert_eq!(r.command().unwrap(), &Command::cas("k", None, "new"));
        let incr = v1(8, |b| {
            b.put_bytes(b"n");
            b.put_i64(-4);
        });
        let r = Request::decode(&incr, &Limits::default()).unwrap();
        assert_eq!(r.command().unwrap(), &Command::incr_by("n", -4));
    }

    #[test]
    fn an_unknown_version_1_tag_is_refused_naming_it() {
        let err = Request::decode(&v1(42, |_| {}), &Limits::default()).unwrap_err();
        assert!(err.message.contains("command tag: 42"), "{err}");
    }
}
