//! What `distributed check --model sequential|causal|session|eventual FILE` prints.
//!
//! ```text
//!   one model                         session (four verdicts from one causal order)
//!   ─────────                         ───────
//!   holds | violation | unknown       violation            (any fails; else unknown if any
//!   <summary line>                    <summary line>        is unknown; else holds)
//!   <the report, or why unknown>      read-your-writes: holds
//!   html: wrote OUT                   monotonic reads: violation
//!                                     <its report>
//!                                     ...
//! ```
//!
//! As for linearizability (`cli.rs`), the first line is one word scripts can match, and the
//! exit code says the same: 0 holds, 1 violation, 3 unknown (2, bad input, is `cli.rs`'s).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use super::{check_session, check_weak_with, render_weak_html, Verdict, WeakBudget, WeakModel};
use crate::cli::{EXIT_LINEARIZABLE, EXIT_UNKNOWN, EXIT_VIOLATION};
use crate::history::History;

/// Judge `history` against `models` (one model, or the four session guarantees), print the
/// verdicts to `out`, write the page if asked and something failed; returns the exit code.
pub(crate) fn run(
    history: &History,
    models: &[WeakModel],
    html_out: Option<&Path>,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let budget = WeakBudget::default();
    let verdicts: Vec<(WeakModel, Verdict)> = if models.len() == 1 {
        let v = check_weak_with(history, models[0], budget).map_err(|e| e.to_string())?;
        vec![(models[0], v)]
    } else {
        check_session(history, budget).map_err(|e| e.to_string())?
    };
    let io = |e: std::io::Error| format!("writing the verdict: {e}");
    let (word, code) = if verdicts.iter().any(|(_, v)| v.report().is_some()) {
        ("violation", EXIT_VIOLATION)
    } else if verdicts
        .iter()
        .any(|(_, v)| matches!(v, Verdict::Unknown(_)))
    {
        ("unknown", EXIT_UNKNOWN)
    } else {
        ("holds", EXIT_LINEARIZABLE)
    };
    writeln!(out, "{word}").map_err(io)?;
    writeln!(out, "{}", summary(history, models)).map_err(io)?;
    for (model, verdict) in &verdicts {
        if verdicts.len() > 1 {
            writeln!(out, "{model}: {}", verdict.word()).map_err(io)?;
        }
        match verdict {
            Verdict::Holds => {}
            Verdict::Unknown(why) => writeln!(out, "{why}").map_err(io)?,
            Verdict::Violation(report) => write!(out, "{report}").map_err(io)?,
        }
    }
    let reports: Vec<_> = verdicts.iter().filter_map(|(_, v)| v.report()).collect();
    match html_out {
        Some(page) if !reports.is_empty() => {
            std::fs::write(page, render_weak_html(&reports))
                .map_err(|e| format!("{}: cannot write the HTML page: {e}", page.display()))?;
            writeln!(out, "html: wrote {}", page.display()).map_err(io)?;
        }
        Some(page) => writeln!(
            out,
            "html: {} not written (no violation to show)",
            page.display()
        )
        .map_err(io)?,
        None => {}
    }
    Ok(code)
}

/// `causal consistency: 12 operations from 3 clients on 2 keys; 4 final values`.
fn summary(history: &History, models: &[WeakModel]) -> String {
    let what = match models {
        [one] => one.name().to_string(),
        _ => "session guarantees".to_string(),
    };
    let clients: BTreeSet<u64> = history.ops().iter().map(|o| o.client).collect();
    let keys: BTreeSet<&str> = history.ops().iter().map(|o| o.input.key()).collect();
    let mut line = format!(
        "{what}: {} from {} on {}",
        count(history.ops().len(), "operation"),
        count(clients.len(), "client"),
        count(keys.len(), "key")
    );
    if !history.finals().is_empty() {
        line.push_str(&format!(
            "; {}",
            count(history.finals().len(), "final value")
        ));
    }
    line
}

/// `1 key`, `2 keys`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
