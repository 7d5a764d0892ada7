//! One RESP client connection: parse pipelined commands, hand them to the node task, answer
//! in order.
//!
//! ```text
//!   socket ──read──► parse_frame* ──► interpret ─┬─ Reply(frame) ───────────► slot Ready(frame)
//!                                                ├─ Kv(cmd) ─► Event::Client ─► slot Wait(rx)
//!                                                │   (read↔write switch: wait for `answered`)
//!                                                ├─ Kv(read) on a READONLY connection
//!                                                │      ─► Event::StaleRead ─► slot Wait(rx)
//!                                                ├─ Status ──► Event::Status ─► slot Wait(rx)
//!                                                └─ Quit / protocol error ───► slot Close(frame)
//!   slots (bounded FIFO, 1024) ──► writer task: await each in order (NOSESSION: resend once in
//!                                   a fresh session), answered += 1, encode, write when the
//!                                   FIFO is momentarily empty (one write per pipeline burst)
//! ```
//!
//! Sessions (Raft dissertation §6.3): each connection is one kv client. Writes carry its
//! `client_id` and a `seq` that grows by one per write, so a request retried by forwarding is
//! applied at most once; reads use client 0 (no session: replaying a read is harmless).
//! `client_id = node (8 bits) | boot nonce (24 bits) | connection counter (32 bits)`: unique
//! across nodes, across restarts of one node (with high probability), and within one run.
//!
//! A session exists only once its seq 1 has applied (kv `session.rs`). A write the node refused
//! *without proposing it* (`TRYAGAIN` not leader / busy, a value over `value_bytes_max`) still
//! used up its seq, so without more care a connection whose first write was refused would get
//! `NOSESSION` for every later write, forever (a pooled redis connection opened during an
//! election). So when a write comes back `NOSESSION` (which guarantees it was not applied), the
//! writer opens a fresh session (new client id, seq 1) and resends that write once, and the
//! connection's later writes continue in the new session. The same heals a session that was
//! evicted (more than `sessions_max` other clients wrote since). Seq assignment and the send to
//! the node happen together under the session lock (with a reserved channel slot), so the node
//! sees each session's seqs in increasing order even when the reader and writer race.
//!
//! Pipeline order across reads and writes (Redis runs a connection's commands in order): a read
//! goes through ReadIndex, not the log, so a GET pipelined right behind a SET would be served
//! at a commit index taken before the SET committed and miss it, and a SET behind a GET could
//! land before the GET is served. So when a connection switches between reads and writes, the
//! reader first waits until the node has answered everything before (`Order`). Runs of writes
//! (ordered by the log) and runs of reads (which change nothing) still pipeline freely.
//!
//! `READONLY` (Redis Cluster's command for reading from replicas) switches this connection's
//! GET, MGET and EXISTS to the local state machine: fast, served by any node, and possibly stale
//! (not linearizable, and read-your-writes only because of the switch rule above: the read
//! waits for the earlier writes' answers, but a follower may not have applied them yet).
//! `READWRITE` switches back. Writes are never affected. The time from a command's arrival to
//! its reply being ready goes to `request_duration_seconds{command}`; for a pipelined command
//! this includes waiting for the replies before it, which is what the client sees.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::BytesMut;
use kv::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, warn};

use crate::clients::command::{interpret, needs_no_session, Action};
use crate::clients::resp::{encode, parse_frame, Frame, Limits};
use crate::config::NodeConfig;
use crate::event::Event;
use crate::ops::metrics::Metrics;

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
        /// A write keeps its command to resend it in a fresh session if the node says its
        /// session does not exist (see the module docs); reads and INFO keep `None`.
        resend: Option<kv::Command>,
        /// The command's name, the latency histogram's label.
        command: &'static str,
        /// When the command was read, for the latency histogram.
        started: Instant,
    },
    /// Write this, then close the connection.
    Close(Frame),
}

/// The session a connection's writes carry: the reader assigns seqs from it, the writer
/// replaces it when the node answers `NOSESSION`.
struct Session {
    /// The kv client id of the current session.
    client_id: u64,
    /// The last seq handed out in it.
    seq: u64,
}

/// What the reader keeps to order a connection's reads after its writes and its writes after
/// its reads (see the module docs).
struct Order {
    /// Whether the last command handed to the node was read-only; `None` before the first.
    last_was_read: Option<bool>,
    /// Slots handed to the writer so far.
    pushed: u64,
    /// Slots the writer has resolved (the node answered) so far, in order.
    answered: watch::Receiver<u64>,
}

impl Order {
    /// Before handing the node a command: if it switches between reads and writes, wait until
    /// every earlier slot is answered.
    async fn before(&mut self, is_read: bool) {
        if self.last_was_read.is_some_and(|was| was != is_read) {
            let pushed = self.pushed;
            // Err only if the writer is gone, and then the connection is closing anyway.
            let _ = self.answered.wait_for(|&n| n >= pushed).await;
        }
        self.last_was_read = Some(is_read);
    }
}

/// What one connection's reader remembers between commands.
struct Conn {
    /// The connection's current session, shared with the writer (which may replace it).
    session: Arc<Mutex<Session>>,
    /// Read/write switch ordering.
    order: Order,
    /// True after READONLY: reads are served locally, possibly stale.
    readonly: bool,
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
                    let client_id = self.next_client_id();
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

    /// A client id no connection of this process has used: a new session.
    fn next_client_id(&self) -> u64 {
        let n = self.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        self.id_prefix | (n & 0xffff_ffff)
    }

    async fn connection(&self, stream: TcpStream, client_id: u64) -> std::io::Result<()> {
        let _ = stream.set_nodelay(true);
        let (mut rd, wr) = stream.into_split();
        let (slots, slots_rx) = mpsc::channel(PIPELINE_REPLIES_MAX);
        let session = Arc::new(Mutex::new(Session { client_id, seq: 0 }));
        let (answered_tx, answered) = watch::channel(0);
        let writer = tokio::spawn(write_replies(
            wr,
            slots_rx,
            self.clone(),
            Arc::clone(&session),
            answered_tx,
        ));
        let mut conn = Conn {
            session,
            order: Order {
                last_was_read: None,
                pushed: 0,
                answered,
            },
            readonly: false,
        };
        let mut buf = BytesMut::with_capacity(16 << 10);
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
                conn.order.pushed += 1;
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
        let (event, command, resend) = match interpret(frame) {
            Action::Reply(frame) => return Slot::Ready(frame),
            Action::Quit => return Slot::Close(Frame::Simple("OK".into())),
            Action::ReadOnly(on) => {
                conn.readonly = on;
                return Slot::Ready(Frame::Simple("OK".into()));
            }
            Action::Status => (Event::Status { reply: tx }, "Info", None),
            Action::Kv(command) if conn.readonly && command.is_read_only() => {
                conn.order.before(true).await;
                let name = command.name();
                (Event::StaleRead { command, reply: tx }, name, None)
            }
            Action::Kv(command) if needs_no_session(&command) => {
                conn.order.before(true).await;
                let name = command.name();
                let request = Request::once(command);
                (Event::Client { request, reply: tx }, name, None)
            }
            Action::Kv(command) => {
                conn.order.before(false).await;
                let name = command.name();
                if !self
                    .send_in_session(&conn.session, command.clone(), false, tx)
                    .await
                {
                    return Slot::Close(shutting_down());
                }
                return Slot::Wait {
                    rx,
                    resend: Some(command),
                    command: name,
                    started,
                };
            }
        };
        if self.events.send(event).await.is_err() {
            return Slot::Close(shutting_down());
        }
        Slot::Wait {
            rx,
            resend,
            command,
            started,
        }
    }

    /// Give `command` the next seq of the connection's session (of a fresh session if
    /// `fresh`) and hand it to the node, both under the session lock so seqs reach the node in
    /// order. False if the node task is gone.
    async fn send_in_session(
        &self,
        session: &Mutex<Session>,
        command: kv::Command,
        fresh: bool,
        reply: oneshot::Sender<Frame>,
    ) -> bool {
        let Ok(permit) = self.events.reserve().await else {
            return false;
        };
        let mut s = session.lock().expect("a session lock holder never panics");
        if fresh {
            *s = Session {
                client_id: self.next_client_id(),
                seq: 0,
            };
        }
        s.seq += 1;
        let request = Request::in_session(s.client_id, s.seq, command);
        permit.send(Event::Client { request, reply });
        true
    }

    /// The node said the session of this write does not exist, so the write was not applied:
    /// resend it once as the first write of a fresh session.
    async fn resend_in_fresh_session(
        &self,
        session: &Mutex<Session>,
        command: kv::Command,
    ) -> Frame {
        let (tx, rx) = oneshot::channel();
        if !self.send_in_session(session, command, true, tx).await {
            return shutting_down();
        }
        rx.await.unwrap_or_else(|_| stopped())
    }
}

fn shutting_down() -> Frame {
    Frame::error("ERR", "the node is shutting down")
}

fn stopped() -> Frame {
    Frame::error("ERR", "the node stopped before answering")
}

/// `NOSESSION`: the kv session table refused the write without applying it.
fn is_no_session(frame: &Frame) -> bool {
    matches!(frame, Frame::Error(e) if e.starts_with("NOSESSION"))
}

/// Write answers in request order, one socket write per burst. `session` is the connection's,
/// shared with the reader, for the NOSESSION resend; `answered` counts the slots resolved so
/// far, for the reader's `Order`.
async fn write_replies(
    mut wr: OwnedWriteHalf,
    mut slots: mpsc::Receiver<Slot>,
    clients: Clients,
    session: Arc<Mutex<Session>>,
    answered: watch::Sender<u64>,
) -> std::io::Result<()> {
    let mut out = BytesMut::with_capacity(16 << 10);
    while let Some(slot) = slots.recv().await {
        let (frame, close) = match slot {
            Slot::Ready(frame) => (frame, false),
            Slot::Wait {
                rx,
                resend,
                command,
                started,
            } => {
                let mut frame = rx.await.unwrap_or_else(|_| stopped());
                if let Some(write) = resend.filter(|_| is_no_session(&frame)) {
                    frame = clients.resend_in_fresh_session(&session, write).await;
                }
                clients
                    .metrics
                    .request_seconds
                    .with_label_values(&[command])
                    .observe(started.elapsed().as_secs_f64());
                (frame, false)
            }
            Slot::Close(frame) => (frame, true),
        };
        answered.send_modify(|n| *n += 1);
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
