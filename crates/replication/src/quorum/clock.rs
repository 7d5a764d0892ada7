//! A node's physical clock and the stamps its LWW puts carry.
//!
//! A sans-IO node reads no clock. Its physical time is its own tick count (plus a configured
//! offset): the simulator gives each node its own tick period (`sim::ClockSkew`), so two nodes'
//! tick counts drift apart exactly as two quartz clocks do, and a node whose ticks are longer
//! has a clock that runs behind.
//!
//! ```text
//!   physical(n) = start + ticks since (re)start        start = offset, or after a restart
//!                                                      past every stamp issued before
//!
//!   resolution lww       stamp = HLC.now(physical)     every stamp received is observed:
//!   (Kulkarni et al.)                                  HLC.update(stamp, physical), so a
//!                                                      put after a read outranks what it read
//!   lww-wall-clock       stamp = (physical, k-th stamp in this tick)
//!   (broken on purpose)                                nothing observed: a node behind
//!                                                      stamps below what it just read
//!
//!   n1 (fast, physical 40) puts a ──► [a@(40,0)@n1] ──► n2 (slow, physical 25) reads a,
//!   then puts b:  hlc: (40,1)@n2 > (40,0)@n1, b wins       wall: (25,0)@n2, b is lost
//! ```
//!
//! The drift bound: a stamp more than `hlc_max_offset_ticks` ahead of this node's physical
//! clock is refused by `Hlc::update` and does not move the clock; the version it came with is
//! still stored (refusing data would stop replicas converging). Later stamps from this node
//! may then sort below it: HLC-LWW loses a causally later write only when clocks drift past ε.
//!
//! Durability: every stamp is issued with a `ClockState` to persist before the put leaves
//! (the host's persist-then-send). A restarted node's clock resumes past the last persisted
//! physical time and the last stamp, so a stamp never repeats: two values under one stamp
//! would make the LWW join refuse them (`clocks::LwwRegister`). With an HLC it also resumes
//! past every stamp on the node's disk (node.rs `resume_after`): the HLC had taken them in,
//! and a put after a read must still outrank what it read once the node restarted. Ticks
//! between the last stamp and the crash are lost, as if the machine's clock had stopped while
//! it was down.
//!
//! Invariant: stamps strictly increase within one life (`Hlc` asserts its own; the wall-clock
//! stamps assert theirs) and across restarts (the resume rule above).

use clocks::{ClockError, Hlc, HlcTimestamp, LwwStamp};
use distributed_core::{NodeId, Tick};

/// What a node persists about its clock: enough that a restart never reissues a stamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockState {
    /// The physical time when the last stamp was issued.
    pub physical_ticks: Tick,
    /// The last stamp's time.
    pub last_stamp: HlcTimestamp,
}

/// Where stamps come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StampMode {
    /// A hybrid logical clock over the physical clock: causality kept.
    Hlc,
    /// The physical clock alone (broken on purpose).
    Wall,
}

/// One node's physical clock and its stamp source.
#[derive(Clone, Debug)]
pub struct Clock {
    /// HLC or wall-clock stamps.
    mode: StampMode,
    /// The physical time at (re)start.
    start: Tick,
    /// Ticks since (re)start.
    ticks: Tick,
    /// The HLC (used in `Hlc` mode; `Wall` mode never observes anything with it).
    hlc: Hlc,
    /// The last stamp issued: in `Wall` mode it numbers stamps within one physical tick.
    last: HlcTimestamp,
}

impl Clock {
    /// A clock starting at `offset`, or past everything `state` says was issued before.
    pub fn restore(state: ClockState, offset: Tick, max_offset: Tick, mode: StampMode) -> Clock {
        let start = if state == ClockState::default() {
            offset
        } else {
            offset
                .max(state.physical_ticks + 1)
                .max(state.last_stamp.wall + 1)
        };
        Clock {
            mode,
            start,
            ticks: 0,
            hlc: Hlc::new(max_offset),
            last: HlcTimestamp::default(),
        }
    }

    /// One tick of this node: its physical clock advances by one.
    pub fn tick(&mut self) {
        self.ticks += 1;
    }

    /// The physical time now.
    pub fn physical(&self) -> Tick {
        self.start + self.ticks
    }

    /// A stamp for a put coordinated by `node`, and the state to persist before it leaves.
    pub fn stamp(&mut self, node: NodeId) -> Result<(LwwStamp, ClockState), ClockError> {
        let physical = self.physical();
        let time = match self.mode {
            StampMode::Hlc => self.hlc.now(physical)?,
            StampMode::Wall => {
                let logical = if self.last.wall == physical {
                    self.last
                        .logical
                        .checked_add(1)
                        .ok_or(ClockError::LogicalOverflow { wall: physical })?
                } else {
                    0
                };
                let time = HlcTimestamp::new(physical, logical);
                assert!(time > self.last, "wall-clock stamps went backwards");
                time
            }
        };
        self.last = time;
        let state = ClockState {
            physical_ticks: physical,
            last_stamp: time,
        };
        Ok((LwwStamp { time, node }, state))
    }

    /// A stamp arrived with a version: an HLC takes it in (refused past the drift bound); the
    /// wall clock ignores it, which is the bug it exists to show.
    pub fn observe(&mut self, stamp: LwwStamp) -> Result<(), ClockError> {
        match self.mode {
            StampMode::Hlc => self.hlc.update(stamp.time, self.physical()).map(|_| ()),
            StampMode::Wall => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(wall: u64, logical: u32, node: u64) -> LwwStamp {
        LwwStamp {
            time: HlcTimestamp::new(wall, logical),
            node: NodeId(node),
        }
    }

    fn clock(offset: Tick, mode: StampMode) -> Clock {
        Clock::restore(ClockState::default(), offset, 50, mode)
    }

    #[test]
    fn an_hlc_put_after_reading_a_faster_clock_outranks_what_it_read() {
        // The diagram above: n1 at physical 40 wrote, n2 at 25 read it, then writes.
        let mut n2 = clock(25, StampMode::Hlc);
        n2.observe(at(40, 0, 1)).unwrap();
        let (stamp, _) = n2.stamp(NodeId(2)).unwrap();
        assert!(stamp > at(40, 0, 1), "{stamp}");
    }

    #[test]
    fn a_wall_clock_put_after_reading_a_faster_clock_sorts_below_it() {
        let mut n2 = clock(25, StampMode::Wall);
        n2.observe(at(40, 0, 1)).unwrap();
        let (stamp, _) = n2.stamp(NodeId(2)).unwrap();
        assert_eq!(stamp, at(25, 0, 2));
        assert!(stamp < at(40, 0, 1), "the later write loses");
    }

    #[test]
    fn wall_clock_stamps_in_one_tick_are_numbered_and_reset_on_the_next() {
        let mut c = clock(7, StampMode::Wall);
        assert_eq!(c.stamp(NodeId(1)).unwrap().0, at(7, 0, 1));
        assert_eq!(c.stamp(NodeId(1)).unwrap().0, at(7, 1, 1));
        c.tick();
        assert_eq!(c.stamp(NodeId(1)).unwrap().0, at(8, 0, 1));
    }

    #[test]
    fn a_stamp_past_the_drift_bound_is_refused_and_does_not_drag_the_clock() {
        let mut c = clock(10, StampMode::Hlc);
        assert!(matches!(
            c.observe(at(500, 0, 1)),
            Err(ClockError::ClockDriftExceeded { .. })
        ));
        assert_eq!(c.stamp(NodeId(2)).unwrap().0, at(10, 0, 2));
    }

    #[test]
    fn a_restarted_clock_never_reissues_a_stamp() {
        for mode in [StampMode::Hlc, StampMode::Wall] {
            let mut c = clock(0, mode);
            c.observe(at(30, 4, 3)).unwrap();
            let (before, state) = c.stamp(NodeId(1)).unwrap();
            let mut again = Clock::restore(state, 0, 50, mode);
            let (after, _) = again.stamp(NodeId(1)).unwrap();
            assert!(after > before, "{mode:?}: {after} after {before}");
        }
    }
}
