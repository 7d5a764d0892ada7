//! Phase 1, once per leader for every open slot: Prepare, Promise and the Nack that refuses
//! a ballot ("Paxos Made Simple" §2.2 phase 1 (a), (b); PMMC §3 "Scout"). Handled in
//! acceptor.rs (Prepare) and candidate.rs (Promise, Nack).
//!
//! ```text
//!   candidate ── Prepare{ballot=b from=s} ─────────────────────────────► acceptor
//!             ◄─ Promise{ballot=b from=s snap=k accepted=[..] more=m} ── promised ≤ b: now b
//!             ◄─ Nack{ballot=b promised=p} ───────────────────────────── promised p > b
//!   more=m: the page was full (promise_entries_max); ask again with Prepare{ballot=b from=m}
//! ```

use std::fmt;

use crate::ballot::{Ballot, PValue, Slot};

/// Promise not to accept anything below `ballot`, and tell me what you accepted from
/// `from_slot` on (phase 1a). One Prepare covers every slot: Multi-Paxos's saving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepare {
    /// The candidate's ballot.
    pub ballot: Ballot,
    /// The first slot the candidate does not know to be chosen: earlier ones it need not hear
    /// about (and a later page of the same promise starts further on).
    pub from_slot: Slot,
}

/// The acceptor's promise (phase 1b), with the pvalues it accepted in slots `from_slot` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promise {
    /// The ballot promised.
    pub ballot: Ballot,
    /// The `from_slot` of the Prepare this answers, so a page is matched to its request.
    pub from_slot: Slot,
    /// The acceptor's snapshot slot: it dropped its pvalues through there, so those slots are
    /// chosen, and the candidate must learn them (CatchUp) rather than fill them with no-ops.
    pub snapshot_slot: Slot,
    /// Every pvalue the acceptor holds in slots `from_slot..more`, in slot order; at most
    /// `promise_entries_max` of them.
    pub accepted: Vec<PValue>,
    /// `Some(slot)` when the page was full: the acceptor holds more pvalues from `slot` on.
    pub more: Option<Slot>,
}

/// A refusal: the acceptor promised `promised`, above the `ballot` it was asked about. The
/// sender of `ballot` is preempted: it steps down (PMMC §3 "preempted").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    /// The ballot refused.
    pub ballot: Ballot,
    /// The higher ballot the acceptor holds.
    pub promised: Ballot,
}

impl fmt::Display for Prepare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Prepare{{ballot={} from={}}}",
            self.ballot, self.from_slot
        )
    }
}

impl fmt::Display for Promise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Promise {
            ballot,
            from_slot,
            snapshot_slot,
            accepted,
            more,
        } = self;
        write!(
            f,
            "Promise{{ballot={ballot} from={from_slot} snap={snapshot_slot} accepted=["
        )?;
        for (k, pv) in accepted.iter().enumerate() {
            let sep = if k == 0 { "" } else { " " };
            write!(f, "{sep}{pv}")?;
        }
        f.write_str("]")?;
        if let Some(m) = more {
            write!(f, " more={m}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Display for Nack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Nack{{ballot={} promised={}}}",
            self.ballot, self.promised
        )
    }
}
