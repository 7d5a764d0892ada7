//! Anti-entropy by gossip: state-based, with a delta at key granularity after each put.
//!
//! Demers et al., "Epidemic Algorithms for Replicated Database Maintenance" (PODC '87), §1.3:
//! every period, each node picks a peer and the two resolve their differences (push-pull).
//! Shapiro et al. 2011 §2.3: with state-based CRDTs that is all convergence needs, because
//! merging is a join: any order, any duplication, any loss (retried by the next round) ends in
//! the same state once every node's updates reached every other, directly or not. A put's
//! delta (Almeida et al. 2018 §4) is its key's new state, pushed at once to `push_fanout`
//! peers; it is a state like any other, so losing it costs nothing but time.
//!
//! ```text
//!   A, every gossip_interval_ticks, peer B (round robin, or A's seeded RNG):
//!     chunk = A's next digest_keys_max keys from the cursor: [start..end), cursor := end
//!     A ── Digest{[start..end) (key, hash)…} ──► B
//!     B: its keys in [start..end) whose hash differs or A lacks ──► states (≤ sync_keys_max)
//!        A's keys whose hash differs or B lacks                 ──► wanted
//!     A ◄── Sync{states wanted} ── B          (nothing differs: B notes it, sends nothing)
//!     A merges states; A ── Push{A's states of wanted keys} ──► B merges
//! ```
//!
//! After one full exchange over a chunk both hold the join of their states for every key in
//! it (A merged B's before answering), unless a bound cut it short; the rest waits for a later
//! round. The cursor walks A's keys, so the whole key space is covered every
//! ⌈keys / digest_keys_max⌉ rounds; a node with no keys digests the whole (empty) range, and
//! its peer sends its first keys: a new or wiped node pulls everything in a few rounds.
//!
//! Bounds: a Digest names at most `digest_keys_max` keys, a Sync or Push carries at most
//! `sync_keys_max` states (a message's size is then at most that many times one key state:
//! `VALUE_BYTES_MAX` per sibling, `SIBLINGS_MAX` siblings from puts, one session per client);
//! past the bound, the window of states a Sync sends rotates, so every key gets its turn even
//! if some are refused. A message past a bound is ignored with a note (peers configured alike
//! never send one).
//!
//! Invariant: every state sent is the node's current state of its key, already persisted (a
//! merge that changed it wrote it in this same event).

use std::collections::BTreeMap;
use std::ops::Bound;

use distributed_core::{NodeId, Rng};

use crate::client::Key;
use crate::crdt_store::config::PeerChoice;
use crate::crdt_store::message::{Digest, Push, Sync};
use crate::crdt_store::node::{CrdtStore, Out};
use crate::crdt_store::state::KeyState;
use crate::crdt_store::Write;

impl CrdtStore {
    /// Up to `count` distinct peers: consecutive from a round-robin turn, or from a random one.
    pub(crate) fn pick_peers(&mut self, count: usize, push: bool) -> Vec<NodeId> {
        let n = self.peers.len();
        if n == 0 || count == 0 {
            return Vec::new();
        }
        let start = match self.config.peer_choice {
            PeerChoice::Random => self.rng.range(0, n as u64) as usize,
            PeerChoice::RoundRobin => {
                let turn = if push {
                    &mut self.push_turn
                } else {
                    &mut self.gossip_turn
                };
                *turn = turn.wrapping_add(1);
                (*turn - 1) % n
            }
        };
        (0..count.min(n))
            .map(|k| self.peers[(start + k) % n])
            .collect()
    }

    /// One gossip round: the next chunk of keys, digested, to one peer.
    pub(crate) fn start_round(&mut self, out: &mut Out) {
        let Some(peer) = self.pick_peers(1, false).pop() else {
            return; // a cluster of one has no one to gossip with
        };
        let start = self.cursor.clone();
        let lower = start.as_ref().map_or(Bound::Unbounded, Bound::Included);
        let mut keys = self.keys.range::<Key, _>((lower, Bound::Unbounded));
        let entries: Vec<(Key, u64)> = keys
            .by_ref()
            .take(self.config.digest_keys_max)
            .map(|(k, s)| (k.clone(), s.digest()))
            .collect();
        let end = keys.next().map(|(k, _)| k.clone());
        self.cursor = end.clone();
        self.counters.rounds += 1;
        let digest = Digest {
            start,
            end,
            entries,
        };
        self.send(out, peer, digest);
    }

    /// A peer's digest: send back what differs on this side, and ask for what differs on its.
    pub(crate) fn on_digest(&mut self, from: NodeId, d: Digest, out: &mut Out) {
        let inverted = matches!((&d.start, &d.end), (Some(s), Some(e)) if s >= e);
        if d.entries.len() > self.config.digest_keys_max || inverted {
            return out.note(format_args!(
                "ignored {d} from {from}: more than digest_keys_max keys, or an empty range"
            ));
        }
        let lower = d.start.as_ref().map_or(Bound::Unbounded, Bound::Included);
        let upper = d.end.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
        let theirs: BTreeMap<&Key, u64> = d.entries.iter().map(|(k, h)| (k, *h)).collect();
        let differing: Vec<&Key> = self
            .keys
            .range::<Key, _>((lower, upper))
            .filter(|(k, s)| theirs.get(k) != Some(&s.digest()))
            .map(|(k, _)| k)
            .collect();
        let wanted: Vec<Key> = d
            .entries
            .iter()
            .filter(|(k, h)| self.keys.get(k).map(KeyState::digest) != Some(*h))
            .map(|(k, _)| k.clone())
            .collect();
        let window = window(
            &mut self.sync_turn,
            self.config.sync_keys_max,
            differing.len(),
        );
        let states: Vec<(Key, KeyState)> = window
            .into_iter()
            .map(|i| differing[i])
            .map(|k| (k.clone(), self.keys[k].clone()))
            .collect();
        if states.is_empty() && wanted.is_empty() {
            return out.note(format_args!("{from}'s digest {d} matches: in sync"));
        }
        self.counters.states_sent += states.len() as u64;
        self.send(out, from, Sync { states, wanted });
    }

    /// A peer's answer to this node's digest: merge its states, send back the wanted ones.
    pub(crate) fn on_sync(&mut self, from: NodeId, s: Sync, out: &mut Out) {
        if s.states.len() > self.config.sync_keys_max
            || s.wanted.len() > self.config.digest_keys_max
        {
            return out.note(format_args!(
                "ignored {s} from {from}: more than sync_keys_max states or digest_keys_max keys"
            ));
        }
        self.merge_states(from, &s.states, out);
        let held: Vec<&Key> = s
            .wanted
            .iter()
            .filter(|k| self.keys.contains_key(*k))
            .collect();
        let max = self.config.sync_keys_max;
        if held.len() > max {
            out.note(format_args!(
                "{} wanted states for {from}, sending sync_keys_max; the rest later",
                held.len()
            ));
        }
        let states: Vec<(Key, KeyState)> = window(&mut self.sync_turn, max, held.len())
            .into_iter()
            .map(|i| (held[i].clone(), self.keys[held[i]].clone()))
            .collect();
        if states.is_empty() {
            return out.note(format_args!("{from} wants nothing this node holds"));
        }
        self.counters.states_sent += states.len() as u64;
        self.send(out, from, Push { states });
    }

    /// States pushed by a peer (the last step of an exchange, or a put's delta): merge them.
    pub(crate) fn on_push(&mut self, from: NodeId, p: Push, out: &mut Out) {
        if p.states.len() > self.config.sync_keys_max {
            return out.note(format_args!(
                "ignored a Push of {} states from {from}: more than sync_keys_max",
                p.states.len()
            ));
        }
        if self.merge_states(from, &p.states, out) == 0 {
            out.note(format_args!("{from}'s Push holds nothing new here"));
        }
    }

    /// Merge each received state into this node's, persisting every one that changed. A state
    /// that cannot merge (mixed configs, one dot with two values) or a new key past `keys_max`
    /// is skipped with a note, and counted. Returns how many states changed.
    fn merge_states(&mut self, from: NodeId, states: &[(Key, KeyState)], out: &mut Out) -> usize {
        let mut changed = 0;
        for (key, incoming) in states {
            self.observe(incoming, out);
            match self.merge_one(key, incoming) {
                Ok(Some(state)) => {
                    changed += 1;
                    self.counters.states_merged += 1;
                    out.writes.push(Write::Key {
                        key: key.clone(),
                        state,
                    });
                }
                Ok(None) => {}
                Err(why) => {
                    self.counters.merges_refused += 1;
                    out.note(format_args!("skipped {key} from {from}: {why}"));
                }
            }
        }
        changed
    }

    /// Merge one state; the new state if it changed.
    fn merge_one(&mut self, key: &Key, incoming: &KeyState) -> Result<Option<KeyState>, String> {
        if !self.keys.contains_key(key) {
            if self.keys.len() >= self.config.keys_max {
                return Err("keys_max keys held".to_string());
            }
            let mut fresh = KeyState::new(self.config.resolution);
            let changed = fresh
                .merge(incoming, self.rule)
                .map_err(|e| e.to_string())?;
            if !changed {
                return Ok(None); // an empty state: nothing worth a key
            }
            self.keys.insert(key.clone(), fresh.clone());
            return Ok(Some(fresh));
        }
        let held = self.keys.get_mut(key).expect("present");
        match held.merge(incoming, self.rule) {
            Ok(true) => Ok(Some(held.clone())),
            Ok(false) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// An LWW stamp arrived: the HLC takes it in (refused past the drift bound), so this
    /// node's next stamp is larger than every stamp it holds; the wall clock ignores it.
    fn observe(&mut self, incoming: &KeyState, out: &mut Out) {
        let crate::crdt_store::Register::Lww(r) = incoming.register() else {
            return;
        };
        let Some(stamp) = r.stamp() else { return };
        if let Err(e) = self.clock.observe(stamp) {
            self.counters.drift_refusals += 1;
            out.note(format_args!("clock did not take stamp {stamp}: {e}"));
        }
    }
}

/// Indices of at most `max` of `len` items, from a start that rotates (`turn`) when there are
/// more, so every item gets its turn.
fn window(turn: &mut usize, max: usize, len: usize) -> Vec<usize> {
    let start = if len > max {
        *turn = turn.wrapping_add(1);
        turn.wrapping_mul(max) % len
    } else {
        0
    };
    (0..len.min(max)).map(|k| (start + k) % len).collect()
}
