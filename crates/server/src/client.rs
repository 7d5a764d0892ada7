//! One RESP client connection: parse pipelined commands, hand them to the node task, answer
//! in order.
//!
//! ```text
//!   socket ──read──► parse_frame* ──► interpret ─┬─ Reply(frame) ───────────► slot Ready(frame)
//!                                                ├─ Kv(cmd) ─► Event::Client ─► slot Wait(rx)
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
//! Known gap: a connection whose session was evicted (more than `sessions_max` other clients
//! wrote since) gets `NOSESSION` errors for its writes; reconnecting starts a fresh session.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use kv::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
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
    /// Comes from the node task.
    Wait(oneshot::Receiver<Frame>),
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
                    let n = self.accepted.fetch_add(1, Ordering::Relaxed) + 1;
                    let client_id = self.id_prefix | (n & 0xffff_ffff);
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

    async fn connection(&self, stream: TcpStream, client_id: u64) -> std::io::Result<()> {
        let _ = stream.set_nodelay(true);
        let (mut rd, wr) = stream.into_split();
        let (slots, slots_rx) = mpsc::channel(PIPELINE_REPLIES_MAX);
        let writer = tokio::spawn(write_replies(wr, slots_rx));
        let mut buf = BytesMut::with_capacity(16 << 10);
        let mut seq = 0u64;
        'read: loop {
            loop {
                let slot = match parse_frame(&mut buf, &self.limits) {
                    Ok(None) => break,
                    Ok(Some(frame)) => self.slot_for(frame, client_id, &mut seq).await,
                    Err(e) => Slot::Close(e.to_frame()),
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

    async fn slot_for(&self, frame: Frame, client_id: u64, seq: &mut u64) -> Slot {
        let (tx, rx) = oneshot::channel();
        let event = match interpret(frame) {
            Action::Reply(frame) => return Slot::Ready(frame),
            Action::Quit => return Slot::Close(Frame::Simple("OK".into())),
            Action::Status => Event::Status { reply: tx },
            Action::Kv(command) => {
                let request = if needs_no_session(&command) {
                    Request::once(command)
                } else {
                    *seq += 1;
                    Request {
                        client_id,
                        seq: *seq,
                        command,
                    }
                };
                Event::Client { request, reply: tx }
            }
        };
        if self.events.send(event).await.is_err() {
            return Slot::Close(Frame::error("ERR", "the node is shutting down"));
        }
        Slot::Wait(rx)
    }
}

/// Write answers in request order, one socket write per burst.
async fn write_replies(
    mut wr: OwnedWriteHalf,
    mut slots: mpsc::Receiver<Slot>,
) -> std::io::Result<()> {
    let mut out = BytesMut::with_capacity(16 << 10);
    while let Some(slot) = slots.recv().await {
        let (frame, close) = match slot {
            Slot::Ready(frame) => (frame, false),
            Slot::Wait(rx) => {
                let gone = || Frame::error("ERR", "the node stopped before answering");
                (rx.await.unwrap_or_else(|_| gone()), false)
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
