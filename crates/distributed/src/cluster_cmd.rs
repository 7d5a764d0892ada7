//! `distributed cluster up`: the quick start. Starts N node processes (this same binary) on
//! loopback with data under one directory, prints their RESP addresses, and stops them all on
//! Ctrl-C or SIGTERM (what `kill`, systemd and container runtimes send). Node i listens for
//! clients on base+i-1, for peers on base+1000+i-1 and serves metrics on base+2000+i-1.
//!
//! ```text
//!   distributed cluster up --nodes 3 --data-dir data --base-port 6379
//!     n1  RESP 127.0.0.1:6379  peers 127.0.0.1:7379  metrics http://127.0.0.1:8379/metrics  data/n1
//!     n2  RESP 127.0.0.1:6380  peers 127.0.0.1:7380  metrics http://127.0.0.1:8380/metrics  data/n2
//!     n3  RESP 127.0.0.1:6381  peers 127.0.0.1:7381  metrics http://127.0.0.1:8381/metrics  data/n3
//!   each node runs max(1, cores / N) tokio workers (`--worker-threads`): the nodes share the cores
//!   Ctrl-C or SIGTERM ──SIGINT──► every child ──► wait for all ──► exit 0
//!   a child exits by itself ──► SIGINT the others ──► exit 1
//! ```

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `distributed cluster …`
#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(subcommand)]
    op: ClusterOp,
}

#[derive(Subcommand, Debug)]
enum ClusterOp {
    /// Start a local cluster in the foreground.
    Up(UpArgs),
}

/// Flags of `distributed cluster up`.
#[derive(Args, Debug)]
struct UpArgs {
    /// How many nodes (1..=9).
    #[arg(long, default_value_t = 3)]
    nodes: u16,
    /// Parent directory of every node's data (n1/, n2/, …).
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// RESP port of n1; node i listens on base+i-1, for peers on base+1000+i-1, and serves
    /// /metrics and /health on base+2000+i-1.
    #[arg(long, default_value_t = 6379)]
    base_port: u16,
    /// Milliseconds per Raft tick.
    #[arg(long, default_value_t = 10)]
    tick_ms: u64,
    /// How reads are served: read-index, lease or log (see `distributed node --help`).
    #[arg(long, default_value = "read-index")]
    reads: String,
    /// The leader fsyncs new entries while sending them to followers (thesis §10.2.1; see
    /// `distributed node --help`): true or false.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    leader_writes_in_parallel: bool,
}

/// The exit code.
pub fn run(args: ClusterArgs) -> u8 {
    let ClusterOp::Up(up) = args.op;
    if !(1..=9).contains(&up.nodes) {
        eprintln!("error: --nodes {} must be in 1..=9", up.nodes);
        return 2;
    }
    if up.base_port.checked_add(2000 + up.nodes).is_none() {
        eprintln!(
            "error: --base-port {} leaves no room for peer and metrics ports",
            up.base_port
        );
        return 2;
    }
    if let Err(e) = server::config_file::parse_reads(&up.reads, "--reads") {
        eprintln!("error: {e}");
        return 2;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(up_and_wait(up))
}

async fn up_and_wait(up: UpArgs) -> u8 {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find this binary to start nodes: {e}");
            return 1;
        }
    };
    let resp = |i: u16| format!("127.0.0.1:{}", up.base_port + i - 1);
    let peer = |i: u16| format!("127.0.0.1:{}", up.base_port + 1000 + i - 1);
    let metrics = |i: u16| format!("127.0.0.1:{}", up.base_port + 2000 + i - 1);
    let peers: Vec<String> = (1..=up.nodes).map(|i| format!("{i}={}", peer(i))).collect();
    let threads = worker_threads_per_node(up.nodes).to_string();
    let mut children = Vec::new();
    for i in 1..=up.nodes {
        let dir = up.data_dir.join(format!("n{i}"));
        let child = tokio::process::Command::new(&exe)
            .args(["node", "--id", &i.to_string(), "--listen", &resp(i)])
            .args(["--peer-listen", &peer(i), "--peers", &peers.join(",")])
            .arg("--data-dir")
            .arg(&dir)
            .args(["--metrics-listen", &metrics(i)])
            .args(["--tick-ms", &up.tick_ms.to_string()])
            .args(["--reads", &up.reads])
            .arg("--leader-writes-in-parallel")
            .arg(up.leader_writes_in_parallel.to_string())
            .args(["--worker-threads", &threads])
            .spawn();
        match child {
            Ok(child) => children.push(child),
            Err(e) => {
                eprintln!("error: cannot start node {i}: {e}");
                interrupt_all(&children);
                return 1;
            }
        }
        println!(
            "n{i}  RESP {}  peers {}  metrics http://{}/metrics  {}",
            resp(i),
            peer(i),
            metrics(i),
            dir.display()
        );
    }
    let addrs: Vec<String> = (1..=up.nodes).map(resp).collect();
    println!(
        "try: redis-cli -p {} set k v   distributed status --addr {}   (Ctrl-C stops the cluster)",
        up.base_port,
        addrs.join(",")
    );
    let first_exit = async {
        let waits = children.iter_mut().map(|c| Box::pin(c.wait()));
        futures_select_all(waits.collect()).await
    };
    let code = tokio::select! {
        () = crate::node_cmd::shutdown_signal() => 0,
        status = first_exit => {
            eprintln!("a node exited by itself ({status}); stopping the others");
            1
        }
    };
    interrupt_all(&children);
    for child in &mut children {
        let _ = child.wait().await;
    }
    code
}

/// Each node's share of this machine's cores, at least one. The nodes of a local cluster share
/// the cores: with tokio's default (a worker per core) in every node, a machine with C cores
/// runs N×C workers, and each request then costs futex and eventfd wakeups between a node's
/// own threads on top of the socket work. Measured on 2 cores, 3 nodes, `redis-benchmark -t
/// get -c 50` (bench/README.md): one worker per node spends about 12% less CPU per read.
fn worker_threads_per_node(nodes: u16) -> u16 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = cores / usize::from(nodes.max(1));
    u16::try_from(share.max(1))
        .unwrap_or(crate::node_cmd::WORKER_THREADS_MAX)
        .min(crate::node_cmd::WORKER_THREADS_MAX)
}

/// Wait for the first of several child waits; its status as text.
async fn futures_select_all<F>(mut waits: Vec<std::pin::Pin<Box<F>>>) -> String
where
    F: std::future::Future<Output = std::io::Result<std::process::ExitStatus>>,
{
    std::future::poll_fn(|cx| {
        for w in waits.iter_mut() {
            if let std::task::Poll::Ready(r) = w.as_mut().poll(cx) {
                return std::task::Poll::Ready(match r {
                    Ok(status) => status.to_string(),
                    Err(e) => e.to_string(),
                });
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Forward Ctrl-C or SIGTERM as SIGINT to every child still running, so each closes its WAL
/// cleanly. (A child of a terminal also gets the terminal's own SIGINT: twice is harmless.)
fn interrupt_all(children: &[tokio::process::Child]) {
    for child in children {
        if let Some(pid) = child.id() {
            // SAFETY: kill(2) with a pid we spawned and a valid signal number has no memory
            // effects; at worst the process already exited and the call fails with ESRCH.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGINT);
            }
        }
    }
}
