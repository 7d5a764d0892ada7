//! A view: which server is primary, which are its backups, under which view number, and since
//! which view this primary has held the job (its *tenure*). Only the view service makes one;
//! every server adopts the newest it hears of.
//!
//! ```text
//!   View{num=5 primary=n2 backups=[n3,n1] since=4}
//!            │         │           │         └── n2 became primary in view 4 and has been ever
//!            │         │           │             since: its history is the tenure-4 lineage
//!            │         │           └──────────── each stores every put before it is answered
//!            │         └──────────────────────── orders puts, answers gets under its lease
//!            └────────────────────────────────── grows by one per view change
//! ```
//!
//! The tenure number names a *lineage*: the history one primary writes during its tenure. A
//! backup whose store is a copy of that history (by state transfer, then forwards) is *in the
//! lineage* and may take forwards; any other must get the state first. Views that keep the
//! primary keep `since`, so a backup that stays keeps its store and only catches up.
//!
//! Invariants (asserted by [`View::new`]): the primary is not among the backups; no backup is
//! listed twice; `1 ≤ since ≤ num`.

use std::fmt;

use distributed_core::NodeId;

use crate::primary_backup::config::Config;

/// A view's number. Every message between servers carries the sender's, and a receiver
/// refuses one from another view: it was sent under a configuration that no longer holds.
pub type ViewNum = u64;

/// One view, as the view service hands it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// Which view this is; the first is 1.
    pub num: ViewNum,
    /// The server that orders puts and answers gets.
    pub primary: NodeId,
    /// The servers that store every put before the primary answers it, in promotion order.
    pub backups: Vec<NodeId>,
    /// The view in which `primary` took the job without interruption since: its tenure, and
    /// the name of the lineage its backups must be in.
    pub since: ViewNum,
}

impl View {
    /// A view; panics if it breaks the invariants of the module docs.
    pub fn new(num: ViewNum, primary: NodeId, backups: Vec<NodeId>, since: ViewNum) -> View {
        assert!(
            !backups.contains(&primary),
            "{primary} cannot back itself up"
        );
        for (k, b) in backups.iter().enumerate() {
            assert!(!backups[k + 1..].contains(b), "{b} is listed twice");
        }
        assert!(
            1 <= since && since <= num,
            "tenure {since} out of range for view {num}"
        );
        View {
            num,
            primary,
            backups,
            since,
        }
    }

    /// View 1, which every node knows without being told: the first server is primary, the
    /// next `backups_wanted` its backups.
    pub fn first(config: &Config) -> View {
        let primary = config.servers[0];
        let backups = config.servers[1..=config.backups_wanted].to_vec();
        View::new(1, primary, backups, 1)
    }

    /// Is `node` the primary or a backup?
    pub fn contains(&self, node: NodeId) -> bool {
        self.primary == node || self.is_backup(node)
    }

    /// Is `node` a backup?
    pub fn is_backup(&self, node: NodeId) -> bool {
        self.backups.contains(&node)
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backups: Vec<String> = self.backups.iter().map(|n| n.to_string()).collect();
        write!(
            f,
            "view={} primary={} backups=[{}] since={}",
            self.num,
            self.primary,
            backups.join(","),
            self.since
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_view_takes_the_first_servers_in_order() {
        let mut config = Config::new(NodeId(1), NodeId(9), (1..=4).map(NodeId).collect());
        config.backups_wanted = 2;
        let v = View::first(&config);
        assert_eq!(v.to_string(), "view=1 primary=n1 backups=[n2,n3] since=1");
        assert!(v.contains(NodeId(3)) && !v.contains(NodeId(4)));
        assert!(v.is_backup(NodeId(2)) && !v.is_backup(NodeId(1)));
    }

    #[test]
    #[should_panic(expected = "cannot back itself up")]
    fn a_primary_among_its_own_backups_is_a_bug() {
        View::new(2, NodeId(1), vec![NodeId(1)], 1);
    }

    #[test]
    #[should_panic(expected = "tenure 3 out of range")]
    fn a_tenure_that_starts_after_its_view_is_a_bug() {
        View::new(2, NodeId(1), vec![], 3);
    }
}
