//! What a node counts, in a Prometheus registry that `http.rs` serves as `/metrics`, and the
//! leader/WAL facts `/health` answers from.
//!
//! ```text
//!   node/ ─── after every flush ──► watch(replica): gauges term, role, leader, commit, applied
//!      │                                └─ on change: tracing events `election` / `leader_change`
//!      ├─ input ──► proposals_total, reads_total{path}
//!      ├─ flush/on_durable ──► wal_batch_records, wal_sync_duration_seconds, wal_fsyncs_total
//!      ├─ a Write::Snapshot ──► snapshots_total{event}, snapshot_index,
//!      │                        wal_segments_removed_total (once its marker is durable)
//!      └─ step/release ──► peer_messages_{received,sent}_total{type}
//!   clients/ ──► client_connections, request_duration_seconds{command}, errors_total{kind}
//!   http.rs   ──► Registry::gather ──► text exposition format
//! ```
//!
//! Label values are always `&'static str` chosen by this process (command names, message type
//! names, read paths, error kinds), never text a client sent: a client must not be able to grow
//! the registry without bound. Message types are the name part of each message's one-line
//! `Display` (`AppendEntries{...}` → `AppendEntries`), so message types added later (snapshots,
//! membership) are counted without an edit here.
//!
//! Road not taken: reading state at scrape time through a custom collector would need a lock
//! around the replica; the node task owns it alone, so it pushes values into atomics instead.

use std::fmt::{self, Write as _};

use distributed_core::Protocol;
use prometheus::{
    exponential_buckets, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry,
};
use raft::Role;
use replica::KvReplica;
use tracing::info;

/// Every role a node can be in, for the `raft_role{role}` gauge (exactly one is 1).
const ROLES: [(Role, &str); 4] = [
    (Role::Follower, "follower"),
    (Role::PreCandidate, "precandidate"),
    (Role::Candidate, "candidate"),
    (Role::Leader, "leader"),
];

/// Every `errors_total{kind}` label value: a fixed set, so no client can grow the registry
/// (an unknown command counts under `unknown_command`, never under its name).
const ERROR_KINDS: [&str; 11] = [
    "not_leader",
    "retry",
    "busy",
    "command",
    "unknown_command",
    "protocol",
    "pubsub_slow",
    "forward_timeout",
    "leader_wait_timeout",
    "peer_send_dropped",
    "wal",
];

/// The longest message type name kept; longer names are cut (they would still be bounded).
const MESSAGE_NAME_BYTES_MAX: usize = 32;

/// The metrics of one node. Cheap to share: every handle is an `Arc` around atomics.
pub struct Metrics {
    /// What `/metrics` gathers.
    registry: Registry,
    /// The node's current term.
    pub(crate) term: IntGauge,
    /// 1 for the current role, 0 for the others.
    role: IntGaugeVec,
    /// The leader this node believes in; 0 when it knows none. `/health` reads it.
    pub(crate) leader: IntGauge,
    /// Raft's commit index.
    commit_index: IntGauge,
    /// The state machine's applied index.
    applied_index: IntGauge,
    /// The last log index, so lag (last − commit) is visible.
    last_index: IntGauge,
    /// Client requests handed to Raft as log entries (writes, and reads when reads = log).
    pub(crate) proposals: IntCounter,
    /// Read-only requests by the path that served them.
    pub(crate) reads: IntCounterVec,
    /// From a batch's WAL submit to its durability callback: the fdatasync plus the queueing
    /// behind the flusher's previous pass. What a write's latency pays for durability.
    pub(crate) wal_sync_seconds: Histogram,
    /// Records per WAL submission (one per batch of events).
    pub(crate) wal_batch_records: Histogram,
    /// fdatasyncs issued by the WAL, from `GroupCommit::stats`.
    pub(crate) wal_fsyncs: IntCounter,
    /// 1 while the WAL accepts writes; 0 after a WAL error (the node then stops).
    pub(crate) wal_healthy: IntGauge,
    /// From a command's arrival to the moment its reply may be written, by command.
    pub(crate) request_seconds: HistogramVec,
    /// Peer frames handed to the transport, by type.
    pub(crate) peer_sent: IntCounterVec,
    /// Peer frames received, by type.
    pub(crate) peer_received: IntCounterVec,
    /// Client connections open now.
    pub(crate) client_connections: IntGauge,
    /// Client requests waiting for a leader to be elected (`node/awaiting_leader.rs`).
    pub(crate) awaiting_leader: IntGauge,
    /// Client connections accepted since start.
    pub(crate) client_connections_total: IntCounter,
    /// Failures by kind (`ERROR_KINDS`): answers that were errors (not_leader, retry, busy, a
    /// command error), unknown commands, malformed client input, subscribers disconnected for
    /// a full mailbox, forwards without an answer, requests that waited for a leader in vain,
    /// peer frames dropped on a full queue, WAL failures.
    pub(crate) errors: IntCounterVec,
    /// Snapshots saved to disk by event: `taken` (this node compacted its log) or `installed`
    /// (a leader's snapshot replaced the state machine).
    pub snapshots: IntCounterVec,
    /// The index of the newest snapshot saved by this process (0 before the first).
    pub(crate) snapshot_index: IntGauge,
    /// WAL segments deleted because a snapshot made them redundant: disk space coming back.
    pub(crate) wal_segments_removed: IntCounter,
}

impl Metrics {
    /// A fresh registry with every series registered.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let reg = Registrar(&registry);
        let latency = exponential_buckets(50e-6, 2.0, 18).expect("valid buckets");
        let records = exponential_buckets(1.0, 2.0, 14).expect("valid buckets");
        let metrics = Metrics {
            term: reg.gauge("raft_term", "The node's current Raft term"),
            role: reg.gauge_vec("raft_role", "1 for the node's current role", &["role"]),
            leader: reg.gauge("raft_leader_id", "The leader this node knows (0: none)"),
            commit_index: reg.gauge("raft_commit_index", "Raft's commit index"),
            applied_index: reg.gauge("kv_applied_index", "The state machine's applied index"),
            last_index: reg.gauge("raft_last_index", "The index of the last log entry"),
            proposals: reg.counter("kv_proposals_total", "Requests proposed as log entries"),
            reads: reg.counter_vec("kv_reads_total", "Read-only requests by path", &["path"]),
            wal_sync_seconds: reg.histogram(
                "wal_sync_duration_seconds",
                "From a batch's WAL submit to durable (fdatasync and queueing)",
                latency.clone(),
            ),
            wal_batch_records: reg.histogram(
                "wal_batch_records",
                "Records per WAL submission",
                records,
            ),
            wal_fsyncs: reg.counter("wal_fsyncs_total", "fdatasyncs issued by the WAL"),
            wal_healthy: reg.gauge("wal_healthy", "1 while the WAL accepts writes"),
            request_seconds: reg.histogram_vec(
                "request_duration_seconds",
                "From a command's arrival to its reply being ready, by command",
                &["command"],
                latency,
            ),
            peer_sent: reg.counter_vec("peer_messages_sent_total", "Peer frames sent", &["type"]),
            peer_received: reg.counter_vec(
                "peer_messages_received_total",
                "Peer frames received",
                &["type"],
            ),
            client_connections: reg.gauge("client_connections", "Client connections open"),
            awaiting_leader: reg.gauge(
                "requests_awaiting_leader",
                "Client requests waiting for a leader to be elected",
            ),
            client_connections_total: reg.counter(
                "client_connections_accepted_total",
                "Client connections accepted",
            ),
            errors: reg.counter_vec("errors_total", "Failures by kind", &["kind"]),
            snapshots: reg.counter_vec(
                "snapshots_total",
                "Snapshots saved by event (taken: log compaction, installed: from the leader)",
                &["event"],
            ),
            snapshot_index: reg.gauge(
                "snapshot_index",
                "Index of the newest snapshot this process saved (0: none yet)",
            ),
            wal_segments_removed: reg.counter(
                "wal_segments_removed_total",
                "WAL segments deleted after a snapshot made them redundant",
            ),
            registry,
        };
        metrics.start_at_zero();
        metrics
    }

    /// Every labelled series at 0 from the start, so a rate() over it works before its first
    /// event; the WAL starts healthy.
    fn start_at_zero(&self) {
        self.wal_healthy.set(1);
        for event in ["taken", "installed"] {
            self.snapshots.with_label_values(&[event]).reset();
        }
        for kind in ERROR_KINDS {
            self.errors.with_label_values(&[kind]).reset();
        }
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let encoder = prometheus::TextEncoder::new();
        if let Err(e) = encoder.encode_utf8(&self.registry.gather(), &mut out) {
            out = format!("# encoding failed: {e}\n");
        }
        out
    }

    /// Count one failure of `kind`.
    pub(crate) fn error(&self, kind: &'static str) {
        debug_assert!(ERROR_KINDS.contains(&kind), "unlisted error kind {kind}");
        self.errors.with_label_values(&[kind]).inc();
    }

    /// Count a peer frame sent or received under its type name.
    pub(crate) fn peer_message(&self, counter: &IntCounterVec, message: &impl fmt::Display) {
        let mut name = MessageName::default();
        let _ = write!(name, "{message}"); // stops with an error at '{' on purpose
        counter.with_label_values(&[name.as_str()]).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The Raft facts last published, so changes are traced once, when they happen.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RaftWatch {
    /// Term at the last look.
    term: u64,
    /// Role at the last look (None before the first).
    role: Option<Role>,
    /// Leader at the last look.
    leader: Option<distributed_core::NodeId>,
}

impl RaftWatch {
    /// Publish the replica's state to `metrics` and trace elections and leader changes.
    pub(crate) fn watch(&mut self, replica: &KvReplica, metrics: &Metrics) {
        let raft = replica.raft();
        let (term, role, leader) = (raft.term(), raft.role(), raft.leader());
        metrics.term.set(term as i64);
        metrics.leader.set(leader.map_or(0, |l| l.0 as i64));
        metrics.commit_index.set(raft.commit_index() as i64);
        metrics.last_index.set(raft.last_index() as i64);
        metrics
            .applied_index
            .set(replica.machine().applied_index() as i64);
        if self.role != Some(role) {
            for (r, name) in ROLES {
                metrics
                    .role
                    .with_label_values(&[name])
                    .set(i64::from(r == role));
            }
        }
        let node = replica.id().0;
        if self.role != Some(role) && role == Role::Candidate {
            info!(target: "election", node, term, "election started: campaigning for votes");
        }
        if self.role != Some(role) && role == Role::Leader {
            info!(target: "election", node, term, "election won: leading");
        }
        if self.leader != leader || self.term != term {
            let leader_id = leader.map_or(0, |l| l.0);
            info!(target: "leader_change", node, term, leader = leader_id, role = ?role,
                "leader is now {}", leader.map_or("unknown".to_string(), |l| l.to_string()));
        }
        *self = RaftWatch {
            term,
            role: Some(role),
            leader,
        };
    }
}

/// A fixed buffer that keeps a `Display` output up to its first `{`, then refuses more.
#[derive(Default)]
struct MessageName {
    /// The bytes so far.
    bytes: [u8; MESSAGE_NAME_BYTES_MAX],
    /// How many are used.
    len: usize,
}

impl MessageName {
    fn as_str(&self) -> &str {
        match std::str::from_utf8(&self.bytes[..self.len]) {
            Ok(name) if !name.is_empty() => name,
            _ => "other",
        }
    }
}

impl fmt::Write for MessageName {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if c == '{' || !c.is_ascii_alphanumeric() || self.len == MESSAGE_NAME_BYTES_MAX {
                return Err(fmt::Error);
            }
            self.bytes[self.len] = c as u8;
            self.len += 1;
        }
        Ok(())
    }
}

/// Builds and registers series; a name clash is a bug in this file, hence the `expect`s.
struct Registrar<'a>(&'a Registry);

impl Registrar<'_> {
    fn add<M: prometheus::core::Collector + Clone + 'static>(&self, m: M) -> M {
        self.0.register(Box::new(m.clone())).expect("unique name");
        m
    }
    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.add(IntGauge::new(name, help).expect("valid gauge"))
    }
    fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.add(IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge"))
    }
    fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.add(IntCounter::new(name, help).expect("valid counter"))
    }
    fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.add(IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter"))
    }
    fn histogram(&self, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
        let opts = HistogramOpts::new(name, help).buckets(buckets);
        self.add(Histogram::with_opts(opts).expect("valid histogram"))
    }
    fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: Vec<f64>,
    ) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(buckets);
        self.add(HistogramVec::new(opts, labels).expect("valid histogram"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_type_is_the_name_before_its_display_brace() {
        let m = Metrics::new();
        m.peer_message(&m.peer_sent, &"AppendEntries{term=3 prev=(2,14) n=3}");
        m.peer_message(&m.peer_sent, &"AppendEntries{term=4 prev=(3,1) n=0}");
        let text = m.render();
        assert!(
            text.contains("peer_messages_sent_total{type=\"AppendEntries\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn snapshot_counters_are_exposed_at_zero_before_any_snapshot() {
        let text = Metrics::new().render();
        assert!(
            text.contains("snapshots_total{event=\"taken\"} 0"),
            "{text}"
        );
        assert!(text.contains("wal_healthy 1"), "{text}");
    }
}
