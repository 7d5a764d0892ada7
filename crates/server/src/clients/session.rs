//! A connection's kv session and the order of its reads and writes.
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
//! sees each session's seqs in increasing order even when the reader and writer race. An EXEC
//! is one write: its whole transaction takes one seq.
//!
//! Pipeline order across reads and writes (Redis runs a connection's commands in order): a read
//! goes through ReadIndex, not the log, so a GET pipelined right behind a SET would be served
//! at a commit index taken before the SET committed and miss it, and a SET behind a GET could
//! land before the GET is served. So when a connection switches between reads and writes, the
//! reader first waits until the node has answered everything before (`Order`). Runs of writes
//! (ordered by the log) and runs of reads (which change nothing) still pipeline freely. WATCH
//! counts as a read (of the applied index), EXEC as a write.

use std::sync::Mutex;

use kv::{Body, Request};
use tokio::sync::{oneshot, watch};

use crate::clients::connection::Clients;
use crate::clients::resp::Frame;
use crate::event::Event;

/// The session a connection's writes carry: the reader assigns seqs from it, the writer
/// replaces it when the node answers `NOSESSION`.
pub struct Session {
    /// The kv client id of the current session.
    pub client_id: u64,
    /// The last seq handed out in it.
    pub seq: u64,
}

/// What the reader keeps to order a connection's reads after its writes and its writes after
/// its reads (see the module docs).
pub struct Order {
    /// Whether the last command handed to the node was read-only; `None` before the first.
    pub last_was_read: Option<bool>,
    /// Slots handed to the writer so far.
    pub pushed: u64,
    /// Slots the writer has resolved (the node answered) so far, in order.
    pub answered: watch::Receiver<u64>,
}

impl Order {
    /// Before handing the node a command: if it switches between reads and writes, wait until
    /// every earlier slot is answered.
    pub async fn before(&mut self, is_read: bool) {
        if self.last_was_read.is_some_and(|was| was != is_read) {
            let pushed = self.pushed;
            // Err only if the writer is gone, and then the connection is closing anyway.
            let _ = self.answered.wait_for(|&n| n >= pushed).await;
        }
        self.last_was_read = Some(is_read);
    }
}

impl Clients {
    /// Give `body` the next seq of the connection's session (of a fresh session if `fresh`)
    /// and hand it to the node, both under the session lock so seqs reach the node in order.
    /// False if the node task is gone.
    pub(crate) async fn send_in_session(
        &self,
        session: &Mutex<Session>,
        body: Body,
        fresh: bool,
        reply: oneshot::Sender<Frame>,
    ) -> bool {
        let Ok(permit) = self.events.reserve().await else {
            return false;
        };
        let mut s = session.lock().expect("a session lock holder never panics");
        if fresh {
            *s = Session {
                client_id: self.next_client_id().0,
                seq: 0,
            };
        }
        s.seq += 1;
        let request = Request {
            client_id: s.client_id,
            seq: s.seq,
            time_ms: 0,
            body,
        };
        permit.send(Event::Client { request, reply });
        true
    }

    /// The node said the session of this write does not exist, so the write was not applied:
    /// resend it once as the first write of a fresh session.
    pub(crate) async fn resend_in_fresh_session(
        &self,
        session: &Mutex<Session>,
        body: Body,
    ) -> Frame {
        let (tx, rx) = oneshot::channel();
        if !self.send_in_session(session, body, true, tx).await {
            return shutting_down();
        }
        rx.await.unwrap_or_else(|_| stopped())
    }
}

/// The node task is gone: the process is stopping.
pub fn shutting_down() -> Frame {
    Frame::error("ERR", "the node is shutting down")
}

/// The node task dropped a request without answering.
pub fn stopped() -> Frame {
    Frame::error("ERR", "the node stopped before answering")
}

/// `NOSESSION`: the kv session table refused the write without applying it.
pub fn is_no_session(frame: &Frame) -> bool {
    matches!(frame, Frame::Error(e) if e.starts_with("NOSESSION"))
}
