//! One key's register as a lattice: an MV-register in causal-CRDT form, or an LWW-register;
//! and the merge rules, correct and broken.
//!
//! **MV-register** (Shapiro et al. 2011 §3.2.2), written as a causal δ-CRDT (Almeida, Shoker
//! & Baquero, "Delta State Replicated Data Types", JPDC 2018, §6: a dot store plus a causal
//! context). Each put is named by a dot the coordinating node issues; the register keeps the
//! surviving puts under their dots, and the causal context of every dot it has seen.
//!
//! ```text
//!   state: siblings {dot ↦ value}, context C (dots seen: a version vector + a dot cloud)
//!
//!   put(S, v, n):   drop every sibling whose dot ∈ S      S: what the client had seen
//!                   dot := (n, max counter of n in C ∪ S) + 1
//!                   siblings += {dot ↦ v};  C := C ∪ S ∪ {dot}
//!
//!   merge(a, b):    keep a's sibling if b holds it too or b never saw its dot; same for b
//!                   (seen and not held: something b holds superseded it).  C := Ca ∪ Cb
//!
//!   n1: put({}, "a") ─► [a@n1:1]{n1:1}   ──┐
//!   n2: put({}, "b") ─► [b@n2:1]{n2:1}   ──┴─ merge ─► [a@n1:1 b@n2:1]{n1:1 n2:1}   siblings
//!   n3 (holds both): put({n1:1 n2:1}, "c") ─► [c@n3:1]{n1:1 n2:1 n3:1}            replaces
//! ```
//!
//! Why a causal context and not `clocks::DvvSet`'s version vector: a put here supersedes what
//! its *client* had seen (crdt_store/state.rs, sessions), which is not downward closed. A client
//! that wrote `n1:2` blind while another client's `n1:1` stood beside it has seen `n1:2` and
//! not `n1:1`; as a version vector `{n1:2}` would claim both, and its next put would silently
//! drop `n1:1`. A causal context says exactly `{n1:2}`. (The register's own context stays a
//! version vector in practice: a node issues its dots in order and ships whole states.)
//!
//! **LWW-register**: `clocks::LwwRegister` as is: the larger (HLC time, node) stamp wins.
//!
//! **Broken on purpose** (`MergeRule`): `ConcurrentAsOrdered` compares the two contexts as
//! version vectors and, when they are concurrent, takes the incoming siblings instead of
//! joining them; `ArrivalOrder` keeps whichever LWW state arrived last. Both still union what
//! was seen, so no dot is ever issued twice: what breaks is only which values survive.
//!
//! Invariants: every sibling's dot is in the context (asserted after every change); a put
//! whose `S` claims dots of its own node past those the register holds is refused (the node
//! would reissue one); a put is refused past `clocks::SIBLINGS_MAX` siblings (a merge is not:
//! refusing anti-entropy would stop convergence); one dot never names two values (a merge that
//! finds one is refused whole).

use std::collections::BTreeMap;
use std::fmt;

use clocks::{CausalContext, Causality, ClockError, Dot, LwwRegister, SIBLINGS_MAX};
use distributed_core::NodeId;

use crate::client::Value;

/// An MV-register: surviving puts under their dots, and every dot seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Siblings {
    /// The puts no put known here superseded, pairwise concurrent.
    values: BTreeMap<Dot, Value>,
    /// Every dot seen, kept or superseded.
    context: CausalContext,
}

impl Siblings {
    /// A register never written.
    pub fn new() -> Siblings {
        Siblings::default()
    }

    /// A put of `value` coordinated by `node` whose client had seen `supersedes`: drops the
    /// siblings it names and returns the new put's dot. Refused, with nothing changed, if
    /// `supersedes` claims dots of `node` this register never held or past `SIBLINGS_MAX`.
    pub fn put(
        &mut self,
        supersedes: &CausalContext,
        value: Value,
        node: NodeId,
    ) -> Result<Dot, ClockError> {
        let (claimed, issued) = (supersedes.max_counter(node), self.context.max_counter(node));
        if claimed > issued {
            return Err(ClockError::ContextAheadOfNode {
                node,
                claimed,
                issued,
            });
        }
        let kept = self
            .values
            .keys()
            .filter(|d| !supersedes.contains(**d))
            .count();
        if kept + 1 > SIBLINGS_MAX {
            return Err(ClockError::TooManyElements {
                what: "MV-register siblings",
                count: kept + 1,
                max: SIBLINGS_MAX,
            });
        }
        let mut seen = self.context.clone();
        seen.merge(supersedes)?;
        let dot = seen.issue(node)?;
        self.values.retain(|d, _| !supersedes.contains(*d));
        self.values.insert(dot, value);
        self.context = seen;
        self.assert_siblings_seen();
        Ok(dot)
    }

    /// The join (see the module docs); true if `self` changed. Refused whole if one dot
    /// names two values.
    pub fn merge(&mut self, other: &Siblings) -> Result<bool, ClockError> {
        let mut context = self.context.clone();
        context.merge(&other.context)?;
        let mut values = BTreeMap::new();
        for (&dot, value) in &self.values {
            match other.values.get(&dot) {
                Some(theirs) if theirs != value => return Err(conflict(dot)),
                Some(_) => {
                    values.insert(dot, value.clone());
                }
                None if !other.context.contains(dot) => {
                    values.insert(dot, value.clone());
                }
                None => {}
            }
        }
        for (&dot, value) in &other.values {
            if !self.context.contains(dot) {
                values.insert(dot, value.clone());
            }
        }
        Ok(self.replace(values, context))
    }

    /// Broken on purpose: "the incoming context is not behind mine" read as "the incoming
    /// state is newer", so concurrent siblings held here are dropped. Contexts still union.
    pub fn merge_concurrent_as_ordered(&mut self, other: &Siblings) -> Result<bool, ClockError> {
        let mut context = self.context.clone();
        context.merge(&other.context)?;
        let values = match self.context.version().compare(other.context.version()) {
            Causality::After | Causality::Equal => self.values.clone(),
            // Right for Before; the bug for Concurrent, which needs the join.
            Causality::Before | Causality::Concurrent => other.values.clone(),
        };
        Ok(self.replace(values, context))
    }

    fn replace(&mut self, values: BTreeMap<Dot, Value>, context: CausalContext) -> bool {
        let changed = values != self.values || context != self.context;
        self.values = values;
        self.context = context;
        self.assert_siblings_seen();
        changed
    }

    /// The siblings with their dots, in dot order.
    pub fn siblings(&self) -> impl Iterator<Item = (Dot, &Value)> + '_ {
        self.values.iter().map(|(&d, v)| (d, v))
    }

    /// Every dot seen.
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// How many siblings survive.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True if never written.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn assert_siblings_seen(&self) {
        for dot in self.values.keys() {
            assert!(
                self.context.contains(*dot),
                "sibling {dot} outside its context {}",
                self.context
            );
        }
    }
}

fn conflict(dot: Dot) -> ClockError {
    ClockError::ConflictingContent {
        what: "MV-register sibling",
        id: dot.to_string(),
    }
}

/// `[a@n1:1 b@n2:1]{n1:1 n2:1}`: siblings with their dots, then the context.
impl fmt::Display for Siblings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let siblings: Vec<String> = self.siblings().map(|(d, v)| format!("{v}@{d}")).collect();
        write!(f, "[{}]{}", siblings.join(" "), self.context)
    }
}

/// One key's register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Register {
    /// Siblings under dots.
    Mv(Siblings),
    /// One value under the largest stamp.
    Lww(LwwRegister<Value>),
}

/// How two registers merge, from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeRule {
    /// The MV join.
    Mv,
    /// Broken on purpose: concurrent contexts read as "incoming is newer".
    ConcurrentAsOrdered,
    /// The larger LWW stamp.
    Lww,
    /// Broken on purpose: the LWW state that arrived last.
    ArrivalOrder,
}

/// Why two registers could not be merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeError {
    /// One is an MV-register, the other an LWW-register: nodes configured differently.
    MixedResolutions,
    /// The clocks crate refused (one dot or one stamp with two values: a node lost state).
    Clock(ClockError),
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::MixedResolutions => {
                f.write_str("an MV-register and an LWW-register cannot merge (mixed configs)")
            }
            MergeError::Clock(e) => write!(f, "{e}"),
        }
    }
}

impl Register {
    /// Merge `incoming` into `self` by `rule`; true if `self` changed. Refused whole on error.
    pub fn merge(&mut self, incoming: &Register, rule: MergeRule) -> Result<bool, MergeError> {
        match (self, incoming, rule) {
            (Register::Mv(held), Register::Mv(theirs), MergeRule::ConcurrentAsOrdered) => held
                .merge_concurrent_as_ordered(theirs)
                .map_err(MergeError::Clock),
            (Register::Mv(held), Register::Mv(theirs), _) => {
                held.merge(theirs).map_err(MergeError::Clock)
            }
            (Register::Lww(held), Register::Lww(theirs), MergeRule::ArrivalOrder) => {
                // The bug: no stamp compared; what arrived replaces what was here.
                let changed = held != theirs && theirs.get().is_some();
                if changed {
                    *held = theirs.clone();
                }
                Ok(changed)
            }
            (Register::Lww(held), Register::Lww(theirs), _) => {
                let before = held.stamp();
                clocks::Crdt::merge(held, theirs).map_err(MergeError::Clock)?;
                assert!(held.stamp() >= theirs.stamp(), "the larger stamp stays");
                Ok(held.stamp() != before)
            }
            _ => Err(MergeError::MixedResolutions),
        }
    }

    /// The distinct values held, sorted: siblings (MV), at most one (LWW).
    pub fn values(&self) -> Vec<Value> {
        let mut values: Vec<Value> = match self {
            Register::Mv(s) => s.siblings().map(|(_, v)| v.clone()).collect(),
            Register::Lww(r) => r.get().cloned().into_iter().collect(),
        };
        values.sort();
        values.dedup();
        values
    }
}

/// The MV register as [`Siblings`] prints it, or `[a@(14,0)@n2]` for LWW.
impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Register::Mv(s) => s.fmt(f),
            Register::Lww(r) => match (r.get(), r.stamp()) {
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

    fn blind(r: &mut Siblings, value: &str, node: u64) -> Dot {
        r.put(&CausalContext::new(), value.into(), n(node)).unwrap()
    }

    fn seen(dots: &[Dot]) -> CausalContext {
        CausalContext::from_dots(dots.iter().copied()).unwrap()
    }

    #[test]
    fn concurrent_puts_are_siblings_until_a_put_that_saw_both() {
        // Shapiro et al. 2011 §3.2.2: the merge keeps the maximal, pairwise concurrent puts.
        let (mut a, mut b) = (Siblings::new(), Siblings::new());
        blind(&mut a, "a", 1);
        blind(&mut b, "b", 2);
        assert!(a.merge(&b).unwrap());
        assert_eq!(a.to_string(), "[a@n1:1 b@n2:1]{n1:1 n2:1}");
        let both = a.context().clone();
        a.put(&both, "c".into(), n(3)).unwrap();
        assert_eq!(a.to_string(), "[c@n3:1]{n1:1 n2:1 n3:1}");
        assert!(b.merge(&a).unwrap());
        assert_eq!(a, b, "the resolution reaches the other replica");
    }

    #[test]
    fn a_put_supersedes_exactly_what_its_client_saw_even_with_a_gap() {
        // Two clients write blind through n1: n1:1 and n1:2 are siblings. The second client
        // writes again having seen only its own n1:2; a version vector {n1:2} would also drop
        // n1:1, which that client never saw. The causal context keeps it.
        let mut r = Siblings::new();
        let first = blind(&mut r, "x1", 1);
        let mine = blind(&mut r, "y1", 1);
        r.put(&seen(&[mine]), "y2".into(), n(1)).unwrap();
        let values: Vec<&Value> = r.siblings().map(|(_, v)| v).collect();
        assert_eq!(values, ["x1", "y2"]);
        assert!(r.siblings().any(|(d, _)| d == first));
    }

    #[test]
    fn a_put_claiming_dots_its_node_never_issued_is_refused() {
        let mut r = Siblings::new();
        let forged = seen(&[Dot::new(n(1), 4)]);
        let err = r.put(&forged, "x".into(), n(1)).unwrap_err();
        assert!(
            matches!(err, ClockError::ContextAheadOfNode { claimed: 4, .. }),
            "{err}"
        );
        assert!(r.is_empty());
    }

    #[test]
    fn one_dot_with_two_values_is_refused_whole() {
        let (mut a, mut b) = (Siblings::new(), Siblings::new());
        blind(&mut a, "x", 1);
        blind(&mut b, "y", 1);
        let before = a.clone();
        assert!(matches!(
            a.merge(&b),
            Err(ClockError::ConflictingContent { .. })
        ));
        assert_eq!(a, before);
    }

    #[test]
    fn the_broken_merge_drops_a_concurrent_sibling_and_depends_on_direction() {
        let (mut a, mut b) = (Siblings::new(), Siblings::new());
        blind(&mut a, "a", 1);
        blind(&mut b, "b", 2);
        let (mut ab, mut ba) = (a.clone(), b.clone());
        ab.merge_concurrent_as_ordered(&b).unwrap();
        ba.merge_concurrent_as_ordered(&a).unwrap();
        assert_eq!(ab.to_string(), "[b@n2:1]{n1:1 n2:1}");
        assert_eq!(ba.to_string(), "[a@n1:1]{n1:1 n2:1}");
        assert!(
            !ab.merge_concurrent_as_ordered(&ba).unwrap(),
            "equal contexts: each keeps its own sibling, for ever"
        );
    }

    #[test]
    fn lww_keeps_the_larger_stamp_and_the_broken_rule_the_last_arrival() {
        let at = |wall, node| {
            let mut r = LwwRegister::new();
            r.write(format!("v{wall}"), HlcTimestamp::new(wall, 0), n(node))
                .unwrap();
            Register::Lww(r)
        };
        let (late, early) = (at(20, 1), at(10, 2));
        let mut held = late.clone();
        assert_eq!(held.merge(&early, MergeRule::Lww), Ok(false));
        assert_eq!(held.to_string(), "[v20@(20,0)@n1]");
        assert_eq!(held.merge(&early, MergeRule::ArrivalOrder), Ok(true));
        assert_eq!(held, early, "the older state arrived last and won");
        let mv = Register::Mv(Siblings::new());
        assert_eq!(
            held.merge(&mv, MergeRule::Lww),
            Err(MergeError::MixedResolutions)
        );
    }
}
