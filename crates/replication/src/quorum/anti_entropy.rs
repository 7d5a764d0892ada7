//! Anti-entropy between the home nodes of a range (DeCandia et al. §4.7): compare Merkle
//! trees top-down, exchanging hashes only under nodes that differ, then swap the versions of
//! the keys under the differing leaves. What read repair and hinted handoff miss (a key never
//! read, a hint whose holder died) this finds.
//!
//! ```text
//!   every anti_entropy_interval_ticks, the next (range, peer) pair in turn:
//!     n1 ── TreeQuery{r0 level=0 [0]} ──► n2 ── TreeHashes{r0 level=0 [0:h]} ──► n1
//!        roots equal ──► done (one round trip for a whole range in sync)
//!        else n1 asks for the children of every node that differed, level by level:
//!     n1 ── TreeQuery{r0 level=d+1 [children]} ──► n2 ── TreeHashes ──► n1   (≤ DEPTH times)
//!     at the leaves: n1 ── LeafSync{r0 leaves answer versions} ──► n2 merges each
//!                    n1 ◄─ LeafSync{r0 leaves versions that differ on n2's side} ── n2
//! ```
//!
//! Stateless on both sides: each answer carries what the next step needs, so a lost message
//! just ends that exchange, and the next one starts over from the root. Merging is idempotent,
//! so duplicated or reordered syncs do no harm.
//!
//! Bounds: a query or hash list names at most `merkle::LEAVES` nodes; a sync carries at most
//! `sync_keys_max` versions. When the differing leaves hold more keys than that, the window
//! of keys sent rotates from one sync to the next (`sync_turn`), so every key is reached
//! within a few exchanges even if the first ones sent were already equal.
//!
//! Invariants: a node exchanges only ranges both ends are home nodes of, and merges only keys
//! that belong to the range and leaves the message names (checked, with a note otherwise).

use std::collections::BTreeMap;

use distributed_core::NodeId;

use crate::client::Key;
use crate::quorum::merkle::{MerkleTree, DEPTH, LEAVES};
use crate::quorum::message::{LeafSync, TreeHashes, TreeQuery};
use crate::quorum::node::{Out, Quorum};
use crate::quorum::ring::RangeId;
use crate::quorum::version::Version;

impl Quorum {
    /// Start one exchange: the next (range, peer) pair this node shares, round robin.
    pub(crate) fn start_exchange(&mut self, out: &mut Out) {
        let me = self.config.id;
        let pairs: Vec<(RangeId, NodeId)> = self
            .ring
            .ranges_of(me)
            .into_iter()
            .flat_map(|r| {
                self.ring
                    .home(r)
                    .iter()
                    .filter(|&&n| n != me)
                    .map(move |&n| (r, n))
            })
            .collect();
        if pairs.is_empty() {
            return; // N = 1: no range has a second home node to compare with
        }
        let (range, peer) = pairs[self.exchange_turn % pairs.len()];
        self.exchange_turn += 1;
        self.counters.exchanges_started += 1;
        self.send(
            out,
            peer,
            TreeQuery {
                range,
                level: 0,
                nodes: vec![0],
            },
        );
    }

    /// This range's tree, built from the store if a write dropped it since.
    fn tree(&mut self, range: RangeId) -> &MerkleTree {
        let store = &self.store;
        self.trees.entry(range).or_insert_with(|| {
            MerkleTree::build(
                store
                    .iter()
                    .filter(|(_, s)| s.place.range == range)
                    .map(|(k, s)| (k, s.place.leaf, &s.version)),
            )
        })
    }

    /// Why an exchange about `range` with `peer` makes no sense, if it does not.
    fn unshared(&self, range: RangeId, peer: NodeId, level: u8, nodes: usize) -> Option<String> {
        let me = self.config.id;
        if range >= self.ring.ranges() {
            return Some(format!("no range r{range}"));
        }
        if !self.ring.is_home(range, me) || !self.ring.is_home(range, peer) {
            return Some(format!(
                "{me} and {peer} are not both home nodes of r{range}"
            ));
        }
        if level > DEPTH || nodes > LEAVES as usize {
            return Some(format!("level {level} or {nodes} nodes is out of the tree"));
        }
        None
    }

    /// A peer asks for this node's hashes of some tree nodes.
    pub(crate) fn on_tree_query(&mut self, from: NodeId, q: TreeQuery, out: &mut Out) {
        if let Some(why) = self.unshared(q.range, from, q.level, q.nodes.len()) {
            return out.note(format_args!("ignored {q} from {from}: {why}"));
        }
        let tree = self.tree(q.range);
        let hashes = q
            .nodes
            .iter()
            .filter_map(|&i| tree.hash(q.level, i).map(|h| (i, h)))
            .collect();
        self.send(
            out,
            from,
            TreeHashes {
                range: q.range,
                level: q.level,
                hashes,
            },
        );
    }

    /// A peer's hashes: descend where they differ, or sync the differing leaves.
    pub(crate) fn on_tree_hashes(&mut self, from: NodeId, h: TreeHashes, out: &mut Out) {
        if let Some(why) = self.unshared(h.range, from, h.level, h.hashes.len()) {
            return out.note(format_args!("ignored {h} from {from}: {why}"));
        }
        let tree = self.tree(h.range);
        let differing: Vec<u32> = h
            .hashes
            .iter()
            .filter(|&&(i, theirs)| tree.hash(h.level, i) != Some(theirs))
            .map(|&(i, _)| i)
            .collect();
        if differing.is_empty() {
            return out.note(format_args!(
                "r{} agrees with {from} at level {}: nothing to sync",
                h.range, h.level
            ));
        }
        if h.level < DEPTH {
            let nodes = differing
                .iter()
                .flat_map(|&i| MerkleTree::children(i))
                .collect();
            let query = TreeQuery {
                range: h.range,
                level: h.level + 1,
                nodes,
            };
            return self.send(out, from, query);
        }
        let versions = self.versions_under(h.range, &differing, |_, _| true);
        self.counters.keys_synced += versions.len() as u64;
        let sync = LeafSync {
            range: h.range,
            leaves: differing,
            versions,
            answer: true,
        };
        self.send(out, from, sync);
    }

    /// A peer's versions under differing leaves: merge each; if asked, send back every
    /// version of those leaves that differs from what came.
    pub(crate) fn on_leaf_sync(&mut self, from: NodeId, s: LeafSync, out: &mut Out) {
        let bounded = s.versions.len() <= self.config.sync_keys_max;
        let why = self
            .unshared(s.range, from, DEPTH, s.leaves.len())
            .or_else(|| (!bounded).then(|| "more versions than sync_keys_max".to_string()));
        if let Some(why) = why {
            return out.note(format_args!("ignored {s} from {from}: {why}"));
        }
        let mut received: BTreeMap<Key, Version> = BTreeMap::new();
        for (key, version) in &s.versions {
            let place = self.ring.place(key);
            if place.range != s.range || !s.leaves.contains(&place.leaf) {
                out.note(format_args!(
                    "skipped {key} from {from}: not under the leaves synced"
                ));
                continue;
            }
            if let Err(why) = self.store_merge(key, version, out) {
                out.note(format_args!("skipped {key} from {from}: {why}"));
                continue;
            }
            received.insert(key.clone(), version.clone());
        }
        if !s.answer {
            return;
        }
        let back = self.versions_under(s.range, &s.leaves, |k, v| received.get(k) != Some(v));
        if back.is_empty() {
            return out.note(format_args!(
                "nothing under r{} {:?} differs from {from}'s",
                s.range, s.leaves
            ));
        }
        self.counters.keys_synced += back.len() as u64;
        let reply = LeafSync {
            range: s.range,
            leaves: s.leaves,
            versions: back,
            answer: false,
        };
        self.send(out, from, reply);
    }

    /// Up to `sync_keys_max` stored versions under `leaves` of `range` that pass `wanted`, in
    /// key order from a window that rotates when there are more.
    fn versions_under(
        &mut self,
        range: RangeId,
        leaves: &[u32],
        wanted: impl Fn(&Key, &Version) -> bool,
    ) -> Vec<(Key, Version)> {
        let all: Vec<(&Key, &Version)> = self
            .store
            .iter()
            .filter(|(_, s)| s.place.range == range && leaves.contains(&s.place.leaf))
            .filter(|(k, s)| wanted(k, &s.version))
            .map(|(k, s)| (k, &s.version))
            .collect();
        let max = self.config.sync_keys_max;
        let start = if all.len() > max {
            self.sync_turn = self.sync_turn.wrapping_add(1);
            (self.sync_turn * max) % all.len()
        } else {
            0
        };
        let window = all.len().min(max);
        (0..window)
            .map(|k| all[(start + k) % all.len()])
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
