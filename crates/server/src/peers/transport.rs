//! Peer transport over TCP: one outbound connection per peer that reconnects with backoff and
//! writes queued frames in batches, and a listener that turns inbound frames into node events.
//!
//! ```text
//!   node task ── send(to, frame) ──► [bounded queue per peer] ──► dialer task
//!                  (try_send: full → dropped;        connect (backoff 50 ms … 1 s)
//!                   Raft retries, forwards time out)  Hello{from}, then loop:
//!                                                     take 1 + all queued (≤ 256) ─► write, flush
//!
//!   listener ──accept──► reader task: first frame Hello{from ∈ voters}, then
//!                         frames ──► Event::Peer{from, frame} ──► node task
//!                         bad length / CRC / payload ──► log, close this connection only
//! ```
//!
//! Connections carry traffic one way (dialer → listener), so each pair of nodes uses two. The
//! road not taken: one shared connection per pair, which needs a tie-break on who dials and
//! makes reconnects racy; two one-way connections need neither.
//!
//! Loss is fine: Raft retries on its own timers (Raft §5.3), and a frame dropped while a peer
//! is down is stale by the time it is back. Frames queued while disconnected are discarded.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use distributed_core::NodeId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::event::Event;
use crate::peers::frames::{decode_frame, encode_frame, PeerFrame};

/// Frames that may wait for one peer's connection; beyond it `send` drops (see module docs).
const QUEUE_FRAMES_MAX: usize = 8192;
/// Most frames written per batch before a flush, so one busy peer cannot starve the write.
const BATCH_FRAMES_MAX: usize = 256;
/// First reconnect delay; doubles per failure up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// Longest reconnect delay: a restarted peer is found again within about this long.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The node's handle on its outbound connections.
#[derive(Clone, Debug)]
pub struct Transport {
    /// One queue per peer, drained by that peer's dialer task.
    outbound: BTreeMap<NodeId, mpsc::Sender<PeerFrame>>,
}

impl Transport {
    /// Spawn one dialer task per peer.
    pub fn start(me: NodeId, peers: impl Iterator<Item = (NodeId, SocketAddr)>) -> Transport {
        let mut outbound = BTreeMap::new();
        for (id, addr) in peers {
            let (tx, rx) = mpsc::channel(QUEUE_FRAMES_MAX);
            tokio::spawn(dial(me, id, addr, rx));
            outbound.insert(id, tx);
        }
        Transport { outbound }
    }

    /// Queue `frame` for `to`; false if `to` is unknown or its queue is full (the frame is lost).
    pub fn send(&self, to: NodeId, frame: PeerFrame) -> bool {
        match self.outbound.get(&to) {
            Some(tx) => tx.try_send(frame).is_ok(),
            None => false,
        }
    }

    /// True if `id` is a peer this node can send to.
    pub fn knows(&self, id: NodeId) -> bool {
        self.outbound.contains_key(&id)
    }
}

/// Keep one connection to `addr` alive and write everything queued for it.
async fn dial(me: NodeId, to: NodeId, addr: SocketAddr, mut rx: mpsc::Receiver<PeerFrame>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                backoff = BACKOFF_MIN;
                let _ = stream.set_nodelay(true);
                debug!("{me}→{to} connected to {addr}");
                match send_loop(me, stream, &mut rx).await {
                    Ok(()) => return, // the node stopped: nothing will be queued again
                    Err(e) => debug!("{me}→{to} connection to {addr} lost: {e}"),
                }
            }
            Err(e) => debug!("{me}→{to} cannot connect to {addr}: {e}"),
        }
        while rx.try_recv().is_ok() {} // stale by the time the peer is back
        if rx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Say hello, then write batches until the queue closes (`Ok`) or the socket fails (`Err`).
async fn send_loop(
    me: NodeId,
    mut stream: TcpStream,
    rx: &mut mpsc::Receiver<PeerFrame>,
) -> std::io::Result<()> {
    let mut buf = BytesMut::with_capacity(64 << 10);
    encode_frame(&PeerFrame::Hello { from: me }, &mut buf);
    loop {
        stream.write_all(&buf).await?;
        stream.flush().await?;
        buf.clear();
        let Some(first) = rx.recv().await else {
            return Ok(());
        };
        encode_frame(&first, &mut buf);
        for _ in 1..BATCH_FRAMES_MAX {
            match rx.try_recv() {
                Ok(frame) => encode_frame(&frame, &mut buf),
                Err(_) => break,
            }
        }
    }
}

/// Accept peer connections for as long as the node runs.
pub async fn listen(
    listener: TcpListener,
    voters: BTreeSet<NodeId>,
    events: mpsc::Sender<Event>,
    frame_bytes_max: usize,
) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!("peer accept failed: {e}");
                tokio::time::sleep(BACKOFF_MIN).await;
                continue;
            }
        };
        let (voters, events) = (voters.clone(), events.clone());
        tokio::spawn(async move {
            if let Err(e) = receive(stream, &voters, &events, frame_bytes_max).await {
                info!("closed peer connection from {addr}: {e}");
            }
        });
    }
}

/// Read one inbound connection: a `Hello` from a voter, then frames for the node.
async fn receive(
    mut stream: TcpStream,
    voters: &BTreeSet<NodeId>,
    events: &mpsc::Sender<Event>,
    frame_bytes_max: usize,
) -> Result<(), String> {
    let mut buf = BytesMut::with_capacity(64 << 10);
    let mut from = None;
    loop {
        while let Some(frame) =
            decode_frame(&mut buf, frame_bytes_max).map_err(|e| e.to_string())?
        {
            match (from, frame) {
                (None, PeerFrame::Hello { from: id }) if voters.contains(&id) => from = Some(id),
                (None, PeerFrame::Hello { from: id }) => {
                    return Err(format!("{id} is not a voter"))
                }
                (None, other) => return Err(format!("expected Hello first, got {other:?}")),
                (Some(_), PeerFrame::Hello { .. }) => return Err("a second Hello".into()),
                (Some(id), frame) => {
                    if events.send(Event::Peer { from: id, frame }).await.is_err() {
                        return Ok(()); // the node stopped
                    }
                }
            }
        }
        if stream.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
            return Ok(());
        }
    }
}
