//! The binary form of a [`Request`] (what a Raft log entry's `data` holds) and of a [`Reply`]
//! (what a snapshot's dedup table holds).
//!
//! ```text
//!   Request = version:u8 (=1) ‖ client_id:u64 ‖ seq:u64 ‖ tag:u8 ‖ fields of that command
//!
//!   tag  command          fields
//!    0   Noop             —
//!    1   Get              key
//!    2   Put              key value
//!    3   PutIf            key value condition:u8 (0 = IfAbsent/NX, 1 = IfPresent/XX)
//!    4   Delete           n:u32 key×n
//!    5   Exists           n:u32 key×n
//!    6   Append           key value
//!    7   CompareAndSet    key expected:opt new          opt = 0 | 1 ‖ bytes
//!    8   Increment        key by:i64
//!    9   MultiGet         n:u32 key×n
//!   10   MultiPut         n:u32 (key value)×n
//! ```
//!
//! Integers are little-endian; `key`/`value` are u32-length-prefixed (the workspace's one wire
//! vocabulary, `distributed_core::wire`).
//!
//! Invariants: `decode(encode(r)) == r` for every request within [`Limits`]; decoding any bytes
//! at all returns `Ok` or a [`DecodeError`] naming the offset and the field, and never panics.
//! A log entry is untrusted input: a buggy or hostile client can put anything in it, and every
//! replica must reject it the same way instead of crashing the same way.
//!
//! Why a version byte: log entries outlive the binary that wrote them (they sit in the WAL and
//! in snapshots' dedup tables across upgrades). A new format gets a new version; the decoder
//! names the version it met instead of misreading the fields.

use bytes::Bytes;

use crate::command::{Command, Condition, Request};
use crate::reply::{KvError, Reply};
use distributed_core::wire::{DecodeError, Reader, Sink};

/// The request format this build writes and reads.
pub const REQUEST_VERSION: u8 = 1;

/// Size bounds on one request. Each is checked while decoding, before anything is allocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest key. Keys are copied into traces, the dedup table and every snapshot, so they are
    /// kept short; Redis' 512 MB is a limit nobody should reach.
    pub key_bytes_max: usize,
    /// Longest value, including one that `Append` grows. Bounds the memory one key can take.
    pub value_bytes_max: usize,
    /// Most keys (or pairs) in one `Delete`, `Exists`, `MultiGet` or `MultiPut`: one log entry
    /// applies atomically, so a huge one stalls every replica's apply loop.
    pub keys_per_command_max: usize,
    /// Largest encoded request. Checked first, so a multi-megabyte garbage entry is refused
    /// without a single field being parsed.
    pub request_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            key_bytes_max: 4 * 1024,
            value_bytes_max: 1024 * 1024,
            keys_per_command_max: 1024,
            request_bytes_max: 4 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Bounds for data this crate wrote itself and verified by CRC (snapshots): only the size of
    /// the input limits each length, which the reader checks anyway.
    pub(crate) fn trusted() -> Self {
        let max = u32::MAX as usize;
        Limits {
            key_bytes_max: max,
            value_bytes_max: max,
            keys_per_command_max: max,
            request_bytes_max: usize::MAX,
        }
    }
}

impl Request {
    /// The bytes to propose to the log.
    pub fn encode(&self) -> Bytes {
        let mut buf = Vec::with_capacity(32);
        buf.put_u8(REQUEST_VERSION);
        buf.put_u64(self.client_id);
        buf.put_u64(self.seq);
        put_command(&mut buf, &self.command);
        Bytes::from(buf)
    }

    /// Parse untrusted bytes into a request, enforcing `limits`.
    pub fn decode(data: &[u8], limits: &Limits) -> Result<Request, DecodeError> {
        let mut r = Reader::new(data);
        if data.len() > limits.request_bytes_max {
            return Err(r.error(format!(
                "request: {} bytes exceeds request_bytes_max {}",
                data.len(),
                limits.request_bytes_max
            )));
        }
        let version = r.u8("version")?;
        if version != REQUEST_VERSION {
            return Err(DecodeError {
                offset: 0,
                message: format!("version: {version} is not the supported {REQUEST_VERSION}"),
            });
        }
        let client_id = r.u64("client_id")?;
        let seq = r.u64("seq")?;
        let command = read_command(&mut r, limits)?;
        r.finish("request")?;
        Ok(Request {
            client_id,
            seq,
            command,
        })
    }
}

fn put_command(s: &mut impl Sink, command: &Command) {
    match command {
        Command::Noop => s.put_u8(0),
        Command::Get { key } => put_tagged(s, 1, &[key]),
        Command::Put { key, value } => put_tagged(s, 2, &[key, value]),
        Command::PutIf {
            key,
            value,
            condition,
        } => {
            put_tagged(s, 3, &[key, value]);
            s.put_u8(match condition {
                Condition::IfAbsent => 0,
                Condition::IfPresent => 1,
            });
        }
        Command::Delete { keys } => put_key_list(s, 4, keys),
        Command::Exists { keys } => put_key_list(s, 5, keys),
        Command::Append { key, value } => put_tagged(s, 6, &[key, value]),
        Command::CompareAndSet { key, expected, new } => {
            put_tagged(s, 7, &[key]);
            put_opt(s, expected.as_ref());
            s.put_bytes(new);
        }
        Command::Increment { key, by } => {
            put_tagged(s, 8, &[key]);
            s.put_i64(*by);
        }
        Command::MultiGet { keys } => put_key_list(s, 9, keys),
        Command::MultiPut { pairs } => {
            s.put_u8(10);
            s.put_count(pairs.len());
            for (k, v) in pairs {
                s.put_bytes(k);
                s.put_bytes(v);
            }
        }
    }
}

fn put_tagged(s: &mut impl Sink, tag: u8, fields: &[&Bytes]) {
    s.put_u8(tag);
    for f in fields {
        s.put_bytes(f);
    }
}

fn put_key_list(s: &mut impl Sink, tag: u8, keys: &[Bytes]) {
    s.put_u8(tag);
    s.put_count(keys.len());
    for k in keys {
        s.put_bytes(k);
    }
}

fn put_opt(s: &mut impl Sink, v: Option<&Bytes>) {
    match v {
        None => s.put_u8(0),
        Some(b) => {
            s.put_u8(1);
            s.put_bytes(b);
        }
    }
}

/// Field readers bound to one set of limits, so each call site reads as the format table does.
struct Fields<'r, 'a> {
    r: &'r mut Reader<'a>,
    limits: &'r Limits,
}

impl Fields<'_, '_> {
    fn key(&mut self) -> Result<Bytes, DecodeError> {
        self.r
            .bytes_bounded("key", "key_bytes_max", self.limits.key_bytes_max)
    }

    fn value(&mut self) -> Result<Bytes, DecodeError> {
        let max = self.limits.value_bytes_max;
        self.r.bytes_bounded("value", "value_bytes_max", max)
    }

    fn opt_value(&mut self) -> Result<Option<Bytes>, DecodeError> {
        match self.r.u8("option")? {
            0 => Ok(None),
            1 => Ok(Some(self.value()?)),
            t => Err(self.r.error(format!("option: tag {t} is neither 0 nor 1"))),
        }
    }

    /// A non-empty list: Redis rejects `DEL` with no keys as a wrong number of arguments.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let max = self.limits.keys_per_command_max;
        self.r.count("keys", "keys_per_command_max", 1, max)
    }

    fn keys(&mut self) -> Result<Vec<Bytes>, DecodeError> {
        let n = self.count()?;
        (0..n).map(|_| self.key()).collect()
    }
}

fn read_command(r: &mut Reader<'_>, limits: &Limits) -> Result<Command, DecodeError> {
    let tag = r.u8("command tag")?;
    let mut f = Fields { r, limits };
    let command = match tag {
        0 => Command::Noop,
        1 => Command::Get { key: f.key()? },
        2 => Command::Put {
            key: f.key()?,
            value: f.value()?,
        },
        3 => Command::PutIf {
            key: f.key()?,
            value: f.value()?,
            condition: match f.r.u8("condition")? {
                0 => Condition::IfAbsent,
                1 => Condition::IfPresent,
                c => {
                    return Err(f
                        .r
                        .error(format!("condition: {c} is neither 0 (NX) nor 1 (XX)")))
                }
            },
        },
        4 => Command::Delete { keys: f.keys()? },
        5 => Command::Exists { keys: f.keys()? },
        6 => Command::Append {
            key: f.key()?,
            value: f.value()?,
        },
        7 => Command::CompareAndSet {
            key: f.key()?,
            expected: f.opt_value()?,
            new: f.value()?,
        },
        8 => Command::Increment {
            key: f.key()?,
            by: f.r.i64("by")?,
        },
        9 => Command::MultiGet { keys: f.keys()? },
        10 => {
            let n = f.count()?;
            let pairs = (0..n).map(|_| Ok((f.key()?, f.value()?)));
            Command::MultiPut {
                pairs: pairs.collect::<Result<_, DecodeError>>()?,
            }
        }
        t => {
            return Err(f
                .r
                .error(format!("command tag: {t} is not a known command (0..=10)")))
        }
    };
    Ok(command)
}

/// Write a reply (for the snapshot's dedup table and the digest).
pub(crate) fn put_reply(s: &mut impl Sink, reply: &Reply) {
    match reply {
        Reply::Ok => s.put_u8(0),
        Reply::Skipped => s.put_u8(1),
        Reply::Value(v) => {
            s.put_u8(2);
            put_opt(s, v.as_ref());
        }
        Reply::Values(vs) => {
            s.put_u8(3);
            s.put_count(vs.len());
            for v in vs {
                put_opt(s, v.as_ref());
            }
        }
        Reply::Int(n) => {
            s.put_u8(4);
            s.put_i64(*n);
        }
        Reply::Cas { ok, current } => {
            s.put_u8(5);
            s.put_u8(u8::from(*ok));
            put_opt(s, current.as_ref());
        }
        Reply::Error(e) => {
            s.put_u8(6);
            put_error(s, e);
        }
    }
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
        KvError::NotReadOnly { command } => {
            s.put_u8(5);
            s.put_bytes(command.as_bytes());
        }
        KvError::Malformed(d) => {
            s.put_u8(6);
            s.put_u64(d.offset as u64);
            s.put_bytes(d.message.as_bytes());
        }
    }
}

/// Read a reply written by `put_reply`.
pub(crate) fn read_reply(r: &mut Reader<'_>) -> Result<Reply, DecodeError> {
    let limits = Limits::trusted();
    let mut f = Fields { r, limits: &limits };
    let reply = match f.r.u8("reply tag")? {
        0 => Reply::Ok,
        1 => Reply::Skipped,
        2 => Reply::Value(f.opt_value()?),
        3 => {
            let n = f.r.count("values", "input size", 0, f.r.remaining())?;
            let values = (0..n).map(|_| f.opt_value());
            Reply::Values(values.collect::<Result<_, DecodeError>>()?)
        }
        4 => Reply::Int(f.r.i64("int")?),
        5 => Reply::Cas {
            ok: match f.r.u8("cas ok")? {
                0 => false,
                1 => true,
                b => return Err(f.r.error(format!("cas ok: {b} is not a bool"))),
            },
            current: f.opt_value()?,
        },
        6 => Reply::Error(read_error(f.r)?),
        t => {
            return Err(f
                .r
                .error(format!("reply tag: {t} is not a known reply (0..=6)")))
        }
    };
    Ok(reply)
}

fn read_error(r: &mut Reader<'_>) -> Result<KvError, DecodeError> {
    let e = match r.u8("error tag")? {
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
        t => return Err(r.error(format!("error tag: {t} is not a known error (0..=6)"))),
    };
    Ok(e)
}

fn read_string(r: &mut Reader<'_>, what: &str) -> Result<String, DecodeError> {
    let raw = r.bytes_bounded(what, "input size", u32::MAX as usize)?;
    String::from_utf8(raw.to_vec()).map_err(|_| r.error(format!("{what}: not UTF-8")))
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

    #[test]
    fn every_kind_of_reply_survives_encoding() {
        let v = Some(Bytes::from_static(b"v"));
        round_trip(Reply::Ok);
        round_trip(Reply::Skipped);
        round_trip(Reply::Value(None));
        round_trip(Reply::Value(v.clone()));
        round_trip(Reply::Values(vec![None, v.clone()]));
        round_trip(Reply::Int(i64::MIN));
        round_trip(Reply::Cas {
            ok: false,
            current: v,
        });
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
                command: "Put".into(),
            },
            KvError::Malformed(DecodeError {
                offset: 4,
                message: "bad".into(),
            }),
        ];
        for e in errors {
            round_trip(Reply::Error(e));
        }
    }

    #[test]
    fn a_reply_with_an_unknown_tag_is_an_error_not_a_panic() {
        let mut r = Reader::new(&[42]);
        let err = read_reply(&mut r).unwrap_err();
        assert!(err.message.contains("reply tag: 42"), "{err}");
    }
}
