//! Dynamo-style quorums (SOSP '07) on the register harness: N, R, W, sloppy or strict,
//! siblings by dotted version vectors or last-writer-wins by HLC.
//!
//! ```text
//!   nodes n1..nM, every one a coordinator (no master, no leader); each key on N home nodes
//!
//!   put, get ──► any node, drawn per request (a put is forwarded to its key's first home node)
//!   leader-aimed faults: none to aim at, so they pick a node at random
//!   final states: per key, its N home nodes, as "home slot 1..N" (below)
//! ```
//!
//! **Final states by home slot.** A key lives on N of the M nodes, so a node that is not one
//! of its homes rightly holds nothing for it. The convergence checker compares every replica
//! it is given on every key, so each key is reported from its home nodes in ring order, slot
//! 1 from its first home node, slot 2 from its second, and so on: the check then asks exactly
//! Dynamo's promise, that the N copies of each key agree after the calm (§4.6–4.7).
//!
//! **Promises: none the checkers can hold it to yet.** Not linearizability, not even with
//! R + W > N (a timed-out put may land later; a sloppy quorum's stand-ins need not meet; see
//! `quorum/mod.rs`, "What it promises"). Convergence is what Dynamo promises, but every rule
//! of the convergence check past "the replicas agree" is causal: a put that causally follows
//! another must not lose to it, nor stand beside it as a sibling. Causality that travels
//! through a client (it read x at one node, then wrote at another) reaches the store only if
//! the client carries a context (Dynamo §4.4), and the register vocabulary carries none yet;
//! a get answered with siblings is also recorded as a read with no return, so the checkers do
//! not see what such a client saw. Measured on `--seeds 0..50 --faults all`: DVV loses the
//! `converges` column on 1 seed, LWW by HLC on 2, always through a client that moved. So a
//! quorum row reports every column and fails on none; its broken variants show as columns
//! that drop (the map), not as failed runs. Client contexts are the next step (issue 16).
//!
//! Clocks: each node's physical clock starts 0..=CLOCK_OFFSET_TICKS_MAX ticks off (options.rs, drawn from
//! the seed), within the HLC's drift bound: LWW by HLC keeps causal order through it, the
//! `lww-wall-clock` variant does not.

use distributed_core::{NodeId, SeededRng, WireSize};
use replication::quorum::{Config, Disk, Quorum, Resolution, Variant};
use sim::hooks::Invariant;
use sim::view::ClusterView;

use super::models::Model;
use super::options::{clock_offset_ticks, HLC_MAX_OFFSET_TICKS, KEYS_MAX};

use super::scheme::{Contact, MessageSize, OpKind, RegisterScheme, ReplicaState};

/// A Dynamo cluster as one row of the map.
#[derive(Clone, Debug)]
pub struct QuorumScheme {
    /// M: nodes in the cluster.
    nodes: usize,
    /// N, R, W, resolution, sloppiness, variant: node 1's configuration, the others' differ
    /// only in `id` and clock offset.
    template: Config,
}

impl QuorumScheme {
    /// `nodes` nodes storing each key on `n`, reads waiting for `r`, writes for `w`; refused
    /// (with the core's reason) where the core refuses it.
    pub fn new(
        nodes: usize,
        (n, r, w): (usize, usize, usize),
        resolution: Resolution,
        sloppy_quorum: bool,
        variant: Variant,
    ) -> Result<QuorumScheme, String> {
        let ids = (1..=nodes as u64).map(NodeId).collect();
        let mut template = Config::new(NodeId(1), ids);
        template.replicas = n;
        template.read_quorum = r;
        template.write_quorum = w;
        template.resolution = resolution;
        template.sloppy_quorum = sloppy_quorum;
        let template = if variant == Variant::Correct {
            template
        } else {
            template.with_variant(variant)
        };
        template.validate().map_err(|e| e.reason)?;
        Ok(QuorumScheme { nodes, template })
    }

    /// The row's label: `quorum N3R2W2 dvv` and the like.
    pub fn label(&self) -> String {
        let c = &self.template;
        let resolution = match c.resolution {
            Resolution::Dvv => "dvv",
            Resolution::Lww => "lww",
        };
        let strict = if c.sloppy_quorum { "" } else { " strict" };
        format!(
            "quorum N{}R{}W{} {resolution}{strict}",
            c.replicas, c.read_quorum, c.write_quorum
        )
    }

    /// Node `id`'s configuration in `seed`'s run: the template, its id, its clock offset.
    fn config(&self, seed: u64, id: NodeId) -> Config {
        let mut c = self.template.clone();
        c.id = id;
        c.physical_clock_offset_ticks = clock_offset_ticks(seed, id);
        c.hlc_max_offset_ticks = HLC_MAX_OFFSET_TICKS;
        c
    }
}

impl RegisterScheme for QuorumScheme {
    type Node = Quorum;

    fn name(&self) -> &'static str {
        "quorum"
    }

    fn variant(&self) -> String {
        self.template.variant.name().to_string()
    }

    fn nodes(&self) -> usize {
        self.nodes
    }

    fn build(&self, seed: u64, id: NodeId, disk: &Disk, _rng: SeededRng) -> Quorum {
        Quorum::new(self.config(seed, id), disk)
            .unwrap_or_else(|e| panic!("{id} cannot start from its disk: {}", e.reason))
    }

    fn contacts(&self) -> Vec<NodeId> {
        (1..=self.nodes as u64).map(NodeId).collect()
    }

    fn first_contact(&self, _kind: OpKind) -> Contact {
        Contact::Any
    }

    fn refused_put_is_void(&self) -> bool {
        // A put that missed W may live on in a replica or a hint: not void.
        false
    }

    fn invariants(&self) -> Vec<Box<dyn Invariant<Quorum>>> {
        Vec::new()
    }

    fn leader(&self, _view: &ClusterView<Quorum>) -> Option<NodeId> {
        None
    }

    fn message_size(&self) -> Option<MessageSize<Quorum>> {
        Some(WireSize::wire_bytes)
    }

    fn final_states(&self, view: &ClusterView<Quorum>) -> Vec<ReplicaState> {
        let live: Vec<&Quorum> = view.live().map(|(_, q)| q).collect();
        let Some(any) = live.first() else {
            return Vec::new();
        };
        let ring = any.ring();
        let mut slots: Vec<ReplicaState> = (1..=self.template.replicas as u64)
            .map(|slot| ReplicaState {
                node: NodeId(slot),
                registers: Vec::new(),
            })
            .collect();
        for k in 0..KEYS_MAX {
            let key = format!("k{k}");
            let homes = ring.home(ring.place(&key).range);
            for (slot, home) in slots.iter_mut().zip(homes) {
                let values = live
                    .iter()
                    .find(|q| q.config().id == *home)
                    .and_then(|q| q.version(&key))
                    .map(|v| v.values());
                if let Some(values) = values.filter(|v| !v.is_empty()) {
                    slot.registers.push((key.clone(), values));
                }
            }
        }
        slots
    }

    fn promises(&self) -> &'static [Model] {
        // Nothing yet: see the module docs, "Promises".
        &[]
    }
}
