//! `distributed check [--model M] FILE [--html OUT.html]`: a checker on a recorded history.
//!
//! The work lives in the `check` crate (`check::run_cli_model`) so that its tests cover the
//! whole path; this file only maps arguments and exit codes.

use std::io;
use std::path::PathBuf;

use check::{Budget, ConsistencyModel};
use clap::Args;

/// Arguments of `distributed check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The history: JSON lines, one operation per line (format in the `check` crate docs).
    pub file: PathBuf,
    /// The consistency model to judge it against: linearizable, sequential, causal, session
    /// (the four session guarantees, one verdict each) or eventual (needs the replicas' final
    /// values). The weaker models need a get/put history with unique values per key.
    #[arg(long, default_value = "linearizable", value_parser = parse_model)]
    pub model: ConsistencyModel,
    /// On a violation, write a self-contained HTML page showing the evidence.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
}

fn parse_model(s: &str) -> Result<ConsistencyModel, String> {
    s.parse()
}

/// Run the checker; returns the process exit code (0 / 1 / 2 / 3).
pub fn run(args: CheckArgs) -> u8 {
    let mut stdout = io::stdout().lock();
    let code = check::run_cli_model(
        &args.file,
        args.model,
        args.html.as_deref(),
        Budget::default(),
        &mut stdout,
    );
    u8::try_from(code).unwrap_or(2)
}
