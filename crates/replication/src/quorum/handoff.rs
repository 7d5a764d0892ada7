//! Hinted handoff (DeCandia et al. §4.6): a stand-in keeps the versions meant for a silent
//! home node, and hands them back until the owner acknowledges.
//!
//! ```text
//!   n4's hint store (bounded by hints_max), by (owner, key):
//!     (n3, x) ──► Hint{id=5 version=[c1.1@n1:1]{n1:1}}     written before n4 acked the put
//!
//!   every handoff_interval_ticks: the next handoffs_per_round_max hints, round robin
//!     n4 ── HandOff{hint=5 key=x version} ──► n3    (lost while n3 is down: tried next round)
//!     n3 merges, persists ──► HandedOff{hint=5 key=x} ──► n4 ──► persist HintDone{n3 x}
//!   a put merged into (n3, x) meanwhile renews its id to 6: the ack for 5 drops nothing
//! ```
//!
//! Dynamo's stand-in scans its hint database and delivers "upon detecting that A has
//! recovered"; without a failure detector this node simply tries each round, which costs one
//! message per hint per round while the owner is down. The road not taken: backing off per
//! owner. A stand-in answers a `Fetch` with its hints for the key (read.rs), so a sloppy read
//! that falls back to it sees what a sloppy write left there.
//!
//! Invariants: a hint is held only by a node that is not home for its key, for an owner that
//! is (asserted on store); ids only grow (disk.rs); a hint is dropped only by an ack naming
//! its current id.

use std::collections::BTreeMap;
use std::ops::Bound;

use distributed_core::NodeId;

use crate::client::Key;
use crate::quorum::disk::{Disk, Hint, Write};
use crate::quorum::message::{HandOff, HandedOff};
use crate::quorum::node::{Out, Quorum};
use crate::quorum::version::{MergeRule, Version};

/// The hints this node holds for others.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// By (owner, key).
    entries: BTreeMap<(NodeId, Key), Hint>,
    /// The largest id issued (persisted with every hint).
    issued: u64,
    /// The last hint handed off: the next round starts after it.
    cursor: Option<(NodeId, Key)>,
}

impl Hints {
    /// The hints a disk holds.
    pub fn restore(disk: &Disk) -> Hints {
        Hints {
            entries: disk.hints.clone(),
            issued: disk.hint_ids_issued,
            cursor: None,
        }
    }

    /// Every hint as `(owner, key, id, version)`.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &Key, u64, &Version)> + '_ {
        self.entries
            .iter()
            .map(|((owner, key), h)| (*owner, key, h.id, &h.version))
    }

    /// How many hints are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if none are.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every hint for `key`, whatever its owner, merged: what a stand-in answers a get with.
    pub fn merged_for(&self, key: &str, rule: MergeRule) -> Option<Version> {
        let mut merged: Option<Version> = None;
        for ((_, k), hint) in &self.entries {
            if k != key {
                continue;
            }
            match merged.as_mut() {
                None => merged = Some(hint.version.clone()),
                Some(m) => {
                    // Hints of one key merge like replies; a refusal keeps what was merged.
                    let _ = m.merge(&hint.version, rule);
                }
            }
        }
        merged
    }

    /// Up to `max` hints, starting after the cursor and wrapping around; moves the cursor.
    fn next_batch(&mut self, max: usize) -> Vec<(NodeId, Key, Hint)> {
        let after: Vec<_> = match &self.cursor {
            Some(c) => self
                .entries
                .range((Bound::Excluded(c.clone()), Bound::Unbounded))
                .chain(self.entries.range(..=c.clone()))
                .take(max)
                .collect(),
            None => self.entries.iter().take(max).collect(),
        };
        let batch: Vec<(NodeId, Key, Hint)> = after
            .into_iter()
            .map(|((owner, key), h)| (*owner, key.clone(), h.clone()))
            .collect();
        self.cursor = batch.last().map(|(o, k, _)| (*o, k.clone()));
        batch
    }
}

impl Quorum {
    /// Keep `version` as a hint for `owner` (merged into the hint already held), persisted
    /// before the stand-in acknowledges. Refused past `hints_max`.
    pub(crate) fn store_hint(
        &mut self,
        owner: NodeId,
        key: &str,
        version: &Version,
        out: &mut Out,
    ) -> Result<(), String> {
        let range = self.ring.place(key).range;
        assert!(
            !self.ring.is_home(range, self.config.id),
            "a home node keeps no hint"
        );
        assert!(
            self.ring.is_home(range, owner),
            "a hint's owner is a home node"
        );
        self.observe(version, out);
        let entry = (owner, key.to_string());
        let merged = match self.hints.entries.get(&entry) {
            Some(held) => {
                let mut v = held.version.clone();
                if !v.merge(version, self.rule).map_err(|e| e.to_string())? {
                    return Ok(()); // durable already
                }
                v
            }
            None if self.hints.len() >= self.config.hints_max => {
                return Err(format!(
                    "hints_max ({}) hints held already",
                    self.config.hints_max
                ));
            }
            None => version.clone(),
        };
        self.hints.issued += 1;
        let hint = Hint {
            id: self.hints.issued,
            version: merged,
        };
        out.writes.push(Write::Hint {
            owner,
            key: key.to_string(),
            hint: hint.clone(),
        });
        self.hints.entries.insert(entry, hint);
        self.counters.hints_stored += 1;
        Ok(())
    }

    /// One round of handoff: the next `handoffs_per_round_max` hints go to their owners.
    pub(crate) fn hand_off_round(&mut self, out: &mut Out) {
        if self.hints.is_empty() {
            return;
        }
        for (owner, key, hint) in self.hints.next_batch(self.config.handoffs_per_round_max) {
            let msg = HandOff {
                hint: hint.id,
                key,
                version: hint.version,
            };
            self.send(out, owner, msg);
        }
    }

    /// A stand-in hands back a version meant for this node: store it, then acknowledge.
    pub(crate) fn on_hand_off(&mut self, from: NodeId, m: HandOff, out: &mut Out) {
        let range = self.ring.place(&m.key).range;
        if !self.ring.is_home(range, self.config.id) {
            return out.note(format_args!(
                "ignored {m} from {from}: not a home node of {}",
                m.key
            ));
        }
        match self.store_merge(&m.key, &m.version, out) {
            Ok(_) => self.send(
                out,
                from,
                HandedOff {
                    hint: m.hint,
                    key: m.key,
                },
            ),
            Err(why) => out.note(format_args!("ignored {m} from {from}: {why}")),
        }
    }

    /// An owner stored a hint this node handed off: drop it, unless it changed since.
    pub(crate) fn on_handed_off(&mut self, from: NodeId, m: HandedOff, out: &mut Out) {
        let entry = (from, m.key.clone());
        match self.hints.entries.get(&entry) {
            Some(hint) if hint.id == m.hint => {
                self.hints.entries.remove(&entry);
                out.writes.push(Write::HintDone {
                    owner: from,
                    key: m.key,
                });
                self.counters.hints_handed_back += 1;
            }
            Some(hint) => out.note(format_args!(
                "ignored {m} from {from}: the hint was renewed since (id {})",
                hint.id
            )),
            None => out.note(format_args!(
                "ignored {m} from {from}: no such hint (dropped already)"
            )),
        }
    }
}
