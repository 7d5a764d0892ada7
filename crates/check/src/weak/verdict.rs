//! One verdict for every weaker model, and one report shape: the evidence as a chain of ops.
//!
//! ```text
//!   Verdict::Holds                      the model's rules hold on this history
//!   Verdict::Violation(report)          a bad pattern (or no sequential order) was found
//!   Verdict::Unknown(why)               too large, or out of budget: no claim either way
//!
//!   causal consistency violated: WriteCORead on key x (Bouajjani et al. 2017)
//!   c2 get(x) -> "1" reads put(x, "1"), which put(x, "2") overwrote causally before the read
//!     [w1] c1 put(x, "1") [t=0..t=5]                 one line per op, like the
//!            │ so                                    linearizability report
//!     [w2] c1 put(x, "2") [t=6..t=9]
//!            │ wr                                    so = same client, later
//!          c2 get(x) -> "2" [t=10..t=12]             wr = the read saw this put's value
//!            │ so
//!     [r]  c2 get(x) -> "1" [t=13..t=15]
//! ```
//!
//! The chain is the minimal evidence: the few ops that form the bad pattern, joined by the
//! so/wr edges that make one causally before the next (shortest paths, `order.rs`). Models
//! whose evidence is not a chain (no sequential order, replicas that disagree) leave the edges
//! out and say the rest in `lines`. The report is plain data, like the linearizability
//! [`Report`](crate::Report), so the text, the HTML page (`weak/html.rs`) and tests read the
//! same thing.

use std::fmt;

use super::order::Link;
use super::registers::Registers;
use crate::report::ReportOp;

/// The weaker models, each with its own verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WeakModel {
    /// Lamport 1979: one order of all ops, respecting each client's order.
    Sequential,
    /// Causal consistency (CC), Bouajjani et al. 2017.
    Causal,
    /// Terry et al. 1994: a client's reads see its own earlier writes.
    ReadYourWrites,
    /// Terry et al. 1994: a client's reads never go back in time.
    MonotonicReads,
    /// Terry et al. 1994: a client's writes are ordered as it issued them.
    MonotonicWrites,
    /// Terry et al. 1994: a write is ordered after the writes its client had read.
    WritesFollowReads,
    /// Replicas agree after a quiet period, and lost no acknowledged write.
    Eventual,
}

impl WeakModel {
    /// The four session guarantees, in the order Terry et al. list them.
    pub const SESSION: [WeakModel; 4] = [
        WeakModel::ReadYourWrites,
        WeakModel::MonotonicReads,
        WeakModel::WritesFollowReads,
        WeakModel::MonotonicWrites,
    ];

    /// Its name in prose (`causal consistency`).
    pub fn name(self) -> &'static str {
        match self {
            WeakModel::Sequential => "sequential consistency",
            WeakModel::Causal => "causal consistency",
            WeakModel::ReadYourWrites => "read-your-writes",
            WeakModel::MonotonicReads => "monotonic reads",
            WeakModel::MonotonicWrites => "monotonic writes",
            WeakModel::WritesFollowReads => "writes-follow-reads",
            WeakModel::Eventual => "eventual convergence",
        }
    }

    /// Where its definition comes from, for reports.
    pub fn source(self) -> &'static str {
        match self {
            WeakModel::Sequential => "Lamport 1979",
            WeakModel::Causal => "Bouajjani et al. 2017",
            WeakModel::Eventual => "Terry et al. 1995; Shapiro et al. 2011",
            _ => "Terry et al. 1994",
        }
    }
}

impl fmt::Display for WeakModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A weaker model's verdict on one history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The model holds.
    Holds,
    /// It does not; the report shows the minimal evidence.
    Violation(Box<WeakReport>),
    /// No claim either way; says why (too large, out of budget).
    Unknown(String),
}

impl Verdict {
    /// Whether the model holds.
    pub fn holds(&self) -> bool {
        matches!(self, Verdict::Holds)
    }

    /// The report, for a violation.
    pub fn report(&self) -> Option<&WeakReport> {
        match self {
            Verdict::Violation(r) => Some(r),
            _ => None,
        }
    }

    /// The one word scripts match on: `holds`, `violation` or `unknown`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Violation(_) => "violation",
            Verdict::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for Verdict {
    /// `holds`, `unknown: why`, or `violation` followed by the report's lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Holds => f.write_str("holds"),
            Verdict::Unknown(why) => write!(f, "unknown: {why}"),
            Verdict::Violation(report) => write!(f, "violation\n{report}"),
        }
    }
}

/// An edge of the causal order, as the report shows it between two ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edge {
    /// Session order: the same client, later.
    So,
    /// Reads from: the second op read the value the first one wrote.
    Wr,
    /// Must come before, in any sequential order: inferred from what a read saw (the report's
    /// lines say which read; `weak/sc_saturate.rs`).
    Before,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Edge::So => "so",
            Edge::Wr => "wr",
            Edge::Before => "before",
        })
    }
}

/// One op of the evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The op, as the linearizability report shows it.
    pub op: ReportOp,
    /// Its part in the pattern (`w1`, `r`, `own write`), or empty for an op on the path.
    pub role: String,
    /// The edge to the next step; `None` on the last step, or between unrelated steps.
    pub then: Option<Edge>,
}

/// The evidence that a history breaks one weaker model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeakReport {
    /// The model broken.
    pub model: WeakModel,
    /// The bad pattern's name (`WriteCORead`, `divergence`, ...).
    pub pattern: String,
    /// One sentence naming the ops and the key.
    pub headline: String,
    /// The evidence ops, in chain order.
    pub steps: Vec<Step>,
    /// The last step's edge leads back to the first (CyclicCO).
    pub closes_cycle: bool,
    /// Further facts, one per line (final values per replica, where a search got stuck).
    pub lines: Vec<String>,
    /// Other ops on the evidence's keys, nearest in time first: drawn grey on the page.
    pub context: Vec<ReportOp>,
    /// How many instances of this violation the history has (reads involved, keys, ...).
    pub instances: usize,
}

impl WeakReport {
    /// A report with no steps yet.
    pub(crate) fn new(model: WeakModel, pattern: &str, headline: String) -> Self {
        WeakReport {
            model,
            pattern: pattern.to_string(),
            headline,
            steps: Vec::new(),
            closes_cycle: false,
            lines: Vec::new(),
            context: Vec::new(),
            instances: 1,
        }
    }
}

impl fmt::Display for WeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} violated: {} ({})",
            self.model,
            self.pattern,
            self.model.source()
        )?;
        writeln!(f, "{}", self.headline)?;
        // Roles in a column: `[w1] `, padded so the ops line up.
        let width = self.steps.iter().map(|s| s.role.len()).max().unwrap_or(0);
        let pad = if width > 0 { width + 3 } else { 0 };
        for (k, step) in self.steps.iter().enumerate() {
            let mark = match step.role.as_str() {
                "" => " ".repeat(pad),
                role => format!("{:<pad$}", format!("[{role}] ")),
            };
            writeln!(f, "  {mark}{}", step.op)?;
            if let Some(edge) = step.then {
                let back = if k + 1 == self.steps.len() && self.closes_cycle {
                    " (back to the first op)"
                } else {
                    ""
                };
                writeln!(f, "  {}  │ {edge}{back}", " ".repeat(pad))?;
            }
        }
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        if self.instances > 1 {
            writeln!(
                f,
                "{} instances in all; shown: the one with the shortest evidence among the first found",
                self.instances
            )?;
        }
        Ok(())
    }
}

/// How many violations of one kind are turned into evidence to pick the shortest from.
pub(crate) const EVIDENCE_CANDIDATES_MAX: usize = 16;

/// Most context ops a report carries for the page.
pub(crate) const CONTEXT_OPS_MAX: usize = 40;

/// A path of ops as steps; `roles` names the ops that play a part in the pattern.
pub(crate) fn chain(view: &Registers<'_>, links: &[Link], roles: &[(usize, &str)]) -> Vec<Step> {
    links
        .iter()
        .map(|&(op, then)| Step {
            op: view.report_op(op),
            role: roles
                .iter()
                .find(|(o, _)| *o == op)
                .map_or(String::new(), |(_, r)| r.to_string()),
            then,
        })
        .collect()
}

/// Two paths joined where the first ends and the second begins (the same op).
pub(crate) fn join(mut first: Vec<Link>, second: Vec<Link>) -> Vec<Link> {
    let last = first.pop().expect("a path has at least one op");
    assert_eq!(Some(last.0), second.first().map(|l| l.0), "paths must meet");
    first.extend(second);
    first
}

/// Up to [`CONTEXT_OPS_MAX`] ops on `key` that are not in `evidence`, nearest in time to the
/// evidence first, returned in invoke order.
pub(crate) fn context(view: &Registers<'_>, key: usize, evidence: &[usize]) -> Vec<ReportOp> {
    let shown: Vec<ReportOp> = evidence.iter().map(|&i| view.report_op(i)).collect();
    let start = shown.iter().map(|o| o.invoke).min().unwrap_or(0);
    let end = shown
        .iter()
        .map(|o| o.ret.unwrap_or(o.invoke))
        .max()
        .unwrap_or(0);
    let mut others: Vec<(u64, ReportOp)> = (0..view.ops.len())
        .filter(|&i| view.ops[i].key == key && !evidence.contains(&i))
        .map(|i| {
            let op = view.report_op(i);
            let ret = op.ret.unwrap_or(op.invoke);
            let distance = start.saturating_sub(ret).max(op.invoke.saturating_sub(end));
            (distance, op)
        })
        .collect();
    others.sort_by_key(|(d, op)| (*d, op.invoke, op.client));
    others.truncate(CONTEXT_OPS_MAX);
    let mut ops: Vec<ReportOp> = others.into_iter().map(|(_, op)| op).collect();
    ops.sort_by_key(|op| (op.invoke, op.client));
    ops
}
