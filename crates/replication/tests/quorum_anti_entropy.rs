//! Anti-entropy by Merkle trees (DeCandia et al. §4.7): home nodes of a range compare their
//! trees and sync the keys under the leaves that differ.

mod quorum_support;

use distributed_core::NodeId;
use quorum_support::Cluster;
use replication::quorum::Message;
use replication::Response;

/// A cluster of three where every Replicate to `victim` is lost.
fn missing_replicates_to(c: &mut Cluster, victim: u64) {
    c.intercept = Some(Box::new(move |e| {
        !(e.to == NodeId(victim) && matches!(e.msg, Message::Replicate(_)))
    }));
}

#[test]
fn a_merkle_exchange_repairs_a_home_node_that_missed_a_put_nobody_reads() {
    let mut c = Cluster::new(3);
    let [first, _, third] = c.home("x")[..] else {
        panic!("N = 3")
    };
    missing_replicates_to(&mut c, third);
    assert_eq!(c.put_now(first, "x", "a"), Response::Ok);
    c.intercept = None;
    assert!(c.values_at(third, "x").is_empty());
    let period = c.node(NodeId(1)).config().anti_entropy_interval_ticks;
    c.ticks(6 * period); // every node walks its 3 ranges × 2 peers once
    assert_eq!(c.values_at(third, "x"), ["a"]);
    let synced: u64 = c.nodes.iter().map(|n| n.counters().keys_synced).sum();
    assert!(synced >= 1, "repaired by a LeafSync, not by a read");
    assert!(c.nodes.iter().all(|n| n.counters().read_repairs == 0));
}

#[test]
fn home_nodes_in_sync_exchange_one_root_and_nothing_more() {
    let mut c = Cluster::new(3);
    let first = c.home("x")[0];
    assert_eq!(c.put_now(first, "x", "a"), Response::Ok);
    let sent_before = c.sent.len();
    let period = c.node(NodeId(1)).config().anti_entropy_interval_ticks;
    c.ticks(6 * period);
    let exchanged: Vec<String> = c.sent[sent_before..]
        .iter()
        .map(|e| e.msg.to_string())
        .collect();
    assert!(!exchanged.is_empty());
    assert!(
        exchanged
            .iter()
            .all(|m| m.starts_with("TreeQuery{") && m.contains("level=0")
                || m.starts_with("TreeHashes{") && m.contains("level=0")),
        "{exchanged:?}"
    );
}

#[test]
fn a_sync_of_more_keys_than_one_message_holds_converges_over_several_exchanges() {
    let mut c = Cluster::with(3, |cfg| cfg.sync_keys_max = 2);
    let keys: Vec<String> = (0..12).map(|k| format!("k{k}")).collect();
    let third_of = |c: &Cluster, key: &str| c.home(key)[2];
    for key in &keys {
        let victim = third_of(&c, key);
        missing_replicates_to(&mut c, victim);
        let first = c.home(key)[0];
        assert_eq!(c.put_now(first, key, "v"), Response::Ok);
    }
    c.intercept = None;
    let stale = |c: &Cluster| {
        keys.iter()
            .filter(|k| c.values_at(third_of(c, k), k).is_empty())
            .count()
    };
    assert!(stale(&c) > 0);
    let period = c.node(NodeId(1)).config().anti_entropy_interval_ticks;
    c.ticks(30 * period);
    assert_eq!(stale(&c), 0, "every key reached its third home node");
}

#[test]
fn a_sync_merges_siblings_rather_than_overwriting_them() {
    // Anti-entropy uses the store's own join: concurrent versions on two home nodes both
    // survive on both.
    let mut c = Cluster::new(3);
    let [first, second, third] = c.home("x")[..] else {
        panic!("N = 3")
    };
    c.isolate(NodeId(first));
    c.put(first, "x", "a"); // stored at first only (the put times out)
    let b = c.put(second, "x", "b"); // second takes over as coordinator
    let forward = c.node(NodeId(second)).config().forward_timeout_ticks;
    c.ticks(forward + 1);
    assert_eq!(c.reply(b), Some(&Response::Ok));
    c.heal();
    let period = c.node(NodeId(1)).config().anti_entropy_interval_ticks;
    c.ticks(6 * period);
    for n in [first, second, third] {
        assert_eq!(c.values_at(n, "x"), ["a", "b"], "n{n}");
    }
}
