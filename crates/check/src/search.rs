//! The search for a linearization of one partition: Wing & Gong's algorithm with Lowe's cache.
//!
//! The history becomes a doubly linked list of events in time order: each operation's *call*
//! (at invoke) and *return* (at its return time, +infinity if it never returned). The search
//! walks the list from the front:
//!
//! ```text
//!   head ─ call a ─ call b ─ ret a ─ call c ─ ret b ─ ret c ─ tail
//!            │
//!            ├─ call:   try to linearize it now. If the model accepts its output and the
//!            │          (linearized set, new state) pair is new, push it on the stack, unlink
//!            │          its call and return ("lift"), and restart from the head.
//!            │          Otherwise move on to the next event.
//!            └─ return: an operation that must already be linearized is not: undo the
//!                       last choice (pop, relink), and try the event after its call.
//!
//!   list empty ──► linearizable        stack empty at a return ──► not linearizable
//! ```
//!
//! Every operation called before the first return in the list is a candidate: that is exactly
//! the real-time rule (an operation cannot be linearized after one that returned before it was
//! invoked). Invariants: lifts and unlifts nest like the stack (dancing links, Knuth), so
//! relinking in reverse order restores the list exactly; the bitset always equals the set of
//! operations on the stack.
//!
//! One addition to Porcupine's walk: **reads are never a choice**. Before each walk every
//! candidate read whose output fits the current state *and leaves it unchanged* is placed at
//! once, and backtracking pops straight past such reads (the proof is at `place_reads`). On
//! this crate's synthetic single-key histories that cuts the steps about five-fold. A read
//! that fits but changes the state (it saw a key's deadline pass: `Model::reads_may_change`)
//! is an ordinary choice.
//!
//! A model may give up on a state (`Model::gave_up`): the search does not continue from it,
//! and if it then finds no linearization it answers unknown, never a violation.
//!
//! Cost: deciding linearizability is NP-complete (Gibbons & Korach 1997), and this search is
//! exponential in how many operations overlap *on one key*. Measured on synthetic 2,000-op
//! single-key histories: 10 closed-loop clients ≈ 140k steps, 20 clients ≈ 30M, 50 clients
//! beyond 50M. Hence the budget, and hence partitioning: spread over keys, the same load is easy.
//! A *step* is one event visited by the walk or one read placed.
//!
//! Time ties: a call at time `t` sorts before a return at `t`, so intervals that touch count
//! as concurrent. With coarse clocks that is the only safe reading: it can hide a violation
//! that finer clocks would show, but it never invents one.
//!
//! Papers: Wing & Gong, *Testing and verifying concurrent objects* (1993), §4; Lowe, *Testing
//! for linearizability* (2017), §4 (the cache); Porcupine (Athalye) is the same design in Go.

use std::time::Instant;

use crate::cache::{Bitset, Cache};
use crate::model::{Model, Operation};

/// How much work one partition's search may do before it answers "unknown".
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Loop iterations allowed; also bounds the cache, which grows by at most one per step.
    pub steps_max: u64,
    /// Wall-clock deadline shared by all partitions of one check; `None` = steps only.
    pub deadline: Option<Instant>,
}

/// How often (in steps) the search looks at the clock: reading it every step costs more than
/// a step does. A power of two, so the test is a mask.
const DEADLINE_CHECK_EVERY_STEPS: u64 = 1024;

/// What the search concluded about one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A linearization exists; it is never claimed without one.
    Linearizable,
    /// No linearization exists. `longest_prefix` is the longest sequence of operations
    /// (indices into the partition, in linearization order) the search managed to place.
    Violation {
        /// The deepest the search got: where it was stuck.
        longest_prefix: Vec<usize>,
    },
    /// The budget ran out first.
    Unknown,
}

/// What the search cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Loop iterations taken.
    pub steps: u64,
    /// (set, state) pairs cached: the search's memory.
    pub cache_entries: usize,
}

/// The head sentinel's node index; event nodes are `1..=2n`, the tail sentinel is `2n + 1`.
const HEAD: usize = 0;

/// The events of a partition as a doubly linked list over arrays (no allocation while searching).
struct EventList {
    /// Node → following node.
    next: Vec<usize>,
    /// Node → preceding node.
    prev: Vec<usize>,
    /// Node → (operation index, is this its call?).
    event: Vec<(usize, bool)>,
    /// Operation → its call node.
    call_node: Vec<usize>,
    /// Operation → its return node.
    ret_node: Vec<usize>,
    /// The tail sentinel: reaching it from the head means every operation is linearized.
    tail: usize,
}

impl EventList {
    fn new<I, O>(ops: &[&Operation<I, O>]) -> Self {
        // Sort key (time, kind): calls (0) before returns (1) at equal times, and no-return
        // operations (2) return after everything at the end of time.
        let mut events: Vec<(u64, u8, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.invoke, 0, i));
            events.push(op.ret().map_or((u64::MAX, 2, i), |t| (t, 1, i)));
        }
        events.sort_unstable();
        let tail = events.len() + 1;
        let mut list = EventList {
            next: (1..=tail + 1).collect(),
            prev: (0..=tail).map(|n| n.saturating_sub(1)).collect(),
            event: vec![(usize::MAX, false); tail + 1],
            call_node: vec![0; ops.len()],
            ret_node: vec![0; ops.len()],
            tail,
        };
        for (k, &(_, kind, op)) in events.iter().enumerate() {
            let node = k + 1;
            list.event[node] = (op, kind == 0);
            if kind == 0 {
                list.call_node[op] = node;
            } else {
                list.ret_node[op] = node;
            }
        }
        list
    }

    /// Unlink an operation's call and return nodes.
    fn lift(&mut self, op: usize) {
        for node in [self.call_node[op], self.ret_node[op]] {
            let (p, n) = (self.prev[node], self.next[node]);
            self.next[p] = n;
            self.prev[n] = p;
        }
    }

    /// Relink what `lift` unlinked, in reverse order.
    fn unlift(&mut self, op: usize) {
        for node in [self.ret_node[op], self.call_node[op]] {
            let (p, n) = (self.prev[node], self.next[node]);
            self.next[p] = node;
            self.prev[n] = node;
        }
    }
}

/// One linearization choice, kept so it can be undone.
struct Frame<S> {
    /// The operation linearized.
    op: usize,
    /// The state before it, restored on backtrack.
    state_before: S,
    /// A read placed because it fit, not chosen among alternatives: if the search fails
    /// after it, it failed before it too, so backtracking pops straight past it.
    forced: bool,
}

/// Where the walk goes next.
enum Next {
    /// Continue at this node.
    At(usize),
    /// The current partial linearization cannot be extended: undo the last choice.
    Backtrack,
    /// The budget is spent.
    OutOfBudget,
}

/// What trying to place one operation did.
enum Placed {
    /// It is now the last operation of the partial linearization.
    Yes,
    /// The model rejects its output in the current state.
    Rejected,
    /// Placing it reaches a (set, state) pair already explored, which failed.
    Explored,
}

/// Search one partition for a linearization, from the model state `init`.
pub fn search<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    init: M::State,
    limits: &Limits,
) -> (Outcome, SearchStats) {
    let mut s = Search {
        model,
        ops,
        read_only: ops.iter().map(|o| model.is_read_only(&o.input)).collect(),
        list: EventList::new(ops),
        linearized: Bitset::new(ops.len()),
        cache: Cache::new(),
        stack: Vec::with_capacity(ops.len()),
        reads_change: model.reads_may_change(&init),
        state: init,
        gave_up: false,
        best: Vec::new(),
        agree: 0,
        steps: 0,
    };
    let outcome = s.run(limits);
    (
        outcome,
        SearchStats {
            steps: s.steps,
            cache_entries: s.cache.len(),
        },
    )
}

/// The search's working state.
struct Search<'a, M: Model> {
    /// The sequential specification.
    model: &'a M,
    /// The partition's operations; indices into this slice name operations everywhere else.
    ops: &'a [&'a Operation<M::Input, M::Output>],
    /// Per operation: the model says it never changes the state (see `place_reads`).
    read_only: Vec<bool>,
    /// Events not yet lifted.
    list: EventList,
    /// The operations on the stack, as the cache's key.
    linearized: Bitset,
    /// Pairs already explored.
    cache: Cache<M::State>,
    /// The current partial linearization.
    stack: Vec<Frame<M::State>>,
    /// The model state after the stack.
    state: M::State,
    /// `model.reads_may_change(&state)`, kept up to date with `state`: asked on every event.
    reads_change: bool,
    /// Some path was cut because the model gave up on its state: no violation can be claimed.
    gave_up: bool,
    /// The longest partial linearization seen: reported on a violation as "where it got stuck".
    best: Vec<usize>,
    /// `stack[..agree]` and `best[..agree]` name the same operations, so extending `best`
    /// copies only the new tail (amortised O(1) per push instead of O(depth)).
    agree: usize,
    /// Placement attempts so far: what the budget counts.
    steps: u64,
}

impl<M: Model> Search<'_, M> {
    fn run(&mut self, limits: &Limits) -> Outcome {
        let mut next = self.place_reads(limits);
        loop {
            let cursor = match next {
                Next::At(node) => node,
                Next::OutOfBudget => return Outcome::Unknown,
                Next::Backtrack => match self.backtrack() {
                    Some(node) => node,
                    None if self.gave_up => return Outcome::Unknown,
                    None => {
                        let longest_prefix = std::mem::take(&mut self.best);
                        return Outcome::Violation { longest_prefix };
                    }
                },
            };
            if cursor == self.list.tail {
                break;
            }
            if self.spent(limits) {
                return Outcome::Unknown;
            }
            let (op, is_call) = self.list.event[cursor];
            next = if !is_call {
                // An operation that must be placed by now is not: undo.
                Next::Backtrack
            } else if self.read_only[op] && !self.reads_change {
                // Every read that fits was placed by `place_reads`; this one does not.
                Next::At(self.list.next[cursor])
            } else {
                match self.place(op, false) {
                    Placed::Yes => self.place_reads(limits),
                    Placed::Rejected | Placed::Explored => Next::At(self.list.next[cursor]),
                }
            };
        }
        assert_eq!(
            self.stack.len(),
            self.ops.len(),
            "list emptied with operations unplaced"
        );
        Outcome::Linearizable
    }

    /// Count one step; true if the budget is spent.
    fn spent(&mut self, limits: &Limits) -> bool {
        if self.steps >= limits.steps_max || out_of_time(self.steps, limits) {
            return true;
        }
        self.steps += 1;
        false
    }

    /// Place, without branching, every candidate read whose output fits the current state
    /// and leaves it unchanged; then walk from the head.
    ///
    /// Why no branching is needed: if a read `g` can come next, fits and leaves the state as
    /// it was, and some linearization continues `P, x1..xk, g, ...`, then `P, g, x1..xk, ...`
    /// is one too: `g` changes no state, so `x1..xk` see the same states, and no `xi`
    /// returned before `g` was invoked (that is what "can come next" means). So if `P, g`
    /// has no linearization, neither has `P`. This turns the search's worst enemy, reads of
    /// a value that many orders explain, into straight-line work. A read that changes the
    /// state (it narrowed what the state left open) gets no such proof: the walk tries it.
    fn place_reads(&mut self, limits: &Limits) -> Next {
        let mut node = self.list.next[HEAD];
        while node != self.list.tail && self.list.event[node].1 {
            let op = self.list.event[node].0;
            if self.read_only[op] {
                if self.spent(limits) {
                    return Next::OutOfBudget;
                }
                match self.place(op, true) {
                    // The lifted node's `prev` is still linked: continue from its successor.
                    Placed::Yes => node = self.list.prev[node],
                    Placed::Rejected => {}
                    Placed::Explored => return Next::Backtrack,
                }
            }
            node = self.list.next[node];
        }
        Next::At(self.list.next[HEAD])
    }

    /// Try to make `op` the next operation of the partial linearization.
    fn place(&mut self, op: usize, forced: bool) -> Placed {
        let o = self.ops[op];
        let step = self
            .model
            .step_during(&self.state, &o.input, o.output(), o.interval());
        let Some(next_state) = step else {
            return Placed::Rejected;
        };
        if forced && self.reads_change && next_state != self.state {
            // Not a read that changes nothing: `place_reads` may not place it (the walk will).
            return Placed::Rejected;
        }
        if self.model.gave_up(&next_state) {
            self.gave_up = true;
            return Placed::Rejected;
        }
        self.linearized.set(op);
        if !self.cache.insert(&self.linearized, &next_state) {
            self.linearized.clear(op);
            return Placed::Explored;
        }
        let state_before = std::mem::replace(&mut self.state, next_state);
        if !forced {
            self.reads_change = self.model.reads_may_change(&self.state);
        }
        self.stack.push(Frame {
            op,
            state_before,
            forced,
        });
        self.list.lift(op);
        self.note_depth();
        Placed::Yes
    }

    /// Undo back to the last real choice and return the node after it; `None` if no choice
    /// is left (no linearization exists).
    fn backtrack(&mut self) -> Option<usize> {
        loop {
            let frame = self.stack.pop()?;
            self.agree = self.agree.min(self.stack.len());
            self.linearized.clear(frame.op);
            self.state = frame.state_before;
            self.list.unlift(frame.op);
            if !frame.forced {
                self.reads_change = self.model.reads_may_change(&self.state);
                return Some(self.list.next[self.list.call_node[frame.op]]);
            }
        }
    }

    /// Keep `best` the longest stack seen.
    fn note_depth(&mut self) {
        if self.stack.len() > self.best.len() {
            self.best.truncate(self.agree);
            self.best
                .extend(self.stack[self.agree..].iter().map(|f| f.op));
            self.agree = self.stack.len();
        }
    }
}

fn out_of_time(steps: u64, limits: &Limits) -> bool {
    match limits.deadline {
        Some(deadline) => {
            steps & (DEADLINE_CHECK_EVERY_STEPS - 1) == 0 && Instant::now() >= deadline
        }
        None => false,
    }
}
