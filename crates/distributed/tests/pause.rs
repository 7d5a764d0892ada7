//! A paused leader: SIGSTOP the leader past the election timeout while clients keep writing and
//! reading, SIGCONT it, keep going. The history, including the operations that went to the
//! paused node and were answered (or not) after it woke up, is linearizable, and no
//! acknowledged write is lost.
//!
//! ```text
//!   3 nodes ◄── 4 client threads (round-robin over nodes, recording every op)
//!   3 rounds:  L = leader ──► SIGSTOP L ──► ≥ 1 s (5–10 election timeouts) and 40 acks via
//!              the other two (they elect a new leader) ──► SIGCONT L: it wakes up believing
//!              it leads, with client requests queued in its sockets ──► 40 more acks
//!   stop clients ──► GET every key on every node ──► durability + linearizability
//! ```
//!
//! The classic failure this catches (Raft §5.1, §8; dissertation §6.4): a deposed leader
//! that answers reads from its own state, or acknowledges writes, before learning of the new
//! term. ReadIndex reads confirm leadership with a heartbeat round first, so they must pass.

mod common;

use common::workload::Workload;
use common::{env_u64, Cluster};
use std::thread::sleep;
use std::time::Duration;

/// Pause/resume rounds, each pausing whoever leads at the time.
const ROUNDS: u64 = 3;
/// Acknowledged writes required while the leader is stopped, and again after it resumes.
const ACKS_PER_PHASE: u64 = 40;

#[test]
fn a_leader_paused_past_the_election_timeout_loses_no_write_and_the_history_is_linearizable() {
    let seed = env_u64("DIST_PAUSE_SEED", 7);
    let mut cluster = Cluster::start(3);
    cluster.leader();
    let workload = Workload::start(&cluster.resp, 4, seed);
    workload.wait_for_progress(ACKS_PER_PHASE, "before the first pause");
    for round in 1..=ROUNDS {
        let leader = cluster.leader();
        eprintln!("pause: round {round}: SIGSTOP n{}", leader + 1);
        cluster.pause(leader);
        workload.next_epoch();
        // Raft §5.2: ten ticks of 10 ms at most 20 is the election timeout; a second is far past it.
        sleep(Duration::from_secs(1));
        workload.wait_for_progress(ACKS_PER_PHASE, "while the old leader is stopped");
        eprintln!("pause: round {round}: SIGCONT n{}", leader + 1);
        cluster.resume(leader);
        workload.next_epoch();
        workload.wait_for_progress(ACKS_PER_PHASE, "after the old leader resumed");
        cluster.assert_running(leader);
    }
    workload.finish(&mut cluster, "pause");
}
