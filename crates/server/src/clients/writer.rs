//! A connection's writer: the answers in the order the commands came, pub/sub messages between
//! them, each encoded in the RESP version the connection speaks at that point.
//!
//! ```text
//!   slots (bounded FIFO from the reader) ──┐
//!                                          ├──► select (messages first) ──► encode ──► socket
//!   mailbox (pub/sub messages, bounded) ───┘
//!
//!   Slot::Ready(frame)      known at once
//!   Slot::Wait{rx, shape}   the node's answer, then `shape` (EXEC's local answers, PUBLISH's
//!                           count); messages keep flowing while it waits; NOSESSION: resend
//!                           once in a fresh session (session.rs)
//!   Slot::State{…}          a change of connection state, in reply order: (un)subscribe in
//!                           the hub, switch RESP version (HELLO, RESET), then its replies
//!   Slot::Close(frame)      write it, close
//!   Slot::Reply(mode)       CLIENT REPLY ON|OFF|SKIP: later replies written or not (pushes and
//!                           (un)subscribe confirmations always are, as Redis 7's)
//!   Push::Kicked            the mailbox overflowed (pubsub.rs): close, as Redis' output
//!                           buffer limit does
//! ```
//!
//! Ordering of messages around (un)subscribe replies: the writer subscribes in the hub and
//! writes the confirmations before it reads the mailbox again, so no message of a channel comes
//! before the reply confirming it; it unsubscribes and then drains the mailbox before writing
//! the confirmation, so every message published before the unsubscription comes before it.
//!
//! One socket write per burst: the buffer is written when neither queue has more waiting, or
//! once it holds `WRITE_BYTES_MAX`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::BytesMut;
use kv::Body;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot, watch};

use crate::clients::connection::Clients;
use crate::clients::pubsub::{Backlog, Change, Mailbox, Push};
use crate::clients::resp::{encode_as, Frame, Proto};
use crate::clients::session::{is_no_session, stopped, Session};
use crate::clients::transaction::Shape;

/// Flush the send buffer once it holds this much, even mid-burst.
const WRITE_BYTES_MAX: usize = 64 << 10;

/// An answer in the connection's reply order.
pub enum Slot {
    /// Known at once.
    Ready(Frame),
    /// Comes from the node task.
    Wait {
        /// The answer.
        rx: oneshot::Receiver<Frame>,
        /// A write keeps its body to resend it in a fresh session if the node says its
        /// session does not exist (see session.rs); reads and INFO keep `None`.
        resend: Option<Body>,
        /// How the answer becomes the client's frame.
        shape: Shape,
        /// The command's name, the latency histogram's label.
        command: &'static str,
        /// When the command was read, for the latency histogram.
        started: Instant,
    },
    /// A change of the connection's state that must happen in reply order.
    State {
        /// Hub changes: unsubscriptions first, then subscriptions (see the module docs).
        changes: Vec<Change>,
        /// The RESP version from here on, if it changes.
        proto: Option<Proto>,
        /// The replies, encoded after the change.
        frames: Vec<Frame>,
    },
    /// Write this, then close the connection.
    Close(Frame),
    /// `CLIENT REPLY ON|OFF|SKIP`, from here on in reply order.
    Reply(ReplyMode),
}

/// Which replies the client wants (`CLIENT REPLY`). Pub/sub messages and (un)subscribe
/// confirmations are written whatever the mode, as Redis 7 pushes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReplyMode {
    /// Every reply (and `CLIENT REPLY ON` answers `+OK`).
    #[default]
    On,
    /// None, until `CLIENT REPLY ON`.
    Off,
    /// Not the next command's.
    Skip,
}

/// `CLIENT REPLY ON|OFF|SKIP`: the slot that switches the mode, or the syntax error.
pub fn client_reply(args: &[bytes::Bytes]) -> Slot {
    let mode = match args {
        [_, mode] => mode.to_ascii_lowercase(),
        _ => Vec::new(),
    };
    match mode.as_slice() {
        b"on" => Slot::Reply(ReplyMode::On),
        b"off" => Slot::Reply(ReplyMode::Off),
        b"skip" => Slot::Reply(ReplyMode::Skip),
        _ => Slot::Ready(Frame::error("ERR", "syntax error")),
    }
}

/// What a writer owns.
pub struct Writer {
    /// The socket's write half.
    pub wr: OwnedWriteHalf,
    /// The node's shared state (hub, metrics, events).
    pub clients: Clients,
    /// The connection's kv session, shared with the reader, for the NOSESSION resend.
    pub session: Arc<Mutex<Session>>,
    /// Slots resolved so far, for the reader's `Order`.
    pub answered: watch::Sender<u64>,
    /// The connection's id: its key in the hub.
    pub conn: u64,
    /// Where the hub puts this connection's messages.
    pub mailbox: Mailbox,
    /// How much waits in the mailbox.
    pub backlog: Arc<Backlog>,
    /// The mailbox's receiving half.
    pub pushes: mpsc::UnboundedReceiver<Push>,
    /// The RESP version replies are encoded in now.
    pub proto: Proto,
    /// Encoded, not yet written.
    pub out: BytesMut,
    /// `CLIENT REPLY`'s mode, and whether the slot being written is silenced by it.
    pub replies: (ReplyMode, bool),
}

/// Whether the connection goes on after a step.
#[derive(PartialEq, Eq)]
enum Next {
    Go,
    Close,
}

impl Writer {
    /// Write until the reader is done or the connection must close; forget the connection's
    /// subscriptions either way.
    pub async fn run(mut self, mut slots: mpsc::Receiver<Slot>) -> std::io::Result<()> {
        let result = self.serve(&mut slots).await;
        self.clients.hub.remove(self.conn);
        result
    }

    async fn serve(&mut self, slots: &mut mpsc::Receiver<Slot>) -> std::io::Result<()> {
        loop {
            let next = tokio::select! {
                biased;
                Some(push) = self.pushes.recv() => self.push(push),
                slot = slots.recv() => match slot {
                    Some(slot) => self.slot(slot).await,
                    None => Next::Close,
                },
            };
            if next == Next::Close {
                self.wr.write_all(&self.out).await?;
                return self.wr.shutdown().await;
            }
            if (slots.is_empty() && self.pushes.is_empty()) || self.out.len() >= WRITE_BYTES_MAX {
                self.flush().await?;
            }
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.wr.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// A message from the mailbox.
    fn push(&mut self, push: Push) -> Next {
        match push {
            Push::Message(frame, bytes) => {
                self.backlog.taken(bytes);
                encode_as(&frame, self.proto, &mut self.out);
                Next::Go
            }
            Push::Kicked => {
                self.clients.metrics.error("pubsub_slow");
                Next::Close
            }
        }
    }

    /// Every message waiting now.
    fn drain(&mut self) -> Next {
        while let Ok(push) = self.pushes.try_recv() {
            if self.push(push) == Next::Close {
                return Next::Close;
            }
        }
        Next::Go
    }

    async fn slot(&mut self, slot: Slot) -> Next {
        self.replies.1 = match (&slot, self.replies.0) {
            (Slot::Reply(_), _) | (_, ReplyMode::On) => false,
            (Slot::State { .. }, mode) => {
                if mode == ReplyMode::Skip {
                    self.replies.0 = ReplyMode::On;
                }
                false
            }
            (_, ReplyMode::Off) => true,
            (_, ReplyMode::Skip) => {
                self.replies.0 = ReplyMode::On;
                true
            }
        };
        let next = match slot {
            Slot::Ready(frame) => self.encode(&frame),
            Slot::Wait {
                rx,
                resend,
                shape,
                command,
                started,
            } => self.wait(rx, resend, shape, command, started).await,
            Slot::State {
                changes,
                proto,
                frames,
            } => self.state(changes, proto, frames),
            Slot::Close(frame) => {
                self.encode(&frame);
                Next::Close
            }
            Slot::Reply(mode) => {
                self.replies.0 = mode;
                match mode {
                    ReplyMode::On => self.encode(&Frame::ok()),
                    _ => Next::Go,
                }
            }
        };
        self.answered.send_modify(|n| *n += 1);
        next
    }

    fn encode(&mut self, frame: &Frame) -> Next {
        if self.replies.1 {
            return Next::Go; // CLIENT REPLY OFF or SKIP
        }
        encode_as(frame, self.proto, &mut self.out);
        Next::Go
    }

    async fn wait(
        &mut self,
        mut rx: oneshot::Receiver<Frame>,
        resend: Option<Body>,
        shape: Shape,
        command: &'static str,
        started: Instant,
    ) -> Next {
        let mut frame = loop {
            tokio::select! {
                biased;
                answer = &mut rx => break answer.unwrap_or_else(|_| stopped()),
                Some(push) = self.pushes.recv() => {
                    if self.push(push) == Next::Close {
                        return Next::Close;
                    }
                    if self.flush().await.is_err() {
                        return Next::Close;
                    }
                }
            }
        };
        if let Some(body) = resend.filter(|_| is_no_session(&frame)) {
            frame = self
                .clients
                .resend_in_fresh_session(&self.session, body)
                .await;
        }
        let frame = shape.finish(frame, &self.clients.hub);
        self.clients
            .metrics
            .request_seconds
            .with_label_values(&[command])
            .observe(started.elapsed().as_secs_f64());
        self.encode(&frame)
    }

    /// Unsubscribe, drain, subscribe, switch version, then the replies (see the module docs).
    fn state(&mut self, changes: Vec<Change>, proto: Option<Proto>, frames: Vec<Frame>) -> Next {
        if self.drain() == Next::Close {
            return Next::Close;
        }
        let (subscribe, unsubscribe): (Vec<Change>, Vec<Change>) =
            changes.into_iter().partition(|c| c.subscribe);
        for change in &unsubscribe {
            self.clients.hub.apply(self.conn, &self.mailbox, change);
        }
        if self.drain() == Next::Close {
            return Next::Close;
        }
        for change in &subscribe {
            self.clients.hub.apply(self.conn, &self.mailbox, change);
        }
        if let Some(proto) = proto {
            self.proto = proto;
        }
        for frame in &frames {
            self.encode(frame);
        }
        Next::Go
    }
}
