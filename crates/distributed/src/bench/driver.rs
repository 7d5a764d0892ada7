//! The run: connect, preload, warm up, measure, merge.
//!
//! ```text
//!   connect every connection (fail fast: an unreachable target is an error, not a report)
//!   [--preload] each client writes keys c, c+clients, c+2·clients, … once; any error aborts
//!   spawn --clients tasks ──► sleep --warmup ──► measuring := true, t0 := now
//!     Total(n):    each measured request takes a ticket; ticket ≥ n ──► the client stops
//!     Duration(d): sleep d ──► stop := true
//!   join every task ──► elapsed := now − t0 ──► merge recorders ──► Report
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

/// Pause after a failed reconnect, so a dead endpoint is not a busy loop.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);

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

/// Run the plan against its target.
pub async fn run(plan: &Plan) -> Result<Report, String> {
    let conns = connect(plan).await?;
    assert_eq!(conns.len(), plan.clients, "one Conn per client");
    let space = KeySpace {
        key_size: plan.key_size,
    };
    let value = Arc::new(vec![b'v'; plan.val_size]);
    let conns = if plan.preload {
        preload(plan, conns, &space, &value).await?
    } else {
        conns
    };
    let shared = Arc::new(Shared {
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        tickets: AtomicU64::new(0),
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
    tokio::time::sleep(plan.warmup).await;
    let t0 = Instant::now();
    shared.measuring.store(true, Ordering::SeqCst);
    if let Stop::Duration(d) = plan.stop {
        tokio::time::sleep(d).await;
        shared.stop.store(true, Ordering::SeqCst);
    }
    let mut merged = Recorder::default();
    for task in tasks {
        let recorder = task
            .await
            .map_err(|e| format!("a client task failed: {e}"))?;
        merged.merge(&recorder);
    }
    Ok(Report::new(&merged, t0.elapsed()))
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
