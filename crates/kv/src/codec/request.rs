//! The binary form of a [`Request`]: what a Raft log entry's `data` holds.
//!
//! ```text
//!   v2:  version:u8 (=2) ‖ client_id:u64 ‖ seq:u64 ‖ time_ms:u64 ‖ body
//!        body    = 0 ‖ command                                               one command
//!                | 1 ‖ n:u32 ‖ key×n ‖ since:u64 ‖ m:u32 ‖ command×m        MULTI/EXEC
//!        command = words:u32 ‖ word×words        (the name first, as the client sent it)
//!
//!   v1 (before the command table; still decoded so an old WAL replays, never written):
//!        version:u8 (=1) ‖ client_id:u64 ‖ seq:u64 ‖ tag:u8 ‖ fields
//!        0 noop · 1 get k · 2 set k v · 3 set k v NX|XX · 4 del k… · 5 exists k… · 6 append k v
//!        7 cas k expected? new · 8 incrby k by:i64 · 9 mget k… · 10 mset (k v)…
//! ```
//!
//! Decoding checks, in order: the whole size against `request_bytes_max`, the version, the
//! word count against `args_per_command_max`, the name against the command table, the arity,
//! then every word's length: keys (by the command's key spec) against `key_bytes_max`, the
//! rest against `value_bytes_max`. A log entry is untrusted input: a buggy or hostile client
//! can put anything in it, and every replica must reject it the same way.
//!
//! Invariants: `decode(encode(r)) == r` for every request within [`Limits`]; decoding any bytes
//! at all returns `Ok` or a [`DecodeError`] naming the offset and the field, and never panics.

use bytes::Bytes;

use crate::command::{Body, Command, Request};
use distributed_core::wire::{DecodeError, Reader, Sink};

/// The request format this build writes.
pub const REQUEST_VERSION: u8 = 2;
/// The typed format before the command table, still read.
const REQUEST_VERSION_TYPED: u8 = 1;

/// Size bounds on one request. Each is checked while decoding, before anything is allocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest key. Keys are copied into traces, the dedup table and every snapshot, so they are
    /// kept short; Redis' 512 MB is a limit nobody should reach.
    pub key_bytes_max: usize,
    /// Longest value or other argument, and the longest a value may grow (`APPEND`).
    pub value_bytes_max: usize,
    /// Most arguments of one command (`DEL k1 … kn`, `MSET`, `HMSET` of a thousand fields):
    /// one log entry applies atomically, so a huge one stalls every replica's apply loop, as
    /// it stalls Redis' single thread. The default is the RESP front end's own array bound
    /// (2^20, Redis' too); what really bounds such an entry is `request_bytes_max`.
    pub args_per_command_max: usize,
    /// Most commands in one MULTI/EXEC transaction, for the same reason.
    pub commands_per_transaction_max: usize,
    /// Largest encoded request. Checked first, so a multi-megabyte garbage entry is refused
    /// without a single field being parsed.
    pub request_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            key_bytes_max: 4 * 1024,
            value_bytes_max: 1024 * 1024,
            args_per_command_max: 1 << 20,
            commands_per_transaction_max: 1024,
            request_bytes_max: 4 * 1024 * 1024,
        }
    }
}

impl Request {
    /// The bytes to propose to the log.
    pub fn encode(&self) -> Bytes {
        let mut buf = Vec::with_capacity(48);
        buf.put_u8(REQUEST_VERSION);
        buf.put_u64(self.client_id);
        buf.put_u64(self.seq);
        buf.put_u64(self.time_ms);
        match &self.body {
            Body::One(command) => {
                buf.put_u8(0);
                put_command(&mut buf, command);
            }
            Body::Exec {
                watched,
                since,
                commands,
            } => {
                buf.put_u8(1);
                buf.put_count(watched.len());
                for k in watched {
                    buf.put_bytes(k);
                }
                buf.put_u64(*since);
                buf.put_count(commands.len());
                for c in commands {
                    put_command(&mut buf, c);
                }
            }
        }
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
        let request = match r.u8("version")? {
            REQUEST_VERSION => read_v2(&mut r, limits)?,
            REQUEST_VERSION_TYPED => super::request_v1::read(&mut r, limits)?,
            version => {
                return Err(DecodeError::at(
                    0,
                    format!("version: {version} is not a supported request version (1, 2)"),
                ))
            }
        };
        r.finish("request")?;
        Ok(request)
    }
}

fn put_command(s: &mut impl Sink, command: &Command) {
    s.put_count(command.args().len() + 1);
    s.put_bytes(command.name().as_bytes());
    for a in command.args() {
        s.put_bytes(a);
    }
}

fn read_v2(r: &mut Reader<'_>, limits: &Limits) -> Result<Request, DecodeError> {
    let client_id = r.u64("client_id")?;
    let seq = r.u64("seq")?;
    let time_ms = r.u64("time_ms")?;
    let body = match r.u8("body")? {
        0 => Body::One(read_command(r, limits)?),
        1 => {
            let n = r.count(
                "watched",
                "args_per_command_max",
                0,
                limits.args_per_command_max,
            )?;
            let watched = (0..n)
                .map(|_| r.bytes_bounded("watched key", "key_bytes_max", limits.key_bytes_max))
                .collect::<Result<_, _>>()?;
            let since = r.u64("since")?;
            let max = limits.commands_per_transaction_max;
            let m = r.count("commands", "commands_per_transaction_max", 0, max)?;
            let commands = (0..m)
                .map(|_| read_command(r, limits))
                .collect::<Result<_, _>>()?;
            Body::Exec {
                watched,
                since,
                commands,
            }
        }
        t => return Err(r.error(format!("body: tag {t} is neither 0 (one) nor 1 (exec)"))),
    };
    Ok(Request {
        client_id,
        seq,
        time_ms,
        body,
    })
}

/// A command: its words, checked against the table, then each word against its limit.
pub(crate) fn read_command(r: &mut Reader<'_>, limits: &Limits) -> Result<Command, DecodeError> {
    let start = r.offset();
    let max = limits.args_per_command_max.saturating_add(1);
    let words = r.count("words", "args_per_command_max", 1, max)?;
    let name = r.bytes_bounded("command name", "32 bytes", 32)?;
    // Each argument takes at least its 4-byte length: a hostile count reserves no more than
    // the entry could hold.
    let mut args = Vec::with_capacity((words - 1).min(r.remaining() / 4));
    for _ in 1..words {
        // Bounded by the larger limit first; the key positions are checked once the command
        // (and so its key spec) is known.
        let bound = limits.value_bytes_max.max(limits.key_bytes_max);
        args.push(r.bytes_bounded("argument", "value_bytes_max", bound)?);
    }
    let command =
        Command::new(&name, args).map_err(|e| DecodeError::at(start, format!("command: {e}")))?;
    if command.name().as_bytes() != name.as_ref() {
        // The encoder writes the table's lower-case name: one request, one encoding.
        let why = format!("command name: '{}' is not in lower case", command.name());
        return Err(DecodeError::at(start, why));
    }
    let (spec, n) = (command.spec(), command.args().len());
    for (position, arg) in command.args().iter().enumerate() {
        let (field, max, limit) = if spec.is_key(position, n) {
            ("key", limits.key_bytes_max, "key_bytes_max")
        } else {
            ("value", limits.value_bytes_max, "value_bytes_max")
        };
        if arg.len() > max {
            let why = format!(
                "{field}: argument {} of {} bytes exceeds {limit} {max}",
                position + 1,
                arg.len()
            );
            return Err(DecodeError::at(start, why));
        }
    }
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn a_transaction_round_trips_with_its_watch() {
        let r = Request {
            client_id: 3,
            seq: 9,
            time_ms: 1_700_000_000_000,
            body: Body::Exec {
                watched: vec![b("w")],
                since: 41,
                commands: vec![Command::set("a", "1"), Command::get("a")],
            },
        };
        assert_eq!(Request::decode(&r.encode(), &Limits::default()), Ok(r));
    }

    #[test]
    fn an_unknown_command_or_a_wrong_arity_in_a_log_entry_is_refused_by_name() {
        let mut buf = vec![REQUEST_VERSION];
        buf.extend_from_slice(&[0; 24]);
        buf.put_u8(0);
        buf.put_count(2);
        buf.put_bytes(b"frob");
        buf.put_bytes(b"x");
        let err = Request::decode(&buf, &Limits::default()).unwrap_err();
        assert!(err.message.contains("unknown command 'frob'"), "{err}");
        let mut buf = vec![REQUEST_VERSION];
        buf.extend_from_slice(&[0; 24]);
        buf.put_u8(0);
        buf.put_count(1);
        buf.put_bytes(b"get");
        let err = Request::decode(&buf, &Limits::default()).unwrap_err();
        assert!(err.message.contains("wrong number of arguments"), "{err}");
    }

    #[test]
    fn a_key_over_key_bytes_max_is_refused_but_a_value_that_long_is_not() {
        let limits = Limits {
            key_bytes_max: 2,
            ..Limits::default()
        };
        let ok = Request::once(Command::set("ab", "a long value"));
        assert!(Request::decode(&ok.encode(), &limits).is_ok());
        let long_key = Request::once(Command::set("abc", "v"));
        let err = Request::decode(&long_key.encode(), &limits).unwrap_err();
        assert!(err.message.contains("key_bytes_max 2"), "{err}");
    }
}
