//! Group commit: many producers, one flusher thread, one fdatasync for everything that arrived
//! while the previous fdatasync ran.
//!
//! ```text
//!   producers                 queue (bounded)                flusher thread
//!   submit(rs) ──► Ticket     ┌──────────────────┐   take all  ┌─────────────────────────────┐
//!   submit_with(rs, cb) ────► │ job job job job  │ ──────────► │ append every record          │
//!   try_submit(rs) ──► Full?  └──────────────────┘             │ ONE wal.sync() (fdatasync)   │
//!        ▲  blocks while full          ▲ refills during        │ complete each job: Ok(lsn)   │
//!        └──── space ◄─────────────────┘ the fdatasync         │   or the sync's error        │
//!                                                              └─────────────────────────────┘
//! ```
//!
//! The batch forms by itself: while the flusher waits on the disk, new submissions pile up in
//! the queue, and the next pass takes them all. Under load, one fdatasync covers many records;
//! when idle, a lone record is synced at once (no timer, so no added latency). Counters in
//! [`GroupCommitStats`] make the batching visible.
//!
//! Invariants: a job's records get consecutive LSNs, in submission order across jobs; a job is
//! completed only after the fdatasync that covers it returned; every job accepted by `submit*`
//! is completed exactly once, even at close. The queue bounds what *waits* (records and bytes);
//! the batch being synced is out of the queue, so memory peaks at twice the bound.
//!
//! Errors are sticky here too: once a write or fdatasync fails, the flusher fails every job it
//! holds and every later `submit` fails at once (see `wal.rs` for why retrying is the bug).

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use crate::error::WalError;
use crate::format::Lsn;
use crate::options::GroupCommitOptions;
use crate::wal::Wal;

/// What the flusher calls with a job's outcome: the LSN of its last record, or why it failed.
type Callback = Box<dyn FnOnce(Result<Lsn, WalError>) + Send>;

/// One unit of work for the flusher.
enum Job {
    /// Append these records, sync, then call `done`.
    Append {
        /// The records, appended contiguously.
        records: Vec<Vec<u8>>,
        /// Told the outcome once the covering fdatasync returned.
        done: Callback,
    },
    /// Remove old segments (the flusher owns the `Wal`, so compaction goes through it too).
    Compact {
        /// Remove whole segments below this LSN.
        before: Lsn,
        /// Where the outcome goes.
        done: SyncSender<Result<usize, WalError>>,
    },
}

/// The state producers and the flusher share, behind one mutex.
struct Queue {
    /// Jobs waiting for the flusher, oldest first.
    jobs: VecDeque<Job>,
    /// Slots the waiting jobs use: their records, and 1 for a job with none.
    slots: usize,
    /// Payload bytes the waiting jobs hold.
    bytes: usize,
    /// Set by `close`/drop: the flusher drains the queue and stops; submits are refused.
    closing: bool,
    /// The first write/sync failure; once set every submit fails with it.
    failure: Option<WalError>,
    /// Counters, updated by the flusher after each batch.
    stats: GroupCommitStats,
}

/// Everything the `GroupCommit` handle and the flusher thread share.
struct Shared {
    /// The queue and its bookkeeping.
    queue: Mutex<Queue>,
    /// Signalled when a job arrives or closing starts: the flusher waits on it.
    work: Condvar,
    /// Signalled when the flusher empties the queue: blocked producers wait on it.
    space: Condvar,
    /// The queue bounds.
    options: GroupCommitOptions,
    /// The WAL's record bound, checked at submit so a bad record never reaches the flusher.
    record_bytes_max: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // No code panics while holding this lock; if something did, the queue is still
        // consistent (each update is one statement), so carry on rather than cascade.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A [`Wal`] behind a flusher thread that batches fdatasyncs. See the module docs.
pub struct GroupCommit {
    /// The queue shared with the flusher.
    shared: Arc<Shared>,
    /// The flusher; it hands the `Wal` back when it stops. `None` once joined.
    flusher: Option<JoinHandle<Wal>>,
}

/// How much batching happened: `records / syncs` is the records each fdatasync carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Append jobs completed (one per `submit*` call).
    pub submissions: u64,
    /// Records appended.
    pub records: u64,
    /// fdatasyncs issued by the WAL, segment rolls included.
    pub syncs: u64,
    /// Passes of the flusher (each takes the whole queue).
    pub batches: u64,
    /// The most records one pass carried.
    pub batch_records_max: u64,
}

impl fmt::Display for GroupCommitStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GroupCommitStats{{submissions={} records={} syncs={} batches={} batch_max={}}}",
            self.submissions, self.records, self.syncs, self.batches, self.batch_records_max
        )
    }
}

/// A claim on one submission's durability: `wait` blocks until it is durable or failed.
#[derive(Debug)]
pub struct Ticket {
    /// Where the flusher sends the outcome.
    rx: Receiver<Result<Lsn, WalError>>,
    /// The outcome once `try_wait` has seen it, so `wait` afterwards still returns it.
    result: Option<Result<Lsn, WalError>>,
}

impl Ticket {
    /// Block until the submission is durable: the LSN of its last record, or the error.
    pub fn wait(self) -> Result<Lsn, WalError> {
        match self.result {
            Some(result) => result,
            None => self.rx.recv().unwrap_or(Err(WalError::Closed)),
        }
    }

    /// The outcome if it is already known, without blocking.
    pub fn try_wait(&mut self) -> Option<Result<Lsn, WalError>> {
        if self.result.is_none() {
            self.result = match self.rx.try_recv() {
                Ok(result) => Some(result),
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => Some(Err(WalError::Closed)),
            };
        }
        self.result.clone()
    }
}

impl GroupCommit {
    /// Start a flusher thread that owns `wal`.
    pub fn new(wal: Wal, options: GroupCommitOptions) -> Result<GroupCommit, WalError> {
        options.validate(wal.options().record_bytes_max)?;
        let dir = wal.dir().to_path_buf();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                slots: 0,
                bytes: 0,
                closing: false,
                failure: wal.poisoned().map(|cause| WalError::Poisoned {
                    cause: cause.to_string(),
                }),
                stats: GroupCommitStats::default(),
            }),
            work: Condvar::new(),
            space: Condvar::new(),
            options,
            record_bytes_max: wal.options().record_bytes_max,
        });
        let for_flusher = Arc::clone(&shared);
        let flusher = thread::Builder::new()
            .name("wal-flusher".into())
            .spawn(move || run_flusher(&for_flusher, wal))
            .map_err(WalError::io("spawn flusher thread for", &dir))?;
        Ok(GroupCommit {
            shared,
            flusher: Some(flusher),
        })
    }

    /// Queue `records` (blocking while the queue is full) and return a [`Ticket`] for them.
    pub fn submit(&self, records: Vec<Vec<u8>>) -> Result<Ticket, WalError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit_with(records, move |result| {
            let _ = tx.send(result); // the ticket may have been dropped: nobody is waiting
        })?;
        Ok(Ticket { rx, result: None })
    }

    /// Like [`GroupCommit::submit`] but never blocks: [`WalError::QueueFull`] when full.
    pub fn try_submit(&self, records: Vec<Vec<u8>>) -> Result<Ticket, WalError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let done: Callback = Box::new(move |result| {
            let _ = tx.send(result);
        });
        self.enqueue_append(records, done, false)?;
        Ok(Ticket { rx, result: None })
    }

    /// Queue `records` (blocking while the queue is full); `done` is called on the flusher
    /// thread with the LSN of the last record once it is durable, or with the error.
    ///
    /// This is the hook for async code: send the result through a oneshot channel. `done` is
    /// called exactly once if and only if this returns `Ok`. It runs on the flusher, so it
    /// must be quick, must never block on this `GroupCommit` (a full queue would deadlock), and
    /// must not hold the last handle to it (dropping it there would join the flusher from itself).
    /// An empty `records` is a barrier: it completes with the last LSN submitted before it.
    pub fn submit_with<F>(&self, records: Vec<Vec<u8>>, done: F) -> Result<(), WalError>
    where
        F: FnOnce(Result<Lsn, WalError>) + Send + 'static,
    {
        self.enqueue_append(records, Box::new(done), true)
    }

    /// True if [`GroupCommit::submit_with`] of `records` would wait for room right now. Async
    /// hosts use it to leave their runtime's thread only when they must (tokio's
    /// `block_in_place` hands the worker to another thread on every call, a cost paid per batch
    /// even when the queue has room). The answer stays true only while nobody else submits:
    /// the flusher only frees room, so a host with a single submitting task can rely on it.
    pub fn would_block(&self, records: &[Vec<u8>]) -> bool {
        let opts = &self.shared.options;
        let slots = records.len().max(1);
        let bytes: usize = records.iter().map(Vec::len).sum();
        if slots > opts.queue_records_max || bytes > opts.queue_bytes_max {
            return false; // refused at once with BatchTooLarge: no wait
        }
        let queue = self.shared.lock();
        let fits = queue.slots + slots <= opts.queue_records_max
            && queue.bytes + bytes <= opts.queue_bytes_max;
        !fits && queue.failure.is_none() && !queue.closing
    }

    /// Remove whole segments whose records are all below `lsn`, on the flusher, between
    /// batches; blocks until done. See [`Wal::remove_segments_before`].
    pub fn remove_segments_before(&self, lsn: Lsn) -> Result<usize, WalError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job = Job::Compact {
            before: lsn,
            done: tx,
        };
        self.enqueue(job, 1, 0, true)?;
        rx.recv().unwrap_or(Err(WalError::Closed))
    }

    /// Counters so far.
    pub fn stats(&self) -> GroupCommitStats {
        self.shared.lock().stats
    }

    /// Finish every queued job, stop the flusher and return the `Wal`.
    pub fn close(mut self) -> Result<Wal, WalError> {
        let flusher = self.flusher.take().expect("close runs once, before drop");
        self.begin_close();
        flusher.join().map_err(|_| WalError::Closed)
    }

    fn begin_close(&self) {
        self.shared.lock().closing = true;
        self.shared.work.notify_one();
        self.shared.space.notify_all();
    }

    fn enqueue_append(
        &self,
        records: Vec<Vec<u8>>,
        done: Callback,
        block: bool,
    ) -> Result<(), WalError> {
        let max = self.shared.record_bytes_max;
        if let Some(big) = records.iter().find(|r| r.len() > max) {
            return Err(WalError::RecordTooLarge {
                bytes: big.len(),
                max,
            });
        }
        let slots = records.len().max(1);
        let bytes = records.iter().map(Vec::len).sum();
        self.enqueue(Job::Append { records, done }, slots, bytes, block)
    }

    /// Put `job` in the queue once it has room, unless the WAL failed or is closing.
    fn enqueue(&self, job: Job, slots: usize, bytes: usize, block: bool) -> Result<(), WalError> {
        let opts = &self.shared.options;
        if slots > opts.queue_records_max || bytes > opts.queue_bytes_max {
            return Err(WalError::BatchTooLarge {
                records: slots,
                bytes,
                records_max: opts.queue_records_max,
                bytes_max: opts.queue_bytes_max,
            });
        }
        let mut queue = self.shared.lock();
        loop {
            if let Some(failure) = &queue.failure {
                return Err(failure.clone());
            }
            if queue.closing {
                return Err(WalError::Closed);
            }
            let fits = queue.slots + slots <= opts.queue_records_max
                && queue.bytes + bytes <= opts.queue_bytes_max;
            if fits {
                break;
            }
            if !block {
                return Err(WalError::QueueFull);
            }
            queue = (self.shared.space.wait(queue)).unwrap_or_else(PoisonError::into_inner);
        }
        queue.slots += slots;
        queue.bytes += bytes;
        queue.jobs.push_back(job);
        self.shared.work.notify_one();
        Ok(())
    }
}

impl Drop for GroupCommit {
    /// Like `close`, dropping the `Wal`: every accepted job is still completed.
    fn drop(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            self.begin_close();
            let _ = flusher.join();
        }
    }
}

impl fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupCommit{{{}}}", self.stats())
    }
}

/// The flusher thread: take the whole queue, carry it out with one sync, repeat until closed
/// and drained. Returns the `Wal` to `close`.
fn run_flusher(shared: &Shared, mut wal: Wal) -> Wal {
    while let Some(jobs) = next_batch(shared) {
        carry_out(shared, &mut wal, jobs);
    }
    wal
}

/// Wait for work; take every queued job and free the queue for the next batch. `None` once
/// closing and nothing is left.
fn next_batch(shared: &Shared) -> Option<Vec<Job>> {
    let mut queue = shared.lock();
    while queue.jobs.is_empty() && !queue.closing {
        queue = shared
            .work
            .wait(queue)
            .unwrap_or_else(PoisonError::into_inner);
    }
    if queue.jobs.is_empty() {
        return None;
    }
    let jobs: Vec<Job> = queue.jobs.drain(..).collect();
    queue.slots = 0;
    queue.bytes = 0;
    shared.space.notify_all();
    Some(jobs)
}

/// Append every job's records, sync once, publish stats and any failure, then complete the
/// jobs (after publishing, so a completed producer that submits again sees the failure).
fn carry_out(shared: &Shared, wal: &mut Wal, jobs: Vec<Job>) {
    let mut appended = Vec::new();
    let mut compactions = Vec::new();
    let mut records = 0u64;
    for job in jobs {
        match job {
            Job::Append { records: rs, done } => {
                records += rs.len() as u64;
                appended.push((append_all(wal, &rs), done));
            }
            Job::Compact { before, done } => compactions.push((before, done)),
        }
    }
    let synced = wal.sync();
    {
        let mut queue = shared.lock();
        let stats = &mut queue.stats;
        stats.submissions += appended.len() as u64;
        stats.records += records;
        stats.syncs = wal.stats().syncs;
        stats.batches += 1;
        stats.batch_records_max = stats.batch_records_max.max(records);
        if let Some(cause) = wal.poisoned() {
            let cause = cause.to_string();
            queue.failure.get_or_insert(WalError::Poisoned { cause });
        }
    }
    for (result, done) in appended {
        let result = result.and_then(|lsn| synced.as_ref().map(|_| lsn).map_err(Clone::clone));
        // A panicking callback must not kill the flusher and strand every other waiter.
        let _ = catch_unwind(AssertUnwindSafe(move || done(result)));
    }
    for (before, done) in compactions {
        let _ = done.send(wal.remove_segments_before(before));
    }
}

/// Append `records` contiguously; the LSN of the last one (of the last before them if none).
fn append_all(wal: &mut Wal, records: &[Vec<u8>]) -> Result<Lsn, WalError> {
    let mut last = wal.last_lsn();
    for record in records {
        last = wal.append(record)?;
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::WalOptions;

    #[test]
    fn would_block_is_true_only_while_the_queue_is_full() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
        let options = GroupCommitOptions {
            queue_records_max: 2,
            ..GroupCommitOptions::default()
        };
        let group = GroupCommit::new(wal, options).expect("start");
        let one = vec![b"x".to_vec()];
        assert!(!group.would_block(&one), "an empty queue has room");
        // Stall the flusher inside the first job's callback, then fill the queue behind it.
        let (stalled_tx, stalled_rx) = mpsc::sync_channel(1);
        let (go_tx, go_rx) = mpsc::sync_channel::<()>(1);
        group
            .submit_with(one.clone(), move |_| {
                let _ = stalled_tx.send(());
                let _ = go_rx.recv();
            })
            .expect("queued");
        stalled_rx.recv().expect("the flusher runs the callback");
        let a = group.submit(one.clone()).expect("room for 1 of 2");
        let b = group.submit(one.clone()).expect("room for 2 of 2");
        assert!(group.would_block(&one), "two of two slots are taken");
        let three = vec![b"x".to_vec(); 3];
        assert!(
            !group.would_block(&three),
            "too large for any queue: refused, not waited for"
        );
        go_tx.send(()).expect("release the flusher");
        assert!(a.wait().is_ok() && b.wait().is_ok());
        assert!(!group.would_block(&one), "the flusher freed the queue");
    }

    #[test]
    fn after_a_failed_fdatasync_the_ticket_and_every_later_submit_fail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
        wal.fail_next_sync(std::io::ErrorKind::Other);
        let group = GroupCommit::new(wal, GroupCommitOptions::default()).expect("start");
        let err = group.submit(vec![b"x".to_vec()]).expect("queued").wait();
        assert!(
            matches!(
                err,
                Err(WalError::Io {
                    op: "fdatasync",
                    ..
                })
            ),
            "{err:?}"
        );
        let later = group.submit(vec![b"y".to_vec()]).unwrap_err();
        assert!(matches!(later, WalError::Poisoned { .. }), "{later}");
        let wal = group.close().expect("the flusher stops cleanly");
        assert!(wal.poisoned().is_some());
    }

    #[test]
    fn a_panicking_callback_does_not_strand_the_other_waiters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wal, _) = Wal::open(dir.path(), WalOptions::default()).expect("open");
        let group = GroupCommit::new(wal, GroupCommitOptions::default()).expect("start");
        group
            .submit_with(vec![b"a".to_vec()], |_| panic!("a careless callback"))
            .expect("queued");
        let lsn = group.submit(vec![b"b".to_vec()]).expect("queued").wait();
        assert_eq!(lsn.expect("durable"), Lsn(2));
    }
}
