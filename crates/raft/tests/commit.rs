//! The commit rule (§5.4.2, Figure 8), the deliberately broken variant, and commit delivery.

mod common;

use common::{disk_with, make_leader, node_from, ok, step, Cluster};
use distributed_core::{Envelope, NodeId};
use raft::{AppendEntries, Input, Message, Output, Raft, Ready, Variant};

/// Figure 8 (c), seen from S1: leader of term 4 (after a no-op at index 3), and the entry of
/// term 2 at index 2 is stored on S1, S2 and S3, a majority of five.
fn figure_8_leader(variant: Variant) -> (Raft, u64) {
    let mut s1 = node_from(1, 5, &disk_with(3, &[1, 2]), |c| c.variant = variant);
    make_leader(&mut s1, &[2, 3]);
    let term = s1.term();
    assert_eq!((term, s1.last_term(), s1.last_index()), (4, 4, 3));
    step(&mut s1, 2, ok(term, 2));
    step(&mut s1, 3, ok(term, 2));
    (s1, term)
}

#[test]
fn the_leader_commits_only_entries_of_its_current_term_by_counting_replicas() {
    // Raft §5.4.2, Figure 8: an entry from a previous term is not committed by counting
    // replicas, even once a majority stores it.
    let (mut s1, term) = figure_8_leader(Variant::Correct);
    assert_eq!(
        s1.commit_index(),
        0,
        "index 2 (term 2) is on a majority but not committable"
    );
    step(&mut s1, 2, ok(term, 3));
    let out = step(&mut s1, 3, ok(term, 3));
    assert_eq!(
        s1.commit_index(),
        3,
        "the term-4 no-op commits, and index 2 with it"
    );
    let delivered: Vec<u64> = committed(&out).iter().map(|e| e.index).collect();
    assert_eq!(
        delivered,
        [1, 2, 3],
        "earlier entries commit indirectly, in order"
    );
}

#[test]
fn the_commit_old_term_variant_commits_the_old_entry_in_the_same_situation() {
    // The unsafe rule that Raft §5.4.2 forbids: count replicas of an entry of any term.
    let (s1, _) = figure_8_leader(Variant::CommitOldTerm);
    assert_eq!(s1.commit_index(), 2);
}

fn committed(out: &Ready) -> Vec<raft::Entry> {
    out.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Committed(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Play Figure 8 on five nodes and return the safety violations the harness saw.
///
/// 1. S1 leads term 1; the no-op commits everywhere. Cut off, S1 appends `x` at index 2 alone.
/// 2. S1 crashes. S5 wins term 2 with S2..S4, appends its no-op (2,2), but none of its appends
///    leave it; S5 crashes.
/// 3. S1 restarts and wins term 3. The network strips S1's term-3 entries from its appends, so
///    only `x` (term 1) reaches S2..S4: the old entry is on a majority, the new one is not.
/// 4. S1 crashes. S5 restarts and wins (its last term 2 beats their 1), overwriting index 2.
///
/// Only the candidate's clock runs during each campaign, so the followers never see their
/// minimum election timeout pass after hearing from a leader. Pre-vote and check-quorum wait for
/// exactly that (thesis §9.6, §4.2.3), so they are off here: Figure 8 is about the commit rule,
/// and the paper's schedule predates both.
fn play_figure_8(variant: Variant) -> (Vec<String>, Option<raft::Entry>) {
    let mut c = Cluster::with(5, 8, |cfg| {
        cfg.variant = variant;
        cfg.pre_vote = false;
        cfg.check_quorum = false;
    });
    c.observer.strict = false;
    c.campaign_until_leader(1);
    c.run(3);
    c.isolate(NodeId(1));
    c.propose(NodeId(1), b"x");
    c.crash(NodeId(1));
    c.heal();

    c.intercept = Some(Box::new(|e: &mut Envelope<Message>| {
        !(e.from == NodeId(5) && matches!(e.msg, Message::AppendEntries(_)))
    }));
    c.campaign_until_leader(5);
    c.crash(NodeId(5));

    c.restart(NodeId(1));
    let s1_term_floor = 3;
    c.intercept = Some(Box::new(move |e: &mut Envelope<Message>| {
        if let Message::AppendEntries(AppendEntries { entries, .. }) = &mut e.msg {
            entries.retain(|en| en.term < s1_term_floor);
        }
        true
    }));
    c.campaign_until_leader(1);
    assert_eq!(c.node(1).term(), 3);
    c.run(4);
    let s1_delivered_2 = c.observer.applied[0].get(1).cloned();
    c.crash(NodeId(1));

    c.intercept = None;
    c.restart(NodeId(5));
    c.campaign_until_leader(5);
    c.run(4);
    (std::mem::take(&mut c.observer.violations), s1_delivered_2)
}

#[test]
fn the_commit_old_term_variant_loses_a_committed_entry_in_figure_8() {
    // Raft §5.4.2, Figure 8 (d): an old-term entry "committed" by counting replicas is later
    // overwritten by a leader whose log never had it.
    let (violations, s1_delivered_2) = play_figure_8(Variant::CommitOldTerm);
    assert_eq!(
        s1_delivered_2.map(|e| e.term),
        Some(1),
        "S1 delivered x at index 2"
    );
    assert!(
        !violations.is_empty(),
        "the overwrite of a delivered entry is caught"
    );
    assert!(
        violations[0].contains("delivered (2,2) where (1,2) was delivered"),
        "{violations:?}"
    );
}

#[test]
fn the_correct_rule_survives_the_figure_8_schedule() {
    // Raft §5.4.2: with the correct rule, S1 never commits index 2, so S5 may overwrite it.
    let (violations, s1_delivered_2) = play_figure_8(Variant::Correct);
    assert_eq!(s1_delivered_2, None, "S1 did not commit the old-term entry");
    assert_eq!(violations, Vec::<String>::new());
}

#[test]
fn followers_learn_the_commit_index_from_the_next_append() {
    // Raft §5.3: the leader includes leaderCommit in AppendEntries so followers apply too.
    let mut c = Cluster::new(3, 2);
    c.elect(2);
    c.propose(NodeId(2), b"v");
    c.deliver_all();
    assert_eq!(c.node(2).commit_index(), 2);
    c.run(c.node(2).config().heartbeat_interval_ticks);
    for id in [1, 3] {
        assert_eq!(c.node(id).commit_index(), 2, "n{id}");
        assert_eq!(
            c.observer.applied[id as usize - 1]
                .last()
                .map(|e| e.data.as_ref()),
            Some(&b"v"[..])
        );
    }
}

#[test]
fn a_follower_answers_a_proposal_with_its_best_guess_of_the_leader() {
    let mut c = Cluster::new(3, 4);
    c.elect(3);
    let outputs = c.propose(NodeId(1), b"v");
    assert!(
        matches!(
            outputs.as_slice(),
            [Output::NotLeader {
                leader: Some(NodeId(3))
            }]
        ),
        "{outputs:?}"
    );
    let accepted = c.propose(NodeId(3), b"v");
    assert!(
        matches!(
            accepted.as_slice(),
            [Output::Accepted { index: 2, term: 1 }]
        ),
        "{accepted:?}"
    );
}

#[test]
fn a_proposal_is_accepted_before_it_is_committed() {
    // Output order for a client: Accepted at (index, term), later Committed at that index.
    let mut n = node_from(1, 3, &raft::Disk::default(), |_| {});
    make_leader(&mut n, &[2]);
    let mut out = Ready::new();
    distributed_core::Protocol::input(
        &mut n,
        Input::Propose(raft::Bytes::from_static(b"v")),
        &mut out,
    );
    assert!(matches!(
        out.outputs.as_slice(),
        [Output::Accepted { index: 2, .. }]
    ));
    assert_eq!(n.commit_index(), 0);
}
