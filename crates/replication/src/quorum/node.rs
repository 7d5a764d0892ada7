//! The quorum node: its state, how it is rebuilt from disk, the `Protocol` doors, and the few
//! helpers every path shares (merge a version into the store, answer a request).
//!
//! ```text
//!   input(Get | Put) ──► node.rs: checks ──► read.rs (any node) | write.rs (first home node)
//!                                             | forward.rs (every other node)
//!   step(from, msg)  ──► on_x in the file of its path
//!   tick()           ──► clock, forwards, writes, reads (timeouts, stand-ins, read repair),
//!                        every handoff_interval_ticks handoff.rs, every
//!                        anti_entropy_interval_ticks anti_entropy.rs
//! ```
//!
//! Invariants: at most `pending_requests_max` requests in flight; every stored version went
//! through a `Write::Store` in the same event that changed it (`store_merge`), so nothing is
//! acknowledged that a crash could take back; a key is stored only by its home nodes, a hint
//! only by a node that is not home for its key (asserted where they are written); a
//! restarted HLC clock resumes past every stamp on the disk it is rebuilt from (`resume_after`).

use std::collections::BTreeMap;

use distributed_core::{Effects, NodeId, Protocol, Tick};

use crate::client::{ClientReply, ClientRequest, Key, OpId, Request, Response, VALUE_BYTES_MAX};
use crate::quorum::clock::{Clock, ClockState, StampMode};
use crate::quorum::config::{Config, ConfigError, Variant};
use crate::quorum::disk::{self, Disk, Write};
use crate::quorum::handoff::Hints;
use crate::quorum::merkle::MerkleTree;
use crate::quorum::message::{Forwarded, Message};
use crate::quorum::pending::{Origin, PendingForward, PendingRead, PendingWrite, Recent};
use crate::quorum::ring::{Place, RangeId, Ring};
use crate::quorum::version::{MergeRule, Version};

/// The node's effects buffer.
pub type Out = Effects<Quorum>;

/// What happened at this node, for tests, traces and the simulator's summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Puts this node coordinated (as a home node).
    pub puts_coordinated: u64,
    /// Gets this node coordinated.
    pub gets_coordinated: u64,
    /// Puts this node forwarded to a home node.
    pub puts_forwarded: u64,
    /// Requests answered `Unavailable`.
    pub unavailable: u64,
    /// Replicate or Fetch sent to a stand-in because a home node was silent.
    pub stand_ins_asked: u64,
    /// Hinted versions this node stored for another node.
    pub hints_stored: u64,
    /// Hints handed back and acknowledged.
    pub hints_handed_back: u64,
    /// Repair messages sent after reads.
    pub read_repairs: u64,
    /// Merkle exchanges started.
    pub exchanges_started: u64,
    /// Versions sent in anti-entropy syncs.
    pub keys_synced: u64,
    /// LWW puts that lost to a larger stamp already held here (the lost update, seen locally).
    pub lww_puts_lost: u64,
    /// Stamps refused by the HLC drift bound.
    pub drift_refusals: u64,
}

/// A key's version as held in memory, with its place on the ring (computed once).
#[derive(Clone, Debug)]
pub struct Stored {
    /// The version.
    pub version: Version,
    /// Its range and Merkle leaf.
    pub place: Place,
}

/// One Dynamo node: every node is a replica, a coordinator and a hint holder.
pub struct Quorum {
    /// The configuration (validated).
    pub(crate) config: Config,
    /// The ring: every key's home nodes and fallbacks.
    pub(crate) ring: Ring,
    /// How versions merge.
    pub(crate) rule: MergeRule,
    /// The keys this node is a home node of.
    pub(crate) store: BTreeMap<Key, Stored>,
    /// Hints held for other nodes.
    pub(crate) hints: Hints,
    /// The physical clock and the stamp source.
    pub(crate) clock: Clock,
    /// Ticks since (re)start: every timeout counts in these.
    pub(crate) now: Tick,
    /// Puts this node coordinates.
    pub(crate) writes: BTreeMap<OpId, PendingWrite>,
    /// Gets this node coordinates.
    pub(crate) reads: BTreeMap<OpId, PendingRead>,
    /// Puts this node forwarded.
    pub(crate) forwards: BTreeMap<OpId, PendingForward>,
    /// Puts answered Ok lately, for duplicates and retries.
    pub(crate) recent: Recent,
    /// Merkle trees by range, built on demand, dropped when the range changes.
    pub(crate) trees: BTreeMap<RangeId, MerkleTree>,
    /// Which (range, peer) pair the next anti-entropy exchange takes.
    pub(crate) exchange_turn: usize,
    /// Rotates the window of keys a long anti-entropy sync sends.
    pub(crate) sync_turn: usize,
    /// Statistics.
    pub(crate) counters: Counters,
}

impl Quorum {
    /// A node with `config`, rebuilt from `disk` (empty for a new node).
    pub fn new(config: Config, disk: &Disk) -> Result<Quorum, ConfigError> {
        config.validate()?;
        let ring = Ring::new(&config.nodes, config.tokens_per_node, config.replicas);
        let mode = match config.variant {
            Variant::LwwWallClock => StampMode::Wall,
            _ => StampMode::Hlc,
        };
        let clock = Clock::restore(
            resume_after(disk, mode),
            config.physical_clock_offset_ticks,
            config.hlc_max_offset_ticks,
            mode,
        );
        let store = disk
            .store
            .iter()
            .map(|(k, v)| {
                let place = ring.place(k);
                assert!(
                    ring.is_home(place.range, config.id),
                    "{k} stored off its home"
                );
                (
                    k.clone(),
                    Stored {
                        version: v.clone(),
                        place,
                    },
                )
            })
            .collect();
        Ok(Quorum {
            rule: MergeRule::of(&config),
            hints: Hints::restore(disk),
            ring,
            store,
            clock,
            now: 0,
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            forwards: BTreeMap::new(),
            recent: Recent::default(),
            trees: BTreeMap::new(),
            exchange_turn: 0,
            sync_turn: 0,
            counters: Counters::default(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The ring this node places keys on.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The version this node stores for `key` (hints not included).
    pub fn version(&self, key: &str) -> Option<&Version> {
        self.store.get(key).map(|s| &s.version)
    }

    /// Every stored key and version, in key order.
    pub fn stored(&self) -> impl Iterator<Item = (&Key, &Version)> + '_ {
        self.store.iter().map(|(k, s)| (k, &s.version))
    }

    /// Every hint held, as `(owner, key, id, version)`, in (owner, key) order.
    pub fn hinted(&self) -> impl Iterator<Item = (NodeId, &Key, u64, &Version)> + '_ {
        self.hints.iter()
    }

    /// Statistics since (re)start.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Requests in flight here (coordinated gets and puts, forwarded puts).
    pub fn in_flight(&self) -> usize {
        self.writes.len() + self.reads.len() + self.forwards.len()
    }

    /// This node's physical clock (its ticks plus offset).
    pub fn physical_ticks(&self) -> Tick {
        self.clock.physical()
    }

    /// Queue `msg` to `to`.
    pub(crate) fn send(&self, out: &mut Out, to: NodeId, msg: impl Into<Message>) {
        assert_ne!(to, self.config.id, "a node never messages itself");
        out.send(self.config.id, to, msg.into());
    }

    /// Merge `incoming` into the stored version of `key` (a home node's copy) and persist the
    /// result if it changed. Ok(true) if it changed. Refused, with the reason, past `keys_max`
    /// or for versions that cannot merge.
    pub(crate) fn store_merge(
        &mut self,
        key: &str,
        incoming: &Version,
        out: &mut Out,
    ) -> Result<bool, String> {
        let place = self.ring.place(key);
        assert!(
            self.ring.is_home(place.range, self.config.id),
            "{key} is not mine to store"
        );
        self.observe(incoming, out);
        if !self.store.contains_key(key) && self.store.len() >= self.config.keys_max {
            return Err(format!(
                "keys_max ({}) keys stored already",
                self.config.keys_max
            ));
        }
        let changed = match self.store.get_mut(key) {
            Some(stored) => stored
                .version
                .merge(incoming, self.rule)
                .map_err(|e| e.to_string())?,
            None => {
                let stored = Stored {
                    version: incoming.clone(),
                    place,
                };
                self.store.insert(key.to_string(), stored);
                true
            }
        };
        if changed {
            let version = self.store[key].version.clone();
            out.writes.push(Write::Store {
                key: key.to_string(),
                version,
            });
            self.trees.remove(&place.range);
        }
        Ok(changed)
    }

    /// An LWW stamp arrived with a version: let the clock take it in (HLC) or not (wall).
    pub(crate) fn observe(&mut self, version: &Version, out: &mut Out) {
        let Some(stamp) = version.stamp() else { return };
        if let Err(e) = self.clock.observe(stamp) {
            self.counters.drift_refusals += 1;
            out.note(format_args!("clock did not take stamp {stamp}: {e}"));
        }
    }

    /// Answer request `op` of `origin` with `response`: an output for our own client, a
    /// `Forwarded` for a forwarding node. Puts answered Ok are remembered.
    pub(crate) fn answer(&mut self, op: OpId, origin: Origin, response: Response, out: &mut Out) {
        if matches!(response, Response::Unavailable { .. }) {
            self.counters.unavailable += 1;
        }
        if response == Response::Ok {
            self.recent
                .remember(op, Response::Ok, self.config.recent_ops_max);
        }
        match origin {
            Origin::Client => out.outputs.push(ClientReply { id: op, response }),
            Origin::Forwarded { from } => self.send(out, from, Forwarded { op, response }),
        }
    }

    /// A client request: refused if too big or too many are in flight, answered again if it
    /// is a put already answered Ok, ignored (with a note) if it is in flight; else a get is
    /// coordinated here, and a put here if this is the first home node of its key, or
    /// forwarded to it (forward.rs says why).
    fn on_client_request(&mut self, req: ClientRequest, out: &mut Out) {
        let op = req.id;
        if let Request::Put { value, .. } = &req.request {
            if value.len() > VALUE_BYTES_MAX {
                let why = "value longer than VALUE_BYTES_MAX";
                return self.answer(op, Origin::Client, Response::Unavailable { why }, out);
            }
        }
        if let Some(response) = self.recent.get(op).cloned() {
            return self.answer(op, Origin::Client, response, out);
        }
        if self.writes.contains_key(&op)
            || self.reads.contains_key(&op)
            || self.forwards.contains_key(&op)
        {
            return out.note(format_args!(
                "ignored {req}: {op} is in flight here already"
            ));
        }
        if self.in_flight() >= self.config.pending_requests_max {
            let why = "too many requests in flight (pending_requests_max)";
            return self.answer(op, Origin::Client, Response::Unavailable { why }, out);
        }
        match req.request {
            Request::Get { key } => self.start_get(op, key, out),
            Request::Put { key, value } => {
                let range = self.ring.place(&key).range;
                if self.ring.home(range)[0] == self.config.id {
                    self.start_put(op, key, value, Origin::Client, out);
                } else {
                    self.start_forward(op, key, value, out);
                }
            }
        }
    }

    /// One tick: the clock, every request's timers, and the periodic rounds.
    fn on_tick(&mut self, out: &mut Out) {
        self.now += 1;
        self.clock.tick();
        self.tick_forwards(out);
        self.tick_writes(out);
        self.tick_reads(out);
        if self.now.is_multiple_of(self.config.handoff_interval_ticks) {
            self.hand_off_round(out);
        }
        if self
            .now
            .is_multiple_of(self.config.anti_entropy_interval_ticks)
        {
            self.start_exchange(out);
        }
        assert!(self.in_flight() <= self.config.pending_requests_max);
    }
}

// Where a restarted clock resumes: past its own last stamp (clock.rs), and with an HLC past
// every stamp on its disk too. Before the crash the HLC had taken each of them in (store_merge
// and store_hint observe what they keep); a clock resumed from its own stamps alone may stop
// far below a version that arrived by Replicate, Repair, anti-entropy or handoff from a node
// whose clock was ahead, and the next put it coordinates for that key, made after a client
// read that version, would sort below it and vanish although acknowledged. Hints too: a node
// never coordinates a key it holds hints for, so they cannot lose a put here, but the HLC had
// observed them, and "past every stamp on disk" is the rule a restart check can assert.
// A stamp refused by the drift bound counts too, as the disk cannot tell it apart. The wall
// clock takes in nothing, now as before: that is its bug, kept on purpose.
fn resume_after(disk: &Disk, mode: StampMode) -> ClockState {
    let mut state = disk.clock;
    if mode == StampMode::Hlc {
        let hinted = disk.hints.values().map(|h| &h.version);
        for version in disk.store.values().chain(hinted) {
            if let Some(stamp) = version.stamp() {
                state.last_stamp = state.last_stamp.max(stamp.time);
            }
        }
    }
    state
}

impl Protocol for Quorum {
    type Message = Message;
    type Input = ClientRequest;
    type Output = ClientReply;
    type Write = Write;
    type Disk = Disk;

    fn id(&self) -> NodeId {
        self.config.id
    }

    fn step(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        match msg {
            Message::Forward(m) => self.on_forward(from, m, out),
            Message::Forwarded(m) => self.on_forwarded(from, m, out),
            Message::Replicate(m) => self.on_replicate(from, m, out),
            Message::Replicated(m) => self.on_replicated(from, m, out),
            Message::Fetch(m) => self.on_fetch(from, m, out),
            Message::Fetched(m) => self.on_fetched(from, m, out),
            Message::Repair(m) => self.on_repair(from, m, out),
            Message::HandOff(m) => self.on_hand_off(from, m, out),
            Message::HandedOff(m) => self.on_handed_off(from, m, out),
            Message::TreeQuery(m) => self.on_tree_query(from, m, out),
            Message::TreeHashes(m) => self.on_tree_hashes(from, m, out),
            Message::LeafSync(m) => self.on_leaf_sync(from, m, out),
        }
    }

    fn tick(&mut self, out: &mut Out) {
        self.on_tick(out);
    }

    fn input(&mut self, input: ClientRequest, out: &mut Out) {
        self.on_client_request(input, out);
    }

    fn persist(disk: &mut Disk, write: &Write) {
        disk::persist(disk, write);
    }
}
