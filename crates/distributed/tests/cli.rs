//! The `distributed` command line as a user meets it: exit codes, error messages, and the promise
//! that every violation it prints can be replayed from the seed it prints.

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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_arguments_get_a_clear_error_and_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["sim", "--faults", "earthquake"], "unknown fault profile"),
        (&["sim", "--seeds", "9..3"], "is empty"),
        (&["sim", "--seeds", "zero..9"], "is not a seed"),
        (&["sim", "--nodes", "0"], "nodes=0"),
        (&["sim", "--nodes", "65"], "nodes=65"),
        (&["sim", "--variant", "mostly-correct"], "unknown variant"),
        (&["sim", "--trace"], "--seed"),
        (&["sim", "--protocol", "carrier-pigeon"], "invalid value"),
        (
            &["sim", "--protocol", "raft-kv", "--reads", "psychic"],
            "unknown read path `psychic`: expected log|read-index|lease",
        ),
        (
            &[
                "sim",
                "--protocol",
                "raft-kv",
                "--variant",
                "lease-ignores-drift",
            ],
            "add --reads lease",
        ),
        (
            &["sim", "--reads", "lease"],
            "--reads needs --protocol raft-kv",
        ),
        (
            &["sim", "--tick-periods", "50..150"],
            "--tick-periods needs",
        ),
        (
            &["sim", "--protocol", "raft-kv", "--tick-periods", "120"],
            "expected MIN..MAX",
        ),
        (
            &["sim", "--protocol", "raft-kv", "--tick-periods", "0..120"],
            "tick_period_units_min must be at least 1",
        ),
        (
            // Clocks 1000x apart leave a lease of no tick at all: refused, not run.
            &[
                "sim",
                "--protocol",
                "raft-kv",
                "--reads",
                "lease",
                "--tick-periods",
                "1..1000",
            ],
            "gives a lease of 0 ticks",
        ),
        (
            &["sim", "--variant", "leader-counts-unsynced"],
            "add --leader-writes-in-parallel",
        ),
        (
            &[
                "sim",
                "--protocol",
                "raft-kv",
                "--variant",
                "leader-counts-unsynced",
            ],
            "add --leader-writes-in-parallel",
        ),
        (&["no-such-command"], "unrecognized subcommand"),
        (
            &["sim", "--protocol", "raft", "--byzantine", "1"],
            "--byzantine needs --protocol pbft or pbft-kv",
        ),
        (
            &["sim", "--protocol", "paxos", "--strategy", "twins"],
            "--strategy needs --protocol pbft or pbft-kv",
        ),
        (&["sim", "--protocol", "pbft"], "n = 5 is not 3f+1"),
        (
            &[
                "sim",
                "--protocol",
                "pbft",
                "--nodes",
                "4",
                "--byzantine",
                "4",
            ],
            "at least one must be honest",
        ),
        (
            &[
                "sim",
                "--protocol",
                "pbft",
                "--nodes",
                "4",
                "--strategy",
                "sly",
            ],
            "unknown strategy `sly`",
        ),
        (
            &[
                "sim",
                "--protocol",
                "pbft",
                "--nodes",
                "4",
                "--reads",
                "log",
            ],
            "--reads is not a --protocol pbft flag",
        ),
        (
            &[
                "sim",
                "--protocol",
                "pbft",
                "--nodes",
                "4",
                "--seed",
                "1",
                "--history",
                "h.jsonl",
            ],
            "bare pbft has no client history",
        ),
        (
            &[
                "sim",
                "--protocol",
                "pbft",
                "--nodes",
                "4",
                "--variant",
                "paxos",
            ],
            "unknown pbft variant",
        ),
    ];
    for (args, needle) in cases {
        let out = distributed(args);
        assert_eq!(out.status.code(), Some(2), "{args:?} should exit 2");
        assert!(
            stderr(&out).contains(needle),
            "{args:?}: stderr should mention `{needle}`, got:\n{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_correct_raft_passes_a_seed_range_and_exits_0() {
    let out = distributed(&["sim", "--protocol", "raft", "--seeds", "0..50"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("seeds=50 violations=0"),
        "{}",
        stdout(&out)
    );
}

/// Raft §5.4.2, Figure 8: the broken commit rule is found, and the seed it prints replays the
/// very same violation.
#[test]
fn the_commit_old_term_variant_is_caught_and_its_seed_replays_the_violation() {
    let out = distributed(&[
        "sim",
        "--protocol",
        "raft",
        "--variant",
        "commit-old-term",
        "--seeds",
        "0..2000",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "a violation exits 1:\n{text}");
    let replay = text
        .lines()
        .find_map(|l| l.strip_prefix("replay: distributed "))
        .expect("a replay command is printed");
    let first = text
        .lines()
        .find(|l| l.starts_with("seed=") && l.contains(" at t="))
        .expect("the failing seed is listed");
    let (seed_part, rest) = first.split_once(' ').unwrap();
    let (invariant, _) = rest.split_once(" at ").unwrap();

    let args: Vec<&str> = replay.split_whitespace().collect();
    let again = distributed(&args);
    let replayed = stdout(&again);
    assert_eq!(
        again.status.code(),
        Some(1),
        "the replay fails too:\n{replayed}"
    );
    let seed = seed_part.trim_start_matches("seed=");
    assert!(
        replayed.contains(&format!("violation of {invariant}")) && replayed.contains(seed),
        "replay of {seed_part} should show {invariant}:\n{replayed}"
    );
}

#[test]
fn bare_pbft_with_a_byzantine_replica_passes_a_seed_range_and_exits_0() {
    let args = [
        "sim",
        "--protocol",
        "pbft",
        "--nodes",
        "4",
        "--seeds",
        "0..6",
    ];
    let out = distributed(&args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("byzantine=f strategy=per-seed"), "{text}");
    assert!(
        text.contains("seeds=6 invariant_violations=0 requests="),
        "{text}"
    );
}

/// PBFT §4.4: ViewChanges without their prepared certificates let a new primary reassign a
/// committed seq. Caught, exit 1, and the printed replay shows the trace and the violation.
#[test]
fn bare_pbft_catches_a_view_change_that_drops_prepared_certificates_and_replays_it() {
    let out = distributed(&[
        "sim",
        "--protocol",
        "pbft",
        "--nodes",
        "4",
        "--variant",
        "view-change-drops-prepared",
        "--seeds",
        "0..20",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "a violation exits 1:\n{text}");
    let replay = text
        .lines()
        .find_map(|l| l.strip_prefix("replay: distributed "))
        .expect("a replay command is printed");
    assert!(replay.contains("--protocol pbft --nodes 4"), "{replay}");
    let args: Vec<&str> = replay.split_whitespace().collect();
    let again = distributed(&args);
    let replayed = stdout(&again);
    assert_eq!(again.status.code(), Some(1), "the replay fails too");
    assert!(
        replayed.contains(" PrePrepare{") && replayed.contains("violation of "),
        "the replay prints the trace and the violation; it ends:\n{}",
        replayed
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_same_seed_prints_the_same_trace_twice() {
    let args = ["sim", "--seed", "7", "--trace", "--max-time", "20000"];
    let a = stdout(&distributed(&args));
    let b = stdout(&distributed(&args));
    assert!(a.lines().count() > 100, "a trace has many lines:\n{a}");
    assert!(a.contains("AppendEntries{term="), "{a}");
    assert_eq!(a, b);
}

#[test]
fn check_exits_0_on_a_linearizable_history_and_1_on_a_violation() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let ok = distributed(&[
        "check",
        &format!("{dir}/../check/testdata/linearizable.jsonl"),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).starts_with("linearizable"));

    let bad = distributed(&["check", &format!("{dir}/../check/testdata/violation.jsonl")]);
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
    assert!(stdout(&bad).starts_with("violation"));
}

#[test]
fn check_on_a_missing_file_exits_2_with_the_path_in_the_error() {
    let out = distributed(&["check", "/nonexistent/history.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("/nonexistent/history.jsonl"));
}

#[test]
fn raft_kv_histories_check_linearizable_over_a_seed_range() {
    let out = distributed(&[
        "sim",
        "--protocol",
        "raft-kv",
        "--clients",
        "15",
        "--nodes",
        "7",
        "--seeds",
        "0..20",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("linearizability_violations=0"), "{text}");
}

/// A follower answering reads from its own state is caught by the checker, and the history the
/// replay writes is one `distributed check` also calls a violation, with an HTML page.
#[test]
fn stale_follower_reads_are_caught_and_the_dumped_history_fails_the_checker_too() {
    let out = distributed(&[
        "sim",
        "--protocol",
        "raft-kv",
        "--variant",
        "stale-follower-reads",
        "--seeds",
        "0..50",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let replay = text
        .lines()
        .find_map(|l| l.strip_prefix("replay: distributed "))
        .expect("a replay command is printed");
    let dir = std::env::temp_dir().join(format!("distributed-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let history = dir.join("history.jsonl");
    let html = dir.join("violation.html");
    let mut args: Vec<&str> = replay.split_whitespace().collect();
    let history_arg = history.to_str().unwrap();
    args.extend(["--history", history_arg]);
    let again = distributed(&args);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));

    let checked = distributed(&["check", history_arg, "--html", html.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(1), "{}", stdout(&checked));
    assert!(stdout(&checked).starts_with("violation"));
    let page = std::fs::read_to_string(&html).expect("the page was written");
    assert!(
        page.contains("<svg") || page.contains("<html"),
        "an HTML page"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Thesis §6.4.1 from the command line: the lease that ignores clock drift is caught under
/// leader-isolating partitions with clocks up to 3x apart, the printed replay carries every
/// flag that matters (`--reads lease --tick-periods …`), and the correct lease passes the
/// very same seed. The seed comes from the library search, so no seed is written down here.
#[test]
fn lease_ignoring_drift_is_caught_from_the_command_line_and_its_replay_carries_the_flags() {
    use scenarios::raft_kv::{first_failure, RaftKvOptions, ReadPath};
    use scenarios::FaultProfile;
    let opts = RaftKvOptions {
        nodes: 5,
        clients: 15,
        faults: FaultProfile::Partitions,
        clock: Some(sim::ClockSkew {
            tick_period_units_min: 50,
            tick_period_units_max: 150,
            drift_per_million: 0, // the partitions profile's clocks do not drift
        }),
        client_timeout_units: 200,
        read_path: ReadPath::Lease,
        raft_variant: raft::Variant::LeaseIgnoresDrift,
        ..RaftKvOptions::default()
    };
    // The hunt range of `scenarios`' own test of this variant (raft_kv_sim.rs): with today's
    // workload mix about 1 seed in 700 fails, the first at 854.
    let found = first_failure(800..2_000, &opts, 2).expect("caught within seeds 800..2,000");
    let seeds = format!("{}..{}", found.seed(), found.seed() + 1);
    let flags = [
        "sim",
        "--protocol",
        "raft-kv",
        "--faults",
        "partitions",
        "--nodes",
        "5",
        "--clients",
        "15",
        "--tick-periods",
        "50..150",
        "--client-timeout",
        "200",
        "--reads",
        "lease",
    ];
    let broken: Vec<&str> = flags
        .iter()
        .copied()
        .chain(["--variant", "lease-ignores-drift", "--seeds", &seeds])
        .collect();
    let out = distributed(&broken);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("reads=lease") && text.contains("linearizability_violations=1"),
        "{text}"
    );
    let replay = text
        .lines()
        .find_map(|l| l.strip_prefix("replay: distributed "))
        .expect("a replay command is printed");
    for needed in [
        "--reads lease",
        "--tick-periods 50..150",
        "--client-timeout 200",
    ] {
        assert!(
            replay.contains(needed),
            "the replay keeps `{needed}`: {replay}"
        );
    }
    let args: Vec<&str> = replay.split_whitespace().collect();
    let again = distributed(&args);
    assert_eq!(again.status.code(), Some(1), "the replay fails too");
    assert!(stdout(&again).contains("check: violation"));

    let correct: Vec<&str> = flags.iter().copied().chain(["--seeds", &seeds]).collect();
    let out = distributed(&correct);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// Raft §6: membership changes without joint consensus are caught, and the replay command
/// keeps `--membership-changes`, so it shows the same violation.
#[test]
fn the_one_step_membership_variant_is_caught_and_its_seed_replays_the_violation() {
    let out = distributed(&[
        "sim",
        "--protocol",
        "raft",
        "--nodes",
        "3",
        "--membership-changes",
        "--variant",
        "one-step-membership",
        "--seeds",
        "0..100",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "a violation exits 1:\n{text}");
    let replay = text
        .lines()
        .find_map(|l| l.strip_prefix("replay: distributed "))
        .expect("a replay command is printed");
    assert!(replay.contains("--membership-changes"), "{replay}");
    let again = distributed(&replay.split_whitespace().collect::<Vec<_>>());
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
}

/// Thesis §10.2.1: a KV leader that counts its own unsynced copy toward a commit is caught,
/// and the replay command keeps `--leader-writes-in-parallel`, so it shows the same failure.
#[test]
fn the_leader_counts_unsynced_variant_is_caught_and_its_replay_keeps_the_parallel_writes() {
    let out = distributed(&[
        "sim",
        "--protocol",
        "raft-kv",
        "--leader-writes-in-parallel",
        "--membership-changes",
        "--variant",
        "leader-counts-unsynced",
        "--seeds",
        "0..150",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "a violation exits 1:\n{text}");
    assert!(text.contains("leader_writes=parallel"), "{text}");
    let replay = text
        .lines()
        .find_map(|l| l.strip_prefix("replay: distributed "))
        .expect("a replay command is printed");
    assert!(replay.contains("--leader-writes-in-parallel"), "{replay}");
    let again = distributed(&replay.split_whitespace().collect::<Vec<_>>());
    let replayed = stdout(&again);
    assert_eq!(again.status.code(), Some(1), "{replayed}");
    assert!(
        replayed.contains(" durable writes=") && replayed.contains("lost unsynced writes="),
        "the trace shows fsyncs completing and a crash losing writes before theirs"
    );
}

/// A stranger on an ephemeral port: reads the request, answers `reply`, then holds the
/// connection open until the client closes it, so a client that waits for more hangs.
fn stranger_answering(reply: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let stranger = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
        conn.write_all(reply).expect("answer");
        let _ = conn.read(&mut buf); // 0 once the client has closed
    });
    (port, stranger)
}

#[test]
fn kv_refuses_a_reply_that_is_not_resp_at_once_and_shows_its_first_bytes() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            r#"its reply starts "HTTP/1.1 400 Bad Request\r\nContent-Length""#,
        ),
        (
            b"\x10\x00\x00\x00\xde\xad\xbe\xef binary frame",
            r#"its reply starts "\x10\x00\x00\x00\xde\xad\xbe\xef binary frame""#,
        ),
    ];
    for &(reply, quoted) in cases {
        let (port, stranger) = stranger_answering(reply);
        let addr = format!("127.0.0.1:{port}");
        let out = distributed(&["kv", "--addr", &addr, "get", "k"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("{addr} did not answer in RESP")),
            "{err}"
        );
        assert!(err.contains(quoted), "{err}");
        assert!(err.contains("client (RESP) port"), "{err}");
        assert_eq!(stdout(&out), "", "nothing printed as if it were a reply");
        stranger.join().expect("the stranger saw the client close");
    }
}
