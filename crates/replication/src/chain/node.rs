//! One chain node, master or replica, as a [`Protocol`]: the host runs every node of a chain
//! cluster through this one type, and `Config::id == Config::master` decides which it is.
//!
//! ```text
//!   step(from, msg) ──► from a stranger or itself? note, drop
//!                   ├─► Master:  on_heartbeat                                   (master.rs)
//!                   └─► Replica: epoch gate ──► on_update | on_ack              (write.rs)
//!                                             | on_version_query | on_version_reply (read.rs)
//!                                             | on_state_chunk | on_chunk_ack    (transfer.rs)
//!                                on_heartbeat_ack | on_configure                (replica.rs)
//!   tick()   ──► Master: remove silent members, one new epoch        (master.rs)
//!                Replica: heartbeat, resend Sent, resend a chunk, expire reads
//!   input()  ──► Master: redirect.  Replica: put at the head, get at the tail (any, in CRAQ)
//! ```
//!
//! The road not taken: two protocol types, one for the master and one for replicas. The
//! simulator and the test cluster run one `Protocol` type per cluster, and a learner reads
//! one trace in which the master's messages sit between the replicas' own.

use distributed_core::{Effects, NodeId, Protocol};

use crate::chain::config::{Config, ConfigError};
use crate::chain::configuration::Configuration;
use crate::chain::master::Master;
use crate::chain::message::Message;
use crate::chain::replica::Replica;
use crate::chain::store::{self, Disk, Write};
use crate::client::{ClientReply, ClientRequest};

/// The effects of one call into a chain node. The host's contract, in order: persist every
/// write (a stored version must be on disk before the update or ack that mentions it leaves),
/// send every message, deliver every output (client replies), clear.
pub type Out = Effects<ChainNode>;

/// A chain node: the master or one replica (see the module docs).
#[derive(Debug)]
pub enum ChainNode {
    /// The configuration authority. Both roles are boxed: they differ in size, and the
    /// simulator moves nodes around by value.
    Master(Box<Master>),
    /// A replica: head, middle, tail, joining, or outside the chain.
    Replica(Box<Replica>),
}

impl ChainNode {
    /// A node rebuilt from `disk` alone (a default disk: a brand new node).
    pub fn new(config: Config, disk: &Disk) -> Result<ChainNode, ConfigError> {
        config.validate()?;
        if config.id == config.master {
            return Ok(ChainNode::Master(Box::new(Master::new(config, disk))));
        }
        Replica::new(config, disk).map(|r| ChainNode::Replica(Box::new(r)))
    }

    /// The master, if this node is it.
    pub fn master(&self) -> Option<&Master> {
        match self {
            ChainNode::Master(m) => Some(m),
            ChainNode::Replica(_) => None,
        }
    }

    /// The replica, if this node is one.
    pub fn replica(&self) -> Option<&Replica> {
        match self {
            ChainNode::Replica(r) => Some(r),
            ChainNode::Master(_) => None,
        }
    }

    /// The newest configuration this node knows.
    pub fn configuration(&self) -> &Configuration {
        match self {
            ChainNode::Master(m) => m.configuration(),
            ChainNode::Replica(r) => r.configuration(),
        }
    }

    fn config(&self) -> &Config {
        match self {
            ChainNode::Master(m) => &m.config,
            ChainNode::Replica(r) => &r.config,
        }
    }
}

impl Protocol for ChainNode {
    type Message = Message;
    type Input = ClientRequest;
    type Output = ClientReply;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.config().id
    }

    fn step(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        let config = self.config();
        if from == config.id {
            return out.note(format_args!("ignored {msg} from {from}: sent by itself"));
        }
        if from != config.master && !config.is_replica(from) {
            return out.note(format_args!(
                "ignored {msg} from {from}: neither the master nor a replica of this cluster"
            ));
        }
        match self {
            ChainNode::Master(m) => m.step(from, msg, out),
            ChainNode::Replica(r) => r.step(from, msg, out),
        }
    }

    fn tick(&mut self, out: &mut Out) {
        match self {
            ChainNode::Master(m) => m.tick(out),
            ChainNode::Replica(r) => r.tick(out),
        }
    }

    fn input(&mut self, input: ClientRequest, out: &mut Out) {
        match self {
            ChainNode::Master(m) => m.input(input, out),
            ChainNode::Replica(r) => r.input(input, out),
        }
    }

    fn persist(disk: &mut Disk, write: &Write) {
        store::persist(disk, write);
    }
}
