//! The settings of one node process, and `validate()` that refuses unsafe ones with a reason.
//!
//! ```text
//!   --id 1 --listen 127.0.0.1:6379 --peer-listen 127.0.0.1:7379
//!   --peers 1=127.0.0.1:7379,2=127.0.0.1:7380,3=127.0.0.1:7381 --data-dir d/n1 --tick-ms 10
//!        │
//!        ▼
//!   NodeConfig ──validate──► voters = keys of `peers` ∪ {id}; data_dir/wal holds the WAL
//! ```
//!
//! Every node of a cluster must be given the same voter set: Raft computes majorities over it
//! (membership changes are a later issue), and the process cannot check what others were told.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use distributed_core::NodeId;

use crate::resp;

/// How one node runs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's Raft id; must be ≥ 1 (0 means "none" on the wire and on disk).
    pub id: NodeId,
    /// Where clients connect with RESP (redis-cli, redis-benchmark, `distributed kv`).
    pub listen: SocketAddr,
    /// Where peers connect to deliver Raft messages and forwarded requests.
    pub peer_listen: SocketAddr,
    /// Every voter's peer address. This node's own entry may be present (the same list can be
    /// given to every node); it is ignored in favour of `peer_listen`.
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// The node's durable state lives under here (`wal/`); it survives restarts.
    pub data_dir: PathBuf,
    /// One Raft tick, in milliseconds. Raft's timeouts are in ticks (election 10..20,
    /// heartbeat 2), so 10 ms gives a 100–200 ms election timeout.
    pub tick_ms: u64,
    /// Bounds on client frames.
    pub resp_limits: resp::Limits,
    /// Largest peer frame accepted; bounds what a peer (or a stranger) makes us buffer.
    pub peer_frame_bytes_max: usize,
    /// Ticks a follower waits for the leader's answer to a forwarded request before telling
    /// the client `TRYAGAIN` (the outcome is then unknown).
    pub forward_timeout_ticks: u64,
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
        NodeConfig {
            id,
            listen,
            peer_listen,
            peers,
            data_dir,
            tick_ms: 10,
            resp_limits: resp::Limits::default(),
            peer_frame_bytes_max: 16 << 20,
            forward_timeout_ticks: 500,
        }
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
            return Err(format!("--tick-ms {} must be in 1..=10000", self.tick_ms));
        }
        if self.listen == self.peer_listen {
            return Err(format!(
                "--listen and --peer-listen are both {}",
                self.listen
            ));
        }
        if self.voters().len() > 64 {
            return Err("more than 64 voters: every write waits for a majority of them".into());
        }
        if self.peer_frame_bytes_max < (1 << 20) + 4096 {
            return Err("peer_frame_bytes_max must hold one 1 MiB AppendEntries".into());
        }
        Ok(())
    }
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
}
