//! One RESP client connection: parse pipelined commands, hand them to the node task, answer
//! in order.
//!
//! ```text
//!   socket ──read──► parse_frame* ──► interpret ─┬─ Reply(frame) ───────────► slot Ready(frame)
//!                                                ├─ Kv(cmd) ─► Event::Client ─► slot Wait(rx)
//!                                                ├─ Kv(read) on a READONLY connection
//!                                                │      ─► Event::StaleRead ─► slot Wait(rx)
//!                                                ├─ Status ──► Event::Status ─► slot Wait(rx)
//!                                                └─ Quit / protocol error ───► slot Close(frame)
//!   slots (bounded FIFO, 1024) ──► writer task: await each in order, encode, write when the
//!                                   FIFO is momentarily empty (one write per pipeline burst)
//! ```
//!
//! Sessions (Raft dissertation §6.3): each connection is one kv client. Writes carry its
//! `client_id` and a `seq` that grows by one per write, so a request retried by forwarding is
//! applied at most once; reads use client 0 (no session: replaying a read is harmless).
//! `client_id = node (8 bits) | boot nonce (24 bits) | connection counter (32 bits)`: unique
//! across nodes, across restarts of one node (with high probability), and within one run.
//!
//! `READONLY` (Redis Cluster's command for reading from replicas) switches this connection's
//! GET, MGET and EXISTS to the local state machine: fast, served by any node, and possibly stale
//! (not linearizable; not even read-your-writes). `READWRITE` switches back. Writes are never
//! affected. The time from a command's arrival to its reply being ready goes to
//! `request_duration_seconds{command}`; for a pipelined command this includes waiting for the
//! replies before it, which is what the client sees.
//!
//! Known gap: a connection whose session was evicted (more than `sessions_max` other clients
//! wrote since) gets `NOSESSION` errors for its writes; reconnecting starts a fresh session.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use kv::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::command::{interpret, Action};
use crate::config::NodeConfig;
use crate::metrics::Metrics;
use crate::node::{needs_no_session, Event};
use crate::resp::{encode, parse_frame, Frame, Limits};

/// Most replies one connection may have outstanding; a client pipelining more waits.
const PIPELINE_REPLIES_MAX: usize = 1024;
/// Flush the send buffer once it holds this much, even mid-burst.
const WRITE_BYTES_MAX: usize = 64 << 10;

/// An answer in the connection's reply order.
enum Slot {
    /// Known at once.
    Ready(Frame),
    /// Comes from the node task.
    Wait {
        /// The answer.
        rx: oneshot::Receiver<Frame>,
        /// The command's name, the latency histogram's label.
        command: &'static str,
        /// When the command was read, for the latency histogram.
        started: Instant,
    },
    /// Write this, then close the connection.
    Close(Frame),
}

/// What every connection of one node shares.
#[derive(Clone)]
pub struct Clients {
    /// The node task's inbox.
    events: mpsc::Sender<Event>,
    /// Frame bounds.
    limits: Limits,
    /// The high 32 bits of every client id of this process (node and boot nonce).
    id_prefix: u64,
    /// Connections accepted so far: the low 32 bits of the client id.
    accepted: Arc<AtomicU64>,
    /// Connection counts, request latencies, protocol errors.
    metrics: Arc<Metrics>,
}

/// What one connection remembers between commands.
struct Conn {
    /// This connection's session id.
    client_id: u64,
    /// The last write's sequence number in the session.
    seq: u64,
    /// True after READONLY: reads are served locally, possibly stale.
    readonly: bool,
}

impl Clients {
    /// Client ids for node `config.id`, with `nonce` telling this boot from earlier ones.
    pub fn new(
        events: mpsc::Sender<Event>,
        config: &NodeConfig,
        nonce: u64,
        metrics: Arc<Metrics>,
    ) -> Clients {
        let node = config.id.0;
        let id_prefix = ((node & 0xff) << 56) | ((nonce & 0xff_ffff) << 32);
        Clients {
            events,
            limits: config.resp_limits.clone(),
            id_prefix,
            accepted: Arc::new(AtomicU64::new(0)),
            metrics,
        }
    }

    /// Accept connections forever.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    let n = self.accepted.fetch_add(1, Ordering::Relaxed) + 1;
                    let client_id = self.id_prefix | (n & 0xffff_ffff);
                    let this = self.clone();
                    self.metrics.client_connections_total.inc();
                    self.metrics.client_connections.inc();
                    tokio::spawn(async move {
                        if let Err(e) = this.connection(stream, client_id).await {
                            debug!("client {addr}: {e}");
                        }
                        this.metrics.client_connections.dec();
                    });
                }
                Err(e) => {
                    warn!("client accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn connection(&self, stream: TcpStream, client_id: u64) -> std::io::Result<()> {
        let _ = stream.set_nodelay(true);
        let (mut rd, wr) = stream.into_split();
        let (slots, slots_rx) = mpsc::channel(PIPELINE_REPLIES_MAX);
        let writer = tokio::spawn(write_replies(wr, slots_rx, self.metrics.clone()));
        let mut buf = BytesMut::with_capacity(16 << 10);
        let mut conn = Conn {
            client_id,
            seq: 0,
            readonly: false,
        };
        'read: loop {
            loop {
                let slot = match parse_frame(&mut buf, &self.limits) {
                    Ok(None) => break,
                    Ok(Some(frame)) => self.slot_for(frame, &mut conn).await,
                    Err(e) => {
                        self.metrics.error("protocol");
                        Slot::Close(e.to_frame())
                    }
                };
                let closing = matches!(slot, Slot::Close(_));
                if slots.send(slot).await.is_err() || closing {
                    break 'read;
                }
            }
            if rd.read_buf(&mut buf).await? == 0 {
                break;
            }
        }
        drop(slots);
        writer.await.unwrap_or(Ok(()))
    }

    async fn slot_for(&self, frame: Frame, conn: &mut Conn) -> Slot {
        let started = Instant::now();
        let (tx, rx) = oneshot::channel();
        let (event, command) = match interpret(frame) {
            Action::Reply(frame) => return Slot::Ready(frame),
            Action::Quit => return Slot::Close(Frame::Simple("OK".into())),
            Action::ReadOnly(on) => {
                conn.readonly = on;
                return Slot::Ready(Frame::Simple("OK".into()));
            }
            Action::Status => (Event::Status { reply: tx }, "Info"),
            Action::Kv(command) if conn.readonly && command.is_read_only() => {
                let name = command.name();
                (Event::StaleRead { command, reply: tx }, name)
            }
            Action::Kv(command) => {
                let name = command.name();
                let request = if needs_no_session(&command) {
                    Request::once(command)
                } else {
                    conn.seq += 1;
                    Request {
                        client_id: conn.client_id,
                        seq: conn.seq,
                        command,
                    }
                };
                (Event::Client { request, reply: tx }, name)
            }
        };
        if self.events.send(event).await.is_err() {
            return Slot::Close(Frame::error("ERR", "the node is shutting down"));
        }
        Slot::Wait {
            rx,
            command,
            started,
        }
    }
}

/// Write answers in request order, one socket write per burst.
async fn write_replies(
    mut wr: OwnedWriteHalf,
    mut slots: mpsc::Receiver<Slot>,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    let mut out = BytesMut::with_capacity(16 << 10);
    while let Some(slot) = slots.recv().await {
        let (frame, close) = match slot {
            Slot::Ready(frame) => (frame, false),
            Slot::Wait {
                rx,
                command,
                started,
            } => {
                let gone = || Frame::error("ERR", "the node stopped before answering");
                let frame = rx.await.unwrap_or_else(|_| gone());
                metrics
                    .request_seconds
                    .with_label_values(&[command])
                    .observe(started.elapsed().as_secs_f64());
                (frame, false)
            }
            Slot::Close(frame) => (frame, true),
        };
        encode(&frame, &mut out);
        if close || slots.is_empty() || out.len() >= WRITE_BYTES_MAX {
            wr.write_all(&out).await?;
            out.clear();
        }
        if close {
            wr.shutdown().await?;
            return Ok(());
        }
    }
    Ok(())
}
