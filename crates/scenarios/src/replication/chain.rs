//! Chain replication (OSDI '04) and CRAQ (ATC '09) on the register harness.
//!
//! ```text
//!   nodes n1..nR: the chain of epoch 1, head n1, tail nR        n{R+1}: the master
//!
//!   put ──► n1 (the head; a replica that is not redirects to its head)
//!   get ──► chain: nR (the tail; others redirect)     craq: any replica, drawn per get
//!   every event: the update propagation invariant over the live replicas (§3)
//!   leader-aimed faults: the head of the newest configuration (where writes enter)
//!   final states: every full member of the master's configuration, its newest version
//!                 of each key (after the calm and the quiet, all of them clean)
//! ```
//!
//! Promises: both modes promise linearizability, and so everything below it, and eventual
//! convergence: after the calm every replica rejoins the chain (the master adds it back at
//! the tail with a state transfer) and holds exactly the committed writes. The broken
//! variants (`ack-at-head`; `craq-dirty-read`, CRAQ only) promise the same, so the run shows
//! the promise broken: the tally says which models catch them and how often.
//!
//! A put refused `Unavailable` was refused before it was stored (`chain/write.rs`), so the
//! clients may send it again.
//!
//! Measured (`distributed sim --protocol chain|craq --seeds 0..2000 --faults all`, 5
//! replicas, 5 clients): both clean on all eight models, about 115 completed ops a seed, 31
//! messages per completed op (heartbeats and their acks are most of them), latency mean 5
//! ticks, p99 43. A quarter of the ops end indeterminate: a replica refuses an update that
//! arrives ahead of a gap, and the Sent list is resent whole every 8 ticks under reordering,
//! so a lagging replica gains about one update per resend and the chain stalls behind it
//! longer than the clients' 40-tick timeout. `ack-at-head` fails linearizability on every
//! seed (the first at seed 0) and loses an acknowledged write on 382 of 2000;
//! `craq-dirty-read` fails linearizability on 1750 of 2000 (seed 0) and monotonic reads on
//! 1068 (seed 2), while read-your-writes holds throughout.
//!
//! Found by these runs: with 3 replicas, correct CRAQ fails linearizability on seed 998 of
//! 2000 (`distributed sim --protocol craq --nodes 3 --seed 998 --trace`). The master removes
//! the tail n1, cut off from n2 but not from the head n3; n2, now tail, commits and returns
//! a newer value, while n3 (its Configure lost) still asks n1, which answers the version
//! query with its older committed version: `chain/read.rs` answers version queries without
//! checking the tail's own read lease, as a read at the tail does.

use distributed_core::{NodeId, SeededRng, WireSize};
use replication::chain::{
    check_update_propagation, ChainNode, Config, Disk, Mode, Replica, Variant,
};
use sim::hooks::Invariant;
use sim::view::ClusterView;

use super::models::Model;
use super::scheme::{Contact, MessageSize, OpKind, RegisterScheme, ReplicaState};

/// Most replicas in one chain (the master is one more node).
pub const CHAIN_REPLICAS_MAX: usize = 16;

/// Chain replication or CRAQ, correct or broken, with `replicas` replicas and a master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainScheme {
    /// How reads are served.
    mode: Mode,
    /// Correct, or a deliberately broken rule.
    variant: Variant,
    /// Replicas in the first chain.
    replicas: usize,
}

impl ChainScheme {
    /// A chain of `replicas` (n1 the head) and a master after them; refuses a size out of
    /// range or a variant the mode has no use for, saying why.
    pub fn new(mode: Mode, variant: Variant, replicas: usize) -> Result<ChainScheme, String> {
        if replicas == 0 || replicas > CHAIN_REPLICAS_MAX {
            return Err(format!(
                "a chain of {replicas} replicas: must be 1..={CHAIN_REPLICAS_MAX} (the master \
                 is one more node)"
            ));
        }
        let scheme = ChainScheme {
            mode,
            variant,
            replicas,
        };
        scheme
            .config(NodeId(1))
            .validate()
            .map_err(|e| e.to_string())?;
        Ok(scheme)
    }

    /// The master's id: after every replica.
    pub fn master(&self) -> NodeId {
        NodeId(self.replicas as u64 + 1)
    }

    /// Node `id`'s configuration.
    fn config(&self, id: NodeId) -> Config {
        let chain = (1..=self.replicas as u64).map(NodeId).collect();
        let mut c = Config::new(id, self.master(), chain);
        c.mode = self.mode;
        c.variant = self.variant;
        c
    }
}

impl RegisterScheme for ChainScheme {
    type Node = ChainNode;

    fn name(&self) -> &'static str {
        match self.mode {
            Mode::Chain => "chain",
            Mode::Craq => "craq",
        }
    }

    fn variant(&self) -> String {
        self.variant.to_string()
    }

    fn nodes(&self) -> usize {
        self.replicas + 1
    }

    fn build(&self, _seed: u64, id: NodeId, disk: &Disk, _rng: SeededRng) -> ChainNode {
        ChainNode::new(self.config(id), disk)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {e}"))
    }

    fn contacts(&self) -> Vec<NodeId> {
        (1..=self.replicas as u64).map(NodeId).collect()
    }

    fn first_contact(&self, kind: OpKind) -> Contact {
        match (kind, self.mode) {
            (OpKind::Put, _) => Contact::Fixed(NodeId(1)),
            (OpKind::Get, Mode::Chain) => Contact::Fixed(NodeId(self.replicas as u64)),
            (OpKind::Get, Mode::Craq) => Contact::Any,
        }
    }

    fn refused_put_is_void(&self) -> bool {
        true
    }

    fn invariants(&self) -> Vec<Box<dyn Invariant<ChainNode>>> {
        vec![Box::new(UpdatePropagation)]
    }

    fn leader(&self, view: &ClusterView<ChainNode>) -> Option<NodeId> {
        newest_configuration(view).map(|(head, _)| head)
    }

    fn message_size(&self) -> Option<MessageSize<ChainNode>> {
        Some(WireSize::wire_bytes)
    }

    fn final_states(&self, view: &ClusterView<ChainNode>) -> Vec<ReplicaState> {
        let Some((_, members)) = newest_configuration(view) else {
            return Vec::new();
        };
        live_replicas(view)
            .filter(|r| members.contains(&r.id()) && r.is_member() && r.is_ready())
            .map(|r| ReplicaState {
                node: r.id(),
                registers: r
                    .store()
                    .iter()
                    .filter_map(|(key, versions)| {
                        let newest = versions.last()?;
                        Some((key.clone(), vec![newest.value.clone()]))
                    })
                    .collect(),
            })
            .collect()
    }

    fn promises(&self) -> &'static [Model] {
        &Model::ALL
    }
}

/// Every live replica.
fn live_replicas<'a>(view: &ClusterView<'a, ChainNode>) -> impl Iterator<Item = &'a Replica> {
    view.live().filter_map(|(_, n)| n.replica())
}

/// The head and the full members (not joining) of the newest configuration any live node
/// knows. Only the master makes epochs, so while it is up this is the master's.
fn newest_configuration(view: &ClusterView<ChainNode>) -> Option<(NodeId, Vec<NodeId>)> {
    let newest = view
        .live()
        .map(|(_, n)| n.configuration())
        .max_by_key(|c| c.epoch)?;
    let full = newest
        .chain
        .iter()
        .copied()
        .filter(|&m| !newest.is_joining(m))
        .collect();
    Some((newest.head(), full))
}

/// OSDI '04 §3's update propagation invariant over the live replicas, after every event:
/// each member's history is a prefix of its predecessor's (`check_update_propagation`).
struct UpdatePropagation;

impl Invariant<ChainNode> for UpdatePropagation {
    fn name(&self) -> &str {
        "update-propagation"
    }

    fn check(&mut self, view: &ClusterView<ChainNode>) -> Result<(), String> {
        let replicas: Vec<&Replica> = live_replicas(view).collect();
        check_update_propagation(&replicas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dirty_read_variant_is_refused_in_chain_mode_with_the_core_s_reason() {
        let e = ChainScheme::new(Mode::Chain, Variant::CraqDirtyRead, 3).unwrap_err();
        assert!(e.contains("needs mode craq"), "{e}");
        assert!(ChainScheme::new(Mode::Craq, Variant::CraqDirtyRead, 3).is_ok());
        assert!(ChainScheme::new(Mode::Chain, Variant::Correct, 0).is_err());
    }

    #[test]
    fn puts_go_to_the_head_and_gets_to_the_tail_or_anywhere_in_craq() {
        let chain = ChainScheme::new(Mode::Chain, Variant::Correct, 3).unwrap();
        assert_eq!(chain.first_contact(OpKind::Put), Contact::Fixed(NodeId(1)));
        assert_eq!(chain.first_contact(OpKind::Get), Contact::Fixed(NodeId(3)));
        assert_eq!(chain.contacts(), vec![NodeId(1), NodeId(2), NodeId(3)]);
        assert_eq!(chain.master(), NodeId(4));
        let craq = ChainScheme::new(Mode::Craq, Variant::Correct, 3).unwrap();
        assert_eq!(craq.first_contact(OpKind::Get), Contact::Any);
    }
}
