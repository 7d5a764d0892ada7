//! Replies: what applying a command answers, and the errors a command can meet.
//!
//! A [`Reply`] has the shape of a RESP3 value, so the front end encodes it without knowing
//! which command produced it, in RESP2 or RESP3 as the connection asked (HELLO):
//!
//! ```text
//!   Reply              RESP2                       RESP3          typical source
//!   Status("OK")       +OK                         +OK            SET, MSET, RENAME
//!   Error(e)           -CODE message               -CODE message  anything
//!   Int(n)             :n                          :n             DEL, INCR, LLEN
//!   Bulk(b)            $len b                      $len b         GET, HGET
//!   Null               $-1                         _              GET of a missing key
//!   NullArray          *-1                         _              EXEC after a failed WATCH
//!   Array([..])        *n …                        *n …           MGET, LRANGE, EXEC
//!   Map([(k, v)..])    *2n k v …  (flattened)      %n k v …       HGETALL, CONFIG GET
//!   Pairs([(a, b)..])  *2n a b …  (flattened)      *n *2 a b …    ZRANGE … WITHSCORES
//!   Set([..])          *n …                        ~n …           SMEMBERS
//!   Double("1.5")      $3 1.5     (as text)        ,1.5           ZSCORE, INCRBYFLOAT
//! ```
//!
//! A double is kept as the text Redis would print (`1.5`, `inf`, `-inf`), so replies compare,
//! hash and cache exactly; the road not taken, an `f64`, has no `Eq` and would make two
//! replicas' equal replies compare unequal on a NaN.
//!
//! Invariant: a reply is a pure function of the state before the command and the command, so
//! every replica computes the same one, and a cached reply (the dedup table) is the true one.

use std::fmt;

use bytes::Bytes;

use distributed_core::wire::DecodeError;

/// The answer to one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A simple status line, `+OK` or `+QUEUED`.
    Status(Bytes),
    /// The command failed; nothing changed.
    Error(KvError),
    /// A signed integer.
    Int(i64),
    /// A byte string.
    Bulk(Bytes),
    /// No value: a missing key, a skipped conditional write.
    Null,
    /// No array at all: an aborted transaction.
    NullArray,
    /// An ordered list of replies.
    Array(Vec<Reply>),
    /// Field/value pairs (a flat array in RESP2).
    Map(Vec<(Reply, Reply)>),
    /// An ordered list of pairs: a flat array in RESP2, an array of two-element arrays in
    /// RESP3 (Redis 7's shape for WITHSCORES, ZPOPMIN with a count, HRANDFIELD WITHVALUES).
    /// Not a `Map`: a map's keys are unique and a client turns it into a dictionary.
    Pairs(Vec<(Reply, Reply)>),
    /// An unordered collection without duplicates (an array in RESP2).
    Set(Vec<Reply>),
    /// A floating-point number, as the text Redis prints for it.
    Double(Bytes),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Status(Bytes::from_static(b"OK"))
    }

    /// A bulk string, or `Null` for `None`.
    pub fn bulk_or_null(value: Option<Bytes>) -> Reply {
        value.map_or(Reply::Null, Reply::Bulk)
    }

    /// An error reply from a code and a message (`ERR`, "syntax error").
    pub fn error(code: &str, message: impl Into<String>) -> Reply {
        Reply::Error(KvError::Other {
            code: code.to_string(),
            message: message.into(),
        })
    }

    /// True for an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// True for `+OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Reply::Status(s) if s.as_ref() == b"OK")
    }

    /// The bytes of a `Bulk`, `None` for `Null`, and `Err` for any other shape.
    pub fn as_value(&self) -> Result<Option<&Bytes>, &Reply> {
        match self {
            Reply::Bulk(b) => Ok(Some(b)),
            Reply::Null => Ok(None),
            other => Err(other),
        }
    }
}

/// Why a command did not run. Expected failures, never panics: they come from client input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvError {
    /// A value that should be an integer is not a canonical decimal `i64` (Redis' rule:
    /// optional `-`, no `+`, no leading zeros, no spaces).
    NotAnInteger,
    /// An integer result that does not fit in an `i64`.
    Overflow,
    /// A write that would grow a value past `value_bytes_max`.
    ValueTooLarge {
        /// The length the value would have had.
        bytes: u64,
        /// The configured limit it would have crossed.
        max: u64,
    },
    /// The key holds another type than the command works on (a list given to `GET`).
    WrongType,
    /// Arguments that do not parse as the command's syntax.
    Syntax,
    /// The wrong number of arguments for `command`.
    WrongArity {
        /// The command's name, lower-case, as Redis prints it.
        command: String,
    },
    /// A request older than the last one applied for its client: a late duplicate of a request
    /// whose reply was already replaced. Not applied; its true reply is gone.
    Stale {
        /// The client that sent it.
        client_id: u64,
        /// The request's sequence number.
        seq: u64,
        /// The newest sequence number applied for this client.
        last_seq: u64,
    },
    /// A request from a client with no session, whose `seq` is not 1: either it never started a
    /// session properly or its session was evicted (see `session.rs`). Not applied, because it
    /// might be a retry of a request that did apply; the client must start a new session.
    SessionUnknown {
        /// The client that sent it.
        client_id: u64,
        /// The request's sequence number.
        seq: u64,
    },
    /// `StateMachine::read` was given a command that writes; writes must go through the log.
    NotReadOnly {
        /// The command's name.
        command: String,
    },
    /// The log entry did not decode into a request.
    Malformed(DecodeError),
    /// Any other error a command reports, with Redis' code and text (`ERR index out of
    /// range`), so clients that match on the text see what they expect.
    Other {
        /// The RESP error prefix (`ERR`, `EXECABORT`, …).
        code: String,
        /// The text after it.
        message: String,
    },
}

impl KvError {
    /// The RESP error prefix: the frame is `-{code} {self}`. Redis' own errors use `ERR`.
    pub fn code(&self) -> &str {
        match self {
            KvError::Stale { .. } => "STALE",
            KvError::SessionUnknown { .. } => "NOSESSION",
            KvError::WrongType => "WRONGTYPE",
            KvError::Other { code, .. } => code,
            _ => "ERR",
        }
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Redis' exact texts, so redis-cli users and client libraries see what they expect.
            KvError::NotAnInteger => write!(f, "value is not an integer or out of range"),
            KvError::Overflow => write!(f, "increment or decrement would overflow"),
            KvError::WrongType => {
                write!(f, "Operation against a key holding the wrong kind of value")
            }
            KvError::Syntax => write!(f, "syntax error"),
            KvError::WrongArity { command } => {
                write!(f, "wrong number of arguments for '{command}' command")
            }
            KvError::ValueTooLarge { bytes, max } => write!(
                f,
                "string exceeds maximum allowed size: {bytes} bytes > value_bytes_max {max}"
            ),
            KvError::Stale {
                client_id,
                seq,
                last_seq,
            } => write!(
                f,
                "client {client_id} seq {seq} is older than its last applied seq {last_seq}"
            ),
            KvError::SessionUnknown { client_id, seq } => write!(
                f,
                "client {client_id} has no session (seq {seq}): sessions start at seq 1, or this \
                 one was evicted; start a new session with a fresh client id"
            ),
            KvError::NotReadOnly { command } => {
                write!(f, "{command} writes, so it must go through the log")
            }
            KvError::Malformed(e) => write!(f, "malformed request: {e}"),
            KvError::Other { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for KvError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_and_type_errors_use_redis_wording_so_clients_recognise_them() {
        let e = KvError::NotAnInteger;
        assert_eq!(e.code(), "ERR");
        assert_eq!(e.to_string(), "value is not an integer or out of range");
        assert_eq!(KvError::WrongType.code(), "WRONGTYPE");
        let arity = KvError::WrongArity {
            command: "get".into(),
        };
        assert_eq!(
            arity.to_string(),
            "wrong number of arguments for 'get' command"
        );
    }

    #[test]
    fn session_errors_have_their_own_codes_so_clients_can_react() {
        let stale = KvError::Stale {
            client_id: 7,
            seq: 2,
            last_seq: 5,
        };
        assert_eq!(stale.code(), "STALE");
        assert!(stale.to_string().contains("seq 2"));
        let unknown = KvError::SessionUnknown {
            client_id: 7,
            seq: 9,
        };
        assert_eq!(unknown.code(), "NOSESSION");
    }

    #[test]
    fn other_errors_carry_their_own_code() {
        let r = Reply::error(
            "EXECABORT",
            "Transaction discarded because of previous errors.",
        );
        let Reply::Error(e) = &r else { panic!() };
        assert_eq!(e.code(), "EXECABORT");
        assert!(r.is_error() && !r.is_ok());
        assert!(Reply::ok().is_ok());
    }
}
