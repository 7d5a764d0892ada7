//! Write every target's seed corpus: valid inputs built by the project's own encoders, into
//! `corpus/<target>/seed-<n>` (run by `run.sh` before fuzzing; the corpora are not committed).
//!
//! Usage: `seeds [CORPUS_DIR]` (default `corpus`, relative to the working directory).

use std::fs;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    for (name, seeds) in distributed_fuzz::TARGETS {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let seeds = seeds();
        for (i, seed) in seeds.iter().enumerate() {
            let path = dir.join(format!("seed-{i}"));
            fs::write(&path, seed).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
        println!("{name}: {} seeds in {}", seeds.len(), dir.display());
    }
}
