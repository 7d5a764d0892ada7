//! `distributed check FILE [--html OUT.html]`: the checker on a recorded history.
//!
//! The work lives in the `check` crate (`check::run_cli`) so that its tests cover the whole path;
//! this file only maps arguments and exit codes.

use std::io;
use std::path::PathBuf;

use clap::Args;

/// Arguments of `distributed check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The history: JSON lines, one operation per line (format in the `check` crate docs).
    pub file: PathBuf,
    /// On a violation, write a self-contained HTML page showing the failing partition.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
}

/// Run the checker; returns the process exit code (0 / 1 / 2 / 3).
pub fn run(args: CheckArgs) -> u8 {
    let mut stdout = io::stdout().lock();
    let code = check::run_cli(&args.file, args.html.as_deref(), &mut stdout);
    u8::try_from(code).unwrap_or(2)
}
