//! `distributed bench` against a real three-node cluster, as compare.sh runs it.
//!
//! ```text
//!   spawn n1 n2 n3 ──► SET on every node until each answers (a leader exists, followers know it)
//!   ──► distributed bench --target resp://n1,n2,n3 --clients 6 --total 300 --read-ratio 0.5
//!       --preload --json - ──► the JSON report: shape, 300 requests, 0 errors, exit 0
//! ```
//!
//! No timing assertions: the report's latencies are checked for shape and order
//! (p50 ≤ p99 ≤ p99.9 ≤ max), never for values.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use server::clients::resp::Frame;

/// Attempts for anything that waits on an election (× 100 ms).
const ATTEMPTS_MAX: usize = 150;

/// Kills every node on drop, so a failed assertion leaves no process behind.
struct Cluster {
    /// The node processes.
    children: Vec<Child>,
    /// RESP ports by node index.
    resp: Vec<u16>,
    /// Keeps the data directories alive for the cluster's lifetime.
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
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

fn start(n: usize) -> Cluster {
    let resp: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let peer: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let peers: Vec<String> = peer
        .iter()
        .enumerate()
        .map(|(j, p)| format!("{}=127.0.0.1:{p}", j + 1))
        .collect();
    let children = (0..n)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_distributed"))
                .args(["node", "--id", &(i + 1).to_string()])
                .args(["--listen", &format!("127.0.0.1:{}", resp[i])])
                .args(["--peer-listen", &format!("127.0.0.1:{}", peer[i])])
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
    Cluster {
        children,
        resp,
        _dir: dir,
    }
}

/// One blocking RESP round trip.
fn call(port: u16, words: &[&str]) -> Result<Frame, String> {
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
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

/// Until node `port` acknowledges a write; bounded.
fn wait_until_it_writes(port: u16) {
    let mut last = String::new();
    for _ in 0..ATTEMPTS_MAX {
        match call(port, &["SET", "ready", "1"]) {
            Ok(Frame::Simple(s)) if s == "OK" => return,
            Ok(other) => last = other.to_string(),
            Err(e) => last = e,
        }
        sleep(Duration::from_millis(100));
    }
    panic!("port {port} never acknowledged a write; last: {last}");
}

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_distributed"))
        .arg("bench")
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn a_bench_of_a_three_node_cluster_reports_every_request_and_no_errors_as_json() {
    let cluster = start(3);
    for &port in &cluster.resp {
        wait_until_it_writes(port);
    }
    let target = format!(
        "resp://{}",
        cluster
            .resp
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let out = bench(&[
        "--target",
        &target,
        "--clients",
        "6",
        "--total",
        "300",
        "--read-ratio",
        "0.5",
        "--keys",
        "100",
        "--preload",
        "--json",
        "-",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(report["backend"], "resp");
    assert_eq!(report["target"], target.as_str());
    assert_eq!(report["clients"], 6);
    assert_eq!(report["consistency"], "linearizable");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["errors_by_kind"], serde_json::json!({}));
    assert_eq!(
        report["requests"], 300,
        "a --total run measures exactly that many"
    );
    let reads = report["reads"]["requests"]
        .as_u64()
        .expect("reads.requests");
    let writes = report["writes"]["requests"]
        .as_u64()
        .expect("writes.requests");
    assert_eq!(reads + writes, 300);
    assert!(reads > 0 && writes > 0, "a 50/50 mix of 300 has both");
    assert!(report["throughput_rps"].as_f64().expect("throughput") > 0.0);
    assert!(report["elapsed_s"].as_f64().expect("elapsed") > 0.0);
    let l = &report["latency_us"];
    let at = |k: &str| l[k].as_u64().unwrap_or_else(|| panic!("latency_us.{k}"));
    assert!(at("p50") <= at("p99") && at("p99") <= at("p999") && at("p999") <= at("max"));
    assert!(at("p50") >= 1);
    // The preload wrote every key, so a read of key 42 finds the bench's value.
    let value = call(cluster.resp[0], &["GET", "00000042"]).expect("GET answers");
    assert_eq!(value, Frame::bulk(vec![b'v'; 256]));
    // Serializable reads go over READONLY connections, which every node of ours accepts.
    let out = bench(&[
        "--target",
        &target,
        "--clients",
        "3",
        "--total",
        "90",
        "--read-ratio",
        "1",
        "--keys",
        "100",
        "--consistency",
        "serializable",
        "--json",
        "-",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(report["consistency"], "serializable");
    assert_eq!(
        (report["errors"].clone(), report["requests"].clone()),
        (0.into(), 90.into())
    );
}

#[test]
fn bad_bench_flags_are_a_clear_error_with_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--target", "tcp://127.0.0.1:1"], "expected resp://"),
        (
            &["--target", "resp://127.0.0.1:1", "--read-ratio", "2"],
            "--read-ratio 2",
        ),
        (
            &["--target", "resp://127.0.0.1:1", "--nonsense"],
            "--nonsense",
        ),
    ];
    for (args, needle) in cases {
        let out = bench(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unreachable_target_fails_before_measuring_with_exit_code_1() {
    let port = free_port();
    let out = bench(&[
        "--target",
        &format!("resp://127.0.0.1:{port}"),
        "--total",
        "5",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot connect to 127.0.0.1:"), "{stderr}");
}
