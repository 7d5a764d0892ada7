//! Every consistency model, one verdict each: what one register history is judged against.
//!
//! ```text
//!   History (register model: get/put, unique values, sequential clients, final values)
//!     ├─► check::Checker (Wing & Gong, P-compositional, step budget, 1 thread) ─► linearizable
//!     └─► check::check_all_weak (one causal order)  ─► sequential, causal,
//!                                                      read-your-writes, monotonic reads,
//!                                                      writes-follow-reads, monotonic writes,
//!                                                      eventual convergence (final values)
//!   each ─► Judgement: Holds | Violation(evidence) | Unknown(why)
//! ```
//!
//! The order of [`Model::ALL`] is the map's column order, strongest first. Every budget is in
//! steps, never wall time, and the linearizability search runs on one thread, so a seed's
//! verdicts (`Unknown` included) replay exactly.

use std::fmt;

use check::{
    check_all_weak, Budget, CheckResult, Checker, History, HistoryError, Verdict, WeakBudget,
    WeakModel, WeakReport,
};

/// A consistency model a history is judged against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Model {
    /// Herlihy & Wing 1990: one order, inside every op's real-time interval.
    Linearizable,
    /// Lamport 1979: one order respecting each client's order.
    Sequential,
    /// Causal consistency (Bouajjani et al. 2017).
    Causal,
    /// Terry et al. 1994: a client reads its own writes.
    ReadYourWrites,
    /// Terry et al. 1994: a client's reads never go back in time.
    MonotonicReads,
    /// Terry et al. 1994: a write follows the writes its client read.
    WritesFollowReads,
    /// Terry et al. 1994: a client's writes are applied in its order.
    MonotonicWrites,
    /// After the calm and a quiet period, every replica holds the same state, explained by
    /// the writes, with no acknowledged write lost, and no sibling kept beside a value that
    /// is causally after it.
    Eventual,
    /// Eventual convergence without its last rule: the replicas agree, on a state the writes
    /// explain, with no acknowledged write lost, but a sibling its own client had already
    /// seen replaced may stay. What a multi-value store keeps when clients carry no causal
    /// context (Dynamo §4.4's context is the road not taken by the client vocabulary).
    Converges,
}

/// The convergence checker's name for the one rule [`Model::Converges`] leaves out. The
/// checker reports a history's worst issue only (divergence, then thin air, then a lost
/// write, then this), so a report with this pattern means every other rule held.
const STALE_SIBLING_PATTERN: &str = "causally overwritten sibling kept";

impl Model {
    /// Every model, in the map's column order.
    pub const ALL: [Model; 9] = [
        Model::Linearizable,
        Model::Sequential,
        Model::Causal,
        Model::ReadYourWrites,
        Model::MonotonicReads,
        Model::WritesFollowReads,
        Model::MonotonicWrites,
        Model::Eventual,
        Model::Converges,
    ];

    /// Its column in tables (short: the table must fit a terminal).
    pub fn column(self) -> &'static str {
        match self {
            Model::Linearizable => "linearizable",
            Model::Sequential => "sequential",
            Model::Causal => "causal",
            Model::ReadYourWrites => "ryw",
            Model::MonotonicReads => "mono-reads",
            Model::WritesFollowReads => "wfr",
            Model::MonotonicWrites => "mono-writes",
            Model::Eventual => "eventual",
            Model::Converges => "converges",
        }
    }

    /// The `check` crate's weaker model, for every model but linearizability.
    pub fn weak(self) -> Option<WeakModel> {
        Some(match self {
            Model::Linearizable => return None,
            Model::Sequential => WeakModel::Sequential,
            Model::Causal => WeakModel::Causal,
            Model::ReadYourWrites => WeakModel::ReadYourWrites,
            Model::MonotonicReads => WeakModel::MonotonicReads,
            Model::WritesFollowReads => WeakModel::WritesFollowReads,
            Model::MonotonicWrites => WeakModel::MonotonicWrites,
            Model::Eventual | Model::Converges => WeakModel::Eventual,
        })
    }

    /// Its index in [`Model::ALL`].
    pub fn index(self) -> usize {
        Model::ALL
            .iter()
            .position(|&m| m == self)
            .expect("every model is in ALL")
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.weak() {
            Some(_) if *self == Model::Converges => {
                f.write_str("convergence (stale siblings allowed)")
            }
            Some(weak) => write!(f, "{weak}"),
            None => f.write_str("linearizability"),
        }
    }
}

/// Why a history breaks a model: the checker's own report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// The linearizability checker's minimal failing partition.
    Linearizability(Box<check::Report>),
    /// A weaker model's minimal evidence.
    Weak(Box<WeakReport>),
}

/// One model's verdict on one history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// The model holds.
    Holds,
    /// It does not; the evidence says why.
    Violation(Evidence),
    /// No claim either way (a budget ran out, or nothing to judge); says why.
    Unknown(String),
}

impl Judgement {
    /// `holds`, `violation` or `unknown`.
    pub fn word(&self) -> &'static str {
        match self {
            Judgement::Holds => "holds",
            Judgement::Violation(_) => "violation",
            Judgement::Unknown(_) => "unknown",
        }
    }

    /// Is it a violation?
    pub fn is_violation(&self) -> bool {
        matches!(self, Judgement::Violation(_))
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Linearizability(r) => write!(f, "{r}"),
            Evidence::Weak(r) => write!(f, "{r}"),
        }
    }
}

/// How much the checkers may search before they answer `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckBudget {
    /// Linearizability search steps per key.
    pub linearizable_steps_max: u64,
    /// The weaker models' budget (ops ordered, sequential search steps).
    pub weak: WeakBudget,
}

impl Default for CheckBudget {
    fn default() -> Self {
        CheckBudget {
            linearizable_steps_max: 2_000_000,
            weak: WeakBudget::default(),
        }
    }
}

/// Judge `history` against every model, in [`Model::ALL`] order. Eventual convergence needs
/// the replicas' final values: without them (`no_finals` says why) it is `Unknown`. Errors
/// only for a history the weaker checkers refuse (a recording bug, not a verdict).
pub fn judge(
    history: &History,
    budget: CheckBudget,
    no_finals: Option<&str>,
) -> Result<Vec<(Model, Judgement)>, HistoryError> {
    let checker = Checker::default()
        .with_budget(Budget::steps(budget.linearizable_steps_max))
        .with_threads(1);
    let linear = match checker.check_history(history) {
        CheckResult::Linearizable => Judgement::Holds,
        CheckResult::Violation(r) => Judgement::Violation(Evidence::Linearizability(Box::new(r))),
        CheckResult::Unknown => Judgement::Unknown("linearizability search budget ran out".into()),
    };
    let weak = check_all_weak(history, budget.weak)?;
    let mut out = vec![(Model::Linearizable, linear)];
    for model in &Model::ALL[1..Model::Converges.index()] {
        let wanted = model.weak().expect("every model but the first is weak");
        let found = weak.iter().find(|(m, _)| *m == wanted).map(|(_, v)| v);
        let judgement = match (found, no_finals) {
            (Some(Verdict::Holds), _) => Judgement::Holds,
            (Some(Verdict::Violation(r)), _) => Judgement::Violation(Evidence::Weak(r.clone())),
            (Some(Verdict::Unknown(why)), _) => Judgement::Unknown(why.clone()),
            (None, Some(why)) => Judgement::Unknown(why.to_string()),
            (None, None) => Judgement::Unknown("no replica reported a final state".into()),
        };
        out.push((*model, judgement));
    }
    let converges = match &out[Model::Eventual.index()].1 {
        Judgement::Violation(Evidence::Weak(r)) if r.pattern == STALE_SIBLING_PATTERN => {
            Judgement::Holds
        }
        other => other.clone(),
    };
    out.push((Model::Converges, converges));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use check::{Command, HistoryBuilder, ModelKind, Outcome};

    #[test]
    fn a_stale_read_breaks_linearizability_but_not_the_session_guarantees_of_another_client() {
        let mut b = HistoryBuilder::with_model(ModelKind::Register);
        b.returned(1, Command::put("x", "c1.1"), 0, 10, Outcome::Done)
            .unwrap();
        b.returned(2, Command::get("x"), 20, 30, Outcome::nil())
            .unwrap();
        b.final_value(1, "x", &["c1.1"]);
        b.final_value(2, "x", &["c1.1"]);
        let history = b.build().unwrap();
        let verdicts = judge(&history, CheckBudget::default(), None).unwrap();
        let of = |m: Model| verdicts.iter().find(|(x, _)| *x == m).unwrap().1.word();
        assert_eq!(verdicts.len(), Model::ALL.len());
        assert_eq!(of(Model::Linearizable), "violation");
        assert_eq!(of(Model::Sequential), "holds", "c2 may come first");
        assert_eq!(of(Model::ReadYourWrites), "holds");
        assert_eq!(of(Model::Eventual), "holds");
    }

    #[test]
    fn a_stale_sibling_breaks_eventual_convergence_but_not_plain_convergence() {
        // c1 wrote a, then b, but the replicas keep both: b should have replaced a.
        let mut b = HistoryBuilder::with_model(ModelKind::Register);
        b.returned(1, Command::put("x", "a"), 0, 10, Outcome::Done)
            .unwrap();
        b.returned(1, Command::put("x", "b"), 20, 30, Outcome::Done)
            .unwrap();
        b.final_value(1, "x", &["a", "b"]);
        b.final_value(2, "x", &["a", "b"]);
        let history = b.build().unwrap();
        let verdicts = judge(&history, CheckBudget::default(), None).unwrap();
        let of = |m: Model| &verdicts[m.index()].1;
        let Judgement::Violation(Evidence::Weak(r)) = of(Model::Eventual) else {
            panic!("eventual: {:?}", of(Model::Eventual));
        };
        assert_eq!(
            r.pattern, STALE_SIBLING_PATTERN,
            "the checker's name for it"
        );
        assert_eq!(of(Model::Converges), &Judgement::Holds);
    }

    #[test]
    fn a_lost_write_breaks_convergence_too() {
        // c1 wrote a, then b; every replica ends with a: b, acknowledged, is gone.
        let mut b = HistoryBuilder::with_model(ModelKind::Register);
        b.returned(1, Command::put("x", "a"), 0, 10, Outcome::Done)
            .unwrap();
        b.returned(1, Command::put("x", "b"), 20, 30, Outcome::Done)
            .unwrap();
        b.final_value(1, "x", &["a"]);
        b.final_value(2, "x", &["a"]);
        let history = b.build().unwrap();
        let verdicts = judge(&history, CheckBudget::default(), None).unwrap();
        assert!(verdicts[Model::Eventual.index()].1.is_violation());
        assert!(verdicts[Model::Converges.index()].1.is_violation());
    }

    #[test]
    fn without_final_values_eventual_convergence_is_unknown_and_says_why() {
        let mut b = HistoryBuilder::with_model(ModelKind::Register);
        b.returned(1, Command::put("x", "c1.1"), 0, 10, Outcome::Done)
            .unwrap();
        let history = b.build().unwrap();
        let verdicts = judge(&history, CheckBudget::default(), Some("stopped early")).unwrap();
        assert_eq!(
            verdicts[Model::Eventual.index()].1,
            Judgement::Unknown("stopped early".into())
        );
    }
}
