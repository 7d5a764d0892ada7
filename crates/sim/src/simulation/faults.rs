//! Crashes, restarts and partitions: the simulator's fault injector.
//!
//! ```text
//!   CrashTimer ─► next timer ─► down < bound? ─► victim: leader (odds) or a random live node
//!                                                 └─► crash ─► Restart after a random downtime
//!   Restart    ─► incarnation += 1 ─► node = factory(id, &disk, fresh rng) ─► on_restart ─► tick
//!
//!   PartitionTimer ─► next timer ─► none standing? ─► shape by weight:
//!                        random minority | isolate leader | halves | bridge
//!                     └─► Heal{epoch} after a random duration (ignored if superseded)
//!
//!   after a node event, if the leader hook names a different leader (new-leader faults on):
//!     odds ─► CrashNewLeader{node, incarnation} after a short delay   (restarts as usual)
//!     odds ─► IsolateNewLeader{node, incarnation} after a short delay (replaces any partition)
//!
//!   Calm ─► heal ─► restart every crashed node ─► calm = true: from now on the timers above
//!           stop (they fire once more, do nothing and schedule nothing), new leaders draw no
//!           fault, and sends draw no loss, duplicate or delay: every message takes the
//!           shortest delay, so links are reliable and FIFO, as TCP makes them for a
//!           protocol that assumes it (node_events.rs)
//! ```
//!
//! Invariants:
//! - Random crashes never take more than `SimConfig::down_nodes_max()` nodes down at once (a
//!   minority unless the config asks for chaos). Scripted crashes obey the script, not the bound.
//! - A restarted node is built from its slot's disk and nothing else: the disk only ever
//!   changed through `P::persist` of the writes the node emitted.
//! - After the calm no random fault happens: every random fault path checks `calm` first and
//!   draws nothing from the fault RNG once it is set. Scripted faults still happen.
//! - A crash stops the node's tick chain (the next tick carries the old incarnation), and
//!   empties its DiskQueue: unsynced writes never reach the disk, held messages never leave.
//!   Its pending Fsync event carries the old incarnation and completes nothing.

use distributed_core::{NodeId, Protocol, Rng};

use super::{draw, index, Handled, Simulation};
use crate::config::ShapeWeights;
use crate::partition::Partition;
use crate::queue::EventKind;
use crate::record::Record;
use crate::view::ClusterView;

impl<P: Protocol> Simulation<P> {
    /// Who leads now, if a leader hook is installed and knows.
    pub(super) fn leader(&self) -> Option<NodeId> {
        let hook = self.leader_hook.as_ref()?;
        hook(&ClusterView {
            now: self.now,
            slots: &self.slots,
            partition: self.partition.as_ref(),
            touched: None,
        })
    }

    pub(super) fn crash_timer(&mut self) -> Option<NodeId> {
        if self.calm {
            return None; // the timer chain ends here
        }
        let c = self.config.crashes.as_ref()?;
        let (leader_odds, down_lo, down_hi) = (
            c.leader_per_million,
            c.downtime_units_min,
            c.downtime_units_max,
        );
        let next = draw(
            &mut self.fault_rng,
            c.interval_units_min,
            c.interval_units_max,
        );
        self.queue
            .push(self.now + next.max(1), EventKind::CrashTimer);
        let down = self.slots.iter().filter(|s| s.node.is_none()).count();
        if down >= self.config.down_nodes_max() {
            return None;
        }
        let victim = self.pick_victim(leader_odds)?;
        self.crash(victim);
        let downtime = draw(&mut self.fault_rng, down_lo, down_hi);
        self.queue
            .push(self.now + downtime.max(1), EventKind::Restart(victim));
        Some(victim)
    }

    /// The leader with the configured odds (if one is known and up), else a random live node.
    fn pick_victim(&mut self, leader_odds: u32) -> Option<NodeId> {
        if leader_odds > 0 && self.fault_rng.chance(leader_odds) {
            if let Some(l) = self
                .leader()
                .filter(|l| self.slots[index(*l)].node.is_some())
            {
                return Some(l);
            }
        }
        let live = self.slots.iter().filter(|s| s.node.is_some()).count();
        if live == 0 {
            return None;
        }
        let k = self.fault_rng.range(0, live as u64) as usize;
        self.slots
            .iter()
            .filter(|s| s.node.is_some())
            .nth(k)
            .map(|s| s.id)
    }

    /// Crash `id` now: its volatile state is gone, its disk stays. No-op if already down.
    /// Writes still waiting for their fsync are gone too, and the messages held for them
    /// never leave (thesis §10.2.1: what a leader sent before its own copy was durable).
    pub(super) fn crash(&mut self, id: NodeId) -> Option<NodeId> {
        let slot = &mut self.slots[index(id)];
        slot.node.take()?;
        let (lost_writes, lost_held) = slot.unsynced.clear();
        self.stats.crashes += 1;
        self.stats.writes_lost += lost_writes as u64;
        if self.recorder.active() {
            self.recorder.push(Record::Crash {
                at: self.now,
                node: id,
                lost_writes,
                lost_held,
            });
        }
        Some(id)
    }

    /// Rebuild `id` from exactly its disk, with a fresh RNG stream and a new tick chain.
    pub(super) fn restart(&mut self, id: NodeId) -> Handled {
        let i = index(id);
        if self.slots[i].node.is_some() {
            return Ok(None);
        }
        let slot = &mut self.slots[i];
        slot.incarnation += 1;
        let rng = slot.rng.fork();
        slot.node = Some((self.factory)(id, &slot.disk, rng));
        let (incarnation, period) = (slot.incarnation, slot.tick_period);
        self.stats.restarts += 1;
        if self.recorder.active() {
            self.recorder.push(Record::Restart {
                at: self.now,
                node: id,
            });
        }
        for inv in &mut self.invariants {
            inv.on_restart(id);
        }
        let first = draw(&mut self.clock_rng, 1, period);
        self.queue.push(
            self.now + first,
            EventKind::Tick {
                node: id,
                incarnation,
            },
        );
        Ok(Some(id))
    }

    /// After a node event: if the leader hook names a new leader, maybe schedule its crash
    /// and/or its isolation a moment later (the Figure 8 moves).
    pub(super) fn watch_leader_change(&mut self) {
        if self.calm {
            return;
        }
        let leader = self.leader();
        if leader == self.last_leader {
            return;
        }
        self.last_leader = leader;
        let Some(node) = leader else { return };
        let incarnation = self.slots[index(node)].incarnation;
        if let Some(c) = &self.config.crashes {
            if c.new_leader_per_million > 0 && self.fault_rng.chance(c.new_leader_per_million) {
                let d = draw(
                    &mut self.fault_rng,
                    c.new_leader_delay_units_min,
                    c.new_leader_delay_units_max,
                );
                self.queue.push(
                    self.now + d,
                    EventKind::CrashNewLeader { node, incarnation },
                );
            }
        }
        if let Some(p) = &self.config.partitions {
            if p.new_leader_per_million > 0 && self.fault_rng.chance(p.new_leader_per_million) {
                let d = draw(
                    &mut self.fault_rng,
                    p.new_leader_delay_units_min,
                    p.new_leader_delay_units_max,
                );
                self.queue.push(
                    self.now + d,
                    EventKind::IsolateNewLeader { node, incarnation },
                );
            }
        }
    }

    /// Is `node` still in the life it had when a new-leader fault was scheduled?
    fn same_life(&self, node: NodeId, incarnation: u32) -> bool {
        let slot = &self.slots[index(node)];
        slot.incarnation == incarnation && slot.node.is_some()
    }

    pub(super) fn crash_new_leader(&mut self, node: NodeId, incarnation: u32) -> Option<NodeId> {
        let c = self.config.crashes.as_ref()?;
        let (down_lo, down_hi) = (c.downtime_units_min, c.downtime_units_max);
        let down = self.slots.iter().filter(|s| s.node.is_none()).count();
        let bound = down >= self.config.down_nodes_max();
        if self.calm || !self.same_life(node, incarnation) || bound {
            return None;
        }
        self.crash(node);
        let downtime = draw(&mut self.fault_rng, down_lo, down_hi);
        self.queue
            .push(self.now + downtime.max(1), EventKind::Restart(node));
        Some(node)
    }

    pub(super) fn isolate_new_leader(&mut self, node: NodeId, incarnation: u32) -> Option<NodeId> {
        let p = self.config.partitions.as_ref()?;
        let (dur_lo, dur_hi) = (p.duration_units_min, p.duration_units_max);
        if self.calm || !self.same_life(node, incarnation) {
            return None;
        }
        self.start_partition(Partition::isolate(self.slots.len(), node));
        let duration = draw(&mut self.fault_rng, dur_lo, dur_hi);
        let epoch = Some(self.partition_epoch);
        self.queue
            .push(self.now + duration.max(1), EventKind::Heal { epoch });
        None
    }

    pub(super) fn partition_timer(&mut self) -> Option<NodeId> {
        if self.calm {
            return None; // the timer chain ends here
        }
        let p = self.config.partitions.as_ref()?;
        let (shapes, dur_lo, dur_hi) = (p.shapes, p.duration_units_min, p.duration_units_max);
        let next = draw(
            &mut self.fault_rng,
            p.interval_units_min,
            p.interval_units_max,
        );
        self.queue
            .push(self.now + next.max(1), EventKind::PartitionTimer);
        if self.partition.is_some() {
            return None;
        }
        let partition = self.pick_shape(shapes);
        self.start_partition(partition);
        let duration = draw(&mut self.fault_rng, dur_lo, dur_hi);
        let epoch = Some(self.partition_epoch);
        self.queue
            .push(self.now + duration.max(1), EventKind::Heal { epoch });
        None
    }

    fn pick_shape(&mut self, w: ShapeWeights) -> Partition {
        let n = self.slots.len();
        let total = w.total();
        let mut r = self.fault_rng.range(0, total);
        if r < u64::from(w.isolate_leader) {
            if let Some(l) = self.leader() {
                return Partition::isolate(n, l);
            }
            return Partition::random_minority(n, &mut self.fault_rng);
        }
        r -= u64::from(w.isolate_leader);
        if r < u64::from(w.halves) {
            return Partition::halves(n, &mut self.fault_rng);
        }
        r -= u64::from(w.halves);
        if r < u64::from(w.bridge) {
            return Partition::random_bridge(n, &mut self.fault_rng);
        }
        Partition::random_minority(n, &mut self.fault_rng)
    }

    pub(super) fn scripted_partition(&mut self, partition: Partition) -> Option<NodeId> {
        self.start_partition(partition);
        None
    }

    fn start_partition(&mut self, partition: Partition) {
        self.partition_epoch += 1;
        self.stats.partitions += 1;
        if self.recorder.active() {
            self.recorder.push(Record::Partition {
                at: self.now,
                partition: partition.clone(),
            });
        }
        self.partition = Some(partition);
    }

    /// Heal the standing partition, unless this heal belongs to an earlier one.
    pub(super) fn heal(&mut self, epoch: Option<u64>) -> Option<NodeId> {
        if self.partition.is_none() || epoch.is_some_and(|e| e != self.partition_epoch) {
            return None;
        }
        self.partition = None;
        if self.recorder.active() {
            self.recorder.push(Record::Heal { at: self.now });
        }
        None
    }

    /// The calm begins (module docs): heal, restart every crashed node, fault no more.
    pub(super) fn begin_calm(&mut self) -> Handled {
        self.calm = true;
        let healed = self.partition.take().is_some();
        let down: Vec<NodeId> = self
            .slots
            .iter()
            .filter(|s| s.node.is_none())
            .map(|s| s.id)
            .collect();
        if self.recorder.active() {
            self.recorder.push(Record::Calm {
                at: self.now,
                healed,
                restarted: down.len(),
            });
        }
        for &id in &down {
            self.restart(id)?;
        }
        Ok(None)
    }
}
