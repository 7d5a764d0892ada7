//! The command-line entry point:
//! `distributed check [--model linearizable|sequential|causal|session|eventual] HISTORY.jsonl
//! [--html OUT.html]` (linearizable by default).
//!
//! ```text
//!   read file ──► parse ──► check ──► print verdict ──► (violation and --html) write page
//!       │           │                    │
//!       └─ error ───┴──► "error: ..." ──►│ exit 2
//!                                        ├─ linearizable ─► exit 0
//!                                        ├─ violation ────► exit 1   (+ the failing partition)
//!                                        └─ unknown ──────► exit 3   (+ which partitions)
//! ```
//!
//! The first line printed is exactly one word (`linearizable`, `violation`, `unknown`, or
//! `error: ...`) so scripts can match on it; details follow on later lines. The model comes
//! from the file's optional `{"model":...}` header line, `kv` when absent.
//!
//! The weaker models (`--model sequential|causal|session|eventual`) print `holds` where
//! linearizability prints `linearizable`, with the same exit codes (`weak/cli.rs`); `session`
//! prints all four session guarantees and exits 1 if any fails.
//!
//! The binary wires this in; it lives here so the checker's tests cover the whole path.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use std::fmt;
use std::str::FromStr;

use crate::checker::{Budget, CheckResult, Checker, Stats};
use crate::history::History;
use crate::html::render_html;
use crate::weak::WeakModel;

/// The consistency model `distributed check --model` judges a history against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConsistencyModel {
    /// Linearizability (the checker of `checker.rs`): today's default.
    #[default]
    Linearizable,
    /// Sequential consistency.
    Sequential,
    /// Causal consistency.
    Causal,
    /// The four session guarantees, each with its own verdict.
    Session,
    /// Eventual convergence of the replicas' final values.
    Eventual,
}

impl ConsistencyModel {
    /// Every model, in the order the help text lists them.
    pub const ALL: [ConsistencyModel; 5] = [
        ConsistencyModel::Linearizable,
        ConsistencyModel::Sequential,
        ConsistencyModel::Causal,
        ConsistencyModel::Session,
        ConsistencyModel::Eventual,
    ];

    /// The name `--model` takes.
    pub fn name(self) -> &'static str {
        match self {
            ConsistencyModel::Linearizable => "linearizable",
            ConsistencyModel::Sequential => "sequential",
            ConsistencyModel::Causal => "causal",
            ConsistencyModel::Session => "session",
            ConsistencyModel::Eventual => "eventual",
        }
    }

    /// The weaker models it stands for (none for linearizability).
    fn weak_models(self) -> Vec<WeakModel> {
        match self {
            ConsistencyModel::Linearizable => Vec::new(),
            ConsistencyModel::Sequential => vec![WeakModel::Sequential],
            ConsistencyModel::Causal => vec![WeakModel::Causal],
            ConsistencyModel::Session => WeakModel::SESSION.to_vec(),
            ConsistencyModel::Eventual => vec![WeakModel::Eventual],
        }
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConsistencyModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ConsistencyModel::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown model {s:?}: one of linearizable, sequential, causal, session,                      eventual"
                )
            })
    }
}

/// Exit code: every partition has a linearization.
pub const EXIT_LINEARIZABLE: i32 = 0;
/// Exit code: some partition has none.
pub const EXIT_VIOLATION: i32 = 1;
/// Exit code: the file could not be read or parsed, or the page not written.
pub const EXIT_ERROR: i32 = 2;
/// Exit code: the budget ran out first.
pub const EXIT_UNKNOWN: i32 = 3;

/// The largest history file read: bounds memory for untrusted input (1 GiB).
pub const HISTORY_FILE_BYTES_MAX: u64 = 1 << 30;

/// Check the history at `path` with the default budget, print the verdict to `out`, write the
/// HTML page to `html_out` if asked and there is a violation; returns the exit code
/// (0 linearizable, 1 violation, 2 error, 3 unknown).
pub fn run_cli(path: &Path, html_out: Option<&Path>, out: &mut dyn Write) -> i32 {
    run_cli_with_budget(path, html_out, Budget::default(), out)
}

/// [`run_cli`] with an explicit budget (for `--steps`/`--timeout` style flags).
pub fn run_cli_with_budget(
    path: &Path,
    html_out: Option<&Path>,
    budget: Budget,
    out: &mut dyn Write,
) -> i32 {
    run_cli_model(path, ConsistencyModel::Linearizable, html_out, budget, out)
}

/// Check the history at `path` against `model` (`budget` applies to linearizability; the
/// weaker models use their defaults), print the verdict, write the page if asked and there is
/// a violation; returns the exit code (0 holds, 1 violation, 2 error, 3 unknown).
pub fn run_cli_model(
    path: &Path,
    model: ConsistencyModel,
    html_out: Option<&Path>,
    budget: Budget,
    out: &mut dyn Write,
) -> i32 {
    let result = read_history(path).and_then(|history| match model {
        ConsistencyModel::Linearizable => run(&history, html_out, budget, out),
        weaker => crate::weak::cli::run(&history, &weaker.weak_models(), html_out, out)
            .map_err(|e| format!("{}: {e}", path.display())),
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            // If even this write fails there is no one left to tell; the exit code still says it.
            let _ = writeln!(out, "error: {message}");
            EXIT_ERROR
        }
    }
}

/// Read and parse the history file; errors name the file.
fn read_history(path: &Path) -> Result<History, String> {
    let text = read_bounded(path).map_err(|e| format!("{}: {e}", path.display()))?;
    History::parse_json_lines(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(
    history: &History,
    html_out: Option<&Path>,
    budget: Budget,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let (result, stats) = Checker::default()
        .with_budget(budget)
        .check_history_with_stats(history);
    let io_err = |e: io::Error| format!("writing the verdict: {e}");
    match result {
        CheckResult::Linearizable => {
            writeln!(out, "linearizable").map_err(io_err)?;
            writeln!(out, "{}", summary(history, &stats)).map_err(io_err)?;
            note_no_page(html_out, out).map_err(io_err)?;
            Ok(EXIT_LINEARIZABLE)
        }
        CheckResult::Unknown => {
            writeln!(out, "unknown").map_err(io_err)?;
            writeln!(out, "{}", summary(history, &stats)).map_err(io_err)?;
            let limit = budget
                .time_max
                .map_or("none".to_string(), |d| format!("{}s", d.as_secs_f64()));
            writeln!(
                out,
                "out of budget ({} steps per partition, time limit {limit}) in: {}",
                budget.partition_steps_max,
                stats.unknown.join(", ")
            )
            .map_err(io_err)?;
            if !stats.too_large.is_empty() {
                writeln!(
                    out,
                    "too large to search (more than {} ops in one partition): {}",
                    budget.partition_ops_max,
                    stats.too_large.join(", ")
                )
                .map_err(io_err)?;
            }
            note_no_page(html_out, out).map_err(io_err)?;
            Ok(EXIT_UNKNOWN)
        }
        CheckResult::Violation(report) => {
            writeln!(out, "violation").map_err(io_err)?;
            write!(out, "{report}").map_err(io_err)?;
            if let Some(html_path) = html_out {
                std::fs::write(html_path, render_html(&report)).map_err(|e| {
                    format!("{}: cannot write the HTML page: {e}", html_path.display())
                })?;
                writeln!(out, "html: wrote {}", html_path.display()).map_err(io_err)?;
            }
            Ok(EXIT_VIOLATION)
        }
    }
}

fn summary(history: &History, stats: &Stats) -> String {
    format!(
        "{} model: {} operations, {} partitions, {} search steps; no-return reads dropped: {}",
        history.model(),
        history.ops().len(),
        stats.partitions,
        stats.steps,
        stats.dropped_reads
    )
}

fn note_no_page(html_out: Option<&Path>, out: &mut dyn Write) -> io::Result<()> {
    match html_out {
        Some(p) => writeln!(
            out,
            "html: {} not written (no violation to show)",
            p.display()
        ),
        None => Ok(()),
    }
}

/// Read a UTF-8 file of at most [`HISTORY_FILE_BYTES_MAX`] bytes.
fn read_bounded(path: &Path) -> Result<String, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    file.take(HISTORY_FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > HISTORY_FILE_BYTES_MAX {
        return Err(format!("larger than {HISTORY_FILE_BYTES_MAX} bytes"));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (bad byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
