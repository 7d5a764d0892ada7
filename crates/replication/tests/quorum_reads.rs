//! The read path: R replies, siblings, read repair; and what each resolution and each broken
//! variant makes of concurrent and of causally later puts (DeCandia et al. §4.4, §4.5).

mod quorum_support;

use distributed_core::NodeId;
use quorum_support::{ids, values, Cluster};
use replication::quorum::{Config, Message, Resolution, Ring, Variant};
use replication::{OpId, Response};

#[test]
fn a_get_answers_with_the_value_once_r_replicas_replied() {
    let mut c = Cluster::new(3);
    let first = c.home("x")[0];
    assert_eq!(c.put_now(first, "x", "a"), Response::Ok);
    assert_eq!(c.get_now(2, "x"), Response::Value(Some("a".into())));
    assert_eq!(c.get_now(2, "never-written"), Response::Value(None));
}

/// Five nodes, key x home on [f s t], fallbacks [p q]; the partition {f p} | {s t q}. A put
/// at f reaches W through the stand-in p (sloppy quorum); a put at s, unable to forward to f,
/// is coordinated by s itself. Both are acknowledged, and neither coordinator saw the other's.
fn split_brain(c: &mut Cluster) -> (OpId, OpId) {
    let [f, s, t] = c.home("x")[..] else {
        panic!("N = 3")
    };
    let [p, q] = c.fallbacks("x")[..] else {
        panic!("5 nodes")
    };
    c.partition(&[NodeId(f), NodeId(p)], &[NodeId(s), NodeId(t), NodeId(q)]);
    let a = c.put(f, "x", "a");
    let b = c.put(s, "x", "b");
    c.ticks(c.node(NodeId(s)).config().forward_timeout_ticks + 1);
    assert_eq!(c.reply(a), Some(&Response::Ok), "f + the stand-in p");
    assert_eq!(c.reply(b), Some(&Response::Ok), "s + t");
    c.heal();
    (a, b)
}

#[test]
fn puts_on_both_sides_of_a_partition_come_back_as_siblings() {
    // §4.4: "the client must perform the reconciliation ... the data store returns all the
    // versions it cannot reconcile".
    let mut c = Cluster::new(5);
    split_brain(&mut c);
    assert_eq!(
        c.get_now(3, "x"),
        Response::Siblings(vec!["a".into(), "b".into()])
    );
}

#[test]
fn a_put_through_a_coordinator_holding_both_siblings_resolves_them() {
    let mut c = Cluster::new(5);
    split_brain(&mut c);
    c.ticks(1);
    c.get_now(3, "x"); // read repair hands both siblings to every home node
    let first = c.home("x")[0];
    assert_eq!(c.put_now(first, "x", "a+b"), Response::Ok);
    assert_eq!(c.get_now(3, "x"), Response::Value(Some("a+b".into())));
}

#[test]
fn read_repair_brings_a_stale_home_node_up_to_the_merge_of_the_replies() {
    let mut c = Cluster::new(3);
    let [first, _, third] = c.home("x")[..] else {
        panic!("N = 3")
    };
    c.intercept = Some(Box::new(move |e| {
        !(e.to == NodeId(third) && matches!(e.msg, Message::Replicate(_)))
    }));
    assert_eq!(c.put_now(first, "x", "a"), Response::Ok);
    c.intercept = None;
    assert!(
        c.values_at(third, "x").is_empty(),
        "the third home node missed the put"
    );
    assert_eq!(c.get_now(first, "x"), Response::Value(Some("a".into())));
    assert_eq!(
        c.values_at(third, "x"),
        ["a"],
        "repaired once every reply was in"
    );
    assert_eq!(c.node(NodeId(first)).counters().read_repairs, 1);
}

#[test]
fn with_r_plus_w_above_n_a_get_after_an_ok_put_sees_it_even_at_a_stale_replica() {
    // §4.5: R + W > N: every read quorum meets every write quorum.
    let mut c = Cluster::new(3);
    let [first, _, third] = c.home("x")[..] else {
        panic!("N = 3")
    };
    c.intercept = Some(Box::new(move |e| {
        !(e.to == NodeId(third) && matches!(e.msg, Message::Replicate(_)))
    }));
    assert_eq!(c.put_now(first, "x", "a"), Response::Ok);
    c.intercept = None;
    assert_eq!(c.get_now(third, "x"), Response::Value(Some("a".into())));
}

#[test]
fn with_r_plus_w_at_most_n_a_get_after_an_ok_put_can_miss_it_and_later_converges() {
    // The broken variant r-plus-w-le-n: N = 3, R = 1, W = 1.
    let mut c = Cluster::with(3, |cfg| *cfg = cfg.clone().with_variant(Variant::RPlusWLeN));
    let [first, second, _] = c.home("x")[..] else {
        panic!("N = 3")
    };
    let put = c.put(first, "x", "a");
    assert_eq!(
        c.reply(put),
        Some(&Response::Ok),
        "W = 1: the coordinator alone"
    );
    let get = c.get(second, "x");
    assert_eq!(
        c.reply(get),
        Some(&Response::Value(None)),
        "R = 1: the stale replica alone"
    );
    c.deliver_all();
    assert_eq!(
        c.get_now(second, "x"),
        Response::Value(Some("a".into())),
        "but it converges"
    );
}

#[test]
fn lww_keeps_one_of_two_acknowledged_concurrent_puts_and_drops_the_other_silently() {
    let mut c = Cluster::with(5, |cfg| cfg.resolution = Resolution::Lww);
    split_brain(&mut c);
    let got = values(&c.get_now(3, "x"));
    assert_eq!(got.len(), 1, "one value, no siblings: {got:?}");
    c.ticks(200);
    for n in c.home("x") {
        assert_eq!(
            c.values_at(n, "x"),
            got,
            "every home node agrees on the winner"
        );
    }
}

/// Three nodes where the first home node of x runs 40 ticks ahead of the others: it puts a,
/// then is cut off; the second home node takes over as coordinator and puts b, after it had
/// stored a. The reply to the final get, and how many puts the new coordinator saw lose at once.
fn causally_later_put_on_a_slower_clock(variant: Variant) -> (Response, u64) {
    let ring = Ring::new(&ids(3), 1, 3);
    let [first, second, _] = ring.home(ring.place("x").range)[..] else {
        panic!("N = 3")
    };
    let mut c = Cluster::with(3, move |cfg: &mut Config| {
        *cfg = cfg.clone().with_variant(variant);
        cfg.resolution = Resolution::Lww;
        if cfg.id == first {
            cfg.physical_clock_offset_ticks = 40;
        }
    });
    assert_eq!(c.put_now(first.0, "x", "a"), Response::Ok);
    c.isolate(first);
    let b = c.put(second.0, "x", "b");
    c.ticks(c.node(second).config().forward_timeout_ticks + 1);
    assert_eq!(c.reply(b), Some(&Response::Ok), "b is acknowledged");
    let lost = c.node(second).counters().lww_puts_lost;
    (c.get_now(second.0, "x"), lost)
}

#[test]
fn an_hlc_stamped_put_made_after_storing_a_faster_clocks_value_wins() {
    let got = causally_later_put_on_a_slower_clock(Variant::Correct);
    assert_eq!(got, (Response::Value(Some("b".into())), 0));
}

#[test]
fn a_wall_clock_stamped_put_made_after_storing_a_faster_clocks_value_is_silently_lost() {
    // The broken variant lww-wall-clock: b's stamp is the slower clock's own time.
    let got = causally_later_put_on_a_slower_clock(Variant::LwwWallClock);
    assert_eq!(
        got,
        (Response::Value(Some("a".into())), 1),
        "the acknowledged b is gone"
    );
}

#[test]
fn the_concurrent_as_ordered_merge_drops_one_of_two_acknowledged_concurrent_puts() {
    let mut c = Cluster::with(5, |cfg| {
        *cfg = cfg.clone().with_variant(Variant::VcConcurrentAsOrdered)
    });
    split_brain(&mut c);
    let got = values(&c.get_now(3, "x"));
    assert_eq!(got.len(), 1, "DVV would keep both: {got:?}");
}
