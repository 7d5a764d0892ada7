//! Shared harness for the tests that run real `distributed node` processes on loopback: spawn,
//! kill -9, SIGSTOP/SIGCONT, restart from the same data dir, and talk RESP to them.
//!
//! ```text
//!   Cluster::start(n) ──► n children (ephemeral ports, one data dir each, stderr → nK.log)
//!     kill(i) SIGKILL+reap │ restart(i) same dir, same ports │ pause(i)/resume(i) SIGSTOP/CONT
//!     call_until_answered / eventually: bounded retries, 100 ms apart
//!   Drop: kill every child; if a test is failing, print the tail of each node's log first
//! ```
//!
//! No timed assertions: every wait is a bounded number of attempts whose total is far above
//! what a healthy cluster needs, so it fails only on a genuine hang. Ports are random picks
//! below the kernel's ephemeral range that bind right now and were not handed out before in
//! this process (see `free_port`), so parallel tests and restarted nodes do not collide.

#![allow(dead_code)] // each test file uses a different subset of the harness

pub mod resp;
pub mod workload;

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

pub use resp::{call, Conn};
use server::clients::resp::Frame;

/// Attempts for anything that waits on an election or a reconnect (× 100 ms): 30 s.
pub const ATTEMPTS_MAX: usize = 300;

/// Real nodes on loopback. Kills every node it holds on drop, so a failed assertion leaves no
/// process behind.
pub struct Cluster {
    /// One slot per node; `None` while a node is down.
    pub children: Vec<Option<Child>>,
    /// RESP ports by node index.
    pub resp: Vec<u16>,
    /// Peer ports by node index.
    pub peer: Vec<u16>,
    /// The data directory root: node i keeps its state in `n{i+1}/`, its stderr in `n{i+1}.log`.
    pub dir: tempfile::TempDir,
    /// Boots per node so far, for the log.
    pub boots: Vec<u32>,
    /// Flags every node gets after the standard ones (e.g. a small snapshot threshold).
    pub extra_args: Vec<String>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            for i in 0..self.children.len() {
                let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("---- n{} log (last {} lines) ----", i + 1, tail.len());
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// Ports handed out by this test process, so two clusters in one binary never share one.
static PORTS_GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Where node ports come from: below Linux's ephemeral range (32768–60999). Ports from that
/// range are also the source ports of outgoing connections, so a node restarted after a kill
/// could find its port taken by some client socket; below it, only another `bind` can take it.
const NODE_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A port nobody listens on right now, never handed out before by this process.
pub fn free_port() -> u16 {
    let mut given = PORTS_GIVEN.lock().expect("no poisoned lock");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let mut x = now.map_or(1, |d| d.subsec_nanos() as u64) ^ (u64::from(std::process::id()) << 20);
    let span = u64::from(NODE_PORTS.end - NODE_PORTS.start);
    for _ in 0..1_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let port = NODE_PORTS.start + ((x >> 33) % span) as u16;
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
    panic!("no free port in {NODE_PORTS:?} after 1000 tries");
}

impl Cluster {
    /// `n` nodes, all started.
    pub fn start(n: usize) -> Cluster {
        Cluster::start_with(n, &[])
    }

    /// `n` nodes, all started with `extra_args` appended to their command lines.
    pub fn start_with(n: usize, extra_args: &[&str]) -> Cluster {
        let mut c = Cluster::down(n);
        c.extra_args = extra_args.iter().map(|a| a.to_string()).collect();
        for i in 0..n {
            c.restart(i);
        }
        c
    }

    /// `n` nodes with ports and data dirs, none started yet (`restart(i)` starts one), so a
    /// test can stand in for some of them.
    pub fn down(n: usize) -> Cluster {
        Cluster {
            children: (0..n).map(|_| None).collect(),
            resp: (0..n).map(|_| free_port()).collect(),
            peer: (0..n).map(|_| free_port()).collect(),
            dir: tempfile::tempdir().expect("tempdir"),
            boots: vec![0; n],
            extra_args: Vec::new(),
        }
    }

    /// Node i's data directory (its WAL is in `wal/` below it).
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{}", i + 1))
    }

    /// Node i's stderr, every boot appended.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{}.log", i + 1))
    }

    /// The command line of node i, ready to spawn or to run to completion.
    pub fn command(&self, i: usize) -> Command {
        let peers: Vec<String> = self
            .peer
            .iter()
            .enumerate()
            .map(|(j, p)| format!("{}=127.0.0.1:{p}", j + 1))
            .collect();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_distributed"));
        cmd.args(["node", "--id", &(i + 1).to_string()])
            .args(["--listen", &format!("127.0.0.1:{}", self.resp[i])])
            .args(["--peer-listen", &format!("127.0.0.1:{}", self.peer[i])])
            // Metrics on a port the kernel picks: the default (RESP port + 2000) can land in
            // the ephemeral range and collide with some socket, failing the start.
            .args(["--metrics-listen", "127.0.0.1:0"])
            .args(["--peers", &peers.join(",")])
            .arg("--data-dir")
            .arg(self.data_dir(i))
            .args(&self.extra_args)
            .env("RUST_LOG", "info");
        cmd
    }

    /// Start node i with its stderr appended to its log.
    pub fn spawn(&mut self, i: usize) -> Child {
        self.boots[i] += 1;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .expect("open the node log");
        self.command(i)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the distributed binary starts")
    }

    /// SIGKILL node i and reap it: no shutdown path runs, buffered state is lost.
    pub fn kill(&mut self, i: usize) {
        let mut child = self.children[i].take().expect("the node runs");
        child.kill().expect("kill -9");
        child.wait().expect("reap");
    }

    /// Start node i again on the same data dir and ports.
    pub fn restart(&mut self, i: usize) {
        assert!(self.children[i].is_none(), "n{} still runs", i + 1);
        let child = self.spawn(i);
        self.children[i] = Some(child);
    }

    /// SIGSTOP node i: it keeps its sockets but runs nothing, like a long GC pause.
    pub fn pause(&self, i: usize) {
        self.signal(i, libc::SIGSTOP);
    }

    /// SIGCONT node i.
    pub fn resume(&self, i: usize) {
        self.signal(i, libc::SIGCONT);
    }

    fn signal(&self, i: usize, sig: libc::c_int) {
        if let Some(child) = &self.children[i] {
            let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
            // SAFETY: kill(2) on a child we spawned and have not reaped: the pid is ours.
            let rc = unsafe { libc::kill(pid, sig) };
            assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
        }
    }

    /// Panic with a clear message if node i exited on its own (a crash or a refused start).
    pub fn assert_running(&mut self, i: usize) {
        if let Some(child) = self.children[i].as_mut() {
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!("n{} exited on its own: {status}", i + 1);
            }
        }
    }

    /// One request on a fresh connection to node i.
    pub fn call(&self, i: usize, words: &[&str]) -> Result<Frame, String> {
        call(self.resp[i], words)
    }

    /// Send until the reply is not a TRYAGAIN or a connection failure; bounded.
    pub fn call_until_answered(&mut self, i: usize, words: &[&str]) -> Frame {
        let mut last = String::new();
        for _ in 0..ATTEMPTS_MAX {
            self.assert_running(i);
            match self.call(i, words) {
                Ok(Frame::Error(e)) if e.starts_with("TRYAGAIN") => last = e,
                Ok(frame) => return frame,
                Err(e) => last = e,
            }
            sleep(Duration::from_millis(100));
        }
        panic!("n{} never answered {words:?}; last: {last}", i + 1);
    }

    /// Poll until `check` holds for node i's reply; bounded.
    pub fn eventually(
        &mut self,
        i: usize,
        words: &[&str],
        check: impl Fn(&Frame) -> bool,
    ) -> Frame {
        let mut last = None;
        for _ in 0..ATTEMPTS_MAX {
            let frame = self.call_until_answered(i, words);
            if check(&frame) {
                return frame;
            }
            last = Some(frame);
            sleep(Duration::from_millis(100));
        }
        panic!(
            "n{}: {words:?} never satisfied the check; last: {last:?}",
            i + 1
        );
    }

    /// The index of the node that says `role:leader`, once one does; bounded.
    pub fn leader(&mut self) -> usize {
        for _ in 0..ATTEMPTS_MAX {
            for i in 0..self.children.len() {
                if self.children[i].is_none() {
                    continue;
                }
                if let Ok(Frame::Bulk(info)) = self.call(i, &["INFO"]) {
                    if String::from_utf8_lossy(&info).contains("role:leader\r\n") {
                        return i;
                    }
                }
            }
            sleep(Duration::from_millis(100));
        }
        panic!("no node became leader");
    }
}

/// A bulk string frame.
pub fn bulk(s: &str) -> Frame {
    Frame::bulk(s.to_string())
}

/// The `u64` in env var `name`, or `default` when it is unset; a malformed value is an error.
pub fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}
