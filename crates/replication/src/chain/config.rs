//! The knobs of one chain node (replica or master), and the checks that keep them safe.
//!
//! ```text
//!   master ─┐ (a separate node: the configuration authority, §3)
//!           ▼
//!   chain:  n1 ──► n2 ──► n3          spares: n4        epoch 1 is `chain`, as written here
//!          head   middle   tail                         spares join at the tail later
//!
//!   time, in each node's own ticks:
//!     replica ── Heartbeat ──► master   every heartbeat_interval_ticks
//!     replica ◄─ HeartbeatAck ─ master  lease: reads allowed until sent_tick + read_lease_ticks
//!     master: a member silent for failure_timeout_ticks is removed from the chain
//!
//!     failure_timeout_ticks ≥ 2 × read_lease_ticks    (so a removed node's lease has lapsed
//!                                                     before its successor takes over, even
//!                                                     if its clock runs at half the master's)
//! ```
//!
//! Invariants `validate` enforces: `id` is the master or a replica; the master is no replica;
//! `chain` is non-empty; no node is listed twice; `0 < heartbeat < lease`,
//! `failure_timeout ≥ 2 × lease`; every bound at least 1; `craq-dirty-read` only in CRAQ mode.

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::{NodeId, Tick};

/// How reads are served: the only difference between chain replication and CRAQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Chain replication (OSDI '04 §2): reads only at the tail, which holds exactly the
    /// committed writes.
    #[default]
    Chain,
    /// CRAQ (ATC '09 §2.3): reads at any member; a key whose newest version is dirty costs a
    /// version query to the tail.
    Craq,
}

/// Correct chain replication, or one deliberately broken rule, so the simulator and the tests
/// can show what the rule protects. Never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// The papers' rules everywhere.
    #[default]
    Correct,
    /// Deliberately unsafe: the head answers a put `Ok` as soon as it has stored it, before
    /// the rest of the chain has it. A read at the tail can then miss a write a client was
    /// told is done: linearizability (real-time order) fails with no fault at all.
    AckAtHead,
    /// Deliberately unsafe (CRAQ mode only): a read at a node whose newest version is dirty
    /// returns that dirty version instead of asking the tail (ATC '09 §2.3 asks). A later read
    /// at the tail can then return the older value: the reads go back in time.
    CraqDirtyRead,
}

/// The configuration of one node. Build it with [`Config::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node: the master or one of the replicas.
    pub id: NodeId,
    /// The configuration authority (§3): detects failures and hands out chains with epochs.
    pub master: NodeId,
    /// The chain of epoch 1, head first. Every node starts from it, so no boot round is needed.
    pub chain: Vec<NodeId>,
    /// Replicas outside the first chain. The master adds one at the tail (with a state
    /// transfer) when it hears from it; a removed replica that comes back rejoins the same way.
    pub spares: Vec<NodeId>,
    /// Chain replication or CRAQ.
    pub mode: Mode,
    /// Correct, or one deliberately broken teaching variant.
    pub variant: Variant,
    /// How often a replica tells the master it is alive.
    pub heartbeat_interval_ticks: Tick,
    /// How long after sending a heartbeat the master acknowledged a replica may serve reads.
    /// The lease is what stops a replica the master gave up on from answering with old data.
    pub read_lease_ticks: Tick,
    /// How long the master waits, without a heartbeat, before removing a member.
    pub failure_timeout_ticks: Tick,
    /// How long a replica waits for an ack (or a chunk acknowledgement) before resending its
    /// Sent list (or the chunk): the papers assume reliable FIFO links; the simulator loses
    /// and reorders messages.
    pub resend_interval_ticks: Tick,
    /// How long a CRAQ read waits for the tail's version reply before answering `Unavailable`.
    pub read_timeout_ticks: Tick,
    /// At most this many writes in flight (the head's Sent list): beyond it the head refuses
    /// puts. Every Sent list is a suffix of the head's, so this bounds them all.
    pub sent_max: usize,
    /// At most this many keys in the store: a put of a new key beyond it is refused.
    pub keys_max: usize,
    /// At most this many reads waiting for a version reply at one node.
    pub pending_reads_max: usize,
    /// At most this many keys in one state-transfer chunk.
    pub chunk_keys_max: usize,
}

impl Config {
    /// A configuration with the default timeouts and bounds, chain replication, correct.
    pub fn new(id: NodeId, master: NodeId, chain: Vec<NodeId>) -> Config {
        Config {
            id,
            master,
            chain,
            spares: Vec::new(),
            mode: Mode::Chain,
            variant: Variant::Correct,
            heartbeat_interval_ticks: 2,
            read_lease_ticks: 6,
            failure_timeout_ticks: 16,
            resend_interval_ticks: 8,
            read_timeout_ticks: 10,
            sent_max: 64,
            keys_max: 1024,
            pending_reads_max: 256,
            chunk_keys_max: 16,
        }
    }

    /// Every replica: the first chain, then the spares.
    pub fn replicas(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.chain.iter().chain(&self.spares).copied()
    }

    /// Is `node` a replica (in the first chain or a spare)?
    pub fn is_replica(&self, node: NodeId) -> bool {
        self.replicas().any(|r| r == node)
    }

    /// Reject configurations that are unsafe or cannot make progress, saying which field and
    /// why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_nodes()?;
        self.validate_timeouts()?;
        self.validate_bounds()?;
        if self.variant == Variant::CraqDirtyRead && self.mode != Mode::Craq {
            return Err(ConfigError::new(
                "variant craq-dirty-read needs mode craq: in chain mode reads happen only at \
                 the tail, where no version is ever dirty",
            ));
        }
        Ok(())
    }

    fn validate_nodes(&self) -> Result<(), ConfigError> {
        if self.chain.is_empty() {
            return Err(ConfigError::new(
                "chain is empty: epoch 1 needs a head and a tail",
            ));
        }
        let replicas: Vec<NodeId> = self.replicas().collect();
        let unique: BTreeSet<NodeId> = replicas.iter().copied().collect();
        if unique.len() != replicas.len() {
            return Err(ConfigError::new(format!(
                "chain {:?} and spares {:?} list a replica twice: a node would forward to itself",
                self.chain, self.spares
            )));
        }
        if unique.contains(&self.master) {
            return Err(ConfigError::new(format!(
                "master {} is also a replica: the authority that removes failed replicas must \
                 not be one of them (it would have to remove itself)",
                self.master
            )));
        }
        if self.id != self.master && !unique.contains(&self.id) {
            return Err(ConfigError::new(format!(
                "id {} is neither the master {} nor a replica",
                self.id, self.master
            )));
        }
        Ok(())
    }

    fn validate_timeouts(&self) -> Result<(), ConfigError> {
        let named = [
            ("heartbeat_interval_ticks", self.heartbeat_interval_ticks),
            ("resend_interval_ticks", self.resend_interval_ticks),
            ("read_timeout_ticks", self.read_timeout_ticks),
        ];
        for (name, ticks) in named {
            if ticks == 0 {
                return Err(ConfigError::new(format!("{name} is 0: must be at least 1")));
            }
        }
        let (beat, lease) = (self.heartbeat_interval_ticks, self.read_lease_ticks);
        if lease <= beat {
            return Err(ConfigError::new(format!(
                "read_lease_ticks ({lease}) must exceed heartbeat_interval_ticks ({beat}): \
                 otherwise a lease lapses between two heartbeats and reads stop on a healthy chain"
            )));
        }
        let timeout = self.failure_timeout_ticks;
        if timeout < 2 * lease {
            return Err(ConfigError::new(format!(
                "failure_timeout_ticks ({timeout}) must be at least twice read_lease_ticks \
                 ({lease}): the master may only replace a silent node once its read lease has \
                 lapsed, even if that node's clock runs at half the master's speed; otherwise a \
                 removed tail still answers reads while its successor takes new writes"
            )));
        }
        Ok(())
    }

    fn validate_bounds(&self) -> Result<(), ConfigError> {
        let bounds = [
            ("sent_max", self.sent_max),
            ("keys_max", self.keys_max),
            ("pending_reads_max", self.pending_reads_max),
            ("chunk_keys_max", self.chunk_keys_max),
        ];
        for (name, value) in bounds {
            if value == 0 {
                return Err(ConfigError::new(format!(
                    "{name} is 0: must be at least 1 or nothing ever gets through"
                )));
            }
        }
        Ok(())
    }
}

/// Why a configuration was rejected: the field and the reason, in one sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The explanation, naming the field.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(reason: impl Into<String>) -> ConfigError {
        ConfigError {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid chain config: {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Chain => "chain",
            Mode::Craq => "craq",
        })
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Correct => "correct",
            Variant::AckAtHead => "ack-at-head",
            Variant::CraqDirtyRead => "craq-dirty-read",
        })
    }
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Variant, String> {
        [Variant::Correct, Variant::AckAtHead, Variant::CraqDirtyRead]
            .into_iter()
            .find(|v| v.to_string() == s)
            .ok_or_else(|| {
                format!("variant `{s}`: expected correct, ack-at-head or craq-dirty-read")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Config {
        Config::new(NodeId(1), NodeId(9), (1..=3).map(NodeId).collect())
    }

    fn rejected_with(c: &Config, words: &str) -> bool {
        match c.validate() {
            Err(e) => e.reason.contains(words),
            Ok(()) => false,
        }
    }

    #[test]
    fn the_default_configuration_is_valid() {
        assert_eq!(three().validate(), Ok(()));
        let master = Config {
            id: NodeId(9),
            ..three()
        };
        assert_eq!(master.validate(), Ok(()));
    }

    #[test]
    fn validate_refuses_a_failure_timeout_shorter_than_two_leases_and_says_why() {
        let mut c = three();
        c.failure_timeout_ticks = 2 * c.read_lease_ticks - 1;
        assert!(rejected_with(&c, "removed tail still answers reads"));
        c.failure_timeout_ticks = 2 * c.read_lease_ticks;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn validate_refuses_a_lease_that_lapses_between_heartbeats() {
        let mut c = three();
        c.read_lease_ticks = c.heartbeat_interval_ticks;
        assert!(rejected_with(&c, "lapses between two heartbeats"));
    }

    #[test]
    fn validate_refuses_a_master_that_is_also_a_replica() {
        let mut c = three();
        c.master = NodeId(2);
        assert!(rejected_with(&c, "must not be one of them"));
    }

    #[test]
    fn validate_refuses_duplicates_empty_chains_strangers_and_zero_bounds() {
        let mut c = three();
        c.spares = vec![NodeId(3)];
        assert!(rejected_with(&c, "list a replica twice"));
        let mut c = three();
        c.chain.clear();
        assert!(rejected_with(&c, "chain is empty"));
        let mut c = three();
        c.id = NodeId(7);
        assert!(rejected_with(&c, "neither the master"));
        let mut c = three();
        c.sent_max = 0;
        assert!(rejected_with(&c, "sent_max is 0"));
    }

    #[test]
    fn the_dirty_read_variant_is_refused_outside_craq_mode() {
        let mut c = three();
        c.variant = Variant::CraqDirtyRead;
        assert!(rejected_with(&c, "needs mode craq"));
        c.mode = Mode::Craq;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn variants_parse_from_their_printed_names() {
        for v in [Variant::Correct, Variant::AckAtHead, Variant::CraqDirtyRead] {
            assert_eq!(v.to_string().parse::<Variant>(), Ok(v));
        }
        assert!("ack-at-tail".parse::<Variant>().is_err());
    }
}
