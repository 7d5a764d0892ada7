//! What happened, as values: the trace records and the ring of recent events.
//!
//! Every event the simulator handles can be described by one [`Record`]. Records are kept as
//! structured values and turned into text only when someone reads them: the trace (when it is
//! on) formats each one as it happens, and a violation report formats the ring of the last few.
//!
//! ```text
//!   event ──► Record ──┬──► ring (last N values, overwritten in place)  ──► report on violation
//!                      └──► trace String (only if TraceLevel asks)      ──► Report::trace
//! ```
//!
//! One line per record, in the notation the core crate fixes:
//!
//! ```text
//!   t=1200 n2→n3 AppendEntries{term=3 prev=(2,14) n=3 commit=14}
//!   t=1230 n1→n2 drop RequestVote{..} (lost)          reason: lost | partition | down | overflow
//!   t=1240 n1→n4 dup AppendEntries{..}
//!   t=1300 n3 crash          t=1900 n3 restart        t=1310 n4 tick
//!   t=1320 n1 durable writes=2 held=1 then LogDurable{index=7 term=3}   (overlapping nodes)
//!   t=1330 n1 crash (lost unsynced writes=1 held=2)                     (overlapping nodes)
//!   t=2000 partition {n1,n2} | {n3,n4,n5}             t=2600 heal
//!   t=9000 calm: no more faults (healed=true restarted=1)   (Simulation::schedule_calm)
//!   t=2100 n2 input Propose{bytes=8}                  t=2100 n2 output Accepted{..}
//!   t=2150 n3 note: ignored AppendEntriesResponse{..} from n1: not leader   (tracing only)
//! ```
//!
//! The road not taken: formatting every event into a `String` as it happens. At a million
//! events a second that formatting would cost more than the protocol itself.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};

use distributed_core::{NodeId, Protocol};

use crate::config::{Time, TraceLevel};
use crate::partition::Partition;

/// Why a message never reached its receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The network lost it (loss odds).
    Lost,
    /// A partition separated sender and receiver when it arrived.
    Partition,
    /// The receiver was crashed when it arrived.
    Down,
    /// Too many messages were in flight (`in_flight_max`), or the receiver does not exist.
    Overflow,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Lost => "lost",
            DropReason::Partition => "partition",
            DropReason::Down => "down",
            DropReason::Overflow => "overflow",
        })
    }
}

/// One traced event, as a value.
pub enum Record<P: Protocol> {
    /// A message reached its receiver, which stepped on it.
    Deliver {
        at: Time,
        from: NodeId,
        to: NodeId,
        msg: P::Message,
    },
    /// A message was lost, at send time (`Lost`, `Overflow`) or delivery time (the rest).
    Drop {
        at: Time,
        from: NodeId,
        to: NodeId,
        msg: P::Message,
        why: DropReason,
    },
    /// The network will deliver a second copy of this message.
    Duplicate {
        at: Time,
        from: NodeId,
        to: NodeId,
        msg: P::Message,
    },
    /// A node's logical clock advanced by one tick.
    Tick { at: Time, node: NodeId },
    /// A node crashed, losing everything but its disk: with it, writes whose fsync had not
    /// completed and the messages held for them (only for nodes that overlap writes).
    Crash {
        at: Time,
        node: NodeId,
        lost_writes: usize,
        lost_held: usize,
    },
    /// A node's fsync completed (nodes that overlap writes only): `writes` reached its disk,
    /// the `held` messages waiting for them were sent, and the node is told `input`, if any.
    Durable {
        at: Time,
        node: NodeId,
        writes: usize,
        held: usize,
        input: Option<P::Input>,
    },
    /// A node was rebuilt from its disk.
    Restart { at: Time, node: NodeId },
    /// The network split.
    Partition { at: Time, partition: Partition },
    /// The network healed.
    Heal { at: Time },
    /// The calm began: no fault is injected from here on; the standing partition (if any)
    /// was healed and the crashed nodes restarted (each also has its own `Restart` record).
    Calm {
        at: Time,
        healed: bool,
        restarted: usize,
    },
    /// A client request reached a node (or was dropped because the node was down).
    Input {
        at: Time,
        node: NodeId,
        input: P::Input,
        delivered: bool,
    },
    /// A node produced an output for its host.
    Output {
        at: Time,
        node: NodeId,
        output: P::Output,
    },
    /// A node said why it ignored the event it just handled (its `Effects::notes`; kept only
    /// while tracing).
    Note {
        at: Time,
        node: NodeId,
        text: String,
    },
}

impl<P: Protocol> fmt::Display for Record<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Deliver { at, from, to, msg } => write!(f, "t={at} {from}→{to} {msg}"),
            Record::Drop {
                at,
                from,
                to,
                msg,
                why,
            } => {
                write!(f, "t={at} {from}→{to} drop {msg} ({why})")
            }
            Record::Duplicate { at, from, to, msg } => write!(f, "t={at} {from}→{to} dup {msg}"),
            Record::Tick { at, node } => write!(f, "t={at} {node} tick"),
            Record::Crash {
                at,
                node,
                lost_writes,
                lost_held,
            } => {
                write!(f, "t={at} {node} crash")?;
                if lost_writes + lost_held > 0 {
                    write!(f, " (lost unsynced writes={lost_writes} held={lost_held})")?;
                }
                Ok(())
            }
            Record::Durable {
                at,
                node,
                writes,
                held,
                input,
            } => {
                write!(f, "t={at} {node} durable writes={writes} held={held}")?;
                match input {
                    Some(input) => write!(f, " then {input}"),
                    None => Ok(()),
                }
            }
            Record::Restart { at, node } => write!(f, "t={at} {node} restart"),
            Record::Partition { at, partition } => write!(f, "t={at} partition {partition}"),
            Record::Heal { at } => write!(f, "t={at} heal"),
            Record::Calm {
                at,
                healed,
                restarted,
            } => write!(
                f,
                "t={at} calm: no more faults (healed={healed} restarted={restarted})"
            ),
            Record::Input {
                at,
                node,
                input,
                delivered: true,
            } => {
                write!(f, "t={at} {node} input {input}")
            }
            Record::Input {
                at,
                node,
                input,
                delivered: false,
            } => {
                write!(f, "t={at} {node} input {input} (down)")
            }
            Record::Output { at, node, output } => write!(f, "t={at} {node} output {output}"),
            Record::Note { at, node, text } => write!(f, "t={at} {node} note: {text}"),
        }
    }
}

/// Keeps the ring of recent records and, when asked, the full trace.
pub(crate) struct Recorder<P: Protocol> {
    /// The last `capacity` records. A `VecDeque` allocated once: pushing onto a full ring pops
    /// the oldest first, so the steady state allocates nothing for the ring itself.
    ring: VecDeque<Record<P>>,
    /// Ring size; 0 turns the ring off.
    capacity: usize,
    /// What goes into `trace`.
    level: TraceLevel,
    /// The trace text, one line per record. One growing `String` rather than a `Vec<String>`:
    /// one allocation per doubling instead of one per line.
    trace: String,
}

impl<P: Protocol> Recorder<P> {
    pub(crate) fn new(capacity: usize, level: TraceLevel) -> Self {
        Recorder {
            ring: VecDeque::with_capacity(capacity),
            capacity,
            level,
            trace: String::new(),
        }
    }

    /// Does anybody want records at all? When false, callers skip cloning payloads.
    #[inline]
    pub(crate) fn active(&self) -> bool {
        self.capacity > 0 || self.level != TraceLevel::Off
    }

    /// Does anybody want tick records? Ticks are most events, so they are opt-in.
    #[inline]
    pub(crate) fn wants_ticks(&self) -> bool {
        self.level == TraceLevel::Ticks
    }

    pub(crate) fn push(&mut self, record: Record<P>) {
        if self.level != TraceLevel::Off {
            // Writing into a String cannot fail.
            let _ = writeln!(self.trace, "{record}");
        }
        if self.capacity == 0 {
            return;
        }
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
        }
        self.ring.push_back(record);
    }

    /// The ring, oldest first, formatted: what a violation report shows.
    pub(crate) fn recent_lines(&self) -> Vec<String> {
        self.ring.iter().map(|r| r.to_string()).collect()
    }

    /// The trace so far, if tracing is on.
    pub(crate) fn take_trace(&mut self) -> Option<String> {
        (self.level != TraceLevel::Off).then(|| std::mem::take(&mut self.trace))
    }
}
