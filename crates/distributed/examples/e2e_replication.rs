//! Replication end to end: three real nodes (the `server` crate: RESP, Raft over TCP, a WAL on
//! disk) on loopback in one process. Write a key through one node, then read it back from every
//! node, both linearizably and from each node's own copy.
//!
//! ```text
//!   cargo run -p distributed --example e2e_replication
//!
//!   n1 n2 n3 ◄──Raft over TCP──► elect a leader
//!   client ── SET test hello ──► n1 (forwarded to the leader if n1 follows) ── committed
//!   client ── GET test ────────► n1, n2, n3   ReadIndex: linearizable, any node
//!   client ── READONLY; GET ───► n1, n2, n3   each node's local state machine: proves the
//!                                             value was replicated to every copy
//! ```
//!
//! Ports are picked free at start (not fixed ones like 8001-8003) so the example never fails
//! because something else holds a port. Data lives in a temporary directory removed at the end.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use bytes::BytesMut;
use distributed_core::NodeId;
use server::clients::resp::{encode, parse_frame, Frame, Limits};
use server::NodeConfig;

/// Nodes in the cluster.
const NODES: u64 = 3;
/// Most attempts at anything that waits for an election or replication (× 50 ms).
const ATTEMPTS_MAX: usize = 400;

fn free_addr() -> Result<SocketAddr, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map_err(|e| e.to_string())
}

/// Send commands on one connection, one reply each.
fn call(addr: SocketAddr, commands: &[&[&str]]) -> Result<Vec<Frame>, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut replies = Vec::new();
    let mut buf = BytesMut::new();
    for words in commands {
        let mut out = BytesMut::new();
        let frame = Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect());
        encode(&frame, &mut out);
        stream.write_all(&out).map_err(|e| e.to_string())?;
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(f) = parse_frame(&mut buf, &Limits::default()).map_err(|e| e.to_string())? {
                replies.push(f);
                break;
            }
            let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("{addr} closed the connection"));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    Ok(replies)
}

/// Retry `commands` until the last reply satisfies `done`; bounded.
fn until(
    addr: SocketAddr,
    commands: &[&[&str]],
    done: impl Fn(&Frame) -> bool,
) -> Result<Frame, String> {
    let mut last = String::new();
    for _ in 0..ATTEMPTS_MAX {
        match call(addr, commands) {
            Ok(mut replies) => match replies.pop() {
                Some(f) if done(&f) => return Ok(f),
                other => last = format!("{other:?}"),
            },
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "{addr}: {commands:?} never succeeded; last: {last}"
    ))
}

/// The `key:value` INFO field `key` of a node.
fn info_field(addr: SocketAddr, key: &str) -> Option<String> {
    let Ok(mut replies) = call(addr, &[&["INFO"]]) else {
        return None;
    };
    let Some(Frame::Bulk(info)) = replies.pop() else {
        return None;
    };
    let text = String::from_utf8_lossy(&info).into_owned();
    let prefix = format!("{key}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// Start the cluster, replicate one key, read it everywhere; `Ok` if every node had it.
pub fn run(out: &mut dyn Write) -> Result<(), String> {
    let mut say = |line: String| writeln!(out, "[info] {line}").map_err(|e| e.to_string());
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut configs = Vec::new();
    let peers: Vec<(NodeId, SocketAddr)> = (1..=NODES)
        .map(|i| free_addr().map(|a| (NodeId(i), a)))
        .collect::<Result<_, _>>()?;
    for &(id, peer) in &peers {
        let listen = free_addr()?;
        let data = dir.path().join(format!("n{}", id.0));
        let mut config = NodeConfig::new(id, listen, peer, peers.iter().copied().collect(), data);
        config.metrics_listen = free_addr()?;
        configs.push(config);
    }
    say(format!(
        "starting a {NODES}-node replicated KV cluster on loopback"
    ))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    for config in &configs {
        say(format!(
            "node {}: clients on {}, peers on {}",
            config.id.0, config.listen, config.peer_listen
        ))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        tasks.push(runtime.spawn(server::run_node(config.clone(), shutdown)));
        stops.push(stop);
    }
    let result = replicate(&configs, &mut say);
    for stop in stops {
        let _ = stop.send(());
    }
    for task in tasks {
        match runtime.block_on(task) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("a node failed: {e}")),
            Err(e) => return Err(format!("a node task panicked: {e}")),
        }
    }
    result
}

fn replicate(
    configs: &[NodeConfig],
    say: &mut dyn FnMut(String) -> Result<(), String>,
) -> Result<(), String> {
    let first = configs[0].listen;
    let mut leader = None;
    for _ in 0..ATTEMPTS_MAX {
        leader = info_field(first, "leader").filter(|l| l != "none");
        if leader.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let leader = leader.ok_or("no leader was elected")?;
    say(format!("leader elected: {leader}"))?;
    say("replication test: writing key=test value=hello through node 1".into())?;
    let ok = Frame::Simple("OK".into());
    until(first, &[&["SET", "test", "hello"]], |f| *f == ok)?;
    let hello = Frame::bulk("hello");
    for config in configs {
        until(config.listen, &[&["GET", "test"]], |f| *f == hello)?;
        // READONLY: answered from this node's own state machine, so this shows the copy exists
        // on every node (it may lag for a moment, hence the retries).
        until(config.listen, &[&["READONLY"], &["GET", "test"]], |f| {
            *f == hello
        })?;
        say(format!(
            "node {}: GET test = \"hello\" (linearizable, and in its local copy)",
            config.id.0
        ))?;
    }
    say(format!(
        "replication test: all {} nodes return the value - SUCCESS",
        configs.len()
    ))
}

#[allow(dead_code)] // a test includes this file as a module and calls `run`
fn main() {
    if let Err(e) = run(&mut std::io::stdout()) {
        eprintln!("[error] {e}");
        std::process::exit(1);
    }
}
