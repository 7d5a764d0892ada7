//! Validity: only requests a client sent may enter the log (Lamport, Paxos Made Simple §2.1:
//! "only a value that has been proposed may be chosen"; Castro & Liskov §4: replicas execute
//! only requests their clients issued).
//!
//! ```text
//!   KvClients ──every request it sends, encoded──► SentRequests (shared)
//!   honest node persists an entry (Accept / Committed write)
//!        └──► the entry's request bytes ∈ SentRequests ?   else: violation, naming node and write
//! ```
//!
//! Checked on writes, not on applied state: a write is what a replica vouches for on disk, so
//! an entry nobody sent is caught where it enters, before any reply can depend on it. Which
//! writes carry entries, and where the request sits inside one, is the protocol's business:
//! each adapter passes an [`EntryOf`] (paxos-kv: every accepted command; pbft-kv: every
//! committed request, after the client's tag). Byzantine nodes are not looked at: what they
//! write proves nothing.
//!
//! The request bytes include the receiving host's time stamp, so one op sent to two nodes is
//! two entries in the set; both are the client's. Raft-kv does not use this check: its log
//! also carries entries its leaders make on their own (no-ops, active expiry, membership),
//! which the Raft invariants and the history check already cover.
//!
//! State: every request sent in one run (bounded by clients × ops × attempts).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use bytes::Bytes;
use distributed_core::{NodeId, Protocol};
use kv::Request;
use sim::hooks::Invariant;
use sim::view::ClusterView;

/// Every request the clients sent in one run, encoded as a replica encodes it.
#[derive(Clone, Debug, Default)]
pub(crate) struct SentRequests(Rc<RefCell<BTreeSet<Bytes>>>);

impl SentRequests {
    /// Remember `request` as sent.
    pub(crate) fn record(&self, request: &Request) {
        self.0.borrow_mut().insert(request.encode());
    }

    /// True if a client sent exactly these bytes.
    pub(crate) fn contains(&self, encoded: &[u8]) -> bool {
        self.0.borrow().contains(encoded)
    }

    /// How many distinct requests were sent.
    pub(crate) fn len(&self) -> usize {
        self.0.borrow().len()
    }
}

/// Where a write carries a client entry: the request's encoded bytes, or `None` for a write
/// with no client entry (a promise, a view, a null request, a no-op, a snapshot).
pub(crate) type EntryOf<W> = fn(&W) -> Option<Bytes>;

/// The validity invariant over a protocol whose writes are `W` (see the module docs).
pub(crate) struct ClientValidity<W> {
    /// What the clients sent.
    sent: SentRequests,
    /// Nodes whose writes prove nothing.
    byzantine: BTreeSet<NodeId>,
    /// Finds the entry in a write.
    entry_of: EntryOf<W>,
    /// Entries checked per node, for the report of a violation.
    checked: BTreeMap<NodeId, u64>,
}

impl<W> ClientValidity<W> {
    /// Check every honest node's entries against `sent`.
    pub(crate) fn new(
        sent: SentRequests,
        byzantine: BTreeSet<NodeId>,
        entry_of: EntryOf<W>,
    ) -> Self {
        ClientValidity {
            sent,
            byzantine,
            entry_of,
            checked: BTreeMap::new(),
        }
    }

    /// Judge one write of `node`.
    fn judge(&mut self, node: NodeId, write: &W) -> Result<(), String> {
        if self.byzantine.contains(&node) {
            return Ok(());
        }
        let Some(entry) = (self.entry_of)(write) else {
            return Ok(());
        };
        let checked = self.checked.entry(node).or_default();
        *checked += 1;
        if self.sent.contains(&entry) {
            return Ok(());
        }
        let shown = match Request::decode(&entry, &kv::Limits::default()) {
            Ok(r) => format!("{r}"),
            Err(e) => format!("{} bytes that do not decode ({e})", entry.len()),
        };
        Err(format!(
            "honest {node} persisted an entry no client sent: {shown} (its entry #{checked}; \
             the clients sent {} distinct requests)",
            self.sent.len()
        ))
    }
}

impl<P: Protocol> Invariant<P> for ClientValidity<P::Write> {
    fn name(&self) -> &str {
        "validity"
    }

    fn on_write(&mut self, node: NodeId, write: &P::Write) -> Result<(), String> {
        self.judge(node, write)
    }

    fn check(&mut self, _view: &ClusterView<P>) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft_kv::ops;

    /// A protocol-free stand-in: a write is the entry itself, empty for "no entry".
    fn entry_of(write: &Bytes) -> Option<Bytes> {
        (!write.is_empty()).then(|| write.clone())
    }

    fn request(seq: u64, key: &str) -> Request {
        Request {
            client_id: 1,
            seq,
            time_ms: 0,
            body: kv::Body::One(ops::command(&["SET", key, "v"])),
        }
    }

    fn judge(
        sent: &SentRequests,
        byzantine: &[NodeId],
        node: NodeId,
        write: &Bytes,
    ) -> Result<(), String> {
        let byzantine = byzantine.iter().copied().collect();
        ClientValidity::new(sent.clone(), byzantine, entry_of).judge(node, write)
    }

    #[test]
    fn an_entry_a_client_sent_is_valid_and_one_it_did_not_send_is_a_violation() {
        let sent = SentRequests::default();
        sent.record(&request(1, "a"));
        assert_eq!(
            judge(&sent, &[], NodeId(1), &request(1, "a").encode()),
            Ok(())
        );
        let forged = judge(&sent, &[], NodeId(1), &request(1, "b").encode()).unwrap_err();
        assert!(forged.contains("no client sent"), "{forged}");
        assert!(forged.contains("n1"), "{forged}");
    }

    #[test]
    fn writes_without_an_entry_and_byzantine_writes_are_not_judged() {
        let sent = SentRequests::default();
        assert_eq!(judge(&sent, &[], NodeId(2), &Bytes::new()), Ok(()));
        let forged = request(9, "x").encode();
        assert_eq!(judge(&sent, &[NodeId(3)], NodeId(3), &forged), Ok(()));
        assert!(judge(&sent, &[NodeId(3)], NodeId(2), &forged).is_err());
    }
}
