//! The primary-backup invariants, checked from outside: what a test or the simulator runs over
//! the running nodes after every event.
//!
//! ```text
//!   one server serves           at most one server would answer a read now (a primary with
//!                               its tenure, its inherited history committed, and a lease)
//!   committed ⊆ every backup    each backup the primary counts in its lineage holds its
//!                               history through the primary's commit point, with the same
//!                               values, and agrees on every logged put they share
//!   acked view is whole         if the view service's view is acknowledged, every backup of it
//!                               that knows the view is in the lineage and holds the commit point
//!   no serving without history  (Audit, across time) a server that serves reads has committed
//!                               at least as far as any server ever did: no acknowledged put is
//!                               missing from the registers it reads
//! ```
//!
//! Pass only running nodes: a crashed node's clock does not advance in the simulator, so its
//! last lease would look valid forever. Under `Variant::ReadWithoutLease` the first check
//! fails once a replaced primary and its successor both serve; under `Variant::NoViewAck` the
//! last one fails when a backup that never received the state is made primary.

use distributed_core::NodeId;

use crate::primary_backup::node::PbNode;
use crate::primary_backup::server::Server;
use crate::primary_backup::store::Seq;

/// Check the invariants that hold at every instant (module docs, first three). `Err` names the
/// nodes and what differs.
pub fn check_primary_backup(nodes: &[&PbNode]) -> Result<(), String> {
    let servers: Vec<&Server> = nodes.iter().filter_map(|n| n.server()).collect();
    let serving: Vec<String> = servers
        .iter()
        .filter(|s| s.serves_reads())
        .map(|s| s.id().to_string())
        .collect();
    if serving.len() > 1 {
        return Err(format!(
            "two primaries serve at once: {} would each answer a read now",
            serving.join(" and ")
        ));
    }
    let find = |id: NodeId| servers.iter().copied().find(|s| s.id() == id);
    for primary in servers.iter().filter(|s| s.primary.is_some()) {
        for (backup, _) in primary.synced_backups() {
            let Some(b) = find(backup) else { continue };
            let shared = b.view().num == primary.view().num;
            if shared && b.store().lineage() == primary.view().since {
                holds_committed(primary, b)?;
            }
        }
    }
    let Some(service) = nodes.iter().find_map(|n| n.view_service()) else {
        return Ok(());
    };
    let view = service.view();
    let primary = find(view.primary).filter(|p| p.view().num == view.num && p.primary.is_some());
    let (Some(primary), true) = (primary, service.is_acked()) else {
        return Ok(());
    };
    for &backup in &view.backups {
        let Some(b) = find(backup).filter(|b| b.view().num == view.num) else {
            continue;
        };
        if b.store().lineage() != view.since {
            return Err(format!(
                "view {} is acknowledged, but its backup {backup} holds lineage {} instead of \
                 tenure {}",
                view.num,
                b.store().lineage(),
                view.since
            ));
        }
        holds_committed(primary, b)?;
    }
    Ok(())
}

/// `backup` holds `primary`'s history through its commit point, and their logs agree.
fn holds_committed(primary: &Server, backup: &Server) -> Result<(), String> {
    let (p, b) = (primary.store(), backup.store());
    let (pn, bn) = (primary.id(), backup.id());
    let c = p.committed_seq();
    if b.last_seq() < c {
        return Err(format!(
            "{pn} committed through seq {c}, but its backup {bn} holds only through {}",
            b.last_seq()
        ));
    }
    if b.committed_seq() > c {
        return Err(format!(
            "{bn} counts seq {} committed, beyond its primary {pn}'s {c}",
            b.committed_seq()
        ));
    }
    let mut keys = p.keys_as_of(c);
    keys.extend(b.keys_as_of(c));
    keys.sort();
    keys.dedup();
    for key in keys {
        let (mine, theirs) = (p.value_as_of(key, c), b.value_as_of(key, c));
        if mine != theirs {
            return Err(format!(
                "as of committed seq {c}, {key} is {mine:?} at {pn} but {theirs:?} at {bn}"
            ));
        }
    }
    let shared = b.log_after(c).take_while(|(seq, _)| *seq <= p.last_seq());
    for (seq, record) in shared {
        let held = p.log_after(seq - 1).next().filter(|(s, _)| *s == seq);
        if held.is_none_or(|(_, r)| r != record) {
            return Err(format!(
                "seq {seq} is {}={} at {bn} but not at its primary {pn}: the histories forked",
                record.key, record.value
            ));
        }
    }
    Ok(())
}

/// The invariants across time (module docs, the last): remembers the highest commit point
/// any server reached.
#[derive(Clone, Debug, Default)]
pub struct Audit {
    /// The highest commit point seen on any server, and the first server seen there.
    committed_max: Option<(Seq, NodeId)>,
}

impl Audit {
    /// A fresh audit: nothing committed yet.
    pub fn new() -> Audit {
        Audit::default()
    }

    /// The highest commit point seen so far, and where.
    pub fn committed_max(&self) -> Option<(Seq, NodeId)> {
        self.committed_max
    }

    /// Check `running` now (every invariant of the module docs) and remember its commit
    /// points for later checks.
    pub fn check(&mut self, running: &[&PbNode]) -> Result<(), String> {
        check_primary_backup(running)?;
        let servers = running.iter().filter_map(|n| n.server());
        for s in servers.clone() {
            let c = s.store().committed_seq();
            if self.committed_max.is_none_or(|(max, _)| c > max) {
                self.committed_max = Some((c, s.id()));
            }
        }
        let Some((max, at)) = self.committed_max else {
            return Ok(());
        };
        for s in servers.filter(|s| s.serves_reads()) {
            let c = s.store().committed_seq();
            if c < max {
                return Err(format!(
                    "{} serves reads with its history committed through seq {c}, but {at} \
                     committed through seq {max}: acknowledged puts are missing",
                    s.id()
                ));
            }
        }
        Ok(())
    }
}
