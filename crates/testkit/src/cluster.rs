//! A lockstep cluster over any [`Protocol`]: the test's own hand on every tick and delivery.
//!
//! The simulator (`sim`) schedules events by a seed; this harness does exactly what the test
//! says, one step at a time, so a test can build the precise interleaving a paper's figure
//! draws. Both honour the same host contract.
//!
//! ```text
//!   tick(n) / input(n, x) / deliver(env) ──► node n ──► Effects
//!                                                 │ 1. persist every write to disks[n]   (P::persist)
//!                                                 │    observer.on_write
//!                                                 │ 2. every message: observer.on_send (check its
//!                                                 │    promises are durable), log in `sent`,
//!                                                 │    intercept (rewrite or drop), cut? on_drop
//!                                                 │    : on_queue, push on `network`
//!                                                 │ 3. notes, then outputs ──► observer
//!                                                 └ 4. observer.after_event(n, node), clear
//!   deliver_all: pop `network` front to back until it is quiet (bounded)
//!   crash(n): n neither ticks nor receives      restart(n): factory(n, disks[n], fresh rng)
//! ```
//!
//! What a protocol's tests add lives in an [`Observer`]: the safety checks a test can see from
//! outside (one leader per term, one entry per index, one state per applied index) and the
//! records the assertions read. The unit observer `()` checks and records nothing.
//!
//! Invariants: a crashed node is never ticked or stepped; a restarted node sees only what its
//! disk holds (the factory gets the disk and a fresh RNG, nothing else); every drain is
//! bounded by `DELIVERIES_PER_DRAIN_MAX`, so a livelock fails the test instead of hanging it.
//!
//! The road not taken: a trait object per node. Nodes are one concrete `P`, so tests reach
//! their state (`c.nodes[0].term()`) without downcasts.

use std::collections::{BTreeSet, VecDeque};

use distributed_core::{Effects, Envelope, NodeId, Protocol, SeededRng};

/// Upper bound on messages delivered by one `deliver_all`: a livelock fails the test, not hangs it.
pub const DELIVERIES_PER_DRAIN_MAX: usize = 100_000;

/// Builds a node from its disk: at the start, and again at every restart.
pub type Factory<P> = Box<dyn FnMut(NodeId, &<P as Protocol>::Disk, SeededRng) -> P>;

/// A test's hand on the wire: may rewrite a message as it is sent, or drop it (return false).
pub type Intercept<M> = Box<dyn FnMut(&mut Envelope<M>) -> bool>;

/// Why a message sent by a node did not reach the network, or was not stepped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// The link from sender to receiver is cut (a partition).
    Cut,
    /// The test's intercept dropped it.
    Intercepted,
    /// The receiver was down when the message was delivered.
    Down,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dropped::Cut => "cut",
            Dropped::Intercepted => "intercepted",
            Dropped::Down => "down",
        })
    }
}

/// What a protocol's tests watch: every hook has an empty default, so an observer implements
/// only what it checks or records. Hooks run in the host contract's order for each event.
pub trait Observer<P: Protocol> {
    /// A message is about to be stepped at its receiver.
    fn on_deliver(&mut self, _env: &Envelope<P::Message>) {}
    /// A message never reached the network (cut, intercepted) or its receiver (down).
    fn on_drop(&mut self, _env: &Envelope<P::Message>, _why: Dropped) {}
    /// Step 1: `write` was just persisted to `node`'s disk.
    fn on_write(&mut self, _node: NodeId, _write: &P::Write) {}
    /// Step 2: `node` sends `env`, its writes of this event already on `disk`; check its
    /// promises here. Called for every message the node sends, before the network decides.
    fn on_send(&mut self, _node: NodeId, _disk: &P::Disk, _env: &Envelope<P::Message>) {}
    /// The message is on the network, to be delivered when the test says so.
    fn on_queue(&mut self, _env: &Envelope<P::Message>) {}
    /// `node` said why it ignored something (only when the cluster keeps notes).
    fn on_note(&mut self, _node: NodeId, _note: &str) {}
    /// Step 3: `node` produced `output`.
    fn on_output(&mut self, _node: NodeId, _output: P::Output) {}
    /// Step 4, after the whole event: `node` as it now stands.
    fn after_event(&mut self, _node: NodeId, _state: &P) {}
    /// `node` was rebuilt from `disk`.
    fn on_restart(&mut self, _node: NodeId, _state: &P, _disk: &P::Disk) {}
}

impl<P: Protocol> Observer<P> for () {}

/// `n` nodes of protocol `P` driven in lockstep (see the module docs).
pub struct Cluster<P: Protocol, O: Observer<P> = ()> {
    /// Node ids, `n1..=nN`, in slot order.
    pub ids: Vec<NodeId>,
    /// The running nodes, in slot order (a crashed node keeps its last state until restarted,
    /// but is neither ticked nor stepped).
    pub nodes: Vec<P>,
    /// What each node persisted: the only thing a restart reads.
    pub disks: Vec<P::Disk>,
    /// Messages sent and not yet delivered, in send order.
    pub network: VecDeque<Envelope<P::Message>>,
    /// Every message ever sent, dropped ones included, for tests that count traffic.
    pub sent: Vec<Envelope<P::Message>>,
    /// Crashed nodes.
    pub down: BTreeSet<NodeId>,
    /// Cut links (from, to): messages on them are dropped when sent.
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// A test's hand on the wire (see [`Intercept`]).
    pub intercept: Option<Intercept<P::Message>>,
    /// The protocol-specific checks and records.
    pub observer: O,
    /// Rebuilds a node from its disk.
    factory: Factory<P>,
    /// Seeds the RNG of each restarted node: a counter, so restarts replay exactly.
    restarts: u64,
    /// The effects buffer, reused for every event.
    effects: Effects<P>,
}

impl<P: Protocol, O: Observer<P>> Cluster<P, O> {
    /// A cluster of `n` brand-new nodes built by `factory` from empty disks; node `i`'s RNG is
    /// seeded from `seed` and `i`, so one seed replays the whole test.
    pub fn new(n: u64, seed: u64, observer: O, factory: Factory<P>) -> Self {
        Self::with_disks(
            vec![P::Disk::default(); n as usize],
            seed,
            observer,
            factory,
        )
    }

    /// A cluster whose node `k + 1` starts from `disks[k]`.
    pub fn with_disks(
        disks: Vec<P::Disk>,
        seed: u64,
        observer: O,
        mut factory: Factory<P>,
    ) -> Self {
        let ids: Vec<NodeId> = (1..=disks.len() as u64).map(NodeId).collect();
        let nodes = ids
            .iter()
            .zip(&disks)
            .map(|(&id, disk)| {
                factory(
                    id,
                    disk,
                    SeededRng::new(seed.wrapping_mul(1000).wrapping_add(id.0)),
                )
            })
            .collect();
        Cluster {
            ids,
            nodes,
            disks,
            network: VecDeque::new(),
            sent: Vec::new(),
            down: BTreeSet::new(),
            cut: BTreeSet::new(),
            intercept: None,
            observer,
            factory,
            restarts: seed.wrapping_mul(7919),
            effects: Effects::new(),
        }
    }

    /// Keep the nodes' notes (why they ignored an event) and hand them to `Observer::on_note`.
    pub fn keep_notes(&mut self, on: bool) {
        self.effects.notes.set_on(on);
    }

    /// The slot of node `id`. Panics on an unknown id: a test bug.
    pub fn pos(&self, id: NodeId) -> usize {
        self.ids
            .iter()
            .position(|&x| x == id)
            .unwrap_or_else(|| panic!("{id} is not in this cluster"))
    }

    /// Node `id` (running or crashed).
    pub fn node(&self, id: NodeId) -> &P {
        &self.nodes[self.pos(id)]
    }

    /// Is node `id` running?
    pub fn is_up(&self, id: NodeId) -> bool {
        !self.down.contains(&id)
    }

    /// Tick one running node once and carry out its effects.
    pub fn tick(&mut self, id: NodeId) {
        if self.down.contains(&id) {
            return;
        }
        let i = self.pos(id);
        self.nodes[i].tick(&mut self.effects);
        self.carry_out(i);
    }

    /// Tick every running node once, in id order.
    pub fn tick_all(&mut self) {
        for id in self.ids.clone() {
            self.tick(id);
        }
    }

    /// Hand node `id` an input and carry out its effects.
    pub fn input(&mut self, id: NodeId, input: P::Input) {
        let i = self.pos(id);
        self.nodes[i].input(input, &mut self.effects);
        self.carry_out(i);
    }

    /// Step one message at its receiver (dropped if the receiver is down).
    pub fn deliver(&mut self, env: Envelope<P::Message>) {
        if self.down.contains(&env.to) {
            self.observer.on_drop(&env, Dropped::Down);
            return;
        }
        self.observer.on_deliver(&env);
        let i = self.pos(env.to);
        self.nodes[i].step(env.from, env.msg, &mut self.effects);
        self.carry_out(i);
    }

    /// Deliver the message at the front of the network, if any; true if there was one.
    pub fn deliver_one(&mut self) -> bool {
        match self.network.pop_front() {
            Some(env) => {
                self.deliver(env);
                true
            }
            None => false,
        }
    }

    /// Deliver queued messages (and whatever they cause) until the network is quiet.
    pub fn deliver_all(&mut self) {
        for _ in 0..DELIVERIES_PER_DRAIN_MAX {
            if !self.deliver_one() {
                return;
            }
        }
        panic!("network did not go quiet within {DELIVERIES_PER_DRAIN_MAX} deliveries");
    }

    /// `rounds` rounds of: every running node ticks, then the network drains.
    pub fn run(&mut self, rounds: u64) {
        for _ in 0..rounds {
            self.tick_all();
            self.deliver_all();
        }
    }

    /// Crash node `id`: it keeps its disk and loses the rest at `restart`.
    pub fn crash(&mut self, id: NodeId) {
        self.down.insert(id);
    }

    /// Rebuild node `id` from its disk alone, as a real restart would, and bring it up.
    pub fn restart(&mut self, id: NodeId) {
        let i = self.pos(id);
        self.restarts += 1;
        self.nodes[i] = (self.factory)(id, &self.disks[i], SeededRng::new(self.restarts));
        self.down.remove(&id);
        self.observer.on_restart(id, &self.nodes[i], &self.disks[i]);
    }

    /// Cut every link between `id` and the others, both ways.
    pub fn isolate(&mut self, id: NodeId) {
        for &other in &self.ids {
            if other != id {
                self.cut.insert((id, other));
                self.cut.insert((other, id));
            }
        }
    }

    /// Cut every link between a node of `a` and a node of `b`, both ways.
    pub fn partition(&mut self, a: &[NodeId], b: &[NodeId]) {
        for &x in a {
            for &y in b {
                self.cut.insert((x, y));
                self.cut.insert((y, x));
            }
        }
    }

    /// Restore every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Count messages sent from `from` to `to` that match `pred`.
    pub fn count_sent(
        &self,
        from: NodeId,
        to: NodeId,
        pred: impl Fn(&P::Message) -> bool,
    ) -> usize {
        self.sent
            .iter()
            .filter(|e| e.from == from && e.to == to && pred(&e.msg))
            .count()
    }

    /// The host's side of the contract for slot `i`'s last event, with the observer watching.
    fn carry_out(&mut self, i: usize) {
        let id = self.ids[i];
        let mut fx = std::mem::take(&mut self.effects);
        for write in &fx.writes {
            P::persist(&mut self.disks[i], write);
            self.observer.on_write(id, write);
        }
        for mut env in fx.messages.drain(..) {
            self.observer.on_send(id, &self.disks[i], &env);
            self.sent.push(env.clone());
            let keep = match self.intercept.as_mut() {
                Some(f) => f(&mut env),
                None => true,
            };
            if !keep {
                self.observer.on_drop(&env, Dropped::Intercepted);
            } else if self.cut.contains(&(env.from, env.to)) {
                self.observer.on_drop(&env, Dropped::Cut);
            } else {
                self.observer.on_queue(&env);
                self.network.push_back(env);
            }
        }
        for note in fx.notes.take() {
            self.observer.on_note(id, &note);
        }
        for output in fx.outputs.drain(..) {
            self.observer.on_output(id, output);
        }
        fx.clear();
        self.effects = fx;
        self.observer.after_event(id, &self.nodes[i]);
    }
}
