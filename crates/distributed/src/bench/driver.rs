//! The run: connect, preload, warm up, measure, merge.
//!
//! ```text
//!   connect every connection (fail fast: an unreachable target is an error, not a report)
//!   [--preload] each client writes keys c, c+clients, c+2·clients, … once; any error aborts
//!   spawn --clients tasks ──► sleep --warmup ──► measuring := true, t0 := now
//!     Total(n):    each measured request takes a ticket; ticket ≥ n ──► the client stops
//!     Duration(d): sleep d ──► stop := true
//!   join every task ──► elapsed := now − t0 ──► merge recorders ──► Report
//!   stderr a terminal: "bench  preloading …", "warming up …", then every second while measuring
//!   "bench  3 s  12345 ops  4115 ops/s  0 errors" redrawn in place, erased at the end
//! ```
//!
//! A request counts if it started after `measuring` was set; one started during the warm-up and
//! finishing after it is dropped. Invariant: with `Total(n)` exactly n requests are measured
//! (ok + errors), because tickets are handed out once each.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::report::{Recorder, Report};
use super::resp::{Expect, RespConn};
use super::workload::{Chooser, KeySpace, Op};
use super::{Backend, Plan, Stop};
use crate::progress::{per_second, StatusLine};

/// Pause after a failed reconnect, so a dead endpoint is not a busy loop.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// How often the progress line is redrawn while measuring (on a terminal).
const PROGRESS_PERIOD: Duration = Duration::from_secs(1);

/// One client's way to the target.
enum Conn {
    Resp(RespConn),
    #[cfg(feature = "etcd")]
    Etcd(super::etcd::EtcdConn),
}

/// Reused per-client buffers and the fixed value.
struct Bufs {
    /// The current key's bytes.
    key: Vec<u8>,
    /// The value every SET writes.
    value: Arc<Vec<u8>>,
}

impl Conn {
    async fn send(&mut self, op: Op, space: &KeySpace, bufs: &mut Bufs) -> Result<(), String> {
        let (Op::Get(k) | Op::Set(k)) = op;
        space.key_into(k, &mut bufs.key);
        match self {
            Conn::Resp(c) => match op {
                Op::Get(_) => c.call(&[b"GET", &bufs.key], Expect::Value).await,
                Op::Set(_) => c.call(&[b"SET", &bufs.key, &bufs.value], Expect::Ok).await,
            },
            #[cfg(feature = "etcd")]
            Conn::Etcd(c) => match op {
                Op::Get(_) => c.get(&bufs.key).await,
                Op::Set(_) => c.put(&bufs.key, &bufs.value).await,
            },
        }
    }

    /// Drop a connection whose reply is still due. RESP replies come in order, so a late one
    /// would answer the next request; gRPC matches replies to requests by stream id.
    fn break_off(&mut self) {
        match self {
            Conn::Resp(c) => c.break_off(),
            #[cfg(feature = "etcd")]
            Conn::Etcd(_) => {}
        }
    }

    /// Send with a timeout; a timed-out RESP connection is dropped (its reply is still due).
    async fn send_timed(
        &mut self,
        op: Op,
        space: &KeySpace,
        bufs: &mut Bufs,
        timeout: Duration,
    ) -> Result<(), String> {
        match tokio::time::timeout(timeout, self.send(op, space, bufs)).await {
            Ok(result) => result,
            Err(_) => {
                self.break_off();
                Err("timeout".into())
            }
        }
    }
}

/// Flags every client reads.
struct Shared {
    /// Set when the warm-up ends: requests started from now on are recorded.
    measuring: AtomicBool,
    /// Set when a `Duration` run ends.
    stop: AtomicBool,
    /// Measured requests handed out so far (`Total` runs).
    tickets: AtomicU64,
    /// Measured requests finished so far, ok or not: the progress line's count. The report
    /// counts from the clients' own recorders, merged at the end, not from this.
    finished: AtomicU64,
    /// Among them, the failed ones.
    failed: AtomicU64,
}

async fn connect(plan: &Plan) -> Result<Vec<Conn>, String> {
    match plan.backend {
        Backend::Resp => {
            let readonly = plan.consistency == super::Consistency::Serializable;
            let mut conns = Vec::with_capacity(plan.conns);
            for i in 0..plan.conns {
                let addr = &plan.endpoints[i % plan.endpoints.len()];
                conns.push(Conn::Resp(RespConn::connect(addr, readonly).await?));
            }
            Ok(conns)
        }
        #[cfg(feature = "etcd")]
        Backend::Etcd => {
            let shared = super::etcd::connect_all(&plan.endpoints, plan.conns).await?;
            let serializable = plan.consistency == super::Consistency::Serializable;
            Ok((0..plan.clients)
                .map(|c| {
                    let kv = shared[c % shared.len()].clone();
                    Conn::Etcd(super::etcd::EtcdConn::new(kv, serializable))
                })
                .collect())
        }
        #[cfg(not(feature = "etcd"))]
        Backend::Etcd => Err("built without the `etcd` feature".into()),
    }
}

/// Run the plan against its target, with a progress line on `status` (if it is on).
pub async fn run(plan: &Plan, status: StatusLine) -> Result<Report, String> {
    let conns = connect(plan).await?;
    assert_eq!(conns.len(), plan.clients, "one Conn per client");
    let space = KeySpace {
        key_size: plan.key_size,
    };
    let value = Arc::new(vec![b'v'; plan.val_size]);
    let conns = if plan.preload {
        status.show(&format!("bench  preloading {} keys", plan.keys));
        let preloaded = preload(plan, conns, &space, &value).await;
        status.clear();
        preloaded?
    } else {
        conns
    };
    let shared = Arc::new(Shared {
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        tickets: AtomicU64::new(0),
        finished: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let mut tasks = Vec::with_capacity(plan.clients);
    for (c, conn) in conns.into_iter().enumerate() {
        let chooser = Chooser::new(plan.seed, c as u64, plan.read_ratio, plan.keys);
        let client = Client {
            conn,
            chooser,
            space: space.clone(),
            bufs: Bufs {
                key: Vec::with_capacity(plan.key_size),
                value: value.clone(),
            },
            shared: shared.clone(),
            total: match plan.stop {
                Stop::Total(n) => Some(n),
                Stop::Duration(_) => None,
            },
            timeout: plan.timeout,
        };
        tasks.push(tokio::spawn(client.run()));
    }
    if !plan.warmup.is_zero() {
        status.show(&format!("bench  warming up for {:?}", plan.warmup));
    }
    tokio::time::sleep(plan.warmup).await;
    let t0 = Instant::now();
    shared.measuring.store(true, Ordering::SeqCst);
    let ticker = status
        .is_on()
        .then(|| tokio::spawn(show_progress(status, shared.clone(), t0)));
    if let Stop::Duration(d) = plan.stop {
        tokio::time::sleep(d).await;
        shared.stop.store(true, Ordering::SeqCst);
    }
    let merged = join_clients(tasks).await;
    let elapsed = t0.elapsed();
    if let Some(ticker) = ticker {
        ticker.abort();
        let _ = ticker.await;
    }
    status.clear();
    merged.map(|merged| Report::new(&merged, elapsed))
}

/// Wait for every client and merge their recorders; the first task failure, if any (every
/// task is awaited either way, so none outlives the run).
async fn join_clients(tasks: Vec<tokio::task::JoinHandle<Recorder>>) -> Result<Recorder, String> {
    let mut merged = Recorder::default();
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(recorder) => merged.merge(&recorder),
            Err(e) => {
                failure.get_or_insert_with(|| format!("a client task failed: {e}"));
            }
        }
    }
    failure.map_or(Ok(merged), Err)
}

/// Redraw the measured phase's progress every second until aborted: elapsed time, requests
/// finished, their rate, and errors. The first line is drawn at once.
async fn show_progress(status: StatusLine, shared: Arc<Shared>, t0: Instant) {
    let mut every = tokio::time::interval(PROGRESS_PERIOD);
    loop {
        every.tick().await;
        let elapsed = t0.elapsed();
        let finished = shared.finished.load(Ordering::Relaxed);
        status.show(&format!(
            "bench  {} s  {finished} ops  {} ops/s  {} errors",
            elapsed.as_secs(),
            per_second(finished, elapsed),
            shared.failed.load(Ordering::Relaxed)
        ));
    }
}

/// Write every key once, spread over the clients; the connections back, or the first error.
async fn preload(
    plan: &Plan,
    conns: Vec<Conn>,
    space: &KeySpace,
    value: &Arc<Vec<u8>>,
) -> Result<Vec<Conn>, String> {
    let clients = plan.clients as u64;
    let mut tasks = Vec::with_capacity(plan.clients);
    for (c, mut conn) in conns.into_iter().enumerate() {
        let (space, keys, timeout) = (space.clone(), plan.keys, plan.timeout);
        let mut bufs = Bufs {
            key: Vec::new(),
            value: value.clone(),
        };
        tasks.push(tokio::spawn(async move {
            let mut k = c as u64;
            while k < keys {
                if let Err(kind) = conn
                    .send_timed(Op::Set(k), &space, &mut bufs, timeout)
                    .await
                {
                    return Err(format!("preload of key {k} failed: {kind}"));
                }
                k += clients;
            }
            Ok(conn)
        }));
    }
    let mut conns = Vec::with_capacity(plan.clients);
    for task in tasks {
        conns.push(
            task.await
                .map_err(|e| format!("a preload task failed: {e}"))??,
        );
    }
    Ok(conns)
}

/// One closed-loop client.
struct Client {
    /// Its connection (RESP) or its share of one (etcd).
    conn: Conn,
    /// Its op stream.
    chooser: Chooser,
    /// Key bytes from key indexes.
    space: KeySpace,
    /// Reused key buffer and the shared value.
    bufs: Bufs,
    /// Phase flags and tickets.
    shared: Arc<Shared>,
    /// Measured requests in the whole run, for `Total` runs.
    total: Option<u64>,
    /// Per-request timeout.
    timeout: Duration,
}

impl Client {
    async fn run(mut self) -> Recorder {
        let mut recorder = Recorder::default();
        while !self.shared.stop.load(Ordering::Relaxed) {
            let measured = self.shared.measuring.load(Ordering::Relaxed);
            if let (true, Some(total)) = (measured, self.total) {
                if self.shared.tickets.fetch_add(1, Ordering::Relaxed) >= total {
                    break;
                }
            }
            let op = self.chooser.next_op();
            let start = Instant::now();
            let result = (self.conn)
                .send_timed(op, &self.space, &mut self.bufs, self.timeout)
                .await;
            let latency = start.elapsed();
            if measured {
                self.shared.finished.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .failed
                    .fetch_add(u64::from(result.is_err()), Ordering::Relaxed);
            }
            match result {
                Ok(()) if measured => recorder.ok(matches!(op, Op::Get(_)), latency),
                Ok(()) => {}
                Err(kind) => {
                    if measured {
                        recorder.error(&kind);
                    }
                    if kind == "connect" {
                        tokio::time::sleep(RECONNECT_BACKOFF).await;
                    }
                }
            }
        }
        recorder
    }
}
