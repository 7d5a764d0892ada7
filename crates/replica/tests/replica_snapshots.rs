//! KvReplica log compaction (Raft §7): snapshots past a threshold, a lagging replica restored
//! from the leader's snapshot (sessions included), and restarts from the disk's snapshot.

mod cluster;

use bytes::Bytes;
use cluster::{append, get, put, request, value, Cluster};
use distributed_core::{Effects, NodeId, Protocol, SeededRng};
use kv::{Command, Reply};
use raft::{Disk, InstallSnapshot, Message};
use replica::{KvReplica, Output as ReplicaOutput, ReplicaError};

/// A 3-replica cluster that snapshots every `entries` applied entries.
fn compacting(seed: u64, entries: u64) -> Cluster {
    Cluster::with(3, seed, |config| config.snapshot_log_entries_max = entries)
}

fn incr(key: &str, by: i64) -> Command {
    Command::incr_by(Bytes::copy_from_slice(key.as_bytes()), by)
}

fn other_than(c: &Cluster, id: NodeId) -> NodeId {
    c.ids.iter().copied().find(|&x| x != id).unwrap()
}

#[test]
fn every_replica_snapshots_past_the_threshold_so_its_retained_log_stays_bounded() {
    // Raft §7: each server compacts its own log independently.
    let mut c = compacting(1, 5);
    for k in 0..40 {
        c.execute(request(1, k + 1, put(&format!("k{k}"), "v")));
    }
    c.run(3);
    for node in c.live() {
        let raft = node.raft();
        assert!(raft.snapshot_index() > 0, "{} took a snapshot", raft.id());
        assert!(
            raft.entries().len() <= 5 + 2,
            "{} retains {} entries past its snapshot",
            raft.id(),
            raft.entries().len()
        );
    }
    for (i, disk) in c.disks.iter().enumerate() {
        assert!(
            disk.log.len() <= 7,
            "n{} keeps {} entries on disk",
            i + 1,
            disk.log.len()
        );
    }
}

#[test]
fn a_replica_that_missed_the_compacted_log_restores_the_leaders_snapshot_with_its_sessions() {
    // Raft §7 and dissertation §6.3: the session table travels in the snapshot, so a retried
    // increment is not applied twice by the restored replica when it later leads.
    let mut c = compacting(2, 4);
    let leader = c.elect_any();
    let lagging = other_than(&c, leader);
    c.isolate(lagging);
    assert_eq!(c.execute(request(9, 1, incr("n", 5))), Reply::Int(5));
    for k in 0..12 {
        c.execute(request(1, k + 1, append("log", "x")));
    }
    c.heal();
    c.run(30);
    let restored = c
        .observer
        .trace
        .iter()
        .any(|l| l.starts_with(&format!("{lagging} Restored")));
    assert!(restored, "{lagging} restored from the leader's snapshot");
    let machine = c.node(lagging).machine();
    assert_eq!(machine.get(b"n"), Some(&Bytes::from_static(b"5")));
    assert_eq!(
        machine.sessions_len(),
        2,
        "both clients' sessions came along"
    );
    assert_eq!(
        c.execute(request(9, 1, incr("n", 5))),
        Reply::Int(5),
        "exactly once"
    );
    assert_eq!(c.execute(request(2, 1, get("n"))), value("5"));
}

#[test]
fn a_restarted_replica_starts_from_its_disk_snapshot_and_replays_only_the_tail() {
    // Raft §7: state after restart = snapshot + the committed entries after it.
    let mut c = compacting(3, 6);
    for k in 0..20 {
        c.execute(request(1, k + 1, append("log", "y")));
    }
    c.run(3);
    let victim = other_than(&c, c.leader().unwrap());
    let i = victim.0 as usize - 1;
    let snapshot_at = c.disks[i]
        .snapshot
        .as_ref()
        .expect("a snapshot on disk")
        .meta
        .index;
    c.crash(victim);
    c.restart(victim);
    assert_eq!(c.node(victim).machine().applied_index(), snapshot_at);
    c.run(5);
    assert_eq!(
        c.observer.applied[i].first().map(|a| a.0),
        Some(snapshot_at + 1)
    );
    let expected = Bytes::from(vec![b'y'; 20]);
    assert_eq!(c.node(victim).machine().get(b"log"), Some(&expected));
}

#[test]
fn a_corrupt_snapshot_on_disk_is_an_error_at_start_not_a_crash() {
    let mut c = compacting(4, 3);
    for k in 0..8 {
        c.execute(request(1, k + 1, put("k", "v")));
    }
    let mut disk = c.disks[0].clone();
    let snapshot = disk.snapshot.as_mut().expect("a snapshot on disk");
    let mut bytes = snapshot.data.to_vec();
    bytes[6] ^= 0xff;
    snapshot.data = Bytes::from(bytes);
    let err = KvReplica::new(c.configs[0].clone(), &disk, SeededRng::new(1)).unwrap_err();
    assert!(matches!(err, ReplicaError::Snapshot(_)), "{err}");
    assert!(err.to_string().contains("CRC-32 mismatch"), "{err}");
}

/// One chunk of a leader's snapshot, as the leader would send it.
fn chunk(snapshot: &raft::Snapshot, term: u64, data: &[u8], offset: u64, done: bool) -> Message {
    Message::InstallSnapshot(InstallSnapshot {
        term,
        meta: snapshot.meta.clone(),
        offset,
        data: Bytes::copy_from_slice(data),
        done,
        round: 1,
    })
}

#[test]
fn a_leaders_snapshot_that_does_not_restore_is_refused_before_raft_installs_it() {
    // Raft §7 installs a snapshot by cutting the log; the bytes inside are the state machine's.
    // Bytes that pass the frame's CRC but not kv's decoder (other code, a damaged peer) must
    // leave the follower as it was and say why, where installing them first left it with
    // neither its log nor a state, and a panic.
    let mut c = compacting(5, 3);
    for k in 0..8 {
        c.execute(request(1, k + 1, put(&format!("k{k}"), "v")));
    }
    let leader = c.leader().unwrap();
    let term = c.node(leader).raft().term();
    let good = c.disks[leader.0 as usize - 1].snapshot.clone().unwrap();
    let config = c.configs[other_than(&c, leader).0 as usize - 1].clone();
    let mut follower = KvReplica::new(config, &Disk::default(), SeededRng::new(5)).unwrap();

    let mut bad = good.data.to_vec();
    bad.truncate(bad.len() - 1);
    let half = bad.len() / 2;
    let mut out = Effects::with_notes();
    follower.step(leader, chunk(&good, term, &bad[..half], 0, false), &mut out);
    out.clear();
    follower.step(
        leader,
        chunk(&good, term, &bad[half..], half as u64, true),
        &mut out,
    );
    let notes = out.notes.lines().join("\n");
    assert!(notes.contains("do not restore"), "{notes}");
    assert!(out.writes.is_empty() && out.outputs.is_empty(), "{notes}");
    assert_eq!(follower.raft().snapshot_index(), 0, "nothing installed");
    assert_eq!(follower.machine().applied_index(), 0);

    // The leader resends from the start, this time with the bytes it meant: installed.
    let mut out = Effects::with_notes();
    follower.step(leader, chunk(&good, term, &good.data, 0, true), &mut out);
    let restored = ReplicaOutput::Restored {
        index: good.meta.index,
        term: good.meta.term,
    };
    assert!(out.outputs.contains(&restored), "{:?}", out.notes.lines());
    assert_eq!(
        follower.machine().get(b"k0"),
        Some(&Bytes::from_static(b"v"))
    );
}

#[test]
fn restored_prints_as_one_line() {
    let out = ReplicaOutput::Restored { index: 40, term: 2 };
    assert_eq!(out.to_string(), "Restored{index=40 term=2}");
}
