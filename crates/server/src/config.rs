//! The settings of one node process, and `validate()` that refuses unsafe ones with a reason.
//!
//! ```text
//!   --id 1 --listen 127.0.0.1:6379 --peer-listen 127.0.0.1:7379
//!   --peers 1=127.0.0.1:7379,2=127.0.0.1:7380,3=127.0.0.1:7381 --data-dir d/n1 --tick-ms 10
//!        │
//!        ▼
//!   NodeConfig ──validate──► voters = keys of `peers` ∪ {id}; data_dir/wal holds the WAL,
//!        │                     data_dir/snapshots the snapshot files
//!        ├─ replica_config() ──► replica::ReplicaConfig (reads, check_quorum, snapshot thresholds,
//!        │                        kv_limits()) ──validate──► why not
//!        └─ wal_options() ──► storage::WalOptions (segment size; records fit the largest entry)
//! ```
//!
//! One number sizes a value on every layer it crosses, Redis' `proto-max-bulk-len` (512 MiB by
//! default, `proto_max_bulk_len`), so each accepts what the one before it let through:
//!
//! ```text
//!   RESP parser   bulk_bytes_max     = proto_max_bulk_len
//!   kv            value_bytes_max    = proto_max_bulk_len
//!                 request_bytes_max  = proto_max_bulk_len + REQUEST_ROOM_BYTES (the key, the
//!                                      other words, the header)
//!   WAL record    record_bytes_max   = request_bytes_max + WAL_RECORD_OVERHEAD_BYTES
//!                                      ≤ storage::RECORD_BYTES_LIMIT (checked at compile time
//!                                      for the largest proto_max_bulk_len accepted)
//!   peer frames   frame_bytes_max    = request_bytes_max + PEER_FRAME_OVERHEAD_BYTES, at least
//!                                      16 MiB (an AppendEntries with the largest entry, a
//!                                      forwarded request, a forwarded GET's reply)
//!   WAL segment   rolls at wal_segment_bytes_max; a larger record gets a segment of its own
//! ```
//!
//! `proto_max_bulk_len` is replicated semantics (kv's limits decide what applies), so, like the
//! voter set, every node must be given the same one.
//!
//! The metrics port defaults to the client port + 2000 (the layout `cluster up` uses: RESP
//! 6379, peers 7379, metrics 8379), so one flag moves a node and its metrics together.
//!
//! Every node of a cluster must be given the same voter set: Raft computes majorities over it
//! (membership changes are a later issue), and the process cannot check what others were told.
//! What it can check, it does: every peer has an address of its own (two ids at one address
//! would be one process counted as two votes), and no other peer sits at one of this node's
//! own listen addresses.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use distributed_core::NodeId;
use replica::ReadPath;
use replica::ReplicaConfig;

use crate::clients::resp;

/// Redis' default `proto-max-bulk-len`: the longest bulk string, and so the largest value.
pub const PROTO_MAX_BULK_LEN_DEFAULT: usize = 512 << 20;
/// The smallest `proto_max_bulk_len` accepted (Redis' own minimum, 1 MB).
const PROTO_MAX_BULK_LEN_MIN: usize = 1 << 20;
/// The largest accepted: Redis' default. A value is held whole in the log, the WAL record, the
/// state machine and a snapshot, so larger ones would need streaming through every layer.
const PROTO_MAX_BULK_LEN_MAX: usize = 512 << 20;
/// Room in a request beyond its largest value: the key (kv `key_bytes_max`, 4 KiB), the name
/// and options of the command, the other words of a transaction, the request's header.
const REQUEST_ROOM_BYTES: usize = 1 << 20;
/// Room in a WAL record beyond the largest request: the entry's header, the Append's header,
/// and a configuration entry's membership (at most 64 voters).
const WAL_RECORD_OVERHEAD_BYTES: usize = 4 << 10;
/// Room in a peer frame beyond the largest request: the AppendEntries' fields and entry
/// headers, or a forwarded reply's RESP framing.
const PEER_FRAME_OVERHEAD_BYTES: usize = 64 << 10;
/// The smallest peer frame bound: Raft's default 1 MiB of entries per AppendEntries, many times.
const PEER_FRAME_BYTES_MIN: usize = 16 << 20;
/// The smallest segment accepted: smaller ones mean a file and a directory fsync per few writes.
const WAL_SEGMENT_BYTES_MIN: u64 = 1 << 20;
/// The largest segment accepted: a segment is removed whole, so huge ones free space late.
const WAL_SEGMENT_BYTES_LIMIT: u64 = 4 << 30;
// The largest record the node can ask for, with its overhead, is one the WAL format accepts.
const _: () = assert!(
    PROTO_MAX_BULK_LEN_MAX + REQUEST_ROOM_BYTES + WAL_RECORD_OVERHEAD_BYTES
        <= storage::RECORD_BYTES_LIMIT
);
// ...and a peer frame carrying it fits the frame's u32 length.
const _: () = assert!(
    PROTO_MAX_BULK_LEN_MAX + REQUEST_ROOM_BYTES + PEER_FRAME_OVERHEAD_BYTES <= u32::MAX as usize
);

/// The metrics port is the client port plus this, unless set.
pub const METRICS_PORT_OFFSET: u16 = 2000;

/// How one node runs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's Raft id; must be ≥ 1 (0 means "none" on the wire and on disk).
    pub id: NodeId,
    /// Where clients connect with RESP (redis-cli, redis-benchmark, `distributed kv`).
    pub listen: SocketAddr,
    /// Where peers connect to deliver Raft messages and forwarded requests.
    pub peer_listen: SocketAddr,
    /// Where `/metrics` and `/health` are served over HTTP (`http.rs`).
    pub metrics_listen: SocketAddr,
    /// Every voter's peer address. This node's own entry may be present (the same list can be
    /// given to every node); it is ignored in favour of `peer_listen`.
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// The node's durable state lives under here (`wal/`); it survives restarts.
    pub data_dir: PathBuf,
    /// One Raft tick, in milliseconds. Raft's timeouts are in ticks (election 10..20,
    /// heartbeat 2), so 10 ms gives a 100–200 ms election timeout.
    pub tick_ms: u64,
    /// Redis' `proto-max-bulk-len`: the longest bulk string a client may send, and so the
    /// largest value; sizes every layer a value crosses (see the module docs).
    pub proto_max_bulk_len: usize,
    /// Ticks a follower waits for the leader's answer to a forwarded request before telling
    /// the client `TRYAGAIN` (the outcome is then unknown).
    pub forward_timeout_ticks: u64,
    /// How GET, MGET and EXISTS are served: ReadIndex (default), Lease or through the log.
    /// All three are linearizable; connections that send READONLY opt out (stale reads).
    pub reads: ReadPath,
    /// Raft's check-quorum: a leader that has not heard from a majority for an election
    /// timeout steps down, and followers that hear a leader refuse votes. Lease reads need it.
    pub check_quorum: bool,
    /// Thesis §10.2.1: the leader sends new entries to followers while its own fsync of them
    /// runs, and counts itself toward a commit only once that fsync is done. A write then
    /// waits for one fsync on the critical path instead of two in a row. Off: the leader
    /// persists first, then sends (the plain host contract).
    pub leader_writes_in_parallel: bool,
    /// Snapshot the state machine (Raft §7) once this many entries were applied since the last
    /// snapshot: bounds the log kept in memory and the WAL replayed at restart.
    pub snapshot_log_entries_max: u64,
    /// ...or once the entries applied since the last snapshot hold this many bytes.
    pub snapshot_log_bytes_max: u64,
    /// Roll to a new WAL segment past this size. Compaction removes whole segments, so this
    /// is the granularity at which snapshots free disk space.
    pub wal_segment_bytes_max: u64,
}

impl NodeConfig {
    /// A config with the defaults for everything but the addresses and the directory.
    pub fn new(
        id: NodeId,
        listen: SocketAddr,
        peer_listen: SocketAddr,
        peers: BTreeMap<NodeId, SocketAddr>,
        data_dir: PathBuf,
    ) -> NodeConfig {
        let metrics_port = listen.port().checked_add(METRICS_PORT_OFFSET).unwrap_or(0);
        NodeConfig {
            id,
            listen,
            peer_listen,
            metrics_listen: SocketAddr::new(listen.ip(), metrics_port),
            peers,
            data_dir,
            tick_ms: 10,
            proto_max_bulk_len: PROTO_MAX_BULK_LEN_DEFAULT,
            forward_timeout_ticks: 500,
            reads: ReadPath::default(),
            check_quorum: true,
            leader_writes_in_parallel: true,
            snapshot_log_entries_max: 10_000,
            snapshot_log_bytes_max: 64 << 20,
            wal_segment_bytes_max: 64 << 20,
        }
    }

    /// The replica this node runs: Raft over `voters()`, `reads` and `check_quorum` applied.
    pub fn replica_config(&self) -> ReplicaConfig {
        let mut raft = raft::Config::new(self.id, self.voters());
        raft.check_quorum = self.check_quorum;
        raft.leader_writes_in_parallel = self.leader_writes_in_parallel;
        let mut replica = ReplicaConfig::new(raft);
        replica.kv.limits = self.kv_limits();
        replica.reads = self.reads;
        replica.snapshot_log_entries_max = self.snapshot_log_entries_max;
        replica.snapshot_log_bytes_max = self.snapshot_log_bytes_max;
        replica
    }

    /// kv's bounds on a request: values up to `proto_max_bulk_len`, requests with room for
    /// one such value (see the module docs); the rest are kv's defaults.
    pub fn kv_limits(&self) -> kv::Limits {
        kv::Limits {
            value_bytes_max: self.proto_max_bulk_len,
            request_bytes_max: self.proto_max_bulk_len.saturating_add(REQUEST_ROOM_BYTES),
            ..kv::Limits::default()
        }
    }

    /// Bounds on client frames: bulk strings up to `proto_max_bulk_len`.
    pub fn resp_limits(&self) -> resp::Limits {
        resp::Limits {
            bulk_bytes_max: self.proto_max_bulk_len,
            ..resp::Limits::default()
        }
    }

    /// The largest peer frame accepted: one AppendEntries with the largest entry, a forwarded
    /// request or a forwarded reply (see the module docs). Bounds what a peer (or a stranger)
    /// makes us buffer.
    pub fn peer_frame_bytes_max(&self) -> usize {
        let request = self.kv_limits().request_bytes_max;
        request
            .saturating_add(PEER_FRAME_OVERHEAD_BYTES)
            .max(PEER_FRAME_BYTES_MIN)
    }

    /// The WAL's layout: rolls at `wal_segment_bytes_max`; records hold the largest request
    /// plus its overhead (a larger-than-segment record gets a segment of its own).
    pub fn wal_options(&self) -> storage::WalOptions {
        let request = self.kv_limits().request_bytes_max;
        storage::WalOptions {
            segment_bytes_max: self.wal_segment_bytes_max,
            record_bytes_max: request.saturating_add(WAL_RECORD_OVERHEAD_BYTES),
        }
    }

    /// The group commit's queue: the storage defaults, with room for at least one largest record.
    pub fn group_commit_options(&self) -> storage::GroupCommitOptions {
        let defaults = storage::GroupCommitOptions::default();
        storage::GroupCommitOptions {
            queue_bytes_max: defaults
                .queue_bytes_max
                .max(self.wal_options().record_bytes_max),
            ..defaults
        }
    }

    /// The record size the WAL encoder aims for when it packs entries: at most 8 MiB, so
    /// entries share records and one flush never holds a huge buffer; a single entry larger
    /// than that (up to a request plus overhead) still gets a record alone.
    pub(crate) fn wal_record_bytes_target(&self) -> usize {
        (self.wal_options().record_bytes_max / 2).min(8 << 20)
    }

    /// Every voter, this node included, in id order.
    pub fn voters(&self) -> Vec<NodeId> {
        let mut voters: Vec<NodeId> = self.peers.keys().copied().collect();
        if !voters.contains(&self.id) {
            voters.push(self.id);
            voters.sort();
        }
        voters
    }

    /// The peers this node dials: everyone but itself.
    pub fn others(&self) -> impl Iterator<Item = (NodeId, SocketAddr)> + '_ {
        self.peers
            .iter()
            .filter(|(id, _)| **id != self.id)
            .map(|(id, a)| (*id, *a))
    }

    /// Refuse settings that could not work, saying which and why.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.0 == 0 {
            return Err("--id 0 is reserved for \"no node\"; ids start at 1".into());
        }
        if let Some(zero) = self.peers.keys().find(|id| id.0 == 0) {
            return Err(format!("--peers names node {}: ids start at 1", zero.0));
        }
        if !(1..=10_000).contains(&self.tick_ms) {
            return Err(format!(
                "--tick-ms {} must be in 1..=10000 (config key tick_ms)",
                self.tick_ms
            ));
        }
        let ports = [
            ("listen", self.listen),
            ("peer_listen", self.peer_listen),
            ("metrics_listen", self.metrics_listen),
        ];
        for (i, (a, addr_a)) in ports.iter().enumerate() {
            for (b, addr_b) in &ports[i + 1..] {
                if addr_a == addr_b && addr_a.port() != 0 {
                    return Err(format!("{a} and {b} are both {addr_a}"));
                }
            }
        }
        self.validate_peer_addresses()?;
        if !(1..=1_000_000).contains(&self.forward_timeout_ticks) {
            return Err(format!(
                "--forward-timeout-ticks {} must be in 1..=1000000 (config key \
                 forward_timeout_ticks)",
                self.forward_timeout_ticks
            ));
        }
        if self.voters().len() > 64 {
            return Err("more than 64 voters: every write waits for a majority of them".into());
        }
        let bulk = self.proto_max_bulk_len;
        if !(PROTO_MAX_BULK_LEN_MIN..=PROTO_MAX_BULK_LEN_MAX).contains(&bulk) {
            return Err(format!(
                "--proto-max-bulk-len {bulk} must be in {PROTO_MAX_BULK_LEN_MIN}..=\
                 {PROTO_MAX_BULK_LEN_MAX} (config key proto_max_bulk_len): Redis' minimum is \
                 1 MB, and a value is held whole in the log, the WAL and snapshots"
            ));
        }
        self.validate_storage()?;
        // The replica's own checks, with their explanations (e.g. lease reads need check_quorum).
        self.replica_config()
            .validate()
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Every peer has an address of its own, and none is one of this node's listen addresses
    /// (its own entry may, and usually does, equal `peer_listen`). Two ids at one address
    /// would make this node dial the same process twice and count it as two votes, and a
    /// peer at this node's own address would be a vote this node gives itself.
    fn validate_peer_addresses(&self) -> Result<(), String> {
        let peers: Vec<(NodeId, SocketAddr)> = self.peers.iter().map(|(id, a)| (*id, *a)).collect();
        for (i, (a, addr_a)) in peers.iter().enumerate() {
            if let Some((b, _)) = peers[i + 1..].iter().find(|(_, addr_b)| addr_b == addr_a) {
                return Err(format!(
                    "--peers gives node {} and node {} the same address {addr_a}",
                    a.0, b.0
                ));
            }
        }
        let own = [
            ("listen", self.listen),
            ("peer_listen", self.peer_listen),
            ("metrics_listen", self.metrics_listen),
        ];
        for (id, addr) in &peers {
            for (key, listen) in own {
                // This node's own entry in the shared list names its peer port.
                let expected = *id == self.id && key == "peer_listen";
                if !expected && addr.port() != 0 && same_endpoint(listen, *addr) {
                    return Err(format!(
                        "--peers gives node {} the address {addr}, which is node {}'s own \
                         {key} ({listen})",
                        id.0, self.id.0
                    ));
                }
            }
        }
        Ok(())
    }

    /// Segments in a sane range (a record larger than one gets its own); thresholds ≥ 1.
    fn validate_storage(&self) -> Result<(), String> {
        let segment = self.wal_segment_bytes_max;
        if !(WAL_SEGMENT_BYTES_MIN..=WAL_SEGMENT_BYTES_LIMIT).contains(&segment) {
            return Err(format!(
                "--wal-segment-bytes-max {segment} must be in \
                 {WAL_SEGMENT_BYTES_MIN}..={WAL_SEGMENT_BYTES_LIMIT} (config key \
                 wal_segment_bytes_max): a tiny segment costs a file per few writes, and a huge \
                 one frees space late"
            ));
        }
        self.wal_options().validate().map_err(|e| e.to_string())?;
        for (flag, key, value) in [
            (
                "--snapshot-log-entries-max",
                "snapshot_log_entries_max",
                self.snapshot_log_entries_max,
            ),
            (
                "--snapshot-log-bytes-max",
                "snapshot_log_bytes_max",
                self.snapshot_log_bytes_max,
            ),
        ] {
            if value == 0 {
                return Err(format!(
                    "{flag} 0 (config key {key}) would snapshot after every entry; use at least 1"
                ));
            }
        }
        Ok(())
    }
}

/// Whether a peer at `peer` is this node listening on `listen`: the same address, or the same
/// port on loopback while `listen` takes every interface (`0.0.0.0:7379` also answers at
/// `127.0.0.1:7379`). The same port on another host is another machine, as in a real cluster.
fn same_endpoint(listen: SocketAddr, peer: SocketAddr) -> bool {
    listen == peer
        || (listen.port() == peer.port() && listen.ip().is_unspecified() && peer.ip().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(id: u64, peers: &[u64]) -> NodeConfig {
        let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        let peers = peers
            .iter()
            .map(|&n| (NodeId(n), addr(7000 + n as u16)))
            .collect();
        NodeConfig::new(NodeId(id), addr(6379), addr(7379), peers, "d".into())
    }

    #[test]
    fn the_voters_are_the_peers_and_this_node_whether_or_not_it_is_listed() {
        assert_eq!(
            config(1, &[1, 2, 3]).voters(),
            vec![NodeId(1), NodeId(2), NodeId(3)]
        );
        assert_eq!(
            config(1, &[2, 3]).voters(),
            vec![NodeId(1), NodeId(2), NodeId(3)]
        );
        assert_eq!(config(1, &[1, 2, 3]).others().count(), 2);
    }

    #[test]
    fn node_zero_a_zero_tick_and_a_shared_port_are_refused_with_a_reason() {
        assert!(config(0, &[1]).validate().unwrap_err().contains("--id 0"));
        let mut c = config(1, &[2]);
        c.tick_ms = 0;
        assert!(c.validate().unwrap_err().contains("--tick-ms 0"));
        let mut c = config(1, &[2]);
        c.peer_listen = c.listen;
        assert!(c.validate().unwrap_err().contains("both"));
        assert!(config(1, &[0, 2])
            .validate()
            .unwrap_err()
            .contains("node 0"));
    }

    #[test]
    fn two_peers_at_one_address_are_refused_naming_both() {
        let mut c = config(1, &[1, 2, 3]);
        c.peers.insert(NodeId(3), c.peers[&NodeId(2)]);
        let err = c.validate().unwrap_err();
        assert_eq!(
            err,
            "--peers gives node 2 and node 3 the same address 127.0.0.1:7002"
        );
    }

    #[test]
    fn a_peer_at_one_of_this_node_s_listen_addresses_is_refused_naming_both() {
        let mut c = config(1, &[1, 2, 3]);
        c.peers.insert(NodeId(2), c.peer_listen);
        let err = c.validate().unwrap_err();
        assert_eq!(
            err,
            "--peers gives node 2 the address 127.0.0.1:7379, which is node 1's own \
             peer_listen (127.0.0.1:7379)"
        );
        let mut c = config(1, &[1, 2, 3]);
        c.peers.insert(NodeId(3), c.listen);
        let err = c.validate().unwrap_err();
        assert!(err.contains("node 3 the address 127.0.0.1:6379"), "{err}");
        assert!(
            err.contains("node 1's own listen (127.0.0.1:6379)"),
            "{err}"
        );
        // Its own entry may name its peer port, but not its client or metrics port.
        let mut c = config(1, &[1, 2, 3]);
        c.peers.insert(NodeId(1), c.peer_listen);
        assert_eq!(c.validate(), Ok(()));
        c.peers.insert(NodeId(1), c.metrics_listen);
        let err = c.validate().unwrap_err();
        assert!(err.contains("node 1's own metrics_listen"), "{err}");
    }

    #[test]
    fn a_peer_on_loopback_is_this_node_when_it_listens_on_every_interface() {
        let mut c = config(1, &[1, 2, 3]);
        c.peer_listen = SocketAddr::from(([0, 0, 0, 0], 7002));
        let err = c.validate().unwrap_err();
        assert!(err.contains("node 2 the address 127.0.0.1:7002"), "{err}");
        assert!(err.contains("own peer_listen (0.0.0.0:7002)"), "{err}");
        // Another host on the same port is another machine: the usual production layout.
        let mut c = config(1, &[1, 2, 3]);
        c.peers
            .insert(NodeId(2), SocketAddr::from(([192, 0, 2, 2], 7379)));
        c.peer_listen = SocketAddr::from(([0, 0, 0, 0], 7379));
        c.peers.remove(&NodeId(1));
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn lease_reads_without_check_quorum_are_refused_with_the_replica_s_reason() {
        // Raft thesis §6.4.1: a lease is only as good as the followers' promise not to vote.
        let mut c = config(1, &[1, 2, 3]);
        c.reads = ReadPath::Lease;
        assert_eq!(c.validate(), Ok(()));
        c.check_quorum = false;
        let err = c.validate().unwrap_err();
        assert!(
            err.contains("reads = lease needs raft.check_quorum"),
            "{err}"
        );
    }

    #[test]
    fn a_tiny_wal_segment_is_refused_with_a_reason_and_records_hold_the_largest_request() {
        let mut c = config(1, &[2]);
        c.wal_segment_bytes_max = 4096;
        let err = c.validate().unwrap_err();
        assert!(
            err.contains("--wal-segment-bytes-max 4096 must be in"),
            "{err}"
        );
        c.wal_segment_bytes_max = 4 << 20;
        assert_eq!(
            c.validate(),
            Ok(()),
            "segments may be smaller than the largest record"
        );
        let wal = c.wal_options();
        assert!(wal.validate().is_ok(), "the storage crate accepts it too");
        assert!(wal.record_bytes_max >= c.replica_config().kv.limits.request_bytes_max);
        assert!(c
            .group_commit_options()
            .validate(wal.record_bytes_max)
            .is_ok());
        c.snapshot_log_entries_max = 0;
        let err = c.validate().unwrap_err();
        assert!(err.contains("--snapshot-log-entries-max 0"), "{err}");
    }

    #[test]
    fn proto_max_bulk_len_sizes_the_parser_kv_the_wal_and_peer_frames_alike() {
        let mut c = config(1, &[2]);
        assert_eq!(c.proto_max_bulk_len, 512 << 20, "Redis' default");
        c.proto_max_bulk_len = 64 << 20;
        assert_eq!(c.validate(), Ok(()));
        let kv = c.replica_config().kv;
        assert_eq!(c.resp_limits().bulk_bytes_max, 64 << 20);
        assert_eq!(kv.limits.value_bytes_max, 64 << 20);
        assert!(kv.validate().is_ok(), "kv accepts its limits");
        assert!(c.wal_options().record_bytes_max > kv.limits.request_bytes_max);
        assert!(c.peer_frame_bytes_max() > kv.limits.request_bytes_max);
        c.proto_max_bulk_len = 1000;
        let err = c.validate().unwrap_err();
        assert!(
            err.contains("--proto-max-bulk-len 1000 must be in"),
            "{err}"
        );
        c.proto_max_bulk_len = (512 << 20) + 1;
        assert!(c.validate().is_err());
    }

    #[test]
    fn the_snapshot_thresholds_reach_the_replica() {
        let mut c = config(1, &[2]);
        c.snapshot_log_entries_max = 50;
        c.snapshot_log_bytes_max = 4096;
        let r = c.replica_config();
        assert_eq!(
            (r.snapshot_log_entries_max, r.snapshot_log_bytes_max),
            (50, 4096)
        );
    }

    #[test]
    fn the_metrics_port_defaults_next_to_the_client_port_and_must_differ_from_the_others() {
        let mut c = config(1, &[2]);
        assert_eq!(c.metrics_listen.port(), 6379 + METRICS_PORT_OFFSET);
        c.metrics_listen = c.peer_listen;
        let err = c.validate().unwrap_err();
        assert!(
            err.contains("peer_listen and metrics_listen are both"),
            "{err}"
        );
    }
}
