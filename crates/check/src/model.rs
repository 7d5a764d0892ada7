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
//! - `step_during` is `step` with the operation's interval; a model that reads time must
//!   stay sound for every stamp inside it (see `kv/expiry.rs`).
//!
//! A nondeterministic object (a key whose deadline may or may not have passed) is modelled
//! as Porcupine does: the state is the *set* of states still possible, `step` maps each and
//! keeps those the output allows, so `step` itself stays a function.
//!
//! The road not taken for time: copying each operation's invoke and return into its input.
//! Every history already holds them in [`Operation`], so the search hands them to
//! `step_during` instead, and inputs stay what the client sent.
//!
//! Equality and hashing of states come from the `Eq + Hash` bounds on [`Model::State`].
//! The road not taken: Porcupine's explicit `Equal` function, which Go needs because its
//! states are untyped; in Rust the type system already says what equal means.

use std::fmt::Debug;
use std::hash::Hash;

/// A logical time point on a history's timeline (simulator ticks, or nanoseconds from a real run).
///
/// The search needs only the order of time points; distances matter only to a model whose
/// rules read time (deadlines, in the same units: `kv/expiry.rs`).
pub type Time = u64;

/// When an operation ran: from its invoke to its return (`None`: it never returned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// When it was sent.
    pub invoke: Time,
    /// When the answer arrived; `None` for no return (+infinity).
    pub ret: Option<Time>,
}

impl Interval {
    /// An interval that says nothing: from time 0 to +infinity. [`Model::step`] uses it, so
    /// a time-reading model judged without times accepts whatever some timing would allow.
    pub const UNKNOWN: Interval = Interval {
        invoke: 0,
        ret: None,
    };
}

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

    /// The keys an input touches (for a key-value store: its key; for a transaction, every
    /// key of its sub-commands).
    ///
    /// P-compositionality (Horn & Kroening 2015): when the object is a product of independent
    /// parts, the history is linearizable iff each part's sub-history is. The checker puts
    /// operations that share a key in one partition (union-find over keys), so a transaction
    /// over `a` and `b` joins their histories while independent keys still split. Models that
    /// cannot be split return one constant, and the whole history is one partition.
    fn keys(&self, input: &Self::Input) -> Vec<String>;

    /// The partition an input alone would form: its keys, joined with `+`.
    fn partition(&self, input: &Self::Input) -> String {
        self.keys(input).join("+")
    }

    /// The state before any operation of a partition over `keys` (sorted, distinct). A model
    /// whose state names its keys builds it here once, so the search's states share it;
    /// the default is [`Model::init`].
    fn init_partition(&self, keys: &[String]) -> Self::State {
        let _ = keys;
        self.init()
    }

    /// [`Model::step`] for an operation that ran during `at`. Models whose rules read time
    /// (deadlines: `kv/expiry.rs`) implement this; the search and the report call it. The
    /// default ignores `at`.
    fn step_during(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
        at: Interval,
    ) -> Option<Self::State> {
        let _ = at;
        self.step(state, input, output)
    }

    /// True if `step` changes the state for this input only in states where
    /// [`Model::reads_may_change`] holds (a read). Two things rely on it: a read with no
    /// return constrains nothing, so the checker drops it (see [`Model::is_no_op`]); and a
    /// read that fits without changing the state is placed without branching (see
    /// `search.rs`). Returning `false` is always safe, only slower; returning `true` for an
    /// input that can change the state elsewhere makes answers wrong.
    fn is_read_only(&self, input: &Self::Input) -> bool {
        let _ = input;
        false
    }

    /// True if a read may change this state: it can observe something the state leaves open
    /// (whether a key's deadline has passed). The search then tries such reads as real
    /// choices. Default `false`.
    fn reads_may_change(&self, state: &Self::State) -> bool {
        let _ = state;
        false
    }

    /// True if this operation fits anywhere and changes nothing, whatever the state: a read
    /// with no return, an aborted transaction. The checker drops such operations before
    /// searching (they constrain nothing). Default: a read-only input with no return.
    fn is_no_op(&self, input: &Self::Input, output: Option<&Self::Output>) -> bool {
        output.is_none() && self.is_read_only(input)
    }

    /// True if the model could not follow `state` precisely (the kv model: too many possible
    /// worlds). The search does not continue from it, and answers unknown instead of a
    /// violation if it then finds no linearization. Default `false`.
    fn gave_up(&self, state: &Self::State) -> bool {
        let _ = state;
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

    /// When it ran: its invoke and return.
    pub fn interval(&self) -> Interval {
        Interval {
            invoke: self.invoke,
            ret: self.ret(),
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
