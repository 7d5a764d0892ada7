//! The examples run to completion: each is included here as a module and its `run` called, so
//! `cargo test` proves what `cargo run --example NAME` prints.
//!
//! ```text
//!   raft_demo        seeds 0..20: an election, 3 commits, a crash, a new election, 1 commit,
//!                    both survivors applied the same 4 commands
//!   paxos_demo       seeds 0..20: phase 1, 3 slots chosen, the leader crashes with a value
//!                    a quorum accepted, the next leader adopts it, 2 more slots, the crashed
//!                    node restarts from its disk and catches up: all 5 deliver the same 6
//!   pbft_demo        seeds 0..20: the three phases, a view change after the primary crashes,
//!                    a stable checkpoint, a liar outvoted; the honest three agree on 3 requests
//!   e2e_replication  3 server nodes on loopback: write once, read from every node - SUCCESS
//!   consistency_demo seeds from 0 and 10: a weak quorum (N3R1W1) breaks a session guarantee,
//!                    the checker's evidence is printed, the chain keeps all nine models
//! ```

#[path = "../examples/raft_demo.rs"]
mod raft_demo;

#[path = "../examples/paxos_demo.rs"]
mod paxos_demo;

#[path = "../examples/pbft_demo.rs"]
mod pbft_demo;

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
fn paxos_demo_adopts_the_value_its_crashed_leader_never_announced_and_catches_up() {
    // Paxos Made Simple §2.2 (P2c: phase 2 proposes the highest-ballot value the promises
    // report, so a value chosen without anyone knowing stays chosen), §3 (one instance per
    // slot, a restarted node re-learns what was chosen).
    for seed in 0..20 {
        let mut out = Vec::new();
        let slots = paxos_demo::run(seed, &mut out);
        let out = text(out);
        assert_eq!(slots, Ok(6), "seed {seed}:\n{out}");
        assert_eq!(out.matches(" leads at ").count(), 2, "{out}");
        assert!(out.contains("crashes before any Accepted returns"), "{out}");
        assert!(out.contains("slot 4 is chosen"), "{out}");
        assert!(out.contains("adopts 4:\"w=4\""), "{out}");
        assert!(out.contains("restarts from its disk"), "{out}");
        assert!(out.lines().count() <= 60, "one screen:\n{out}");
    }
}

#[test]
fn paxos_demo_prints_the_same_story_for_the_same_seed() {
    let (mut first, mut second) = (Vec::new(), Vec::new());
    assert_eq!(paxos_demo::run(0, &mut first), Ok(6));
    assert_eq!(paxos_demo::run(0, &mut second), Ok(6));
    assert_eq!(text(first), text(second));
}

#[test]
fn pbft_demo_commits_changes_view_and_outvotes_a_liar() {
    for seed in 0..20 {
        let mut out = Vec::new();
        let executed = pbft_demo::run(seed, &mut out);
        let out = text(out);
        assert_eq!(executed, Ok(3), "seed {seed}:\n{out}");
        // PBFT §4.2: the normal case shows all three phases, and each request is accepted
        // on f+1 matching replies.
        for phase in [
            "PrePrepare{view=0 seq=1",
            "Prepare{view=0 seq=1",
            "Commit{view=0 seq=1",
        ] {
            assert!(out.contains(phase), "seed {seed}: no {phase}:\n{out}");
        }
        assert_eq!(out.matches("client accepts").count(), 3, "{out}");
        // §4.4: the three live backups suspect n1; n2 starts view 1, where seq 2 executes.
        assert_eq!(out.matches("ViewChange{new_view=1").count(), 3, "{out}");
        assert!(out.contains("n2 → n1 n3 n4 NewView{view=1"), "{out}");
        assert!(out.contains("Execute{seq=2 view=1"), "{out}");
        // §4.3: checkpoint 2 becomes stable at the three live replicas.
        assert_eq!(out.matches("checkpoint 2 stable").count(), 3, "{out}");
        // The liar's reply is ignored, and the honest three end with one history.
        assert!(out.contains("(a lie)"), "{out}");
        assert!(out.contains("client ignores n1's"), "{out}");
        let honest = out.lines().filter(|l| l.ends_with("(honest)"));
        assert!(honest.clone().all(|l| !l.contains("poison")), "{out}");
        assert_eq!(honest.count(), 3, "{out}");
        assert!(
            out.contains("the 3 honest replicas executed the same 3 requests"),
            "{out}"
        );
        assert!(out.lines().count() <= 60, "one screen:\n{out}");
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

#[path = "../examples/consistency_demo.rs"]
mod consistency_demo;

#[test]
fn consistency_demo_shows_a_session_anomaly_on_a_weak_quorum_that_the_chain_never_shows() {
    // Terry et al. 1994 (session guarantees); Dynamo §4.5 (R + W <= N); OSDI '04 §2 (reads
    // at the tail see exactly the acknowledged writes).
    for seed in [0, 10] {
        let mut out = Vec::new();
        let found = consistency_demo::run(seed, &mut out);
        let out = text(out);
        assert!(found.is_ok(), "seed {seed}: {found:?}\n{out}");
        assert!(out.contains("the anomaly ("), "{out}");
        assert!(out.contains("chain kept 9 of 9 models"), "{out}");
    }
}
