//! Snapshots and log compaction (Raft §7): the host compacts, a lagging follower receives the
//! leader's snapshot in chunks, and a restarted node starts from its snapshot.

mod common;

use common::{node_from, offset, step, Cluster};
use distributed_core::{Envelope, NodeId, Protocol};
use raft::{
    Bytes, Disk, Entry, Input, InstallSnapshot, InstallSnapshotResponse, Message, Output, Raft,
    Ready, Snapshot, SnapshotMeta,
};

fn commit_entries(c: &mut Cluster, leader: NodeId, n: usize) {
    for k in 0..n {
        c.propose(leader, format!("cmd-{k}").as_bytes());
        c.deliver_all();
    }
    c.run(2);
}

fn is_chunk(m: &Message) -> bool {
    matches!(m, Message::InstallSnapshot(_))
}

fn meta(index: u64, term: u64) -> SnapshotMeta {
    SnapshotMeta {
        index,
        term,
        membership: raft::Membership::new([1, 2, 3].map(NodeId)),
    }
}

fn chunk(term: u64, meta: SnapshotMeta, offset: u64, data: &'static [u8], done: bool) -> Message {
    Message::InstallSnapshot(InstallSnapshot {
        term,
        meta,
        offset,
        data: Bytes::from_static(data),
        done,
        round: 0,
    })
}

/// The (index, received, installed) of the single InstallSnapshotResponse in `out`.
fn snapshot_reply(out: &Ready) -> (u64, u64, bool) {
    let replies: Vec<_> = out
        .messages
        .iter()
        .filter_map(|e| match e.msg {
            Message::InstallSnapshotResponse(InstallSnapshotResponse {
                index,
                received,
                installed,
                ..
            }) => Some((index, received, installed)),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 1, "one answer per chunk: {replies:?}");
    replies[0]
}

#[test]
fn the_host_snapshot_compacts_the_log_through_the_applied_index_and_is_persisted() {
    // Raft §7: the state machine replaces the log up to the last applied entry.
    let mut c = Cluster::new(3, 1);
    let leader = c.elect_any();
    commit_entries(&mut c, leader, 10);
    let applied = c.node(leader.0).applied_index();
    assert!(applied >= 11, "the no-op and ten commands are applied");
    c.snapshot(leader);
    let node = c.node(leader.0);
    assert_eq!(node.snapshot_index(), applied);
    assert_eq!(node.entries().len() as u64, node.last_index() - applied);
    let i = leader.0 as usize - 1;
    let disk_snapshot = c.disks[i].snapshot.as_ref().expect("persisted");
    assert_eq!(disk_snapshot.meta.index, applied);
    let voters: Vec<NodeId> = disk_snapshot
        .meta
        .membership
        .voters
        .iter()
        .copied()
        .collect();
    assert_eq!(voters, c.ids);
    assert_eq!(
        offset(&c.disks[i]) + c.disks[i].log.len() as u64,
        node.last_index()
    );
}

#[test]
fn a_snapshot_not_past_the_current_one_or_beyond_what_was_applied_is_ignored() {
    let mut c = Cluster::new(3, 2);
    let leader = c.elect_any();
    commit_entries(&mut c, leader, 3);
    let i = leader.0 as usize - 1;
    let applied = c.nodes[i].applied_index();
    let mut out = Ready::new();
    let ahead = Input::Snapshot {
        index: applied + 1,
        data: Bytes::new(),
    };
    c.nodes[i].input(ahead, &mut out);
    assert!(
        out.writes.is_empty(),
        "an unapplied index cannot be in the state machine"
    );
    c.snapshot(leader);
    let again = Input::Snapshot {
        index: applied,
        data: Bytes::new(),
    };
    c.nodes[i].input(again, &mut out);
    assert!(out.writes.is_empty(), "a snapshot only moves forward");
}

#[test]
fn a_follower_behind_the_compacted_log_receives_the_snapshot_in_bounded_chunks() {
    // Raft §7: the leader sends InstallSnapshot when the entries a follower needs are gone.
    let mut c = Cluster::with(3, 3, |cfg| cfg.snapshot_chunk_bytes_max = 8);
    let leader = c.elect_any();
    let lagging = c.ids.iter().copied().find(|&id| id != leader).unwrap();
    c.isolate(lagging);
    commit_entries(&mut c, leader, 12);
    c.snapshot(leader);
    c.heal();
    c.run(20);
    let j = lagging.0 as usize - 1;
    let restored = c.observer.outputs[j]
        .iter()
        .any(|o| matches!(o, Output::RestoreSnapshot(_)));
    assert!(restored, "{lagging} was told to replace its state machine");
    assert_eq!(
        c.node(lagging.0).snapshot_index(),
        c.node(leader.0).snapshot_index()
    );
    assert_eq!(
        c.node(lagging.0).last_index(),
        c.node(leader.0).last_index()
    );
    let chunks: Vec<&Envelope<Message>> = c.sent.iter().filter(|e| is_chunk(&e.msg)).collect();
    let len = c.node(leader.0).snapshot().unwrap().data.len();
    assert!(
        chunks.len() >= len.div_ceil(8),
        "{} chunks for {len} bytes",
        chunks.len()
    );
    for e in chunks {
        if let Message::InstallSnapshot(InstallSnapshot { data, .. }) = &e.msg {
            assert!(data.len() <= 8, "{e} is over snapshot_chunk_bytes_max");
        }
    }
    let p = c.propose(leader, b"after");
    assert!(matches!(p[..], [Output::Accepted { .. }]));
    c.run(3);
    let tail = c.observer.applied[j]
        .last()
        .expect("applies entries after the snapshot");
    assert_eq!(tail.data, Bytes::from_static(b"after"));
}

#[test]
fn a_lost_chunk_is_sent_again_on_the_next_heartbeat() {
    // Raft §7 over an unreliable network: the transfer survives a dropped chunk.
    let mut c = Cluster::with(3, 4, |cfg| cfg.snapshot_chunk_bytes_max = 8);
    let leader = c.elect_any();
    let lagging = c.ids.iter().copied().find(|&id| id != leader).unwrap();
    c.isolate(lagging);
    commit_entries(&mut c, leader, 12);
    c.snapshot(leader);
    c.heal();
    let mut dropped = 0;
    c.intercept = Some(Box::new(move |env| {
        let drop = is_chunk(&env.msg) && dropped < 2;
        dropped += usize::from(drop);
        !drop
    }));
    c.run(30);
    assert_eq!(
        c.node(lagging.0).snapshot_index(),
        c.node(leader.0).snapshot_index()
    );
}

#[test]
fn a_follower_keeps_its_log_after_a_snapshot_whose_last_entry_it_holds() {
    // Raft §7 rule 6: "If existing log entry has same index and term as snapshot's last
    // included entry, retain log entries following it".
    let mut f = node_from(2, 3, &common::disk_with(2, &[1, 1, 1, 2, 2]), |_| {});
    let out = step(&mut f, 1, chunk(2, meta(3, 1), 0, b"abc", true));
    assert_eq!(snapshot_reply(&out), (3, 3, true));
    assert_eq!(
        (f.snapshot_index(), f.last_index(), f.commit_index()),
        (3, 5, 3)
    );
    assert!(out
        .outputs
        .iter()
        .any(|o| matches!(o, Output::RestoreSnapshot(_))));
}

#[test]
fn a_follower_discards_its_whole_log_after_a_snapshot_that_conflicts_with_it() {
    // Raft §7 rule 7: otherwise "discard the entire log".
    let mut f = node_from(2, 3, &common::disk_with(3, &[1, 1, 1, 2, 2]), |_| {});
    let out = step(&mut f, 1, chunk(3, meta(4, 3), 0, b"abcd", true));
    assert_eq!(snapshot_reply(&out), (4, 4, true));
    assert_eq!(
        (f.snapshot_index(), f.last_index(), f.last_term()),
        (4, 4, 3)
    );
    let mut disk = common::disk_with(3, &[1, 1, 1, 2, 2]);
    for w in &out.writes {
        <Raft as Protocol>::persist(&mut disk, w);
    }
    assert!(
        disk.log.is_empty(),
        "the disk drops the conflicting log too"
    );
}

#[test]
fn a_chunk_of_another_snapshot_resets_assembly_and_a_gap_asks_for_the_missing_bytes() {
    // Raft §7 rules 2-4: a new snapshot starts at offset 0; data is written at its offset.
    let mut f = node_from(2, 3, &Disk::default(), |_| {});
    let out = step(&mut f, 1, chunk(1, meta(5, 1), 0, b"abcd", false));
    assert_eq!(snapshot_reply(&out), (5, 4, false));
    let out = step(&mut f, 1, chunk(1, meta(5, 1), 8, b"ijkl", false));
    assert_eq!(snapshot_reply(&out), (5, 4, false), "a gap: resume at 4");
    let out = step(&mut f, 1, chunk(1, meta(6, 1), 4, b"efgh", true));
    assert_eq!(
        snapshot_reply(&out),
        (6, 0, false),
        "another snapshot: start over"
    );
    let out = step(&mut f, 1, chunk(1, meta(5, 1), 4, b"efgh", true));
    assert_eq!(
        snapshot_reply(&out),
        (5, 0, false),
        "the reset dropped the first one too"
    );
    assert_eq!(f.snapshot_index(), 0);
}

#[test]
fn a_snapshot_chunk_from_a_stale_leader_is_refused_with_the_current_term() {
    // Raft §7 rule 1: reply immediately if term < currentTerm.
    let mut f = node_from(2, 3, &common::disk_with(5, &[1]), |_| {});
    let out = step(&mut f, 1, chunk(4, meta(3, 1), 0, b"abc", true));
    let reply = &out.messages[0].msg;
    assert!(matches!(
        reply,
        Message::InstallSnapshotResponse(InstallSnapshotResponse {
            term: 5,
            installed: false,
            ..
        })
    ));
    assert_eq!(f.snapshot_index(), 0);
}

#[test]
fn a_restarted_node_starts_from_its_snapshot_and_replays_only_the_tail() {
    // Raft §7: after a restart, the state machine is the snapshot plus the log after it.
    let mut c = Cluster::new(3, 5);
    let leader = c.elect_any();
    commit_entries(&mut c, leader, 6);
    let follower = c.ids.iter().copied().find(|&id| id != leader).unwrap();
    c.snapshot(follower);
    let at = c.node(follower.0).snapshot_index();
    commit_entries(&mut c, leader, 3);
    c.crash(follower);
    c.restart(follower);
    let node = c.node(follower.0);
    assert_eq!((node.commit_index(), node.applied_index()), (at, at));
    c.run(3);
    let j = follower.0 as usize - 1;
    assert_eq!(c.observer.applied[j].first().map(|e| e.index), Some(at + 1));
    assert_eq!(
        c.node(follower.0).applied_index(),
        c.node(leader.0).applied_index()
    );
}

#[test]
fn a_disk_whose_log_does_not_follow_its_snapshot_is_rejected() {
    let disk = Disk {
        snapshot: Some(Snapshot {
            meta: meta(4, 2),
            data: Bytes::new(),
        }),
        log: vec![Entry::normal(2, 7, Bytes::new())],
        ..Disk::default()
    };
    let config = raft::Config::new(NodeId(1), vec![NodeId(1)]);
    let err = Raft::new(config, &disk, distributed_core::SeededRng::new(1)).unwrap_err();
    assert!(err.message().contains("expected 5"), "{err}");
}
