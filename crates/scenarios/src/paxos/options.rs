//! How to simulate a Multi-Paxos cluster: the knobs, the faults, the broken variants by name.
//!
//! Time scale: Raft's (a tick of about 100 units, messages 5..60 units), and the faults of
//! each profile are exactly Raft's (`raft/options.rs`, `apply_profile`), so the two protocols
//! are measured under the same weather and `--compare` means something.
//!
//! ```text
//!   PaxosSimOptions { nodes, faults, variant, phase1_quorum?, phase2_quorum?, … }
//!      │ sim_config()          ──► SimConfig: Raft's fault profile for `faults`
//!      │ paxos_config(id)      ──► paxos::Config: nodes n1..nN, quorums, variant
//!      └ validate()            ──► both validated; flexible quorums checked by paxos itself
//! ```
//!
//! Flexible quorums (Howard et al. 2016): `--phase1-quorum 4 --phase2-quorum 2` on 5 nodes is
//! safe (4 + 2 > 5) and commits with two acceptors; `paxos::Config::validate` refuses
//! 3 + 2 on 5 and says why. The `small-phase1-quorum` variant is that refusal skipped.

use distributed_core::NodeId;
use paxos::{Config, Variant};

use crate::faults::FaultProfile;
use crate::raft::apply_profile;
use sim::config::{ConfigError, SimConfig, Time, TraceLevel};

/// Parse a Paxos variant as the CLI spells it.
pub fn parse_variant(s: &str) -> Result<Variant, String> {
    match s {
        "correct" => Ok(Variant::Correct),
        "accept-own-value" => Ok(Variant::AcceptOwnValue),
        "small-phase1-quorum" => Ok(Variant::SmallPhase1Quorum),
        _ => Err(format!(
            "unknown paxos variant `{s}`: expected correct|accept-own-value|small-phase1-quorum"
        )),
    }
}

/// Everything a Paxos seed run needs besides the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaxosSimOptions {
    /// Cluster size (`n1..=nN`, every one acceptor, learner and potential leader).
    pub nodes: usize,
    /// Which faults to inject.
    pub faults: FaultProfile,
    /// Correct, or a deliberately broken rule.
    pub variant: Variant,
    /// Phase-1 quorum size; `None`: the paxos default (a majority).
    pub phase1_quorum: Option<usize>,
    /// Phase-2 quorum size; `None`: the paxos default (a majority).
    pub phase2_quorum: Option<usize>,
    /// Simulated time bound.
    pub max_time_units: Time,
    /// Event bound, whatever the time.
    pub max_events: u64,
    /// Trace level; the seed-range runners ignore it.
    pub trace: TraceLevel,
    /// Recent events kept for a violation report.
    pub recent_events: usize,
    /// Mean time between client proposals.
    pub propose_interval_units: Time,
}

impl Default for PaxosSimOptions {
    fn default() -> Self {
        PaxosSimOptions {
            nodes: 5,
            faults: FaultProfile::All,
            variant: Variant::Correct,
            phase1_quorum: None,
            phase2_quorum: None,
            max_time_units: 100_000,
            max_events: 400_000,
            trace: TraceLevel::Off,
            recent_events: 64,
            propose_interval_units: 100,
        }
    }
}

impl PaxosSimOptions {
    /// The Paxos configuration of node `id`.
    pub fn paxos_config(&self, id: NodeId) -> Config {
        let nodes = (1..=self.nodes as u64).map(NodeId).collect();
        let mut c = Config::new(id, nodes);
        c.variant = self.variant;
        if let Some(q) = self.phase1_quorum {
            c.phase1_quorum = q;
        }
        if let Some(q) = self.phase2_quorum {
            c.phase2_quorum = q;
        }
        c
    }

    /// The simulator configuration: Raft's fault profile, on `nodes` slots.
    pub fn sim_config(&self) -> SimConfig {
        let mut c = SimConfig::quiet(self.nodes);
        c.max_time_units = self.max_time_units;
        c.max_events = self.max_events;
        c.trace = self.trace;
        c.recent_events = self.recent_events;
        c.network.delay_units_min = 5;
        c.network.delay_units_max = 30;
        apply_profile(&mut c, self.faults, self.nodes);
        c
    }

    /// Refuse options that cannot be simulated, saying why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.sim_config().validate()?;
        self.paxos_config(NodeId(1))
            .validate()
            .map_err(|e| ConfigError(format!("paxos: {e}")))
    }
}
