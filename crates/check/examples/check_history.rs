//! Check a history file from the command line without building the `distributed` binary:
//!
//! ```text
//! cargo run -p check --example check_history -- HISTORY.jsonl [--model M] [--html OUT.html]
//! ```
//!
//! `M` is linearizable (default), sequential, causal, session or eventual. Exit code 0 holds,
//! 1 violation, 2 bad input, 3 unknown (see `check::run_cli_model`).

use std::path::PathBuf;

use check::{Budget, ConsistencyModel};

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut path, mut model, mut html) = (None, ConsistencyModel::default(), None);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.len()) {
            ("--html", 1..) => html = args.next().map(PathBuf::from),
            ("--model", 1..) => match args.next().map(|m| m.parse()) {
                Some(Ok(m)) => model = m,
                Some(Err(e)) => usage(&e),
                None => usage("--model needs a value"),
            },
            (flag, _) if flag.starts_with("--") => usage(&format!("unknown flag {flag}")),
            (file, _) if path.is_none() => path = Some(PathBuf::from(file)),
            (extra, _) => usage(&format!("one history file only, not also {extra}")),
        }
    }
    let Some(path) = path else {
        usage("no history file")
    };
    let mut out = std::io::stdout();
    let code = check::run_cli_model(&path, model, html.as_deref(), Budget::default(), &mut out);
    std::process::exit(code);
}

fn usage(problem: &str) -> ! {
    eprintln!("{problem}\nusage: check_history HISTORY.jsonl [--model M] [--html OUT.html]");
    std::process::exit(2);
}
