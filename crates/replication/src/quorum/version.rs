//! A key's version as one node holds it, and how two holdings merge: the one join every path
//! uses (a write reaching a replica, a read's replies, read repair, hinted handoff, Merkle sync).
//!
//! ```text
//!   Dvv: a DvvSet (clocks::DvvSet): siblings under their dots + every dot seen
//!        [c1.1@n1:1 c2.1@n2:1]{n1:1 n2:1}      two concurrent puts, both kept
//!   Lww: an LwwRegister (clocks::LwwRegister): one value under the largest stamp
//!        [c2.1@(14,0)@n2]                       the other put is gone, silently
//!
//!   a put at coordinator c, holding H for the key (DeCandia et al. §4.4):
//!     Dvv   H.put(context = everything H has seen, value, c)   the new dot supersedes every
//!           sibling c holds: "read your context" (see below)   sibling c holds
//!     Lww   a fresh register with c's stamp (clock.rs)
//!   merge(held, incoming):
//!     Dvv   DvvSet::merge: a join, so any order of replies, repairs and syncs ends the same
//!     Lww   the larger stamp: a join too
//!     vc-concurrent-as-ordered (broken): held dominates incoming? keep : take incoming whole
//! ```
//!
//! **Read your context.** Dynamo's client hands back the context of its last get with its
//! put, and the new version supersedes exactly what that client had read. This crate's client
//! vocabulary carries no context (a put is `key, value`), so the coordinator uses the context
//! of what *it* holds: the put supersedes every sibling the coordinator has, whether the
//! client ever read it or not. The cost is lost updates: two clients that each read "a" and
//! write through the same coordinator do not produce siblings; the second overwrites the
//! first. Siblings appear only between puts whose coordinators had not seen each other's
//! versions (a partition, a slow replica, two coordinators racing). The road not taken: a
//! context in the client vocabulary (`Put{context}`), which every other scheme would ignore.
//!
//! Invariants: a merge never mixes a DVV version with an LWW one (nodes configured alike);
//! `Dvv` merge is commutative, associative and idempotent (tests/quorum_properties.rs);
//! siblings of one key are at most one per coordinator, since each put's context holds every
//! earlier dot of its coordinator.

use std::fmt;

use clocks::{ClockError, Crdt, DvvSet, LwwRegister, LwwStamp};
use distributed_core::NodeId;
use sha2::{Digest, Sha256};

use crate::client::{Response, Value};
use crate::quorum::config::{Config, Resolution, Variant};

/// What one node holds for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// Siblings under dotted version vectors.
    Dvv(DvvSet<Value>),
    /// One value, last writer (by stamp) wins.
    Lww(LwwRegister<Value>),
}

/// How two versions merge, from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeRule {
    /// `DvvSet::merge`: keep every sibling neither side has seen superseded.
    Dvv,
    /// Broken on purpose (`Variant::VcConcurrentAsOrdered`): not dominated means newer.
    ConcurrentAsOrdered,
    /// `LwwRegister::merge`: the larger stamp.
    Lww,
}

impl MergeRule {
    /// The rule a node configured with `config` merges by.
    pub fn of(config: &Config) -> MergeRule {
        match (config.resolution, config.variant) {
            (Resolution::Dvv, Variant::VcConcurrentAsOrdered) => MergeRule::ConcurrentAsOrdered,
            (Resolution::Dvv, _) => MergeRule::Dvv,
            (Resolution::Lww, _) => MergeRule::Lww,
        }
    }
}

/// Why two versions could not be merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeError {
    /// One side keeps siblings, the other a single stamped value: nodes configured differently.
    MixedResolutions,
    /// The clocks crate refused (one dot or one stamp carrying two values: a node lost state).
    Clock(ClockError),
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::MixedResolutions => {
                f.write_str("a DVV version and an LWW version cannot merge (mixed configs)")
            }
            MergeError::Clock(e) => write!(f, "{e}"),
        }
    }
}

impl Version {
    /// The version a DVV put of `value` at coordinator `node` creates from what it holds:
    /// one sibling whose dot supersedes every sibling of `held` (read your context).
    pub fn dvv_put(
        held: Option<&Version>,
        value: Value,
        node: NodeId,
    ) -> Result<Version, MergeError> {
        let mut set = match held {
            None => DvvSet::new(),
            Some(Version::Dvv(set)) => set.clone(),
            Some(Version::Lww(_)) => return Err(MergeError::MixedResolutions),
        };
        let context = set.context().clone();
        set.put(&context, value, node).map_err(MergeError::Clock)?;
        assert_eq!(
            set.len(),
            1,
            "a put with the full context leaves one sibling"
        );
        Ok(Version::Dvv(set))
    }

    /// The version an LWW put of `value` stamped `stamp` creates.
    pub fn lww_put(value: Value, stamp: LwwStamp) -> Version {
        let mut register = LwwRegister::new();
        let won = register.write(value, stamp.time, stamp.node);
        assert_eq!(won, Ok(true), "a fresh register takes any write");
        Version::Lww(register)
    }

    /// Merge `incoming` into `self` by `rule`; true if `self` changed. Refused whole on error.
    pub fn merge(&mut self, incoming: &Version, rule: MergeRule) -> Result<bool, MergeError> {
        match (self, incoming, rule) {
            (Version::Dvv(held), Version::Dvv(theirs), MergeRule::ConcurrentAsOrdered) => {
                // The bug: "held does not dominate" read as "incoming is newer". Concurrent
                // siblings in `held` are dropped without anyone seeing them.
                if held.context().dominates(theirs.context()) {
                    return Ok(false);
                }
                *held = theirs.clone();
                Ok(true)
            }
            (Version::Dvv(held), Version::Dvv(theirs), _) => {
                let before = held.clone();
                held.merge(theirs).map_err(MergeError::Clock)?;
                assert!(held.context().dominates(theirs.context()));
                Ok(*held != before)
            }
            (Version::Lww(held), Version::Lww(theirs), _) => {
                let before = held.stamp();
                held.merge(theirs).map_err(MergeError::Clock)?;
                assert!(held.stamp() >= theirs.stamp(), "the larger stamp stays");
                Ok(held.stamp() != before)
            }
            _ => Err(MergeError::MixedResolutions),
        }
    }

    /// The distinct values held, sorted: siblings for DVV, at most one for LWW.
    pub fn values(&self) -> Vec<Value> {
        let mut values: Vec<Value> = match self {
            Version::Dvv(set) => set.get().0.into_iter().cloned().collect(),
            Version::Lww(register) => register.get().cloned().into_iter().collect(),
        };
        values.sort();
        values.dedup();
        values
    }

    /// What a get answers: `Value` for none or one value, `Siblings` for several.
    pub fn response(version: Option<&Version>) -> Response {
        let mut values = version.map(Version::values).unwrap_or_default();
        match values.len() {
            0 => Response::Value(None),
            1 => Response::Value(values.pop()),
            _ => Response::Siblings(values),
        }
    }

    /// The LWW stamp, if this is an LWW version that was written.
    pub fn stamp(&self) -> Option<LwwStamp> {
        match self {
            Version::Lww(register) => register.stamp(),
            Version::Dvv(_) => None,
        }
    }

    /// How many siblings (DVV) or values (LWW, 0 or 1).
    pub fn siblings(&self) -> usize {
        match self {
            Version::Dvv(set) => set.len(),
            Version::Lww(register) => usize::from(register.get().is_some()),
        }
    }

    /// Feed a canonical encoding of this version to `hasher`: equal versions, equal bytes,
    /// whatever order their merges happened in (every container here is ordered).
    pub fn digest_into(&self, hasher: &mut Sha256) {
        let mut bytes = |b: &[u8]| {
            hasher.update((b.len() as u32).to_be_bytes());
            hasher.update(b);
        };
        match self {
            Version::Dvv(set) => {
                bytes(b"dvv");
                for (dot, value) in set.siblings() {
                    bytes(&dot.node.0.to_be_bytes());
                    bytes(&dot.counter.to_be_bytes());
                    bytes(value.as_bytes());
                }
                for (node, counter) in set.context().iter() {
                    bytes(&node.0.to_be_bytes());
                    bytes(&counter.to_be_bytes());
                }
            }
            Version::Lww(register) => {
                bytes(b"lww");
                if let (Some(stamp), Some(value)) = (register.stamp(), register.get()) {
                    bytes(&stamp.time.wall.to_be_bytes());
                    bytes(&stamp.time.logical.to_be_bytes());
                    bytes(&stamp.node.0.to_be_bytes());
                    bytes(value.as_bytes());
                }
            }
        }
    }
}

/// `[a@n1:2 b@n2:1]{n1:2 n2:1}` (siblings with their dots, then the context) or `[a@(14,0)@n2]`.
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Dvv(set) => {
                let siblings: Vec<String> = set
                    .siblings()
                    .map(|(dot, v)| format!("{v}@{dot}"))
                    .collect();
                write!(f, "[{}]{}", siblings.join(" "), set.context())
            }
            Version::Lww(register) => match (register.get(), register.stamp()) {
                (Some(v), Some(stamp)) => write!(f, "[{v}@{stamp}]"),
                _ => f.write_str("[]"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use clocks::HlcTimestamp;

    use super::*;

    fn n(id: u64) -> NodeId {
        NodeId(id)
    }

    fn put(held: Option<&Version>, value: &str, node: u64) -> Version {
        Version::dvv_put(held, value.to_string(), n(node)).unwrap()
    }

    #[test]
    fn a_put_supersedes_every_sibling_its_coordinator_holds() {
        let a = put(None, "a", 1);
        let b = put(None, "b", 2);
        let mut held = a.clone();
        held.merge(&b, MergeRule::Dvv).unwrap();
        assert_eq!(held.to_string(), "[a@n1:1 b@n2:1]{n1:1 n2:1}");
        let c = put(Some(&held), "c", 1);
        assert_eq!(c.to_string(), "[c@n1:2]{n1:2 n2:1}");
        held.merge(&c, MergeRule::Dvv).unwrap();
        assert_eq!(held, c, "read your context: c's coordinator held both");
    }

    #[test]
    fn concurrent_puts_become_siblings_and_a_get_returns_them_sorted() {
        let mut held = put(None, "zeta", 1);
        held.merge(&put(None, "alpha", 2), MergeRule::Dvv).unwrap();
        assert_eq!(
            Version::response(Some(&held)),
            Response::Siblings(vec!["alpha".into(), "zeta".into()])
        );
        assert_eq!(Version::response(None), Response::Value(None));
    }

    #[test]
    fn merging_what_is_already_held_changes_nothing() {
        let a = put(None, "a", 1);
        let mut held = a.clone();
        assert_eq!(held.merge(&a, MergeRule::Dvv), Ok(false));
        let older = put(None, "old", 3);
        let mut newer = older.clone();
        newer = put(Some(&newer), "new", 3);
        let mut stays = newer.clone();
        assert_eq!(stays.merge(&older, MergeRule::Dvv), Ok(false));
        assert_eq!(stays, newer);
    }

    #[test]
    fn the_broken_merge_drops_a_concurrent_sibling_and_depends_on_arrival_order() {
        let (a, b) = (put(None, "a", 1), put(None, "b", 2));
        let rule = MergeRule::ConcurrentAsOrdered;
        let mut ab = a.clone();
        ab.merge(&b, rule).unwrap();
        let mut ba = b.clone();
        ba.merge(&a, rule).unwrap();
        assert_eq!(ab.values(), vec!["b".to_string()]);
        assert_eq!(ba.values(), vec!["a".to_string()]);
        let mut kept = put(Some(&a), "a2", 1);
        assert_eq!(
            kept.merge(&a, rule),
            Ok(false),
            "it still keeps what dominates"
        );
    }

    #[test]
    fn lww_keeps_the_larger_stamp_and_says_whether_it_changed() {
        let stamp = |wall, node| LwwStamp {
            time: HlcTimestamp::new(wall, 0),
            node: n(node),
        };
        let mut held = Version::lww_put("late".into(), stamp(20, 1));
        let early = Version::lww_put("early".into(), stamp(10, 2));
        assert_eq!(held.merge(&early, MergeRule::Lww), Ok(false));
        assert_eq!(held.to_string(), "[late@(20,0)@n1]");
        let mut e = early.clone();
        assert_eq!(e.merge(&held, MergeRule::Lww), Ok(true));
        assert_eq!(e, held);
        assert_eq!(
            held.merge(&put(None, "x", 1), MergeRule::Lww),
            Err(MergeError::MixedResolutions)
        );
    }

    #[test]
    fn equal_versions_digest_alike_and_different_ones_do_not() {
        let digest = |v: &Version| {
            let mut h = Sha256::new();
            v.digest_into(&mut h);
            h.finalize()
        };
        let (a, b) = (put(None, "a", 1), put(None, "b", 2));
        let mut ab = a.clone();
        ab.merge(&b, MergeRule::Dvv).unwrap();
        let mut ba = b.clone();
        ba.merge(&a, MergeRule::Dvv).unwrap();
        assert_eq!(digest(&ab), digest(&ba));
        assert_ne!(digest(&a), digest(&b));
    }
}
