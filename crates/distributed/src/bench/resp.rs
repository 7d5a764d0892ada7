//! The RESP backend: one TCP connection per client, one request in flight, no pipelining.
//!
//! ```text
//!   SET: *3 $3 SET $k key $v value ──► expect +OK
//!   GET: *2 $3 GET $k key          ──► expect $n value | $-1 (missing)
//!   -CODE … ──► error kind "server:CODE"      any other reply ──► "unexpected-reply"
//!   io error / timeout ──► drop the socket; the next request reconnects (kind "connect" if not)
//!   serializable: every (re)connect first sends READONLY ──► expect +OK (our server's opt-in
//!                 to local, possibly stale reads; redis-server outside cluster mode refuses it)
//! ```
//!
//! Requests are encoded straight into one reused buffer rather than through `resp::Frame`,
//! because the generator shares the machine's cores with the servers it measures and a
//! `Frame` per request is an allocation per word; a unit test checks the bytes parse back as
//! the frame the server would see. Replies go through the server's own bounded parser.

use bytes::BytesMut;
use server::clients::resp::{parse_frame, Frame, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes asked of each read call; replies are small (a status or one value).
const READ_CHUNK_BYTES: usize = 16 << 10;

/// One client's connection to one endpoint.
pub struct RespConn {
    /// `host:port` to (re)connect to.
    addr: String,
    /// The socket; `None` after an error until the next request reconnects.
    stream: Option<TcpStream>,
    /// Bytes read but not yet parsed into a reply.
    inbuf: BytesMut,
    /// The request being sent, reused across requests.
    outbuf: Vec<u8>,
    /// Bounds on a reply, the same the server applies to requests.
    limits: Limits,
    /// Serializable reads: switch each new connection to READONLY before using it.
    readonly: bool,
}

/// What a request expects back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `+OK`.
    Ok,
    /// A bulk string or null.
    Value,
}

impl RespConn {
    /// Connect now, so an unreachable endpoint (or one that refuses READONLY when `readonly`)
    /// fails the run before it starts.
    pub async fn connect(addr: &str, readonly: bool) -> Result<RespConn, String> {
        let mut conn = RespConn {
            addr: addr.to_string(),
            stream: None,
            inbuf: BytesMut::with_capacity(READ_CHUNK_BYTES),
            outbuf: Vec::new(),
            limits: Limits::default(),
            readonly,
        };
        conn.reconnect()
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        if readonly && conn.stream.is_none() {
            return Err(format!(
                "{addr} refused READONLY: serializable reads are not supported by this server"
            ));
        }
        Ok(conn)
    }

    async fn reconnect(&mut self) -> std::io::Result<()> {
        let stream = TcpStream::connect(&self.addr).await?;
        stream.set_nodelay(true)?;
        self.stream = Some(stream);
        self.inbuf.clear();
        if self.readonly {
            encode_command(&[b"READONLY"], &mut self.outbuf);
            match self.round_trip().await {
                Ok(Frame::Simple(s)) if s == "OK" => {}
                _ => self.stream = None,
            }
        }
        Ok(())
    }

    /// Forget the socket (after an error or a timeout left a reply in flight).
    pub fn break_off(&mut self) {
        self.stream = None;
    }

    /// Send one command and wait for its reply; the error kind on failure.
    pub async fn call(&mut self, words: &[&[u8]], expect: Expect) -> Result<(), String> {
        if self.stream.is_none() {
            let _ = self.reconnect().await;
            if self.stream.is_none() {
                return Err("connect".into());
            }
        }
        encode_command(words, &mut self.outbuf);
        let result = self.round_trip().await;
        if result.is_err() {
            self.break_off();
        }
        match result? {
            Frame::Simple(s) if expect == Expect::Ok && s == "OK" => Ok(()),
            Frame::Bulk(_) | Frame::Null if expect == Expect::Value => Ok(()),
            Frame::Error(e) => {
                let code = e.split_whitespace().next().unwrap_or("ERR");
                Err(format!("server:{code}"))
            }
            _ => Err("unexpected-reply".into()),
        }
    }

    async fn round_trip(&mut self) -> Result<Frame, String> {
        let stream = self.stream.as_mut().expect("connected above");
        stream
            .write_all(&self.outbuf)
            .await
            .map_err(|_| "io".to_string())?;
        loop {
            match parse_frame(&mut self.inbuf, &self.limits) {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(_) => return Err("protocol".into()),
            }
            self.inbuf.reserve(READ_CHUNK_BYTES);
            match stream.read_buf(&mut self.inbuf).await {
                Ok(0) => return Err("closed".into()),
                Ok(_) => {}
                Err(_) => return Err("io".into()),
            }
        }
    }
}

/// `words` as a RESP array of bulk strings, replacing `out`.
pub fn encode_command(words: &[&[u8]], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(format!("*{}\r\n", words.len()).as_bytes());
    for w in words {
        out.extend_from_slice(format!("${}\r\n", w.len()).as_bytes());
        out.extend_from_slice(w);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_command_parses_back_as_the_array_the_server_sees() {
        let mut out = Vec::new();
        encode_command(&[b"SET", b"00000001", b"\r\nbinary\0"], &mut out);
        let mut buf = BytesMut::from(&out[..]);
        let frame = parse_frame(&mut buf, &Limits::default()).expect("valid");
        assert_eq!(
            frame,
            Some(Frame::Array(vec![
                Frame::bulk(&b"SET"[..]),
                Frame::bulk(&b"00000001"[..]),
                Frame::bulk(&b"\r\nbinary\0"[..]),
            ]))
        );
        assert!(buf.is_empty(), "nothing left over");
    }

    #[tokio::test]
    async fn connecting_to_a_closed_port_is_a_clear_error() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let err = RespConn::connect(&format!("127.0.0.1:{port}"), false)
            .await
            .err()
            .expect("nothing listens there");
        assert!(err.starts_with("cannot connect to 127.0.0.1:"), "{err}");
    }
}
