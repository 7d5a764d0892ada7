//! How to simulate bare PBFT: the cluster, the Byzantine nodes, the clients, the faults, the
//! broken variants by name.
//!
//! ```text
//!   PbftSimOptions { nodes (3f+1), faults, variant, byzantine?, strategy?, clients, … }
//!      │ sim_config()            ──► SimConfig: Raft's fault profile for `faults`
//!      │ pbft_config(id, seed)   ──► pbft::Config: replicas n1..nN, keys dealt from the seed
//!      │ adversaries(seed)       ──► which nodes are Byzantine, and their strategy
//!      └ validate()              ──► all of the above, and the clients' bounds
//! ```
//!
//! Time scale: Raft's, as for every adapter (a tick of about 100 units, messages 5..60 units),
//! and each profile's faults are exactly Raft's (`raft/options.rs`, `apply_profile`), so the
//! four logs are measured under the same weather. PBFT's own clocks are its defaults
//! (`pbft::Config::new`): a 20-tick request timeout, a retransmission round every 2 ticks,
//! a checkpoint every 16 seqs.
//!
//! Byzantine nodes: B defaults to f when the faults include them (`byzantine`, `all`,
//! `chaos`), else 0; more than f is allowed, to watch the checks fail, but not all n.

use std::collections::BTreeSet;

use distributed_core::NodeId;

use super::adversary::Strategy;
use super::client::CLIENTS_MAX;
use crate::faults::FaultProfile;
use crate::raft::apply_profile;
use sim::config::{ConfigError, SimConfig, Time, TraceLevel};

/// Parse a PBFT variant as the CLI spells it.
pub fn parse_variant(s: &str) -> Result<pbft::Variant, String> {
    match s {
        "correct" => Ok(pbft::Variant::Correct),
        "commit-quorum-2f" => Ok(pbft::Variant::CommitQuorum2f),
        "view-change-drops-prepared" => Ok(pbft::Variant::ViewChangeDropsPrepared),
        _ => Err(format!(
            "unknown pbft variant `{s}`: expected correct|commit-quorum-2f|view-change-drops-prepared"
        )),
    }
}

/// Replica `id`'s configuration in a run of `nodes` replicas for `seed`: PBFT's defaults, the
/// variant, and keys dealt from the seed (every replica gets the same dealer's seed and uses
/// only its own key, auth.rs). Shared by pbft and pbft-kv.
pub fn pbft_config(id: NodeId, nodes: usize, seed: u64, variant: pbft::Variant) -> pbft::Config {
    let replicas = (1..=nodes as u64).map(NodeId).collect();
    let mut c = pbft::Config::new(id, replicas, seed ^ 0x4b45_5953); // "KEYS"
    c.variant = variant;
    c
}

/// Everything a bare PBFT seed run needs besides the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbftSimOptions {
    /// Cluster size: n = 3f+1 replicas, `n1..=nN`.
    pub nodes: usize,
    /// Which faults to inject (Raft's profiles; `byzantine`, `all`, `chaos` add B adversaries).
    pub faults: FaultProfile,
    /// Correct PBFT, or a deliberately broken rule.
    pub variant: pbft::Variant,
    /// Byzantine nodes; `None`: f if the faults include Byzantine nodes, else none.
    pub byzantine: Option<usize>,
    /// Their strategy; `None`: each seed picks one of [`Strategy::ALL`].
    pub strategy: Option<Strategy>,
    /// Simulated clients, each with one request outstanding at a time (§4.1).
    pub clients: usize,
    /// A client waits up to this long between a result and its next request.
    pub think_units_max: Time,
    /// How long a client waits for f+1 matching replies before it sends its request to every
    /// replica (§4.1); again each time this passes.
    pub client_timeout_units: Time,
    /// Clients start no new request in the last this-many units, so most finish.
    pub quiesce_units: Time,
    /// Simulated time bound.
    pub max_time_units: Time,
    /// Event bound, whatever the time.
    pub max_events: u64,
    /// Trace level; the seed-range runners ignore it.
    pub trace: TraceLevel,
    /// Recent events kept for a violation report.
    pub recent_events: usize,
}

impl Default for PbftSimOptions {
    fn default() -> Self {
        PbftSimOptions {
            nodes: 4,
            faults: FaultProfile::All,
            variant: pbft::Variant::Correct,
            byzantine: None,
            strategy: None,
            clients: 5,
            think_units_max: 100,
            client_timeout_units: 1_500,
            quiesce_units: 10_000,
            max_time_units: 100_000,
            max_events: 1_000_000,
            trace: TraceLevel::Off,
            recent_events: 64,
        }
    }
}

impl PbftSimOptions {
    /// f for this cluster size: the most Byzantine nodes PBFT claims to survive.
    pub fn f(&self) -> usize {
        self.nodes.saturating_sub(1) / 3
    }

    /// How many nodes are Byzantine.
    pub fn byzantine_nodes(&self) -> usize {
        let default = match self.faults.has(FaultProfile::Byzantine) {
            true => self.f(),
            false => 0,
        };
        self.byzantine.unwrap_or(default)
    }

    /// Which nodes are Byzantine in `seed`'s run, and what they play (`node.rs`).
    pub fn adversaries(&self, seed: u64) -> (BTreeSet<NodeId>, Strategy) {
        super::node::adversaries(seed, self.nodes, self.byzantine_nodes(), self.strategy)
    }

    /// Replica `id`'s PBFT configuration for `seed`'s run.
    pub fn pbft_config(&self, id: NodeId, seed: u64) -> pbft::Config {
        pbft_config(id, self.nodes, seed, self.variant)
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

    /// When clients stop starting new requests.
    pub fn issue_until(&self) -> Time {
        self.max_time_units.saturating_sub(self.quiesce_units)
    }

    /// Refuse options that cannot be simulated, saying which and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.sim_config().validate()?;
        self.pbft_config(NodeId(1), 0)
            .validate()
            .map_err(|e| ConfigError(format!("pbft: {e}")))?;
        let b = self.byzantine_nodes();
        if b >= self.nodes {
            return Err(ConfigError(format!(
                "--byzantine {b} of {} nodes: at least one must be honest to check anything",
                self.nodes
            )));
        }
        if self.clients == 0 || self.clients > CLIENTS_MAX {
            return Err(ConfigError(format!(
                "clients={} must be in 1..={CLIENTS_MAX}",
                self.clients
            )));
        }
        if self.client_timeout_units == 0 {
            return Err(ConfigError(
                "client_timeout_units must be at least 1: a client resends after it".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_must_be_3f_plus_1_and_one_replica_honest() {
        let five = PbftSimOptions {
            nodes: 5,
            ..PbftSimOptions::default()
        };
        let err = five.validate().unwrap_err().to_string();
        assert!(err.contains("n = 5 is not 3f+1"), "{err}");
        let all_liars = PbftSimOptions {
            byzantine: Some(4),
            ..PbftSimOptions::default()
        };
        let err = all_liars.validate().unwrap_err().to_string();
        assert!(err.contains("at least one must be honest"), "{err}");
        assert!(PbftSimOptions::default().validate().is_ok());
    }

    #[test]
    fn byzantine_nodes_default_to_f_only_when_the_faults_include_them() {
        let seven = |faults| PbftSimOptions {
            nodes: 7,
            faults,
            ..PbftSimOptions::default()
        };
        assert_eq!(seven(FaultProfile::All).byzantine_nodes(), 2);
        assert_eq!(seven(FaultProfile::Byzantine).byzantine_nodes(), 2);
        assert_eq!(seven(FaultProfile::Crashes).byzantine_nodes(), 0);
    }

    #[test]
    fn variants_parse_by_their_cli_names() {
        assert_eq!(
            parse_variant("commit-quorum-2f"),
            Ok(pbft::Variant::CommitQuorum2f)
        );
        let err = parse_variant("mostly-correct").unwrap_err();
        assert!(err.contains("view-change-drops-prepared"), "{err}");
    }
}
