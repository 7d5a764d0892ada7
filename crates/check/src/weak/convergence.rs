//! Eventual convergence: after a quiet period the replicas agree, on a state the writes explain.
//!
//! Eventual consistency promises that when updates stop, replicas converge (Terry et al.,
//! *Managing Update Conflicts in Bayou*, SOSP 1995; strong eventual consistency, Shapiro,
//! Preguiça, Baquero & Zawirski, SSS 2011, asks that replicas that received the same updates
//! be equal). A history cannot see convergence happen, so the recorder reads each replica's
//! final state after a quiet period (`{"final":...}` lines, `json/finals.rs`), and the check
//! judges that state:
//!
//! ```text
//!   every key, every replica ──► the same value (or the same set of siblings)  else divergence
//!   each final value ──────────► some put to that key wrote it                 else thin air
//!                                (nil: no put to the key surely took effect)
//!   no write lost ─────────────► no put that surely took effect (acknowledged, or read by
//!                                someone) is missing while causally after a final value's
//!                                put (for a final nil: missing at all), unless a kept value
//!                                is causally after it                          else write lost
//!   no stale sibling ──────────► no kept value is causally before another kept value
//! ```
//!
//! Why "causally after": a put that follows the final value's put in `co` was issued by a
//! client that had seen (or itself made) the older value, so any sane merge keeps the newer
//! one; a put merely concurrent with it may lose to arbitration (last-writer-wins) without
//! anything being wrong. Last-writer-wins under clock skew loses exactly the causally later
//! write when its timestamp is smaller, and this check names it: "acknowledged write lost".
//! With siblings, a final set may keep several concurrent values, and the same rule applies to
//! each of them; a sibling causally before another sibling should have been merged away.
//!
//! A replica's keys that its final lines do not name are absent (the lines are a dump of its
//! store). Invariants: a violation names a key and its replicas' values; the priority of the
//! reported kind is divergence, then thin air, then a lost write, then a stale sibling; the
//! report counts the instances of its kind.

use std::collections::{BTreeMap, BTreeSet};

use super::causal::finish;
use super::order::CausalOrder;
use super::registers::Registers;
use super::verdict::{context, Step, Verdict, WeakModel, WeakReport};
use crate::history::{show_values, History};

/// Most replicas a report lists the values of, one line each.
const REPLICAS_SHOWN_MAX: usize = 12;

/// What the final state shows, key by key.
#[derive(Default)]
struct Issues {
    /// Keys the replicas disagree on.
    divergent: Vec<String>,
    /// (key, a value) no put wrote.
    thin_air: Vec<(String, String)>,
    /// (key, kept put or `None` for a final nil, the lost put).
    lost: Vec<(usize, Option<usize>, usize)>,
    /// (key, a kept sibling, a kept sibling causally after it).
    stale_siblings: Vec<(usize, usize, usize)>,
}

/// The eventual-convergence verdict of a history with final values (the caller refuses one
/// without any).
pub(crate) fn check(history: &History, view: &Registers<'_>, co: &CausalOrder) -> Verdict {
    let replicas: BTreeSet<u64> = history.finals().iter().map(|f| f.replica).collect();
    // key → replica → its values (absent keys are empty).
    let mut table: BTreeMap<&str, BTreeMap<u64, &[String]>> = BTreeMap::new();
    for key in &view.keys {
        table.insert(key, replicas.iter().map(|&r| (r, &[][..])).collect());
    }
    for f in history.finals() {
        let row = table
            .entry(&f.key)
            .or_insert_with(|| replicas.iter().map(|&r| (r, &[][..])).collect());
        row.insert(f.replica, &f.values);
    }
    let mut issues = Issues::default();
    for (key, row) in &table {
        let distinct: BTreeSet<&[String]> = row.values().copied().collect();
        if distinct.len() > 1 {
            issues.divergent.push(key.to_string());
        }
        for values in distinct {
            judge(view, co, key, values, &mut issues);
        }
    }
    issues.lost.sort_unstable();
    issues.lost.dedup();
    issues.stale_siblings.sort_unstable();
    issues.stale_siblings.dedup();
    report(view, co, &table, &issues).map_or(Verdict::Holds, |r| Verdict::Violation(Box::new(r)))
}

/// Whether one final value set of `key` is explained and keeps every write that took effect.
fn judge(
    view: &Registers<'_>,
    co: &CausalOrder,
    key: &str,
    values: &[String],
    issues: &mut Issues,
) {
    let Some(k) = view.key_id(key) else {
        for v in values {
            issues.thin_air.push((key.to_string(), v.clone()));
        }
        return;
    };
    let mut kept = Vec::with_capacity(values.len());
    for v in values {
        match view.put_of(k, v) {
            Some(w) => kept.push(w),
            None => issues.thin_air.push((key.to_string(), v.clone())),
        }
    }
    // Strictly after: on a cycle of co (CyclicCO, reported by the causal check) a put is
    // "after" itself and its cycle mates, which says nothing about what a merge should keep.
    let after = |a: usize, b: usize| co.before(a, b) && !co.before(b, a);
    for &older in &kept {
        if let Some(&newer) = kept.iter().find(|&&newer| after(older, newer)) {
            issues.stale_siblings.push((k, older, newer));
        }
    }
    // Gone: took effect, not kept, causally after a kept value (after nothing, for a final
    // nil), and not causally before a kept value (then a newer write rightly replaced it).
    let lost = view.puts_by_key[k]
        .iter()
        .copied()
        .filter(|&w| view.took_effect(w) && !kept.contains(&w))
        .filter(|&w| !kept.iter().any(|&s| after(w, s)))
        .filter_map(|w| match kept.iter().find(|&&s| after(s, w)) {
            Some(&s) => Some((Some(s), w)),
            None if values.is_empty() => Some((None, w)),
            None => None,
        })
        .min_by_key(|&(_, w)| (!view.ops[w].returned, w));
    if let Some((older, w)) = lost {
        issues.lost.push((k, older, w));
    }
}

/// The report of the first issue, by priority; `None` if there is none.
fn report(
    view: &Registers<'_>,
    co: &CausalOrder,
    table: &BTreeMap<&str, BTreeMap<u64, &[String]>>,
    issues: &Issues,
) -> Option<WeakReport> {
    let (mut report, key) = if let Some(key) = issues.divergent.first() {
        let headline = format!(
            "the replicas disagree after the quiet period on {} key(s); on {key}:",
            issues.divergent.len()
        );
        let mut r = WeakReport::new(WeakModel::Eventual, "divergence", headline);
        r.instances = issues.divergent.len();
        let (steps, ops) = writers(view, key, &table[key.as_str()]);
        r.steps = steps;
        if let Some(k) = view.key_id(key) {
            r.context = context(view, k, &ops);
        }
        (r, key.clone())
    } else if let Some((key, value)) = issues.thin_air.first() {
        let headline =
            format!("the replicas end with {key} = {value:?}, a value no put wrote to {key}:");
        let mut r = WeakReport::new(WeakModel::Eventual, "thin-air final value", headline);
        r.instances = issues.thin_air.len();
        if let Some(k) = view.key_id(key) {
            r.context = context(view, k, &[]);
        }
        (r, key.clone())
    } else if let Some(&(k, kept, lost)) = issues.lost.first() {
        let mut r = lost_write(view, co, k, kept, lost);
        r.instances = issues.lost.len();
        (r, view.keys[k].clone())
    } else {
        let &(k, older, newer) = issues.stale_siblings.first()?;
        let headline = format!(
            "the replicas keep {} as a sibling of {}, which is causally after it: a merge \
             should have dropped the older value",
            view.name(older),
            view.name(newer)
        );
        let links = co.path(older, newer).expect("older <co newer");
        let roles = [(older, "stale"), (newer, "newer")];
        let pattern = "causally overwritten sibling kept";
        let mut r = finish(
            view,
            WeakModel::Eventual,
            pattern,
            headline,
            &links,
            &roles,
            1,
        );
        r.instances = issues.stale_siblings.len();
        (r, view.keys[k].clone())
    };
    for (replica, values) in table[key.as_str()].iter().take(REPLICAS_SHOWN_MAX) {
        report.lines.push(format!(
            "  replica {replica}: {key} = {}",
            show_values(values)
        ));
    }
    if table[key.as_str()].len() > REPLICAS_SHOWN_MAX {
        report.lines.push(format!(
            "  (and {} more replicas)",
            table[key.as_str()].len() - REPLICAS_SHOWN_MAX
        ));
    }
    Some(report)
}

/// The puts that wrote the values the replicas ended with, each marked with its replicas,
/// and their op indices.
fn writers(
    view: &Registers<'_>,
    key: &str,
    row: &BTreeMap<u64, &[String]>,
) -> (Vec<Step>, Vec<usize>) {
    let Some(k) = view.key_id(key) else {
        return (Vec::new(), Vec::new());
    };
    let mut holders: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for (&replica, values) in row {
        for w in values.iter().filter_map(|v| view.put_of(k, v)) {
            holders.entry(w).or_default().push(replica);
        }
    }
    let ops: Vec<usize> = holders.keys().copied().collect();
    let steps = holders
        .into_iter()
        .map(|(w, replicas)| {
            let names: Vec<String> = replicas.iter().map(|r| r.to_string()).collect();
            Step {
                op: view.report_op(w),
                role: format!("kept by {}", names.join(",")),
                then: None,
            }
        })
        .collect();
    (steps, ops)
}

/// A put that surely took effect, lost: causally after the kept value's put, or any put at
/// all when the replicas end with nil.
fn lost_write(
    view: &Registers<'_>,
    co: &CausalOrder,
    k: usize,
    kept: Option<usize>,
    lost: usize,
) -> WeakReport {
    let how = if view.ops[lost].returned {
        "acknowledged"
    } else {
        "observed" // no return, but some read saw its value
    };
    let pattern = format!("{how} write lost");
    let seen = if view.ops[lost].returned {
        "returned ok".to_string()
    } else {
        format!(
            "never returned, but {} read its value",
            view.name(view.readers[lost][0])
        )
    };
    match kept {
        None => {
            let headline = format!(
                "{pattern}: {} {seen}, yet every replica ends with {} absent:",
                view.name(lost),
                view.keys[k]
            );
            finish(
                view,
                WeakModel::Eventual,
                &pattern,
                headline,
                &[(lost, None)],
                &[(lost, "lost")],
                1,
            )
        }
        Some(kept) => {
            let headline = format!(
                "{pattern}: {} {seen} and is causally after {}, yet every replica kept the \
                 older value:",
                view.name(lost),
                view.name(kept)
            );
            let links = co.path(kept, lost).expect("kept <co lost");
            let roles = [(kept, "kept"), (lost, "lost")];
            finish(
                view,
                WeakModel::Eventual,
                &pattern,
                headline,
                &links,
                &roles,
                1,
            )
        }
    }
}
