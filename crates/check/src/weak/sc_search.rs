//! The search for a sequential order: a DFS over per-client positions, with a cache.
//!
//! A sequential order interleaves the clients' sessions (each in its own order) so that a
//! single register per key, run in that order, gives every read its value. The state of a
//! partial interleaving is small: how far each session got, which optional puts were placed,
//! and each key's current writer. Two paths that reach the same state have the same future,
//! so the cache (`cache.rs`, Lowe's idea again) cuts the second one.
//!
//! ```text
//!   node: place every session head that is a read and fits (no branching, see below)
//!     │   all sessions done ──► an order exists
//!     │   (positions, placed optional puts, writers) seen before ──► back up
//!     ▼
//!   choices: each session head that is a put, each released optional put, unless it would
//!            overwrite a value some unplaced read still has to see
//!     │   try each in turn; none left ──► back up      (stack empty ──► no order: stuck)
//!     ▼
//!   one step per op placed; over the budget ──► out of budget (unknown)
//! ```
//!
//! Two prunings, both sound because values are unique and there are no deletes:
//! - *Reads never branch.* A session head that reads the current value is placed at once: it
//!   changes no state, and any order that places it later can place it now instead (the
//!   proof in `search.rs`'s `place_reads`, with session order for real time).
//! - *No doomed overwrite.* Overwriting a key whose current value some unplaced read still has
//!   to see makes that read impossible forever (its value is never written again).
//!
//! Optional puts: a put with no return may have taken effect at any point after its client's
//! earlier ops, or never. It is *released* once its session has placed the ops before it, may
//! be placed any time after, and the order is complete without it.
//!
//! Deciding sequential consistency is NP-complete (Gibbons & Korach, *Testing shared memories*,
//! SIAM J. Computing 1997), so the search has a step budget and answers out of budget rather
//! than run forever. Invariants: `log` is the placed ops in order; the state always equals a
//! replay of `log`; `best` is the longest `log` seen (the report's "stuck after").

use crate::cache::{Bitset, Cache};

use super::registers::{ReadsFrom, Registers};

/// What the search found.
pub(crate) enum Found {
    /// A sequential order: every returned op and the optional puts it placed.
    Order(Vec<usize>),
    /// None exists; the longest prefix any path placed.
    Stuck(Vec<usize>),
    /// The budget ran out after this many steps.
    OutOfBudget(u64),
}

/// The problem: what must be placed and in which session order.
pub(crate) struct Problem<'v, 'h> {
    /// The register view.
    pub view: &'v Registers<'h>,
    /// Per session, its returned ops in session order: every one must be placed.
    pub chains: Vec<Vec<usize>>,
    /// Puts with no return: (op, session, how many of its session's chain ops come first).
    pub loose: Vec<(usize, usize, u32)>,
    /// Per op, its index in `loose` (`u32::MAX`: not optional).
    loose_ix: Vec<u32>,
}

impl<'v, 'h> Problem<'v, 'h> {
    pub fn new(view: &'v Registers<'h>) -> Self {
        let mut chains = vec![Vec::new(); view.sessions.len()];
        let mut loose = Vec::new();
        let mut loose_ix = vec![u32::MAX; view.ops.len()];
        for (s, session) in view.sessions.iter().enumerate() {
            for &i in &session.ops {
                if view.ops[i].returned {
                    chains[s].push(i);
                } else {
                    loose_ix[i] = loose.len() as u32;
                    loose.push((i, s, chains[s].len() as u32));
                }
            }
        }
        Problem {
            view,
            chains,
            loose,
            loose_ix,
        }
    }

    /// How many ops an order must place.
    pub fn required(&self) -> usize {
        self.chains.iter().map(Vec::len).sum()
    }

    /// Search for an order within `steps_max` placements.
    pub fn search(&self, steps_max: u64) -> Found {
        let mut s = Search::new(self);
        s.run(steps_max)
    }
}

/// What the cache compares (with the set of placed optional puts).
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
    /// Which optional puts are placed.
    loose_placed: Bitset,
    /// Per put, its returned reads not yet placed: it must not be overwritten while any is.
    pending: Vec<u32>,
    /// Per key, its returned reads of nil not yet placed.
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

    /// Place every session head that reads the current value; false if the budget ran out.
    /// One pass is enough: a read changes no writer, so it cannot make another read fit.
    fn force_reads(&mut self, steps_max: u64) -> bool {
        for s in 0..self.p.chains.len() {
            while let Some(&op) = self.p.chains[s].get(self.state.pos[s] as usize) {
                if !self.read_fits(op) {
                    break;
                }
                if self.steps >= steps_max {
                    return false;
                }
                self.steps += 1;
                self.place(op);
            }
        }
        true
    }

    /// Whether `op` is a read that sees its key's current writer.
    pub fn read_fits(&self, op: usize) -> bool {
        let key = self.p.view.ops[op].key;
        match self.p.view.reads_from(op) {
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

    /// The puts that may come next: session heads, and released optional puts, that doom
    /// no read.
    fn candidates(&self) -> Vec<usize> {
        let view = self.p.view;
        let heads = (0..self.p.chains.len())
            .filter_map(|s| self.p.chains[s].get(self.state.pos[s] as usize).copied())
            .filter(|&op| view.is_put(op));
        let released = self
            .p
            .loose
            .iter()
            .enumerate()
            .filter(|&(l, &(_, s, release))| {
                !self.loose_placed.contains(l) && self.state.pos[s] >= release
            })
            .map(|(_, &(op, _, _))| op);
        heads
            .chain(released)
            .filter(|&op| !self.dooms(view.ops[op].key))
            .collect()
    }

    fn done(&self) -> bool {
        (0..self.p.chains.len()).all(|s| self.state.pos[s] as usize == self.p.chains[s].len())
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
        }
        self.agree = self.agree.min(self.log.len());
    }

    /// Keep `best` the longest `log` seen.
    fn note_depth(&mut self) {
        if self.log.len() > self.best.len() {
            self.best.truncate(self.agree);
            self.best.extend(self.log[self.agree..].iter().map(|&(op, _)| op));
            self.agree = self.log.len();
        }
    }

    /// Search steps taken.
    #[cfg(test)]
    pub fn steps(&self) -> u64 {
        self.steps
    }
}
