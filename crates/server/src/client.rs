//! One RESP client connection: parse pipelined commands, hand them to the node task, answer
//! in order.
//!
//! ```text
//!   socket ──read──► parse_frame* ──► interpret ─┬─ Reply(frame) ───────────► slot Ready(frame)
//!                                                ├─ Kv(cmd) ─► Event::Client ─► slot Wait(rx)
//!                                                │   (read↔write switch: wait for `answered`)
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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use kv::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, warn};

use crate::command::{interpret, Action};
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
    /// Comes from the node task; writes keep their command to resend it in a fresh session if
    /// the node says theirs does not exist (see the module docs).
    Wait(oneshot::Receiver<Frame>, Option<kv::Command>),
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
}

impl Clients {
    /// Client ids for node `node`, with `nonce` telling this boot from earlier ones.
    pub fn new(events: mpsc::Sender<Event>, limits: Limits, node: u64, nonce: u64) -> Clients {
        let id_prefix = ((node & 0xff) << 56) | ((nonce & 0xff_ffff) << 32);
        Clients {
            events,
            limits,
            id_prefix,
            accepted: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Accept connections forever.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    let client_id = self.next_client_id();
                    let this = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = this.connection(stream, client_id).await {
                            debug!("client {addr}: {e}");
                        }
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
            (self.clone(), Arc::clone(&session)),
            answered_tx,
        ));
        let mut order = Order {
            last_was_read: None,
            pushed: 0,
            answered,
        };
        let mut buf = BytesMut::with_capacity(16 << 10);
        'read: loop {
            loop {
                let slot = match parse_frame(&mut buf, &self.limits) {
                    Ok(None) => break,
                    Ok(Some(frame)) => self.slot_for(frame, &session, &mut order).await,
                    Err(e) => Slot::Close(e.to_frame()),
                };
                let closing = matches!(slot, Slot::Close(_));
                if slots.send(slot).await.is_err() || closing {
                    break 'read;
                }
                order.pushed += 1;
            }
            if rd.read_buf(&mut buf).await? == 0 {
                break;
            }
        }
        drop(slots);
        writer.await.unwrap_or(Ok(()))
    }

    async fn slot_for(&self, frame: Frame, session: &Mutex<Session>, order: &mut Order) -> Slot {
        let (tx, rx) = oneshot::channel();
        let (event, resend) = match interpret(frame) {
            Action::Reply(frame) => return Slot::Ready(frame),
            Action::Quit => return Slot::Close(Frame::Simple("OK".into())),
            Action::Status => (Event::Status { reply: tx }, None),
            Action::Kv(command) if needs_no_session(&command) => {
                order.before(true).await;
                let request = Request::once(command);
                (Event::Client { request, reply: tx }, None)
            }
            Action::Kv(command) => {
                order.before(false).await;
                if !self
                    .send_in_session(session, command.clone(), false, tx)
                    .await
                {
                    return Slot::Close(shutting_down());
                }
                return Slot::Wait(rx, Some(command));
            }
        };
        if self.events.send(event).await.is_err() {
            return Slot::Close(shutting_down());
        }
        Slot::Wait(rx, resend)
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
        let request = Request {
            client_id: s.client_id,
            seq: s.seq,
            command,
        };
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

/// Write answers in request order, one socket write per burst.
/// `answered` counts the slots resolved so far, for the reader's `Order`.
async fn write_replies(
    mut wr: OwnedWriteHalf,
    mut slots: mpsc::Receiver<Slot>,
    (clients, session): (Clients, Arc<Mutex<Session>>),
    answered: watch::Sender<u64>,
) -> std::io::Result<()> {
    let mut out = BytesMut::with_capacity(16 << 10);
    while let Some(slot) = slots.recv().await {
        let (frame, close) = match slot {
            Slot::Ready(frame) => (frame, false),
            Slot::Wait(rx, resend) => {
                let frame = rx.await.unwrap_or_else(|_| stopped());
                match resend {
                    Some(command) if is_no_session(&frame) => (
                        clients.resend_in_fresh_session(&session, command).await,
                        false,
                    ),
                    _ => (frame, false),
                }
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
