//! Operating a real cluster: `/metrics` and `/health` over HTTP, `distributed status`, the TOML
//! config file, and READONLY stale reads, against `distributed node` processes on loopback.
//!
//! ```text
//!   spawn n1 n2 n3 (explicit --metrics-listen) ──► SET via n1 ──► GET on every node
//!   ──► /health 200 on every node ──► /metrics shows term, role, proposals, WAL, peers, latency
//!   ──► `distributed status` prints a leader ──► READONLY GET on a follower answers locally
//!   one node of three alone ──► /health 503 (no leader) and `distributed status` exits 1
//!   bad TOML (unknown key, bad address, lease without check-quorum) ──► exit 2, key named
//! ```
//!
//! No timed assertions: every wait is a bounded number of attempts with a sleep between, and
//! the guard kills every child even when an assertion fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::Duration;

use server::clients::resp::Frame;

/// Attempts for anything that waits on an election or a reconnect (× 100 ms).
const ATTEMPTS_MAX: usize = 150;

/// Node processes with their ports; kills them all on drop.
struct Nodes {
    /// The processes, by node index.
    children: Vec<Child>,
    /// RESP ports by node index.
    resp: Vec<u16>,
    /// Metrics ports by node index.
    metrics: Vec<u16>,
    /// Keeps the data directories alive until the end.
    _dir: tempfile::TempDir,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Start `running` of `voters` nodes (the rest never start).
fn start(voters: usize, running: usize) -> Nodes {
    let ports = |_| free_port();
    let resp: Vec<u16> = (0..voters).map(ports).collect();
    let peer: Vec<u16> = (0..voters).map(ports).collect();
    let metrics: Vec<u16> = (0..voters).map(ports).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let peers: Vec<String> = peer
        .iter()
        .enumerate()
        .map(|(j, p)| format!("{}=127.0.0.1:{p}", j + 1))
        .collect();
    let children = (0..running)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_distributed"))
                .args(["node", "--id", &(i + 1).to_string()])
                .args(["--listen", &format!("127.0.0.1:{}", resp[i])])
                .args(["--peer-listen", &format!("127.0.0.1:{}", peer[i])])
                .args(["--metrics-listen", &format!("127.0.0.1:{}", metrics[i])])
                .args(["--peers", &peers.join(",")])
                .arg("--data-dir")
                .arg(dir.path().join(format!("n{}", i + 1)))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the distributed binary starts")
        })
        .collect();
    Nodes {
        children,
        resp,
        metrics,
        _dir: dir,
    }
}

/// Send one command on `stream` and read one reply.
fn send(stream: &mut TcpStream, words: &[&str]) -> Result<Frame, String> {
    let request = Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect());
    let mut out = bytes::BytesMut::new();
    server::clients::resp::encode(&request, &mut out);
    stream.write_all(&out).map_err(|e| e.to_string())?;
    let mut buf = bytes::BytesMut::new();
    let mut chunk = [0u8; 4096];
    loop {
        let limits = server::clients::resp::Limits::default();
        if let Some(f) =
            server::clients::resp::parse_frame(&mut buf, &limits).map_err(|e| e.to_string())?
        {
            return Ok(f);
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// Retry on a fresh connection until `check` holds; bounded.
fn eventually(port: u16, words: &[&str], check: impl Fn(&Frame) -> bool) -> Frame {
    let mut last = String::new();
    for _ in 0..ATTEMPTS_MAX {
        match connect(port).and_then(|mut s| send(&mut s, words)) {
            Ok(frame) if check(&frame) => return frame,
            Ok(frame) => last = format!("{frame:?}"),
            Err(e) => last = e,
        }
        sleep(Duration::from_millis(100));
    }
    panic!("port {port}: {words:?} never satisfied the check; last: {last}");
}

/// `GET path` over HTTP/1.1 (the test's client side); (status, body).
fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut stream = connect(port)?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

/// Poll `path` until `check` holds; bounded.
fn http_eventually(port: u16, path: &str, check: impl Fn(u16, &str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..ATTEMPTS_MAX {
        match http_get(port, path) {
            Ok((status, body)) if check(status, &body) => return body,
            Ok((status, body)) => last = format!("{status} {body}"),
            Err(e) => last = e,
        }
        sleep(Duration::from_millis(100));
    }
    panic!("port {port}: {path} never satisfied the check; last: {last}");
}

/// The value of the series named exactly `series` (name plus labels) in a scrape.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn distributed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distributed"))
        .args(args)
        .output()
        .expect("the distributed binary runs")
}

#[test]
fn metrics_health_status_and_readonly_reads_on_a_live_cluster() {
    let nodes = start(3, 3);
    let ok = Frame::Simple("OK".into());
    eventually(nodes.resp[0], &["SET", "k", "v"], |f| *f == ok);
    for &port in &nodes.resp {
        eventually(port, &["GET", "k"], |f| *f == Frame::bulk("v"));
    }
    for &port in &nodes.metrics {
        let body = http_eventually(port, "/health", |s, _| s == 200);
        assert!(body.contains("\"status\":\"ok\""), "{body}");
    }

    // An unknown command is an error answer, counted under a fixed label (never its name).
    let unknown = eventually(nodes.resp[0], &["NO-SUCH-COMMAND", "x"], |f| f.is_error());
    assert!(
        format!("{unknown}").contains("unknown command"),
        "{unknown}"
    );

    let scrapes: Vec<String> = nodes
        .metrics
        .iter()
        .map(|&p| http_get(p, "/metrics").expect("scrape").1)
        .collect();
    let sum = |series: &str| -> f64 { scrapes.iter().filter_map(|s| value(s, series)).sum() };
    assert!(sum("raft_role{role=\"leader\"}") >= 1.0, "a leader");
    assert!(sum("kv_proposals_total") >= 1.0, "the SET was proposed");
    assert!(sum("kv_reads_total{path=\"read-index\"}") >= 3.0, "GETs");
    assert!(sum("wal_fsyncs_total") >= 3.0, "every node synced its log");
    assert!(sum("peer_messages_sent_total{type=\"AppendEntries\"}") >= 1.0);
    assert!(sum("peer_messages_received_total{type=\"AppendEntriesResponse\"}") >= 1.0);
    assert!(sum("request_duration_seconds_count{command=\"set\"}") >= 1.0);
    assert_eq!(sum("snapshots_total{event=\"taken\"}"), 0.0);
    assert!(sum("errors_total{kind=\"unknown_command\"}") >= 1.0);
    assert!(
        scrapes.iter().all(|s| !s.contains("NO-SUCH")),
        "no label names a command"
    );
    for scrape in &scrapes {
        assert!(value(scrape, "raft_term").unwrap_or(0.0) >= 1.0, "{scrape}");
        assert!(
            scrape.contains("wal_sync_duration_seconds_bucket"),
            "{scrape}"
        );
        assert_eq!(value(scrape, "wal_healthy"), Some(1.0));
    }

    let addrs: Vec<String> = nodes
        .resp
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let out = distributed(&["status", "--addr", &addrs.join(",")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text.lines().count(),
        4,
        "a header and one line per node: {text}"
    );
    assert!(text.lines().any(|l| l.contains(" leader ")), "{text}");

    // READONLY: this connection's reads come from the node's own state machine.
    let follower = scrapes
        .iter()
        .position(|s| value(s, "raft_role{role=\"follower\"}") == Some(1.0))
        .expect("a follower");
    let mut conn = connect(nodes.resp[follower]).expect("connect");
    assert_eq!(send(&mut conn, &["READONLY"]), Ok(ok.clone()));
    assert_eq!(send(&mut conn, &["GET", "k"]), Ok(Frame::bulk("v")));
    let (_, scrape) = http_get(nodes.metrics[follower], "/metrics").expect("scrape");
    assert_eq!(value(&scrape, "kv_reads_total{path=\"stale\"}"), Some(1.0));
}

#[test]
fn a_node_without_a_majority_is_unhealthy_and_status_exits_1() {
    let nodes = start(3, 1);
    let body = http_eventually(nodes.metrics[0], "/health", |s, _| s == 503);
    assert!(body.contains("\"leader\":null"), "{body}");
    let addr = format!("127.0.0.1:{}", nodes.resp[0]);
    let out = distributed(&["status", "--addr", &addr]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no node reports a leader"));
}

#[test]
fn a_bad_config_file_exits_2_and_names_the_key() {
    let good = include_str!("../../../config/node.example.toml");
    let cases = [
        (format!("tick_mz = 5\n{good}"), "unknown field `tick_mz`"),
        (
            good.replace("listen = \"127.0.0.1:6379\"", "listen = \"localhost\""),
            "config key listen `localhost`",
        ),
        (
            good.replace("reads = \"read-index\"", "reads = \"lease\"")
                .replace("check_quorum = true", "check_quorum = false"),
            "reads = lease needs raft.check_quorum",
        ),
        (good.replace("tick_ms = 10", "tick_ms = 0"), "tick_ms"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, (text, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).expect("write config");
        let out = distributed(&["node", "--config", path.to_str().expect("utf-8 path")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{needle}: {stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
}
