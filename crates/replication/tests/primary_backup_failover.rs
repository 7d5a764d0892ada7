//! Primary-backup under failures: failover with state transfer, backups left behind by a new
//! tenure, restarts, a paused old primary, and the two broken variants. Each test names the
//! rule and its source; every one runs under `PbChecks` (the audit after every event and the
//! real-time order of every key).

mod primary_backup_support;

use distributed_core::Envelope;
use primary_backup_support::{
    boot, cluster, crash, get, n, op, pause, put, replies_to, restart, resume, rounds_until,
    server, service, value, Layout, Pb,
};
use replication::primary_backup::{Message, StateChunk, Variant};
use replication::{ClientRequest, Response};

/// Rounds until the view service's view is past `num` and acknowledged.
fn next_acked_view(c: &mut Pb, num: u64) {
    let done = |c: &Pb| service(c).view().num > num && service(c).is_acked();
    assert!(
        rounds_until(c, 60, done),
        "a new acknowledged view after {num}"
    );
}

#[test]
fn failover_promotes_the_backup_which_transfers_its_state_in_chunks_to_a_new_backup() {
    // Budhiraja et al. §2 (the backup takes over); 6.824 (the view service adds an idle server
    // as backup, and the primary copies its state to it).
    let mut layout = Layout::servers(3);
    layout.chunk_items_max = 2;
    let mut c = cluster(layout);
    boot(&mut c);
    for (seq, key) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
        put(&mut c, 1, seq as u64 + 1, key, &format!("v{key}"));
    }
    c.deliver_all();
    crash(&mut c, n(1));
    next_acked_view(&mut c, 1);
    let view = service(&c).view().clone();
    assert_eq!(
        (view.primary, view.backups.clone(), view.since),
        (n(2), vec![n(3)], 2)
    );
    let chunks: Vec<&StateChunk> = c
        .sent
        .iter()
        .filter_map(|e| match &e.msg {
            Message::StateChunk(m) if e.from == n(2) => Some(m),
            _ => None,
        })
        .collect();
    // 5 logged puts and 1 session: 6 items in chunks of 2.
    assert_eq!(
        chunks.len(),
        3,
        "one chunk in flight, none lost, none resent"
    );
    assert!(chunks.iter().all(|m| m.items.len() <= 2));
    for key in ["a", "b", "c", "d", "e"] {
        assert_eq!(server(&c, 3).store().registers()[key], format!("v{key}"));
    }
    get(&mut c, 2, 6, "e");
    assert_eq!(replies_to(&c, op(6)), [value("ve")]);
    assert!(
        c.observer.violations.is_empty(),
        "{:?}",
        c.observer.violations
    );
}

#[test]
fn a_backup_left_behind_by_a_new_tenure_gets_the_new_primarys_whole_state() {
    // backup.rs: n3 holds a put n1 never committed (n2 never got it); n2 takes over and gives
    // seq 2 to another put. Storing on top would fork the history; n3 gets n2's state instead.
    let mut layout = Layout::servers(3);
    layout.backups = 2;
    let mut c = cluster(layout);
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    put(&mut c, 1, 2, "x", "lost");
    c.network
        .retain(|e: &Envelope<Message>| !(e.to == n(2) && matches!(e.msg, Message::Forward(_))));
    c.deliver_all(); // only n3 stores seq 2
    assert_eq!(server(&c, 3).store().last_seq(), 2);
    crash(&mut c, n(1));
    next_acked_view(&mut c, 1);
    assert_eq!(service(&c).view().primary, n(2));
    put(&mut c, 2, 3, "x", "b");
    c.deliver_all();
    assert_eq!(replies_to(&c, op(3)), [Response::Ok]);
    let (p, b) = (server(&c, 2).store(), server(&c, 3).store());
    assert_eq!(b.registers(), p.registers());
    assert_eq!(b.registers()["x"], "b", "the uncommitted x=lost is gone");
    assert!(server(&c, 3).counters().transfers_installed >= 2);
    assert!(
        replies_to(&c, op(2)).is_empty(),
        "x=lost was never answered"
    );
}

#[test]
fn a_restarted_primary_catches_its_backups_up_without_a_state_transfer() {
    // transfer.rs: a probe shows the backup in the lineage, so only what it lacks is resent.
    let mut c = cluster(Layout::servers(2));
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    put(&mut c, 1, 2, "x", "b");
    c.network.clear(); // the forward is lost, and n1 crashes before resending it
    crash(&mut c, n(1));
    restart(&mut c, n(1));
    let chunks_before = c
        .sent
        .iter()
        .filter(|e| matches!(e.msg, Message::StateChunk(_)));
    let chunks_before = chunks_before.count();
    let caught_up = |c: &Pb| server(c, 2).store().last_seq() == 2 && server(c, 1).is_ready();
    assert!(rounds_until(&mut c, 20, caught_up));
    let chunks = c
        .sent
        .iter()
        .filter(|e| matches!(e.msg, Message::StateChunk(_)));
    assert_eq!(chunks.count(), chunks_before, "no state transfer");
    assert_eq!(server(&c, 1).store().committed_seq(), 2, "x=b commits now");
    assert_eq!(service(&c).view().num, 1, "a restart is no view change");
}

/// n1 primary with x=a acknowledged; n1 paused; n2 promoted and x=b acknowledged there;
/// n1 resumed with its clock caught up; a get at n1.
fn paused_primary(variant: Variant) -> Pb {
    let mut layout = Layout::servers(3);
    layout.variant = variant;
    let mut c = cluster(layout);
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    let paused_at = service(&c).ticks();
    pause(&mut c, n(1));
    next_acked_view(&mut c, 1);
    let primary = service(&c).view().primary;
    let serving = |c: &Pb| c.node(primary).server().is_some_and(|s| s.serves_reads());
    assert!(rounds_until(&mut c, 10, serving));
    put(&mut c, primary.0, 2, "x", "b");
    c.deliver_all();
    assert_eq!(replies_to(&c, op(2)), [Response::Ok]);
    let missed = service(&c).ticks() - paused_at;
    resume(&mut c, n(1), missed);
    get(&mut c, 1, 3, "x");
    c
}

#[test]
fn a_paused_old_primary_whose_lease_expired_refuses_reads_and_then_steps_down() {
    // Gray & Cheriton §2: a lease bounds how long the holder may act without hearing from the
    // grantor; the view service replaced n1 only after that bound (config.rs).
    let mut c = paused_primary(Variant::Correct);
    let [Response::Unavailable { why }] = &replies_to(&c, op(3))[..] else {
        panic!("the old primary refuses");
    };
    assert!(why.contains("no lease"), "{why}");
    assert!(rounds_until(&mut c, 5, |c| server(c, 1).view().num >= 2));
    get(&mut c, 1, 4, "x");
    assert_eq!(replies_to(&c, op(4)), [Response::Redirect { to: n(2) }]);
    assert!(
        c.observer.violations.is_empty(),
        "{:?}",
        c.observer.violations
    );
}

#[test]
fn read_without_lease_lets_a_paused_old_primary_answer_a_stale_read() {
    let c = paused_primary(Variant::ReadWithoutLease);
    assert_eq!(replies_to(&c, op(3)), [value("a")], "x=b was acknowledged");
    let v = &c.observer.violations;
    assert!(v.iter().any(|l| l.contains("linearizability")), "{v:?}");
    assert!(v.iter().any(|l| l.contains("two primaries serve")), "{v:?}");
}

/// x=a acknowledged on n1, n2; n2 dies; view 2 = {n1, [n3]}; n1 crashes before n3 has the
/// state; then rounds.
fn backup_without_state(variant: Variant) -> Pb {
    let mut layout = Layout::servers(3);
    layout.variant = variant;
    let mut c = cluster(layout);
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    crash(&mut c, n(2));
    c.intercept = Some(Box::new(|e| !matches!(e.msg, Message::StateChunk(_))));
    let started = |c: &Pb| {
        let to_n3 = |e: &&Envelope<Message>| e.to == n(3);
        c.sent
            .iter()
            .filter(to_n3)
            .any(|e| matches!(e.msg, Message::StateChunk(_)))
    };
    assert!(
        rounds_until(&mut c, 40, started),
        "n1 starts the transfer to n3"
    );
    crash(&mut c, n(1));
    c.intercept = None;
    c.run(60);
    c
}

#[test]
fn the_view_service_never_promotes_a_backup_out_of_an_unacknowledged_view() {
    // The acknowledgement rule (view_service.rs, after 6.824).
    let mut c = backup_without_state(Variant::Correct);
    assert_eq!(service(&c).view().num, 2);
    assert_eq!(
        service(&c).view().primary,
        n(1),
        "n3 never received the state"
    );
    assert!(!service(&c).is_acked());
    restart(&mut c, n(1));
    next_acked_view(&mut c, 1);
    get(&mut c, 1, 2, "x");
    assert_eq!(replies_to(&c, op(2)), [value("a")]);
    assert!(
        c.observer.violations.is_empty(),
        "{:?}",
        c.observer.violations
    );
}

#[test]
fn no_view_ack_promotes_a_backup_without_the_state_and_an_acknowledged_put_vanishes() {
    let mut c = backup_without_state(Variant::NoViewAck);
    assert_eq!(service(&c).view().primary, n(3));
    get(&mut c, 3, 2, "x");
    assert_eq!(
        replies_to(&c, op(2)),
        [Response::Value(None)],
        "x=a is gone"
    );
    let v = &c.observer.violations;
    assert!(
        v.iter()
            .any(|l| l.contains("acknowledged puts are missing")),
        "{v:?}"
    );
    assert!(v.iter().any(|l| l.contains("linearizability")), "{v:?}");
}

#[test]
fn a_retried_put_whose_primary_died_is_recognised_by_the_new_primary() {
    // Sessions travel with the puts (store.rs), so the retry finds its put in n2's history.
    let mut c = cluster(Layout::servers(3));
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.intercept = Some(Box::new(|e| !matches!(e.msg, Message::Forwarded(_))));
    c.deliver_all(); // n2 stores it; its ack is lost
    crash(&mut c, n(1));
    c.intercept = None;
    next_acked_view(&mut c, 1);
    primary_backup_support::invoke(&mut c, n(2), ClientRequest::put(op(1), "x", "a"));
    assert_eq!(replies_to(&c, op(1)), [Response::Ok]);
    assert_eq!(server(&c, 2).store().last_seq(), 1, "applied once");
    assert_eq!(server(&c, 2).counters().retries_deduplicated, 1);
}

#[test]
fn a_restarted_view_service_resumes_its_acknowledged_view_and_waits_a_whole_timeout() {
    // view_service.rs: the view is durable; when each member was last heard is not, so each
    // gets a whole failure timeout from the restart (its lease may still be running).
    let mut c = cluster(Layout::servers(3));
    boot(&mut c);
    put(&mut c, 1, 1, "x", "a");
    c.deliver_all();
    crash(&mut c, n(4));
    crash(&mut c, n(1));
    c.run(30);
    restart(&mut c, n(4));
    assert_eq!(service(&c).view().num, 1);
    assert!(service(&c).is_acked(), "the acknowledgement is durable");
    let timeout = Layout::servers(3).config(n(4)).failure_timeout_ticks;
    c.run(timeout - 1);
    assert_eq!(
        service(&c).view().num,
        1,
        "n1 gets a whole timeout from the restart"
    );
    next_acked_view(&mut c, 1);
    assert_eq!(service(&c).view().primary, n(2));
    get(&mut c, 2, 2, "x");
    assert_eq!(replies_to(&c, op(2)), [value("a")]);
}
