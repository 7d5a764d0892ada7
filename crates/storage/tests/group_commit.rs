//! Group commit: batching (shown with counters, never with timing), backpressure, the LSNs
//! tickets and callbacks report, and that every acknowledged record is there after a reopen.
//!
//! The deterministic tests hold the flusher still with a callback that blocks until the test
//! says go: callbacks run on the flusher thread, so everything submitted meanwhile must wait
//! in the queue and form the next batch.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use common::{contents, record};
use storage::{GroupCommit, GroupCommitOptions, Lsn, Wal, WalError, WalOptions};

fn start(dir: &std::path::Path, options: GroupCommitOptions) -> GroupCommit {
    let (wal, _) = Wal::open(dir, WalOptions::default()).expect("open");
    GroupCommit::new(wal, options).expect("start")
}

/// Submit one record whose callback parks the flusher until the returned sender is used.
fn park_flusher(group: &GroupCommit) -> mpsc::Sender<()> {
    let (go, wait) = mpsc::channel::<()>();
    let (parked, is_parked) = mpsc::channel::<()>();
    group
        .submit_with(vec![b"park".to_vec()], move |result| {
            result.expect("durable");
            parked.send(()).expect("the test listens");
            wait.recv().expect("the test says go");
        })
        .expect("queued");
    is_parked.recv().expect("the flusher reached the callback");
    go
}

#[test]
fn records_that_arrive_during_an_fdatasync_share_the_next_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let group = start(dir.path(), GroupCommitOptions::default());
    let go = park_flusher(&group);
    let tickets: Vec<_> = (0..99)
        .map(|i| group.submit(vec![record(i)]).expect("queued"))
        .collect();
    go.send(()).expect("release");
    for (i, ticket) in tickets.into_iter().enumerate() {
        assert_eq!(ticket.wait().expect("durable"), Lsn(i as u64 + 2));
    }
    let stats = group.stats();
    assert_eq!(
        (stats.records, stats.syncs, stats.batches),
        (100, 2, 2),
        "{stats}"
    );
    assert_eq!(stats.batch_records_max, 99);
}

#[test]
fn concurrent_submitters_share_fdatasyncs_and_every_acknowledged_record_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let group = Arc::new(start(dir.path(), GroupCommitOptions::default()));
    let threads = 8u64;
    let per_thread = 100u64;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let group = Arc::clone(&group);
            thread::spawn(move || {
                let ids: Vec<u64> = (0..per_thread).map(|k| t * per_thread + k).collect();
                let tickets: Vec<_> = ids
                    .iter()
                    .map(|&id| group.submit(vec![record(id)]).expect("queued"))
                    .collect();
                let lsns: Vec<Lsn> = tickets.into_iter().map(|t| t.wait().expect("ok")).collect();
                ids.into_iter().zip(lsns).collect::<Vec<_>>()
            })
        })
        .collect();
    let acknowledged: Vec<(u64, Lsn)> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("submitter"))
        .collect();
    let stats = group.stats();
    println!("{stats}");
    assert_eq!(stats.records, threads * per_thread);
    assert!(stats.syncs < stats.records, "batching happened: {stats}");
    drop(group);
    let (_, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert_eq!(recovery.len() as u64, threads * per_thread);
    for (id, lsn) in acknowledged {
        assert_eq!(
            recovery.get(lsn),
            Some(record(id).as_slice()),
            "record {id} at {lsn}"
        );
    }
}

#[test]
fn a_full_queue_refuses_try_submit_and_holds_submit_until_the_flusher_drains_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = GroupCommitOptions {
        queue_records_max: 4,
        ..GroupCommitOptions::default()
    };
    let group = Arc::new(start(dir.path(), options));
    let go = park_flusher(&group);
    let queued: Vec<_> = (0..4)
        .map(|i| group.try_submit(vec![record(i)]).expect("room"))
        .collect();
    let full = group.try_submit(vec![record(9)]).unwrap_err();
    assert!(matches!(full, WalError::QueueFull), "{full}");
    let blocked = {
        let group = Arc::clone(&group);
        thread::spawn(move || group.submit(vec![b"late".to_vec()]).expect("queued").wait())
    };
    go.send(()).expect("release");
    for ticket in queued {
        ticket.wait().expect("durable");
    }
    assert_eq!(blocked.join().expect("submitter").expect("durable"), Lsn(6));
}

#[test]
fn tickets_and_callbacks_report_the_lsn_of_their_last_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let group = start(dir.path(), GroupCommitOptions::default());
    let three = vec![record(0), record(1), record(2)];
    assert_eq!(
        group.submit(three).expect("queued").wait().expect("ok"),
        Lsn(3)
    );
    let (tx, rx) = mpsc::channel();
    group
        .submit_with(vec![record(3), record(4)], move |r| {
            tx.send(r).expect("listening")
        })
        .expect("queued");
    assert_eq!(rx.recv().expect("called").expect("ok"), Lsn(5));
    let mut ticket = group.submit(vec![record(5)]).expect("queued");
    let polled = loop {
        if let Some(result) = ticket.try_wait() {
            break result;
        }
        thread::yield_now();
    };
    assert_eq!(polled.expect("ok"), Lsn(6));
    assert_eq!(ticket.wait().expect("the same outcome again"), Lsn(6));
}

#[test]
fn an_empty_submission_is_a_barrier_for_everything_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let group = start(dir.path(), GroupCommitOptions::default());
    let earlier = group.submit(vec![record(0), record(1)]).expect("queued");
    let barrier = group.submit(Vec::new()).expect("queued");
    assert_eq!(barrier.wait().expect("ok"), Lsn(2));
    assert_eq!(earlier.wait().expect("ok"), Lsn(2));
}

#[test]
fn oversized_records_and_batches_are_refused_at_submit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = GroupCommitOptions {
        queue_records_max: 2,
        ..GroupCommitOptions::default()
    };
    let group = start(dir.path(), options);
    let huge = vec![0u8; WalOptions::default().record_bytes_max + 1];
    let err = group.submit(vec![huge]).unwrap_err();
    assert!(matches!(err, WalError::RecordTooLarge { .. }), "{err}");
    let err = group.submit(vec![record(0); 3]).unwrap_err();
    assert!(
        matches!(err, WalError::BatchTooLarge { records: 3, .. }),
        "{err}"
    );
    assert_eq!(
        group
            .submit(vec![record(0)])
            .expect("fits")
            .wait()
            .expect("ok"),
        Lsn(1)
    );
}

#[test]
fn close_completes_every_queued_job_and_returns_the_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let group = start(dir.path(), GroupCommitOptions::default());
    let completed = Arc::new(AtomicUsize::new(0));
    for i in 0..50 {
        let completed = Arc::clone(&completed);
        group
            .submit_with(vec![record(i)], move |r| {
                r.expect("durable");
                completed.fetch_add(1, Ordering::SeqCst);
            })
            .expect("queued");
    }
    let wal = group.close().expect("closed");
    assert_eq!(completed.load(Ordering::SeqCst), 50);
    assert_eq!(wal.durable_lsn(), Lsn(50));
    drop(wal);
    let (_, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert_eq!(contents(&recovery), (0..50).map(record).collect::<Vec<_>>());
}

#[test]
fn compaction_through_group_commit_removes_only_whole_old_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path(), common::small_segments()).expect("open");
    let group = GroupCommit::new(
        wal,
        GroupCommitOptions {
            queue_records_max: 64,
            queue_bytes_max: 4096,
        },
    )
    .expect("start");
    for i in 0..40 {
        group
            .submit(vec![record(i)])
            .expect("queued")
            .wait()
            .expect("ok");
    }
    let removed = group.remove_segments_before(Lsn(20)).expect("compact");
    assert!(removed > 0);
    drop(group);
    let (_, recovery) = Wal::open(dir.path(), common::small_segments()).expect("reopen");
    assert!(recovery.first_lsn() > Lsn(1) && recovery.first_lsn() <= Lsn(20));
    assert_eq!(recovery.get(Lsn(40)), Some(record(39).as_slice()));
}
