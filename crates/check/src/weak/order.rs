//! The causal order `co = (so ∪ wr)+`, as one ancestor bitset per operation.
//!
//! Two kinds of edge, both visible to clients:
//!
//! ```text
//!   so  session order   c1: put(x,1) ──so──► c1: get(y) -> 2      a client is sequential
//!   wr  write → read    c2: put(y,2) ──wr──► c1: get(y) -> 2      unique values: known writer
//!
//!   co = (so ∪ wr)+     everything a read could depend on (Lamport's happened-before,
//!                       seen from the clients: Ahamad et al. 1995, Bouajjani et al. 2017 §2)
//! ```
//!
//! Session edges: from each operation that returned to every later operation of its client
//! up to and including the next one that returned. An operation with no return gets none: the
//! client gave up on it, so it may take effect after anything the client did next (a late
//! write arriving after the client's next one is not a causal violation, and a linearizable
//! store can do it). Reads-from edges: from a put to each read of its value.
//!
//! Closure: strongly connected components (Kosaraju, iterative: a long session would
//! overflow a recursive DFS), then one pass over them in topological order: a component's
//! ancestors are its predecessors' ancestors plus the predecessors, plus its own members if it
//! is a cycle (then every member is co-before itself: CyclicCO). One bitset of `n` bits per
//! component: for the bound [`CAUSAL_OPS_MAX`] = 20,000 ops that is at most 50 MB, and a
//! history over the bound is refused with `Unknown` naming it, never half-judged.
//!
//! The road not taken: a vector clock per op (one entry per client). Cheaper for few clients,
//! but `a <co b` then needs the clock of `a`'s position in its session, and a reads-from edge
//! joins clocks exactly as a bitset union does; bitsets keep cycles easy to state and to show.
//!
//! Invariants: `before(a, b)` iff there is a path of at least one edge from `a` to `b`; every
//! path returned by [`CausalOrder::path`] is made of real so/wr edges, shortest first.

use std::collections::VecDeque;

use super::registers::{ReadsFrom, Registers};
use super::verdict::Edge;

/// The most operations whose causal order is computed: 20,000 ops take 50 MB of bitsets.
pub const CAUSAL_OPS_MAX: usize = 20_000;

/// A fixed-size set of op indices.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bits {
    /// One bit per op, 64 to a word.
    words: Vec<u64>,
}

impl Bits {
    pub fn new(n: usize) -> Self {
        Bits {
            words: vec![0; n.div_ceil(64)],
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
    }

    pub fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    pub fn union_with(&mut self, other: &Bits) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= o;
        }
    }
}

/// One step of a path: an op, and the edge from it to the next step (`None` on the last).
pub(crate) type Link = (usize, Option<Edge>);

/// The causal order of a register view.
pub(crate) struct CausalOrder {
    /// Per op, its outgoing edges.
    succ: Vec<Vec<(usize, Edge)>>,
    /// Per op, its incoming edges.
    pred: Vec<Vec<(usize, Edge)>>,
    /// Per op, its component.
    comp: Vec<usize>,
    /// Per component, the ops co-before its members.
    anc: Vec<Bits>,
    /// The members of each component that is a cycle, smallest component first.
    cycles: Vec<Vec<usize>>,
}

impl CausalOrder {
    /// The causal order of `view`; `Err` says why it was not computed (over `ops_max`).
    pub fn new(view: &Registers<'_>, ops_max: usize) -> Result<Self, String> {
        let n = view.ops.len();
        if n > ops_max {
            return Err(format!(
                "{n} register operations: the causal order is computed for at most {ops_max} \
                 (one {ops_max}-bit set per operation; CAUSAL_OPS_MAX = {CAUSAL_OPS_MAX})"
            ));
        }
        let (succ, pred) = edges(view);
        let comps = components(&succ, &pred);
        let mut comp = vec![0; n];
        for (c, members) in comps.iter().enumerate() {
            for &v in members {
                comp[v] = c;
            }
        }
        let mut anc: Vec<Bits> = Vec::with_capacity(comps.len());
        let mut cycles = Vec::new();
        for (c, members) in comps.iter().enumerate() {
            let mut set = Bits::new(n);
            for &v in members {
                for &(u, _) in &pred[v] {
                    if comp[u] != c {
                        set.union_with(&anc[comp[u]]);
                        set.insert(u);
                    }
                }
            }
            if members.len() > 1 {
                members.iter().for_each(|&v| set.insert(v));
                cycles.push(members.clone());
            }
            anc.push(set);
        }
        cycles.sort_by_key(|m| (m.len(), m[0]));
        Ok(CausalOrder {
            succ,
            pred,
            comp,
            anc,
            cycles,
        })
    }

    /// Whether `a <co b`: a path of at least one so/wr edge leads from `a` to `b`.
    pub fn before(&self, a: usize, b: usize) -> bool {
        self.anc[self.comp[b]].contains(a)
    }

    /// The members of each cycle of so/wr edges, smallest first (empty: co is a partial order).
    pub fn cycles(&self) -> &[Vec<usize>] {
        &self.cycles
    }

    /// A shortest path of so/wr edges from `from` to `to` (`from == to`: a shortest cycle
    /// through it), or `None` if there is none.
    pub fn path(&self, from: usize, to: usize) -> Option<Vec<Link>> {
        let n = self.succ.len();
        let mut parent: Vec<Option<(usize, Edge)>> = vec![None; n];
        let mut seen = vec![false; n];
        seen[from] = from != to;
        let mut queue = VecDeque::from([from]);
        while let Some(v) = queue.pop_front() {
            for &(w, e) in &self.succ[v] {
                if seen[w] || !(w == to || self.before(w, to)) {
                    continue;
                }
                seen[w] = true;
                parent[w] = Some((v, e));
                if w == to {
                    return Some(unwind(&parent, from, to));
                }
                queue.push_back(w);
            }
        }
        None
    }

    /// How many edges lead from `start` to each op (`forward`) or from each op to `start`
    /// (backward), by BFS; `u32::MAX` where no path does. Picks the shortest evidence.
    pub fn distances(&self, start: usize, forward: bool) -> Vec<u32> {
        let graph = if forward { &self.succ } else { &self.pred };
        let mut dist = vec![u32::MAX; graph.len()];
        let mut queue = VecDeque::from([start]);
        dist[start] = 0;
        while let Some(v) = queue.pop_front() {
            for &(w, _) in &graph[v] {
                if dist[w] == u32::MAX {
                    dist[w] = dist[v] + 1;
                    queue.push_back(w);
                }
            }
        }
        dist
    }
}

/// The path `from → … → to` that `parent` pointers record, as links.
fn unwind(parent: &[Option<(usize, Edge)>], from: usize, to: usize) -> Vec<Link> {
    let mut links = vec![(to, None)];
    let mut at = to;
    loop {
        let (p, e) = parent[at].expect("every visited op has a parent");
        links.push((p, Some(e)));
        at = p;
        if at == from {
            break;
        }
        assert!(
            links.len() <= parent.len() + 1,
            "a BFS path visits each op once"
        );
    }
    links.reverse();
    links
}

/// Session and reads-from edges: (successors, predecessors) per op.
type Graph = (Vec<Vec<(usize, Edge)>>, Vec<Vec<(usize, Edge)>>);

fn edges(view: &Registers<'_>) -> Graph {
    let n = view.ops.len();
    let mut succ = vec![Vec::new(); n];
    let mut pred = vec![Vec::new(); n];
    let mut add = |a: usize, b: usize, e: Edge| {
        succ[a].push((b, e));
        pred[b].push((a, e));
    };
    for session in &view.sessions {
        for (i, &a) in session.ops.iter().enumerate() {
            if !view.ops[a].returned {
                continue;
            }
            for &b in &session.ops[i + 1..] {
                add(a, b, Edge::So);
                if view.ops[b].returned {
                    break;
                }
            }
        }
    }
    for r in 0..n {
        if let Some(ReadsFrom::Put(w)) = view.reads_from(r) {
            add(w, r, Edge::Wr);
        }
    }
    (succ, pred)
}

/// Strongly connected components in topological order (sources first): Kosaraju, with
/// explicit stacks.
fn components(succ: &[Vec<(usize, Edge)>], pred: &[Vec<(usize, Edge)>]) -> Vec<Vec<usize>> {
    let n = succ.len();
    // Pass 1: finishing order of a DFS over successors.
    let mut finished = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for s in 0..n {
        if seen[s] {
            continue;
        }
        seen[s] = true;
        stack.push((s, 0));
        while let Some((v, next)) = stack.last_mut() {
            if let Some(&(w, _)) = succ[*v].get(*next) {
                *next += 1;
                if !seen[w] {
                    seen[w] = true;
                    stack.push((w, 0));
                }
            } else {
                finished.push(*v);
                stack.pop();
            }
        }
    }
    // Pass 2: over predecessors, latest finisher first; each tree is one component, and they
    // come out in topological order of the condensation.
    let mut comps = Vec::new();
    let mut assigned = vec![false; n];
    for &s in finished.iter().rev() {
        if assigned[s] {
            continue;
        }
        assigned[s] = true;
        let (mut members, mut todo) = (Vec::new(), vec![s]);
        while let Some(v) = todo.pop() {
            members.push(v);
            for &(u, _) in &pred[v] {
                if !assigned[u] {
                    assigned[u] = true;
                    todo.push(u);
                }
            }
        }
        members.sort_unstable();
        comps.push(members);
    }
    comps
}
