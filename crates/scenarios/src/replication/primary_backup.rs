//! Primary-backup (a view service with leases, 6.824-style) on the register harness.
//!
//! ```text
//!   nodes n1..nS: the servers          n{S+1}: the view service (the configuration authority)
//!
//!   put, get ──► n1 first (the first view's primary); a backup or idle server redirects to
//!                the primary of the view it knows
//!   every event: check_primary_backup over the running nodes (at most one server serves
//!                reads; every counted backup holds the primary's history through the commit
//!                point) and the Audit across time (no read served with less committed than
//!                any server ever committed)
//!   leader-aimed faults: the primary of the newest view
//!   final states: the primary and backups of the newest view (after the calm and the quiet
//!                 period, each holds every committed put)
//! ```
//!
//! Promises: linearizability (a put is answered once every backup stored it; a read is served
//! by the primary, under its lease, from committed values), so everything below it, and
//! eventual convergence of the view's members. The broken variants (`no-view-ack`,
//! `read-without-lease`) promise the same, so the run shows the promise broken.
//!
//! A put refused `Unavailable` was refused before it was stored (`primary_backup/primary.rs`),
//! so the clients may send it again.

use distributed_core::{NodeId, SeededRng, WireSize};
use replication::primary_backup::{
    check_primary_backup, Audit, Config, Disk, PbNode, Role, Variant,
};
use sim::hooks::Invariant;
use sim::view::ClusterView;

use super::models::Model;
use super::scheme::{Contact, MessageSize, OpKind, RegisterScheme, ReplicaState};

/// Most servers (the view service is one more node).
pub const SERVERS_MAX: usize = 16;

/// Primary-backup with `servers` servers and a view service after them.
#[derive(Clone, Debug)]
pub struct PrimaryBackupScheme {
    /// Correct, or a deliberately broken rule.
    variant: Variant,
    /// Servers: one primary, `backups_wanted` backups, the rest idle spares.
    servers: usize,
}

impl PrimaryBackupScheme {
    /// `servers` servers and a view service; refused (with the core's reason) where the core
    /// refuses the configuration.
    pub fn new(variant: Variant, servers: usize) -> Result<PrimaryBackupScheme, String> {
        if !(2..=SERVERS_MAX).contains(&servers) {
            return Err(format!(
                "primary-backup with {servers} servers: must be 2..={SERVERS_MAX} (a primary \
                 and at least one backup; the view service is one more node)"
            ));
        }
        let scheme = PrimaryBackupScheme { variant, servers };
        scheme.config(NodeId(1)).validate().map_err(|e| e.reason)?;
        Ok(scheme)
    }

    /// The view service's id: after every server.
    pub fn view_service(&self) -> NodeId {
        NodeId(self.servers as u64 + 1)
    }

    /// Node `id`'s configuration.
    fn config(&self, id: NodeId) -> Config {
        let servers = (1..=self.servers as u64).map(NodeId).collect();
        let mut c = Config::new(id, self.view_service(), servers);
        c.variant = self.variant;
        c
    }
}

impl RegisterScheme for PrimaryBackupScheme {
    type Node = PbNode;

    fn name(&self) -> &'static str {
        "primary-backup"
    }

    fn variant(&self) -> String {
        self.variant.to_string()
    }

    fn nodes(&self) -> usize {
        self.servers + 1
    }

    fn build(&self, _seed: u64, id: NodeId, disk: &Disk, _rng: SeededRng) -> PbNode {
        PbNode::new(self.config(id), disk)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {}", e.reason))
    }

    fn contacts(&self) -> Vec<NodeId> {
        (1..=self.servers as u64).map(NodeId).collect()
    }

    fn first_contact(&self, _kind: OpKind) -> Contact {
        Contact::Fixed(NodeId(1))
    }

    fn refused_put_is_void(&self) -> bool {
        true
    }

    fn invariants(&self) -> Vec<Box<dyn Invariant<PbNode>>> {
        vec![
            Box::new(OneServingPrimary),
            Box::new(NoReadBehind(Audit::new())),
        ]
    }

    fn leader(&self, view: &ClusterView<PbNode>) -> Option<NodeId> {
        view.live()
            .filter(|(_, n)| n.role() == Role::Primary)
            .max_by_key(|(_, n)| n.view().num)
            .map(|(id, _)| id)
    }

    fn message_size(&self) -> Option<MessageSize<PbNode>> {
        Some(WireSize::wire_bytes)
    }

    fn final_states(&self, view: &ClusterView<PbNode>) -> Vec<ReplicaState> {
        let Some(newest) = view.live().map(|(_, n)| n.view()).max_by_key(|v| v.num) else {
            return Vec::new();
        };
        let members: Vec<NodeId> = std::iter::once(newest.primary)
            .chain(newest.backups.iter().copied())
            .collect();
        view.live()
            .filter(|(id, _)| members.contains(id))
            .map(|(id, n)| ReplicaState {
                node: id,
                registers: n
                    .registers()
                    .into_iter()
                    .map(|(k, v)| (k, vec![v]))
                    .collect(),
            })
            .collect()
    }

    fn promises(&self) -> &'static [Model] {
        &Model::ALL
    }
}

/// The running nodes: a crashed node's frozen clock would make its old lease look valid.
fn running<'a>(view: &ClusterView<'a, PbNode>) -> Vec<&'a PbNode> {
    view.live().map(|(_, n)| n).collect()
}

/// At most one server serves reads, and the primary's counted backups hold its history
/// (`check_primary_backup`), after every event.
struct OneServingPrimary;

impl Invariant<PbNode> for OneServingPrimary {
    fn name(&self) -> &str {
        "one-serving-primary"
    }

    fn check(&mut self, view: &ClusterView<PbNode>) -> Result<(), String> {
        check_primary_backup(&running(view))
    }
}

/// Across time: no server serves reads with less committed than any server ever committed.
struct NoReadBehind(Audit);

impl Invariant<PbNode> for NoReadBehind {
    fn name(&self) -> &str {
        "no-read-behind"
    }

    fn check(&mut self, view: &ClusterView<PbNode>) -> Result<(), String> {
        self.0.check(&running(view))
    }
}
