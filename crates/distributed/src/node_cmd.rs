//! `distributed node`: run one replica of the replicated KV store until Ctrl-C or SIGTERM.
//!
//! ```text
//!   distributed node --id 1 --listen 127.0.0.1:6379 --peer-listen 127.0.0.1:7379 \
//!       --peers 1=127.0.0.1:7379,2=127.0.0.1:7380,3=127.0.0.1:7381 --data-dir data/n1
//!   distributed node --config node.toml [--listen … overrides]
//!   args (+ file) ──merge──► NodeConfig ──validate──► server::run_node (tokio, multi-thread,
//!                                                      --worker-threads N, default one per core)
//!   bad flags / config ─► exit 2      runtime failure (WAL, bind) ─► exit 1
//!   logs ─► stderr (RUST_LOG, default info), coloured only when stderr is a terminal
//! ```

use std::path::PathBuf;

use clap::Args;
use server::config_file::{self, NodeFlags};
use server::NodeConfig;

/// Flags of `distributed node`. Each may instead be a key of `--config FILE` (the flag wins).
#[derive(Args, Debug, Default)]
pub struct NodeArgs {
    /// A TOML file with this node's settings (keys as in config/node.example.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// This node's id (≥ 1); must be one of --peers.
    #[arg(long)]
    pub id: Option<u64>,
    /// RESP address for clients (redis-cli, redis-benchmark, `distributed kv`).
    #[arg(long)]
    pub listen: Option<String>,
    /// Address peers connect to.
    #[arg(long)]
    pub peer_listen: Option<String>,
    /// HTTP address of /metrics and /health [default: the client port + 2000].
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Every voter's peer address, this node's included: `1=host:port,2=host:port,…`.
    #[arg(long)]
    pub peers: Option<String>,
    /// Directory for this node's durable state (created if missing).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Milliseconds per Raft tick (election timeout 10–20 ticks, heartbeat 2) [default: 10].
    #[arg(long)]
    pub tick_ms: Option<u64>,
    /// How GET/MGET/EXISTS are served, all linearizable: read-index (default), lease, log.
    #[arg(long)]
    pub reads: Option<String>,
    /// Raft check-quorum, true (default) or false; lease reads need it.
    #[arg(long)]
    pub check_quorum: Option<bool>,
    /// The leader fsyncs new entries while they are on their way to followers, and counts
    /// itself toward a commit once its fsync is done (thesis §10.2.1): true (default) or false.
    #[arg(long)]
    pub leader_writes_in_parallel: Option<bool>,
    /// Ticks a follower waits for the leader's answer to a forwarded request [default: 500].
    #[arg(long)]
    pub forward_timeout_ticks: Option<u64>,
    /// Snapshot the state machine after this many applied entries (Raft §7) [default: 10000].
    #[arg(long)]
    pub snapshot_log_entries_max: Option<u64>,
    /// ...or after this many bytes of applied entries [default: 67108864 (64 MiB)].
    #[arg(long)]
    pub snapshot_log_bytes_max: Option<u64>,
    /// WAL segment size; snapshots free disk a whole segment at a time [default: 64 MiB].
    #[arg(long)]
    pub wal_segment_bytes_max: Option<u64>,
    /// Longest bulk string, and so the largest value, in bytes: Redis' proto-max-bulk-len.
    /// Every node must be given the same [default: 536870912 (512 MiB)].
    #[arg(long)]
    pub proto_max_bulk_len: Option<usize>,
    /// Tokio worker threads [default: one per core]. `cluster up` runs several nodes on one
    /// machine and gives each its share of the cores, so they do not all wake threads for
    /// the same cores (see `cluster_cmd.rs`). A runtime setting, not a node one: no TOML key.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=WORKER_THREADS_MAX as i64))]
    pub worker_threads: Option<u16>,
}

/// Most tokio worker threads `--worker-threads` accepts: far more than any node needs, and a
/// typo such as 10000 is refused instead of spawning that many threads.
pub const WORKER_THREADS_MAX: u16 = 256;

fn config(mut args: NodeArgs) -> Result<NodeConfig, String> {
    let file = match args.config.take() {
        Some(path) => config_file::load(&path)?,
        None => config_file::NodeFile::default(),
    };
    config_file::merge(args.flags(), file)
}

impl NodeArgs {
    /// The flags that override keys of the config file (all but `--config` itself and the
    /// runtime's `--worker-threads`).
    fn flags(self) -> NodeFlags {
        NodeFlags {
            id: self.id,
            listen: self.listen,
            peer_listen: self.peer_listen,
            metrics_listen: self.metrics_listen,
            peers: self.peers,
            data_dir: self.data_dir,
            tick_ms: self.tick_ms,
            reads: self.reads,
            check_quorum: self.check_quorum,
            leader_writes_in_parallel: self.leader_writes_in_parallel,
            forward_timeout_ticks: self.forward_timeout_ticks,
            snapshot_log_entries_max: self.snapshot_log_entries_max,
            snapshot_log_bytes_max: self.snapshot_log_bytes_max,
            wal_segment_bytes_max: self.wal_segment_bytes_max,
            proto_max_bulk_len: self.proto_max_bulk_len,
        }
    }
}

/// Run the node; the exit code.
pub fn run(args: NodeArgs) -> u8 {
    let worker_threads = args.worker_threads;
    let config = match config(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    init_tracing();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = worker_threads {
        builder.worker_threads(usize::from(n));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(server::run_node(config, shutdown_signal())) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. `cluster up` waits on it too.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Logs to stderr, `RUST_LOG` (default `info`). Colour codes only when stderr is a terminal:
/// a log file, a pipe or `cluster up`'s captured output gets plain text a grep can read.
fn init_tracing() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
