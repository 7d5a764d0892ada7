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

#[test]
fn the_consistency_map_prints_a_row_per_system_and_exits_0_when_every_promise_holds() {
    let o = distributed(&["sim", "--consistency-map", "--seeds", "0..3"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for row in [
        "raft-kv",
        "paxos-kv",
        "primary-backup",
        "chain",
        "craq",
        "quorum N3R2W2 dvv",
        "quorum N3R1W1 dvv",
        "crdt mv",
        "crdt lww",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no {row} row: {out}"));
        assert!(line.contains("/3"), "{line}");
    }
    let chain = out.lines().find(|l| l.starts_with("chain")).unwrap();
    assert_eq!(
        chain.matches("3/3*").count(),
        9,
        "chain keeps all nine: {chain}"
    );
}

#[test]
fn the_new_schemes_run_from_the_cli_and_refuse_flags_that_are_not_theirs() {
    for args in [
        &["--protocol", "primary-backup", "--nodes", "3"][..],
        &[
            "--protocol",
            "quorum",
            "--nrw",
            "3,2,2",
            "--resolution",
            "lww",
        ],
        &["--protocol", "crdt", "--nodes", "3", "--resolution", "mv"],
    ] {
        let mut all = vec!["sim", "--seeds", "0..3"];
        all.extend_from_slice(args);
        let o = distributed(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stdout(&o));
        assert!(stdout(&o).contains("converges"), "{}", stdout(&o));
    }
    let o = distributed(&["sim", "--protocol", "chain", "--nrw", "3,2,2"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--nrw needs --protocol quorum"), "{err}");
    let o = distributed(&["sim", "--protocol", "quorum", "--nrw", "3,1"]);
    assert_eq!(o.status.code(), Some(2));
    let o = distributed(&["sim", "--protocol", "quorum", "--nrw", "3,1,1"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "R + W <= N is refused unless asked for by name"
    );
}
