//! Primary-backup, rule by rule: each test names the rule it checks and where it comes from
//! (Budhiraja et al., "The Primary-Backup Approach", 1993; MIT 6.824's view service; Gray &
//! Cheriton's leases). Every test runs under `PbChecks` (primary_backup_support): persist
//! before send, the audit after every event, and the real-time order of every key.

mod primary_backup_support;

use distributed_core::{NodeId, Protocol};
use primary_backup_support::{
    boot, cluster, get, n, op, put, replies_to, rounds_until, server, service, value, Layout, Pb,
};
use replication::primary_backup::{
    Config, Disk, Forward, Message, Out, PbNode, PingReply, Role, View, Write,
};
use replication::{ClientRequest, OpId, Response};

#[test]
fn a_put_is_answered_only_once_every_backup_of_the_view_stored_it() {
    // Budhiraja et al. §2: the primary answers only after the backups have the update.
    let mut layout = Layout::servers(3);
    layout.backups = 2;
    let mut c = cluster(layout);
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    let to = |k: u64| move |e: &distributed_core::Envelope<Message>| e.to == n(k) && e.from == n(1);
    let k = c.network.iter().position(to(2)).expect("a forward to n2");
    let env = c.network.remove(k).expect("in range");
    c.deliver(env); // n2 stores it and acks
    let k = c
        .network
        .iter()
        .position(|e| e.to == n(1))
        .expect("n2's ack");
    let env = c.network.remove(k).expect("in range");
    c.deliver(env);
    assert!(replies_to(&c, op(1)).is_empty(), "n3 does not have it yet");
    c.deliver_all();
    assert_eq!(replies_to(&c, op(1)), [Response::Ok]);
    for id in 1..=3 {
        assert_eq!(server(&c, id).store().registers()["x"], "a");
    }
}

#[test]
fn the_primary_persists_a_put_in_the_same_effects_before_forwarding_it() {
    // The host contract: writes first, then messages. A forward promises the put is durable.
    let mut c = cluster(Layout::servers(3));
    boot(&mut c);
    let mut primary = c.node(n(1)).clone();
    let mut out = Out::new();
    primary.input(ClientRequest::put(op(1), "x", "a"), &mut out);
    assert!(matches!(out.writes[..], [Write::Put { seq: 1, .. }]));
    assert!(matches!(
        out.messages[0].msg,
        Message::Forward(Forward { seq: 1, .. })
    ));
    assert!(out.outputs.is_empty(), "no answer before the backup has it");
}

#[test]
fn backups_idle_servers_and_the_view_service_redirect_clients_to_the_primary() {
    let mut c = cluster(Layout::servers(3));
    boot(&mut c);
    for (k, node) in [2, 3, 4].into_iter().enumerate() {
        let seq = k as u64 + 1;
        put(&mut c, node, seq, "x", "a");
        assert_eq!(replies_to(&c, op(seq)), [Response::Redirect { to: n(1) }]);
    }
    assert_eq!(server(&c, 2).role(), Role::Backup);
    assert_eq!(server(&c, 3).role(), Role::Idle);
    assert_eq!(c.node(n(4)).role(), Role::ViewService);
}

#[test]
fn a_primary_without_a_lease_refuses_reads_rather_than_risk_a_stale_answer() {
    // Gray & Cheriton: without a valid lease, the holder must not act on its cached state.
    let mut c = cluster(Layout::servers(2));
    boot(&mut c);
    c.isolate(n(1));
    for _ in 0..7 {
        c.tick(n(1)); // no reply reaches it: the lease runs out on its own clock
    }
    get(&mut c, 1, 1, "x");
    let [Response::Unavailable { why }] = &replies_to(&c, op(1))[..] else {
        panic!("a refusal");
    };
    assert!(why.contains("no lease"), "{why}");
}

#[test]
fn a_ping_reply_for_an_earlier_life_grants_no_lease() {
    // A restarted server's clock starts over: a lease counted from an old ping's tick would
    // be measured on a clock that no longer exists.
    let config = Layout::servers(2).config(n(1));
    let mut node = PbNode::new(config.clone(), &Disk::default()).expect("valid");
    let mut out = Out::new();
    for _ in 0..3 {
        node.tick(&mut out);
    }
    let reply = PingReply {
        view: View::first(&config),
        incarnation: 7,
        tick: 1,
        lease: true,
    };
    out.clear();
    node.step(n(3), reply.into(), &mut Out::with_notes());
    assert_eq!(node.server().expect("a server").lease_until_tick(), 0);
}

#[test]
fn a_forward_from_an_older_view_is_refused_with_a_note() {
    let config = Layout::servers(2).config(n(2));
    let disk = Disk {
        view: Some(View::new(3, NodeId(1), vec![NodeId(2)], 1)),
        ..Disk::default()
    };
    let mut backup = PbNode::new(config, &disk).expect("valid");
    let mut out = Out::with_notes();
    let forward = Forward {
        view: 2,
        seq: 1,
        key: "x".into(),
        value: "a".into(),
        op: op(1),
        committed: 0,
    };
    backup.step(n(1), forward.into(), &mut out);
    assert!(out.is_empty());
    assert!(out.notes.lines()[0].contains("no longer holds"));
}

#[test]
fn a_backup_outside_the_primarys_lineage_refuses_forwards_until_it_has_the_state() {
    // A backup's history must be a prefix of its primary's (Budhiraja et al. §2's "the
    // backups apply updates in the order the primary sends them"), which only a state
    // transfer from this tenure's primary makes true.
    let config = Layout::servers(2).config(n(2));
    let mut backup = PbNode::new(config, &Disk::default()).expect("valid");
    let mut out = Out::with_notes();
    let forward = Forward {
        view: 1,
        seq: 1,
        key: "x".into(),
        value: "a".into(),
        op: op(1),
        committed: 0,
    };
    backup.step(n(1), forward.into(), &mut out);
    assert!(out.writes.is_empty() && out.messages.is_empty());
    assert!(out.notes.lines()[0].contains("not in the lineage"));
}

#[test]
fn the_view_service_waits_the_whole_failure_timeout_before_replacing_a_silent_primary() {
    let mut c = cluster(Layout::servers(3));
    boot(&mut c);
    primary_backup_support::crash(&mut c, n(1));
    let timeout = Layout::servers(3).config(n(1)).failure_timeout_ticks;
    c.run(timeout - 1);
    assert_eq!(service(&c).view().num, 1, "still within the timeout");
    assert!(rounds_until(&mut c, 4, |c| service(c).view().num == 2));
    assert_eq!(service(&c).view().primary, n(2));
    assert_eq!(service(&c).counters().promotions, 1);
}

#[test]
fn the_view_service_promotes_only_a_backup_and_otherwise_waits_for_the_primary() {
    // 6.824: an idle server may hold nothing; only a backup of an acknowledged view holds
    // every acknowledged put. With primary and backup both gone, the view service waits; the
    // primary's disk holds everything, so when it comes back it resumes, and the dead backup
    // is then replaced by the idle n3, which gets the state.
    let mut c = cluster(Layout::servers(3));
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    primary_backup_support::crash(&mut c, n(1));
    primary_backup_support::crash(&mut c, n(2));
    c.run(60);
    assert_eq!(service(&c).view().num, 1, "no backup left to promote");
    primary_backup_support::restart(&mut c, n(1));
    let whole = |c: &Pb| service(c).view().backups == [n(3)] && service(c).is_acked();
    assert!(rounds_until(&mut c, 40, whole));
    assert_eq!(service(&c).view().primary, n(1));
    assert_eq!(server(&c, 3).store().registers()["x"], "a");
    get(&mut c, 1, 2, "x");
    assert_eq!(replies_to(&c, op(2)), [value("a")]);
}

#[test]
fn a_lost_forward_is_resent_when_no_ack_comes_within_the_resend_interval() {
    let mut c = cluster(Layout::servers(2));
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.network.retain(|e| !matches!(e.msg, Message::Forward(_)));
    assert!(replies_to(&c, op(1)).is_empty());
    assert!(rounds_until(&mut c, 10, |c| !replies_to(c, op(1)).is_empty()));
    assert_eq!(replies_to(&c, op(1)), [Response::Ok]);
    assert!(server(&c, 1).counters().forwards_resent >= 1);
}

#[test]
fn the_primary_refuses_puts_once_pending_max_wait_for_the_backups() {
    let mut layout = Layout::servers(2);
    layout.tune = |c: &mut Config| c.pending_max = 2;
    let mut c = cluster(layout);
    boot(&mut c);
    c.isolate(n(2));
    for seq in 1..=3 {
        put(&mut c, 1, seq, "x", &format!("v{seq}"));
    }
    assert!(replies_to(&c, op(1)).is_empty() && replies_to(&c, op(2)).is_empty());
    let [Response::Unavailable { why }] = &replies_to(&c, op(3))[..] else {
        panic!("the third put is refused");
    };
    assert!(why.contains("pending_max"), "{why}");
    assert_eq!(
        server(&c, 1).store().last_seq(),
        2,
        "a refused put is not stored"
    );
}

#[test]
fn the_primary_refuses_puts_while_a_backup_receives_its_state() {
    // transfer.rs: the store is frozen during a transfer, so chunks by index stay consistent.
    let mut c = cluster(Layout::servers(2));
    c.tick(n(1)); // n1 takes its tenure and probes n2
    let probe = c.network.pop_back().expect("the probe");
    c.deliver(probe);
    let probed = c.network.pop_back().expect("the answer");
    c.deliver(probed); // n1 is now sending chunk 0 to n2
    put(&mut c, 1, 1, "x", "a");
    let [Response::Unavailable { why }] = &replies_to(&c, op(1))[..] else {
        panic!("refused during the transfer");
    };
    assert!(why.contains("receiving the primary's state"), "{why}");
}

#[test]
fn a_retry_of_a_committed_put_is_answered_without_applying_it_again() {
    let mut c = cluster(Layout::servers(2));
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    put(&mut c, 1, 2, "x", "b");
    c.deliver_all();
    let stored = server(&c, 1).counters().puts_stored;
    primary_backup_support::invoke(&mut c, n(1), ClientRequest::put(op(2), "x", "b"));
    assert_eq!(replies_to(&c, op(2)), [Response::Ok, Response::Ok]);
    assert_eq!(
        server(&c, 1).counters().puts_stored,
        stored,
        "not applied again"
    );
    assert_eq!(server(&c, 1).store().last_seq(), 2);
}

#[test]
fn a_client_evicted_from_the_sessions_gets_its_retry_applied_twice() {
    // The retention bound (primary.rs): sessions_max clients are remembered. Shown, not hidden.
    let mut layout = Layout::servers(2);
    layout.tune = |c: &mut Config| c.sessions_max = 1;
    let mut c = cluster(layout);
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    let other = OpId { client: 2, seq: 1 };
    primary_backup_support::invoke(&mut c, n(1), ClientRequest::put(other, "y", "b"));
    c.deliver_all();
    assert_eq!(
        server(&c, 1).store().session(1),
        None,
        "client 1 was evicted"
    );
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    assert_eq!(
        server(&c, 1).store().last_seq(),
        3,
        "the retry was applied again"
    );
}

#[test]
fn a_get_returns_committed_registers_only_never_a_put_still_in_flight() {
    // A put in the log may vanish with the primary; a read must not expose it.
    let mut c = cluster(Layout::servers(2));
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    get(&mut c, 1, 2, "x");
    assert_eq!(replies_to(&c, op(2)), [Response::Value(None)]);
    c.deliver_all();
    get(&mut c, 1, 3, "x");
    assert_eq!(replies_to(&c, op(3)), [value("a")]);
    assert!(
        c.observer.violations.is_empty(),
        "{:?}",
        c.observer.violations
    );
}
