//! Starting a node: lock the data dir, recover the disk from the newest snapshot file and the
//! WAL, build the replica, bind the sockets, spawn the tasks, run until Ctrl-C.
//!
//! ```text
//!   data_dir/LOCK ──disk::lock──► held until the node exits; another holder ─► refused, named
//!   data_dir/snapshots ──SnapshotStore──► newest good file ─┐
//!   data_dir/wal ──Wal::open──► records ────────────────────┴─ snapshots::recover ──► raft::Disk
//!        │                                                                              │
//!        └──► GroupCommit (flusher thread)                  KvReplica::new(config, &disk, rng)
//!                                                                                       │
//!   bind --listen, --peer-listen, --metrics-listen
//!        ──► spawn clients, peer listener, dialers, HTTP /metrics ──► Node::run
//! ```
//!
//! Restart restores the state machine from the snapshot and Raft re-delivers the committed
//! entries after it. Compaction is on (`snapshot_log_entries_max`), so the WAL replayed at
//! start-up is bounded by the threshold plus a segment, not by the node's whole history.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use distributed_core::SeededRng;
use replica::KvReplica;
use storage::{GroupCommit, Wal};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn, Instrument};

use crate::clients::connection::Clients;
use crate::clients::parked::Parked;
use crate::clients::pubsub::Hub;
use crate::config::NodeConfig;
use crate::node::{Node, Storage};
use crate::ops::metrics::Metrics;
use crate::peers::transport::{self, Transport};

/// Events that may wait for the node task; clients and peers block (backpressure) beyond it.
const EVENTS_MAX: usize = 16 * 1024;

/// Run one node until `shutdown` resolves. Errors say what failed and where.
pub async fn run_node(
    config: NodeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    config.validate()?;
    // Before anything reads or writes the WAL; released when this function returns or the
    // process dies.
    let lock = crate::disk::lock::lock_data_dir(&config.data_dir)?;
    let OpenedDisk { storage, disk } = open_disk(&config)?;
    let nonce = boot_nonce();
    let replica = KvReplica::new(config.replica_config(), &disk, SeededRng::new(nonce))
        .map_err(|e| e.to_string())?;
    let (clients_listener, peers_listener) = listen(&config).await?;
    let metrics = Arc::new(Metrics::new());
    let http_task = serve_metrics(&config, Arc::clone(&metrics)).await?;
    let (events_tx, events_rx) = mpsc::channel(EVENTS_MAX);
    let (durable_tx, durable_rx) = mpsc::unbounded_channel();
    let transport = Transport::start(config.id, config.others());
    // Every voter but this node: the peers that may dial in.
    let voters: BTreeSet<_> = config.others().map(|(id, _)| id).collect();
    let peer_task = tokio::spawn(transport::listen(
        peers_listener,
        voters,
        events_tx.clone(),
        config.peer_frame_bytes_max(),
    ));
    // This node's subscribers: the connections register in it, the node task publishes into
    // it what the log delivers (clients/pubsub.rs).
    let hub = Arc::new(Hub::default());
    // Clients parked by blocking commands: the connections park in it, the node task wakes
    // them as entries apply (clients/blocking.rs).
    let parked = Arc::new(Parked::default());
    let clients = Clients::new(
        events_tx,
        &config,
        nonce,
        metrics.clone(),
        Arc::clone(&hub),
        Arc::clone(&parked),
    );
    let client_task = tokio::spawn(clients.serve(clients_listener));
    let (stop_tx, stop_rx) = oneshot::channel();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(());
    });
    let span = tracing::info_span!("node", id = config.id.0);
    if let Some(s) = &disk.snapshot {
        metrics.snapshot_index.set(s.meta.index as i64);
    }
    let mut node = Node::new(
        config, replica, storage, transport, durable_tx, metrics, nonce,
    );
    node.publish_to(hub);
    node.wake_blocked_in(parked);
    // Spawned, not awaited in place: `run_node` is usually the `block_on` future, and a task
    // there lives on the main thread, so every client and peer event would wake it across
    // threads (a futex wake and a context switch per request). As a runtime task it is woken
    // on the worker that produced the event when that worker is free (tokio's LIFO slot).
    let node_task = tokio::spawn(node.run(events_rx, durable_rx, stop_rx).instrument(span));
    let result = node_task
        .await
        .unwrap_or_else(|e| Err(format!("the node task failed: {e}")));
    peer_task.abort();
    client_task.abort();
    http_task.abort();
    drop(lock);
    result
}

/// The client and peer listeners, bound to the configured addresses (an address in use is
/// an error naming it).
async fn listen(config: &NodeConfig) -> Result<(TcpListener, TcpListener), String> {
    let bind = |addr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    };
    let clients_listener = bind(config.listen).await?;
    let peers_listener = bind(config.peer_listen).await?;
    info!(
        "{} serving RESP on {}, peers on {}",
        config.id, config.listen, config.peer_listen
    );
    Ok((clients_listener, peers_listener))
}

/// What start-up found on disk: where the node will write, and the state it starts from.
struct OpenedDisk {
    /// The WAL (its flusher thread started) and the snapshot store, for the node task.
    storage: Storage,
    /// The newest usable snapshot, then the WAL folded over it: what `KvReplica::new` restores.
    disk: raft::Disk,
}

/// Open the WAL and the snapshot store in `data_dir`, recover the disk from both (cutting a
/// torn tail, setting a damaged snapshot aside when the WAL covers it), and log what was found.
fn open_disk(config: &NodeConfig) -> Result<OpenedDisk, String> {
    let wal_dir = config.data_dir.join("wal");
    let (wal, recovery) = Wal::open(&wal_dir, config.wal_options())
        .map_err(|e| format!("cannot open the WAL in {}: {e}", wal_dir.display()))?;
    if let Some(torn) = recovery.truncated() {
        warn!("recovered after a crash: {torn}");
    }
    let mut snapshots = crate::disk::snapshots::open_store(&config.data_dir)?;
    let records = recovery.len();
    let recovered =
        crate::disk::snapshots::recover(&mut snapshots, || recovery.records().map(|(_, r)| r))?;
    for warning in &recovered.warnings {
        warn!(target: "snapshot", node = config.id.0, "{warning}");
    }
    let disk = recovered.disk;
    info!(
        "{} recovered from {} and {records} WAL records: {} log entries, {}",
        config.id,
        disk.snapshot
            .as_ref()
            .map_or("no snapshot".into(), |s| format!(
                "the snapshot at ({},{})",
                s.meta.term, s.meta.index
            )),
        disk.log.len(),
        disk.hard_state
    );
    let wal = GroupCommit::new(wal, config.group_commit_options()).map_err(|e| e.to_string())?;
    let storage = Storage {
        wal: Arc::new(wal),
        snapshots,
    };
    Ok(OpenedDisk { storage, disk })
}

/// Bind the metrics port and serve `metrics` as `/metrics` and `/health` on it.
async fn serve_metrics(
    config: &NodeConfig,
    metrics: Arc<Metrics>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let addr = config.metrics_listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (metrics_listen): {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    info!(node = config.id.0, reads = %config.reads, "{} metrics on http://{bound}/metrics", config.id);
    Ok(tokio::spawn(crate::ops::http::serve(
        listener, config.id, metrics,
    )))
}

/// A number that differs between boots: seeds elections and tells client ids of this run from
/// the last one's. `RandomState` is seeded by the OS; the clock guards against a weak seed.
fn boot_nonce() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(now.map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    h.finish()
}
