//! Chain replication and CRAQ, rule by rule: each test names the rule it checks and, where
//! the paper states it, the section. Every test runs under `ChainChecks` (common/mod.rs):
//! persist before send, the update propagation invariant after every event, and the real-time
//! order of every key.

mod common;

use std::collections::BTreeMap;

use common::{cluster, invoke, replicas, replies_to, Chain, Layout};
use distributed_core::{NodeId, Protocol, Rng, SeededRng};
use replication::chain::{ChainNode, Disk, Message, Mode, Out, Update, Variant, Write};
use replication::{ClientRequest, OpId, Response};

fn op(seq: u64) -> OpId {
    OpId { client: 1, seq }
}

fn n(id: u64) -> NodeId {
    NodeId(id)
}

/// Every replica heartbeats once and hears back: each holds a read lease.
fn leases(c: &mut Chain) {
    for id in 1..c.ids.len() as u64 {
        c.tick(n(id));
    }
    c.deliver_all();
}

fn put(c: &mut Chain, node: u64, seq: u64, key: &str, value: &str) {
    invoke(c, n(node), ClientRequest::put(op(seq), key, value));
}

fn get(c: &mut Chain, node: u64, seq: u64, key: &str) {
    invoke(c, n(node), ClientRequest::get(op(seq), key));
}

fn value(v: &str) -> Response {
    Response::Value(Some(v.to_string()))
}

#[test]
fn a_put_is_answered_only_once_the_tail_has_stored_it() {
    // OSDI '04 §2: a write is done when the tail has it.
    let mut c = cluster(Layout::chain(3));
    put(&mut c, 1, 1, "x", "a");
    c.deliver_one(); // n1 → n2
    assert!(
        replies_to(&c, op(1)).is_empty(),
        "the middle has it, not yet the tail"
    );
    c.deliver_one(); // n2 → n3: stored clean, acked
    assert!(
        replies_to(&c, op(1)).is_empty(),
        "the ack is on its way back"
    );
    c.deliver_all();
    assert_eq!(replies_to(&c, op(1)), [Response::Ok]);
    for disk in &c.disks[..3] {
        assert_eq!(disk.store.latest("x").map(|v| v.value.as_str()), Some("a"));
    }
}

#[test]
fn a_head_persists_an_update_in_the_same_effects_before_the_update_leaves() {
    let config = Layout::chain(3).config(n(1));
    let mut head = ChainNode::new(config, &Disk::default()).expect("valid");
    let mut out = Out::new();
    head.input(ClientRequest::put(op(1), "x", "a"), &mut out);
    assert!(matches!(out.writes[..], [Write::Version { seq: 1, .. }]));
    assert!(matches!(
        out.messages[0].msg,
        Message::Update(Update { seq: 1, .. })
    ));
}

#[test]
fn puts_go_to_the_head_and_chain_mode_reads_to_the_tail() {
    let mut c = cluster(Layout::chain(3));
    leases(&mut c);
    put(&mut c, 2, 1, "x", "a");
    get(&mut c, 2, 2, "x");
    assert_eq!(replies_to(&c, op(1)), [Response::Redirect { to: n(1) }]);
    assert_eq!(replies_to(&c, op(2)), [Response::Redirect { to: n(3) }]);
}

#[test]
fn a_replica_without_a_lease_refuses_reads_rather_than_risk_a_stale_answer() {
    let mut c = cluster(Layout::chain(2));
    get(&mut c, 2, 1, "x");
    assert!(matches!(
        replies_to(&c, op(1))[..],
        [Response::Unavailable { .. }]
    ));
    leases(&mut c);
    get(&mut c, 2, 2, "x");
    assert_eq!(replies_to(&c, op(2)), [Response::Value(None)]);
}

#[test]
fn a_heartbeat_ack_for_an_earlier_life_grants_no_lease() {
    // The ack names the tick of a heartbeat sent before the crash, by a clock that has since
    // started over: it says nothing about the master's view of this life.
    let mut c = cluster(Layout::chain(2));
    c.tick(n(2)); // heartbeat of incarnation 1, left in flight
    c.crash(n(2));
    c.restart(n(2));
    c.deliver_all(); // the ack reaches incarnation 2
    assert!(c
        .observer
        .lines
        .iter()
        .any(|l| l.contains("an earlier life")));
    get(&mut c, 2, 1, "x");
    assert!(matches!(
        replies_to(&c, op(1))[..],
        [Response::Unavailable { .. }]
    ));
}

#[test]
fn an_update_from_an_older_epoch_is_refused_with_a_note() {
    let mut c = cluster(Layout::chain(3));
    c.crash(n(1));
    c.run(20); // the master removes n1: epoch 2 is [n2, n3]
    assert_eq!(c.node(n(4)).configuration().epoch, 2);
    let stale = Update {
        epoch: 1,
        seq: 1,
        key: "x".into(),
        value: "a".into(),
    };
    c.observer.lines.clear();
    c.deliver(distributed_core::Envelope {
        from: n(1),
        to: n(2),
        msg: stale.into(),
    });
    assert!(c
        .observer
        .lines
        .iter()
        .any(|l| l.contains("epoch 1 is older")));
    assert_eq!(c.disks[1].store.last_seq(), 0, "nothing stored");
}

#[test]
fn the_master_waits_the_whole_failure_timeout_before_removing_a_silent_member() {
    // failure_timeout_ticks = 16: silent for 16 ticks is not yet failed, 17 is.
    let mut c = cluster(Layout::chain(3));
    for _ in 0..16 {
        c.tick(n(4));
    }
    assert_eq!(c.node(n(4)).configuration().epoch, 1);
    c.tick(n(4));
    let view = c.node(n(4)).configuration();
    assert_eq!((view.epoch, view.chain.clone()), (2, vec![n(3)]));
}

#[test]
fn the_master_never_removes_the_last_full_member() {
    // Everyone silent: the tail stays, since it holds every acknowledged write.
    let mut c = cluster(Layout::chain(3));
    for _ in 0..100 {
        c.tick(n(4));
    }
    let view = c.node(n(4)).configuration();
    assert_eq!((view.epoch, view.chain.clone()), (2, vec![n(3)]));
}

#[test]
fn a_lost_update_is_resent_when_no_ack_comes_within_the_resend_interval() {
    let mut c = cluster(Layout::chain(2));
    put(&mut c, 1, 1, "x", "a");
    c.network.clear(); // lost
    for _ in 0..8 {
        c.tick(n(1));
    }
    c.deliver_all();
    assert_eq!(replies_to(&c, op(1)), [Response::Ok]);
}

/// Take the update with `seq` out of the network, wherever it is queued.
fn take_update(c: &mut Chain, seq: u64) -> distributed_core::Envelope<Message> {
    let k = c
        .network
        .iter()
        .position(|e| matches!(&e.msg, Message::Update(u) if u.seq == seq));
    c.network
        .remove(k.expect("the update is in flight"))
        .expect("in range")
}

#[test]
fn an_update_that_overtakes_its_predecessor_is_stored_once_the_gap_fills_without_a_resend() {
    // OSDI '04 §2 assumes FIFO links; on a reordering network update 2 reaches the middle
    // before update 1. It is held, and stored right after 1, in order (§3: the history stays
    // a prefix of the predecessor's), with no tick and so no resend of the Sent list.
    let mut c = cluster(Layout::chain(3));
    put(&mut c, 1, 1, "x", "a");
    put(&mut c, 1, 2, "y", "b");
    let second = take_update(&mut c, 2);
    c.deliver(second); // n1 → n2: ahead of a gap
    assert_eq!(
        c.disks[1].store.last_seq(),
        0,
        "held, not stored out of order"
    );
    let first = take_update(&mut c, 1);
    c.deliver(first); // n1 → n2: fills the gap
    assert_eq!(
        c.disks[1].store.last_seq(),
        2,
        "the held update is stored as soon as the gap fills"
    );
    c.deliver_all();
    assert_eq!(replies_to(&c, op(1)), [Response::Ok]);
    assert_eq!(replies_to(&c, op(2)), [Response::Ok]);
    for disk in &c.disks[..3] {
        assert_eq!(disk.store.last_seq(), 2);
    }
    let resent: u64 = replicas(&c)
        .iter()
        .map(|r| r.counters().updates_resent)
        .sum();
    assert_eq!(resent, 0, "no resend was needed");
}

#[test]
fn the_head_refuses_puts_once_sent_max_writes_are_in_flight() {
    let mut layout = Layout::chain(2);
    layout.tune = |c| c.sent_max = 2;
    let mut c = cluster(layout);
    for seq in 1..=3 {
        put(&mut c, 1, seq, "x", &format!("v{seq}"));
    }
    assert!(matches!(
        replies_to(&c, op(3))[..],
        [Response::Unavailable { .. }]
    ));
    c.deliver_all();
    assert_eq!(replies_to(&c, op(2)), [Response::Ok]);
    assert_eq!(
        c.disks[1].store.last_seq(),
        2,
        "the refused put was never stored"
    );
}

fn craq() -> Chain {
    let mut layout = Layout::chain(3);
    layout.mode = Mode::Craq;
    cluster(layout)
}

#[test]
fn a_craq_read_of_a_clean_key_is_answered_at_any_replica_without_a_message() {
    // ATC '09 §2.3: the newest version is clean, so it is the committed one.
    let mut c = craq();
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    leases(&mut c);
    let sent = c.sent.len();
    for (k, node) in [1, 2, 3].into_iter().enumerate() {
        get(&mut c, node, 2 + k as u64, "x");
        assert_eq!(replies_to(&c, op(2 + k as u64)), [value("a")]);
    }
    assert_eq!(c.sent.len(), sent, "no message sent");
}

#[test]
fn a_craq_read_of_a_dirty_key_returns_the_version_the_tail_committed() {
    let mut c = craq();
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    leases(&mut c);
    put(&mut c, 1, 2, "x", "b");
    c.deliver_one(); // n2 holds b dirty
    get(&mut c, 2, 3, "x");
    assert!(replies_to(&c, op(3)).is_empty(), "it asks the tail first");
    // The query overtakes the update: the tail has committed a only.
    let k = c
        .network
        .iter()
        .position(|e| matches!(e.msg, Message::VersionQuery(_)));
    let query = c.network.remove(k.expect("a query")).expect("in range");
    c.deliver(query);
    let k = c
        .network
        .iter()
        .position(|e| matches!(e.msg, Message::VersionReply(_)));
    let reply = c.network.remove(k.expect("a reply")).expect("in range");
    c.deliver(reply);
    assert_eq!(replies_to(&c, op(3)), [value("a")]);
}

#[test]
fn a_craq_read_fails_unavailable_when_the_tail_never_answers() {
    let mut c = craq();
    leases(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_one(); // n2 holds a dirty
    get(&mut c, 2, 2, "x");
    c.network.clear(); // the query, the update and everything else is lost
    for _ in 0..10 {
        c.tick(n(2));
    }
    assert!(matches!(
        replies_to(&c, op(2))[..],
        [Response::Unavailable { .. }]
    ));
}

#[test]
fn ack_at_head_lets_a_read_at_the_tail_miss_an_acknowledged_write() {
    let mut layout = Layout::chain(3);
    layout.variant = Variant::AckAtHead;
    let mut c = cluster(layout);
    leases(&mut c);
    put(&mut c, 1, 1, "x", "a");
    assert_eq!(
        replies_to(&c, op(1)),
        [Response::Ok],
        "answered before it left the head"
    );
    get(&mut c, 3, 2, "x");
    assert_eq!(replies_to(&c, op(2)), [Response::Value(None)]);
    assert_eq!(
        c.observer.violations.len(),
        1,
        "{:?}",
        c.observer.violations
    );
}

#[test]
fn craq_dirty_read_lets_a_later_read_go_back_in_time() {
    let mut layout = Layout::chain(3);
    layout.mode = Mode::Craq;
    layout.variant = Variant::CraqDirtyRead;
    let mut c = cluster(layout);
    leases(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_one(); // n2 holds a dirty
    get(&mut c, 2, 2, "x");
    get(&mut c, 3, 3, "x");
    assert_eq!(replies_to(&c, op(2)), [value("a")]);
    assert_eq!(replies_to(&c, op(3)), [Response::Value(None)]);
    assert_eq!(
        c.observer.violations.len(),
        1,
        "{:?}",
        c.observer.violations
    );
}

/// One seeded run of puts and gets under message loss, reordering, crashes and restarts, and
/// replicas cut off from everyone (the master included) for a while.
fn chaos(seed: u64, mode: Mode, variant: Variant) -> Chain {
    let mut layout = Layout::chain(3);
    layout.spares = vec![4];
    layout.mode = mode;
    layout.variant = variant;
    let mut c = cluster(layout);
    let mut rng = SeededRng::new(seed);
    let mut ops: BTreeMap<u64, u64> = BTreeMap::new();
    let master = n(5);
    for step in 0..400u64 {
        let view = c.node(master).configuration().clone();
        let client = rng.range(1, 4);
        let id = common::next_op(&mut ops, client);
        match rng.range(0, 11) {
            0..=1 => {
                let key = if rng.chance(500_000) { "x" } else { "y" };
                let req = ClientRequest::put(id, key, format!("{id}"));
                if c.is_up(view.head()) {
                    invoke(&mut c, view.head(), req);
                }
            }
            2..=3 => {
                let node = n(rng.range(1, 5));
                if c.is_up(node) {
                    invoke(&mut c, node, ClientRequest::get(id, "x"));
                }
            }
            4..=6 => c.tick_all(),
            7 => {
                for _ in 0..rng.range(1, 8) {
                    if c.network.is_empty() {
                        break;
                    }
                    let k = rng.range(0, c.network.len() as u64) as usize;
                    let env = c.network.remove(k).expect("in range");
                    if !rng.chance(100_000) {
                        c.deliver(env);
                    }
                }
            }
            8 => c.deliver_all(),
            9 => {
                if c.cut.is_empty() {
                    c.isolate(n(rng.range(1, 5)));
                } else {
                    c.heal();
                }
            }
            _ => {
                let node = n(rng.range(1, 5));
                if !c.is_up(node) {
                    c.restart(node);
                } else if c.down.is_empty() && step < 300 {
                    c.crash(node);
                }
            }
        }
    }
    for id in c.down.clone() {
        c.restart(id);
    }
    c.heal();
    c.run(100);
    c
}

#[test]
fn seeded_runs_with_loss_reordering_crashes_and_cut_off_replicas_keep_every_invariant() {
    let (mut puts_done, mut reads_done, mut epochs) = (0, 0, 0);
    for seed in 0..60 {
        for mode in [Mode::Chain, Mode::Craq] {
            let c = chaos(seed, mode, Variant::Correct);
            let replies = || c.observer.replies.iter().map(|(_, r)| &r.response);
            puts_done += replies().filter(|r| **r == Response::Ok).count();
            reads_done += replies()
                .filter(|r| matches!(r, Response::Value(Some(_))))
                .count();
            epochs += c.node(n(5)).configuration().epoch;
            assert!(
                c.observer.violations.is_empty(),
                "seed {seed} {mode}: {:?}",
                c.observer.violations
            );
            let chain = c.node(n(5)).configuration().chain.clone();
            let heads: Vec<u64> = replicas(&c)
                .iter()
                .filter(|r| chain.contains(&r.id()))
                .map(|r| r.store().last_seq())
                .collect();
            assert!(
                heads.windows(2).all(|w| w[0] == w[1]),
                "seed {seed} {mode}: after quiet rounds every member holds the same history: \
                 {heads:?}"
            );
        }
    }
    // Not vacuous: the runs answered puts and reads, and reconfigured many times.
    assert!(
        puts_done > 1000 && reads_done > 1000 && epochs > 500,
        "{puts_done} {reads_done} {epochs}"
    );
}

#[test]
fn the_same_seeded_runs_catch_both_broken_variants() {
    // Today each is caught in every one of the 60 seeds: a lost acknowledged write or a read
    // going back in time needs no fault, only a read racing a write.
    let caught = |mode, variant| {
        let runs = (0..60).map(|s| chaos(s, mode, variant));
        runs.filter(|c| !c.observer.violations.is_empty()).count()
    };
    let at_head = caught(Mode::Chain, Variant::AckAtHead);
    let dirty = caught(Mode::Craq, Variant::CraqDirtyRead);
    assert!(
        at_head >= 50 && dirty >= 50,
        "ack-at-head caught in {at_head} of 60 seeds, craq-dirty-read in {dirty}"
    );
}

#[test]
#[ignore = "a soak: 2,000 seeds per mode, run with --ignored"]
fn soak_two_thousand_seeds_keep_every_invariant() {
    for seed in 0..2000 {
        for mode in [Mode::Chain, Mode::Craq] {
            let c = chaos(seed, mode, Variant::Correct);
            assert!(
                c.observer.violations.is_empty(),
                "seed {seed} {mode}: {:?}",
                c.observer.violations
            );
        }
    }
}
