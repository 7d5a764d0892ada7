//! The knobs of one CRDT store node: which register, how often and with whom it gossips, how
//! big a message may get, its clock, and the deliberately broken variants.
//!
//! ```text
//!   resolution  mv    MV-register: concurrent puts kept as siblings (dots + causal context)
//!               lww   LWW-register: one value, the largest HLC stamp wins
//!
//!   every gossip_interval_ticks:  Digest ──► one peer (peer_choice: round robin | seeded RNG)
//!                                 ≤ digest_keys_max (key, hash) pairs per Digest
//!   every Sync / Push:            ≤ sync_keys_max key states
//!   every put:                    Push ──► push_fanout peers (0: gossip only)
//!
//!   physical clock (LWW stamps) = own ticks + physical_clock_offset_ticks
//!   HLC drift bound ε           = hlc_max_offset_ticks
//! ```
//!
//! Invariants `validate` enforces: `id` is one of `nodes` (unique, not empty, at most
//! [`NODES_MAX`]); a broken variant comes with the resolution it breaks; `push_fanout` at most
//! the number of peers; every period and bound at least 1. What it cannot refuse: nodes
//! configured differently (an MV node and an LWW node): their states do not merge, and each
//! says so in a note.

use std::collections::BTreeSet;
use std::fmt;

use distributed_core::{NodeId, Tick};

/// Most nodes in one cluster: a digest round and the invariant check are O(nodes).
pub const NODES_MAX: usize = 64;

/// How a key's register resolves puts that did not see each other: the honest choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Resolution {
    /// Multi-value register (Shapiro et al. 2011 §3.2.2) in causal-CRDT form (Almeida et al.
    /// 2018 §6): every put concurrent with another survives as a sibling; a put supersedes
    /// exactly what its client's session had seen of the key.
    #[default]
    MultiValue,
    /// Last-writer-wins register (Shapiro et al. 2011 §3.2.1) on hybrid logical clock stamps
    /// (Kulkarni et al. 2014): one value; of two concurrent puts one vanishes, silently.
    Lww,
}

impl Resolution {
    /// The resolution's name, as the CLI and the golden scripts spell it.
    pub fn name(self) -> &'static str {
        match self {
            Resolution::MultiValue => "mv",
            Resolution::Lww => "lww",
        }
    }

    /// The resolution called `name` (see [`Resolution::name`]).
    pub fn parse(name: &str) -> Option<Resolution> {
        [Resolution::MultiValue, Resolution::Lww]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// The correct store, or one deliberately broken rule, so the simulator and the checkers can
/// show what the rule protects. Never the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// The store as described.
    #[default]
    Correct,
    /// With [`Resolution::Lww`]: stamps are the node's skewed physical clock alone, and no
    /// stamp received is observed. A put on a node whose clock is behind, made after its
    /// client read (or wrote) a value stamped by a faster clock, sorts below that value: it
    /// is acknowledged and silently lost (eventual convergence: "acknowledged write lost";
    /// read-your-writes and causal: the older value comes back).
    LwwWallClock,
    /// With [`Resolution::MultiValue`]: the merge compares the two contexts as version vectors
    /// and reads *concurrent* as *incoming is newer*, so the incoming siblings replace the held
    /// ones instead of joining them. A sibling is dropped: replicas that merged in opposite
    /// directions keep different siblings under equal contexts and never agree (eventual
    /// convergence: divergence), and a put whose client had read the dropped one's rival is
    /// lost (causal, read-your-writes: an older value comes back).
    ConcurrentAsOrdered,
    /// With [`Resolution::Lww`]: the merge keeps whichever state arrived last, stamps
    /// ignored. A late or reordered older state overwrites a causally later put (eventual
    /// convergence: "acknowledged write lost"; causal: the older value comes back).
    LwwArrivalOrder,
}

impl Variant {
    /// Every variant, correct first.
    pub const ALL: [Variant; 4] = [
        Variant::Correct,
        Variant::LwwWallClock,
        Variant::ConcurrentAsOrdered,
        Variant::LwwArrivalOrder,
    ];

    /// The variant's name, as the CLI and the golden scripts spell it.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Correct => "correct",
            Variant::LwwWallClock => "lww-wall-clock",
            Variant::ConcurrentAsOrdered => "concurrent-as-ordered",
            Variant::LwwArrivalOrder => "lww-arrival-order",
        }
    }

    /// The variant called `name` (see [`Variant::name`]).
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The resolution this variant breaks, if it is a broken one.
    pub fn breaks(self) -> Option<Resolution> {
        match self {
            Variant::Correct => None,
            Variant::LwwWallClock | Variant::LwwArrivalOrder => Some(Resolution::Lww),
            Variant::ConcurrentAsOrdered => Some(Resolution::MultiValue),
        }
    }
}

/// How a node picks the peer of its next gossip round and of its pushes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PeerChoice {
    /// The peers in id order, one after the other: every peer within `nodes - 1` rounds.
    #[default]
    RoundRobin,
    /// Drawn from the node's injected seeded RNG (Demers et al. 1987's random anti-entropy).
    Random,
}

impl PeerChoice {
    /// The choice's name, as the golden scripts spell it.
    pub fn name(self) -> &'static str {
        match self {
            PeerChoice::RoundRobin => "round-robin",
            PeerChoice::Random => "random",
        }
    }

    /// The choice called `name`.
    pub fn parse(name: &str) -> Option<PeerChoice> {
        [PeerChoice::RoundRobin, PeerChoice::Random]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// The configuration of one node. Build it with [`Config::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node.
    pub id: NodeId,
    /// Every node of the cluster; every node stores every key. Fixed.
    pub nodes: Vec<NodeId>,
    /// Which register each key is.
    pub resolution: Resolution,
    /// Correct, or one deliberately broken teaching variant.
    pub variant: Variant,
    /// How gossip and push peers are chosen.
    pub peer_choice: PeerChoice,
    /// Ticks between two gossip rounds started by this node (one Digest to one peer).
    pub gossip_interval_ticks: Tick,
    /// Peers a put's new key state is pushed to at once (a delta at key granularity); 0 leaves
    /// every put to gossip.
    pub push_fanout: usize,
    /// Most (key, hash) pairs in one Digest: the chunk of the key space one round covers.
    pub digest_keys_max: usize,
    /// Most key states in one Sync or Push; with the value and sibling bounds, this bounds
    /// every message's size.
    pub sync_keys_max: usize,
    /// The HLC drift bound ε, in ticks: a stamp further ahead of this node's physical clock is
    /// stored but does not drag the clock.
    pub hlc_max_offset_ticks: Tick,
    /// Where this node's physical clock starts: a clock set wrong, on top of the tick-rate skew
    /// the simulator gives each node.
    pub physical_clock_offset_ticks: Tick,
    /// At most this many keys stored; a put of a new key past it is refused, and a merged
    /// state of a new key is skipped with a note.
    pub keys_max: usize,
    /// At most this many client sessions recorded per key by this node's own gets and puts
    /// (merges may bring in more, at most this many per node). A client past it writes blind.
    pub sessions_per_key_max: usize,
}

impl Config {
    /// An MV-register store, round-robin gossip every 5 ticks, puts pushed to 2 peers, and
    /// the default bounds.
    pub fn new(id: NodeId, nodes: Vec<NodeId>) -> Config {
        let push_fanout = nodes.len().saturating_sub(1).min(2);
        Config {
            id,
            nodes,
            resolution: Resolution::MultiValue,
            variant: Variant::Correct,
            peer_choice: PeerChoice::RoundRobin,
            gossip_interval_ticks: 5,
            push_fanout,
            digest_keys_max: 64,
            sync_keys_max: 16,
            hlc_max_offset_ticks: 50,
            physical_clock_offset_ticks: 0,
            keys_max: 1 << 16,
            sessions_per_key_max: 256,
        }
    }

    /// The variant `variant` with the resolution it breaks (and the correct one unchanged).
    pub fn with_variant(mut self, variant: Variant) -> Config {
        self.variant = variant;
        if let Some(resolution) = variant.breaks() {
            self.resolution = resolution;
        }
        self
    }

    /// Reject configurations that are unsafe or cannot make progress, saying which field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_nodes()?;
        self.validate_variant()?;
        self.validate_bounds()
    }

    /// The other nodes, in id order.
    pub fn peers(&self) -> Vec<NodeId> {
        let set: BTreeSet<NodeId> = self.nodes.iter().copied().collect();
        set.into_iter().filter(|&n| n != self.id).collect()
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
                "nodes {:?} lists a node twice: it would gossip with itself",
                self.nodes
            )));
        }
        if !unique.contains(&self.id) {
            return Err(ConfigError::new(format!(
                "id {} is not one of nodes {:?}",
                self.id, self.nodes
            )));
        }
        Ok(())
    }

    fn validate_variant(&self) -> Result<(), ConfigError> {
        match self.variant.breaks() {
            Some(needs) if needs != self.resolution => Err(ConfigError::new(format!(
                "variant {} breaks the {} resolution: set resolution {} (Config::with_variant \
                 does)",
                self.variant.name(),
                needs.name(),
                needs.name()
            ))),
            _ => Ok(()),
        }
    }

    fn validate_bounds(&self) -> Result<(), ConfigError> {
        let peers = self.nodes.len() - 1;
        if self.push_fanout > peers {
            return Err(ConfigError::new(format!(
                "push_fanout ({}) exceeds the {peers} peers: a put is pushed to each at most once",
                self.push_fanout
            )));
        }
        if self.hlc_max_offset_ticks == 0 {
            return Err(ConfigError::new(
                "hlc_max_offset_ticks is 0: no two clocks agree exactly; at least 1",
            ));
        }
        let bounds = [
            ("gossip_interval_ticks", self.gossip_interval_ticks as usize),
            ("digest_keys_max", self.digest_keys_max),
            ("sync_keys_max", self.sync_keys_max),
            ("keys_max", self.keys_max),
            ("sessions_per_key_max", self.sessions_per_key_max),
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
        write!(f, "invalid crdt store config: {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Config {
        Config::new(NodeId(1), (1..=3).map(NodeId).collect())
    }

    fn rejected_with(c: &Config, words: &str) -> bool {
        match c.validate() {
            Err(e) => e.reason.contains(words),
            Ok(()) => false,
        }
    }

    #[test]
    fn the_default_is_a_multi_value_store_that_pushes_to_two_peers() {
        let c = three();
        assert_eq!(c.resolution, Resolution::MultiValue);
        assert_eq!(c.variant, Variant::Correct);
        assert_eq!(c.push_fanout, 2);
        assert_eq!(c.peers(), vec![NodeId(2), NodeId(3)]);
        assert_eq!(c.validate(), Ok(()));
        let alone = Config::new(NodeId(1), vec![NodeId(1)]);
        assert_eq!(alone.push_fanout, 0);
        assert_eq!(alone.validate(), Ok(()));
    }

    #[test]
    fn a_broken_variant_must_come_with_the_resolution_it_breaks() {
        let mut c = three();
        c.variant = Variant::LwwWallClock;
        assert!(rejected_with(&c, "breaks the lww resolution"));
        for v in Variant::ALL {
            assert_eq!(three().with_variant(v).validate(), Ok(()), "{v:?}");
        }
        let mut c = three().with_variant(Variant::LwwArrivalOrder);
        c.resolution = Resolution::MultiValue;
        assert!(rejected_with(&c, "breaks the lww resolution"));
        let mut c = three();
        c.resolution = Resolution::Lww;
        c.variant = Variant::ConcurrentAsOrdered;
        assert!(rejected_with(&c, "breaks the mv resolution"));
    }

    #[test]
    fn membership_fanout_and_bounds_are_checked() {
        let mut c = three();
        c.nodes.push(NodeId(2));
        assert!(rejected_with(&c, "lists a node twice"));
        let mut c = three();
        c.id = NodeId(9);
        assert!(rejected_with(&c, "is not one of nodes"));
        let mut c = three();
        c.push_fanout = 3;
        assert!(rejected_with(&c, "exceeds the 2 peers"));
        let mut c = three();
        c.sync_keys_max = 0;
        assert!(rejected_with(&c, "sync_keys_max is 0"));
        let mut c = three();
        c.gossip_interval_ticks = 0;
        assert!(rejected_with(&c, "gossip_interval_ticks is 0"));
    }

    #[test]
    fn names_parse_back_to_what_they_name() {
        for v in Variant::ALL {
            assert_eq!(Variant::parse(v.name()), Some(v));
        }
        for r in [Resolution::MultiValue, Resolution::Lww] {
            assert_eq!(Resolution::parse(r.name()), Some(r));
        }
        for p in [PeerChoice::RoundRobin, PeerChoice::Random] {
            assert_eq!(PeerChoice::parse(p.name()), Some(p));
        }
        assert_eq!(Variant::parse("nope"), None);
    }
}
