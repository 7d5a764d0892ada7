//! Hybrid logical clocks: Lamport's guarantee, with timestamps that stay close to real time.
//!
//! Kulkarni, Demirbas, Madappa, Avva & Leone, "Logical Physical Clocks" (OPODIS 2014). A
//! timestamp is `(l, c)`: `l` the largest physical time this node has heard of (its own or a
//! peer's), `c` a logical counter that orders events sharing one `l`. Figure 5's algorithm,
//! with `pt` the host's physical time passed in as an argument (ticks or milliseconds: this
//! crate never reads a clock):
//!
//! ```text
//!   send or local event:                 receive of (l_m, c_m):
//!     l' := l                              l' := l
//!     l  := max(l', pt)                    l  := max(l', l_m, pt)
//!     c  := l = l' ? c + 1 : 0             c  := l = l' = l_m ? max(c, c_m) + 1
//!                                                : l = l'     ? c + 1
//!                                                : l = l_m    ? c_m + 1
//!                                                :              0
//!   n1 (pt 10)  now ──► (10,0) ── send ──┐
//!   n2 (pt 7)   now ──► (7,0)            └─► update at pt 8 ──► (10,1)   l follows the sender
//!   n2 (pt 11)  now ──► (11,0)                                            c resets once pt passes l
//! ```
//!
//! What it tells you: `e → f` implies `hlc(e) < hlc(f)` (as Lamport clocks), and `l` is within
//! the clock-synchronisation error ε of physical time (§3 proves `l ≥ pt` and `l − pt ≤ ε`), so an HLC
//! timestamp is also a usable wall-clock time: CockroachDB and YugabyteDB version their MVCC
//! data with it. What it cannot tell you: concurrency (two unrelated events are ordered
//! anyway), and real-time order between events closer than ε on different nodes.
//!
//! **The drift bound.** That proof assumes clocks within ε. A peer whose clock runs an hour fast
//! would, through `l := max(l', l_m, pt)`, drag every node's `l` an hour ahead, and nothing
//! would pull it back. So [`Hlc::update`] refuses a timestamp whose `l_m` is more than
//! `max_offset` ahead of local `pt`, with an error saying by how much (CockroachDB does the
//! same, and a node that finds itself too far off shuts down). With that refusal,
//! `pt ≤ l ≤ pt_max + max_offset` holds for every timestamp this clock issues, where `pt_max`
//! is the largest physical time it has been given (the property tests check it).
//!
//! Invariants: every issued timestamp is strictly greater than the previous one (asserted) and
//! than the received one it answers (asserted); a refused update changes nothing. `c` is 32
//! bits (the paper packs it into 16, CockroachDB uses 32): with the drift bound it stays small, and a
//! hostile `c_m = u32::MAX` is an error, not a wrap.

use std::fmt;

use crate::error::ClockError;

/// One HLC timestamp. Ordered by `wall`, then `logical` (the derived `Ord` follows field order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HlcTimestamp {
    /// `l`: the largest physical time heard of, in the host's unit.
    pub wall: u64,
    /// `c`: orders events that share one `wall`.
    pub logical: u32,
}

impl HlcTimestamp {
    /// The timestamp `(wall, logical)`.
    pub fn new(wall: u64, logical: u32) -> Self {
        HlcTimestamp { wall, logical }
    }
}

impl fmt::Display for HlcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.wall, self.logical)
    }
}

/// One node's hybrid logical clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hlc {
    /// The last timestamp issued (`(0,0)` before the first): `l` and `c` of Figure 5.
    last: HlcTimestamp,
    /// How far ahead of local physical time a received `l_m` may be: the deployment's ε.
    max_offset: u64,
}

impl Hlc {
    /// A clock that refuses timestamps more than `max_offset` ahead of local physical time.
    pub fn new(max_offset: u64) -> Self {
        Hlc {
            last: HlcTimestamp::default(),
            max_offset,
        }
    }

    /// The last timestamp issued.
    pub fn last(&self) -> HlcTimestamp {
        self.last
    }

    /// The drift bound this clock enforces.
    pub fn max_offset(&self) -> u64 {
        self.max_offset
    }

    /// A local event or a send at physical time `physical` (Figure 5, left).
    pub fn now(&mut self, physical: u64) -> Result<HlcTimestamp, ClockError> {
        let wall = self.last.wall.max(physical);
        let logical = if wall == self.last.wall {
            next_logical(wall, self.last.logical)?
        } else {
            0
        };
        Ok(self.issue(HlcTimestamp { wall, logical }))
    }

    /// A receive of `received` at physical time `physical` (Figure 5, right). Refused, with
    /// nothing changed, if `received.wall` is more than `max_offset` ahead of `physical`.
    pub fn update(
        &mut self,
        received: HlcTimestamp,
        physical: u64,
    ) -> Result<HlcTimestamp, ClockError> {
        let ahead_by = received.wall.saturating_sub(physical);
        if ahead_by > self.max_offset {
            return Err(ClockError::ClockDriftExceeded {
                received_wall: received.wall,
                physical,
                ahead_by,
                max_offset: self.max_offset,
            });
        }
        let mine = self.last;
        let wall = mine.wall.max(received.wall).max(physical);
        let logical = match (wall == mine.wall, wall == received.wall) {
            (true, true) => next_logical(wall, mine.logical.max(received.logical))?,
            (true, false) => next_logical(wall, mine.logical)?,
            (false, true) => next_logical(wall, received.logical)?,
            (false, false) => 0,
        };
        let ts = self.issue(HlcTimestamp { wall, logical });
        assert!(ts > received, "HLC {ts} not after the received {received}");
        Ok(ts)
    }

    fn issue(&mut self, ts: HlcTimestamp) -> HlcTimestamp {
        assert!(
            ts > self.last,
            "HLC went backwards: {} then {ts}",
            self.last
        );
        self.last = ts;
        ts
    }
}

fn next_logical(wall: u64, logical: u32) -> Result<u32, ClockError> {
    logical
        .checked_add(1)
        .ok_or(ClockError::LogicalOverflow { wall })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(wall: u64, logical: u32) -> HlcTimestamp {
        HlcTimestamp::new(wall, logical)
    }

    #[test]
    fn a_clock_follows_physical_time_while_it_advances() {
        // Kulkarni et al. 2014 Fig. 5, send/local event: l := max(l, pt), c := 0 when l moved.
        let mut c = Hlc::new(100);
        assert_eq!(c.now(10).unwrap(), ts(10, 0));
        assert_eq!(c.now(12).unwrap(), ts(12, 0));
    }

    #[test]
    fn events_within_one_physical_tick_are_ordered_by_the_logical_counter() {
        let mut c = Hlc::new(100);
        c.now(10).unwrap();
        assert_eq!(c.now(10).unwrap(), ts(10, 1));
        assert_eq!(
            c.now(9).unwrap(),
            ts(10, 2),
            "physical time going back moves nothing"
        );
    }

    #[test]
    fn a_receive_from_a_node_slightly_ahead_adopts_its_wall_time() {
        // Fig. 5, receive: l = l_m > l', pt, so c := c_m + 1.
        let mut c = Hlc::new(100);
        c.now(7).unwrap();
        assert_eq!(c.update(ts(10, 4), 8).unwrap(), ts(10, 5));
        assert_eq!(
            c.now(11).unwrap(),
            ts(11, 0),
            "and lets go once pt passes it"
        );
    }

    #[test]
    fn a_receive_at_the_same_wall_time_takes_the_larger_counter() {
        // Fig. 5, receive: l = l' = l_m, so c := max(c, c_m) + 1.
        let mut c = Hlc::new(100);
        c.update(ts(10, 2), 10).unwrap();
        assert_eq!(c.last(), ts(10, 3));
        assert_eq!(c.update(ts(10, 1), 10).unwrap(), ts(10, 4));
        assert_eq!(c.update(ts(10, 7), 10).unwrap(), ts(10, 8));
    }

    #[test]
    fn a_receive_from_a_slower_node_only_ticks_the_counter_or_follows_pt() {
        let mut c = Hlc::new(100);
        c.now(20).unwrap();
        assert_eq!(c.update(ts(5, 9), 20).unwrap(), ts(20, 1));
        assert_eq!(c.update(ts(5, 9), 30).unwrap(), ts(30, 0));
    }

    #[test]
    fn a_timestamp_beyond_the_drift_bound_is_refused_with_the_distance() {
        let mut c = Hlc::new(250);
        c.now(1000).unwrap();
        let err = c.update(ts(1500, 0), 1000).unwrap_err();
        assert_eq!(
            err,
            ClockError::ClockDriftExceeded {
                received_wall: 1500,
                physical: 1000,
                ahead_by: 500,
                max_offset: 250
            }
        );
        assert_eq!(c.last(), ts(1000, 0), "a refused update changes nothing");
        assert_eq!(
            c.update(ts(1250, 0), 1000).unwrap(),
            ts(1250, 1),
            "the bound itself is fine"
        );
    }

    #[test]
    fn a_hostile_logical_counter_is_an_error_not_a_wrap() {
        let mut c = Hlc::new(10);
        let err = c.update(ts(5, u32::MAX), 5).unwrap_err();
        assert_eq!(err, ClockError::LogicalOverflow { wall: 5 });
        assert_eq!(c.last(), ts(0, 0));
    }

    #[test]
    fn timestamps_print_as_wall_comma_logical() {
        assert_eq!(ts(1200, 3).to_string(), "1200,3");
    }
}
