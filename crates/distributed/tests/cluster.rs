//! A real three-node cluster on loopback, as a user runs it: `distributed node` processes,
//! RESP over TCP, a kill -9, a restart from the WAL.
//!
//! ```text
//!   spawn n1 n2 n3 ──► SET k v via n1 (forwarded if n1 follows) ──► GET k on every node
//!   kill -9 n3 ──► SET k2 v2 still commits (2 of 3) ──► restart n3 on the same data dir
//!   ──► n3 replays its WAL and catches up: INFO on n3 shows keys:2, GET k2 on n3 answers v2
//! ```
//!
//! No timed assertions: every wait is a bounded number of attempts with a sleep between, and
//! the guard kills every child even when an assertion fails.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use server::resp::Frame;

/// Attempts for anything that waits on an election or a reconnect (× 100 ms).
const ATTEMPTS_MAX: usize = 150;

/// Kills every node it holds on drop, so a failed assertion leaves no process behind.
struct Cluster {
    /// One slot per node; `None` while a node is down.
    children: Vec<Option<Child>>,
    /// RESP ports by node index.
    resp: Vec<u16>,
    /// Peer ports by node index.
    peer: Vec<u16>,
    /// The data directory root.
    dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

impl Cluster {
    fn start(n: usize) -> Cluster {
        let mut c = Cluster {
            children: Vec::new(),
            resp: (0..n).map(|_| free_port()).collect(),
            peer: (0..n).map(|_| free_port()).collect(),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        for i in 0..n {
            let child = c.spawn(i);
            c.children.push(Some(child));
        }
        c
    }

    fn spawn(&self, i: usize) -> Child {
        let peers: Vec<String> = self
            .peer
            .iter()
            .enumerate()
            .map(|(j, p)| format!("{}=127.0.0.1:{p}", j + 1))
            .collect();
        let data: &Path = self.dir.path();
        Command::new(env!("CARGO_BIN_EXE_distributed"))
            .args(["node", "--id", &(i + 1).to_string()])
            .args(["--listen", &format!("127.0.0.1:{}", self.resp[i])])
            .args(["--peer-listen", &format!("127.0.0.1:{}", self.peer[i])])
            .args(["--peers", &peers.join(",")])
            .arg("--data-dir")
            .arg(data.join(format!("n{}", i + 1)))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the distributed binary starts")
    }

    fn call(&self, i: usize, words: &[&str]) -> Result<Frame, String> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        call(&format!("127.0.0.1:{}", self.resp[i]), &words)
    }

    /// Send until the reply is not a TRYAGAIN or a connection failure; bounded.
    fn call_until_answered(&self, i: usize, words: &[&str]) -> Frame {
        let mut last = String::new();
        for _ in 0..ATTEMPTS_MAX {
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
    fn eventually(&self, i: usize, words: &[&str], check: impl Fn(&Frame) -> bool) -> Frame {
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
}

/// The same blocking client `distributed kv` uses, inlined: the binary's modules are private.
fn call(addr: &str, words: &[String]) -> Result<Frame, String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let request = Frame::Array(words.iter().map(|w| Frame::bulk(w.clone())).collect());
    let mut out = bytes::BytesMut::new();
    server::resp::encode(&request, &mut out);
    stream.write_all(&out).map_err(|e| e.to_string())?;
    let mut buf = bytes::BytesMut::new();
    let mut chunk = [0u8; 4096];
    loop {
        let limits = server::resp::Limits::default();
        if let Some(f) = server::resp::parse_frame(&mut buf, &limits).map_err(|e| e.to_string())? {
            return Ok(f);
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn bulk(s: &str) -> Frame {
    Frame::bulk(s.to_string())
}

#[test]
fn a_three_node_cluster_replicates_survives_a_kill_and_a_restarted_node_catches_up() {
    let mut cluster = Cluster::start(3);
    let ok = Frame::Simple("OK".into());
    assert_eq!(cluster.call_until_answered(0, &["SET", "k", "v"]), ok);
    for i in 0..3 {
        assert_eq!(
            cluster.call_until_answered(i, &["GET", "k"]),
            bulk("v"),
            "GET on n{}",
            i + 1
        );
    }

    // Raft §5.3: with n3 gone, n1 and n2 are still a majority.
    let mut n3 = cluster.children[2].take().expect("n3 runs");
    n3.kill().expect("kill -9 n3");
    n3.wait().expect("reap n3");
    assert_eq!(cluster.call_until_answered(0, &["SET", "k2", "v2"]), ok);
    assert_eq!(cluster.call_until_answered(1, &["GET", "k2"]), bulk("v2"));

    // n3 restarts from its WAL and learns k2 from the leader.
    cluster.children[2] = Some(cluster.spawn(2));
    cluster.eventually(
        2,
        &["INFO"],
        |f| matches!(f, Frame::Bulk(b) if String::from_utf8_lossy(b).contains("keys:2\r\n")),
    );
    assert_eq!(cluster.call_until_answered(2, &["GET", "k2"]), bulk("v2"));
    assert_eq!(
        cluster.call_until_answered(2, &["INCR", "n"]),
        Frame::Integer(1)
    );
}

#[test]
fn garbage_on_the_peer_port_closes_that_connection_and_the_node_keeps_serving() {
    use std::io::Write;
    let cluster = Cluster::start(1);
    let ok = Frame::Simple("OK".into());
    assert_eq!(
        cluster.call_until_answered(0, &["SET", "a", "0"]),
        ok,
        "the node is up"
    );
    let mut stranger =
        std::net::TcpStream::connect(("127.0.0.1", cluster.peer[0])).expect("connect to peer port");
    stranger
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .expect("write garbage");
    assert_eq!(
        cluster.call_until_answered(0, &["SET", "a", "1"]),
        Frame::Simple("OK".into())
    );
    assert_eq!(cluster.call_until_answered(0, &["GET", "a"]), bulk("1"));
}

#[test]
fn a_bad_node_config_is_a_clear_error_with_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--id", "4", "--peers", "1=127.0.0.1:1"],
            "--id 4 is not one of --peers",
        ),
        (&["--id", "1", "--peers", "1=localhost:1"], "not an IP:PORT"),
        (
            &["--id", "1", "--peers", "1=127.0.0.1:1", "--tick-ms", "0"],
            "--tick-ms 0",
        ),
    ];
    for (args, needle) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_distributed"))
            .args([
                "node",
                "--listen",
                "127.0.0.1:1",
                "--peer-listen",
                "127.0.0.1:2",
            ])
            .args(["--data-dir", "/nonexistent"])
            .args(*args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
