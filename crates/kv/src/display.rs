//! One-line `Display` for commands, requests and replies, in the workspace's trace notation:
//!
//! ```text
//!   Request{client=7 seq=3 cmd=SET{key=k1 bytes=3}}
//!   SET{key=lock bytes=4 args=2}    DEL{n=4 keys=[a,b,c,…]}    MSET{n=2 keys=[a,b] bytes=5}
//!   Exec{cmds=2 watched=1}          GET{key=k1}                DISTRIBUTED.NOOP{}
//!   Bulk{bytes=3}   Null{}   Int{value=5}   Array{n=2}   Error{stale client=7 seq=2 last=5}
//! ```
//!
//! A command prints its name, its keys (found by the table's key spec), how many other
//! arguments it has and their total length. Values are never printed, only their lengths:
//! traces are read by people and kept in CI logs, and values can be large or private. Keys are printed because a trace without them cannot be
//! followed, but escaped and truncated: a byte outside printable ASCII, or one of the notation's
//! own characters (`\ { } [ ] , = "` and space), prints as `\xNN`, so a key can never break the
//! line or fake a field; past `KEY_SHOWN_BYTES_MAX` bytes the rest becomes `…`.

use std::fmt::{self, Display, Formatter};

use bytes::Bytes;

use crate::command::{Body, Command, Request};
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

impl Display for Command {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name = self.name().to_ascii_uppercase();
        let keys: Vec<&Bytes> = self.keys().collect();
        let others: Vec<&Bytes> = self
            .args()
            .iter()
            .enumerate()
            .filter(|(p, _)| !self.spec().is_key(*p, self.args().len()))
            .map(|(_, a)| a)
            .collect();
        write!(f, "{name}{{")?;
        let mut sep = "";
        match keys.as_slice() {
            [] => {}
            [key] => {
                write!(f, "key={}", Key(key))?;
                sep = " ";
            }
            many => {
                write!(f, "{}", Keys(many.len(), many.iter().copied()))?;
                sep = " ";
            }
        }
        if !others.is_empty() {
            let bytes: usize = others.iter().map(|a| a.len()).sum();
            write!(f, "{sep}bytes={bytes}")?;
            if others.len() > 1 {
                write!(f, " args={}", others.len())?;
            }
        }
        write!(f, "}}")
    }
}

impl Display for Body {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Body::One(c) => write!(f, "{c}"),
            Body::Exec {
                watched, commands, ..
            } => write!(
                f,
                "Exec{{cmds={} watched={}}}",
                commands.len(),
                watched.len()
            ),
        }
    }
}

impl Display for Request {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Request{{client={} seq={} cmd={}}}",
            self.client_id, self.seq, self.body
        )
    }
}

impl Display for Reply {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Status(s) => write!(f, "Status{{{}}}", Key(s)),
            Reply::Null => write!(f, "Null{{}}"),
            Reply::NullArray => write!(f, "NullArray{{}}"),
            Reply::Bulk(v) => write!(f, "Bulk{{bytes={}}}", v.len()),
            Reply::Int(n) => write!(f, "Int{{value={n}}}"),
            Reply::Double(d) => write!(f, "Double{{{}}}", Key(d)),
            Reply::Array(items) => write!(f, "Array{{n={}}}", items.len()),
            Reply::Set(items) => write!(f, "Set{{n={}}}", items.len()),
            Reply::Map(pairs) => write!(f, "Map{{n={}}}", pairs.len()),
            Reply::Pairs(pairs) => write!(f, "Pairs{{n={}}}", pairs.len()),
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
            KvError::WrongType => write!(f, "wrong-type"),
            KvError::Syntax => write!(f, "syntax"),
            KvError::WrongArity { command } => write!(f, "arity cmd={command}"),
            KvError::Other { code, .. } => write!(f, "other code={}", Key(code.as_bytes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    fn cmd(words: &[&'static str]) -> Command {
        Command::from_words(words.iter().map(|w| b(w)).collect()).unwrap()
    }

    #[test]
    fn commands_print_as_one_compact_line_without_values() {
        assert_eq!(Command::set("k1", "abc").to_string(), "SET{key=k1 bytes=3}");
        assert_eq!(
            cmd(&["set", "lock", "me", "NX"]).to_string(),
            "SET{key=lock bytes=4 args=2}"
        );
        assert_eq!(
            Command::cas("k1", None, "abc").to_string(),
            "CAS{key=k1 bytes=3}"
        );
        assert_eq!(
            Command::incr_by("n", -2).to_string(),
            "INCRBY{key=n bytes=2}"
        );
        assert_eq!(Command::noop().to_string(), "DISTRIBUTED.NOOP{}");
    }

    #[test]
    fn a_request_wraps_its_command_or_its_transaction() {
        let r = Request::in_session(7, 3, Command::get("k1"));
        assert_eq!(r.to_string(), "Request{client=7 seq=3 cmd=GET{key=k1}}");
        let exec = Request {
            body: Body::Exec {
                watched: vec![b("w")],
                since: 4,
                commands: vec![Command::get("a"), Command::get("b")],
            },
            ..r
        };
        assert_eq!(
            exec.to_string(),
            "Request{client=7 seq=3 cmd=Exec{cmds=2 watched=1}}"
        );
    }

    #[test]
    fn keys_are_escaped_so_they_cannot_break_the_line_or_fake_a_field() {
        assert_eq!(
            Command::get("a b\n=}").to_string(),
            "GET{key=a\\x20b\\x0a\\x3d\\x7d}"
        );
        assert_eq!(Command::get("").to_string(), "GET{key=\"\"}");
    }

    #[test]
    fn long_keys_and_long_key_lists_are_truncated() {
        let get = Command::get("abcdefghijklmnopqrstuvwxyz");
        assert_eq!(get.to_string(), "GET{key=abcdefghijklmnop…}");
        let del = Command::del(vec![b("a"), b("b"), b("c"), b("d"), b("e")]);
        assert_eq!(del.to_string(), "DEL{n=5 keys=[a,b,c,…]}");
        let mset = cmd(&["mset", "a", "12", "b", "345"]);
        assert_eq!(mset.to_string(), "MSET{n=2 keys=[a,b] bytes=5 args=2}");
    }

    #[test]
    fn replies_print_lengths_and_outcomes() {
        assert_eq!(Reply::ok().to_string(), "Status{OK}");
        assert_eq!(Reply::Null.to_string(), "Null{}");
        assert_eq!(Reply::Bulk(b("abc")).to_string(), "Bulk{bytes=3}");
        assert_eq!(
            Reply::Array(vec![Reply::Null, Reply::Int(1)]).to_string(),
            "Array{n=2}"
        );
        let stale = Reply::Error(KvError::Stale {
            client_id: 7,
            seq: 2,
            last_seq: 5,
        });
        assert_eq!(stale.to_string(), "Error{stale client=7 seq=2 last=5}");
    }
}
