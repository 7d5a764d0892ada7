//! The knobs of one PBFT replica, and the checks that keep them safe (PBFT §4.1, §4.3).
//!
//! ```text
//!   n = |replicas| = 3f + 1          quorum = 2f + 1          f = (n − 1) / 3
//!
//!   seq:  h ─────────── h+K ─────────── h+2K ─── … ─── h+L
//!         ▲ low watermark = last stable checkpoint     ▲ high watermark: the primary
//!           (moves only to a stable checkpoint)          assigns no seq beyond it
//! ```
//!
//! Invariants `validate` enforces: n ≥ 4 and n = 3f+1 (with more replicas than 3f+1 the extra
//! ones only cost messages, and quorums sized for f would not intersect as the proofs assume);
//! replicas unique and `id` among them; K ≥ 1 and L ≥ K (or the log fills before any checkpoint
//! can become stable: a stall); every timeout and bound at least 1.

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::{NodeId, Tick};

use crate::message::{Seq, View};

/// Correct PBFT, or one deliberately broken rule, for the simulator to catch. Never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// The paper's rules everywhere.
    #[default]
    Correct,
    /// Deliberately unsafe: committed-local with 2f matching commits instead of 2f+1 (§4.2).
    /// Then only 2f replicas (f+… of them possibly faulty) need to have prepared a committed
    /// request, and a view-change quorum of 2f+1 can miss every honest one that did: with a
    /// Byzantine replica sending the extra commit and lying in its view change, the new
    /// primary assigns another request to that seq. A simulator with f Byzantine nodes
    /// catches it as two honest replicas executing different requests at one seq.
    CommitQuorum2f,
    /// Deliberately unsafe: a replica's ViewChange omits its prepared certificates (the
    /// paper's P, §4.4), so the new primary sees no request at a seq some honest replica
    /// already committed and executed, fills it with a null request or a new one, and the
    /// replicas disagree at that seq. Needs no Byzantine node at all: a commit that reached
    /// one replica before the primary failed is enough (tests/view_change.rs shows it).
    ViewChangeDropsPrepared,
}

/// The configuration of one replica. Build it with [`Config::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// This replica.
    pub id: NodeId,
    /// Every replica, in the order that names primaries: view v's primary is
    /// `replicas[v mod n]` (§4.1). Every replica must be given the same list.
    pub replicas: Vec<NodeId>,
    /// The dealer's seed every replica's key is derived from (auth.rs). In a real deployment
    /// this is a PKI; here every replica gets the same seed and uses only its own key.
    pub key_seed: u64,
    /// K: a checkpoint every K executed requests (§4.3).
    pub checkpoint_interval: Seq,
    /// L: the watermark window, h < seq ≤ h + L (§4.2). Bounds the log, and how far a faulty
    /// primary can exhaust sequence numbers.
    pub log_window: Seq,
    /// How long a backup waits for a request it knows of to execute before suspecting the
    /// primary and starting a view change (§4.4). Also the first wait for a NewView; each
    /// view change that follows without progress doubles it.
    pub request_timeout_ticks: Tick,
    /// At most this many doublings of the timeout: bounds the wait (the paper doubles without
    /// end; with a bound, a view change is retried at most this slowly).
    pub timeout_doublings_max: u32,
    /// At most this many client requests wait on one replica (queued at a primary, or watched
    /// by a backup's timer). Beyond it a request is refused with a note.
    pub requests_pending_max: usize,
    /// At most this many pre-prepares a primary sends in one call: the batch bound.
    pub pre_prepares_per_call_max: usize,
    /// At most this many clients in the client table (last executed timestamp per client, for
    /// exactly-once). Beyond it the client whose last request is oldest is forgotten.
    pub clients_max: usize,
    /// The largest request op accepted, in bytes.
    pub request_bytes_max: usize,
    /// The largest checkpoint state accepted in a StateTransfer, in bytes.
    pub state_bytes_max: usize,
    /// How many views ahead of its own a replica keeps view-change messages for: bounds the
    /// memory a faulty replica can fill with view changes for far-future views.
    pub views_ahead_max: View,
    /// Every this many ticks a replica resends what its peers may have lost: its own
    /// pre-prepares, prepares and commits in the window, its latest checkpoint, its view
    /// change (retransmit.rs; TOCS §5.2). Shorter than `request_timeout_ticks`, or a lost
    /// message costs a view change before it is resent.
    pub retransmit_ticks: Tick,
    /// At most this many messages resent in one round (and as answers to duplicates between
    /// rounds): the bound on what retransmission adds to the traffic.
    pub retransmits_per_round_max: usize,
    /// Correct, or one deliberately broken variant.
    pub variant: Variant,
}

impl Config {
    /// A configuration with the defaults: K = 16, L = 2K (the paper's suggestion), 20-tick
    /// request timeout, a retransmission round every 2 ticks.
    pub fn new(id: NodeId, replicas: Vec<NodeId>, key_seed: u64) -> Config {
        Config {
            id,
            replicas,
            key_seed,
            checkpoint_interval: 16,
            log_window: 32,
            request_timeout_ticks: 20,
            timeout_doublings_max: 6,
            requests_pending_max: 1024,
            pre_prepares_per_call_max: 64,
            clients_max: 1 << 16,
            request_bytes_max: 1 << 20,
            state_bytes_max: 1 << 30,
            views_ahead_max: 16,
            retransmit_ticks: 2,
            retransmits_per_round_max: 64,
            variant: Variant::Correct,
        }
    }

    /// n: the number of replicas.
    pub fn n(&self) -> usize {
        self.replicas.len()
    }
    /// f: the number of faulty replicas tolerated, (n − 1) / 3.
    pub fn f(&self) -> usize {
        (self.n().saturating_sub(1)) / 3
    }
    /// 2f + 1: any two such quorums share f+1 replicas, so at least one honest one.
    pub fn quorum(&self) -> usize {
        2 * self.f() + 1
    }
    /// The primary of view `view` (§4.1).
    pub fn primary(&self, view: View) -> NodeId {
        self.replicas[(view % self.n() as u64) as usize]
    }

    /// Reject configurations that are unsafe or cannot make progress, saying which field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let n = self.n();
        if n < 4 {
            return Err(ConfigError::new(format!(
                "replicas: {n} replicas tolerate no Byzantine fault; PBFT needs n = 3f+1 ≥ 4"
            )));
        }
        let f = self.f();
        if n != 3 * f + 1 {
            return Err(ConfigError::new(format!(
                "replicas: n = {n} is not 3f+1 (f = {f} needs exactly {}); quorums of 2f+1 are \
                 sized for that",
                3 * f + 1
            )));
        }
        let unique: BTreeSet<NodeId> = self.replicas.iter().copied().collect();
        if unique.len() != n {
            return Err(ConfigError::new(
                "replicas: a replica is listed twice".into(),
            ));
        }
        if !unique.contains(&self.id) {
            return Err(ConfigError::new(format!(
                "id: {} is not one of the replicas",
                self.id
            )));
        }
        self.validate_bounds()
    }

    fn validate_bounds(&self) -> Result<(), ConfigError> {
        if self.checkpoint_interval == 0 {
            return Err(ConfigError::new("checkpoint_interval: must be ≥ 1".into()));
        }
        if self.log_window < self.checkpoint_interval {
            return Err(ConfigError::new(format!(
                "log_window: {} < checkpoint_interval {}: the log would fill before a checkpoint \
                 could become stable and move the low watermark",
                self.log_window, self.checkpoint_interval
            )));
        }
        if self.log_window > 1 << 20 {
            return Err(ConfigError::new(format!(
                "log_window: {} is over 2^20: a view change carries up to that many certificates",
                self.log_window
            )));
        }
        let ones = [
            ("request_timeout_ticks", self.request_timeout_ticks as usize),
            ("requests_pending_max", self.requests_pending_max),
            ("pre_prepares_per_call_max", self.pre_prepares_per_call_max),
            ("clients_max", self.clients_max),
            ("request_bytes_max", self.request_bytes_max),
            ("state_bytes_max", self.state_bytes_max),
            ("views_ahead_max", self.views_ahead_max as usize),
            ("retransmit_ticks", self.retransmit_ticks as usize),
            ("retransmits_per_round_max", self.retransmits_per_round_max),
        ];
        for (name, value) in ones {
            if value == 0 {
                return Err(ConfigError::new(format!("{name}: must be ≥ 1")));
            }
        }
        if self.timeout_doublings_max > 20 {
            return Err(ConfigError::new(
                "timeout_doublings_max: over 20 doublings the timeout overflows any use".into(),
            ));
        }
        Ok(())
    }
}

/// Why a configuration (or a disk) was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// What is wrong, naming the field.
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: String) -> ConfigError {
        ConfigError { message }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid pbft config: {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(n: u64) -> Config {
        Config::new(NodeId(1), (1..=n).map(NodeId).collect(), 0)
    }

    #[test]
    fn fewer_than_four_replicas_are_refused() {
        let err = config(3).validate().unwrap_err().to_string();
        assert!(err.contains("n = 3f+1 ≥ 4"), "{err}");
    }

    #[test]
    fn n_other_than_3f_plus_1_is_refused() {
        let err = config(5).validate().unwrap_err().to_string();
        assert!(err.contains("n = 5 is not 3f+1"), "{err}");
        assert!(config(4).validate().is_ok());
        assert!(config(7).validate().is_ok());
        assert_eq!(config(7).f(), 2);
        assert_eq!(config(7).quorum(), 5);
    }

    #[test]
    fn a_window_smaller_than_the_checkpoint_interval_is_refused() {
        let mut c = config(4);
        c.log_window = c.checkpoint_interval - 1;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("log_window"), "{err}");
    }

    #[test]
    fn a_retransmission_round_of_zero_ticks_is_refused() {
        let mut c = config(4);
        c.retransmit_ticks = 0;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("retransmit_ticks"), "{err}");
    }

    #[test]
    fn the_primary_rotates_with_the_view() {
        let c = config(4);
        assert_eq!(c.primary(0), NodeId(1));
        assert_eq!(c.primary(5), NodeId(2));
    }
}
