//! The search for a sequential order: a DFS over per-client positions, with a cache.
//!
//! A sequential order interleaves the clients' sessions (each in its own order) so that a
//! single register per key, run in that order, gives every read its value. The state of a
//! partial interleaving is small: how far each session got, which off-session puts were
//! placed, and each key's current writer. Two paths that reach the same state have the same
//! future, so the cache (`cache.rs`, Lowe's idea again) cuts the second one.
//!
//! ```text
//!   node: place every op that is ready, reads, and sees its key's current writer
//!     │   (ready = every op that must precede it is placed: session order, its writer,
//!     │    and what saturation inferred, sc_saturate.rs)
//!     │   all placed ──► an order exists
//!     │   (positions, placed off-session puts, writers) seen before ──► back up
//!     ▼
//!   choices: each ready put, unless it would overwrite a value some unplaced read still
//!            has to see
//!     │   try each in turn; none left ──► back up      (stack empty ──► no order: stuck)
//!     ▼
//!   one step per op placed; over the budget ──► out of budget (unknown)
//! ```
//!
//! Two prunings, both sound because values are unique and there are no deletes:
//! - *Reads never branch.* A ready read that sees the current writer is placed at once: it
//!   changes no state, and any order that places it later can place it now instead (the
//!   proof in `search.rs`'s `place_reads`, with "ready" for real time).
//! - *No doomed overwrite.* Overwriting a key whose current value some unplaced read still has
//!   to see makes that read impossible forever (its value is never written again).
//!
//! Puts with no return: one nobody read can be left out of any sequential order (a read that
//! saw another value never needed it), so the problem drops it. One somebody read took effect:
//! it must be placed, after its client's earlier ops, but it orders none of the client's later
//! ones (the client gave up waiting), so it sits off the session chain.
//!
//! Deciding sequential consistency is NP-complete (Gibbons & Korach, *Testing shared memories*,
//! SIAM J. Computing 1997), so the search has a step budget and answers out of budget rather
//! than run forever. Invariants: `log` is the placed ops in order; the state always equals a
//! replay of `log`; `waiting[op]` counts `op`'s unplaced predecessors; `best` is the longest
//! `log` seen (the report's "stuck after").

use std::collections::HashMap;

use crate::cache::{Bitset, Cache};

use super::registers::{ReadsFrom, Registers};
use super::verdict::Edge;

/// What the search found.
pub(crate) enum Found {
    /// A sequential order of every required op.
    Order(Vec<usize>),
    /// None exists; the longest prefix any path placed.
    Stuck(Vec<usize>),
    /// The budget ran out after this many steps.
    OutOfBudget(u64),
}

/// The problem: what must be placed, and what must precede what.
pub(crate) struct Problem<'v, 'h> {
    /// The register view.
    pub view: &'v Registers<'h>,
    /// Per op: whether every sequential order must place it.
    pub required: Vec<bool>,
    /// Per session, its returned ops in session order.
    pub chains: Vec<Vec<usize>>,
    /// Puts with no return that somebody read: required, off their session's chain.
    pub loose: Vec<usize>,
    /// Per op, its index in `loose` (`u32::MAX`: on a chain, or not required).
    loose_ix: Vec<u32>,
    /// Per op, the ops that must come right before it (so, wr, and inferred edges).
    pub preds: Vec<Vec<usize>>,
    /// Per op, the ops it must come before, and why.
    pub succs: Vec<Vec<(usize, Edge)>>,
    /// Inferred edge (a, b) → the read that forces it (`sc_saturate.rs`).
    pub why: HashMap<(usize, usize), usize>,
}

impl<'v, 'h> Problem<'v, 'h> {
    /// The problem with session-order and reads-from edges; `sc_saturate.rs` adds more.
    pub fn new(view: &'v Registers<'h>) -> Self {
        let n = view.ops.len();
        let required: Vec<bool> = (0..n)
            .map(|i| view.ops[i].returned || !view.readers[i].is_empty())
            .collect();
        let mut p = Problem {
            view,
            required,
            chains: vec![Vec::new(); view.sessions.len()],
            loose: Vec::new(),
            loose_ix: vec![u32::MAX; n],
            preds: vec![Vec::new(); n],
            succs: vec![Vec::new(); n],
            why: HashMap::new(),
        };
        for (s, session) in view.sessions.iter().enumerate() {
            let ops: Vec<usize> = session
                .ops
                .iter()
                .copied()
                .filter(|&i| p.required[i])
                .collect();
            for (k, &a) in ops.iter().enumerate() {
                if view.ops[a].returned {
                    p.chains[s].push(a);
                } else {
                    p.loose_ix[a] = p.loose.len() as u32;
                    p.loose.push(a);
                    continue; // no session edge leaves an op with no return
                }
                for &b in &ops[k + 1..] {
                    p.edge(a, b, Edge::So);
                    if view.ops[b].returned {
                        break;
                    }
                }
            }
        }
        for r in 0..n {
            if let Some(ReadsFrom::Put(w)) = view.reads_from(r) {
                p.edge(w, r, Edge::Wr);
            }
        }
        p
    }

    /// Record that `a` must come before `b`.
    pub fn edge(&mut self, a: usize, b: usize, why: Edge) {
        self.preds[b].push(a);
        self.succs[a].push((b, why));
    }

    /// How many ops an order must place.
    pub fn required_count(&self) -> usize {
        self.required.iter().filter(|&&r| r).count()
    }

    /// Search for an order within `steps_max` placements.
    pub fn search(&self, steps_max: u64) -> Found {
        Search::new(self).run(steps_max)
    }
}

/// What the cache compares (with the set of placed off-session puts).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct State {
    /// Per session, how many of its chain ops are placed.
    pub pos: Vec<u32>,
    /// Per key, its current writer: 0 = the initial nil, `w + 1` = put `w`.
    pub value: Vec<u32>,
}

/// One choice point: the candidates and how far through them the search is.
struct Frame {
    /// `log.len()` at this node, after its forced reads: undo back to here before each try.
    mark: usize,
    /// The puts that may come next.
    cands: Vec<usize>,
    /// The next candidate to try.
    next: usize,
}

/// The search's working state (also used to replay a prefix for the report).
pub(crate) struct Search<'p, 'v, 'h> {
    /// The problem.
    p: &'p Problem<'v, 'h>,
    /// Positions and writers.
    pub state: State,
    /// Which off-session puts are placed.
    loose_placed: Bitset,
    /// Per op, its predecessors not yet placed: it is ready at 0.
    pub waiting: Vec<u32>,
    /// Per put, its reads not yet placed: it must not be overwritten while any is.
    pending: Vec<u32>,
    /// Per key, its reads of nil not yet placed.
    pending_init: Vec<u32>,
    /// Placed ops in order, each with its key's writer before it (to undo).
    log: Vec<(usize, u32)>,
    /// Choice points.
    frames: Vec<Frame>,
    /// States seen.
    cache: Cache<State>,
    /// The longest `log` seen, as ops.
    best: Vec<usize>,
    /// `log[..agree]` and `best[..agree]` hold the same ops (amortised copying).
    agree: usize,
    /// Ops placed so far: what the budget counts.
    steps: u64,
}

impl<'p, 'v, 'h> Search<'p, 'v, 'h> {
    pub fn new(p: &'p Problem<'v, 'h>) -> Self {
        let view = p.view;
        let mut pending = vec![0; view.ops.len()];
        let mut pending_init = vec![0; view.keys.len()];
        for (i, op) in view.ops.iter().enumerate() {
            match view.reads_from(i) {
                Some(ReadsFrom::Put(w)) => pending[w] += 1,
                Some(ReadsFrom::Init) => pending_init[op.key] += 1,
                _ => {}
            }
        }
        Search {
            p,
            state: State {
                pos: vec![0; p.chains.len()],
                value: vec![0; view.keys.len()],
            },
            loose_placed: Bitset::new(p.loose.len()),
            waiting: p.preds.iter().map(|ps| ps.len() as u32).collect(),
            pending,
            pending_init,
            log: Vec::new(),
            frames: Vec::new(),
            cache: Cache::new(),
            best: Vec::new(),
            agree: 0,
            steps: 0,
        }
    }

    fn run(&mut self, steps_max: u64) -> Found {
        loop {
            if !self.force_reads(steps_max) {
                return Found::OutOfBudget(self.steps);
            }
            self.note_depth();
            if self.done() {
                return Found::Order(self.log.iter().map(|&(op, _)| op).collect());
            }
            if self.cache.insert(&self.loose_placed, &self.state) {
                let cands = self.candidates();
                let mark = self.log.len();
                self.frames.push(Frame {
                    mark,
                    cands,
                    next: 0,
                });
            }
            // Take the next untried choice, backing up past exhausted choice points.
            loop {
                let Some(frame) = self.frames.last_mut() else {
                    return Found::Stuck(std::mem::take(&mut self.best));
                };
                if let Some(&op) = frame.cands.get(frame.next) {
                    frame.next += 1;
                    let mark = frame.mark;
                    self.undo_to(mark);
                    if self.steps >= steps_max {
                        return Found::OutOfBudget(self.steps);
                    }
                    self.steps += 1;
                    self.place(op);
                    break;
                }
                self.frames.pop();
            }
        }
    }

    /// The next op of session `s`'s chain, if any.
    pub fn head(&self, s: usize) -> Option<usize> {
        self.p.chains[s].get(self.state.pos[s] as usize).copied()
    }

    /// Place every ready session head that reads the current writer; false if the budget ran
    /// out. Repeats until none: placing a read can make another op ready.
    fn force_reads(&mut self, steps_max: u64) -> bool {
        let mut progress = true;
        while progress {
            progress = false;
            for s in 0..self.p.chains.len() {
                while let Some(op) = self.head(s).filter(|&op| self.read_fits(op)) {
                    if self.steps >= steps_max {
                        return false;
                    }
                    self.steps += 1;
                    self.place(op);
                    progress = true;
                }
            }
        }
        true
    }

    /// Whether `op` is a ready read that sees its key's current writer.
    pub fn read_fits(&self, op: usize) -> bool {
        let key = self.p.view.ops[op].key;
        self.waiting[op] == 0
            && match self.p.view.reads_from(op) {
                Some(ReadsFrom::Init) => self.state.value[key] == 0,
                Some(ReadsFrom::Put(w)) => self.state.value[key] == w as u32 + 1,
                _ => false,
            }
    }

    /// Whether overwriting `key` now would leave some unplaced read unable to see its value.
    pub fn dooms(&self, key: usize) -> bool {
        match self.state.value[key] {
            0 => self.pending_init[key] > 0,
            w => self.pending[w as usize - 1] > 0,
        }
    }

    /// The puts that may come next: ready session heads and off-session puts that doom no
    /// read.
    fn candidates(&self) -> Vec<usize> {
        let view = self.p.view;
        let heads = (0..self.p.chains.len()).filter_map(|s| self.head(s));
        let loose = self
            .p
            .loose
            .iter()
            .enumerate()
            .filter(|&(l, _)| !self.loose_placed.contains(l))
            .map(|(_, &op)| op);
        let mut cands: Vec<usize> = heads
            .chain(loose)
            .filter(|&op| view.is_put(op) && self.waiting[op] == 0)
            .filter(|&op| !self.dooms(view.ops[op].key))
            .collect();
        // Try the earliest sent first: a store's one order is usually close to real time, so
        // this finds it with few wrong turns. Only the trying order; every candidate is tried.
        cands.sort_by_key(|&op| (view.history_op(op).invoke, op));
        cands
    }

    fn done(&self) -> bool {
        (0..self.p.chains.len()).all(|s| self.head(s).is_none())
            && (0..self.p.loose.len()).all(|l| self.loose_placed.contains(l))
    }

    /// Make `op` the next op of the order.
    pub fn place(&mut self, op: usize) {
        let view = self.p.view;
        let key = view.ops[op].key;
        let before = self.state.value[key];
        match view.reads_from(op) {
            Some(ReadsFrom::Put(w)) => self.pending[w] -= 1,
            Some(ReadsFrom::Init) => self.pending_init[key] -= 1,
            Some(ReadsFrom::Nowhere) => {}
            None => self.state.value[key] = op as u32 + 1,
        }
        match self.p.loose_ix[op] {
            u32::MAX => self.state.pos[view.ops[op].session] += 1,
            l => self.loose_placed.set(l as usize),
        }
        for &(b, _) in &self.p.succs[op] {
            self.waiting[b] -= 1;
        }
        self.log.push((op, before));
    }

    /// Undo placements back to `log.len() == mark`.
    fn undo_to(&mut self, mark: usize) {
        let view = self.p.view;
        while self.log.len() > mark {
            let (op, before) = self.log.pop().expect("log longer than mark");
            let key = view.ops[op].key;
            match view.reads_from(op) {
                Some(ReadsFrom::Put(w)) => self.pending[w] += 1,
                Some(ReadsFrom::Init) => self.pending_init[key] += 1,
                Some(ReadsFrom::Nowhere) => {}
                None => self.state.value[key] = before,
            }
            match self.p.loose_ix[op] {
                u32::MAX => self.state.pos[view.ops[op].session] -= 1,
                l => self.loose_placed.clear(l as usize),
            }
            for &(b, _) in &self.p.succs[op] {
                self.waiting[b] += 1;
            }
        }
        self.agree = self.agree.min(self.log.len());
    }

    /// Keep `best` the longest `log` seen.
    fn note_depth(&mut self) {
        if self.log.len() > self.best.len() {
            self.best.truncate(self.agree);
            self.best
                .extend(self.log[self.agree..].iter().map(|&(op, _)| op));
            self.agree = self.log.len();
        }
    }
}
