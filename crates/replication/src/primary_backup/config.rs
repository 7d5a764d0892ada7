//! The knobs of one primary-backup node (a server or the view service), and the checks that
//! keep them safe.
//!
//! ```text
//!   view service ─┐ (a separate node: the configuration authority)
//!                 ▼
//!   servers:  n1      n2       n3          view 1: primary servers[0], the next
//!            primary  backup   idle        backups_wanted servers its backups, the rest idle
//!
//!   time, in each node's own ticks:
//!     server ── Ping ──────► view service   every ping_interval_ticks
//!     server ◄─ PingReply ── view service   the primary's lease: reads until sent_tick + lease_ticks
//!     view service: a server silent for more than failure_timeout_ticks is dead
//!
//!     failure_timeout_ticks ≥ clock_rate_ratio_max × lease_ticks
//! ```
//!
//! Why that last rule: the view service makes a new primary only once it has not heard from
//! the old one for `failure_timeout_ticks` of *its* clock, and the old primary reads under a
//! lease of `lease_ticks` of *its own* clock, counted from a ping it sent before the view
//! service last heard from it. If the old primary's clock may run `clock_rate_ratio_max` times
//! slower than the view service's, its lease lasts at most `ratio × lease_ticks` view-service
//! ticks, so it has lapsed before the new primary can exist. Break the rule and a paused or
//! cut-off primary answers reads from its old state while the new primary takes writes: two
//! primaries serve at once, and reads are stale (what `Variant::ReadWithoutLease` shows).
//!
//! Invariants `validate` enforces: `id` is the view service or a server; the view service is
//! no server; `servers` is non-empty and lists no node twice; `backups_wanted` leaves room for
//! a primary; `0 < ping < lease`; `ratio ≥ 1`; `failure_timeout ≥ ratio × lease`; every bound
//! at least 1.

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::{NodeId, Tick};

/// Correct primary-backup, or one deliberately broken rule, so the simulator and the tests
/// can show what the rule protects. Never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// Every rule of the module docs.
    #[default]
    Correct,
    /// Deliberately unsafe: the view service promotes a backup out of a view the primary never
    /// acknowledged, so the new primary may be a backup whose state transfer never finished.
    /// Acknowledged writes vanish: a later read returns an older value (linearizability fails).
    NoViewAck,
    /// Deliberately unsafe: the primary answers reads without checking its lease. A primary
    /// the view service gave up on (paused, or cut off from it but not from clients) keeps
    /// answering from its old state while a new primary takes writes: a stale read.
    ReadWithoutLease,
}

/// The configuration of one node. Build it with [`Config::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node: the view service or one of the servers.
    pub id: NodeId,
    /// The configuration authority: hands out views, grants the primary's lease.
    pub view_service: NodeId,
    /// Every server, in the order the view service picks them: view 1's primary is the first,
    /// its backups the next `backups_wanted`; a dead backup is replaced by the first idle one.
    pub servers: Vec<NodeId>,
    /// How many backups a view should have. Each must store a put before it is acknowledged,
    /// so each one more survives one more failure and costs one more round trip per put.
    pub backups_wanted: usize,
    /// Correct, or one deliberately broken teaching variant.
    pub variant: Variant,
    /// How often a server pings the view service.
    pub ping_interval_ticks: Tick,
    /// How long after sending a ping the primary may serve reads once the view service
    /// answered it with a lease.
    pub lease_ticks: Tick,
    /// How long the view service waits, without a ping, before it counts a server dead.
    pub failure_timeout_ticks: Tick,
    /// The most any node's clock may run faster than any other's (2: one may tick twice per
    /// tick of another). The lease rule of the module docs depends on it.
    pub clock_rate_ratio_max: u64,
    /// How long the primary waits for a backup's answer (to a forward, a probe or a chunk)
    /// before sending again: the simulator loses and reorders messages.
    pub resend_interval_ticks: Tick,
    /// At most this many puts stored and not yet on every backup: beyond it the primary
    /// refuses puts. It bounds every server's log.
    pub pending_max: usize,
    /// At most this many keys in the store: a put of a new key beyond it is refused.
    pub keys_max: usize,
    /// At most this many clients remembered for exactly-once puts; beyond it the client whose
    /// newest put is oldest is forgotten (and a retry of that put would apply twice).
    pub sessions_max: usize,
    /// At most this many items (keys, log records, sessions) in one state-transfer chunk.
    pub chunk_items_max: usize,
}

impl Config {
    /// A configuration with the default timeouts and bounds, one backup, correct.
    pub fn new(id: NodeId, view_service: NodeId, servers: Vec<NodeId>) -> Config {
        Config {
            id,
            view_service,
            servers,
            backups_wanted: 1,
            variant: Variant::Correct,
            ping_interval_ticks: 2,
            lease_ticks: 6,
            failure_timeout_ticks: 16,
            clock_rate_ratio_max: 2,
            resend_interval_ticks: 6,
            pending_max: 64,
            keys_max: 1024,
            sessions_max: 1024,
            chunk_items_max: 16,
        }
    }

    /// Is `node` one of the servers?
    pub fn is_server(&self, node: NodeId) -> bool {
        self.servers.contains(&node)
    }

    /// Reject configurations that are unsafe or cannot make progress, saying which field and
    /// why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_nodes()?;
        self.validate_timeouts()?;
        self.validate_bounds()
    }

    fn validate_nodes(&self) -> Result<(), ConfigError> {
        if self.servers.is_empty() {
            return Err(ConfigError::new("servers is empty: view 1 needs a primary"));
        }
        let unique: BTreeSet<NodeId> = self.servers.iter().copied().collect();
        if unique.len() != self.servers.len() {
            return Err(ConfigError::new(format!(
                "servers {:?} lists a node twice",
                self.servers
            )));
        }
        if unique.contains(&self.view_service) {
            return Err(ConfigError::new(format!(
                "view_service {} is also a server: the authority that declares servers dead \
                 must not be one of them",
                self.view_service
            )));
        }
        if self.id != self.view_service && !unique.contains(&self.id) {
            return Err(ConfigError::new(format!(
                "id {} is neither the view service {} nor a server",
                self.id, self.view_service
            )));
        }
        if self.backups_wanted >= self.servers.len() {
            return Err(ConfigError::new(format!(
                "backups_wanted ({}) must be below the number of servers ({}): one of them is \
                 the primary",
                self.backups_wanted,
                self.servers.len()
            )));
        }
        Ok(())
    }

    fn validate_timeouts(&self) -> Result<(), ConfigError> {
        let named = [
            ("ping_interval_ticks", self.ping_interval_ticks),
            ("resend_interval_ticks", self.resend_interval_ticks),
            ("clock_rate_ratio_max", self.clock_rate_ratio_max),
        ];
        for (name, value) in named {
            if value == 0 {
                return Err(ConfigError::new(format!("{name} is 0: must be at least 1")));
            }
        }
        let (ping, lease) = (self.ping_interval_ticks, self.lease_ticks);
        if lease <= ping {
            return Err(ConfigError::new(format!(
                "lease_ticks ({lease}) must exceed ping_interval_ticks ({ping}): otherwise the \
                 lease lapses between two pings and a healthy primary stops serving reads"
            )));
        }
        let (timeout, ratio) = (self.failure_timeout_ticks, self.clock_rate_ratio_max);
        if timeout < ratio.saturating_mul(lease) {
            return Err(ConfigError::new(format!(
                "failure_timeout_ticks ({timeout}) must be at least clock_rate_ratio_max ({ratio}) \
                 × lease_ticks ({lease}): the view service may only make a new primary once the \
                 old primary's lease has lapsed, even on a clock {ratio} times slower; otherwise \
                 two primaries serve at once and the old one answers stale reads"
            )));
        }
        Ok(())
    }

    fn validate_bounds(&self) -> Result<(), ConfigError> {
        let bounds = [
            ("pending_max", self.pending_max),
            ("keys_max", self.keys_max),
            ("sessions_max", self.sessions_max),
            ("chunk_items_max", self.chunk_items_max),
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
        write!(f, "invalid primary-backup config: {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variant::Correct => "correct",
            Variant::NoViewAck => "no-view-ack",
            Variant::ReadWithoutLease => "read-without-lease",
        })
    }
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Variant, String> {
        [
            Variant::Correct,
            Variant::NoViewAck,
            Variant::ReadWithoutLease,
        ]
        .into_iter()
        .find(|v| v.to_string() == s)
        .ok_or_else(|| {
            format!("variant `{s}`: expected correct, no-view-ack or read-without-lease")
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
    fn the_default_configuration_is_valid_for_servers_and_the_view_service() {
        assert_eq!(three().validate(), Ok(()));
        let vs = Config {
            id: NodeId(9),
            ..three()
        };
        assert_eq!(vs.validate(), Ok(()));
    }

    #[test]
    fn validate_refuses_a_failure_timeout_that_lets_two_primaries_serve_at_once() {
        let mut c = three();
        c.failure_timeout_ticks = c.clock_rate_ratio_max * c.lease_ticks - 1;
        assert!(rejected_with(&c, "two primaries serve at once"));
        c.failure_timeout_ticks = c.clock_rate_ratio_max * c.lease_ticks;
        assert_eq!(c.validate(), Ok(()));
        // A wider clock-rate bound needs a longer timeout for the same lease.
        c.clock_rate_ratio_max = 3;
        assert!(rejected_with(&c, "two primaries serve at once"));
    }

    #[test]
    fn validate_refuses_a_lease_that_lapses_between_pings() {
        let mut c = three();
        c.lease_ticks = c.ping_interval_ticks;
        assert!(rejected_with(&c, "lapses between two pings"));
    }

    #[test]
    fn validate_refuses_a_view_service_that_is_also_a_server() {
        let mut c = three();
        c.view_service = NodeId(2);
        assert!(rejected_with(&c, "must not be one of them"));
    }

    #[test]
    fn validate_refuses_duplicates_strangers_too_many_backups_and_zero_bounds() {
        let mut c = three();
        c.servers.push(NodeId(3));
        assert!(rejected_with(&c, "lists a node twice"));
        let mut c = three();
        c.id = NodeId(7);
        assert!(rejected_with(&c, "neither the view service"));
        let mut c = three();
        c.backups_wanted = 3;
        assert!(rejected_with(&c, "one of them is the primary"));
        let mut c = three();
        c.chunk_items_max = 0;
        assert!(rejected_with(&c, "chunk_items_max is 0"));
        let mut c = three();
        c.servers.clear();
        assert!(rejected_with(&c, "servers is empty"));
    }

    #[test]
    fn variants_parse_from_their_printed_names() {
        for v in [
            Variant::Correct,
            Variant::NoViewAck,
            Variant::ReadWithoutLease,
        ] {
            assert_eq!(v.to_string().parse::<Variant>(), Ok(v));
        }
        assert!("no-lease".parse::<Variant>().is_err());
    }
}
