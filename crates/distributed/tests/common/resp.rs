//! A blocking RESP client over `std::net::TcpStream`, built on the server crate's own codec
//! (`server::clients::resp::{encode, parse_frame}`), so the tests speak exactly what the server parses.
//!
//! ```text
//!   Conn::connect(port) ──► call(["SET","k","v"]) ──encode──► socket ──► read until one frame
//!                              └── Err(..) on connect failure, read timeout, or a closed socket
//! ```
//!
//! A connection whose call failed is dropped by the caller: a late reply would otherwise be
//! taken for the answer to the next request.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::BytesMut;
use server::clients::resp::{encode, parse_frame, Frame, Limits};

/// How long one reply may take before the call counts as "no answer". Longer than an election
/// (100–200 ms) and a forward timeout's worth of retries is not needed: the workload records
/// a timed-out operation as having an unknown outcome.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// One client connection to a node's RESP port.
pub struct Conn {
    /// The socket, with `REPLY_TIMEOUT` as its read timeout.
    stream: TcpStream,
    /// Bytes read but not yet parsed (a reply may arrive in pieces).
    buf: BytesMut,
}

impl Conn {
    /// Connect to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Result<Conn, String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stream = TcpStream::connect_timeout(&addr, REPLY_TIMEOUT)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(REPLY_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: BytesMut::new(),
        })
    }

    /// Send one command as an array of bulk strings and wait for its reply.
    pub fn call(&mut self, words: &[&str]) -> Result<Frame, String> {
        let request = Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect());
        let mut out = BytesMut::new();
        encode(&request, &mut out);
        self.send_raw(&out)?;
        self.read_frame()
    }

    /// Write bytes as they are, framed or not.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))
    }

    /// The next reply frame; `Err("closed")` if the server closed the connection first.
    pub fn read_frame(&mut self) -> Result<Frame, String> {
        let limits = Limits::default();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(f) = parse_frame(&mut self.buf, &limits).map_err(|e| e.to_string())? {
                return Ok(f);
            }
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// True once the server has closed its end (reads EOF or a reset), after reading and
    /// discarding anything it sent first. `Err` if it neither closes nor sends in time.
    pub fn closed_by_server(&mut self) -> Result<bool, String> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(true),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(true),
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }
}

/// One request on a fresh connection.
pub fn call(port: u16, words: &[&str]) -> Result<Frame, String> {
    Conn::connect(port)?.call(words)
}
