//! Lease reads (thesis §6.4.1): served with no messages while the lease holds, ReadIndex after
//! it lapses, rejected without check-quorum, and the deliberately broken `LeaseIgnoresDrift`.

mod common;

use common::{make_leader, node_from, ok_in_round, step, Cluster};
use distributed_core::{NodeId, Protocol, SeededRng};
use raft::{
    AppendEntries, Config, Disk, Input, Message, Output, Raft, ReadMode, Ready, Role, Variant,
};

fn lease(variant: Variant) -> impl Fn(&mut Config) {
    move |c: &mut Config| {
        c.read_mode = ReadMode::Lease;
        c.variant = variant;
    }
}

fn read(node: &mut Raft, id: u64) -> Ready {
    let mut out = Ready::new();
    node.input(Input::Read { id }, &mut out);
    out
}

fn answered_at_once(out: &Ready, id: u64) -> bool {
    (out.outputs.iter()).any(|o| matches!(o, Output::ReadReady { id: i, .. } if *i == id))
}

#[test]
fn lease_reads_are_served_without_messages_while_the_lease_holds_and_fall_back_after_it_expires() {
    // Raft thesis §6.4.1: within the lease, the leader skips the heartbeat round.
    let mut c = Cluster::with(3, 11, lease(Variant::Correct));
    c.elect(1);
    c.run(4);
    let (sent, commit) = (c.sent.len(), c.node(1).commit_index());
    for id in 1..=10 {
        let out = c.read(NodeId(1), id);
        let ready = Output::ReadReady { id, index: commit };
        assert_eq!(
            out.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
            [ready.to_string()]
        );
    }
    assert_eq!(c.sent.len(), sent, "ten reads, no messages");

    c.isolate(NodeId(1)); // no round is confirmed from here on
    for _ in 0..c.node(1).config().lease_ticks() {
        c.tick(NodeId(1));
    }
    assert_eq!(
        c.node(1).role(),
        Role::Leader,
        "check-quorum has not deposed it yet"
    );
    assert!(
        c.read(NodeId(1), 99).is_empty(),
        "the lease lapsed: the read waits for a round"
    );
    c.heal();
    c.run(c.node(1).config().heartbeat_interval_ticks);
    assert_eq!(
        c.reads_ready(1).last(),
        Some(&(99, commit)),
        "ReadIndex answered it"
    );
}

#[test]
fn a_new_leader_serves_no_lease_read_before_it_confirms_a_round() {
    // Raft thesis §6.4.1 with §6.4 step 1: the lease is earned, not inherited.
    let mut l = node_from(1, 3, &Disk::default(), lease(Variant::Correct));
    make_leader(&mut l, &[2]);
    let out = read(&mut l, 1);
    assert!(
        out.outputs.is_empty(),
        "no commit of its term, no confirmed round"
    );
    assert!(!out.messages.is_empty(), "it falls back to ReadIndex");
}

/// n1 (three voters, Lease) commits its no-op, then a read starts round r at tick T; n2's
/// answer to r arrives 3 ticks later. Returns the ticks after T at which a new read was
/// answered at once, until check-quorum deposes n1.
fn ticks_served_after_a_late_ack(variant: Variant) -> Vec<u64> {
    let mut l = node_from(1, 3, &Disk::default(), lease(variant));
    make_leader(&mut l, &[2]);
    let term = l.term();
    step(&mut l, 2, ok_in_round(term, 1, 0));
    let out = read(&mut l, 1000);
    let Some(Message::AppendEntries(AppendEntries { round, .. })) =
        out.messages.first().map(|e| &e.msg)
    else {
        panic!("the read starts a round: {out:?}");
    };
    let round = *round;
    let mut ready = Ready::new();
    for _ in 0..3 {
        l.tick(&mut ready);
    }
    step(&mut l, 2, ok_in_round(term, 1, round));
    let mut served = Vec::new();
    for t in 3..40 {
        if l.role() != Role::Leader {
            break;
        }
        if answered_at_once(&read(&mut l, t), t) {
            served.push(t);
        }
        l.tick(&mut ready);
    }
    served
}

#[test]
fn the_correct_lease_runs_from_the_rounds_send_tick_and_allows_for_drift() {
    // Raft thesis §6.4.1: lease = election timeout / drift bound, from when the heartbeat left.
    // Defaults: min 10, drift 500‰ ⇒ ⌊9 / 1.5⌋ = 6 ticks after the round was sent.
    assert_eq!(ticks_served_after_a_late_ack(Variant::Correct), [3, 4, 5]);
}

#[test]
fn lease_ignores_drift_runs_the_full_timeout_from_the_acks_arrival() {
    // The documented difference: from the ack (tick 3), 10 ticks, no drift allowance; it is
    // cut short only by check-quorum, which deposes n1 10 ticks after n2's answer.
    assert_eq!(
        ticks_served_after_a_late_ack(Variant::LeaseIgnoresDrift),
        (3..=12).collect::<Vec<u64>>()
    );
}

/// n1 leads three with a lease, then is cut off. From then on n2 and n3 tick three times for
/// every two of n1's ticks: a drift of 1.5×, exactly the configured bound (500‰). n3's election
/// timeout is exactly the minimum, so it campaigns as early as its clock allows (n2 keeps the
/// usual spread, or the two would split every vote; the seed gives n2 a longer first timeout,
/// which the first election's term checks); n3 wins and commits `y`. After that, n1
/// is asked for a read at every step until it stops leading. Returns (index of `y`, reads n1
/// answered at once after `y` committed, as (id, index)).
fn reads_after_a_new_leader_commits(variant: Variant) -> (u64, Vec<(u64, u64)>) {
    let mut c = Cluster::with(3, 12, |cfg| {
        lease(variant)(cfg);
        if cfg.id == NodeId(3) {
            cfg.election_timeout_ticks_max = cfg.election_timeout_ticks_min + 1;
        }
    });
    c.elect(1);
    c.run(4);
    c.isolate(NodeId(1));
    let mut y_index = None;
    let mut stale = Vec::new();
    for step in 1..=40u64 {
        c.tick(NodeId(1));
        for _ in 0..(1 + step % 2) {
            c.tick(NodeId(2));
            c.tick(NodeId(3));
        }
        c.deliver_all();
        let new_leader = [2, 3]
            .into_iter()
            .find(|&i| c.node(i).role() == Role::Leader);
        if let (Some(l), None) = (new_leader, y_index) {
            assert_eq!(l, 3, "the node with the earliest possible timeout won");
            assert_eq!(
                c.node(l).term(),
                2,
                "n3 won the first election, no split vote"
            );
            c.propose(NodeId(l), b"y");
            c.deliver_all();
            assert_eq!(
                c.node(l).commit_index(),
                c.node(l).last_index(),
                "y committed"
            );
            y_index = Some(c.node(l).last_index());
        }
        if y_index.is_some() && c.node(1).role() == Role::Leader {
            for o in c.read(NodeId(1), step) {
                if let Output::ReadReady { id, index } = o {
                    stale.push((id, index));
                }
            }
        }
    }
    (y_index.expect("n2 or n3 took over"), stale)
}

#[test]
fn the_correct_lease_ends_before_followers_with_faster_clocks_can_elect_a_new_leader() {
    // Raft thesis §6.4.1: safe as long as clock drift stays within the bound.
    let (_, served) = reads_after_a_new_leader_commits(Variant::Correct);
    assert_eq!(
        served,
        Vec::<(u64, u64)>::new(),
        "no read served once y committed elsewhere"
    );
}

#[test]
fn lease_ignores_drift_serves_a_stale_read_after_a_new_leader_committed_a_write() {
    // The broken lease of thesis §6.4.1: the write of `y` completed before these reads began,
    // yet their index does not include it. A linearizability checker flags exactly this.
    let (y_index, served) = reads_after_a_new_leader_commits(Variant::LeaseIgnoresDrift);
    assert!(!served.is_empty(), "the old leader still served reads");
    assert!(
        served.iter().all(|&(_, index)| index < y_index),
        "{served:?} vs y at {y_index}"
    );
}

#[test]
fn validate_rejects_lease_reads_without_check_quorum_and_says_why() {
    // Raft thesis §6.4.1: the lease rests on followers refusing votes, which check-quorum's
    // leader stickiness provides.
    let mut config = Config::new(NodeId(1), common::ids(3));
    config.read_mode = ReadMode::Lease;
    config.check_quorum = false;
    let err = Raft::new(config, &Disk::default(), SeededRng::new(1)).unwrap_err();
    assert!(
        err.to_string()
            .contains("read_mode Lease needs check_quorum"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("a deposed leader keeps serving reads"),
        "{err}"
    );
}
