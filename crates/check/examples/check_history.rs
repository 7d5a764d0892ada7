//! Check a history file from the command line until the `distributed` binary wires it in:
//!
//! ```text
//! cargo run -p check --example check_history -- HISTORY.jsonl [--html OUT.html]
//! ```
//!
//! Exit code 0 linearizable, 1 violation, 2 bad input, 3 unknown (see `check::run_cli`).

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, html) = match args.as_slice() {
        [path] => (PathBuf::from(path), None),
        [path, flag, out] if flag == "--html" => (PathBuf::from(path), Some(PathBuf::from(out))),
        _ => {
            eprintln!("usage: check_history HISTORY.jsonl [--html OUT.html]");
            std::process::exit(2);
        }
    };
    let code = check::run_cli(&path, html.as_deref(), &mut std::io::stdout());
    std::process::exit(code);
}
