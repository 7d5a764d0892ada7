//! raft-kv and paxos-kv as register schemes: the consistency map's consensus rows.
//!
//! ```text
//!   nodes n1..nN, every one a replica of the one log (no master: the log elects its leader)
//!
//!   put, get ──► any replica, drawn per request; a follower redirects to its leader
//!   leader-aimed faults: the replica that leads in the newest term (ballot)
//!   final states: every live replica's state machine, key by key (after the calm and the
//!                 quiet period every replica has applied the whole committed log)
//! ```
//!
//! Promises: linearizability (reads by ReadIndex in Raft §6.4, by a read round in Paxos;
//! writes through the log), so everything below it, and eventual convergence. A broken
//! replica variant (`stale-follower-reads`, `ack-before-commit`) promises the same, so the
//! run shows the promise broken.
//!
//! The road not taken: running raft-kv's own invariants (election safety, log matching, state
//! machine safety) here too. They are typed for the bare replica and already run after every
//! event in `distributed sim --protocol raft-kv` / `paxos-kv`; here the consistency checkers
//! alone judge, the same judges every other row gets.

use distributed_core::{NodeId, Protocol, SeededRng, WireSize};
use paxos::Paxos;
use replica::ordered::OrderedReplica;
use replica::{KvReplica, ReplicaVariant};
use sim::hooks::Invariant;
use sim::view::ClusterView;

use super::register::{ConsensusNode, KvRegister};
use crate::paxos_kv::PaxosKvOptions;
use crate::raft_kv::RaftKvOptions;
use crate::replication::models::Model;
use crate::replication::options::KEYS_MAX;
use crate::replication::scheme::{Contact, MessageSize, OpKind, RegisterScheme, ReplicaState};

impl ConsensusNode for KvReplica {
    fn clock(now_ms: u64) -> Option<replica::Input> {
        Some(replica::Input::Clock { now_ms })
    }

    fn leads(&self) -> bool {
        self.raft().role() == raft::Role::Leader
    }

    fn leader_rank(&self) -> u64 {
        self.raft().term()
    }
}

impl ConsensusNode for OrderedReplica<Paxos> {
    fn clock(_now_ms: u64) -> Option<replica::ordered::Input> {
        None
    }

    fn leads(&self) -> bool {
        self.core().is_leader()
    }

    fn leader_rank(&self) -> u64 {
        self.core()
            .ballot()
            .map_or(0, |b| (b.round << 16) | b.node.0)
    }
}

/// The KV store on Raft, `nodes` replicas, as registers.
#[derive(Clone, Debug)]
pub struct RaftRegisters {
    /// raft-kv's options: nodes, timeouts, snapshot thresholds, the replica variant.
    opts: RaftKvOptions,
}

impl RaftRegisters {
    /// `nodes` Raft replicas answering as `variant` says; refused if raft-kv refuses them.
    pub fn new(nodes: usize, variant: ReplicaVariant) -> Result<Self, String> {
        let opts = RaftKvOptions {
            nodes,
            variant,
            ..RaftKvOptions::default()
        };
        opts.validate().map_err(|e| e.0)?;
        Ok(RaftRegisters { opts })
    }
}

/// The KV store on Multi-Paxos, `nodes` replicas, as registers.
#[derive(Clone, Debug)]
pub struct PaxosRegisters {
    /// paxos-kv's options: nodes, quorums, snapshot thresholds, the Paxos variant.
    opts: PaxosKvOptions,
}

impl PaxosRegisters {
    /// `nodes` Paxos replicas; refused if paxos-kv refuses them.
    pub fn new(nodes: usize, variant: paxos::Variant) -> Result<Self, String> {
        let mut opts = PaxosKvOptions {
            variant,
            ..PaxosKvOptions::default()
        };
        opts.run.nodes = nodes;
        opts.validate().map_err(|e| e.0)?;
        Ok(PaxosRegisters { opts })
    }
}

/// The replica that leads in the newest term or ballot, among the live ones.
fn newest_leader<P: ConsensusNode>(view: &ClusterView<KvRegister<P>>) -> Option<NodeId> {
    view.live()
        .filter(|(_, n)| n.inner().leads())
        .max_by_key(|(_, n)| n.inner().leader_rank())
        .map(|(id, _)| id)
}

/// Every live replica's registers, read from its state machine: keys `k0..` the harness uses.
fn machine_states<P: ConsensusNode>(view: &ClusterView<KvRegister<P>>) -> Vec<ReplicaState> {
    view.live()
        .map(|(id, n)| ReplicaState {
            node: id,
            registers: (0..KEYS_MAX)
                .filter_map(|k| {
                    let key = format!("k{k}");
                    let value = n.inner().machine().get(key.as_bytes())?;
                    Some((key, vec![String::from_utf8_lossy(value).into_owned()]))
                })
                .collect(),
        })
        .collect()
}

/// What differs between the consensus rows: which replica, built how. Everything else about
/// a consensus row is the same, in the one `RegisterScheme` impl below.
pub trait ConsensusLog: Clone + Send + Sync + 'static {
    /// The replica one node runs.
    type Replica: ConsensusNode + 'static;
    /// The row's name: `raft-kv`, `paxos-kv`.
    const NAME: &'static str;
    /// The variant's name: `correct` or a broken one.
    fn variant(&self) -> String;
    /// Replicas in the cluster.
    fn node_count(&self) -> usize;
    /// Node `id` of `seed`'s run, from its disk.
    fn replica(
        &self,
        seed: u64,
        id: NodeId,
        disk: &<Self::Replica as Protocol>::Disk,
        rng: SeededRng,
    ) -> Self::Replica;
}

/// A consensus log's KV store as a register scheme (module docs).
#[derive(Clone, Debug)]
pub struct Consensus<L>(pub L);

impl<L: ConsensusLog> RegisterScheme for Consensus<L>
where
    <L::Replica as Protocol>::Message: WireSize,
{
    type Node = KvRegister<L::Replica>;

    fn name(&self) -> &'static str {
        L::NAME
    }

    fn variant(&self) -> String {
        self.0.variant()
    }

    fn nodes(&self) -> usize {
        self.0.node_count()
    }

    fn build(
        &self,
        seed: u64,
        id: NodeId,
        disk: &<L::Replica as Protocol>::Disk,
        rng: SeededRng,
    ) -> Self::Node {
        KvRegister::new(self.0.replica(seed, id, disk, rng))
    }

    fn contacts(&self) -> Vec<NodeId> {
        (1..=self.0.node_count() as u64).map(NodeId).collect()
    }

    fn first_contact(&self, _kind: OpKind) -> Contact {
        Contact::Any
    }

    fn refused_put_is_void(&self) -> bool {
        // Unavailable comes only from NotLeader and Busy: surely not proposed.
        true
    }

    fn invariants(&self) -> Vec<Box<dyn Invariant<Self::Node>>> {
        Vec::new()
    }

    fn leader(&self, view: &ClusterView<Self::Node>) -> Option<NodeId> {
        newest_leader(view)
    }

    fn message_size(&self) -> Option<MessageSize<Self::Node>> {
        Some(WireSize::wire_bytes)
    }

    fn final_states(&self, view: &ClusterView<Self::Node>) -> Vec<ReplicaState> {
        machine_states(view)
    }

    fn promises(&self) -> &'static [Model] {
        &Model::ALL
    }
}

impl ConsensusLog for RaftRegisters {
    type Replica = KvReplica;
    const NAME: &'static str = "raft-kv";

    fn variant(&self) -> String {
        self.opts.variant.to_string()
    }

    fn node_count(&self) -> usize {
        self.opts.nodes
    }

    fn replica(&self, seed: u64, id: NodeId, disk: &raft::Disk, rng: SeededRng) -> KvReplica {
        KvReplica::new(self.opts.for_seed(seed).replica_config(id), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    }
}

impl ConsensusLog for PaxosRegisters {
    type Replica = OrderedReplica<Paxos>;
    const NAME: &'static str = "paxos-kv";

    fn variant(&self) -> String {
        match self.opts.variant {
            paxos::Variant::Correct => "correct",
            paxos::Variant::AcceptOwnValue => "accept-own-value",
            paxos::Variant::SmallPhase1Quorum => "small-phase1-quorum",
        }
        .to_string()
    }

    fn node_count(&self) -> usize {
        self.opts.run.nodes
    }

    fn replica(
        &self,
        seed: u64,
        id: NodeId,
        disk: &paxos::Disk,
        rng: SeededRng,
    ) -> OrderedReplica<Paxos> {
        let core = Paxos::new(self.opts.paxos_config(id), disk, rng)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"));
        OrderedReplica::new(self.opts.ordered_config(seed), core, disk)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    }
}
