//! KvReplica on a healthy (or fully restarted) cluster: requests in, replies out, every replica
//! in the same state (Raft §5.3 State Machine Safety, §8 client interaction, dissertation §6.3).

mod cluster;

use cluster::{append, get, put, request, value, Cluster};
use distributed_core::{NodeId, Rng, SeededRng};
use kv::{Command, KvError, Reply};
use replica::Outcome;

#[test]
fn puts_then_gets_through_the_leader_return_the_written_values() {
    let mut c = Cluster::new(3, 1);
    let leader = c.elect_any();
    let writes = [("a", "1"), ("b", "2"), ("a", "3")];
    for (seq, (k, v)) in (1..).zip(writes) {
        let outcome = c.call(leader, request(1, seq, put(k, v)));
        assert_eq!(outcome, Outcome::Done(Reply::ok()));
    }
    assert_eq!(
        c.call(leader, request(1, 4, get("a"))),
        Outcome::Done(value("3"))
    );
    assert_eq!(
        c.call(leader, request(1, 5, get("b"))),
        Outcome::Done(value("2"))
    );
    assert_eq!(
        c.call(leader, request(1, 6, get("absent"))),
        Outcome::Done(Reply::Null)
    );
}

#[test]
fn a_request_to_a_follower_gets_not_leader_with_the_leader_hint_and_is_not_proposed() {
    let mut c = Cluster::new(3, 2);
    let leader = c.elect_any();
    let follower = *c.ids.iter().find(|&&id| id != leader).unwrap();
    let last = c.node(follower).raft().last_index();
    let tag = c.submit(follower, request(1, 1, put("k", "v")));
    // Answered within the call itself: nothing to wait for.
    let hint = Outcome::NotLeader {
        leader: Some(leader),
    };
    assert_eq!(c.outcome(tag), Some(&hint));
    assert_eq!(c.node(follower).raft().last_index(), last);
    assert_eq!(c.node(follower).pending_len(), 0);
}

#[test]
fn a_retried_append_with_the_same_client_and_seq_is_applied_once_across_a_leader_change() {
    // Dissertation §6.3: the leader dies after replicating the entry but before answering; the
    // client resends to the next leader, both copies commit, only the first applies.
    let mut c = Cluster::new(3, 3);
    let old = c.elect_any();
    let first = c.submit(old, request(7, 1, append("k", "x")));
    c.crash(old); // its AppendEntries are already on the wire; the answers will find it dead
    c.deliver_all();
    assert_eq!(c.outcome(first), None, "the client never heard back");

    let retried = c.execute(request(7, 1, append("k", "x")));
    assert_eq!(retried, Reply::Int(1), "the cached reply of the first copy");
    assert_eq!(c.execute(request(7, 2, get("k"))), value("x"));

    let new = c.leader().expect("a leader");
    assert_ne!(new, old);
    let data = request(7, 1, append("k", "x")).encode();
    let copies = (c.node(new).raft().entries().iter())
        .filter(|e| e.data == data)
        .count();
    assert_eq!(copies, 2, "both the original and the retry are in the log");

    c.restart(old);
    c.run(5);
    assert_eq!(c.node(old).machine().get(b"k"), Some(&cluster::b("x")));
    assert_all_replicas_agree(&c);
}

#[test]
fn after_every_node_crashes_and_restarts_the_state_is_rebuilt_from_the_log() {
    let mut c = Cluster::new(3, 4);
    c.elect_any();
    for seq in 1..=10 {
        let key = format!("k{}", seq % 4);
        c.execute(request(1, seq, append(&key, "ab")));
    }
    c.run(3);
    assert_all_replicas_agree(&c);
    let before = c.nodes[0].machine().get(b"k1").cloned();

    for id in c.ids.clone() {
        c.crash(id);
    }
    for id in c.ids.clone() {
        c.restart(id);
        assert_eq!(c.node(id).machine().applied_index(), 0, "starts empty");
    }
    // The machines refill as the new leader commits its no-op and with it the whole log;
    // the harness checks every digest against the one seen before the crash at that index.
    assert_eq!(
        c.execute(request(2, 1, get("k1"))),
        Reply::bulk_or_null(before)
    );
    c.run(3);
    assert_all_replicas_agree(&c);
    assert_eq!(c.nodes[0].machine().get(b"k2"), Some(&cluster::b("ababab")));
}

#[test]
fn all_replicas_reach_the_same_digest_at_the_same_applied_index_under_a_mixed_workload() {
    // Raft §5.3 State Machine Safety: the harness compares digests at every applied index.
    let mut c = Cluster::new(5, 5);
    let mut rng = SeededRng::new(5);
    // Each client numbers its writes from 1 (session.rs). Reads served without the log
    // (ReadIndex, the default) neither open nor advance a session, so they take no number:
    // a client whose first request were a read would otherwise send its first write as seq 2
    // to a session that never opened, and be refused as SessionUnknown.
    let mut seqs = [0u64; 3];
    let mut writes = 0;
    for round in 1..=60 {
        let client = rng.range(0, 3) as usize;
        let command = random_command(&mut rng);
        if !command.is_read_only() {
            seqs[client] += 1;
            // A DEL of an absent key may be answered off the log (noop.rs): not counted.
            writes += u32::from(command.name() != "del");
        }
        let reply = c.execute(request(client as u64 + 1, seqs[client], command));
        assert!(
            !matches!(reply, Reply::Error(KvError::SessionUnknown { .. })),
            "{reply}"
        );
        if round == 30 {
            let leader = c.leader().expect("a leader");
            c.crash(leader);
            c.elect_any();
            c.restart(leader);
        }
    }
    c.run(5);
    assert_all_replicas_agree(&c);
    assert!(
        c.observer.digests.len() > writes as usize,
        "digests were compared along the way"
    );
}

fn random_command(rng: &mut SeededRng) -> Command {
    let key = ["a", "b", "c"][rng.range(0, 3) as usize];
    match rng.range(0, 5) {
        0 => put(key, "v"),
        1 => append(key, "x"),
        2 => Command::incr_by(cluster::b("n"), 2),
        3 => Command::del(vec![cluster::b(key)]),
        _ => get(key),
    }
}

/// Every live replica has applied everything committed, the same everywhere, to the same state.
fn assert_all_replicas_agree(c: &Cluster) {
    let first = c.live().next().expect("a live node");
    let (index, digest) = (first.machine().applied_index(), first.machine().digest());
    for node in c.live() {
        let id: NodeId = node.raft().id();
        assert_eq!(node.raft().commit_index(), node.raft().last_index(), "{id}");
        assert_eq!(node.machine().applied_index(), index, "{id} applied index");
        assert_eq!(node.machine().digest(), digest, "{id} digest");
    }
}
