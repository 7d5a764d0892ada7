//! The seam between the KV clients and the replicas they talk to, and the clients' settings.
//!
//! ```text
//!   KvClients ──P::request(tag, request, seed)──► P: KvNode ──► replica::Output::Reply{tag, ..}
//!               KvReplica (Raft)           OrderedReplica<Paxos>      OrderedReplica<Pbft>
//! ```
//!
//! One client, one history and one checker serve all three logs; what differs per protocol
//! is in [`ClientSettings`]: who may answer a read, how many matching replies make an answer
//! (one; f+1 under Byzantine faults), whether a resend goes to every replica (PBFT §4.1).

use distributed_core::{NodeId, Protocol};
use kv::Request;
use replica::ordered::{OrderedReplica, OrderingCore};
use replica::{KvReplica, Output};

use super::ops::KeySpace;
use super::options::RaftKvOptions;
use super::ReadPath;
use crate::faults::FaultProfile;
use sim::config::Time;

/// A node the KV clients can talk to: any protocol that answers `replica::Output`s and takes
/// a request as an input. Raft's `KvReplica` and every `OrderedReplica` (Multi-Paxos, PBFT)
/// are one, so one client, one history and one checker serve all three logs.
pub trait KvNode: Protocol<Output = Output> {
    /// The input that hands `request` to a node, tagged `tag`.
    fn request(tag: u64, request: Request, random_seed: u64) -> Self::Input;

    /// The replica's state machine, for the invariants that compare replicas' states.
    fn machine(&self) -> &kv::StateMachine;

    /// False for a node handed to a Byzantine adversary: its state proves nothing, and the
    /// invariants compare honest replicas only.
    fn is_honest(&self) -> bool {
        true
    }
}

impl KvNode for KvReplica {
    fn request(tag: u64, request: Request, random_seed: u64) -> replica::Input {
        replica::Input::Request {
            tag,
            request,
            random_seed,
        }
    }

    fn machine(&self) -> &kv::StateMachine {
        KvReplica::machine(self)
    }
}

impl<C: OrderingCore> KvNode for OrderedReplica<C> {
    fn request(tag: u64, request: Request, random_seed: u64) -> replica::ordered::Input {
        OrderedReplica::<C>::request(tag, request, random_seed)
    }

    fn machine(&self) -> &kv::StateMachine {
        OrderedReplica::machine(self)
    }
}

/// What the clients need to know about a run, whatever the protocol under them.
#[derive(Clone, Debug)]
pub(crate) struct ClientSettings {
    /// How many clients.
    pub(crate) clients: usize,
    /// Keys and op mix.
    pub(crate) keys: KeySpace,
    /// How long a send may go unanswered before the client resends elsewhere.
    pub(crate) timeout_units: Time,
    /// The longest think time between ops, and the base of backoffs.
    pub(crate) think_units_max: Time,
    /// Sends per op before the client gives up on it.
    pub(crate) attempts_max: u32,
    /// Ops per client over the run.
    pub(crate) ops_per_client_max: u64,
    /// Odds, per million, that a read goes to a random node instead of the guessed leader.
    pub(crate) follower_reads_per_million: u32,
    /// Reads go through the log, so only the leader answers them.
    pub(crate) reads_via_log: bool,
    /// No new op starts at or after this time.
    pub(crate) issue_until: Time,
    /// Matching `Done` replies from distinct nodes that make an answer: 1 where replicas
    /// fail by stopping; f+1 under Byzantine faults, so one of them is honest (PBFT §4.1).
    pub(crate) replies_needed: usize,
    /// A resend goes to every node, not one (PBFT §4.1: a backup that sees the request
    /// relays it to the primary and starts its timer, so a faulty primary is voted out).
    pub(crate) resend_to_all: bool,
}

impl RaftKvOptions {
    /// The clients' settings these options ask for.
    pub(crate) fn client_settings(&self) -> ClientSettings {
        ClientSettings {
            clients: self.clients,
            keys: KeySpace {
                string_keys: self.string_keys,
                counter_keys: self.counter_keys,
                volatile_reads: !self.faults.has(FaultProfile::Skew),
            },
            timeout_units: self.client_timeout_units,
            think_units_max: self.think_units_max,
            attempts_max: self.op_attempts_max,
            ops_per_client_max: self.ops_per_client_max,
            follower_reads_per_million: self.effective_follower_reads_per_million(),
            reads_via_log: self.read_path == ReadPath::Log,
            issue_until: self.issue_until_units(),
            replies_needed: 1,
            resend_to_all: false,
        }
    }
}

/// `Done` replies from distinct nodes, until `needed` of them match (PBFT §4.1: f+1 matching
/// replies, so at least one is honest). At most one per node, so bounded by the cluster size.
#[derive(Clone, Debug, Default)]
pub(crate) struct Votes(Vec<(NodeId, kv::Reply)>);

impl Votes {
    /// Count `reply` from `node`; true once `needed` nodes sent a reply equal to it.
    pub(crate) fn add(&mut self, node: NodeId, reply: &kv::Reply, needed: usize) -> bool {
        if needed <= 1 {
            return true;
        }
        if self.0.iter().all(|(n, _)| *n != node) {
            self.0.push((node, reply.clone()));
        }
        self.0.iter().filter(|(_, r)| r == reply).count() >= needed
    }
}
