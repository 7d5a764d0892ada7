//! Lamport clocks: one counter per process that respects "happened before", and a total order.
//!
//! Lamport, "Time, Clocks, and the Ordering of Events in a Distributed System" (CACM 1978),
//! "Logical Clocks": a clock `C` satisfies the Clock Condition (if `a → b` then
//! `C(a) < C(b)`) when every process follows
//!
//! - **IR1**: increment `C` between any two successive events (here: before each event),
//! - **IR2**: a message carries its send time `Tm`; on receipt, set `C` past both its own
//!   value and `Tm` (here: `C := max(C, Tm) + 1`, the receive being an event itself).
//!
//! ```text
//!   n1:  1 ──── 2 (send, Tm=2) ─────────────────────── 3
//!                      \
//!   n2:  1 ──── 2 ────── 3 = max(2, 2) + 1 (receive) ── 4
//!
//!   total order ⇒ : (time, node) lexicographic. n1's 2 ⇒ n2's 2 because n1 < n2.
//! ```
//!
//! What it cannot tell you: the converse. `C(a) < C(b)` does **not** mean `a → b`; two
//! concurrent events get ordered anyway, by whichever counter ran faster. Use vector clocks
//! (`vector.rs`) when you must detect concurrency. What the total order buys you ("Ordering the
//! Events Totally"): every process agrees on one order of all events without talking,
//! which is enough for Lamport's mutual-exclusion algorithm and for last-writer-wins.
//!
//! Invariants: the clock never goes backwards (asserted); each event's timestamp is strictly
//! greater than the previous one of the same clock; time saturating at `u64::MAX` is an error,
//! never a wrap to 0.

use std::fmt;

use distributed_core::NodeId;

use crate::error::ClockError;

/// One event's Lamport timestamp. Ordered by `time`, then `node`: Lamport's total order ⇒,
/// with the arbitrary-but-fixed process order taken to be node id order. (The field order is
/// what the derived `Ord` compares, so it must stay `time` first.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LamportTimestamp {
    /// The clock value `C(a)` of the event.
    pub time: u64,
    /// The process the event happened at: the tiebreak between equal times.
    pub node: NodeId,
}

impl fmt::Display for LamportTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.time, self.node)
    }
}

/// A process's Lamport clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LamportClock {
    /// Whose clock this is: stamped into every timestamp as the tiebreak.
    node: NodeId,
    /// The time of the latest event (0 before the first).
    time: u64,
}

impl LamportClock {
    /// A clock for `node` before its first event.
    pub fn new(node: NodeId) -> Self {
        LamportClock { node, time: 0 }
    }

    /// The latest event's timestamp (time 0 before any event).
    pub fn now(&self) -> LamportTimestamp {
        LamportTimestamp {
            time: self.time,
            node: self.node,
        }
    }

    /// A local event or a send: IR1. Returns the event's timestamp (the `Tm` to put on a
    /// message).
    pub fn tick(&mut self) -> Result<LamportTimestamp, ClockError> {
        self.advance_to(self.time)
    }

    /// A receive of a message stamped `received`: IR2, then IR1 for the receive event.
    pub fn receive(&mut self, received: LamportTimestamp) -> Result<LamportTimestamp, ClockError> {
        self.advance_to(self.time.max(received.time))
    }

    /// Sets the time to `floor + 1`, refusing to pass `u64::MAX`.
    fn advance_to(&mut self, floor: u64) -> Result<LamportTimestamp, ClockError> {
        let next = floor.checked_add(1).ok_or(ClockError::CounterOverflow {
            what: "Lamport clock",
            node: self.node,
        })?;
        assert!(next > self.time, "a Lamport clock went backwards");
        self.time = next;
        Ok(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(time: u64, node: u64) -> LamportTimestamp {
        LamportTimestamp {
            time,
            node: NodeId(node),
        }
    }

    #[test]
    fn every_event_gets_a_larger_time_than_the_one_before() {
        // Lamport 1978, "Logical Clocks", IR1.
        let mut c = LamportClock::new(NodeId(1));
        assert_eq!(c.tick().unwrap(), ts(1, 1));
        assert_eq!(c.tick().unwrap(), ts(2, 1));
    }

    #[test]
    fn a_receive_moves_the_clock_past_the_message_time() {
        // Lamport 1978, "Logical Clocks", IR2: the receive is later than the send.
        let mut sender = LamportClock::new(NodeId(1));
        for _ in 0..5 {
            sender.tick().unwrap();
        }
        let tm = sender.tick().unwrap();
        let mut receiver = LamportClock::new(NodeId(2));
        receiver.tick().unwrap();
        let got = receiver.receive(tm).unwrap();
        assert_eq!(got, ts(7, 2));
        assert!(tm < got);
    }

    #[test]
    fn a_receive_from_a_slower_clock_still_advances_by_one() {
        let mut c = LamportClock::new(NodeId(2));
        for _ in 0..9 {
            c.tick().unwrap();
        }
        assert_eq!(c.receive(ts(3, 1)).unwrap(), ts(10, 2));
    }

    #[test]
    fn equal_times_are_ordered_by_node_id() {
        // Lamport 1978, "Ordering the Events Totally": the total order ⇒ breaks ties by a fixed process order.
        assert!(ts(2, 1) < ts(2, 2));
        assert!(ts(2, 9) < ts(3, 1));
    }

    #[test]
    fn a_message_stamped_u64_max_is_refused_instead_of_wrapping_to_zero() {
        let mut c = LamportClock::new(NodeId(1));
        c.tick().unwrap();
        let err = c.receive(ts(u64::MAX, 2)).unwrap_err();
        assert!(matches!(err, ClockError::CounterOverflow { .. }), "{err}");
        assert_eq!(c.now(), ts(1, 1), "a refused receive changes nothing");
    }

    #[test]
    fn timestamps_print_as_time_at_node() {
        assert_eq!(ts(7, 3).to_string(), "7@n3");
    }
}
