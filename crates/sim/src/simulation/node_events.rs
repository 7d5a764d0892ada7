//! Node events and the Effects contract: what the simulator does when a node acts.
//!
//! ```text
//!   Deliver(env) ──► receiver down? drop(down) ── cut by partition? drop(partition)
//!                    └─► node.step(from, msg) ─┐
//!   Tick{node, life} ─► stale life? ignore     ├─► Effects ──► apply, in contract order:
//!                    └─► node.tick() ──────────┤     1. persist each write to the slot's disk,
//!   Workload ──► poll ─► node down? drop input │        then Invariant::on_write
//!                    └─► node.input(input) ────┘     2. send each message (below)
//!                                                    3. each output ─► trace, Workload,
//!                                                       Invariant::on_output
//!                           node.overlaps_writes()? ─► fsync.rs instead (contract step 5)
//!   send: count it (sent, and its size if the run has a sizer: with_message_size)
//!         unknown receiver or in_flight_max reached ─► drop(overflow)
//!         loss odds ─► drop(lost)                          (not after the calm)
//!         duplicate odds ─► a copy with its own delay      (not after the calm)
//!         delay = uniform(delay range) + sometimes a long extra ─► Deliver at now + delay
//!               (after the calm: always the shortest delay, so links are FIFO)
//! ```
//!
//! A tick first hands the node its host's tick input, if the run installed one
//! (`with_tick_input`: the KV replicas' `Clock{now_ms}`), in the same event and Effects.
//!
//! Invariant: a message is judged twice, at send (loss, overflow) and at delivery (crash,
//! partition), so a link cut while a message is in flight loses it, as a real network would.
//! The `Effects` buffer is taken out of the simulation for the node call and put back after,
//! cleared, so its capacity is reused by the next event.

use distributed_core::{Effects, Envelope, NodeId, Protocol, Rng};

use super::{draw, failure, index, Failure, Handled, Simulation};
use crate::config::Time;
use crate::queue::EventKind;
use crate::record::{DropReason, Record};
use crate::view::ClusterView;

impl<P: Protocol> Simulation<P> {
    pub(super) fn deliver(&mut self, env: Envelope<P::Message>) -> Handled {
        let Envelope { from, to, msg } = env;
        let i = index(to);
        if self.slots[i].node.is_none() {
            self.drop_message(from, to, msg, DropReason::Down);
            return Ok(None);
        }
        if self
            .partition
            .as_ref()
            .is_some_and(|p| !p.connected(from, to))
        {
            self.drop_message(from, to, msg, DropReason::Partition);
            return Ok(None);
        }
        self.stats.messages_delivered += 1;
        if self.recorder.active() {
            self.recorder.push(Record::Deliver {
                at: self.now,
                from,
                to,
                msg: msg.clone(),
            });
        }
        let mut fx = std::mem::take(&mut self.effects);
        if let Some(node) = self.slots[i].node.as_mut() {
            node.step(from, msg, &mut fx);
        }
        self.apply(to, fx)?;
        Ok(Some(to))
    }

    pub(super) fn tick(&mut self, id: NodeId, incarnation: u32) -> Handled {
        let i = index(id);
        if self.slots[i].incarnation != incarnation || self.slots[i].node.is_none() {
            return Ok(None); // a tick of a past life: that clock stopped at the crash
        }
        if self.recorder.wants_ticks() {
            self.recorder.push(Record::Tick {
                at: self.now,
                node: id,
            });
        }
        let mut fx = std::mem::take(&mut self.effects);
        let host_input = self.tick_input.as_ref().and_then(|hook| hook(id, self.now));
        if let Some(node) = self.slots[i].node.as_mut() {
            if let Some(input) = host_input {
                node.input(input, &mut fx);
            }
            node.tick(&mut fx);
        }
        let period = self.drift(i);
        self.queue.push(
            self.now + period,
            EventKind::Tick {
                node: id,
                incarnation,
            },
        );
        self.apply(id, fx)?;
        Ok(Some(id))
    }

    /// Maybe nudge node `i`'s tick period by one unit, within the configured range.
    fn drift(&mut self, i: usize) -> Time {
        let c = &self.config.clock;
        let slot = &mut self.slots[i];
        if c.drift_per_million > 0 && self.clock_rng.chance(c.drift_per_million) {
            slot.tick_period = if self.clock_rng.range(0, 2) == 0 {
                slot.tick_period
                    .saturating_sub(1)
                    .max(c.tick_period_units_min)
            } else {
                (slot.tick_period + 1).min(c.tick_period_units_max)
            };
        }
        slot.tick_period
    }

    pub(super) fn poll_workload(&mut self) -> Handled {
        let Some(workload) = self.workload.as_mut() else {
            return Ok(None);
        };
        let view = ClusterView {
            now: self.now,
            slots: &self.slots,
            partition: self.partition.as_ref(),
            touched: None,
        };
        let step = workload.poll(&view, &mut self.workload_rng);
        if let Some(next) = step.next_poll_units {
            self.queue.push(self.now + next.max(1), EventKind::Workload);
        }
        let Some((id, input)) = step.input else {
            return Ok(None);
        };
        let n = self.slots.len();
        assert!(
            (1..=n as u64).contains(&id.0),
            "workload chose {id}, not in n1..=n{n}"
        );
        let i = index(id);
        if self.slots[i].node.is_none() {
            if self.recorder.active() {
                self.recorder.push(Record::Input {
                    at: self.now,
                    node: id,
                    input,
                    delivered: false,
                });
            }
            workload.on_input_dropped(id, self.now);
            return Ok(None);
        }
        self.stats.inputs += 1;
        if self.recorder.active() {
            let input = input.clone();
            self.recorder.push(Record::Input {
                at: self.now,
                node: id,
                input,
                delivered: true,
            });
        }
        let mut fx = std::mem::take(&mut self.effects);
        if let Some(node) = self.slots[i].node.as_mut() {
            node.input(input, &mut fx);
        }
        self.apply(id, fx)?;
        Ok(Some(id))
    }

    /// Carry out node `id`'s effects in contract order, then hand the buffer back for reuse.
    pub(super) fn apply(&mut self, id: NodeId, mut fx: Effects<P>) -> Result<(), Failure> {
        let result = self.apply_in_order(id, &mut fx);
        fx.clear();
        self.effects = fx;
        result
    }

    fn apply_in_order(&mut self, id: NodeId, fx: &mut Effects<P>) -> Result<(), Failure> {
        if self.slots[index(id)]
            .node
            .as_ref()
            .is_some_and(P::overlaps_writes)
        {
            return self.apply_overlapped(id, fx); // contract step 5: fsync.rs
        }
        for write in &fx.writes {
            self.persist_write(id, write)?;
        }
        for env in fx.messages.drain(..) {
            self.send(env);
        }
        self.note_and_deliver(id, fx)
    }

    /// Put one write on node `id`'s disk, and show it to every invariant.
    pub(super) fn persist_write(&mut self, id: NodeId, write: &P::Write) -> Result<(), Failure> {
        P::persist(&mut self.slots[index(id)].disk, write);
        for inv in &mut self.invariants {
            inv.on_write(id, write)
                .map_err(|m| failure(inv.as_ref(), m))?;
        }
        Ok(())
    }

    /// Trace the notes, then hand every output to the trace, the workload and the invariants.
    pub(super) fn note_and_deliver(
        &mut self,
        id: NodeId,
        fx: &mut Effects<P>,
    ) -> Result<(), Failure> {
        for text in fx.notes.take() {
            let (at, node) = (self.now, id);
            self.recorder.push(Record::Note { at, node, text });
        }
        for output in &fx.outputs {
            self.stats.outputs += 1;
            if self.recorder.active() {
                self.recorder.push(Record::Output {
                    at: self.now,
                    node: id,
                    output: output.clone(),
                });
            }
            if let Some(w) = self.workload.as_mut() {
                w.on_output(id, output, self.now);
            }
            for inv in &mut self.invariants {
                inv.on_output(id, output)
                    .map_err(|m| failure(inv.as_ref(), m))?;
            }
        }
        Ok(())
    }

    /// Put a message on the wire: maybe lose it, maybe copy it, delay every copy.
    pub(super) fn send(&mut self, env: Envelope<P::Message>) {
        self.stats.messages_sent += 1;
        if let Some(size) = self.message_size {
            self.stats.message_bytes_sent += size(&env.msg) as u64;
        }
        let known = (1..=self.slots.len() as u64).contains(&env.to.0);
        if !known || self.queue.in_flight() >= self.config.network.in_flight_max {
            return self.drop_message(env.from, env.to, env.msg, DropReason::Overflow);
        }
        let net = &self.config.network;
        let faulty = !self.calm; // after the calm the network only delays (faults.rs)
        if faulty && net.loss_per_million > 0 && self.net_rng.chance(net.loss_per_million) {
            return self.drop_message(env.from, env.to, env.msg, DropReason::Lost);
        }
        let dup = net.duplicate_per_million;
        if faulty && dup > 0 && self.net_rng.chance(dup) {
            self.stats.messages_duplicated += 1;
            let copy = env.clone();
            if self.recorder.active() {
                let (at, from, to, msg) = (self.now, env.from, env.to, env.msg.clone());
                self.recorder.push(Record::Duplicate { at, from, to, msg });
            }
            let at = self.now + self.delay();
            self.queue.push(at, EventKind::Deliver(copy));
        }
        let at = self.now + self.delay();
        self.queue.push(at, EventKind::Deliver(env));
    }

    /// One message's delay: uniform in the ordinary range, plus sometimes a long extra.
    /// After the calm, the shortest delay, always: links are FIFO again (faults.rs).
    fn delay(&mut self) -> Time {
        let net = &self.config.network;
        if self.calm {
            return net.delay_units_min;
        }
        let mut d = draw(&mut self.net_rng, net.delay_units_min, net.delay_units_max);
        let long = net.long_delay_per_million;
        if long > 0 && self.net_rng.chance(long) {
            d += draw(
                &mut self.net_rng,
                net.long_delay_units_min,
                net.long_delay_units_max,
            );
        }
        d
    }

    fn drop_message(&mut self, from: NodeId, to: NodeId, msg: P::Message, why: DropReason) {
        self.stats.messages_dropped += 1;
        if self.recorder.active() {
            self.recorder.push(Record::Drop {
                at: self.now,
                from,
                to,
                msg,
                why,
            });
        }
    }
}
