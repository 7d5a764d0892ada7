//! `distributed kv`: a small RESP client for one-off commands against any node.
//!
//! ```text
//!   distributed kv --addr 127.0.0.1:6379 set k v      →  OK
//!   distributed kv --addr 127.0.0.1:6379 get k        →  "v"
//!   distributed kv --addr 127.0.0.1:6379 cas k v w    →  1) (integer) 1  2) "w"
//!   connect ─► *n RESP array ─► read one frame (bounded) ─► print like redis-cli
//!   exit 0 reply · 1 error reply or connection failure · 2 bad arguments
//! ```

use std::io::{Read, Write};
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

/// Send one command and read its reply.
pub fn call(addr: &str, words: &[String]) -> Result<Frame, String> {
    let mut stream =
        TcpStream::connect(addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = Frame::Array(words.iter().map(|w| Frame::bulk(w.clone())).collect());
    let mut out = BytesMut::new();
    encode(&request, &mut out);
    stream
        .write_all(&out)
        .map_err(|e| format!("write to {addr}: {e}"))?;
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 16 << 10];
    loop {
        if let Some(frame) = parse_frame(&mut buf, &Limits::default()).map_err(|e| e.to_string())? {
            return Ok(frame);
        }
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("read from {addr}: {e}"))?;
        if n == 0 {
            return Err(format!("{addr} closed the connection before answering"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

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
        Frame::Map(pairs) => {
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
