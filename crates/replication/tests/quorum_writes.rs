//! The write path: W acks, forwarding, timeouts, the sloppy quorum and hinted handoff
//! (DeCandia et al. §4.5, §4.6), durability across restarts.

mod quorum_support;

use distributed_core::NodeId;
use quorum_support::{ids, Cluster};
use replication::quorum::{Config, Message, Resolution, Ring, Variant};
use replication::Response;

#[test]
fn a_put_answers_ok_once_w_home_nodes_have_stored_it() {
    // §4.5: "the coordinator ... sends the new version to the N highest-ranked reachable
    // nodes. If at least W-1 nodes respond, then the write is considered successful."
    let mut c = Cluster::new(3);
    let first = c.home("x")[0];
    let op = c.put(first, "x", "a");
    assert_eq!(c.reply(op), None, "only the coordinator's own copy so far");
    let to_second = c.network.pop_front().expect("Replicates are queued");
    assert!(
        matches!(to_second.msg, Message::Replicate(_)),
        "{to_second}"
    );
    c.deliver(to_second);
    let ack = c.network.pop_back().expect("the replica acked");
    assert!(matches!(ack.msg, Message::Replicated(_)), "{ack}");
    c.deliver(ack);
    assert_eq!(
        c.reply(op),
        Some(&Response::Ok),
        "coordinator + one replica = W = 2"
    );
}

#[test]
fn a_put_without_w_acks_times_out_unavailable_but_stays_stored_at_the_coordinator() {
    let mut c = Cluster::with(3, |cfg| cfg.sloppy_quorum = false);
    let [first, second, _] = c.home("x")[..] else {
        panic!("N = 3")
    };
    c.isolate(NodeId(first));
    let op = c.put(first, "x", "a");
    let timeout = c.node(NodeId(first)).config().request_timeout_ticks;
    for _ in 0..timeout {
        c.tick(NodeId(first));
    }
    assert!(
        matches!(c.reply(op), Some(Response::Unavailable { .. })),
        "{:?}",
        c.reply(op)
    );
    assert_eq!(
        c.values_at(first, "x"),
        ["a"],
        "the outcome is unknown: it may still spread"
    );
    c.heal();
    c.ticks(40);
    assert_eq!(
        c.values_at(second, "x"),
        ["a"],
        "anti-entropy spread the timed-out put"
    );
}

#[test]
fn a_put_at_a_node_outside_the_home_list_is_forwarded_and_answered_through_it() {
    // §4.5: a node not among the top N forwards to the first of them.
    let mut c = Cluster::new(5);
    let outsider = c.fallbacks("x")[0];
    let first_home = c.home("x")[0];
    let op = c.put(outsider, "x", "a");
    let forwarded = c
        .network
        .iter()
        .any(|e| e.to.0 == first_home && matches!(&e.msg, Message::Forward(_)));
    assert!(forwarded, "{:?}", c.network);
    c.deliver_all();
    assert_eq!(c.reply(op), Some(&Response::Ok));
    assert!(
        c.values_at(outsider, "x").is_empty(),
        "a non-home node stores nothing"
    );
    assert_eq!(c.node(NodeId(first_home)).counters().puts_coordinated, 1);
}

#[test]
fn a_forward_to_a_dead_first_home_node_is_retried_at_the_next_one() {
    let mut c = Cluster::new(5);
    let outsider = c.fallbacks("x")[0];
    let home = c.home("x");
    c.crash(NodeId(home[0]));
    let op = c.put(outsider, "x", "a");
    c.deliver_all();
    assert_eq!(c.reply(op), None);
    c.ticks(c.node(NodeId(outsider)).config().forward_timeout_ticks + 2);
    assert_eq!(c.reply(op), Some(&Response::Ok));
    assert_eq!(c.node(NodeId(home[1])).counters().puts_coordinated, 1);
}

#[test]
fn a_silent_home_node_is_replaced_by_the_next_node_on_the_ring_holding_a_hint() {
    // §4.6: "the replica sent to D will have a hint in its metadata that suggests which node
    // was the intended recipient of the replica".
    let mut c = Cluster::with(4, |cfg| cfg.write_quorum = 3);
    let home = c.home("x");
    let stand_in = c.fallbacks("x")[0];
    c.crash(NodeId(home[2]));
    let op = c.put(home[0], "x", "a");
    c.deliver_all();
    assert_eq!(c.reply(op), None, "W = 3 and one home node is down");
    c.ticks(c.node(NodeId(home[0])).config().replica_timeout_ticks);
    assert_eq!(
        c.reply(op),
        Some(&Response::Ok),
        "the stand-in's ack counts"
    );
    let hints: Vec<_> = c
        .node(NodeId(stand_in))
        .hinted()
        .map(|(owner, key, _, _)| (owner, key.clone()))
        .collect();
    assert_eq!(hints, [(NodeId(home[2]), "x".to_string())]);
}

#[test]
fn a_hint_is_handed_back_once_its_owner_returns_and_then_dropped() {
    let mut c = Cluster::with(4, |cfg| cfg.write_quorum = 3);
    let home = c.home("x");
    let stand_in = c.fallbacks("x")[0];
    c.crash(NodeId(home[2]));
    c.put(home[0], "x", "a");
    c.ticks(c.node(NodeId(home[0])).config().handoff_interval_ticks);
    assert_eq!(
        c.node(NodeId(stand_in)).hinted().count(),
        1,
        "the owner is still down"
    );
    c.restart(NodeId(home[2]));
    c.ticks(c.node(NodeId(home[0])).config().handoff_interval_ticks);
    assert_eq!(c.values_at(home[2], "x"), ["a"]);
    assert_eq!(c.node(NodeId(stand_in)).hinted().count(), 0);
    assert_eq!(c.node(NodeId(stand_in)).counters().hints_handed_back, 1);
    assert!(
        c.disks[(stand_in - 1) as usize].hints.is_empty(),
        "the drop is durable"
    );
}

#[test]
fn a_strict_quorum_asks_no_stand_in_and_stays_unavailable() {
    let mut c = Cluster::with(4, |cfg| {
        cfg.write_quorum = 3;
        cfg.sloppy_quorum = false;
    });
    let home = c.home("x");
    c.crash(NodeId(home[2]));
    let op = c.put(home[0], "x", "a");
    c.ticks(c.node(NodeId(home[0])).config().request_timeout_ticks);
    assert!(matches!(c.reply(op), Some(Response::Unavailable { .. })));
    assert_eq!(c.nodes.iter().map(|n| n.hinted().count()).sum::<usize>(), 0);
}

#[test]
fn a_restarted_coordinator_keeps_what_it_acknowledged_and_never_reuses_a_dot() {
    let mut c = Cluster::new(3);
    let first = c.home("x")[0];
    assert_eq!(c.put_now(first, "x", "a"), Response::Ok);
    c.crash(NodeId(first));
    c.restart(NodeId(first));
    assert_eq!(c.values_at(first, "x"), ["a"], "rebuilt from its disk");
    assert_eq!(c.put_now(first, "x", "b"), Response::Ok);
    let v = c
        .node(NodeId(first))
        .version("x")
        .expect("stored")
        .to_string();
    assert_eq!(
        v,
        format!("[b@n{first}:2]{{n{first}:2}}"),
        "a fresh dot, superseding a"
    );
}

/// Three nodes, key x home on [f s t], s's clock 40 ticks ahead. f puts a; cut off, f misses b,
/// which s coordinates with a stamp from its faster clock; healed, f stores b by anti-entropy
/// and a client reads b at f. f crashes and restarts from its disk, whose clock state is that
/// of a's stamp, far below b's; the client then puts c at f. The final get, and how many puts
/// the restarted f saw lose at once.
fn put_after_a_read_at_a_restarted_coordinator(variant: Variant) -> (Response, u64) {
    let ring = Ring::new(&ids(3), 1, 3);
    let [first, second, _] = ring.home(ring.place("x").range)[..] else {
        panic!("N = 3")
    };
    let mut c = Cluster::with(3, move |cfg: &mut Config| {
        *cfg = cfg.clone().with_variant(variant);
        cfg.resolution = Resolution::Lww;
        if cfg.id == second {
            cfg.physical_clock_offset_ticks = 40;
        }
    });
    assert_eq!(c.put_now(first.0, "x", "a"), Response::Ok);
    c.isolate(first);
    let b = c.put(second.0, "x", "b");
    c.ticks(c.node(second).config().forward_timeout_ticks + 1);
    assert_eq!(c.reply(b), Some(&Response::Ok), "b is acknowledged");
    c.heal();
    c.ticks(c.node(first).config().anti_entropy_interval_ticks * 3);
    assert_eq!(c.values_at(first.0, "x"), ["b"], "anti-entropy brought b");
    assert_eq!(c.get_now(first.0, "x"), Response::Value(Some("b".into())));
    c.crash(first);
    c.restart(first);
    assert_eq!(
        c.put_now(first.0, "x", "c"),
        Response::Ok,
        "c is acknowledged"
    );
    let lost = c.node(first).counters().lww_puts_lost;
    (c.get_now(first.0, "x"), lost)
}

#[test]
fn a_restarted_hlc_coordinator_stamps_past_every_version_it_stores_so_a_put_after_a_read_wins() {
    // HLC (Kulkarni et al. §3): a put made after reading b carries a larger stamp than b. f's
    // HLC took b's stamp in when b arrived; its restart must not forget it, or the acknowledged
    // c loses to the b its client had read (Dynamo §4.4's LWW, with a causal order).
    let got = put_after_a_read_at_a_restarted_coordinator(Variant::Correct);
    assert_eq!(
        got,
        (Response::Value(Some("c".into())), 0),
        "the acknowledged c lost to the b its client had read before it"
    );
}

#[test]
fn a_restarted_wall_clock_coordinator_still_loses_a_put_made_after_a_read() {
    // The broken variant lww-wall-clock stays broken: its clock takes in no stamp, before a
    // restart or after, so c is stamped with f's own time, below b's.
    let got = put_after_a_read_at_a_restarted_coordinator(Variant::LwwWallClock);
    assert_eq!(
        got,
        (Response::Value(Some("b".into())), 1),
        "the acknowledged c is gone"
    );
}

#[test]
fn a_put_at_a_home_node_that_is_not_first_is_forwarded_to_the_first() {
    // One coordinator per key: every put is in the context of the next (forward.rs).
    let mut c = Cluster::new(3);
    let [first, second, third] = c.home("x")[..] else {
        panic!("N = 3")
    };
    assert_eq!(c.put_now(second, "x", "a"), Response::Ok);
    assert_eq!(c.put_now(third, "x", "b"), Response::Ok);
    assert_eq!(c.node(NodeId(first)).counters().puts_coordinated, 2);
    assert_eq!(
        c.values_at(second, "x"),
        ["b"],
        "b superseded a: no siblings"
    );
}

#[test]
fn a_retried_put_that_was_answered_ok_is_answered_again_without_a_second_write() {
    let mut c = Cluster::new(3);
    let first = c.home("x")[0];
    let op = c.put(first, "x", "a");
    c.deliver_all();
    c.observer.replies.clear();
    c.input(NodeId(first), replication::ClientRequest::put(op, "x", "a"));
    assert_eq!(c.reply(op), Some(&Response::Ok));
    assert_eq!(c.node(NodeId(first)).counters().puts_coordinated, 1);
}

#[test]
fn a_value_longer_than_the_bound_is_refused() {
    let mut c = Cluster::new(3);
    let long = "v".repeat(replication::VALUE_BYTES_MAX + 1);
    assert!(matches!(
        c.put_now(1, "x", &long),
        Response::Unavailable { .. }
    ));
    assert!(c.values_at(1, "x").is_empty());
}
