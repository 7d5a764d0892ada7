//! The sequential specification a history is checked against, and the operations it describes.
//!
//! A *model* is the object's single-copy, one-at-a-time behaviour: a start state and a step
//! function that says, for a state, an input and an observed output, whether that output was
//! possible and what the state becomes. Linearizability (Herlihy & Wing 1990, §3) asks whether
//! the concurrent history can be reordered into one sequential run of this model that respects
//! real time: if `a` returned before `b` was invoked, `a` comes first.
//!
//! ```text
//!   init() ──► s0 ──step(s0, put(x), ok)──► s1 ──step(s1, get, "x")──► s2 ...
//!                 └─step(s0, get, "y")──► None   (that output is impossible here)
//! ```
//!
//! An operation is an interval on the timeline, from `invoke` to `return`:
//!
//! ```text
//!   client 1   [invoke ─────── put(k,"x") ─────── return]
//!   client 2            [invoke ── get(k) -> "x" ── return]
//!   client 3                 [invoke ── put(k,"y") ──────────────────────────► no return
//! ```
//!
//! A *no return* operation (the client timed out) may or may not have taken effect, at any
//! moment after its invoke. The checker treats its return time as +infinity and passes `None`
//! as the output, so the model must accept it from every state.
//!
//! Invariants a model must keep (the search relies on them):
//! - `step` is a pure function: same arguments, same answer.
//! - `step(s, i, None)` is `Some(_)` for every state `s`. An operation with no return may
//!   always be placed last, where it changes nothing anyone observed, which is how the
//!   search expresses "it never took effect".
//! - Two states that compare equal behave the same from then on (the search caches states).
//!
//! Equality and hashing of states come from the `Eq + Hash` bounds on [`Model::State`].
//! The road not taken: Porcupine's explicit `Equal` function, which Go needs because its
//! states are untyped; in Rust the type system already says what equal means.

use std::fmt::Debug;
use std::hash::Hash;

/// A logical time point on a history's timeline (simulator ticks, or nanoseconds from a real run).
///
/// Only the order of time points matters to the checker, never their distance.
pub type Time = u64;

/// The client that issued an operation; reports print it as `c3`.
pub type ClientId = u64;

/// A sequential specification (see the module docs for the contract `step` must keep).
pub trait Model: Sync {
    /// The object's state between operations. Cached by the search, so keep it small.
    type State: Clone + Eq + Hash + Debug + Send;
    /// What a client asked for (`put(k, "x")`).
    type Input: Debug + Sync;
    /// What the client was told (`"x"`, `true`, `5`).
    type Output: Debug + Sync;

    /// The model's short name for reports (`kv`, `register`).
    fn name(&self) -> &str {
        "model"
    }

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Apply `input` to `state`; `output` is what the client saw, or `None` if it saw nothing
    /// (no return). Returns the next state, or `None` if `output` is impossible from `state`.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// The partition an input belongs to (for a key-value store: the key).
    ///
    /// P-compositionality (Horn & Kroening 2015): when the object is a product of independent
    /// parts, the history is linearizable iff each part's sub-history is. Models that cannot be
    /// split return one constant, and the whole history is one partition.
    fn partition(&self, input: &Self::Input) -> String;

    /// True if `step` never changes the state for this input (a read). Two things rely on it:
    /// a read with no return constrains nothing, so the checker drops it; and a read that fits
    /// is placed without branching (see `search.rs`). Returning `false` is always safe, only
    /// slower; returning `true` for an input that can change the state makes answers wrong.
    fn is_read_only(&self, input: &Self::Input) -> bool {
        let _ = input;
        false
    }

    /// One short line for an operation, e.g. `get(k1) -> "x"` or `put(k1, "x")`.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// One short line for a state, e.g. `"x"` or `nil`.
    fn describe_state(&self, state: &Self::State) -> String;
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion<O> {
    /// The client got an answer: the operation took effect somewhere inside `[invoke, at]`.
    Returned {
        /// When the answer arrived; the operation's linearization point is no later.
        at: Time,
        /// What the answer said; the model checks it against the state.
        output: O,
    },
    /// The client never heard back (timeout, crash): it may or may not have taken effect.
    NoReturn,
}

/// One operation in a history: an interval on the timeline plus what was asked and answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// Who issued it: reports name it `c3` and the HTML page draws one lane per client.
    pub client: ClientId,
    /// What was asked; the model's `step` interprets it.
    pub input: I,
    /// When it was sent; its linearization point is no earlier.
    pub invoke: Time,
    /// When and how it ended, or that it never did.
    pub completion: Completion<O>,
}

impl<I, O> Operation<I, O> {
    /// An operation whose client got `output` at time `ret`.
    pub fn returned(client: ClientId, input: I, invoke: Time, ret: Time, output: O) -> Self {
        let completion = Completion::Returned { at: ret, output };
        Operation {
            client,
            input,
            invoke,
            completion,
        }
    }

    /// An operation whose client never heard back.
    pub fn no_return(client: ClientId, input: I, invoke: Time) -> Self {
        let completion = Completion::NoReturn;
        Operation {
            client,
            input,
            invoke,
            completion,
        }
    }

    /// The return time, or `None` for +infinity (no return).
    pub fn ret(&self) -> Option<Time> {
        match self.completion {
            Completion::Returned { at, .. } => Some(at),
            Completion::NoReturn => None,
        }
    }

    /// What the client was told, or `None` if it was told nothing.
    pub fn output(&self) -> Option<&O> {
        match &self.completion {
            Completion::Returned { output, .. } => Some(output),
            Completion::NoReturn => None,
        }
    }
}
