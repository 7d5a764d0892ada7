//! Starting a node: recover the disk from the WAL, build the replica, bind the sockets, spawn
//! the tasks, run until Ctrl-C.
//!
//! ```text
//!   data_dir/wal ──Wal::open──► records ──codec::wal::replay──► raft::Disk
//!        │                                                         │
//!        └──► GroupCommit (flusher thread)        KvReplica::new(config, &disk, rng)
//!                                                                  │
//!   bind --listen, --peer-listen ──► spawn clients, peer listener, dialers ──► Node::run
//! ```
//!
//! Restart rebuilds everything from the log: Raft re-delivers committed entries from index 1
//! and the state machine replays them (there are no snapshots on disk yet, so the WAL grows).

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use distributed_core::SeededRng;
use kv::{KvReplica, ReplicaConfig};
use storage::{GroupCommit, GroupCommitOptions, Wal, WalOptions};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::client::Clients;
use crate::codec::wal::replay;
use crate::config::NodeConfig;
use crate::node::Node;
use crate::transport::{self, Transport};

/// Events that may wait for the node task; clients and peers block (backpressure) beyond it.
const EVENTS_MAX: usize = 16 * 1024;

/// Run one node until `shutdown` resolves. Errors say what failed and where.
pub async fn run_node(
    config: NodeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    config.validate()?;
    let wal_dir = config.data_dir.join("wal");
    let (wal, recovery) = Wal::open(&wal_dir, WalOptions::default())
        .map_err(|e| format!("cannot open the WAL in {}: {e}", wal_dir.display()))?;
    if let Some(torn) = recovery.truncated() {
        warn!("recovered after a crash: {torn}");
    }
    let records = recovery.len();
    let disk = replay(recovery.records().map(|(_, r)| r)).map_err(|e| e.to_string())?;
    info!(
        "{} recovered {records} WAL records: {} log entries, {}",
        config.id,
        disk.log.len(),
        disk.hard_state
    );
    let group = GroupCommit::new(wal, GroupCommitOptions::default()).map_err(|e| e.to_string())?;
    let nonce = boot_nonce();
    let raft = raft::Config::new(config.id, config.voters());
    let mut replica_config = ReplicaConfig::new(raft);
    // No compaction yet: a snapshot would go to the WAL as one record, bounded by its 8 MiB
    // record limit, and no segment would be freed. Snapshots wait for the SnapshotStore
    // wiring (save, replay snapshot + WAL tail, drop covered segments); until then the WAL
    // grows and a restart replays it from index 1, as before.
    replica_config.snapshot_log_entries_max = u64::MAX;
    replica_config.snapshot_log_bytes_max = u64::MAX;
    let replica =
        KvReplica::new(replica_config, &disk, SeededRng::new(nonce)).map_err(|e| e.to_string())?;
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

    let (events_tx, events_rx) = mpsc::channel(EVENTS_MAX);
    let (durable_tx, durable_rx) = mpsc::unbounded_channel();
    let transport = Transport::start(config.id, config.others());
    let voters: BTreeSet<_> = config
        .voters()
        .into_iter()
        .filter(|&v| v != config.id)
        .collect();
    let peer_task = tokio::spawn(transport::listen(
        peers_listener,
        voters,
        events_tx.clone(),
        config.peer_frame_bytes_max,
    ));
    let clients = Clients::new(events_tx, config.resp_limits.clone(), config.id.0, nonce);
    let client_task = tokio::spawn(clients.serve(clients_listener));
    let (stop_tx, stop_rx) = oneshot::channel();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(());
    });
    let node = Node::new(config, replica, Arc::new(group), transport, durable_tx);
    let result = node.run(events_rx, durable_rx, stop_rx).await;
    peer_task.abort();
    client_task.abort();
    result
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
