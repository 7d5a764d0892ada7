//! Replies: what applying a command answers, and the errors a command can meet.
//!
//! Every [`Reply`] variant maps to exactly one RESP frame shape, whatever command produced it, so
//! the RESP front end is a table, not a set of special cases:
//!
//! ```text
//!   Reply                      RESP2 frame                     produced by
//!   Ok                         +OK                             Put, MultiPut, PutIf (written), Noop
//!   Skipped                    $-1   (null bulk string)        PutIf whose condition failed
//!   Value(Some(v)) / (None)    $len v  /  $-1                  Get
//!   Values([..])               *n of bulk strings or $-1       MultiGet
//!   Int(n)                     :n                              Delete, Exists, Append, Increment
//!   Cas{ok, current}           *2 [ :1|:0 , bulk or $-1 ]      CompareAndSet
//!   Error(e)                   -CODE message  (e.code(), e)    anything
//! ```
//!
//! `Skipped` answers `SET … NX|XX` exactly the way Redis does (a null reply). The road not taken:
//! a `Bool` reply, which would have forced the RESP layer to know which command it answers.
//!
//! Invariant: a reply is a pure function of the state before the command and the command, so
//! every replica computes the same one, and a cached reply (the dedup table) is the true one.

use std::fmt;

use bytes::Bytes;

use distributed_core::wire::DecodeError;

/// The answer to one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The write happened (or there was nothing to do: `Noop`).
    Ok,
    /// A conditional write whose condition did not hold; nothing changed.
    Skipped,
    /// The value of one key, `None` when absent.
    Value(Option<Bytes>),
    /// The values of several keys, in the order asked, `None` for each absent one.
    Values(Vec<Option<Bytes>>),
    /// A count or a number: keys removed or present, a new length, a counter's new value.
    Int(i64),
    /// The outcome of a compare-and-set.
    Cas {
        /// True when the comparison held and `new` was written.
        ok: bool,
        /// The key's value *after* the command: `new` on success, and on failure the value that
        /// made the comparison fail, so a client can retry without a separate read.
        current: Option<Bytes>,
    },
    /// The command was refused or could not run; the map is unchanged.
    Error(KvError),
}

impl Reply {
    /// True for `Reply::Error`.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Why a command did not run. Expected failures, never panics: they come from client input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvError {
    /// `Increment` on a value that is not a canonical decimal `i64` (Redis' rule: optional `-`,
    /// no `+`, no leading zeros, no spaces).
    NotAnInteger,
    /// `Increment` whose result does not fit in an `i64`.
    Overflow,
    /// `Append` that would grow a value past `value_bytes_max`.
    ValueTooLarge {
        /// The length the value would have had.
        bytes: u64,
        /// The configured limit it would have crossed.
        max: u64,
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
        /// The command's name (`Command::name`).
        command: String,
    },
    /// The log entry did not decode into a request.
    Malformed(DecodeError),
}

impl KvError {
    /// The RESP error prefix: the frame is `-{code} {self}`. Redis' own errors use `ERR`.
    pub fn code(&self) -> &'static str {
        match self {
            KvError::Stale { .. } => "STALE",
            KvError::SessionUnknown { .. } => "NOSESSION",
            _ => "ERR",
        }
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The first two are Redis' exact texts, so redis-cli users see what they expect.
            KvError::NotAnInteger => write!(f, "value is not an integer or out of range"),
            KvError::Overflow => write!(f, "increment or decrement would overflow"),
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
        }
    }
}

impl std::error::Error for KvError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_errors_use_redis_wording_so_clients_recognise_them() {
        let e = KvError::NotAnInteger;
        assert_eq!(e.code(), "ERR");
        assert_eq!(e.to_string(), "value is not an integer or out of range");
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
}
