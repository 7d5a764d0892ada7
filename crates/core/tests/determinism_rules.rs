//! The determinism rule, enforced: protocol crates never touch the wall clock, tokio, the thread
//! RNG or std's `HashMap`/`HashSet` (whose iteration order changes from run to run). The
//! simulator can only replay a seed if every protocol is a pure function of its inputs.
//!
//! This reads the sources of every protocol crate and fails on the first forbidden use, naming
//! the file and line. Comment lines are skipped, so docs may still *talk* about the rule.

use std::fs;
use std::path::{Path, PathBuf};

/// Crates whose code must be deterministic. Add every new protocol crate here.
const PROTOCOL_CRATES: &[&str] = &["core", "raft", "kv"];

const FORBIDDEN: &[(&str, &str)] = &[
    ("tokio", "protocol code does no I/O; the runtime drives it"),
    ("std::time::Instant", "time arrives as ticks"),
    ("SystemTime", "time arrives as ticks"),
    ("Instant::now", "time arrives as ticks"),
    ("thread_rng", "randomness comes from the injected SeededRng"),
    (
        "rand::random",
        "randomness comes from the injected SeededRng",
    ),
    (
        "HashMap",
        "iteration order differs between runs: use BTreeMap",
    ),
    (
        "HashSet",
        "iteration order differs between runs: use BTreeSet",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn protocol_crates_use_no_clock_no_tokio_no_thread_rng_and_no_hash_map() {
    let crates_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for name in PROTOCOL_CRATES {
        rust_files(&crates_dir.join(name).join("src"), &mut files);
    }
    assert!(files.len() > 10, "found the protocol sources: {files:?}");
    let mut broken = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("source is readable");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for (needle, why) in FORBIDDEN {
                if code.contains(needle) {
                    broken.push(format!("{}:{}: `{needle}`: {why}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "determinism rule broken:\n{}",
        broken.join("\n")
    );
}
