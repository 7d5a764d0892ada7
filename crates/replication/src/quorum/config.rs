//! The knobs of one Dynamo node: N, R, W, how siblings are resolved, the timeouts of the sloppy
//! quorum, the periods of hinted handoff and anti-entropy, and the bounds on everything.
//!
//! ```text
//!   N replicas per key (its home nodes)     W acks before a put answers Ok
//!                                           R replies before a get answers
//!
//!   R + W > N   every read quorum meets every write quorum among the N home nodes: a read
//!               that completes after a write completed hears from at least one node that
//!               stored it (DeCandia et al. §4.5: "similar to a quorum system")
//!   R + W ≤ N   a read may ask only nodes the write never reached: a stale read after an
//!               acknowledged write. Allowed only with Variant::RPlusWLeN (broken on purpose)
//!
//!   timeouts (ticks):  replica_timeout < request_timeout < forward_timeout
//!     a home node silent for replica_timeout ──► the next node on the ring, with a hint
//!     no W acks (R replies) within request_timeout ──► Unavailable (a write's outcome unknown)
//!     a forwarded put unanswered for forward_timeout ──► forwarded to the next home node
//! ```
//!
//! What the default (strict) configuration does not promise either: R + W > N makes quorums
//! meet only among the *home* nodes. A sloppy quorum (§4.6) counts acks from stand-ins outside
//! the home list, so a read quorum can miss every node of a write quorum while a node is down;
//! and a write that timed out may still be stored somewhere, to surface later. Dynamo is
//! "always writeable" and eventually consistent, and R + W > N only narrows the window.
//!
//! Invariants `validate` enforces: `id` is one of `nodes` (unique, not empty, at most
//! [`NODES_MAX`]); `1 ≤ R, W ≤ N ≤ nodes`; `R + W > N` unless the variant says otherwise, and a
//! broken variant is paired with the resolution it breaks; the timeouts in the order above;
//! every period and bound at least 1.

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::{NodeId, Tick};

/// Most nodes in one cluster: the ring and the anti-entropy schedule are O(nodes) per use.
pub const NODES_MAX: usize = 64;

/// Most virtual nodes (tokens) per node on the ring.
pub const TOKENS_PER_NODE_MAX: usize = 64;

/// How a node resolves versions that did not see each other: the honest choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Resolution {
    /// Dotted version vectors (Dynamo §4.4 with Preguiça et al.'s dots): concurrent writes are
    /// all kept, as siblings, and a get returns every one. Nothing acknowledged is lost
    /// silently; a reader sees the conflict.
    #[default]
    Dvv,
    /// Last writer wins, by hybrid logical clock stamps with a drift bound (Cassandra's rule,
    /// on HLC): one value per key, and of two concurrent writes the one with the smaller stamp
    /// vanishes although it was acknowledged. The lost-update cost, shown on purpose.
    Lww,
}

/// The papers' rules, or one deliberately broken rule, so the simulator and the checkers can
/// show what the rule protects. Never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// Dynamo as described, with `R + W > N`.
    #[default]
    Correct,
    /// Accepts `R + W ≤ N` (say N=3, R=1, W=1): a read can ask only replicas a completed write
    /// never reached and return the old value. Linearizability fails; eventual convergence
    /// still holds (hinted handoff, read repair and anti-entropy spread every write).
    RPlusWLeN,
    /// With [`Resolution::Lww`]: the stamp is the coordinator's physical clock (its own tick
    /// count, skewed per node) with no HLC causality. A node whose clock is behind writes
    /// *after* reading a newer value and its write loses to the one it read: an acknowledged
    /// write silently disappears.
    LwwWallClock,
    /// With [`Resolution::Dvv`]: the merge of two versions asks "does the held version
    /// dominate the incoming one?" and, when it does not, takes the incoming one whole, so
    /// *concurrent* is treated as *ordered* and the held siblings are dropped. Replicas that
    /// saw concurrent writes in different orders keep different ones, anti-entropy copying
    /// whichever arrives last may never make them agree, and an acknowledged write is gone.
    VcConcurrentAsOrdered,
}

impl Variant {
    /// Every variant, correct first.
    pub const ALL: [Variant; 4] = [
        Variant::Correct,
        Variant::RPlusWLeN,
        Variant::LwwWallClock,
        Variant::VcConcurrentAsOrdered,
    ];

    /// The variant's name, as the CLI and the golden scripts spell it.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Correct => "correct",
            Variant::RPlusWLeN => "r-plus-w-le-n",
            Variant::LwwWallClock => "lww-wall-clock",
            Variant::VcConcurrentAsOrdered => "vc-concurrent-as-ordered",
        }
    }

    /// The variant called `name` (see [`Variant::name`]).
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// The configuration of one node. Build it with [`Config::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node.
    pub id: NodeId,
    /// Every node of the cluster. Fixed: membership changes (and the placement crate that
    /// handles them) come with issue 17.
    pub nodes: Vec<NodeId>,
    /// N: how many home nodes store each key (§4.3, "each data item is replicated at N hosts").
    pub replicas: usize,
    /// R: replies a get waits for (itself included when it is a home node).
    pub read_quorum: usize,
    /// W: acks a put waits for (itself included: the coordinator is always a home node).
    pub write_quorum: usize,
    /// How concurrent versions are resolved.
    pub resolution: Resolution,
    /// Correct, or one deliberately broken teaching variant.
    pub variant: Variant,
    /// §4.6: when a home node does not answer, write to (or read from) the next node on the
    /// ring instead, with a hint. Off: a silent home node just costs its ack (strict quorum).
    pub sloppy_quorum: bool,
    /// Virtual nodes per node on the ring (§4.2); more evens out the key ranges.
    pub tokens_per_node: usize,
    /// Ticks a coordinator waits for one replica before trying the next node on the ring.
    pub replica_timeout_ticks: Tick,
    /// Ticks a coordinator waits for W acks (R replies) before answering `Unavailable`, and
    /// keeps collecting late answers for hinted handoff and read repair.
    pub request_timeout_ticks: Tick,
    /// Ticks a node that forwarded a put waits for the coordinator's answer before forwarding
    /// it to the next home node. Longer than `request_timeout_ticks`: a live coordinator always
    /// answers within that.
    pub forward_timeout_ticks: Tick,
    /// How often a hint holder tries to hand its hints back to their owners (§4.6).
    pub handoff_interval_ticks: Tick,
    /// How often a node starts a Merkle-tree exchange with one peer for one range (§4.7).
    pub anti_entropy_interval_ticks: Tick,
    /// The HLC drift bound ε, in ticks: a stamp further ahead of this node's physical clock
    /// is stored but does not drag the clock (see clock.rs).
    pub hlc_max_offset_ticks: Tick,
    /// Where this node's physical clock starts: a clock set wrong, on top of the tick-rate
    /// skew the simulator gives each node.
    pub physical_clock_offset_ticks: Tick,
    /// At most this many gets, puts and forwarded puts in flight at this node.
    pub pending_requests_max: usize,
    /// At most this many (owner, key) hints held for other nodes.
    pub hints_max: usize,
    /// At most this many keys stored.
    pub keys_max: usize,
    /// At most this many hints handed back per handoff round.
    pub handoffs_per_round_max: usize,
    /// At most this many versions in one anti-entropy `LeafSync`.
    pub sync_keys_max: usize,
    /// How many answered requests a node remembers, to answer a duplicate the same way.
    pub recent_ops_max: usize,
}

impl Config {
    /// N=3, R=2, W=2 (§6's common configuration), DVV siblings, a sloppy quorum, and the
    /// default timeouts and bounds.
    pub fn new(id: NodeId, nodes: Vec<NodeId>) -> Config {
        Config {
            id,
            nodes,
            replicas: 3,
            read_quorum: 2,
            write_quorum: 2,
            resolution: Resolution::Dvv,
            variant: Variant::Correct,
            sloppy_quorum: true,
            tokens_per_node: 1,
            replica_timeout_ticks: 4,
            request_timeout_ticks: 12,
            forward_timeout_ticks: 16,
            handoff_interval_ticks: 10,
            anti_entropy_interval_ticks: 20,
            hlc_max_offset_ticks: 50,
            physical_clock_offset_ticks: 0,
            pending_requests_max: 1024,
            hints_max: 1024,
            keys_max: 1 << 16,
            handoffs_per_round_max: 8,
            sync_keys_max: 32,
            recent_ops_max: 1024,
        }
    }

    /// The variant `variant` with the resolution it needs (`lww-wall-clock` breaks LWW,
    /// `vc-concurrent-as-ordered` breaks DVV); `r-plus-w-le-n` also sets R = W = 1.
    pub fn with_variant(mut self, variant: Variant) -> Config {
        self.variant = variant;
        match variant {
            Variant::Correct => {}
            Variant::RPlusWLeN => (self.read_quorum, self.write_quorum) = (1, 1),
            Variant::LwwWallClock => self.resolution = Resolution::Lww,
            Variant::VcConcurrentAsOrdered => self.resolution = Resolution::Dvv,
        }
        self
    }

    /// Reject configurations that are unsafe or cannot make progress, saying which field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_nodes()?;
        self.validate_quorums()?;
        self.validate_variant()?;
        self.validate_timeouts()?;
        self.validate_bounds()
    }

    fn validate_nodes(&self) -> Result<(), ConfigError> {
        let unique: BTreeSet<NodeId> = self.nodes.iter().copied().collect();
        if self.nodes.is_empty() || self.nodes.len() > NODES_MAX {
            return Err(ConfigError::new(format!(
                "nodes has {} entries: must be 1..={NODES_MAX}",
                self.nodes.len()
            )));
        }
        if unique.len() != self.nodes.len() {
            return Err(ConfigError::new(format!(
                "nodes {:?} lists a node twice: it would hold two of a key's N copies",
                self.nodes
            )));
        }
        if !unique.contains(&self.id) {
            return Err(ConfigError::new(format!(
                "id {} is not one of nodes {:?}: a node must be on its own ring",
                self.id, self.nodes
            )));
        }
        Ok(())
    }

    fn validate_quorums(&self) -> Result<(), ConfigError> {
        let (n, r, w) = (self.replicas, self.read_quorum, self.write_quorum);
        let nodes = self.nodes.len();
        if n == 0 || n > nodes {
            return Err(ConfigError::new(format!(
                "replicas (N={n}) must be in 1..={nodes}: each key needs N distinct home nodes"
            )));
        }
        for (name, q) in [("read_quorum (R)", r), ("write_quorum (W)", w)] {
            if q == 0 || q > n {
                return Err(ConfigError::new(format!(
                    "{name} is {q}: must be in 1..=N ({n}); 0 waits for nobody, above N for \
                     more replicas than a key has"
                )));
            }
        }
        if r + w <= n && self.variant != Variant::RPlusWLeN {
            return Err(ConfigError::new(format!(
                "R ({r}) + W ({w}) must exceed N ({n}): otherwise a read quorum can miss every \
                 home node a completed write reached and return an older value (DeCandia et \
                 al. §4.5); choose variant r-plus-w-le-n to run it anyway, broken on purpose"
            )));
        }
        if r + w > n && self.variant == Variant::RPlusWLeN {
            return Err(ConfigError::new(format!(
                "variant r-plus-w-le-n with R ({r}) + W ({w}) > N ({n}) is the correct \
                 protocol: lower R or W, or choose variant correct"
            )));
        }
        Ok(())
    }

    fn validate_variant(&self) -> Result<(), ConfigError> {
        let needs = match self.variant {
            Variant::LwwWallClock => Some((Resolution::Lww, "lww-wall-clock", "lww")),
            Variant::VcConcurrentAsOrdered => {
                Some((Resolution::Dvv, "vc-concurrent-as-ordered", "dvv"))
            }
            Variant::Correct | Variant::RPlusWLeN => None,
        };
        match needs {
            Some((resolution, variant, name)) if self.resolution != resolution => {
                Err(ConfigError::new(format!(
                    "variant {variant} breaks the {name} resolution: set resolution {name} \
                     (Config::with_variant does)"
                )))
            }
            _ => Ok(()),
        }
    }

    fn validate_timeouts(&self) -> Result<(), ConfigError> {
        let (replica, request) = (self.replica_timeout_ticks, self.request_timeout_ticks);
        let forward = self.forward_timeout_ticks;
        if replica == 0 {
            return Err(ConfigError::new(
                "replica_timeout_ticks is 0: must be at least 1",
            ));
        }
        if replica >= request {
            return Err(ConfigError::new(format!(
                "replica_timeout_ticks ({replica}) must be below request_timeout_ticks \
                 ({request}): a sloppy quorum needs time to ask a stand-in after a home node \
                 stays silent"
            )));
        }
        if forward <= request {
            return Err(ConfigError::new(format!(
                "forward_timeout_ticks ({forward}) must exceed request_timeout_ticks \
                 ({request}): a live coordinator answers within request_timeout_ticks, and a \
                 forward retried sooner would run one put at two coordinators"
            )));
        }
        if self.hlc_max_offset_ticks == 0 {
            return Err(ConfigError::new(
                "hlc_max_offset_ticks is 0: no two clocks agree exactly; at least 1",
            ));
        }
        Ok(())
    }

    fn validate_bounds(&self) -> Result<(), ConfigError> {
        if self.tokens_per_node == 0 || self.tokens_per_node > TOKENS_PER_NODE_MAX {
            return Err(ConfigError::new(format!(
                "tokens_per_node is {}: must be in 1..={TOKENS_PER_NODE_MAX}",
                self.tokens_per_node
            )));
        }
        let bounds = [
            (
                "handoff_interval_ticks",
                self.handoff_interval_ticks as usize,
            ),
            (
                "anti_entropy_interval_ticks",
                self.anti_entropy_interval_ticks as usize,
            ),
            ("pending_requests_max", self.pending_requests_max),
            ("hints_max", self.hints_max),
            ("keys_max", self.keys_max),
            ("handoffs_per_round_max", self.handoffs_per_round_max),
            ("sync_keys_max", self.sync_keys_max),
            ("recent_ops_max", self.recent_ops_max),
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
        write!(f, "invalid quorum config: {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn five() -> Config {
        Config::new(NodeId(1), (1..=5).map(NodeId).collect())
    }

    fn rejected_with(c: &Config, words: &str) -> bool {
        match c.validate() {
            Err(e) => e.reason.contains(words),
            Ok(()) => false,
        }
    }

    #[test]
    fn the_default_is_n3_r2_w2_with_siblings_and_a_sloppy_quorum() {
        let c = five();
        assert_eq!((c.replicas, c.read_quorum, c.write_quorum), (3, 2, 2));
        assert_eq!(
            (c.resolution, c.variant),
            (Resolution::Dvv, Variant::Correct)
        );
        assert!(c.sloppy_quorum);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn quorums_that_need_not_meet_are_refused_unless_broken_on_purpose() {
        // DeCandia et al. §4.5: R + W > N makes every read quorum meet every write quorum.
        let mut c = five();
        (c.read_quorum, c.write_quorum) = (1, 2);
        assert!(rejected_with(&c, "R (1) + W (2) must exceed N (3)"));
        assert!(rejected_with(&c, "r-plus-w-le-n"));
        let broken = five().with_variant(Variant::RPlusWLeN);
        assert_eq!((broken.read_quorum, broken.write_quorum), (1, 1));
        assert_eq!(broken.validate(), Ok(()));
        let mut pointless = five();
        pointless.variant = Variant::RPlusWLeN;
        assert!(rejected_with(&pointless, "is the correct protocol"));
    }

    #[test]
    fn quorums_must_lie_between_one_and_n_and_n_within_the_nodes() {
        let mut c = five();
        c.read_quorum = 0;
        assert!(rejected_with(&c, "read_quorum (R) is 0"));
        c.read_quorum = 4;
        assert!(rejected_with(&c, "read_quorum (R) is 4"));
        let mut c = five();
        c.replicas = 6;
        assert!(rejected_with(&c, "replicas (N=6) must be in 1..=5"));
    }

    #[test]
    fn a_broken_variant_must_come_with_the_resolution_it_breaks() {
        let mut c = five();
        c.variant = Variant::LwwWallClock;
        assert!(rejected_with(&c, "breaks the lww resolution"));
        assert_eq!(
            five().with_variant(Variant::LwwWallClock).validate(),
            Ok(())
        );
        let mut c = five();
        c.resolution = Resolution::Lww;
        c.variant = Variant::VcConcurrentAsOrdered;
        assert!(rejected_with(&c, "breaks the dvv resolution"));
    }

    #[test]
    fn timeouts_must_leave_room_for_a_stand_in_and_for_the_coordinator() {
        let mut c = five();
        c.replica_timeout_ticks = c.request_timeout_ticks;
        assert!(rejected_with(&c, "must be below request_timeout_ticks"));
        let mut c = five();
        c.forward_timeout_ticks = c.request_timeout_ticks;
        assert!(rejected_with(&c, "would run one put at two coordinators"));
    }

    #[test]
    fn membership_and_bounds_are_checked() {
        let mut c = five();
        c.nodes.push(NodeId(2));
        assert!(rejected_with(&c, "lists a node twice"));
        let mut c = five();
        c.id = NodeId(9);
        assert!(rejected_with(&c, "is not one of nodes"));
        let mut c = five();
        c.hints_max = 0;
        assert!(rejected_with(&c, "hints_max is 0"));
        let mut c = five();
        c.tokens_per_node = 0;
        assert!(rejected_with(&c, "tokens_per_node is 0"));
    }

    #[test]
    fn variants_parse_from_their_cli_names() {
        for v in Variant::ALL {
            assert_eq!(Variant::parse(v.name()), Some(v));
        }
        assert_eq!(
            Variant::parse("lww-wall-clock"),
            Some(Variant::LwwWallClock)
        );
        assert_eq!(Variant::parse("nope"), None);
    }
}
