//! One-line `Display` for commands, requests and replies, in the workspace's trace notation:
//!
//! ```text
//!   Request{client=7 seq=3 cmd=Put{key=k1 bytes=3}}
//!   PutIf{key=lock bytes=2 if=absent}      Delete{n=4 keys=[a,b,c,…]}
//!   Cas{key=k1 expected=absent bytes=3}    Cas{ok bytes=3}      Cas{failed current=nil}
//!   Value{bytes=3}   Value{nil}   Int{value=5}   Error{stale client=7 seq=2 last=5}
//! ```
//!
//! Values are never printed, only their lengths: traces are read by people and kept in CI logs,
//! and values can be large or private. Keys are printed because a trace without them cannot be
//! followed, but escaped and truncated: a byte outside printable ASCII, or one of the notation's
//! own characters (`\ { } [ ] , = "` and space), prints as `\xNN`, so a key can never break the
//! line or fake a field; past `KEY_SHOWN_BYTES_MAX` bytes the rest becomes `…`.

use std::fmt::{self, Display, Formatter};

use bytes::Bytes;

use crate::command::{Command, Condition, Request};
use crate::reply::{KvError, Reply};

/// Key bytes shown before truncating: enough to recognise a key, short enough for one line.
const KEY_SHOWN_BYTES_MAX: usize = 16;
/// Keys shown from a multi-key command before `…`.
const KEYS_SHOWN_MAX: usize = 3;

/// A key, escaped and truncated for a trace line.
struct Key<'a>(&'a [u8]);

impl Display for Key<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "\"\"");
        }
        for &b in self.0.iter().take(KEY_SHOWN_BYTES_MAX) {
            let plain = b.is_ascii_graphic() && !b"\\{}[],=\"".contains(&b);
            if plain {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        if self.0.len() > KEY_SHOWN_BYTES_MAX {
            write!(f, "…")?;
        }
        Ok(())
    }
}

/// A list of keys: its length, then the first few.
struct Keys<'a, I: Iterator<Item = &'a Bytes> + Clone>(usize, I);

impl<'a, I: Iterator<Item = &'a Bytes> + Clone> Display for Keys<'a, I> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "n={} keys=[", self.0)?;
        for (i, k) in self.1.clone().take(KEYS_SHOWN_MAX).enumerate() {
            if i > 0 {
                write!(f, ",")?;
            }
            write!(f, "{}", Key(k))?;
        }
        if self.0 > KEYS_SHOWN_MAX {
            write!(f, ",…")?;
        }
        write!(f, "]")
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Condition::IfAbsent => write!(f, "absent"),
            Condition::IfPresent => write!(f, "present"),
        }
    }
}

impl Display for Command {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            Command::Noop => write!(f, "{name}{{}}"),
            Command::Get { key } => write!(f, "{name}{{key={}}}", Key(key)),
            Command::Put { key, value } | Command::Append { key, value } => {
                write!(f, "{name}{{key={} bytes={}}}", Key(key), value.len())
            }
            Command::PutIf {
                key,
                value,
                condition,
            } => write!(
                f,
                "{name}{{key={} bytes={} if={condition}}}",
                Key(key),
                value.len()
            ),
            Command::Delete { keys } | Command::Exists { keys } | Command::MultiGet { keys } => {
                write!(f, "{name}{{{}}}", Keys(keys.len(), keys.iter()))
            }
            Command::CompareAndSet { key, expected, new } => {
                write!(f, "{name}{{key={} ", Key(key))?;
                match expected {
                    None => write!(f, "expected=absent")?,
                    Some(e) => write!(f, "expected_bytes={}", e.len())?,
                }
                write!(f, " bytes={}}}", new.len())
            }
            Command::Increment { key, by } => write!(f, "{name}{{key={} by={by}}}", Key(key)),
            Command::MultiPut { pairs } => {
                let bytes: usize = pairs.iter().map(|(_, v)| v.len()).sum();
                let keys = Keys(pairs.len(), pairs.iter().map(|(k, _)| k));
                write!(f, "{name}{{bytes={bytes} {keys}}}")
            }
        }
    }
}

impl Display for Request {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Request{{client={} seq={} cmd={}}}",
            self.client_id, self.seq, self.command
        )
    }
}

impl Display for Reply {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => write!(f, "Ok{{}}"),
            Reply::Skipped => write!(f, "Skipped{{}}"),
            Reply::Value(None) => write!(f, "Value{{nil}}"),
            Reply::Value(Some(v)) => write!(f, "Value{{bytes={}}}", v.len()),
            Reply::Values(vs) => {
                let nil = vs.iter().filter(|v| v.is_none()).count();
                write!(f, "Values{{n={} nil={nil}}}", vs.len())
            }
            Reply::Int(n) => write!(f, "Int{{value={n}}}"),
            Reply::Cas { ok, current } => {
                write!(f, "Cas{{{} ", if *ok { "ok" } else { "failed" })?;
                match current {
                    None => write!(f, "current=nil}}"),
                    Some(v) => write!(f, "bytes={}}}", v.len()),
                }
            }
            Reply::Error(e) => write!(f, "Error{{{}}}", ErrorFields(e)),
        }
    }
}

/// The fields of an error inside `Error{…}`: a short kebab-case kind, then its numbers.
struct ErrorFields<'a>(&'a KvError);

impl Display for ErrorFields<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            KvError::NotAnInteger => write!(f, "not-an-integer"),
            KvError::Overflow => write!(f, "overflow"),
            KvError::ValueTooLarge { bytes, max } => write!(f, "too-large bytes={bytes} max={max}"),
            KvError::Stale {
                client_id,
                seq,
                last_seq,
            } => write!(f, "stale client={client_id} seq={seq} last={last_seq}"),
            KvError::SessionUnknown { client_id, seq } => {
                write!(f, "no-session client={client_id} seq={seq}")
            }
            KvError::NotReadOnly { command } => write!(f, "not-read-only cmd={command}"),
            KvError::Malformed(e) => write!(f, "malformed at={}", e.offset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn commands_print_as_one_compact_line_without_values() {
        let put = Command::Put {
            key: b("k1"),
            value: b("abc"),
        };
        assert_eq!(put.to_string(), "Put{key=k1 bytes=3}");
        let cas = Command::CompareAndSet {
            key: b("k1"),
            expected: None,
            new: b("abc"),
        };
        assert_eq!(cas.to_string(), "Cas{key=k1 expected=absent bytes=3}");
        let put_if = Command::PutIf {
            key: b("lock"),
            value: b("me"),
            condition: Condition::IfAbsent,
        };
        assert_eq!(put_if.to_string(), "PutIf{key=lock bytes=2 if=absent}");
        let incr = Command::Increment {
            key: b("n"),
            by: -2,
        };
        assert_eq!(incr.to_string(), "Incr{key=n by=-2}");
    }

    #[test]
    fn a_request_wraps_its_command() {
        let r = Request {
            client_id: 7,
            seq: 3,
            command: Command::Get { key: b("k1") },
        };
        assert_eq!(r.to_string(), "Request{client=7 seq=3 cmd=Get{key=k1}}");
    }

    #[test]
    fn keys_are_escaped_so_they_cannot_break_the_line_or_fake_a_field() {
        let get = Command::Get { key: b("a b\n=}") };
        assert_eq!(get.to_string(), "Get{key=a\\x20b\\x0a\\x3d\\x7d}");
        let empty = Command::Get { key: b("") };
        assert_eq!(empty.to_string(), "Get{key=\"\"}");
    }

    #[test]
    fn long_keys_and_long_key_lists_are_truncated() {
        let get = Command::Get {
            key: b("abcdefghijklmnopqrstuvwxyz"),
        };
        assert_eq!(get.to_string(), "Get{key=abcdefghijklmnop…}");
        let del = Command::Delete {
            keys: vec![b("a"), b("b"), b("c"), b("d"), b("e")],
        };
        assert_eq!(del.to_string(), "Delete{n=5 keys=[a,b,c,…]}");
        let mset = Command::MultiPut {
            pairs: vec![(b("a"), b("12")), (b("b"), b("345"))],
        };
        assert_eq!(mset.to_string(), "MultiPut{bytes=5 n=2 keys=[a,b]}");
    }

    #[test]
    fn replies_print_lengths_and_outcomes() {
        assert_eq!(Reply::Ok.to_string(), "Ok{}");
        assert_eq!(Reply::Value(None).to_string(), "Value{nil}");
        assert_eq!(Reply::Value(Some(b("abc"))).to_string(), "Value{bytes=3}");
        assert_eq!(
            Reply::Values(vec![None, Some(b("x"))]).to_string(),
            "Values{n=2 nil=1}"
        );
        let ok = Reply::Cas {
            ok: true,
            current: Some(b("abc")),
        };
        assert_eq!(ok.to_string(), "Cas{ok bytes=3}");
        let failed = Reply::Cas {
            ok: false,
            current: None,
        };
        assert_eq!(failed.to_string(), "Cas{failed current=nil}");
        let stale = Reply::Error(KvError::Stale {
            client_id: 7,
            seq: 2,
            last_seq: 5,
        });
        assert_eq!(stale.to_string(), "Error{stale client=7 seq=2 last=5}");
    }
}
