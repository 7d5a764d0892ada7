//! What a violation looks like to a person: the failing partition and where the search stuck.
//!
//! The report is plain data (strings and times), not generic over the model, so the text
//! form, the HTML page and any future tool read the same thing.
//!
//! ```text
//!   violation: partition k1 has no linearization (kv model, 3 ops; 1 of 2 partitions failed)
//!   operations by invoke time; [n] = n-th in the longest linearizable prefix, [!] = stuck:
//!     [1] c1 put(k1, "x") [t=0..t=10]
//!     [!] c2 get(k1) -> "y" [t=12..t=20]
//!     [ ] c3 put(k1, "y") [t=15..?] (no return)
//!   stuck after 1 of 3 ops, in state "x"; none of these can come next:
//!     c2 get(k1) -> "y" [t=12..t=20]: rejected in this state
//!     c3 put(k1, "y") [t=15..?] (no return): fits, but every way on from there fails
//! ```
//!
//! "Where it got stuck" is the longest partial linearization the search found. Its
//! *candidates* are the operations that could come next in real time: every remaining
//! operation invoked no later than the earliest remaining return. Each one either makes the
//! model reject its output right there, or is accepted but leads only to dead ends.

use std::fmt;

use crate::model::{ClientId, Model, Operation, Time};

/// One operation of the failing partition, described by the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportOp {
    /// Who issued it: one lane per client on the HTML timeline.
    pub client: ClientId,
    /// Where its bar starts.
    pub invoke: Time,
    /// Where its bar ends; `None` = no return, drawn open-ended.
    pub ret: Option<Time>,
    /// The model's one-line description, e.g. `get(k1) -> "x"`.
    pub text: String,
}

impl fmt::Display for ReportOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ret {
            Some(ret) => write!(
                f,
                "c{} {} [t={}..t={}]",
                self.client, self.text, self.invoke, ret
            ),
            None => write!(
                f,
                "c{} {} [t={}..?] (no return)",
                self.client, self.text, self.invoke
            ),
        }
    }
}

/// An operation that could have come next after the longest prefix, but did not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckOp {
    /// Index into [`Report::ops`].
    pub op: usize,
    /// `true`: the model accepts it right after the prefix, but every continuation from there
    /// fails later. `false`: the model rejects its output in that state.
    pub fits: bool,
}

/// The minimal failing partition of a history and where linearization got stuck.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The model's name (`kv`), so a reader knows which rules were applied.
    pub model: String,
    /// The failing partition's name: its key, or its keys `+`-joined and truncated
    /// (`a+b+n`) when transactions joined several.
    pub partition: String,
    /// Every key of the failing partition, sorted.
    pub keys: Vec<String>,
    /// The partition's operations, ordered by invoke time (then return, then client).
    pub ops: Vec<ReportOp>,
    /// The longest linearizable prefix found, as indices into `ops` in linearization order.
    pub prefix: Vec<usize>,
    /// `states[k]` is the model state after the first `k` prefix operations (`states[0]` is
    /// the initial state), so a reader can replay the prefix step by step.
    pub states: Vec<String>,
    /// The operations that could come next after the prefix; none can be placed.
    pub stuck: Vec<StuckOp>,
    /// How many partitions the history had: context for "1 of 40 keys failed".
    pub partitions_total: usize,
    /// How many of them had no linearization; the report shows the smallest.
    pub partitions_failed: usize,
}

impl Report {
    /// Describe a failing partition over `keys` (sorted): `ops` in any order, `prefix` as
    /// indices into `ops`.
    pub fn build<M: Model>(
        model: &M,
        partition: &str,
        keys: &[String],
        ops: &[&Operation<M::Input, M::Output>],
        prefix: &[usize],
    ) -> Report {
        // Display order: by invoke time; `order[k]` is the `ops` index shown at position k.
        let mut order: Vec<usize> = (0..ops.len()).collect();
        order.sort_by_key(|&i| {
            (
                ops[i].invoke,
                ops[i].ret().unwrap_or(Time::MAX),
                ops[i].client,
                i,
            )
        });
        let mut shown_at = vec![0; ops.len()];
        for (k, &i) in order.iter().enumerate() {
            shown_at[i] = k;
        }
        let report_ops = order
            .iter()
            .map(|&i| ReportOp {
                client: ops[i].client,
                invoke: ops[i].invoke,
                ret: ops[i].ret(),
                text: model.describe_operation(&ops[i].input, ops[i].output()),
            })
            .collect();

        let mut state = model.init_partition(keys);
        let mut states = vec![model.describe_state(&state)];
        for &i in prefix {
            state = model
                .step_during(&state, &ops[i].input, ops[i].output(), ops[i].interval())
                .expect("the model is pure: it accepted this prefix during the search");
            states.push(model.describe_state(&state));
        }
        let stuck = candidates(ops, prefix)
            .into_iter()
            .map(|i| {
                let o = ops[i];
                let fits = model
                    .step_during(&state, &o.input, o.output(), o.interval())
                    .is_some();
                StuckOp {
                    op: shown_at[i],
                    fits,
                }
            })
            .collect();
        Report {
            model: model.name().to_string(),
            partition: partition.to_string(),
            keys: keys.to_vec(),
            ops: report_ops,
            prefix: prefix.iter().map(|&i| shown_at[i]).collect(),
            states,
            stuck,
            partitions_total: 1,
            partitions_failed: 1,
        }
    }

    /// The model state after the whole prefix: the state in which the search got stuck.
    pub fn stuck_state(&self) -> &str {
        self.states.last().map_or("", String::as_str)
    }

    /// Where `op` (an index into `ops`) sits in the prefix: `Some(0)` for the first placed.
    pub fn prefix_position(&self, op: usize) -> Option<usize> {
        self.prefix.iter().position(|&p| p == op)
    }

    /// Whether `op` (an index into `ops`) is one of the candidates that could not be placed.
    pub fn is_stuck(&self, op: usize) -> bool {
        self.stuck.iter().any(|s| s.op == op)
    }
}

/// Operations not in `prefix` that real time allows next: invoked no later than the earliest
/// return among the remaining operations (touching intervals are concurrent).
fn candidates<I, O>(ops: &[&Operation<I, O>], prefix: &[usize]) -> Vec<usize> {
    let mut placed = vec![false; ops.len()];
    for &i in prefix {
        placed[i] = true;
    }
    let remaining: Vec<usize> = (0..ops.len()).filter(|&i| !placed[i]).collect();
    let earliest_return = remaining.iter().filter_map(|&i| ops[i].ret()).min();
    let mut next: Vec<usize> = remaining
        .into_iter()
        .filter(|&i| match earliest_return {
            Some(r) => ops[i].invoke <= r,
            None => true,
        })
        .collect();
    next.sort_by_key(|&i| (ops[i].invoke, i));
    next
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "violation: partition {} has no linearization ({} model, {} ops; {} of {} partitions failed)",
            self.partition,
            self.model,
            self.ops.len(),
            self.partitions_failed,
            self.partitions_total
        )?;
        writeln!(
            f,
            "operations by invoke time; [n] = n-th in the longest linearizable prefix, [!] = stuck:"
        )?;
        for (k, op) in self.ops.iter().enumerate() {
            let mark = match self.prefix_position(k) {
                Some(p) => format!("[{}]", p + 1),
                None if self.is_stuck(k) => "[!]".to_string(),
                None => "[ ]".to_string(),
            };
            writeln!(f, "  {mark} {op}")?;
        }
        writeln!(
            f,
            "stuck after {} of {} ops, in state {}; none of these can come next:",
            self.prefix.len(),
            self.ops.len(),
            self.stuck_state()
        )?;
        for s in &self.stuck {
            let why = if s.fits {
                "fits, but every way on from there fails"
            } else {
                "rejected in this state"
            };
            writeln!(f, "  {}: {why}", self.ops[s.op])?;
        }
        Ok(())
    }
}
