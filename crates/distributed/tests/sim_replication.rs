//! `distributed sim --protocol chain | craq` as a user meets it: the per-model table, exit
//! codes 0 / 1 / 2, a replay line that reproduces the failure, and a history file that
//! `distributed check` judges the same way.

use std::process::{Command, Output};

fn distributed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distributed"))
        .args(args)
        .output()
        .expect("the distributed binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_correct_chain_passes_every_model_over_a_seed_range_and_exits_0() {
    let o = distributed(&[
        "sim",
        "--protocol",
        "chain",
        "--nodes",
        "3",
        "--seeds",
        "0..20",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for column in [
        "linearizable",
        "sequential",
        "causal",
        "ryw",
        "mono-reads",
        "wfr",
        "mono-writes",
        "eventual",
    ] {
        let row = out
            .lines()
            .find(|l| l.starts_with(column))
            .unwrap_or_else(|| panic!("no {column} row: {out}"));
        assert!(row.contains("yes") && row.contains("20/20"), "{row}");
    }
    assert!(out.contains("msgs/op="), "{out}");
    assert!(out.contains("latency: mean="), "{out}");
}

#[test]
fn a_craq_dirty_read_exits_1_and_its_replay_line_reproduces_the_failure() {
    let o = distributed(&[
        "sim",
        "--protocol",
        "craq",
        "--variant",
        "craq-dirty-read",
        "--seeds",
        "0..10",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let replay = out
        .lines()
        .find_map(|l| l.strip_prefix("replay: distributed "))
        .expect("a replay line");
    let args: Vec<&str> = replay
        .split_whitespace()
        .filter(|a| *a != "--trace")
        .collect();
    let again = distributed(&args);
    let text = stdout(&again);
    assert_eq!(again.status.code(), Some(1), "{text}");
    assert!(text.contains("=violation"), "{text}");
}

#[test]
fn a_seed_s_history_with_final_values_is_judged_the_same_by_distributed_check() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("chain.jsonl");
    let path = path.to_str().expect("a utf-8 path");
    let o = distributed(&[
        "sim",
        "--protocol",
        "chain",
        "--seed",
        "3",
        "--history",
        path,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    for model in [
        "linearizable",
        "sequential",
        "causal",
        "session",
        "eventual",
    ] {
        let c = distributed(&["check", "--model", model, path]);
        assert_eq!(c.status.code(), Some(0), "{model}: {}", stdout(&c));
    }
}

#[test]
fn options_a_chain_cannot_take_exit_2_with_a_reason() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["sim", "--protocol", "chain", "--variant", "craq-dirty-read"],
            "needs mode craq",
        ),
        (
            &["sim", "--protocol", "craq", "--variant", "ack-at-tail"],
            "variant `ack-at-tail`",
        ),
        (
            &["sim", "--protocol", "chain", "--nodes", "0"],
            "a chain of 0 replicas",
        ),
        (
            &["sim", "--protocol", "chain", "--reads", "lease"],
            "--reads is not",
        ),
        (
            &["sim", "--protocol", "craq", "--faults", "byzantine"],
            "not lying ones",
        ),
    ];
    for (args, words) in cases {
        let o = distributed(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
    }
}
