//! `distributed cluster up` as a service manager stops it: SIGTERM, not Ctrl-C.
//!
//! ```text
//!   cluster up --nodes 2 (its own ports, a temp data dir) ──► both nodes answer RESP
//!   ──► their pids: the processes whose parent is `cluster up` (/proc/*/stat)
//!   ──► SIGTERM to `cluster up` only ──► it SIGINTs its nodes, waits for them, exits 0
//!   ──► neither node pid is a running node any more
//! ```
//!
//! No timed assertions: every wait is a bounded number of attempts, 100 ms apart. A guard
//! SIGKILLs `cluster up` and every node pid it saw if the test fails half-way.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use common::{free_port, ATTEMPTS_MAX};

/// Nodes in the test's cluster: two show that every child is stopped, not only the first.
const NODES: u16 = 2;

/// Kills `cluster up` and the nodes it started, if they still run, when the test ends.
struct Guard {
    /// `distributed cluster up`.
    cluster: Child,
    /// Its node processes, once found.
    nodes: Vec<u32>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.cluster.kill();
        let _ = self.cluster.wait();
        for &pid in &self.nodes {
            if is_node_process(pid) {
                let pid = libc::pid_t::try_from(pid).expect("pid fits");
                // SAFETY: kill(2) has no memory effects; the pid was checked to be a node.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// A base port where `cluster up --nodes NODES` finds every port it needs free: the RESP
/// ports base.., the peer ports base+1000.. and the metrics ports base+2000...
fn free_base_port() -> u16 {
    for _ in 0..100 {
        let base = free_port();
        let Some(top) = base.checked_add(2000 + NODES) else {
            continue;
        };
        if top >= 32_000 {
            continue; // the kernel's ephemeral range starts above; see common::free_port
        }
        let all_free = (0..NODES)
            .flat_map(|i| [base + i, base + 1000 + i, base + 2000 + i])
            .all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no base port with {NODES} free RESP, peer and metrics ports in 100 tries");
}

/// The pids of `parent`'s children, from each process's stat line (`pid (comm) state ppid …`).
fn children_of(parent: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc") {
        let Ok(pid) = entry
            .expect("a /proc entry")
            .file_name()
            .to_string_lossy()
            .parse()
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue; // it exited meanwhile
        };
        let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ppid = after_comm.split_whitespace().nth(1);
        if ppid.and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            pids.push(pid);
        }
    }
    pids
}

/// Whether `pid` is a running (not zombie) `distributed node` process: a reused pid is not.
fn is_node_process(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    args.len() > 1 && args[1] == b"node"
}

#[test]
fn sigterm_stops_cluster_up_and_every_node_it_started_with_exit_code_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = free_base_port();
    let log = std::fs::File::create(dir.path().join("cluster.log")).expect("create the log");
    let cluster = Command::new(env!("CARGO_BIN_EXE_distributed"))
        .args(["cluster", "up", "--nodes", &NODES.to_string()])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--base-port", &base.to_string()])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the distributed binary starts");
    let mut guard = Guard {
        cluster,
        nodes: Vec::new(),
    };
    for i in 0..NODES {
        let port = base + i;
        let answered = (0..ATTEMPTS_MAX).any(|_| {
            let up = common::call(port, &["INFO"]).is_ok();
            if !up {
                sleep(Duration::from_millis(100));
            }
            up
        });
        assert!(answered, "node {} on {port} never answered", i + 1);
    }
    let cluster_pid = guard.cluster.id();
    guard.nodes = children_of(cluster_pid);
    assert_eq!(
        guard.nodes.len(),
        usize::from(NODES),
        "cluster up's children: {:?}",
        guard.nodes
    );
    assert!(guard.nodes.iter().all(|&pid| is_node_process(pid)));

    let pid = libc::pid_t::try_from(cluster_pid).expect("pid fits");
    // SAFETY: kill(2) on the child we spawned and have not reaped: the pid is ours.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM sent");
    let status = (0..ATTEMPTS_MAX)
        .find_map(|_| {
            let exited = guard.cluster.try_wait().expect("try_wait");
            if exited.is_none() {
                sleep(Duration::from_millis(100));
            }
            exited
        })
        .expect("cluster up still runs after SIGTERM");
    let log = std::fs::read_to_string(dir.path().join("cluster.log")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{status}; its log:\n{log}");
    let left: Vec<u32> = guard
        .nodes
        .iter()
        .copied()
        .filter(|&pid| is_node_process(pid))
        .collect();
    assert!(left.is_empty(), "node processes left behind: {left:?}");
}
