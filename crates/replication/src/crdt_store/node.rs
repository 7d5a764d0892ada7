//! The CRDT store node: its state, how it is rebuilt from disk, the `Protocol` doors, and the
//! client's two requests, each answered at once from this node's own copy.
//!
//! ```text
//!   input(Get)  ──► the key's values: Value(None | v) or Siblings([..])     no message sent
//!                   MV: the client's session records what it read (Write::Key if it grew)
//!   input(Put)  ──► MV: a new dot superseding the session's view   │ Write::Key, Push to
//!                   LWW: a new HLC stamp (Write::Clock)            │ push_fanout peers, Ok
//!   step(msg)   ──► gossip.rs (Digest, Sync, Push: merge, answer)
//!   tick()      ──► the physical clock; every gossip_interval_ticks one Digest (gossip.rs)
//! ```
//!
//! No request waits for anyone: this is the available, partition-tolerant corner of the map.
//! A put is acknowledged once *this* node stored it durably; a get reads only this node. What
//! that costs is what the consistency map shows: a get may miss any put made elsewhere, and
//! two puts that raced are siblings (MV) or one of them is gone (LWW).
//!
//! Invariants: every change to a key state writes the whole new state in the same event
//! (memory equals disk once the host persisted); one reply per request, in the same event;
//! a stamp is persisted before the state that carries it (the `Clock` write comes first).

use std::collections::BTreeMap;

use distributed_core::{Effects, NodeId, Protocol, SeededRng, Tick};

use crate::client::VALUE_BYTES_MAX;
use crate::client::{ClientReply, ClientRequest, Key, OpId, Request, Response, Value};
use crate::crdt_store::config::{Config, ConfigError, Resolution, Variant};
use crate::crdt_store::disk::{self, Disk, Write};
use crate::crdt_store::message::{Message, Push};
use crate::crdt_store::register::{MergeRule, Register};
use crate::crdt_store::state::{KeyState, PutCheck};
use crate::quorum::clock::{Clock, StampMode};
use crate::quorum::ClockState;

/// The node's effects buffer.
pub type Out = Effects<CrdtStore>;

/// What happened at this node since it (re)started, for tests, traces and summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Puts applied here.
    pub puts: u64,
    /// Gets answered.
    pub gets: u64,
    /// Requests answered `Unavailable` (too big, keys_max, a stale put, a refused dot).
    pub refused: u64,
    /// Puts answered Ok again without applying them: the client's retry of an applied put.
    pub duplicate_puts: u64,
    /// Gossip rounds started (Digests sent).
    pub rounds: u64,
    /// Key states sent in Syncs and Pushes.
    pub states_sent: u64,
    /// Key states received that changed this node's state.
    pub states_merged: u64,
    /// Key states received and refused (mixed configs, one dot with two values, keys_max).
    pub merges_refused: u64,
    /// LWW puts that lost at once to a larger stamp held here: acknowledged and gone.
    pub lww_puts_lost: u64,
    /// Stamps the HLC did not take because they were past the drift bound.
    pub drift_refusals: u64,
    /// Gets and puts whose session could not be recorded (sessions_per_key_max).
    pub sessions_refused: u64,
}

/// One CRDT store node: every node holds every key and answers every request alone.
pub struct CrdtStore {
    /// The configuration (validated).
    pub(crate) config: Config,
    /// The other nodes, in id order: gossip and push targets.
    pub(crate) peers: Vec<NodeId>,
    /// How key states merge (the variant's bug, if any).
    pub(crate) rule: MergeRule,
    /// Every key this node has heard of.
    pub(crate) keys: BTreeMap<Key, KeyState>,
    /// The physical clock (ticks + offset) and the LWW stamp source.
    pub(crate) clock: Clock,
    /// The clock state last persisted: every stamp this node ever issued is at most this.
    pub(crate) stamped: ClockState,
    /// The injected randomness: gossip peers under `PeerChoice::Random`.
    pub(crate) rng: SeededRng,
    /// Ticks since (re)start: the gossip period counts in these.
    pub(crate) now: Tick,
    /// Where the next Digest's chunk of keys starts; `None`: at the first key.
    pub(crate) cursor: Option<Key>,
    /// Round-robin turn of gossip peers.
    pub(crate) gossip_turn: usize,
    /// Round-robin turn of push peers.
    pub(crate) push_turn: usize,
    /// Rotates the window of states a long Sync sends.
    pub(crate) sync_turn: usize,
    /// Statistics.
    pub(crate) counters: Counters,
}

impl CrdtStore {
    /// A node with `config`, rebuilt from `disk` (empty for a new node), drawing from `rng`.
    pub fn new(config: Config, disk: &Disk, rng: SeededRng) -> Result<CrdtStore, ConfigError> {
        config.validate()?;
        for (key, state) in &disk.keys {
            if let Err(why) = state.check(config.resolution) {
                panic!("disk of {} holds {key}: {why}", config.id);
            }
        }
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
        let rule = match (config.resolution, config.variant) {
            (Resolution::MultiValue, Variant::ConcurrentAsOrdered) => {
                MergeRule::ConcurrentAsOrdered
            }
            (Resolution::MultiValue, _) => MergeRule::Mv,
            (Resolution::Lww, Variant::LwwArrivalOrder) => MergeRule::ArrivalOrder,
            (Resolution::Lww, _) => MergeRule::Lww,
        };
        Ok(CrdtStore {
            peers: config.peers(),
            rule,
            keys: disk.keys.clone(),
            clock,
            stamped: disk.clock,
            rng,
            now: 0,
            cursor: None,
            gossip_turn: 0,
            push_turn: 0,
            sync_turn: 0,
            counters: Counters::default(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every key's values as this node holds them, siblings sorted; keys without a value are
    /// left out. What the eventual-convergence checker compares across nodes.
    pub fn registers(&self) -> BTreeMap<Key, Vec<Value>> {
        self.keys
            .iter()
            .map(|(k, s)| (k.clone(), s.values()))
            .filter(|(_, values)| !values.is_empty())
            .collect()
    }

    /// The state of `key` (register and sessions).
    pub fn state(&self, key: &str) -> Option<&KeyState> {
        self.keys.get(key)
    }

    /// Every key and its state, in key order.
    pub fn states(&self) -> impl Iterator<Item = (&Key, &KeyState)> + '_ {
        self.keys.iter()
    }

    /// Statistics since (re)start.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// This node's physical clock (its ticks plus offset).
    pub fn physical_ticks(&self) -> Tick {
        self.clock.physical()
    }

    /// The clock state last persisted: no stamp of this node is larger than its `last_stamp`.
    pub fn stamped(&self) -> ClockState {
        self.stamped
    }

    /// Queue `msg` to `to`.
    pub(crate) fn send(&self, out: &mut Out, to: NodeId, msg: impl Into<Message>) {
        assert_ne!(to, self.config.id, "a node never messages itself");
        out.send(self.config.id, to, msg.into());
    }

    /// Answer `op`; an `Unavailable` is counted.
    fn reply(&mut self, op: OpId, response: Response, out: &mut Out) {
        if matches!(response, Response::Unavailable { .. }) {
            self.counters.refused += 1;
        }
        out.outputs.push(ClientReply { id: op, response });
    }

    /// A get: this node's values of the key, at once. In an MV store the client's session
    /// records what it saw, durably before the answer (the host persists before delivering).
    fn on_get(&mut self, op: OpId, key: Key, out: &mut Out) {
        self.counters.gets += 1;
        let max = self.config.sessions_per_key_max;
        let Some(state) = self.keys.get_mut(&key) else {
            return self.reply(op, Response::Value(None), out);
        };
        let mut values = state.values();
        match state.record_read(op.client, max) {
            Ok(true) => out.writes.push(Write::Key {
                key: key.clone(),
                state: state.clone(),
            }),
            Ok(false) => {}
            Err(why) => {
                self.counters.sessions_refused += 1;
                out.note(format_args!("{op} read {key} unrecorded: {why}"));
            }
        }
        let response = match values.len() {
            0 | 1 => Response::Value(values.pop()),
            _ => Response::Siblings(values),
        };
        self.reply(op, response, out);
    }

    /// A put: applied to this node's copy at once, persisted, pushed, acknowledged.
    fn on_put(&mut self, op: OpId, key: Key, value: Value, out: &mut Out) {
        if value.len() > VALUE_BYTES_MAX {
            let why = "value longer than VALUE_BYTES_MAX";
            return self.reply(op, Response::Unavailable { why }, out);
        }
        if !self.keys.contains_key(&key) && self.keys.len() >= self.config.keys_max {
            let why = "keys_max keys stored already";
            return self.reply(op, Response::Unavailable { why }, out);
        }
        let mut state = self
            .keys
            .get(&key)
            .cloned()
            .unwrap_or_else(|| KeyState::new(self.config.resolution));
        match state.put_check(op.client, op.seq) {
            PutCheck::Fresh => {}
            PutCheck::Duplicate => {
                self.counters.duplicate_puts += 1;
                out.note(format_args!("{op} put {key} again: applied already"));
                return self.reply(op, Response::Ok, out);
            }
            PutCheck::Stale { newest } => {
                out.note(format_args!(
                    "{op} put {key} refused: the client's put {newest} to it is newer"
                ));
                let why = "older than this client's newest put to the key";
                return self.reply(op, Response::Unavailable { why }, out);
            }
        }
        if let Err(why) = self.apply_put(op, &key, value, &mut state, out) {
            out.note(format_args!("{op} put {key} refused: {why}"));
            let why = "the register refused the put (see the note)";
            return self.reply(op, Response::Unavailable { why }, out);
        }
        self.counters.puts += 1;
        self.keys.insert(key.clone(), state.clone());
        out.writes.push(Write::Key {
            key: key.clone(),
            state: state.clone(),
        });
        let fanout = self.config.push_fanout;
        for peer in self.pick_peers(fanout, true) {
            self.counters.states_sent += 1;
            let states = vec![(key.clone(), state.clone())];
            self.send(out, peer, Push { states });
        }
        self.reply(op, Response::Ok, out);
    }

    /// The register's half of a put: a dot over the session (MV), or a stamp (LWW, its clock
    /// written first). Nothing changes on `Err`.
    fn apply_put(
        &mut self,
        op: OpId,
        key: &str,
        value: Value,
        state: &mut KeyState,
        out: &mut Out,
    ) -> Result<(), String> {
        let me = self.config.id;
        let max = self.config.sessions_per_key_max;
        let recorded = match self.config.resolution {
            Resolution::MultiValue => state.put_mv((op.client, op.seq), value, me, max)?.1,
            Resolution::Lww => {
                let (stamp, clock) = self.clock.stamp(me).map_err(|e| e.to_string())?;
                out.writes.push(Write::Clock(clock));
                self.stamped = clock;
                let (won, recorded) = state.put_lww((op.client, op.seq), value, stamp, max)?;
                if !won {
                    self.counters.lww_puts_lost += 1;
                    out.note(format_args!(
                        "{op} put {key} stamped {stamp} lost at once to {}",
                        state.register()
                    ));
                }
                recorded
            }
        };
        if !recorded {
            self.counters.sessions_refused += 1;
            out.note(format_args!(
                "{op} put {key}: session unrecorded (sessions_per_key_max); its next put is blind"
            ));
        }
        Ok(())
    }

    /// One tick: the clock, and every `gossip_interval_ticks` a gossip round.
    fn on_tick(&mut self, out: &mut Out) {
        self.now += 1;
        self.clock.tick();
        if self.now.is_multiple_of(self.config.gossip_interval_ticks) {
            self.start_round(out);
        }
    }
}

/// Where a restarted clock must resume: past its own last stamp (quorum/clock.rs), and with
/// an HLC past every stamp the node holds too. Before the crash the HLC had taken each of them
/// in; a clock that stopped while the node was down would otherwise stamp a put below a value
/// its client had just read here, and lose the put. The wall clock takes in nothing, now as
/// before (that is its bug).
fn resume_after(disk: &Disk, mode: StampMode) -> ClockState {
    let mut state = disk.clock;
    if mode == StampMode::Hlc {
        for key_state in disk.keys.values() {
            if let Register::Lww(r) = key_state.register() {
                let held = r.stamp().map(|s| s.time).unwrap_or_default();
                state.last_stamp = state.last_stamp.max(held);
            }
        }
    }
    state
}

impl Protocol for CrdtStore {
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
            Message::Digest(m) => self.on_digest(from, m, out),
            Message::Sync(m) => self.on_sync(from, m, out),
            Message::Push(m) => self.on_push(from, m, out),
        }
    }

    fn tick(&mut self, out: &mut Out) {
        self.on_tick(out);
    }

    fn input(&mut self, input: ClientRequest, out: &mut Out) {
        match input.request {
            Request::Get { key } => self.on_get(input.id, key, out),
            Request::Put { key, value } => self.on_put(input.id, key, value, out),
        }
    }

    fn persist(disk: &mut Disk, write: &Write) {
        disk::persist(disk, write);
    }
}
