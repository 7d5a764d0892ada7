//! The binary form of a [`Reply`], for the dedup table inside snapshots (and the digest).
//!
//! ```text
//!   v2 (snapshot version 2):  tag:u8 ‖ fields
//!     0 Status bytes   1 Error error   2 Int i64   3 Bulk bytes   4 Null   5 NullArray
//!     6 Array n:u32 reply×n   7 Map n:u32 (reply reply)×n   8 Set n:u32 reply×n   9 Double bytes
//!     10 Pairs n:u32 (reply reply)×n
//!   error = tag:u8 ‖ fields
//!     0 NotAnInteger  1 Overflow  2 ValueTooLarge bytes:u64 max:u64  3 Stale c:u64 s:u64 l:u64
//!     4 SessionUnknown c:u64 s:u64  5 NotReadOnly name  6 Malformed offset:u64 message
//!     7 WrongType  8 Syntax  9 WrongArity name  10 Other code message
//!
//!   v1 (snapshot version 1, read only): 0 Ok · 1 Skipped · 2 Value opt · 3 Values n opt×n ·
//!     4 Int · 5 Cas ok:u8 opt · 6 Error (tags 0..=6 above)       opt = 0 | 1 ‖ bytes
//! ```
//!
//! Replies nest (an EXEC's array holds arrays); decoding refuses more than
//! `REPLY_DEPTH_MAX` levels, so a hostile snapshot cannot exhaust the stack.

use bytes::Bytes;

use crate::reply::{KvError, Reply};
use distributed_core::wire::{DecodeError, Reader, Sink};

/// Deepest reply nesting accepted when decoding (an EXEC of arrays is 2).
const REPLY_DEPTH_MAX: usize = 8;

/// Write a reply (v2).
pub(crate) fn put_reply(s: &mut impl Sink, reply: &Reply) {
    match reply {
        Reply::Status(b) => tagged_bytes(s, 0, b),
        Reply::Error(e) => {
            s.put_u8(1);
            put_error(s, e);
        }
        Reply::Int(n) => {
            s.put_u8(2);
            s.put_i64(*n);
        }
        Reply::Bulk(b) => tagged_bytes(s, 3, b),
        Reply::Null => s.put_u8(4),
        Reply::NullArray => s.put_u8(5),
        Reply::Array(items) | Reply::Set(items) => {
            s.put_u8(if matches!(reply, Reply::Array(_)) {
                6
            } else {
                8
            });
            s.put_count(items.len());
            for item in items {
                put_reply(s, item);
            }
        }
        Reply::Map(pairs) | Reply::Pairs(pairs) => {
            s.put_u8(if matches!(reply, Reply::Map(_)) {
                7
            } else {
                10
            });
            s.put_count(pairs.len());
            for (k, v) in pairs {
                put_reply(s, k);
                put_reply(s, v);
            }
        }
        Reply::Double(text) => tagged_bytes(s, 9, text),
    }
}

fn tagged_bytes(s: &mut impl Sink, tag: u8, b: &[u8]) {
    s.put_u8(tag);
    s.put_bytes(b);
}

fn put_error(s: &mut impl Sink, e: &KvError) {
    match e {
        KvError::NotAnInteger => s.put_u8(0),
        KvError::Overflow => s.put_u8(1),
        KvError::ValueTooLarge { bytes, max } => {
            s.put_u8(2);
            s.put_u64(*bytes);
            s.put_u64(*max);
        }
        KvError::Stale {
            client_id,
            seq,
            last_seq,
        } => {
            s.put_u8(3);
            s.put_u64(*client_id);
            s.put_u64(*seq);
            s.put_u64(*last_seq);
        }
        KvError::SessionUnknown { client_id, seq } => {
            s.put_u8(4);
            s.put_u64(*client_id);
            s.put_u64(*seq);
        }
        KvError::NotReadOnly { command } => tagged_bytes(s, 5, command.as_bytes()),
        KvError::Malformed(d) => {
            s.put_u8(6);
            s.put_u64(d.offset as u64);
            s.put_bytes(d.message.as_bytes());
        }
        KvError::WrongType => s.put_u8(7),
        KvError::Syntax => s.put_u8(8),
        KvError::WrongArity { command } => tagged_bytes(s, 9, command.as_bytes()),
        KvError::Other { code, message } => {
            tagged_bytes(s, 10, code.as_bytes());
            s.put_bytes(message.as_bytes());
        }
    }
}

/// Read a reply written by `put_reply` (v2).
pub(crate) fn read_reply(r: &mut Reader<'_>) -> Result<Reply, DecodeError> {
    read_nested(r, 0)
}

fn read_nested(r: &mut Reader<'_>, depth: usize) -> Result<Reply, DecodeError> {
    if depth > REPLY_DEPTH_MAX {
        return Err(r.error(format!("reply: nested deeper than {REPLY_DEPTH_MAX}")));
    }
    let items = |r: &mut Reader<'_>, per: usize| -> Result<Vec<Reply>, DecodeError> {
        let n = r.count_fitting("reply items", per)?;
        (0..n).map(|_| read_nested(r, depth + 1)).collect()
    };
    let reply = match r.u8("reply tag")? {
        0 => Reply::Status(bytes(r, "status")?),
        1 => Reply::Error(read_error(r, 10)?),
        2 => Reply::Int(r.i64("int")?),
        3 => Reply::Bulk(bytes(r, "bulk")?),
        4 => Reply::Null,
        5 => Reply::NullArray,
        6 => Reply::Array(items(r, 1)?),
        tag @ (7 | 10) => {
            let n = r.count_fitting("map pairs", 2)?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                pairs.push((read_nested(r, depth + 1)?, read_nested(r, depth + 1)?));
            }
            match tag {
                7 => Reply::Map(pairs),
                _ => Reply::Pairs(pairs),
            }
        }
        8 => Reply::Set(items(r, 1)?),
        9 => Reply::Double(bytes(r, "double")?),
        t => return Err(r.error(format!("reply tag: {t} is not a known reply (0..=10)"))),
    };
    Ok(reply)
}

fn bytes(r: &mut Reader<'_>, what: &str) -> Result<Bytes, DecodeError> {
    r.bytes_bounded(what, "input size", u32::MAX as usize)
}

fn read_string(r: &mut Reader<'_>, what: &str) -> Result<String, DecodeError> {
    let raw = bytes(r, what)?;
    String::from_utf8(raw.to_vec()).map_err(|_| r.error(format!("{what}: not UTF-8")))
}

/// An error; `tag_max` is 6 in v1, 10 in v2.
fn read_error(r: &mut Reader<'_>, tag_max: u8) -> Result<KvError, DecodeError> {
    let tag = r.u8("error tag")?;
    if tag > tag_max {
        return Err(r.error(format!(
            "error tag: {tag} is not a known error (0..={tag_max})"
        )));
    }
    let e = match tag {
        0 => KvError::NotAnInteger,
        1 => KvError::Overflow,
        2 => KvError::ValueTooLarge {
            bytes: r.u64("bytes")?,
            max: r.u64("max")?,
        },
        3 => KvError::Stale {
            client_id: r.u64("client_id")?,
            seq: r.u64("seq")?,
            last_seq: r.u64("last_seq")?,
        },
        4 => KvError::SessionUnknown {
            client_id: r.u64("client_id")?,
            seq: r.u64("seq")?,
        },
        5 => KvError::NotReadOnly {
            command: read_string(r, "command")?,
        },
        6 => KvError::Malformed(DecodeError {
            offset: usize::try_from(r.u64("offset")?).unwrap_or(usize::MAX),
            message: read_string(r, "message")?,
        }),
        7 => KvError::WrongType,
        8 => KvError::Syntax,
        9 => KvError::WrongArity {
            command: read_string(r, "command")?,
        },
        _ => KvError::Other {
            code: read_string(r, "code")?,
            message: read_string(r, "message")?,
        },
    };
    Ok(e)
}

/// Read a reply of snapshot version 1 (the typed replies), as the reply it stands for now.
pub(crate) fn read_reply_v1(r: &mut Reader<'_>) -> Result<Reply, DecodeError> {
    let opt = |r: &mut Reader<'_>| -> Result<Reply, DecodeError> {
        match r.u8("option")? {
            0 => Ok(Reply::Null),
            1 => Ok(Reply::Bulk(bytes(r, "value")?)),
            t => Err(r.error(format!("option: tag {t} is neither 0 nor 1"))),
        }
    };
    let reply = match r.u8("reply tag")? {
        0 => Reply::ok(),
        1 => Reply::Null,
        2 => opt(r)?,
        3 => {
            let n = r.count_fitting("values", 1)?;
            Reply::Array((0..n).map(|_| opt(r)).collect::<Result<_, _>>()?)
        }
        4 => Reply::Int(r.i64("int")?),
        5 => {
            let ok = r.bool("cas ok")?;
            Reply::Array(vec![Reply::Int(i64::from(ok)), opt(r)?])
        }
        6 => Reply::Error(read_error(r, 6)?),
        t => return Err(r.error(format!("reply tag: {t} is not a known reply (0..=6)"))),
    };
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(reply: Reply) {
        let mut buf = Vec::new();
        put_reply(&mut buf, &reply);
        let mut r = Reader::new(&buf);
        assert_eq!(read_reply(&mut r), Ok(reply));
        assert_eq!(r.finish("reply"), Ok(()));
    }

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn every_kind_of_reply_survives_encoding() {
        round_trip(Reply::ok());
        round_trip(Reply::Null);
        round_trip(Reply::NullArray);
        round_trip(Reply::Bulk(b("v")));
        round_trip(Reply::Int(i64::MIN));
        round_trip(Reply::Double(b("1.5")));
        round_trip(Reply::Array(vec![
            Reply::Int(1),
            Reply::Array(vec![Reply::Null]),
        ]));
        round_trip(Reply::Set(vec![Reply::Bulk(b("m"))]));
        round_trip(Reply::Pairs(vec![(
            Reply::Bulk(b("m")),
            Reply::Double(b("1.5")),
        )]));
        round_trip(Reply::Map(vec![(Reply::Bulk(b("f")), Reply::Bulk(b("v")))]));
        let errors = [
            KvError::NotAnInteger,
            KvError::Overflow,
            KvError::ValueTooLarge { bytes: 9, max: 8 },
            KvError::Stale {
                client_id: 1,
                seq: 2,
                last_seq: 3,
            },
            KvError::SessionUnknown {
                client_id: 1,
                seq: 5,
            },
            KvError::NotReadOnly {
                command: "set".into(),
            },
            KvError::Malformed(DecodeError::at(4, "bad")),
            KvError::WrongType,
            KvError::Syntax,
            KvError::WrongArity {
                command: "get".into(),
            },
            KvError::Other {
                code: "EXECABORT".into(),
                message: "discarded".into(),
            },
        ];
        for e in errors {
            round_trip(Reply::Error(e));
        }
    }

    #[test]
    fn a_reply_with_an_unknown_tag_or_too_deep_is_an_error_not_a_panic() {
        let err = read_reply(&mut Reader::new(&[42])).unwrap_err();
        assert!(err.message.contains("reply tag: 42"), "{err}");
        let mut deep = Vec::new();
        for _ in 0..=REPLY_DEPTH_MAX + 1 {
            deep.put_u8(6);
            deep.put_count(1);
        }
        deep.put_u8(4);
        let err = read_reply(&mut Reader::new(&deep)).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{err}");
    }

    #[test]
    fn version_1_replies_read_as_the_replies_they_stand_for() {
        let mut cas = vec![5u8, 1];
        cas.put_u8(1);
        cas.put_bytes(b"now");
        let reply = read_reply_v1(&mut Reader::new(&cas)).unwrap();
        assert_eq!(
            reply,
            Reply::Array(vec![Reply::Int(1), Reply::Bulk(b("now"))])
        );
        assert_eq!(read_reply_v1(&mut Reader::new(&[0])).unwrap(), Reply::ok());
        assert_eq!(read_reply_v1(&mut Reader::new(&[1])).unwrap(), Reply::Null);
    }
}
