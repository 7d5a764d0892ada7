//! One primary-backup node, view service or server, as a [`Protocol`]: the host runs every
//! node of a cluster through this one type, and `Config::id == Config::view_service` decides
//! which it is.
//!
//! ```text
//!   step(from, msg) ──► from a stranger or itself? note, drop
//!                   ├─► ViewService: on_ping                              (view_service.rs)
//!                   └─► Server: on_ping_reply                                  (server.rs)
//!                               view gate ──► on_forward | on_probe | on_state_chunk (backup.rs)
//!                                           | on_forwarded | on_probed | on_chunk_ack (transfer.rs)
//!   tick()   ──► ViewService: count the silent dead, maybe the next view
//!                Server: take a tenure, ping, probe / send chunks / resend forwards
//!   input()  ──► ViewService: redirect.  Server: put / get at the primary     (primary.rs)
//! ```
//!
//! The road not taken: two protocol types. The simulator and the test cluster run one
//! `Protocol` type per cluster, and a learner reads one trace in which the view service's
//! messages sit between the servers' own (as chain replication's master does).

use std::collections::BTreeMap;
use std::fmt;

use distributed_core::{Effects, NodeId, Protocol};

use crate::client::{ClientReply, ClientRequest, Key, Value};
use crate::primary_backup::config::{Config, ConfigError};
use crate::primary_backup::message::Message;
use crate::primary_backup::server::Server;
use crate::primary_backup::store::{self, Disk, Write};
use crate::primary_backup::view::View;
use crate::primary_backup::view_service::ViewService;

/// The effects of one call into a node. The host's contract, in order: persist every write (a
/// put must be on disk before the forward or acknowledgement that mentions it leaves, a view
/// before the reply that announces it), send every message, deliver every output, clear.
pub type Out = Effects<PbNode>;

/// A node's part, as it sees itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The configuration authority.
    ViewService,
    /// The primary of the server's own view (which may be out of date).
    Primary,
    /// A backup of the server's own view.
    Backup,
    /// A server outside its own view.
    Idle,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::ViewService => "view-service",
            Role::Primary => "primary",
            Role::Backup => "backup",
            Role::Idle => "idle",
        })
    }
}

/// A primary-backup node: the view service or one server (see the module docs).
#[derive(Clone, Debug)]
pub enum PbNode {
    /// The configuration authority. Both parts are boxed: they differ in size, and the
    /// simulator moves nodes around by value.
    ViewService(Box<ViewService>),
    /// A server: primary, backup or idle.
    Server(Box<Server>),
}

impl PbNode {
    /// A node rebuilt from `disk` alone (a default disk: a brand new node).
    pub fn new(config: Config, disk: &Disk) -> Result<PbNode, ConfigError> {
        config.validate()?;
        if config.id == config.view_service {
            return Ok(PbNode::ViewService(Box::new(ViewService::new(
                config, disk,
            ))));
        }
        Server::new(config, disk).map(|s| PbNode::Server(Box::new(s)))
    }

    /// The view service, if this node is it.
    pub fn view_service(&self) -> Option<&ViewService> {
        match self {
            PbNode::ViewService(v) => Some(v),
            PbNode::Server(_) => None,
        }
    }

    /// The server, if this node is one.
    pub fn server(&self) -> Option<&Server> {
        match self {
            PbNode::Server(s) => Some(s),
            PbNode::ViewService(_) => None,
        }
    }

    /// The newest view this node knows.
    pub fn view(&self) -> &View {
        match self {
            PbNode::ViewService(v) => v.view(),
            PbNode::Server(s) => s.view(),
        }
    }

    /// This node's part, as it sees itself.
    pub fn role(&self) -> Role {
        match self {
            PbNode::ViewService(_) => Role::ViewService,
            PbNode::Server(s) => s.role(),
        }
    }

    /// Every register this node stores with its newest value, committed or not (empty for the
    /// view service): what a final-state convergence check compares.
    pub fn registers(&self) -> BTreeMap<Key, Value> {
        self.server()
            .map_or_else(BTreeMap::new, |s| s.store().registers())
    }

    fn config(&self) -> &Config {
        match self {
            PbNode::ViewService(v) => &v.config,
            PbNode::Server(s) => &s.config,
        }
    }
}

impl Protocol for PbNode {
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
        if from != config.view_service && !config.is_server(from) {
            return out.note(format_args!(
                "ignored {msg} from {from}: neither the view service nor a server of this \
                 cluster"
            ));
        }
        match self {
            PbNode::ViewService(v) => v.step(from, msg, out),
            PbNode::Server(s) => s.step(from, msg, out),
        }
    }

    fn tick(&mut self, out: &mut Out) {
        match self {
            PbNode::ViewService(v) => v.tick(out),
            PbNode::Server(s) => s.tick(out),
        }
    }

    fn input(&mut self, input: ClientRequest, out: &mut Out) {
        match self {
            PbNode::ViewService(v) => v.input(input, out),
            PbNode::Server(s) => s.input(input, out),
        }
    }

    fn persist(disk: &mut Disk, write: &Write) {
        store::persist(disk, write);
    }
}
