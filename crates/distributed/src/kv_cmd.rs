//! `distributed kv`: a small RESP client for one-off commands against any node.
//!
//! ```text
//!   distributed kv --addr 127.0.0.1:6379 set k v      →  OK
//!   distributed kv --addr 127.0.0.1:6379 get k        →  "v"
//!   distributed kv --addr 127.0.0.1:6379 cas k v w    →  1) (integer) 1  2) "w"
//!   connect ─► *n RESP array ─► read one frame (bounded) ─► print like redis-cli
//!   a first byte that starts no RESP reply (`+ - : $ *`) ─► error at once, bytes shown
//!   no reply within 10 s, or a close before one ─► error naming the address
//!   exit 0 reply · 1 error reply, non-RESP reply or connection failure · 2 bad arguments
//! ```
//!
//! A port that speaks something else (the node's peer or metrics port, an HTTP server) is
//! refused by the reply's first byte rather than parsed: the RESP parser also reads a request's
//! inline form (`GET k\r\n`), which would turn `HTTP/1.1 400 …` into an array of words.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use clap::{Args, Subcommand};
use server::clients::resp::{encode, parse_frame, Frame, Limits};

/// Flags of `distributed kv`.
#[derive(Args, Debug)]
pub struct KvArgs {
    /// A node's RESP address.
    #[arg(long, default_value = "127.0.0.1:6379")]
    addr: String,
    #[command(subcommand)]
    op: Op,
}

#[derive(Subcommand, Debug)]
enum Op {
    /// Read a key.
    Get { key: String },
    /// Write a key (`--nx`: only if absent, `--xx`: only if present).
    Set {
        key: String,
        value: String,
        #[arg(long, conflicts_with = "xx")]
        nx: bool,
        #[arg(long)]
        xx: bool,
    },
    /// Delete keys.
    Del { keys: Vec<String> },
    /// Compare-and-set: write NEW only if KEY holds EXPECTED.
    Cas {
        key: String,
        expected: String,
        new: String,
    },
    /// The node's status (role, term, leader, indexes).
    Info,
}

fn words(op: Op) -> Vec<String> {
    match op {
        Op::Get { key } => vec!["GET".into(), key],
        Op::Set { key, value, nx, xx } => {
            let mut w = vec!["SET".into(), key, value];
            w.extend(nx.then(|| "NX".to_string()));
            w.extend(xx.then(|| "XX".to_string()));
            w
        }
        Op::Del { keys } => std::iter::once("DEL".to_string()).chain(keys).collect(),
        Op::Cas { key, expected, new } => vec!["CAS".into(), key, expected, new],
        Op::Info => vec!["INFO".into()],
    }
}

/// How long a reply may take before the call gives up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The first byte of every RESP2 reply: simple string, error, integer, bulk string, array.
const RESP_REPLY_FIRST_BYTES: &[u8] = b"+-:$*";

/// Bytes of a non-RESP reply quoted in the error.
const QUOTED_BYTES_MAX: usize = 40;

/// Send one command and read its reply.
pub fn call(addr: &str, words: &[String]) -> Result<Frame, String> {
    let mut stream =
        TcpStream::connect(addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(REPLY_TIMEOUT));
    let request = Frame::Array(words.iter().map(|w| Frame::bulk(w.clone())).collect());
    let mut out = BytesMut::new();
    encode(&request, &mut out);
    stream
        .write_all(&out)
        .map_err(|e| format!("write to {addr}: {e}"))?;
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 16 << 10];
    loop {
        if let Some(&first) = buf.first() {
            if !RESP_REPLY_FIRST_BYTES.contains(&first) {
                return Err(format!(
                    "{addr} did not answer in RESP: its reply starts \"{}\"; {}",
                    buf[..buf.len().min(QUOTED_BYTES_MAX)].escape_ascii(),
                    CLIENT_PORT_HINT
                ));
            }
        }
        let parsed = parse_frame(&mut buf, &Limits::default())
            .map_err(|e| format!("{addr} sent a malformed RESP reply: {e}"))?;
        if let Some(frame) = parsed {
            return Ok(frame);
        }
        let n = stream.read(&mut chunk).map_err(|e| match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => format!(
                "no reply from {addr} within {} s; {CLIENT_PORT_HINT}",
                REPLY_TIMEOUT.as_secs()
            ),
            _ => format!("read from {addr}: {e}"),
        })?;
        if n == 0 {
            return Err(format!(
                "{addr} closed the connection before answering; {CLIENT_PORT_HINT}"
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// What to check when a port does not answer like a node's client port.
const CLIENT_PORT_HINT: &str = "is it a node's client (RESP) port, its --listen? \
     The peer and metrics ports speak other protocols";

/// redis-cli's way of printing a reply.
pub fn show(frame: &Frame, indent: usize) -> String {
    match frame {
        Frame::Simple(s) => s.clone(),
        Frame::Error(e) => format!("(error) {e}"),
        Frame::Integer(n) => format!("(integer) {n}"),
        Frame::Bulk(b) => match std::str::from_utf8(b) {
            Ok(s) if s.contains('\n') => s.to_string(),
            _ => format!("{:?}", String::from_utf8_lossy(b)),
        },
        Frame::Null | Frame::NullArray => "(nil)".into(),
        Frame::Double(d) => format!("(double) {}", String::from_utf8_lossy(d)),
        Frame::Map(pairs) | Frame::Pairs(pairs) => {
            let flat: Vec<Frame> = pairs
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect();
            show(&Frame::Array(flat), indent)
        }
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) if items.is_empty() => {
            "(empty array)".into()
        }
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => items
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{:indent$}{}) {}", "", i + 1, show(f, indent + 3)))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Run one command; the exit code.
pub fn run(args: KvArgs) -> u8 {
    match call(&args.addr, &words(args.op)) {
        Ok(frame) => {
            println!("{}", show(&frame, 0));
            u8::from(matches!(frame, Frame::Error(_)))
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
