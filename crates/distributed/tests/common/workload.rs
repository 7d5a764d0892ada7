//! A recorded client workload for fault tests: client threads run SET / APPEND / INCR / GET on
//! a few keys over RESP, every operation is recorded with invoke and return times, and at the
//! end the history goes to the linearizability checker (`check`).
//!
//! ```text
//!   client thread ─► pick op (seeded) ─► invoke=now ─► Conn::call ─► return=now ─► classify
//!      reply            ──► returned op (acknowledged)
//!      TRYAGAIN "…unknown", lost connection, timeout, node stopped
//!                       ──► no-return op (may or may not have happened), next node, retry
//!      other TRYAGAIN (not leader, busy: nothing was proposed)
//!                       ──► not recorded, retry on the same connection (its session lives on)
//!   keys rotate by epoch: e{E}a0 e{E}a1 (APPEND only), e{E}s0 (SET only), e{E}c0 (INCR only)
//! ```
//!
//! Why keys rotate: an operation with no return stays open until the end of the history, and
//! every open operation multiplies what the checker must consider for its key. The fault
//! driver bumps the epoch once per fault, so each key sees at most one fault's worth of
//! unknown outcomes and the checker answers in milliseconds instead of running out of budget.
//!
//! Why each key has one kind of write: with APPEND alone, "every acknowledged write survives"
//! is a substring check on the final value; with INCR alone it is a bound on the final count.
//! The checker then proves the rest (order, freshness of reads).
//!
//! Reads are the server's default GET path (ReadIndex, thesis §6.4), so they are part of the
//! linearizability claim, not a weaker side channel.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{sleep, JoinHandle};
use std::time::{Duration, Instant};

use check::{Budget, CheckResult, Checker, Command, HistoryBuilder, Outcome};
use distributed_core::{Rng, SeededRng};
use server::clients::resp::Frame;

use super::{Cluster, Conn, ATTEMPTS_MAX};

/// Tries per operation before a client moves on to a new one.
const RETRIES_MAX: usize = 8;
/// Pause between retries, so a client does not spin during an election.
const RETRY_PAUSE: Duration = Duration::from_millis(30);
/// Checker steps per key: far above what a key with one fault's unknowns needs.
const CHECK_STEPS_MAX: u64 = 20_000_000;

/// One operation as the client saw it.
#[derive(Clone, Debug)]
struct Record {
    /// Which client thread ran it.
    client: u64,
    /// What it asked.
    command: Command,
    /// Microseconds since the workload started, just before the request was written.
    invoke: u64,
    /// Microseconds and answer, if an answer came.
    ret: Option<(u64, Outcome)>,
}

/// What the client threads and the fault driver share.
struct Shared {
    /// The clock every invoke and return is read from (one monotonic clock for all threads).
    start: Instant,
    /// The key generation in use; the fault driver bumps it (see the module docs).
    epoch: AtomicU64,
    /// Set to end the clients.
    stop: AtomicBool,
    /// Writes acknowledged so far: the fault driver waits for progress between faults.
    acked_writes: AtomicU64,
    /// Every operation recorded so far.
    records: Mutex<Vec<Record>>,
}

impl Shared {
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).expect("fits")
    }
}

/// Client threads running against a cluster, recording everything.
pub struct Workload {
    /// State shared with the client threads.
    shared: Arc<Shared>,
    /// The client threads; joined by `finish`.
    threads: Vec<JoinHandle<()>>,
}

/// How one reply counts in the history.
enum Verdict {
    /// An answer: the operation happened, with this outcome.
    Returned(Outcome),
    /// The server said nothing was proposed: leave it out of the history.
    NotApplied,
    /// No answer, or one that says the outcome is unknown.
    Unknown,
}

impl Workload {
    /// Start `clients` threads against the RESP `ports`, each seeded from `seed`.
    pub fn start(ports: &[u16], clients: u64, seed: u64) -> Workload {
        let shared = Arc::new(Shared {
            start: Instant::now(),
            epoch: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            acked_writes: AtomicU64::new(0),
            records: Mutex::new(Vec::new()),
        });
        let threads = (1..=clients)
            .map(|client| {
                let shared = Arc::clone(&shared);
                let ports = ports.to_vec();
                let seed = seed ^ client.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                std::thread::spawn(move || client_loop(&shared, client, &ports, seed))
            })
            .collect();
        Workload { shared, threads }
    }

    /// Move the clients to fresh keys.
    pub fn next_epoch(&self) {
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Writes acknowledged so far.
    pub fn acked_writes(&self) -> u64 {
        self.shared.acked_writes.load(Ordering::SeqCst)
    }

    /// Wait until `more` writes beyond the current count are acknowledged; bounded (30 s), so
    /// it fails only if the cluster stopped making progress.
    pub fn wait_for_progress(&self, more: u64, what: &str) {
        let target = self.acked_writes() + more;
        for _ in 0..ATTEMPTS_MAX {
            if self.acked_writes() >= target || self.any_client_died() {
                break;
            }
            sleep(Duration::from_millis(100));
        }
        assert!(
            !self.any_client_died(),
            "a client thread panicked (see above)"
        );
        let got = self.acked_writes();
        assert!(got >= target, "no progress {what}: {got} of {target} acks");
    }

    fn any_client_died(&self) -> bool {
        self.threads.iter().any(|t| t.is_finished())
    }

    /// Stop the clients, read every key back from every node, check durability and
    /// linearizability. Panics with the checker's report (and a history file) on failure.
    pub fn finish(self, cluster: &mut Cluster, name: &str) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().expect("a client thread panicked");
        }
        let shared = Arc::into_inner(self.shared).expect("clients joined");
        let mut records = shared.records.into_inner().expect("no poisoned lock");
        final_reads(cluster, &shared.start, &mut records);
        check_durability(&records);
        check_linearizable(&records, name);
    }
}

fn client_loop(shared: &Shared, client: u64, ports: &[u16], seed: u64) {
    let mut rng = SeededRng::new(seed);
    let mut node = usize::try_from(client).expect("small") % ports.len();
    let mut conn: Option<Conn> = None;
    let mut n = 0u64;
    while !shared.stop.load(Ordering::SeqCst) {
        n += 1;
        let (words, command) = random_op(&mut rng, client, n, shared.epoch.load(Ordering::SeqCst));
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        for _ in 0..RETRIES_MAX {
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match Conn::connect(ports[node]) {
                    Ok(c) => conn.insert(c),
                    Err(_) => {
                        node = (node + 1) % ports.len();
                        sleep(RETRY_PAUSE);
                        continue;
                    }
                },
            };
            let invoke = shared.now();
            let reply = c.call(&words);
            let ret = shared.now();
            let verdict =
                classify(&command, reply).unwrap_or_else(|e| panic!("client {client}: {e}"));
            let mut record = Record {
                client,
                command: command.clone(),
                invoke,
                ret: None,
            };
            match verdict {
                Verdict::Returned(outcome) => {
                    if !matches!(command, Command::Get { .. }) {
                        shared.acked_writes.fetch_add(1, Ordering::SeqCst);
                    }
                    record.ret = Some((ret, outcome));
                    shared.records.lock().expect("lock").push(record);
                    break;
                }
                Verdict::Unknown => {
                    shared.records.lock().expect("lock").push(record);
                    conn = None;
                    node = (node + 1) % ports.len();
                }
                // Retry on the same connection, as a pooled redis client would: the node
                // forwards to the leader once one is known.
                Verdict::NotApplied => {}
            }
            sleep(RETRY_PAUSE);
        }
    }
}

/// A random operation on this epoch's keys: the RESP words and the checker's command.
fn random_op(rng: &mut SeededRng, client: u64, n: u64, epoch: u64) -> (Vec<String>, Command) {
    let key = |k: &str| format!("e{epoch}{k}");
    let unique = format!("{client}.{n}");
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match rng.range(0, 10) {
        0..=2 => {
            let k = key(["a0", "a1", "s0", "c0"][rng.range(0, 4) as usize]);
            (words(&["GET", &k]), Command::get(&k))
        }
        3..=5 => {
            let k = key(["a0", "a1"][rng.range(0, 2) as usize]);
            let v = format!("{unique},");
            (words(&["APPEND", &k, &v]), Command::append(&k, &v))
        }
        6 | 7 => {
            let k = key("s0");
            (words(&["SET", &k, &unique]), Command::put(&k, &unique))
        }
        _ => {
            let k = key("c0");
            (words(&["INCR", &k]), Command::incr(&k, 1))
        }
    }
}

/// What a reply means for the history. `Err` for a reply no correct server gives.
fn classify(command: &Command, reply: Result<Frame, String>) -> Result<Verdict, String> {
    let frame = match reply {
        Err(_) => return Ok(Verdict::Unknown),
        Ok(Frame::Error(e)) if e.starts_with("TRYAGAIN") && e.contains("unknown") => {
            return Ok(Verdict::Unknown)
        }
        Ok(Frame::Error(e)) if e.starts_with("TRYAGAIN") => return Ok(Verdict::NotApplied),
        Ok(Frame::Error(e)) if e.contains("stopped before answering") => {
            return Ok(Verdict::Unknown)
        }
        Ok(frame) => frame,
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| e.to_string());
    let outcome = match (command, frame) {
        (Command::Get { .. }, Frame::Bulk(b)) => Outcome::Value(Some(text(&b)?)),
        (Command::Get { .. }, Frame::Null) => Outcome::Value(None),
        (Command::Put { .. }, Frame::Simple(s)) if s == "OK" => Outcome::Done,
        (Command::Append { .. }, Frame::Integer(_)) => Outcome::Done,
        (Command::Incr { .. }, Frame::Integer(n)) => Outcome::Counter(n),
        (command, frame) => return Err(format!("unexpected reply {frame} to {command}")),
    };
    Ok(Verdict::Returned(outcome))
}

/// Once every node runs and the clients have stopped: GET every key through every node (the
/// linearizable read path) and add those reads to the history.
fn final_reads(cluster: &mut Cluster, start: &Instant, records: &mut Vec<Record>) {
    let mut keys: Vec<String> = records
        .iter()
        .map(|r| r.command.key().to_string())
        .collect();
    keys.sort();
    keys.dedup();
    let now = || u64::try_from(start.elapsed().as_micros()).expect("fits");
    for i in 0..cluster.children.len() {
        for key in &keys {
            let invoke = now();
            let frame = cluster.call_until_answered(i, &["GET", key]);
            let ret = now();
            let outcome = match frame {
                Frame::Bulk(b) => Outcome::Value(Some(String::from_utf8_lossy(&b).into_owned())),
                Frame::Null => Outcome::Value(None),
                other => panic!("final GET {key} on n{}: {other}", i + 1),
            };
            records.push(Record {
                client: 1_000 + i as u64,
                command: Command::get(key),
                invoke,
                ret: Some((ret, outcome)),
            });
        }
    }
}

/// Every acknowledged APPEND is in every final read of its key, and every final count is at
/// least the acknowledged INCRs and at most those plus the unknown ones.
fn check_durability(records: &[Record]) {
    let finals = records.iter().filter(|r| r.client >= 1_000);
    for read in finals {
        let key = read.command.key();
        let value = match &read.ret {
            Some((_, Outcome::Value(v))) => v.clone().unwrap_or_default(),
            _ => unreachable!("final reads always return a value"),
        };
        let writes = records
            .iter()
            .filter(|r| r.command.key() == key && r.client < 1_000);
        let (mut acked_incr, mut unknown_incr) = (0i64, 0i64);
        for w in writes {
            match (&w.command, &w.ret) {
                (Command::Append { value: token, .. }, Some(_)) => assert!(
                    value.split(',').any(|t| format!("{t},") == *token),
                    "acknowledged APPEND {token:?} to {key} is missing from a final read: {value:?}"
                ),
                (Command::Incr { .. }, Some(_)) => acked_incr += 1,
                (Command::Incr { .. }, None) => unknown_incr += 1,
                _ => {}
            }
        }
        if key.ends_with("c0") {
            let n: i64 = if value.is_empty() {
                0
            } else {
                value.parse().expect("a count")
            };
            assert!(
                (acked_incr..=acked_incr + unknown_incr).contains(&n),
                "{key} = {n} after {acked_incr} acknowledged and {unknown_incr} unknown INCRs"
            );
        }
    }
}

/// The whole history is linearizable; on failure the history is written next to the test
/// binary's temp dir and the report printed.
fn check_linearizable(records: &[Record], name: &str) {
    let mut b = HistoryBuilder::new();
    for r in records {
        match &r.ret {
            Some((at, outcome)) => {
                b.returned(r.client, r.command.clone(), r.invoke, *at, outcome.clone())
                    .expect("a well-formed operation");
            }
            None => {
                b.no_return(r.client, r.command.clone(), r.invoke);
            }
        }
    }
    let history = b.build().expect("a valid history");
    let checker = Checker::default().with_budget(Budget::steps(CHECK_STEPS_MAX));
    let (result, stats) = checker.check_history_with_stats(&history);
    let unknown = records.iter().filter(|r| r.ret.is_none()).count();
    eprintln!(
        "{name}: {} ops ({unknown} with no return), {} keys, checker: {} steps (most in one key {}), {}",
        records.len(),
        stats.partitions,
        stats.steps,
        stats.partition_steps_max,
        match &result {
            CheckResult::Violation(_) => "violation",
            CheckResult::Linearizable => "linearizable",
            CheckResult::Unknown => "unknown",
        }
    );
    if result != CheckResult::Linearizable {
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.jsonl"));
        std::fs::write(&path, history.to_json_lines()).expect("write the history");
        panic!(
            "{name}: the history is {result} (unknown keys: {:?}); history in {}",
            stats.unknown,
            path.display()
        );
    }
}
