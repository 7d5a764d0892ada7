//! `distributed bench`: a closed-loop load generator that measures our replicated KV store,
//! redis-server and etcd with the same workload, so one run can compare them.
//!
//! ```text
//!   --target resp://a,b,c | etcd://a,b,c      endpoints, used round-robin by connection
//!   connect --conns ──► [--preload: write every key once, unmeasured]
//!   ──► --warmup (requests run, nothing recorded) ──► measure until --total or --duration
//!   ──► merge every client's histograms ──► text report (and --json for scripts)
//!   stderr a terminal: a progress line while it runs (elapsed, ops so far), erased at the end
//!
//!   client c (one of --clients tokio tasks, closed loop: one request in flight per client)
//!     loop: pick GET (p = --read-ratio) or SET on a uniform key ──► send ──► await the reply
//!           ──► record its latency (ok) or its error kind
//! ```
//!
//! Latency is per request because pipelining is off: a RESP client owns its connection and waits
//! for each reply before sending the next request, so RESP needs `--conns` = `--clients`. etcd's
//! gRPC connections are HTTP/2 and multiplex, so etcd clients share `--conns` connections
//! round-robin, as etcd's own `benchmark` tool does.
//!
//! Consistency: `linearizable` is the default everywhere (our GET goes through ReadIndex, etcd's
//! Range through its read index). `serializable` is etcd's `serializable` Range option and, for
//! `resp://`, a `READONLY` sent on every connection first: our server then answers GETs from
//! the local state machine (possibly stale), as etcd does. A server that refuses READONLY
//! (redis-server outside cluster mode) fails the run before it starts, with "not supported"
//! in the message, rather than measuring linearizable reads under the wrong name.
//!
//! The etcd backend sits behind the crate's `etcd` cargo feature (off by default):
//! `etcd-client` generates its gRPC code from etcd's `.proto` files in a build script that
//! runs `protoc`, and a fresh machine with only a Rust toolchain must still build and test the
//! workspace. The road not taken: a vendored `protoc` binary crate, which would need the build
//! script of a dependency (not ours) to find it through `PROTOC` set in a `.cargo/config.toml`
//! with a machine-specific path. `bench/compare.sh` installs protobuf-compiler and builds with
//! `--features etcd`. Without the feature, an `etcd://` target is a clear error (exit 2).
//!
//! Layout: `mod.rs` flags → [`Plan`]; `workload.rs` keys, values and the op mix;
//! `driver.rs` phases and client loops; `report.rs` histograms and the report; `resp.rs` and
//! `etcd.rs` one backend each.

mod driver;
#[cfg(feature = "etcd")]
mod etcd;
mod report;
mod resp;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Most endpoints in one `--target`.
const ENDPOINTS_MAX: usize = 16;
/// Most concurrent clients (each is a tokio task and, for RESP, a socket).
const CLIENTS_MAX: usize = 10_000;
/// Largest key space: `--preload` writes each key once.
const KEYS_MAX: u64 = 10_000_000;
/// Largest key and value, in bytes (our server's own limits are larger; a bench needs no more).
const KEY_BYTES_MAX: usize = 1024;
const VAL_BYTES_MAX: usize = 1 << 20;
/// Longest measured run, warm-up and per-request timeout.
const DURATION_MAX: Duration = Duration::from_secs(3600);
const WARMUP_MAX: Duration = Duration::from_secs(600);
const TIMEOUT_MAX: Duration = Duration::from_secs(60);
/// Requests measured when neither `--total` nor `--duration` is given.
const TOTAL_DEFAULT: u64 = 10_000;
/// Most requests in one run.
const TOTAL_MAX: u64 = 1_000_000_000;

/// Flags of `distributed bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// What to measure: `resp://HOST:PORT,...` (our nodes or redis-server) or
    /// `etcd://HOST:PORT,...` (etcd v3 gRPC; needs the `etcd` feature).
    #[arg(long)]
    target: String,
    /// Connections. RESP: one per client (leave it out or make it equal to --clients);
    /// etcd: clients share them round-robin. Default: --clients.
    #[arg(long)]
    conns: Option<usize>,
    /// Concurrent clients, each with one request in flight.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Measured requests (default 10000 unless --duration is given).
    #[arg(long, conflicts_with = "duration")]
    total: Option<u64>,
    /// Measure for this long instead of a request count, e.g. `10s` or `500ms`.
    #[arg(long)]
    duration: Option<String>,
    /// Key length in bytes (keys are zero-padded decimal numbers).
    #[arg(long, default_value_t = 8)]
    key_size: usize,
    /// Value length in bytes.
    #[arg(long, default_value_t = 256)]
    val_size: usize,
    /// Size of the key space; keys are drawn uniformly from it.
    #[arg(long, default_value_t = 10_000)]
    keys: u64,
    /// Fraction of requests that are reads (GET / Range), 0.0..=1.0; the rest are writes.
    #[arg(long, default_value_t = 0.0)]
    read_ratio: f64,
    /// Read consistency: linearizable or serializable (etcd only, see the module docs).
    #[arg(long, default_value = "linearizable")]
    consistency: String,
    /// Run the workload this long before measuring, e.g. `2s` (nothing recorded).
    #[arg(long, default_value = "0s")]
    warmup: String,
    /// Write every key of the key space once before the warm-up, so reads find values.
    #[arg(long)]
    preload: bool,
    /// A request without a reply after this long counts as a `timeout` error.
    #[arg(long, default_value = "10s")]
    timeout: String,
    /// Seed of the per-client key and op choices (runs with one seed draw the same sequence).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the report as JSON to this file (`-` for stdout instead of the text).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Which protocol the target speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// RESP2 over TCP: our server (any node; followers forward) or redis-server.
    Resp,
    /// etcd v3 KV over gRPC.
    Etcd,
}

/// How reads are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// Reads reflect every write acknowledged before they started.
    Linearizable,
    /// Reads may be served from one member's local state (etcd's `serializable`).
    Serializable,
}

/// When the measured phase ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// After this many measured requests have been issued.
    Total(u64),
    /// After this much time.
    Duration(Duration),
}

/// A validated run: every field within its bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The target as given, for the report.
    pub target: String,
    /// The protocol of every endpoint.
    pub backend: Backend,
    /// `host:port` of each endpoint; connection i goes to endpoint i mod len.
    pub endpoints: Vec<String>,
    /// Connections opened.
    pub conns: usize,
    /// Concurrent closed-loop clients.
    pub clients: usize,
    /// End of the measured phase.
    pub stop: Stop,
    /// Key length in bytes.
    pub key_size: usize,
    /// Value length in bytes.
    pub val_size: usize,
    /// Key space size.
    pub keys: u64,
    /// Probability that a request is a read.
    pub read_ratio: f64,
    /// Read consistency asked of the target.
    pub consistency: Consistency,
    /// Unrecorded run before measuring.
    pub warmup: Duration,
    /// Write every key once before the warm-up.
    pub preload: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Seed of the clients' choices.
    pub seed: u64,
    /// Where the JSON report goes, if anywhere.
    pub json: Option<PathBuf>,
}

/// The exit code: 0 measured with no errors, 1 the run failed or saw errors, 2 bad flags.
pub fn run(args: BenchArgs) -> u8 {
    let plan = match plan(&args) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    let status = crate::progress::StatusLine::for_stderr();
    let report = match runtime.block_on(driver::run(&plan, status)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    report::emit(&plan, &report)
}

/// Flags → a validated [`Plan`], or the message that says which flag is wrong and why.
pub fn plan(args: &BenchArgs) -> Result<Plan, String> {
    let (backend, endpoints) = parse_target(&args.target)?;
    let consistency = parse_consistency(&args.consistency)?;
    #[cfg(not(feature = "etcd"))]
    if backend == Backend::Etcd {
        return Err(
            "this binary was built without the `etcd` feature; rebuild with \
                    `cargo build --release -p distributed --features etcd` (needs protoc, \
                    e.g. apt-get install protobuf-compiler)"
                .into(),
        );
    }
    let clients = in_range("--clients", args.clients, 1, CLIENTS_MAX)?;
    let conns = in_range("--conns", args.conns.unwrap_or(clients), 1, clients)?;
    if backend == Backend::Resp && conns != clients {
        return Err(format!(
            "--conns {conns} with --clients {clients}: a RESP connection carries one client's \
             requests (sharing it would pipeline them), so leave --conns out or make it equal"
        ));
    }
    let stop = parse_stop(args)?;
    let (keys, key_size) = parse_keys(args)?;
    if !(0.0..=1.0).contains(&args.read_ratio) {
        return Err(format!(
            "--read-ratio {} must be within 0.0..=1.0",
            args.read_ratio
        ));
    }
    let timeout = parse_duration("--timeout", &args.timeout, TIMEOUT_MAX)?;
    if timeout.is_zero() {
        return Err("--timeout must be more than 0".into());
    }
    Ok(Plan {
        target: args.target.clone(),
        backend,
        endpoints,
        conns,
        clients,
        stop,
        key_size,
        val_size: in_range("--val-size", args.val_size, 0, VAL_BYTES_MAX)?,
        keys,
        read_ratio: args.read_ratio,
        consistency,
        warmup: parse_duration("--warmup", &args.warmup, WARMUP_MAX)?,
        preload: args.preload,
        timeout,
        seed: args.seed,
        json: args.json.clone(),
    })
}

/// `--consistency`: linearizable (the default) or serializable.
fn parse_consistency(text: &str) -> Result<Consistency, String> {
    match text {
        "linearizable" => Ok(Consistency::Linearizable),
        "serializable" => Ok(Consistency::Serializable),
        other => Err(format!(
            "--consistency {other:?}: expected linearizable or serializable"
        )),
    }
}

/// `--duration` (if given) or `--total`: when the run stops.
fn parse_stop(args: &BenchArgs) -> Result<Stop, String> {
    let stop = match (&args.duration, args.total) {
        (Some(d), _) => Stop::Duration(parse_duration("--duration", d, DURATION_MAX)?),
        (None, total) => Stop::Total(in_range(
            "--total",
            total.unwrap_or(TOTAL_DEFAULT),
            1,
            TOTAL_MAX,
        )?),
    };
    if matches!(stop, Stop::Duration(d) if d.is_zero()) {
        return Err("--duration must be more than 0".into());
    }
    Ok(stop)
}

/// `--keys` and `--key-size`, checked against each other: every key must be distinct.
fn parse_keys(args: &BenchArgs) -> Result<(u64, usize), String> {
    let keys = in_range("--keys", args.keys, 1, KEYS_MAX)?;
    let key_size = in_range("--key-size", args.key_size, 1, KEY_BYTES_MAX)?;
    let digits = (keys - 1).to_string().len();
    if key_size < digits {
        return Err(format!(
            "--key-size {key_size} cannot hold {keys} distinct keys ({digits} digits needed)"
        ));
    }
    Ok((keys, key_size))
}

/// `resp://a:1,b:2` → (Resp, ["a:1", "b:2"]).
fn parse_target(target: &str) -> Result<(Backend, Vec<String>), String> {
    let (backend, rest) = if let Some(rest) = target.strip_prefix("resp://") {
        (Backend::Resp, rest)
    } else if let Some(rest) = target.strip_prefix("etcd://") {
        (Backend::Etcd, rest)
    } else {
        return Err(format!(
            "--target {target:?}: expected resp://HOST:PORT,... or etcd://HOST:PORT,..."
        ));
    };
    let endpoints: Vec<String> = rest.split(',').map(str::to_string).collect();
    if endpoints.len() > ENDPOINTS_MAX {
        return Err(format!(
            "--target has {} endpoints; at most {ENDPOINTS_MAX}",
            endpoints.len()
        ));
    }
    for e in &endpoints {
        let ok = match e.rsplit_once(':') {
            Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
            None => false,
        };
        if !ok {
            return Err(format!("--target endpoint {e:?} is not HOST:PORT"));
        }
    }
    Ok((backend, endpoints))
}

/// `250ms`, `2s`, `0s` → a Duration no longer than `max`.
fn parse_duration(flag: &str, text: &str, max: Duration) -> Result<Duration, String> {
    let bad =
        || format!("{flag} {text:?}: expected a whole number with ms or s, e.g. 500ms or 10s");
    let d = if let Some(n) = text.strip_suffix("ms") {
        Duration::from_millis(n.parse().map_err(|_| bad())?)
    } else if let Some(n) = text.strip_suffix('s') {
        Duration::from_secs(n.parse().map_err(|_| bad())?)
    } else {
        return Err(bad());
    };
    if d > max {
        return Err(format!("{flag} {text}: at most {}s", max.as_secs()));
    }
    Ok(d)
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    flag: &str,
    value: T,
    min: T,
    max: T,
) -> Result<T, String> {
    if value < min || value > max {
        return Err(format!("{flag} {value} must be within {min}..={max}"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
