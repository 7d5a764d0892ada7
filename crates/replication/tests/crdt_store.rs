//! The CRDT store, sentence by sentence: every node answers alone; concurrent puts become
//! siblings and a put that saw them replaces them (Shapiro et al. 2011 §3.2.2); sessions travel
//! with the key; LWW by HLC keeps the causally later put under skew where the wall clock loses
//! it (Kulkarni et al. 2014); gossip is bounded per message (Demers et al. 1987) and converges
//! through relays, restarts and duplicates; the broken merges lose puts or diverge.

mod crdt_store_support;

use crdt_store_support::{siblings, value, Cluster};
use distributed_core::{Envelope, NodeId};
use replication::crdt_store::{Config, Message, PeerChoice, Resolution, Variant};
use replication::{ClientRequest, OpId, Response};

fn n(id: u64) -> NodeId {
    NodeId(id)
}

#[test]
fn every_node_answers_a_put_at_once_and_a_get_elsewhere_may_miss_it_until_it_arrives() {
    let mut c = Cluster::new(3, 1, |c| c);
    assert_eq!(c.put(1, 1, "x", "a"), Response::Ok);
    assert!(
        c.network.iter().all(|e| matches!(e.msg, Message::Push(_))),
        "a put asks nobody: it only pushes its new state"
    );
    assert_eq!(c.get(2, 2, "x"), Response::Value(None), "not arrived yet");
    c.settle();
    assert_eq!(c.get(2, 2, "x"), value("a"));
    assert_eq!(c.get(3, 3, "x"), value("a"));
}

#[test]
fn concurrent_puts_become_siblings_and_a_later_put_that_saw_both_replaces_them() {
    // Shapiro et al. 2011 §3.2.2: the MV-register keeps every put no other put superseded.
    let mut c = Cluster::new(3, 1, |c| c);
    c.partition(&[n(1)], &[n(2), n(3)]);
    assert_eq!(c.put(1, 1, "x", "a"), Response::Ok);
    assert_eq!(c.put(2, 2, "x", "b"), Response::Ok);
    c.settle();
    c.heal();
    assert!(c.converge(50).is_some());
    assert_eq!(c.get(3, 3, "x"), siblings(&["a", "b"]));
    assert_eq!(c.put(3, 3, "x", "c"), Response::Ok);
    assert!(c.converge(50).is_some());
    for node in 1..=3 {
        assert_eq!(c.registers(node)["x"], ["c"], "n{node}");
    }
    assert_eq!(c.get(1, 1, "x"), value("c"));
}

#[test]
fn a_put_supersedes_what_its_client_saw_and_not_everything_its_node_holds() {
    let mut c = Cluster::new(3, 1, |c| c);
    assert_eq!(c.put(1, 1, "x", "a"), Response::Ok);
    assert_eq!(c.put(1, 2, "x", "b"), Response::Ok);
    assert_eq!(
        c.get(1, 3, "x"),
        siblings(&["a", "b"]),
        "two blind puts through one node are both kept"
    );
    assert_eq!(c.put(1, 1, "x", "a2"), Response::Ok);
    assert_eq!(
        c.registers(1)["x"],
        ["a2", "b"],
        "c1's put replaced its own a, not c2's b"
    );
    assert_eq!(c.put(1, 3, "x", "c"), Response::Ok);
    assert_eq!(
        c.registers(1)["x"],
        ["a2", "c"],
        "c3 had read a and b, not a2"
    );
}

#[test]
fn a_client_session_travels_with_the_key_so_its_put_elsewhere_replaces_what_it_read() {
    let mut c = Cluster::new(3, 1, |c| c);
    c.partition(&[n(1)], &[n(2), n(3)]);
    c.put(1, 1, "x", "a");
    c.put(2, 2, "x", "b");
    c.heal();
    assert!(c.converge(50).is_some());
    assert_eq!(c.get(1, 3, "x"), siblings(&["a", "b"]));
    c.run(10); // c3's session at n1 reaches n2 with the key's state
    assert_eq!(c.put(2, 3, "x", "c"), Response::Ok);
    assert_eq!(c.get(2, 4, "x"), value("c"));
}

#[test]
fn a_client_that_moves_before_its_session_arrives_writes_beside_what_it_read() {
    // The session caveat (crdt_store/state.rs): no context travels with the client.
    let mut c = Cluster::new(3, 1, |c| Config {
        push_fanout: 0,
        ..c
    });
    c.put(1, 1, "x", "a");
    assert!(c.converge(50).is_some());
    assert_eq!(c.get(1, 2, "x"), value("a"));
    assert_eq!(
        c.put(3, 2, "x", "b"),
        Response::Ok,
        "n3 has a, not c2's read"
    );
    assert_eq!(c.registers(3)["x"], ["a", "b"]);
    assert!(c.converge(50).is_some());
    assert_eq!(
        c.registers(1)["x"],
        ["a", "b"],
        "nothing lost, but a stale sibling"
    );
}

/// n1's clock runs 40 ticks ahead (within ε = 50). c1 puts a at n1; c2 reads a at n2, then
/// puts b at n2. Returns c2's read after its put, and the values every node ends with.
fn skewed_lww(variant: Variant) -> (Response, Vec<Vec<String>>) {
    let mut c = Cluster::new(3, 1, move |mut c| {
        if c.id == NodeId(1) {
            c.physical_clock_offset_ticks = 40;
        }
        c.with_lww().with_variant(variant)
    });
    assert_eq!(c.put(1, 1, "x", "a"), Response::Ok);
    c.settle();
    assert_eq!(c.get(2, 2, "x"), value("a"));
    assert_eq!(
        c.put(2, 2, "x", "b"),
        Response::Ok,
        "acknowledged either way"
    );
    let read = c.get(2, 2, "x");
    assert!(c.converge(50).is_some());
    let finals = (1..=3).map(|id| c.registers(id)["x"].clone()).collect();
    (read, finals)
}

#[test]
fn lww_by_hlc_keeps_the_causally_later_write_under_skew_while_the_wall_clock_loses_it() {
    // Kulkarni et al. 2014: an HLC stamp follows every stamp its node received, so b, put
    // after reading a, outranks a however far n1's physical clock runs ahead (within ε).
    let (read, finals) = skewed_lww(Variant::Correct);
    assert_eq!(read, value("b"));
    assert!(finals.iter().all(|f| f == &["b"]), "{finals:?}");
    // The wall clock stamps b (0,0)@n2 < a's (40,0)@n1: b is acknowledged and gone, and c2
    // reads a after writing b (read-your-writes broken; eventual: acknowledged write lost).
    let (read, finals) = skewed_lww(Variant::LwwWallClock);
    assert_eq!(read, value("a"));
    assert!(finals.iter().all(|f| f == &["a"]), "{finals:?}");
}

#[test]
fn gossip_messages_never_carry_more_than_their_bounds_and_still_converge() {
    let mut c = Cluster::new(3, 1, |c| Config {
        push_fanout: 0,
        gossip_interval_ticks: 1,
        digest_keys_max: 3,
        sync_keys_max: 2,
        ..c
    });
    for k in 0..20 {
        c.put(1, 1, &format!("k{k:02}"), &format!("v{k}"));
    }
    for k in 15..25 {
        c.put(3, 3, &format!("k{k:02}"), &format!("w{k}"));
    }
    let ticks = c.converge(400).expect("converges");
    assert_eq!(c.registers(2).len(), 25);
    assert_eq!(c.registers(2)["k17"], ["v17", "w17"]);
    for e in &c.sent {
        let within = match &e.msg {
            Message::Digest(d) => d.entries.len() <= 3,
            Message::Sync(s) => s.states.len() <= 2 && s.wanted.len() <= 3,
            Message::Push(p) => p.states.len() <= 2,
        };
        assert!(within, "{e} is past a bound");
    }
    eprintln!(
        "25 keys in chunks of 3/2: {ticks} ticks, {} messages",
        c.sent.len()
    );
}

#[test]
fn replicas_converge_through_a_relay_when_two_of_them_never_talk() {
    let mut c = Cluster::new(3, 1, |c| c);
    c.partition(&[n(1)], &[n(3)]);
    c.put(1, 1, "x", "a");
    c.put(3, 3, "y", "b");
    assert!(c.converge(100).is_some());
    assert_eq!(c.registers(1)["y"], ["b"]);
    assert_eq!(c.registers(3)["x"], ["a"]);
}

#[test]
fn a_node_that_missed_every_put_pulls_them_all_by_gossip() {
    let mut c = Cluster::new(3, 1, |c| c);
    c.isolate(n(3));
    for k in 0..30 {
        c.put(1 + k % 2, 1, &format!("k{k}"), &format!("v{k}"));
    }
    c.settle();
    assert!(c.registers(3).is_empty());
    c.heal();
    let ticks = c.converge(200).expect("converges");
    assert_eq!(c.registers(3).len(), 30);
    eprintln!("a node that missed 30 puts caught up in {ticks} ticks");
}

#[test]
fn a_restarted_node_keeps_what_it_acknowledged_and_never_reissues_a_dot() {
    let mut c = Cluster::new(3, 1, |c| c);
    c.isolate(n(1));
    c.put(1, 1, "x", "a");
    c.crash(n(1));
    c.restart(n(1));
    assert_eq!(c.get(1, 1, "x"), value("a"));
    c.put(1, 2, "x", "b");
    let state = c.node(n(1)).state("x").expect("held").to_string();
    assert!(state.starts_with("[a@n1:1 b@n1:2]"), "{state}");
    c.heal();
    assert!(c.converge(50).is_some());
}

#[test]
fn a_restarted_lww_node_stamps_past_everything_it_stamped_before() {
    let mut c2 = Cluster::new(2, 1, |c| c.with_lww());
    c2.put(1, 1, "x", "a");
    let before = c2.node(n(1)).stamped().last_stamp;
    c2.crash(n(1));
    c2.restart(n(1));
    c2.put(1, 2, "x", "b");
    assert!(c2.node(n(1)).stamped().last_stamp > before);
    assert_eq!(c2.registers(1)["x"], ["b"]);
}

#[test]
fn a_restarted_hlc_node_stamps_past_every_value_it_holds_so_a_put_after_a_read_wins() {
    // n2 took in a's stamp (40,0) when a arrived; its restart loses the HLC's memory and the
    // ticks it was down. Resuming past every stamp on its disk keeps b above a.
    let mut c = Cluster::new(2, 1, |mut c| {
        if c.id == NodeId(1) {
            c.physical_clock_offset_ticks = 40;
        }
        c.with_lww()
    });
    c.put(1, 1, "x", "a");
    c.settle();
    c.crash(n(2));
    c.restart(n(2));
    assert_eq!(c.get(2, 2, "x"), value("a"));
    assert_eq!(c.put(2, 2, "x", "b"), Response::Ok);
    assert_eq!(c.get(2, 2, "x"), value("b"));
    assert_eq!(c.node(n(2)).counters().lww_puts_lost, 0);
}

#[test]
fn a_retried_put_is_applied_once_and_an_older_one_is_refused() {
    let mut c = Cluster::new(3, 1, |c| c);
    let op = c.next_op(1);
    assert_eq!(c.request(1, ClientRequest::put(op, "x", "a")), Response::Ok);
    c.settle();
    c.observer.replies.clear();
    // The client timed out and retried the same op at another node, which has the state.
    assert_eq!(c.request(2, ClientRequest::put(op, "x", "a")), Response::Ok);
    assert_eq!(c.node(n(2)).counters().duplicate_puts, 1);
    let later = OpId { client: 1, seq: 9 };
    assert_eq!(
        c.request(1, ClientRequest::put(later, "x", "z")),
        Response::Ok
    );
    let older = OpId { client: 1, seq: 5 };
    let refused = c.request(1, ClientRequest::put(older, "x", "y"));
    assert!(
        matches!(refused, Response::Unavailable { .. }),
        "{refused:?}"
    );
    assert_eq!(c.registers(1)["x"], ["z"]);
}

/// Two puts at n1 and n2 whose pushes cross; the values every node ends with.
fn crossing_pushes(variant: Variant) -> Vec<Vec<String>> {
    let mut c = Cluster::new(3, 1, move |c| c.with_variant(variant));
    c.put(1, 1, "x", "a");
    c.put(2, 2, "x", "b");
    c.converge(100);
    (1..=3).map(|id| c.registers(id)["x"].clone()).collect()
}

#[test]
fn the_concurrent_as_ordered_merge_leaves_replicas_different_for_ever() {
    let correct = crossing_pushes(Variant::Correct);
    assert!(correct.iter().all(|f| f == &["a", "b"]), "{correct:?}");
    let broken = crossing_pushes(Variant::ConcurrentAsOrdered);
    assert!(
        broken.iter().all(|f| f.len() == 1),
        "a sibling dropped: {broken:?}"
    );
    assert!(
        broken.windows(2).any(|w| w[0] != w[1]),
        "divergent: {broken:?}"
    );
}

/// c2 reads a at n2 and puts b (b follows a); c3 puts c at n1 blind; n1's state [a c]
/// reaches n2 first. What c2 then reads at n2.
fn read_after_rival_arrives(variant: Variant) -> Response {
    let mut c = Cluster::new(3, 1, move |c| c.with_variant(variant));
    c.put(1, 1, "x", "a");
    assert!(c.converge(50).is_some());
    assert_eq!(c.get(2, 2, "x"), value("a"));
    c.put(2, 2, "x", "b");
    c.put(1, 3, "x", "c");
    let from_n1 = |e: &Envelope<Message>| e.from == n(1) && e.to == n(2);
    let k = c.network.iter().position(from_n1).expect("n1 pushed");
    let env = c.network.remove(k).expect("queued");
    c.deliver(env);
    c.get(2, 2, "x")
}

#[test]
fn the_concurrent_as_ordered_merge_loses_a_put_whose_client_had_read_its_rival() {
    // Correct: b superseded a, c is concurrent with b: siblings [b c].
    assert_eq!(
        read_after_rival_arrives(Variant::Correct),
        siblings(&["b", "c"])
    );
    // Broken: contexts {n1:1 n2:1} and {n1:2} are concurrent, so n2 takes n1's siblings
    // whole: b is gone and c2 reads a, which its own put had replaced (read-your-writes,
    // causal: WriteCORead).
    assert_eq!(
        read_after_rival_arrives(Variant::ConcurrentAsOrdered),
        siblings(&["a", "c"])
    );
}

#[test]
fn the_arrival_order_merge_lets_an_older_state_overwrite_a_later_put() {
    for (variant, expected) in [(Variant::Correct, "b"), (Variant::LwwArrivalOrder, "a")] {
        let mut c = Cluster::new(2, 1, move |c| c.with_variant(variant).with_lww());
        c.put(1, 1, "x", "a");
        c.put(1, 1, "x", "b");
        let mut queued: Vec<_> = c.network.drain(..).collect();
        queued.reverse(); // b's push overtakes a's
        for env in queued {
            c.deliver(env);
        }
        assert_eq!(c.get(2, 1, "x"), value(expected), "{variant:?}");
    }
}

#[test]
fn nodes_configured_differently_refuse_each_other_s_states_with_a_note() {
    let mut c = Cluster::new(2, 1, |c| if c.id == NodeId(1) { c.with_lww() } else { c });
    c.put(1, 1, "x", "a");
    c.settle();
    assert_eq!(c.node(n(2)).counters().merges_refused, 1);
    assert!(c.registers(2).is_empty());
}

#[test]
fn gossip_with_a_seeded_rng_replays_exactly_from_its_seed() {
    let trace = |seed: u64| {
        let mut c = Cluster::new(5, seed, |c| Config {
            peer_choice: PeerChoice::Random,
            push_fanout: 1,
            ..c
        });
        for k in 0..5 {
            c.put(k + 1, k, "x", &format!("v{k}"));
        }
        c.converge(100).expect("converges");
        c.sent.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(trace(7), trace(7));
    assert_ne!(trace(7), trace(8));
}

/// Shorthand for an LWW store.
trait WithLww {
    fn with_lww(self) -> Self;
}

impl WithLww for Config {
    fn with_lww(self) -> Config {
        Config {
            resolution: Resolution::Lww,
            ..self
        }
    }
}
