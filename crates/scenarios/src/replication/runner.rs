//! Running one seed of any register scheme: build, run through the calm, read the final
//! states, judge the history against every model.
//!
//! ```text
//!   simulation(scheme, seed, opts)
//!     factory: scheme.build(seed, id, disk, rng)       invariants: scheme.invariants()
//!     leader hook: scheme.leader                       sizer: scheme.message_size()
//!     workload: RegisterClients (shared with the runner, which reads the history after)
//!     schedule_calm(opts.calm_at_units())
//!   run ──► Report (stop, stats, trace)
//!       ──► scheme.final_states(view) (only if the run reached the calm and broke nothing)
//!       ──► history + final values ──► models::judge ──► one Judgement per model
//!       ──► RegisterSeedReport: failure() = an invariant, a promised model violated, an
//!           unexpected answer, or a history the checkers refuse; unknown() = a promised
//!           model the checkers could not decide
//! ```
//!
//! The history is judged even when an invariant stopped the run: its ops end where the run
//! ended, and eventual convergence is then `Unknown` (there was no calm to judge after).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

use check::History;
use distributed_core::{NodeId, Protocol, SeededRng};
use replication::{ClientReply, ClientRequest};
use sim::config::{ConfigError, Time};
use sim::hooks::{Workload, WorkloadStep};
use sim::report::{Report, Violation};
use sim::view::ClusterView;
use sim::Simulation;

use super::client::{ClientSettings, RegisterClients};
use super::measure::{Latency, OpCounts};
use super::models::{judge, Judgement, Model};
use super::options::RegisterOptions;
use super::scheme::{Boxed, OpKind, RegisterScheme, ReplicaState};

/// The clients, shared: the simulation drives them, the runner reads them after.
struct SharedClients(Rc<RefCell<RegisterClients>>);

impl<P: Protocol<Input = ClientRequest, Output = ClientReply>> Workload<P> for SharedClients {
    fn poll(&mut self, view: &ClusterView<P>, rng: &mut SeededRng) -> WorkloadStep<ClientRequest> {
        self.0.borrow_mut().poll(view.now(), rng)
    }

    fn on_output(&mut self, node: NodeId, output: &ClientReply, now: Time) {
        self.0.borrow_mut().on_reply(node, output, now);
    }

    fn on_input_dropped(&mut self, node: NodeId, now: Time) {
        self.0.borrow_mut().on_dropped(node, now);
    }
}

/// What the clients need from the scheme and the options.
fn client_settings<S: RegisterScheme>(scheme: &S, opts: &RegisterOptions) -> ClientSettings {
    ClientSettings {
        contacts: scheme.contacts(),
        first: (
            scheme.first_contact(OpKind::Put),
            scheme.first_contact(OpKind::Get),
        ),
        refused_put_is_void: scheme.refused_put_is_void(),
        keys: opts.keys,
        put_per_million: opts.put_per_million,
        timeout_units: opts.client_timeout_units,
        attempts_max: opts.op_attempts_max,
        think_units_max: opts.think_units_max,
        issue_until: opts.calm_at_units(),
        ops_per_client_max: opts.ops_per_client_max,
    }
}

/// A wired simulation and the runner's handle on its clients.
type Wired<N> = (Simulation<N>, Rc<RefCell<RegisterClients>>);

/// A wired simulation of `scheme` for `seed`, and its clients.
fn simulation<S: RegisterScheme>(
    scheme: &S,
    seed: u64,
    opts: &RegisterOptions,
) -> Result<Wired<S::Node>, ConfigError> {
    opts.validate(scheme.nodes())?;
    if scheme.contacts().is_empty() {
        return Err(ConfigError(format!(
            "{} has no node clients may contact",
            scheme.name()
        )));
    }
    let builder = scheme.clone();
    let factory = move |id: NodeId, disk: &_, rng| builder.build(seed, id, disk, rng);
    let clients = Rc::new(RefCell::new(RegisterClients::new(
        opts.clients,
        client_settings(scheme, opts),
    )));
    let leader = scheme.clone();
    let mut sim = Simulation::new(seed, opts.sim_config(scheme.nodes()), factory)?
        .with_leader_hook(move |view| leader.leader(view))
        .with_workload(SharedClients(clients.clone()));
    for invariant in scheme.invariants() {
        sim = sim.with_invariant(Boxed(invariant));
    }
    if let Some(size) = scheme.message_size() {
        sim = sim.with_message_size(size);
    }
    sim.schedule_calm(opts.calm_at_units());
    Ok((sim, clients))
}

/// Run one seed of `scheme` and judge it. Panics if `opts` are invalid for the scheme:
/// validate them first (`RegisterOptions::validate(scheme.nodes())`).
pub fn run_seed<S: RegisterScheme>(
    scheme: &S,
    seed: u64,
    opts: &RegisterOptions,
) -> RegisterSeedReport {
    let (mut sim, clients) =
        simulation(scheme, seed, opts).unwrap_or_else(|e| panic!("run_seed: {e}"));
    let report = sim.run();
    let no_finals = if report.violation().is_some() {
        Some("the run stopped at a violation, before the calm")
    } else if !sim.is_calm() {
        Some("the run ended (max events) before the calm")
    } else {
        None
    };
    let finals = match no_finals {
        None => scheme.final_states(&sim.view()),
        Some(_) => Vec::new(),
    };
    drop(sim); // it holds the other handle on the clients
    let finished = Rc::try_unwrap(clients)
        .ok()
        .expect("the simulation is gone")
        .into_inner()
        .finish();
    let mut builder = finished.history;
    record_finals(&mut builder, &finals);
    let no_finals = no_finals.or(finals
        .is_empty()
        .then_some("no replica held the state at the end"));
    let (history, verdicts, history_error) = match builder.build() {
        Ok(history) => match judge(&history, opts.budget, no_finals) {
            Ok(verdicts) => (Some(history), verdicts, None),
            Err(e) => (Some(history), Vec::new(), Some(e.to_string())),
        },
        Err(e) => (None, Vec::new(), Some(e.to_string())),
    };
    RegisterSeedReport {
        scheme: scheme.name(),
        variant: scheme.variant(),
        promised: scheme.promises(),
        report,
        verdicts,
        ops: finished.counts,
        latency: finished.latency,
        unexpected: finished.unexpected,
        final_replicas: finals.len(),
        history,
        history_error,
    }
}

/// What went wrong with a seed, most serious first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterFailure {
    /// A scheme invariant failed, or a node panicked.
    Invariant,
    /// The checkers refused the history: a recording bug, not a verdict.
    HistoryRejected,
    /// A model the scheme promises does not hold.
    Broken(Model),
    /// A node answered with the wrong kind of answer.
    UnexpectedReply,
}

impl fmt::Display for RegisterFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterFailure::Invariant => f.write_str("invariant"),
            RegisterFailure::HistoryRejected => f.write_str("history-rejected"),
            RegisterFailure::Broken(m) => write!(f, "{}", m.column()),
            RegisterFailure::UnexpectedReply => f.write_str("unexpected-reply"),
        }
    }
}

/// One seed's outcome: the run, every model's verdict, what the clients counted.
#[derive(Clone, Debug)]
pub struct RegisterSeedReport {
    /// The scheme (`chain`) and its variant (`correct`).
    pub scheme: &'static str,
    pub variant: String,
    /// The models the scheme promises.
    pub promised: &'static [Model],
    /// Why the run stopped (maybe a violation), its stats, its trace.
    pub report: Report,
    /// Every model's verdict, in `Model::ALL` order (empty if the history was refused).
    pub verdicts: Vec<(Model, Judgement)>,
    /// How the clients' ops ended.
    pub ops: OpCounts,
    /// Completed ops' latencies.
    pub latency: Latency,
    /// The first unexpected answers, verbatim.
    pub unexpected: Vec<String>,
    /// Replicas that reported a final state.
    pub final_replicas: usize,
    /// The history with its final values (`None` only if it could not be built).
    pub history: Option<History>,
    /// Why the checkers refused the history, if they did.
    pub history_error: Option<String>,
}

/// Every reporting replica's value (or absence) for every key any replica holds. A replica
/// that holds nothing still says so (for `k0` when no replica holds anything), so "every
/// replica is empty" reads as agreement rather than as no report at all.
fn record_finals(builder: &mut check::HistoryBuilder, finals: &[ReplicaState]) {
    let mut keys: BTreeSet<&str> = finals
        .iter()
        .flat_map(|s| s.registers.iter().map(|(k, _)| k.as_str()))
        .collect();
    if keys.is_empty() {
        keys.insert("k0");
    }
    for state in finals {
        for &key in &keys {
            let values: Vec<&str> = state
                .registers
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, vs)| vs.iter().map(String::as_str).collect())
                .unwrap_or_default();
            builder.final_value(state.node.0, key, &values);
        }
    }
}

impl RegisterSeedReport {
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.report.seed
    }

    /// The invariant violation, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.report.violation()
    }

    /// The verdict on `model`, if judged.
    pub fn verdict(&self, model: Model) -> Option<&Judgement> {
        self.verdicts
            .iter()
            .find(|(m, _)| *m == model)
            .map(|(_, j)| j)
    }

    /// The most serious thing wrong with the seed (module docs), if anything.
    pub fn failure(&self) -> Option<RegisterFailure> {
        if self.violation().is_some() {
            return Some(RegisterFailure::Invariant);
        }
        if self.history_error.is_some() {
            return Some(RegisterFailure::HistoryRejected);
        }
        let broken = self
            .promised
            .iter()
            .find(|&&m| self.verdict(m).is_some_and(Judgement::is_violation));
        if let Some(&m) = broken {
            return Some(RegisterFailure::Broken(m));
        }
        (self.ops.unexpected > 0).then_some(RegisterFailure::UnexpectedReply)
    }

    /// No failure, but a promised model the checkers could not decide.
    pub fn is_unknown(&self) -> bool {
        self.failure().is_none()
            && self
                .promised
                .iter()
                .any(|&m| matches!(self.verdict(m), Some(Judgement::Unknown(_))))
    }

    /// The trace lines, if tracing was on.
    pub fn trace_lines(&self) -> impl Iterator<Item = &str> {
        self.report.trace.as_deref().unwrap_or("").lines()
    }

    /// The history in the checker's JSON-lines format (`distributed check` reads it).
    pub fn history_json_lines(&self) -> String {
        self.history
            .as_ref()
            .map_or(String::new(), History::to_json_lines)
    }

    /// One line: what failed and where, for summaries.
    pub fn failure_line(&self) -> Option<String> {
        let failure = self.failure()?;
        let detail = match failure {
            RegisterFailure::Invariant => self.violation().map_or(String::new(), |v| {
                format!("{} at t={}: {}", v.invariant, v.time, v.message)
            }),
            RegisterFailure::HistoryRejected => self.history_error.clone().unwrap_or_default(),
            RegisterFailure::Broken(m) => format!("{m} does not hold, as {} promises", self.scheme),
            RegisterFailure::UnexpectedReply => {
                self.unexpected.first().cloned().unwrap_or_default()
            }
        };
        Some(format!("seed={} {failure}: {detail}", self.seed()))
    }
}

impl fmt::Display for RegisterSeedReport {
    /// The invariant verdict, one word per model, the evidence of every promised model that
    /// broke, the counts and the run's stats.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, variant) = (self.scheme, &self.variant);
        match self.violation() {
            Some(v) => write!(f, "{v}")?,
            None => writeln!(
                f,
                "seed={} {scheme} variant={variant}: invariants ok",
                self.seed()
            )?,
        }
        if let Some(e) = &self.history_error {
            writeln!(f, "history refused by the checkers: {e}")?;
        }
        let words: Vec<String> = self
            .verdicts
            .iter()
            .map(|(m, j)| format!("{}={}", m.column(), j.word()))
            .collect();
        writeln!(f, "models: {}", words.join(" "))?;
        // The first broken promise in full; the others by their first line.
        let mut shown = false;
        for (model, judgement) in &self.verdicts {
            let promised = self.promised.contains(model);
            match judgement {
                Judgement::Violation(evidence) if promised && !shown => {
                    shown = true;
                    writeln!(f, "{evidence}")?;
                }
                Judgement::Violation(evidence) if promised => {
                    let first = evidence.to_string();
                    writeln!(f, "also: {}", first.lines().next().unwrap_or_default())?;
                }
                Judgement::Unknown(why) if promised => writeln!(f, "{model} unknown: {why}")?,
                _ => {}
            }
        }
        for line in &self.unexpected {
            writeln!(f, "unexpected reply: {line}")?;
        }
        let o = &self.ops;
        write!(
            f,
            "ops={} ok={} indeterminate={} abandoned={} redirects={} refusals={} timeouts={} \
             final_replicas={} latency {} {}",
            o.invoked,
            o.ok(),
            o.indeterminate,
            o.abandoned,
            o.redirects,
            o.refusals,
            o.timeouts,
            self.final_replicas,
            self.latency.ticks_line(),
            self.report.stats
        )
    }
}
