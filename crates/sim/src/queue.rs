//! The event queue: a min-heap of future events keyed by `(time, sequence number)`.
//!
//! ```text
//!   push(at, kind) ──► seq = next_seq++ ──► heap ordered by (at, seq) ──► pop() earliest first
//! ```
//!
//! Two events scheduled for the same time come out in the order they were scheduled: the
//! sequence number breaks every tie, so the order never depends on how the heap happens to
//! arrange equal keys. That, plus a seeded RNG, is all the determinism the scheduler needs.
//!
//! The road not taken: a timing wheel. It is faster for dense, short horizons, but our delays
//! span three orders of magnitude (a 10-unit hop, a 10,000-unit long delay), and a binary heap
//! of a few hundred entries is already a small part of the cost of an event.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use distributed_core::{Envelope, NodeId, Protocol};

use crate::config::Time;
use crate::partition::Partition;

/// What happens when an event fires.
pub(crate) enum EventKind<P: Protocol> {
    /// Deliver a message (unless a crash or partition got in the way meanwhile).
    Deliver(Envelope<P::Message>),
    /// Tick a node. `incarnation` ties the tick chain to one life of the node, so a tick
    /// scheduled before a crash does not fire into the restarted node as a second clock.
    Tick { node: NodeId, incarnation: u32 },
    /// The fsync under way on a node that overlaps writes completes (disk.rs): persist its
    /// batch, send what it held, tell the node. `incarnation` as for `Tick`: a crash lost the
    /// batch, so an fsync of a past life completes nothing.
    Fsync { node: NodeId, incarnation: u32 },
    /// The random crash timer: pick a victim, crash it, schedule its restart and the next timer.
    CrashTimer,
    /// A scripted crash of one node, with no automatic restart.
    Crash(NodeId),
    /// Rebuild a node from its disk.
    Restart(NodeId),
    /// The random partition timer: pick a shape, split, schedule the heal and the next timer.
    PartitionTimer,
    /// A scripted partition, with no automatic heal.
    Partition(Partition),
    /// Heal the network. `epoch` names the partition a timer heal belongs to, so that it does
    /// not heal a later partition; scripted heals carry `None` and heal whatever stands.
    Heal { epoch: Option<u64> },
    /// Ask the workload for the next client input.
    Workload,
    /// Crash a leader elected a moment ago, if it is still in the same life.
    CrashNewLeader { node: NodeId, incarnation: u32 },
    /// Isolate a leader elected a moment ago, if it is still in the same life.
    IsolateNewLeader { node: NodeId, incarnation: u32 },
    /// The calm: heal, restart every crashed node, and inject no fault from now on
    /// (`Simulation::schedule_calm`).
    Calm,
}

/// One scheduled event.
pub(crate) struct Event<P: Protocol> {
    /// When it fires.
    pub(crate) at: Time,
    /// Tie-breaker: the order of scheduling.
    seq: u64,
    /// What it does.
    pub(crate) kind: EventKind<P>,
}

impl<P: Protocol> PartialEq for Event<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<P: Protocol> Eq for Event<P> {}

impl<P: Protocol> PartialOrd for Event<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<P: Protocol> Ord for Event<P> {
    /// Reversed, so that std's max-heap pops the earliest `(at, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The future of the run.
pub(crate) struct EventQueue<P: Protocol> {
    /// Pending events, earliest on top. Whole events, payload included: a variant that kept
    /// 24-byte keys in the heap and payloads in a slab beside it measured no faster with Raft
    /// messages, so the simpler shape stays.
    heap: BinaryHeap<Event<P>>,
    /// The next sequence number; every push takes one, so no two events share a key.
    next_seq: u64,
    /// How many pending events are message deliveries: the in-flight count that
    /// `NetworkFaults::in_flight_max` bounds.
    in_flight: usize,
}

impl<P: Protocol> EventQueue<P> {
    pub(crate) fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            next_seq: 0,
            in_flight: 0,
        }
    }

    pub(crate) fn push(&mut self, at: Time, kind: EventKind<P>) {
        if matches!(kind, EventKind::Deliver(_)) {
            self.in_flight += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Event { at, seq, kind });
    }

    pub(crate) fn pop(&mut self) -> Option<Event<P>> {
        let ev = self.heap.pop()?;
        if matches!(ev.kind, EventKind::Deliver(_)) {
            self.in_flight -= 1;
        }
        Some(ev)
    }

    /// The time of the earliest pending event, without removing it.
    pub(crate) fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.at)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use distributed_core::Effects;

    /// A protocol that does nothing: the queue only needs its associated types.
    struct Inert;
    impl Protocol for Inert {
        type Message = String;
        type Input = String;
        type Output = String;
        type Write = ();
        type Disk = ();
        fn id(&self) -> NodeId {
            NodeId(1)
        }
        fn step(&mut self, _: NodeId, _: String, _: &mut Effects<Self>) {}
        fn tick(&mut self, _: &mut Effects<Self>) {}
        fn input(&mut self, _: String, _: &mut Effects<Self>) {}
        fn persist(_: &mut (), _: &()) {}
    }

    fn tick(node: u64) -> EventKind<Inert> {
        EventKind::Tick {
            node: NodeId(node),
            incarnation: 0,
        }
    }

    fn node_of(ev: Event<Inert>) -> u64 {
        match ev.kind {
            EventKind::Tick { node, .. } => node.0,
            _ => panic!("not a tick"),
        }
    }

    #[test]
    fn events_come_out_earliest_first() {
        let mut q = EventQueue::new();
        q.push(30, tick(3));
        q.push(10, tick(1));
        q.push(20, tick(2));
        let order: Vec<u64> = std::iter::from_fn(|| q.pop()).map(node_of).collect();
        assert_eq!(order, vec![1, 2, 3]);
    }

    #[test]
    fn events_at_the_same_time_come_out_in_the_order_they_were_scheduled() {
        let mut q = EventQueue::new();
        for n in [5, 1, 4, 2, 3] {
            q.push(7, tick(n));
        }
        let order: Vec<u64> = std::iter::from_fn(|| q.pop()).map(node_of).collect();
        assert_eq!(order, vec![5, 1, 4, 2, 3]);
    }

    #[test]
    fn the_in_flight_count_follows_deliveries_only() {
        let mut q: EventQueue<Inert> = EventQueue::new();
        let env = Envelope {
            from: NodeId(1),
            to: NodeId(2),
            msg: "m".to_string(),
        };
        q.push(5, EventKind::Deliver(env));
        q.push(1, tick(1));
        assert_eq!(q.in_flight(), 1);
        q.pop();
        assert_eq!(q.in_flight(), 1);
        q.pop();
        assert_eq!(q.in_flight(), 0);
    }
}
