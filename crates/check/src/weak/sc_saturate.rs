//! Saturation: what every sequential order must put first, inferred from what reads saw.
//!
//! With reads-from known (unique values), a sequential order must respect more than session
//! order and reads-from. For a read `r` of key `x` that saw put `w`, and another put `w'` to
//! `x`, nothing may come between `w` and `r` that overwrites `x`:
//!
//! ```text
//!   R1  w' → … → r   (w' must precede r)    ⇒  w' → w    else  w < w' < r: r would see w'
//!   R2  w → … → w'   (w' must follow w)     ⇒  r → w'    same reason
//!   R3  r saw nil                           ⇒  r → w'    for every put w' to x
//! ```
//!
//! Each rule adds a *before* edge; the rules are applied until nothing changes (the closure
//! kept as ancestor bitsets, like `order.rs`). A cycle proves there is no sequential order,
//! and the cycle, with the read behind each inferred edge, is the evidence. Without a cycle,
//! the edges stay and the search (`sc_search.rs`) places an op only after everything that must
//! precede it, which cuts most of its wrong turns: on a history where real time and the one
//! order disagree everywhere, the search alone thrashes on a few hundred ops.
//!
//! The same idea checks causal consistency polynomially and then feeds sequential
//! consistency: Bouajjani, Enea, Mutluergil & Tasiran, *Gradual Consistency Checking*
//! (CAV 2019). Cost: a pass is O(reads × puts per key); an added edge costs O(n²/64) to close.
//! Bounds: [`SATURATION_OPS_MAX`] ops and [`SATURATION_EDGES_MAX`] added edges; past them the
//! edges found so far stay (each is sound on its own) and the search does the rest.

use std::collections::VecDeque;

use super::order::{Bits, Link};
use super::registers::ReadsFrom;
use super::sc_search::Problem;
use super::verdict::Edge;

/// Most ops saturation runs on (its closure takes `n²/8` bytes).
pub const SATURATION_OPS_MAX: usize = 20_000;

/// Most edges saturation adds before it stops inferring (each costs up to `n²/64` words).
pub const SATURATION_EDGES_MAX: usize = 20_000;

/// Most passes over the reads.
const SATURATION_PASSES_MAX: usize = 64;

/// A cycle of must-come-before edges: no sequential order exists.
pub(crate) struct Cycle {
    /// The cycle's ops, each with its edge to the next (the last one's leads to the first).
    pub links: Vec<Link>,
}

/// Add the inferred edges to `p`; `Err` if they close a cycle.
pub(crate) fn saturate(p: &mut Problem<'_, '_>) -> Result<(), Cycle> {
    let view = p.view;
    let n = view.ops.len();
    if n > SATURATION_OPS_MAX {
        return Ok(());
    }
    let mut anc = closure(p);
    let mut added = 0;
    for _ in 0..SATURATION_PASSES_MAX {
        let before_pass = added;
        for r in 0..n {
            let Some(from) = view.reads_from(r).filter(|_| p.required[r]) else {
                continue;
            };
            let puts: Vec<usize> = view.puts_by_key[view.ops[r].key]
                .iter()
                .copied()
                .filter(|&w| p.required[w])
                .collect();
            for w2 in puts {
                let (a, b) = match from {
                    ReadsFrom::Init => (r, w2),
                    ReadsFrom::Put(w) if w == w2 => continue,
                    ReadsFrom::Put(w) if anc[r].contains(w2) => (w2, w), // R1
                    ReadsFrom::Put(w) if anc[w2].contains(w) => (r, w2), // R2
                    _ => continue,
                };
                if a == b || anc[a].contains(b) {
                    return Err(cycle(p, &anc, a, b, r));
                }
                if anc[b].contains(a) {
                    continue;
                }
                p.edge(a, b, Edge::Before);
                p.why.insert((a, b), r);
                close(&mut anc, a, b);
                added += 1;
                if added >= SATURATION_EDGES_MAX {
                    return Ok(());
                }
            }
        }
        if added == before_pass {
            break;
        }
    }
    Ok(())
}

/// Ancestor sets of the problem's edges (so and wr: acyclic, since the history is causal).
fn closure(p: &Problem<'_, '_>) -> Vec<Bits> {
    let n = p.preds.len();
    let mut indegree: Vec<usize> = p.preds.iter().map(Vec::len).collect();
    let mut ready: VecDeque<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    let mut anc = vec![Bits::new(n); n];
    let mut seen = 0;
    while let Some(v) = ready.pop_front() {
        seen += 1;
        for k in 0..p.preds[v].len() {
            let u = p.preds[v][k];
            let from = anc[u].clone();
            anc[v].union_with(&from);
            anc[v].insert(u);
        }
        for &(w, _) in &p.succs[v] {
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.push_back(w);
            }
        }
    }
    assert_eq!(
        seen, n,
        "session order and reads-from are acyclic in a causal history"
    );
    anc
}

/// Add `a → b` to the closure: everything at or after `b` gets `a` and its ancestors (one
/// that already has `a` has them all, by transitivity, and is skipped).
fn close(anc: &mut [Bits], a: usize, b: usize) {
    let mut add = anc[a].clone();
    add.insert(a);
    for (y, set) in anc.iter_mut().enumerate() {
        if (y == b || set.contains(b)) && !set.contains(a) {
            set.union_with(&add);
        }
    }
}

/// The cycle `b → … → a → b` that adding `a → b` (forced by read `r`) would close.
fn cycle(p: &mut Problem<'_, '_>, anc: &[Bits], a: usize, b: usize, r: usize) -> Cycle {
    p.why.insert((a, b), r);
    if a == b {
        return Cycle {
            links: vec![(a, Some(Edge::Before))],
        };
    }
    // Shortest path b ⇝ a through ops that are ancestors of a.
    let n = p.succs.len();
    let mut parent: Vec<Option<(usize, Edge)>> = vec![None; n];
    let mut queue = VecDeque::from([b]);
    let mut seen = vec![false; n];
    seen[b] = true;
    while let Some(v) = queue.pop_front() {
        if v == a {
            break;
        }
        for &(w, e) in &p.succs[v] {
            if !seen[w] && (w == a || anc[a].contains(w)) {
                seen[w] = true;
                parent[w] = Some((v, e));
                queue.push_back(w);
            }
        }
    }
    let mut links = vec![(a, Some(Edge::Before))];
    let mut at = a;
    while at != b {
        let (prev, e) = parent[at].expect("a is reachable from b: b is an ancestor of a");
        links.push((prev, Some(e)));
        at = prev;
    }
    links.reverse();
    Cycle { links }
}
