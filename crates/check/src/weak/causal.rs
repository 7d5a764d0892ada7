//! Causal consistency (CC) by bad patterns: polynomial for histories with unique values.
//!
//! A history is causally consistent if each read can be explained by *some* order of the
//! writes in its causal past that respects `co`: every client may see concurrent writes in its
//! own order, but never a write before what caused it. Bouajjani, Enea, Guerraoui & Hamza,
//! *On Verifying Causal Consistency* (POPL 2017; arXiv:1611.00580), show that checking this is
//! NP-complete in general but that a *differentiated* history (each value written once, as
//! `registers.rs` demands) is CC iff none of four bad patterns occurs (their bad-pattern
//! characterisation of CC for the read/write memory, with `co = (so ∪ wr)+`):
//!
//! ```text
//!   CyclicCO         a →co … →co a            an op causally depends on itself (a read
//!                                              saw a value written causally after it)
//!   WriteCOInitRead  put(x,v) →co get(x) -> nil
//!                                              a put to x is in the read's causal past,
//!                                              yet the read saw the initial value
//!   ThinAirRead      get(x) -> v, and no put(x,v) at all
//!   WriteCORead      put(x,v1) →co put(x,v2) →co get(x) -> v1
//!                                              the read saw a value that a causally later
//!                                              put, also in its causal past, overwrote
//! ```
//!
//! Cost: the closure (`order.rs`, O(n²/64) words), then per read a scan of its key's puts:
//! O(reads × puts per key) bit tests. Evidence for a violation: the shortest chain of so/wr
//! edges that forms the pattern, among the first [`EVIDENCE_CANDIDATES_MAX`] reads that break
//! it. The report names the first pattern found in the paper's order and counts all four.
//!
//! Invariants: `Holds` only after all four patterns were searched for on every read; every
//! chain in a report is made of real edges of the history.

use super::order::{CausalOrder, Link};
use super::registers::{ReadsFrom, Registers};
use super::verdict::{
    chain, context, join, Verdict, WeakModel, WeakReport, EVIDENCE_CANDIDATES_MAX,
};

/// What the four patterns found: the reads (or cycles) that break each.
pub(crate) struct Patterns {
    /// Cycles of the causal order (each a component of more than one op).
    pub cyclic: usize,
    /// Reads of nil with a put to their key in their causal past.
    pub init_reads: Vec<usize>,
    /// Reads of a value no put wrote.
    pub thin_air: Vec<usize>,
    /// Reads of a value causally overwritten before them.
    pub overwritten: Vec<usize>,
}

impl Patterns {
    /// Search every read for every pattern.
    pub fn find(view: &Registers<'_>, co: &CausalOrder) -> Self {
        let mut found = Patterns {
            cyclic: co.cycles().len(),
            init_reads: Vec::new(),
            thin_air: Vec::new(),
            overwritten: Vec::new(),
        };
        for r in 0..view.ops.len() {
            match view.reads_from(r) {
                Some(ReadsFrom::Nowhere) => found.thin_air.push(r),
                Some(ReadsFrom::Init) => {
                    let puts = &view.puts_by_key[view.ops[r].key];
                    if puts.iter().any(|&w| co.before(w, r)) {
                        found.init_reads.push(r);
                    }
                }
                Some(ReadsFrom::Put(w1)) if overwriter(view, co, w1, r).is_some() => {
                    found.overwritten.push(r);
                }
                Some(ReadsFrom::Put(_)) | None => {}
            }
        }
        found
    }

    /// One line counting each pattern.
    fn summary(&self) -> String {
        format!(
            "bad patterns: CyclicCO {} cycle(s), WriteCOInitRead {} read(s), ThinAirRead {} \
             read(s), WriteCORead {} read(s)",
            self.cyclic,
            self.init_reads.len(),
            self.thin_air.len(),
            self.overwritten.len()
        )
    }
}

/// A put to `w1`'s key with `w1 <co w2 <co r`, if any (the first in op order).
fn overwriter(view: &Registers<'_>, co: &CausalOrder, w1: usize, r: usize) -> Option<usize> {
    view.puts_by_key[view.ops[r].key]
        .iter()
        .copied()
        .find(|&w2| w2 != w1 && co.before(w2, r) && co.before(w1, w2))
}

/// The causal-consistency verdict of a register view.
pub(crate) fn check(view: &Registers<'_>, co: &CausalOrder) -> Verdict {
    let found = Patterns::find(view, co);
    report(view, co, &found, WeakModel::Causal)
        .map_or(Verdict::Holds, |r| Verdict::Violation(Box::new(r)))
}

/// The report of the first pattern found, in the paper's order, filed under `model` (SC
/// reuses it: a history that is not CC is not SC); `None` if no pattern occurs.
pub(crate) fn report(
    view: &Registers<'_>,
    co: &CausalOrder,
    found: &Patterns,
    model: WeakModel,
) -> Option<WeakReport> {
    let mut report = if found.cyclic > 0 {
        cyclic(view, co, found.cyclic, model)
    } else if !found.init_reads.is_empty() {
        init_read(view, co, &found.init_reads, model)
    } else if !found.thin_air.is_empty() {
        thin_air(view, &found.thin_air, model)
    } else if !found.overwritten.is_empty() {
        overwritten(view, co, &found.overwritten, model)
    } else {
        return None;
    };
    report.lines.push(found.summary());
    Some(report)
}

/// CyclicCO: the shortest cycle through the first op of the smallest cycle.
fn cyclic(view: &Registers<'_>, co: &CausalOrder, cycles: usize, model: WeakModel) -> WeakReport {
    let start = co.cycles()[0][0];
    let mut links = co.path(start, start).expect("a cycle's op lies on a cycle");
    links.pop(); // the path ends where it began: show each op once
    let ops: Vec<usize> = links.iter().map(|l| l.0).collect();
    let headline = format!(
        "the causal order has a cycle of {} ops: each is causally before the next, and the \
         last before the first, so an op depends on itself (a read saw a value written \
         causally after it)",
        ops.len()
    );
    let mut report = WeakReport::new(model, "CyclicCO", headline);
    report.steps = chain(view, &links, &[]);
    report.closes_cycle = true;
    report.instances = cycles;
    report.context = context(view, view.ops[start].key, &ops);
    report
}

/// WriteCOInitRead: a read of nil with a put to its key in its causal past.
fn init_read(
    view: &Registers<'_>,
    co: &CausalOrder,
    reads: &[usize],
    model: WeakModel,
) -> WeakReport {
    let best = reads
        .iter()
        .take(EVIDENCE_CANDIDATES_MAX)
        .map(|&r| {
            let to_r = co.distances(r, false);
            let w = view.puts_by_key[view.ops[r].key]
                .iter()
                .copied()
                .filter(|&w| co.before(w, r))
                .min_by_key(|&w| (to_r[w], w))
                .expect("a WriteCOInitRead read has a put in its causal past");
            (co.path(w, r).expect("w <co r"), w, r)
        })
        .min_by_key(|(links, _, r)| (links.len(), *r))
        .expect("at least one read");
    let (links, w, r) = best;
    let headline = format!(
        "{} read nil (the initial value), although {} put to {} causally before the read",
        view.name(r),
        view.name(w),
        view.keys[view.ops[r].key]
    );
    finish(
        view,
        model,
        "WriteCOInitRead",
        headline,
        &links,
        &[(w, "w"), (r, "r")],
        reads.len(),
    )
}

/// ThinAirRead: a read of a value no put wrote to its key.
fn thin_air(view: &Registers<'_>, reads: &[usize], model: WeakModel) -> WeakReport {
    let r = reads[0];
    let headline = format!(
        "{} read a value that no put wrote to {}",
        view.name(r),
        view.keys[view.ops[r].key]
    );
    finish(
        view,
        model,
        "ThinAirRead",
        headline,
        &[(r, None)],
        &[(r, "r")],
        reads.len(),
    )
}

/// WriteCORead: `w1 <co w2 <co r`, both puts to `r`'s key, and `r` read `w1`'s value.
fn overwritten(
    view: &Registers<'_>,
    co: &CausalOrder,
    reads: &[usize],
    model: WeakModel,
) -> WeakReport {
    let (links, w1, w2, r) = reads
        .iter()
        .take(EVIDENCE_CANDIDATES_MAX)
        .map(|&r| {
            let Some(ReadsFrom::Put(w1)) = view.reads_from(r) else {
                panic!("a WriteCORead read reads from a put");
            };
            let (from_w1, to_r) = (co.distances(w1, true), co.distances(r, false));
            let w2 = view.puts_by_key[view.ops[r].key]
                .iter()
                .copied()
                .filter(|&w2| w2 != w1 && co.before(w2, r) && co.before(w1, w2))
                .min_by_key(|&w2| (u64::from(from_w1[w2]) + u64::from(to_r[w2]), w2))
                .expect("a WriteCORead read has an overwriting put");
            let links = join(
                co.path(w1, w2).expect("w1 <co w2"),
                co.path(w2, r).expect("w2 <co r"),
            );
            (links, w1, w2, r)
        })
        .min_by_key(|(links, _, _, r)| (links.len(), *r))
        .expect("at least one read");
    let headline = format!(
        "{} read the value of {}, which {} overwrote causally before the read",
        view.name(r),
        view.name(w1),
        view.name(w2)
    );
    let roles = [(w1, "w1"), (w2, "w2"), (r, "r")];
    finish(
        view,
        model,
        "WriteCORead",
        headline,
        &links,
        &roles,
        reads.len(),
    )
}

/// A chain report with its context (other ops on the last op's key).
pub(crate) fn finish(
    view: &Registers<'_>,
    model: WeakModel,
    pattern: &str,
    headline: String,
    links: &[Link],
    roles: &[(usize, &str)],
    instances: usize,
) -> WeakReport {
    let mut report = WeakReport::new(model, pattern, headline);
    report.steps = chain(view, links, roles);
    report.instances = instances;
    let ops: Vec<usize> = links.iter().map(|l| l.0).collect();
    let last = *ops.last().expect("a chain has an op");
    report.context = context(view, view.ops[last].key, &ops);
    report
}
