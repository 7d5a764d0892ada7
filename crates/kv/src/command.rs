//! Commands and requests: what a client asks the replicated map to do.
//!
//! A [`Request`] is what travels through the Raft log: the client's identity and sequence number
//! (for exactly-once, see `session.rs`) around one [`Command`]. Each command is one Redis command,
//! so a RESP front end translates a frame into a command without thinking:
//!
//! ```text
//!   RESP frame                     Command                               Reply (reply.rs)
//!   GET k                      →   Get{key}                          →   Value
//!   SET k v                    →   Put{key,value}                    →   Ok
//!   SET k v NX | XX            →   PutIf{key,value,IfAbsent|IfPresent}→  Ok | Skipped
//!   DEL k1 k2 …                →   Delete{keys}                      →   Int (keys removed)
//!   EXISTS k1 k2 …             →   Exists{keys}                      →   Int (keys present)
//!   APPEND k v                 →   Append{key,value}                 →   Int (new length)
//!   INCR k | INCRBY k n        →   Increment{key,by}                 →   Int (new value)
//!   MGET k1 k2 …               →   MultiGet{keys}                    →   Values
//!   MSET k1 v1 k2 v2 …         →   MultiPut{pairs}                   →   Ok
//!   CAS k expected new         →   CompareAndSet{key,expected,new}   →   Cas{ok,current}
//!   (Raft's leader no-op)      →   Noop                              →   Ok
//! ```
//!
//! Invariants: commands are plain data. Their meaning lives in `execute.rs`, their bytes in
//! `codec.rs`, their one-line text in `display.rs`. Multi-key commands act on their keys in the
//! order given, exactly as Redis does (`DEL k k` removes one key and answers 1).

use bytes::Bytes;

/// The precondition of a conditional write (`SET … NX` / `SET … XX` in Redis).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    /// Redis `NX`: write only if the key is absent. The building block of locks and leases.
    IfAbsent,
    /// Redis `XX`: write only if the key is present. Updates that must not resurrect a key.
    IfPresent,
}

/// One operation on the map. Keys and values are arbitrary bytes, as in Redis.
///
/// The road not taken: one generic `Write{ops}` transaction type. Named commands keep the RESP
/// mapping 1:1, keep traces readable, and give the linearizability checker a small model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Do nothing. Raft's leader appends one at the start of its term (Raft §8); applying it
    /// advances `applied_index` and nothing else.
    Noop,
    /// Read one key.
    Get {
        /// The key to read.
        key: Bytes,
    },
    /// Write one key unconditionally.
    Put {
        /// The key to write.
        key: Bytes,
        /// Its new value.
        value: Bytes,
    },
    /// Write one key only if `condition` holds.
    PutIf {
        /// The key to write.
        key: Bytes,
        /// Its new value, if the condition holds.
        value: Bytes,
        /// Absent or present: decided against the state at apply time, not at proposal time.
        condition: Condition,
    },
    /// Remove keys; answers how many existed.
    Delete {
        /// The keys, acted on in order (so duplicates count once).
        keys: Vec<Bytes>,
    },
    /// Count how many of the keys exist.
    Exists {
        /// The keys, counted in order (so a duplicate present key counts twice, as in Redis).
        keys: Vec<Bytes>,
    },
    /// Append bytes to a value (a missing key is an empty value); answers the new length.
    Append {
        /// The key to extend.
        key: Bytes,
        /// The bytes to add at the end.
        value: Bytes,
    },
    /// Write `new` only if the current value equals `expected`.
    CompareAndSet {
        /// The key to compare and write.
        key: Bytes,
        /// The value the key must hold; `None` means the key must be absent.
        expected: Option<Bytes>,
        /// The value to write if the comparison succeeds.
        new: Bytes,
    },
    /// Add `by` to a decimal integer value (a missing key counts as 0), as Redis `INCRBY`.
    Increment {
        /// The key holding the counter.
        key: Bytes,
        /// The signed amount to add. `INCR` is `by = 1`, `DECR` is `by = -1`.
        by: i64,
    },
    /// Read several keys at once, in one linearization point.
    MultiGet {
        /// The keys, answered in the same order.
        keys: Vec<Bytes>,
    },
    /// Write several keys at once, atomically (all replicas apply the whole entry or none of it).
    MultiPut {
        /// (key, value) pairs, written in order, so a repeated key keeps its last value.
        pairs: Vec<(Bytes, Bytes)>,
    },
}

impl Command {
    /// True when the command never changes the map, so it may be served by `StateMachine::read`
    /// without going through the log (ReadIndex or lease reads, Raft §6.4).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Command::Noop | Command::Get { .. } | Command::Exists { .. } | Command::MultiGet { .. }
        )
    }

    /// The command's name as `Display` prints it, for traces and error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Noop => "Noop",
            Command::Get { .. } => "Get",
            Command::Put { .. } => "Put",
            Command::PutIf { .. } => "PutIf",
            Command::Delete { .. } => "Delete",
            Command::Exists { .. } => "Exists",
            Command::Append { .. } => "Append",
            Command::CompareAndSet { .. } => "Cas",
            Command::Increment { .. } => "Incr",
            Command::MultiGet { .. } => "MultiGet",
            Command::MultiPut { .. } => "MultiPut",
        }
    }
}

/// One client request as it is written into the Raft log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Who asked. Together with `seq` it identifies the request across retries, which is what
    /// makes a retried write apply once (Raft dissertation §6.3). `0` means "no session": the
    /// command applies every time it appears, which is right for reads and one-shot tools.
    pub client_id: u64,
    /// The client's request number, starting at 1 and increasing with each new request. A retry
    /// reuses it. Clients keep at most one request in flight per `client_id`.
    pub seq: u64,
    /// What to do.
    pub command: Command,
}

impl Request {
    /// The `client_id` that opts out of deduplication.
    pub const NO_SESSION: u64 = 0;

    /// A request with no session: applied every time it appears in the log.
    pub fn once(command: Command) -> Self {
        Request {
            client_id: Self::NO_SESSION,
            seq: 0,
            command,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gets_exists_multigets_and_noops_are_read_only() {
        let key = Bytes::from_static(b"k");
        assert!(Command::Get { key: key.clone() }.is_read_only());
        assert!(Command::MultiGet {
            keys: vec![key.clone()]
        }
        .is_read_only());
        assert!(Command::Exists {
            keys: vec![key.clone()]
        }
        .is_read_only());
        assert!(Command::Noop.is_read_only());
        let incr = Command::Increment { key, by: 1 };
        assert!(!incr.is_read_only());
    }

    #[test]
    fn a_one_shot_request_has_no_session() {
        let r = Request::once(Command::Noop);
        assert_eq!(r.client_id, Request::NO_SESSION);
    }
}
