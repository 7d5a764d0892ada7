//! The register harness's knobs: clients, keys, faults, the calm, bounds, checker budgets.
//!
//! Time scale: the Raft profiles' (`raft/options.rs`), so the fault profiles are shared
//! unchanged and figures compare: a node ticks about every 100 units, a message takes 5..60.
//!
//! ```text
//!   0 ─────────── clients issue ops, faults as --faults says ─────────── calm_at ── quiet ── end
//!                                                                        │  heal, restart all,
//!                                                                        │  no more faults,
//!                                                                        │  no new ops
//!                                                                        └► in-flight ops finish,
//!                                                                           replication settles;
//!                                                   final states read here ─────────────────┘
//! ```
//!
//! Invariant: [`RegisterOptions::validate`] accepts only options `run_seed` can run, naming
//! the field and the reason otherwise.

use sim::config::{ConfigError, SimConfig, Time, TraceLevel};

use super::models::CheckBudget;
use crate::faults::FaultProfile;

/// Most clients one run may simulate.
pub const CLIENTS_MAX: usize = 64;

/// Most keys: few, so ops collide, which is where consistency anomalies show.
pub const KEYS_MAX: usize = 16;

/// Attempts per op the options may allow (redirects and refusals count).
pub const OP_ATTEMPTS_LIMIT: u32 = 1_000;

/// The nominal length of a node tick, in time units: what "ticks" mean in summaries.
pub const TICK_UNITS: Time = 100;

/// The most a node's physical clock starts off by, in ticks (schemes that stamp writes with
/// clocks: quorum, crdt).
pub const CLOCK_OFFSET_TICKS_MAX: u64 = 30;

/// The HLC drift bound ε those schemes run with, in ticks. It must exceed the clocks' real
/// disagreement, or HLC refuses to follow a faster clock and LWW loses causally later puts
/// (Kulkarni et al. 2014 §3: the bound is an assumption the operator must make true). Here
/// the skew profile runs tick rates ±20% apart for a run of about 600 ticks (up to ~240
/// ticks apart by the end), on top of the start offset: 400 covers both.
pub const HLC_MAX_OFFSET_TICKS: u64 = 400;

/// Node `id`'s clock start offset in `seed`'s run: 0..=CLOCK_OFFSET_TICKS_MAX, from the seed.
pub(crate) fn clock_offset_ticks(seed: u64, id: distributed_core::NodeId) -> u64 {
    use distributed_core::Rng;
    let mut rng = distributed_core::SeededRng::new(seed ^ id.0.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    rng.range(0, CLOCK_OFFSET_TICKS_MAX + 1)
}

/// Everything a register run needs besides the seed and the scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterOptions {
    /// Simulated clients, each sequential (`c1`, `c2`, …).
    pub clients: usize,
    /// Keys `k0..k{keys}`, drawn skewed towards the first.
    pub keys: usize,
    /// Odds, per million, that an op is a put (else a get).
    pub put_per_million: u32,
    /// Which faults to inject before the calm: the Raft profiles, unchanged.
    pub faults: FaultProfile,
    /// Simulated time bound: the run ends here and the final states are read.
    pub max_time_units: Time,
    /// The calm lasts this long at the end of the run: no faults, no new ops (module docs).
    pub quiet_units: Time,
    /// Event bound, whatever the time.
    pub max_events: u64,
    /// Most ops one client starts.
    pub ops_per_client_max: u64,
    /// How long a client waits for an answer before it gives up on this send: a get is
    /// sent again elsewhere, a put is recorded as indeterminate (it may still take effect).
    /// 4,000 units (40 ticks) outlasts a chain's repair (a 16-tick failure timeout, then a
    /// new epoch): at 1,500, 200 seeds of chain under `all` left 39% of ops indeterminate
    /// and 3 linearizability checks undecided; at 4,000, 25% and none.
    pub client_timeout_units: Time,
    /// Sends per op (the first, redirects, refusals, timed-out gets) before the client gives
    /// up on it; the op stays in the history with no return.
    pub op_attempts_max: u32,
    /// A client waits up to this long between ops: spreads the clients out.
    pub think_units_max: Time,
    /// Trace level for a single seed; seed ranges run without.
    pub trace: TraceLevel,
    /// Recent events kept for a violation report.
    pub recent_events: usize,
    /// The checkers' budgets.
    pub budget: CheckBudget,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        RegisterOptions {
            clients: 5,
            keys: 3,
            put_per_million: 500_000,
            faults: FaultProfile::All,
            max_time_units: 60_000,
            quiet_units: 15_000,
            max_events: 1_000_000,
            ops_per_client_max: 400,
            client_timeout_units: 4_000,
            op_attempts_max: 30,
            think_units_max: 100,
            trace: TraceLevel::Off,
            recent_events: 64,
            budget: CheckBudget::default(),
        }
    }
}

impl RegisterOptions {
    /// When the calm begins: clients start no op after it.
    pub fn calm_at_units(&self) -> Time {
        self.max_time_units.saturating_sub(self.quiet_units)
    }

    /// The simulator configuration for a cluster of `nodes`: the Raft profile's faults on
    /// the Raft time scale, these bounds.
    pub fn sim_config(&self, nodes: usize) -> SimConfig {
        let mut c = SimConfig::quiet(nodes);
        c.max_time_units = self.max_time_units;
        c.max_events = self.max_events;
        c.trace = self.trace;
        c.recent_events = self.recent_events;
        c.network.delay_units_min = 5;
        c.network.delay_units_max = 30;
        crate::raft::apply_profile(&mut c, self.faults, nodes);
        c
    }

    /// Reject options that cannot be run, saying which field and why.
    pub fn validate(&self, nodes: usize) -> Result<(), ConfigError> {
        self.sim_config(nodes).validate()?;
        let fail = |m: String| Err(ConfigError(m));
        if self.faults == FaultProfile::Byzantine {
            return fail(
                "faults=byzantine: the replication schemes tolerate crashed nodes, not lying \
                 ones (see pbft)"
                    .into(),
            );
        }
        if self.clients == 0 || self.clients > CLIENTS_MAX {
            return fail(format!(
                "clients={} must be in 1..={CLIENTS_MAX}",
                self.clients
            ));
        }
        if self.keys == 0 || self.keys > KEYS_MAX {
            return fail(format!("keys={} must be in 1..={KEYS_MAX}", self.keys));
        }
        if self.put_per_million > 1_000_000 {
            return fail(format!(
                "put_per_million={} must be at most 1000000",
                self.put_per_million
            ));
        }
        if self.ops_per_client_max == 0 {
            return fail("ops_per_client_max=0: no client would do anything".into());
        }
        if self.op_attempts_max == 0 || self.op_attempts_max > OP_ATTEMPTS_LIMIT {
            return fail(format!(
                "op_attempts_max={} must be in 1..={OP_ATTEMPTS_LIMIT}",
                self.op_attempts_max
            ));
        }
        self.validate_times()
    }

    fn validate_times(&self) -> Result<(), ConfigError> {
        if self.client_timeout_units == 0 {
            return Err(ConfigError(
                "client_timeout_units=0 would give up before any node could answer".into(),
            ));
        }
        if self.quiet_units == 0 || self.quiet_units >= self.max_time_units {
            return Err(ConfigError(format!(
                "quiet_units={} must be in 1..max_time_units={}: the calm needs time, and so \
                 do the clients before it",
                self.quiet_units, self.max_time_units
            )));
        }
        let bound = 1 << 40;
        if self.think_units_max > bound || self.client_timeout_units > bound {
            return Err(ConfigError(format!(
                "think_units_max and client_timeout_units must be at most {bound}"
            )));
        }
        if self.budget.linearizable_steps_max == 0 {
            return Err(ConfigError(
                "budget.linearizable_steps_max=0 would make every verdict unknown".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_leave_a_calm_at_the_end() {
        let o = RegisterOptions::default();
        assert_eq!(o.validate(4), Ok(()));
        assert!(o.calm_at_units() > 0 && o.calm_at_units() < o.max_time_units);
    }

    #[test]
    fn a_calm_as_long_as_the_run_is_refused_with_its_field_name() {
        let o = RegisterOptions {
            quiet_units: 60_000,
            ..RegisterOptions::default()
        };
        assert!(o.validate(4).unwrap_err().0.contains("quiet_units"));
    }

    #[test]
    fn byzantine_faults_are_refused_saying_why() {
        let o = RegisterOptions {
            faults: FaultProfile::Byzantine,
            ..RegisterOptions::default()
        };
        assert!(o.validate(4).unwrap_err().0.contains("not lying"));
    }
}
