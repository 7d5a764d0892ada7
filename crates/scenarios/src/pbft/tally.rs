//! The bare host's state machine: a tally of the executed ops, small enough to read in one
//! screen, deterministic enough that honest replicas checkpoint identical bytes.
//!
//! ```text
//!   Execute{seq, request} ──► seq = seq, executed += 1,
//!                              history = SHA-256("Tally" ‖ history ‖ seq ‖ op)
//!                              replies[client] = (timestamp, seq, digest)     the reply cache
//!   Skipped{seq}          ──► seq = seq                      (a null request, a duplicate)
//!   snapshot()            ──► seq ‖ executed ‖ history ‖ #replies ‖ (client ts seq digest)*
//!   decode(bytes)         ──► the same Tally, or an error naming what is wrong
//! ```
//!
//! Why a reply cache in the state: PBFT keeps each client's last reply so that a
//! retransmitted request is answered again, not executed again (OSDI §4.1), and it is part of
//! the checkpointed state (TOCS §5.3), so a replica that caught up by state transfer, having
//! executed nothing, can still answer. The view a reply names is not in it: two honest
//! replicas may have committed one seq in different views, and the state must be the same.
//!
//! Invariants (asserted): seqs come one by one; the cache holds at most
//! [`REPLY_CACHE_CLIENTS_MAX`] clients, forgetting the one whose reply is oldest.

use std::collections::BTreeMap;

use bytes::Bytes;
use pbft::{Digest, DigestBuilder, Request, Seq};

/// Most clients the reply cache remembers (a bound on the state).
pub const REPLY_CACHE_CLIENTS_MAX: usize = 4096;

/// Bytes of the fixed part of a snapshot: seq, executed, history, entry count.
const HEADER_BYTES: usize = 8 + 8 + 32 + 4;
/// Bytes of one reply-cache entry: client, timestamp, seq, digest.
const ENTRY_BYTES: usize = 8 + 8 + 8 + 32;

/// The last request of one client this state executed (the reply cache, §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachedReply {
    /// The client's timestamp of that request.
    pub timestamp: u64,
    /// The seq it executed at.
    pub seq: Seq,
    /// Its digest, to tell a retransmission from another request with the same timestamp.
    pub digest: Digest,
}

/// The executed ops as a count and a running digest, and the reply cache.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// The last seq applied (executed or skipped).
    seq: Seq,
    /// Requests executed (skips not counted).
    executed: u64,
    /// SHA-256 chained over every executed (seq, op): equal digests, equal histories.
    history: Digest,
    /// Each client's last executed request.
    replies: BTreeMap<u64, CachedReply>,
}

impl Tally {
    /// The last seq applied.
    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// Requests executed.
    pub fn executed(&self) -> u64 {
        self.executed
    }

    /// The cached reply for `client`'s request, if this is the last one it executed.
    pub fn cached(&self, request: &Request) -> Option<CachedReply> {
        self.replies
            .get(&request.client)
            .filter(|r| r.timestamp == request.timestamp && r.digest == request.digest())
            .copied()
    }

    /// Apply `request` at `seq`.
    pub fn execute(&mut self, seq: Seq, request: &Request) {
        self.advance(seq);
        self.executed += 1;
        let mut b = DigestBuilder::new("Tally");
        b.digest(&self.history).u64(seq).bytes(&request.op);
        self.history = b.finish();
        let reply = CachedReply {
            timestamp: request.timestamp,
            seq,
            digest: request.digest(),
        };
        self.replies.insert(request.client, reply);
        if self.replies.len() > REPLY_CACHE_CLIENTS_MAX {
            let oldest = self
                .replies
                .iter()
                .min_by_key(|(client, r)| (r.seq, **client))
                .map(|(client, _)| *client)
                .expect("over the bound, so not empty");
            self.replies.remove(&oldest);
        }
    }

    /// Move past `seq` without applying anything.
    pub fn skip(&mut self, seq: Seq) {
        self.advance(seq);
    }

    fn advance(&mut self, seq: Seq) {
        assert_eq!(seq, self.seq + 1, "the tally applies seqs one by one");
        self.seq = seq;
    }

    /// The state as bytes: the same tally gives the same bytes on every replica.
    pub fn snapshot(&self) -> Bytes {
        let mut b = Vec::with_capacity(HEADER_BYTES + ENTRY_BYTES * self.replies.len());
        b.extend_from_slice(&self.seq.to_le_bytes());
        b.extend_from_slice(&self.executed.to_le_bytes());
        b.extend_from_slice(&self.history.0);
        b.extend_from_slice(&(self.replies.len() as u32).to_le_bytes());
        for (client, r) in &self.replies {
            b.extend_from_slice(&client.to_le_bytes());
            b.extend_from_slice(&r.timestamp.to_le_bytes());
            b.extend_from_slice(&r.seq.to_le_bytes());
            b.extend_from_slice(&r.digest.0);
        }
        Bytes::from(b)
    }

    /// A tally from [`snapshot`](Tally::snapshot)'s bytes, or what is wrong with them.
    pub fn decode(bytes: &[u8]) -> Result<Tally, String> {
        if bytes.len() < HEADER_BYTES {
            return Err(format!(
                "tally state: {} bytes, the header alone is {HEADER_BYTES}",
                bytes.len()
            ));
        }
        let (header, body) = bytes.split_at(HEADER_BYTES);
        let entries = u32_at(header, 48) as usize;
        if entries > REPLY_CACHE_CLIENTS_MAX || body.len() != entries * ENTRY_BYTES {
            return Err(format!(
                "tally state: {entries} reply-cache entries (at most {REPLY_CACHE_CLIENTS_MAX}) \
                 in {} bytes, expected {}",
                body.len(),
                entries.min(REPLY_CACHE_CLIENTS_MAX) * ENTRY_BYTES
            ));
        }
        let replies = body
            .chunks_exact(ENTRY_BYTES)
            .map(|e| {
                let reply = CachedReply {
                    timestamp: u64_at(e, 8),
                    seq: u64_at(e, 16),
                    digest: digest_at(e, 24),
                };
                (u64_at(e, 0), reply)
            })
            .collect::<BTreeMap<u64, CachedReply>>();
        if replies.len() != entries {
            return Err("tally state: a client is listed twice in the reply cache".into());
        }
        Ok(Tally {
            seq: u64_at(header, 0),
            executed: u64_at(header, 8),
            history: digest_at(header, 16),
            replies,
        })
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes, length checked"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes, length checked"))
}

fn digest_at(b: &[u8], at: usize) -> Digest {
    Digest(b[at..at + 32].try_into().expect("32 bytes, length checked"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(client: u64, timestamp: u64) -> Request {
        Request::new(
            client,
            timestamp,
            format!("op {client}/{timestamp}").into_bytes(),
        )
    }

    #[test]
    fn the_same_ops_give_the_same_bytes_and_the_bytes_give_the_same_tally() {
        let (mut a, mut b) = (Tally::default(), Tally::default());
        for t in [&mut a, &mut b] {
            t.execute(1, &request(1, 1));
            t.skip(2);
            t.execute(3, &request(2, 1));
        }
        assert_eq!(a.snapshot(), b.snapshot());
        assert_eq!(Tally::decode(&a.snapshot()), Ok(a.clone()));
        assert_eq!((a.seq(), a.executed()), (3, 2));
        let mut c = Tally::default();
        c.execute(1, &request(2, 1));
        c.skip(2);
        c.execute(3, &request(1, 1));
        assert_ne!(c.snapshot(), a.snapshot(), "another order, another state");
    }

    #[test]
    fn the_reply_cache_answers_only_the_last_request_of_a_client() {
        // OSDI §4.1: a retransmission of the last request gets the cached reply again.
        let mut t = Tally::default();
        t.execute(1, &request(7, 1));
        t.execute(2, &request(7, 2));
        assert_eq!(t.cached(&request(7, 2)).map(|r| r.seq), Some(2));
        assert_eq!(t.cached(&request(7, 1)), None);
        assert_eq!(t.cached(&Request::new(7, 2, &b"another op"[..])), None);
    }

    #[test]
    fn bad_bytes_are_an_error_naming_what_is_wrong() {
        let err = Tally::decode(&[0; 10]).unwrap_err();
        assert!(err.contains("the header alone is 52"), "{err}");
        let mut t = Tally::default();
        t.execute(1, &request(1, 1));
        let bytes = t.snapshot();
        let err = Tally::decode(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(err.contains("1 reply-cache entries"), "{err}");
    }
}
