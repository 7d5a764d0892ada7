//! # weak/: the consistency models weaker than linearizability
//!
//! One read/write workload, judged against every model, so a table can say which system keeps
//! which (issue 16's consistency map). Each model has the same verdict (`Holds`,
//! `Violation(report)`, `Unknown(why)`), a one-line-per-op report of the minimal evidence, and
//! an HTML page. The models, strongest first:
//!
//! ```text
//!   linearizable ──► sequential ──► causal ──► read-your-writes    (each arrow: implies;
//!   (checker.rs)    (Lamport 79)   (CC)    ├─► monotonic reads       the checks below rely
//!                                          ├─► writes-follow-reads   on it for shortcuts and
//!                                          └─► monotonic writes      the tests assert it)
//!
//!   eventual convergence: a different axis, judged on each replica's final state
//! ```
//!
//! ```text
//!   History (get/put, unique values per key, sequential clients)
//!     │  registers.rs: validate, reads-from, sessions
//!     ▼
//!   order.rs: co = (so ∪ wr)+ as bitsets          (over CAUSAL_OPS_MAX ops: Unknown)
//!     │
//!     ├─► causal.rs       the four bad patterns of CC (Bouajjani et al. 2017)
//!     ├─► session.rs      four session guarantees (Terry et al. 1994), each a narrowed pattern
//!     ├─► sequential.rs   not CC ⇒ not SC; linearizable ⇒ SC; else saturate
//!     │                   (sc_saturate.rs: a cycle ⇒ not SC) and search (sc_search.rs)
//!     └─► convergence.rs  final states: agree, explained, no acknowledged write lost
//!            │
//!            ▼
//!   verdict.rs: Verdict, WeakReport (Display) ──► html.rs: render_weak_html
//! ```
//!
//! One convention differs from the linearizability checker's, on purpose. That checker counts
//! intervals that touch (a return and an invoke at the same tick) as concurrent, the safe
//! reading when clocks are coarse. Within one client there is nothing to blur: it sent its next
//! request after it heard back, so the weaker models order a same-tick reply and next request
//! (`registers.rs`). A read of the client's own *next* write is then caught here (CyclicCO)
//! though the linearizability checker lets it pass; that is the one place where "linearizable
//! implies sequential" leans on the convention (`tests/weak_models.rs` shows it).
//!
//! ## Layout
//!
//! ```text
//! mod.rs          this map; check_weak, check_session, check_all_weak; WeakBudget
//! registers.rs    the register view: validation, reads-from, sessions
//! order.rs        the causal order: edges, strongly connected components, ancestor bitsets,
//!                 shortest so/wr paths for evidence
//! causal.rs       CC: CyclicCO, WriteCOInitRead, ThinAirRead, WriteCORead
//! session.rs      read-your-writes, monotonic reads, writes-follow-reads, monotonic writes
//! sequential.rs   SC: shortcuts, the reports (a cycle of inferred order, or stuck)
//! sc_saturate.rs  SC: must-come-before edges inferred from reads, to a fixpoint
//! sc_search.rs    SC: DFS over session positions with a (positions, writers) cache
//! convergence.rs  eventual convergence of the replicas' final values
//! verdict.rs      Verdict, WeakModel, WeakReport, Step, Edge
//! html.rs         the report as one self-contained page (timeline, so/wr arrows)
//! cli.rs          what `distributed check --model ...` prints for these models
//! ```

use crate::history::{History, HistoryError};

mod causal;
pub(crate) mod cli;
mod convergence;
mod html;
mod order;
mod registers;
mod sc_saturate;
mod sc_search;
mod sequential;
mod session;
mod verdict;

pub use html::render_weak_html;
pub use order::CAUSAL_OPS_MAX;
pub use sequential::SEQUENTIAL_STEPS_MAX_DEFAULT;
pub use verdict::{Edge, Step, Verdict, WeakModel, WeakReport};

use order::CausalOrder;
use registers::Registers;

/// How much work the weaker checks may do before answering `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeakBudget {
    /// Most register ops whose causal order is computed (memory: `n²/8` bytes).
    pub ops_max: usize,
    /// Ops the sequential search may place (each step caches at most one state).
    pub sequential_steps_max: u64,
}

impl Default for WeakBudget {
    fn default() -> Self {
        WeakBudget {
            ops_max: CAUSAL_OPS_MAX,
            sequential_steps_max: SEQUENTIAL_STEPS_MAX_DEFAULT,
        }
    }
}

/// Check `history` against one weaker model with the default budget. Errors (bad input, not
/// a verdict): an op other than get/put, a value put twice to one key, a client with
/// overlapping ops, or, for eventual convergence, no final values.
pub fn check_weak(history: &History, model: WeakModel) -> Result<Verdict, HistoryError> {
    check_weak_with(history, model, WeakBudget::default())
}

/// [`check_weak`] with an explicit budget.
pub fn check_weak_with(
    history: &History,
    model: WeakModel,
    budget: WeakBudget,
) -> Result<Verdict, HistoryError> {
    let verdicts = run(history, &[model], budget)?;
    Ok(verdicts
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .expect("one model asked"))
}

/// The four session guarantees, in [`WeakModel::SESSION`] order, from one causal order.
pub fn check_session(
    history: &History,
    budget: WeakBudget,
) -> Result<Vec<(WeakModel, Verdict)>, HistoryError> {
    run(history, &WeakModel::SESSION, budget)
}

/// Every weaker model (eventual convergence only if the history has final values), from one
/// causal order: sequential, causal, the four session guarantees, eventual.
pub fn check_all_weak(
    history: &History,
    budget: WeakBudget,
) -> Result<Vec<(WeakModel, Verdict)>, HistoryError> {
    let mut models = vec![WeakModel::Sequential, WeakModel::Causal];
    models.extend(WeakModel::SESSION);
    if !history.finals().is_empty() {
        models.push(WeakModel::Eventual);
    }
    run(history, &models, budget)
}

/// Validate once, order once, then judge each model asked for.
fn run(
    history: &History,
    models: &[WeakModel],
    budget: WeakBudget,
) -> Result<Vec<(WeakModel, Verdict)>, HistoryError> {
    if models.contains(&WeakModel::Eventual) && history.finals().is_empty() {
        return Err(HistoryError::new(
            "eventual convergence judges each replica's final state, and this history has \
             none: add {\"final\":{\"replica\":1,\"key\":\"k\",\"value\":\"x\"}} lines \
             (format version 3), read after a quiet period",
        ));
    }
    let view = Registers::new(history)?;
    let co = match CausalOrder::new(&view, budget.ops_max) {
        Ok(co) => co,
        Err(why) => {
            return Ok(models
                .iter()
                .map(|&m| (m, Verdict::Unknown(why.clone())))
                .collect())
        }
    };
    let mut out = Vec::with_capacity(models.len());
    let mut session: Option<Vec<(WeakModel, Verdict)>> = None;
    for &model in models {
        let verdict = match model {
            WeakModel::Sequential => sequential::check(&view, &co, budget.sequential_steps_max),
            WeakModel::Causal => causal::check(&view, &co),
            WeakModel::Eventual => convergence::check(history, &view, &co),
            guarantee => {
                let all = session.get_or_insert_with(|| session::check(&view, &co));
                let found = all.iter().find(|(m, _)| *m == guarantee);
                found.expect("every guarantee is checked").1.clone()
            }
        };
        out.push((model, verdict));
    }
    Ok(out)
}
