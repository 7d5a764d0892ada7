//! The examples run to completion: each is included here as a module and its `run` called, so
//! `cargo test` proves what `cargo run --example NAME` prints.
//!
//! ```text
//!   raft_demo        seeds 0..20: an election, 3 commits, a crash, a new election, 1 commit,
//!                    both survivors applied the same 4 commands
//!   e2e_replication  3 server nodes on loopback: write once, read from every node - SUCCESS
//! ```

#[path = "../examples/raft_demo.rs"]
mod raft_demo;

#[path = "../examples/e2e_replication.rs"]
mod e2e_replication;

fn text(out: Vec<u8>) -> String {
    String::from_utf8(out).expect("utf-8 output")
}

#[test]
fn raft_demo_elects_commits_survives_its_leader_crashing_and_commits_again() {
    // Raft §5.2 (election), §5.3 (replication), §5.4 (safety: survivors agree).
    for seed in 0..20 {
        let mut out = Vec::new();
        let applied = raft_demo::run(seed, &mut out);
        let out = text(out);
        assert_eq!(applied, Ok(4), "seed {seed}:\n{out}");
        assert_eq!(out.matches("wins the election").count(), 2, "{out}");
        assert!(out.contains("crashes"), "{out}");
    }
}

#[test]
fn e2e_replication_reads_the_written_value_back_from_every_node() {
    let mut out = Vec::new();
    let result = e2e_replication::run(&mut out);
    let out = text(out);
    assert_eq!(result, Ok(()), "{out}");
    assert_eq!(out.matches("= \"hello\"").count(), 3, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}
