//! The faults every adapter offers, by name, and the seed ranges every runner takes: the
//! furniture a new protocol's folder reuses instead of copying.
//!
//! ```text
//!   --faults none|network|partitions|crashes|skew|byzantine|all|chaos ──► FaultProfile
//!        └─► <protocol>/options.rs: sim_config() turns it into sim::SimConfig's fault model
//!   --seeds 0..1000 | 42 ──► parse_seeds ──► Range<u64>
//! ```
//!
//! What each profile means in detail (rates, partition shapes, crash odds) is tuned per
//! adapter, because it depends on the protocol's time scale: see `raft/options.rs`.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Which faults a simulation injects; each adapter maps a profile onto its `SimConfig`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FaultProfile {
    /// A perfect world: only the seed's election timeouts and message delays vary.
    None,
    /// Loss, duplication, reordering and occasional very late messages.
    Network,
    /// Random, leader-isolating, split-brain and bridge partitions that heal.
    Partitions,
    /// Crashes and restarts from disk, a minority at a time, often the leader.
    Crashes,
    /// Clock skew: tick rates differ by up to ±20% and drift.
    Skew,
    /// Byzantine nodes only (`--byzantine N`, protocols that claim to survive them: PBFT),
    /// on a perfect network. `all` and `chaos` include them too, where a protocol has them.
    Byzantine,
    /// Everything above at once.
    #[default]
    All,
    /// Everything, and crashes may take down all but one node (no progress guarantee).
    Chaos,
}

impl FaultProfile {
    /// Every profile, in the order the CLI lists them.
    pub const ALL: [FaultProfile; 8] = [
        FaultProfile::None,
        FaultProfile::Network,
        FaultProfile::Partitions,
        FaultProfile::Crashes,
        FaultProfile::Skew,
        FaultProfile::Byzantine,
        FaultProfile::All,
        FaultProfile::Chaos,
    ];

    /// True if this profile includes `wanted`'s faults (`all` and `chaos` include them all).
    pub fn has(self, wanted: FaultProfile) -> bool {
        self == wanted || matches!(self, FaultProfile::All | FaultProfile::Chaos)
    }
}

impl fmt::Display for FaultProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultProfile::None => "none",
            FaultProfile::Network => "network",
            FaultProfile::Partitions => "partitions",
            FaultProfile::Crashes => "crashes",
            FaultProfile::Skew => "skew",
            FaultProfile::Byzantine => "byzantine",
            FaultProfile::All => "all",
            FaultProfile::Chaos => "chaos",
        })
    }
}

impl FromStr for FaultProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        FaultProfile::ALL
            .into_iter()
            .find(|p| p.to_string() == s)
            .ok_or_else(|| format!("unknown fault profile `{s}`: expected none|network|partitions|crashes|skew|byzantine|all|chaos"))
    }
}

/// Parse a seed range as the CLI spells it: `0..1000` (end exclusive) or a single seed `42`.
pub fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|e| format!("seed range `{s}`: `{t}` is not a seed: {e}"))
    };
    let range = match s.split_once("..") {
        Some((a, b)) => num(a)?..num(b)?,
        None => {
            let seed = num(s)?;
            seed..seed
                .checked_add(1)
                .ok_or_else(|| format!("seed `{s}` is too large"))?
        }
    };
    if range.is_empty() {
        return Err(format!("seed range `{s}` is empty: the end is exclusive"));
    }
    Ok(range)
}
