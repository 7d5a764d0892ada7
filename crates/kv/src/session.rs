//! Client sessions: the dedup table that makes a retried write apply exactly once.
//!
//! A client that times out retries, and Raft may commit both the original and the retry. Without
//! this table `INCR` would count twice. With it, each replica remembers, per client, the last
//! `seq` it applied and that request's reply (Raft dissertation §6.3, "linearizable semantics"):
//!
//! ```text
//!   request (client c, seq s)            session of c             outcome
//!   ─────────────────────────            ────────────             ───────────────────────────────
//!   c = 0                                —                        apply, no session (one-shot)
//!   c unknown, s = 1                     none                     apply, create session
//!   c unknown, s > 1 (or 0)              none (never / evicted)   SessionUnknown error, no apply
//!   s > last                             (last, reply)            apply, remember (s, new reply)
//!   s = last                             (last, reply)            replay the cached reply, no apply
//!   s < last                             (last, reply)            Stale error, no apply
//! ```
//!
//! Read-only commands that come through the log with a session cache no reply (`None`): replaying
//! one simply reads again, which is still linearizable (the retry falls inside the client's
//! operation), and it keeps `MultiGet` results out of the table's memory.
//!
//! ## Bounded, and what that costs
//!
//! The table holds at most `sessions_max` clients. Past that, the client whose session was
//! touched (applied or replayed) at the lowest log index is evicted. Eviction depends only on log
//! indices, so every replica evicts the same client at the same entry.
//!
//! Consequence: an evicted client loses exactly-once. Its next request (seq > 1) is refused with
//! `SessionUnknown` rather than applied, because it might be a retry of something that already
//! applied; the client must start over with a fresh `client_id` at seq 1. The remaining hole: a
//! client evicted right after its *first* request, retrying that seq-1 request, is applied twice.
//! That needs `sessions_max` other clients to apply while one retry is in flight; size
//! `sessions_max` well above the number of concurrently active clients.
//!
//! Memory: at most `sessions_max` cached replies, the largest a `Cas` reply carrying one value
//! (≤ `value_bytes_max`).
//!
//! Invariants: `by_index` and `by_client` describe the same sessions (one index entry per
//! session, pointing at it), and `len() <= sessions_max` after every public call.

use std::collections::BTreeMap;

use crate::reply::{KvError, Reply};

/// What the table remembers about one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Session {
    /// The newest sequence number applied for this client: the dedup key.
    pub(crate) seq: u64,
    /// The reply to `seq`, to hand to a retry; `None` for a read-only command (re-read instead).
    pub(crate) reply: Option<Reply>,
    /// The log index that last touched this session: the eviction order.
    pub(crate) last_index: u64,
}

/// What to do with a request that carries a session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Run the command, then `record` its reply.
    Apply,
    /// A duplicate: answer with this cached reply and change nothing but recency.
    Replay(Reply),
    /// Refuse without applying.
    Refuse(KvError),
}

/// The dedup table.
#[derive(Clone, Debug)]
pub(crate) struct Sessions {
    /// Sessions by client: the lookup on every request. Ordered so snapshots are canonical.
    by_client: BTreeMap<u64, Session>,
    /// client by `last_index`: the eviction queue, oldest first. Indices are unique because
    /// each log entry touches at most one session.
    by_index: BTreeMap<u64, u64>,
    /// The bound on `by_client.len()`. Must be the same on every replica, or they evict
    /// different clients and their replies diverge.
    sessions_max: usize,
}

impl Sessions {
    pub(crate) fn new(sessions_max: usize) -> Self {
        assert!(sessions_max > 0, "Sessions: sessions_max must be positive");
        Sessions {
            by_client: BTreeMap::new(),
            by_index: BTreeMap::new(),
            sessions_max,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_client.len()
    }

    /// Sessions in client order, for snapshots and digests.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u64, &Session)> {
        self.by_client.iter()
    }

    /// Decide what to do with (client_id, seq). `client_id` must not be 0 (no session).
    pub(crate) fn admit(&self, client_id: u64, seq: u64) -> Admission {
        assert_ne!(client_id, 0, "Sessions::admit: client 0 has no session");
        let Some(s) = self.by_client.get(&client_id) else {
            return if seq == 1 {
                Admission::Apply
            } else {
                Admission::Refuse(KvError::SessionUnknown { client_id, seq })
            };
        };
        if seq < s.seq {
            return Admission::Refuse(KvError::Stale {
                client_id,
                seq,
                last_seq: s.seq,
            });
        }
        match (&s.reply, seq == s.seq) {
            (Some(reply), true) => Admission::Replay(reply.clone()),
            _ => Admission::Apply,
        }
    }

    /// The newest seq applied for `client_id`, if it has a session.
    pub(crate) fn last_seq(&self, client_id: u64) -> Option<u64> {
        self.by_client.get(&client_id).map(|s| s.seq)
    }

    /// Mark a session as used at `index` (a replayed duplicate), moving it to the back of the
    /// eviction queue.
    pub(crate) fn touch(&mut self, index: u64, client_id: u64) {
        if let Some(s) = self.by_client.get_mut(&client_id) {
            let removed = self.by_index.remove(&s.last_index);
            assert_eq!(
                removed,
                Some(client_id),
                "Sessions: index queue out of step"
            );
            s.last_index = index;
            self.by_index.insert(index, client_id);
        }
    }

    /// Remember that `client_id`'s request `seq` applied at `index` with `reply`, then evict down
    /// to `sessions_max`.
    pub(crate) fn record(&mut self, index: u64, client_id: u64, seq: u64, reply: Option<Reply>) {
        let session = Session {
            seq,
            reply,
            last_index: index,
        };
        self.insert(client_id, session);
        self.evict();
    }

    /// Put a session in place (from `record` or a snapshot), replacing the client's old one.
    /// Returns false, changing nothing, if another session already owns `last_index`.
    pub(crate) fn insert(&mut self, client_id: u64, session: Session) -> bool {
        if let Some(owner) = self.by_index.get(&session.last_index) {
            if *owner != client_id {
                return false;
            }
        }
        if let Some(old) = self.by_client.get(&client_id) {
            self.by_index.remove(&old.last_index);
        }
        self.by_index.insert(session.last_index, client_id);
        self.by_client.insert(client_id, session);
        true
    }

    /// Drop the least recently touched sessions until the bound holds.
    pub(crate) fn evict(&mut self) {
        while self.by_client.len() > self.sessions_max {
            let Some((_, client_id)) = self.by_index.pop_first() else {
                break;
            };
            self.by_client.remove(&client_id);
        }
        assert_eq!(
            self.by_client.len(),
            self.by_index.len(),
            "Sessions: tables diverged"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_client_must_start_at_seq_one() {
        let s = Sessions::new(4);
        assert_eq!(s.admit(7, 1), Admission::Apply);
        assert!(matches!(
            s.admit(7, 2),
            Admission::Refuse(KvError::SessionUnknown {
                client_id: 7,
                seq: 2
            })
        ));
    }

    #[test]
    fn a_duplicate_replays_and_an_older_seq_is_stale() {
        let mut s = Sessions::new(4);
        s.record(10, 7, 3, Some(Reply::Int(5)));
        assert_eq!(s.admit(7, 3), Admission::Replay(Reply::Int(5)));
        assert!(matches!(
            s.admit(7, 2),
            Admission::Refuse(KvError::Stale { last_seq: 3, .. })
        ));
        assert_eq!(s.admit(7, 4), Admission::Apply);
    }

    #[test]
    fn a_duplicate_read_is_read_again_rather_than_replayed() {
        let mut s = Sessions::new(4);
        s.record(10, 7, 3, None);
        assert_eq!(s.admit(7, 3), Admission::Apply);
    }

    #[test]
    fn the_least_recently_touched_client_is_evicted_first() {
        let mut s = Sessions::new(2);
        s.record(1, 100, 1, Some(Reply::ok()));
        s.record(2, 200, 1, Some(Reply::ok()));
        s.touch(3, 100);
        s.record(4, 300, 1, Some(Reply::ok()));
        assert_eq!(s.len(), 2);
        let clients: Vec<u64> = s.iter().map(|(c, _)| *c).collect();
        assert_eq!(clients, vec![100, 300]);
    }

    #[test]
    fn inserting_a_session_at_an_index_another_owns_is_refused() {
        let mut s = Sessions::new(4);
        s.record(5, 1, 1, Some(Reply::ok()));
        let clash = Session {
            seq: 1,
            reply: None,
            last_index: 5,
        };
        assert!(!s.insert(2, clash));
        assert_eq!(s.len(), 1);
    }
}
