//! The sans-IO protocol contract.
//!
//! A protocol node is a state machine with three doors in and one door out:
//!
//! ```text
//!            step(from, msg) ─┐
//!            tick()          ─┼──► [ node state ] ──► Effects { writes, messages, outputs }
//!            input(request)  ─┘                              │
//!                                                            ▼
//!                                  host: 1. persist writes  2. send messages
//!                                        3. deliver outputs 4. clear and call again
//! ```
//!
//! The node never performs I/O. The host (the simulator, the tokio server, a unit test) performs
//! the effects *in the numbered order*, and that order is what makes the protocol safe:
//!
//! 1. **Persist** every `write`, in order, durably, before anything else. A vote or an appended
//!    entry that a message promises must survive a crash, or a restarted node could vote twice in
//!    one term (Raft §5.2) or forget an entry a leader already counted (Raft §5.3).
//! 2. **Send** every message. Only now may peers learn what the node promised.
//! 3. **Deliver** every output (apply committed commands, answer clients).
//! 4. **Advance**: clear the effects and feed the next event.
//! 5. **Overlap, only if the node asks** ([`Protocol::overlaps_writes`]): a node may let some
//!    messages leave *before* its writes are durable ([`Protocol::sends_before_durable`]: a
//!    Raft leader's AppendEntries, thesis §10.2.1), because it counts nothing of its own as
//!    stored until told so. The host then sends those at once and delivers every output at
//!    once, keeps each call's writes and remaining (held) messages in a FIFO per node, and once
//!    a call's writes are durable (and every earlier call's), sends its held messages and
//!    hands the node [`Protocol::durable_input`]. A crash loses the FIFO: writes never made
//!    durable, held messages never sent. A node that does not ask gets steps 1–4, unchanged.
//!
//! ```text
//!   overlapping host:  writes ──► FIFO ──fsync──► disk ─► send held ─► input(durable_input)
//!                      sends_before_durable msgs ─► network now;   outputs ─► deliver now
//! ```
//!
//! Beside the three duties, `Effects` carries **notes**: one line for each event the node
//! chose to do nothing with (a stale answer, a message for another role), saying why. A host
//! that traces asks for them with [`Effects::with_notes`]; otherwise [`Effects::note`] is one
//! branch and formats nothing, so the hot path pays nothing for a trace it does not print.
//!
//! The road not taken: returning a fresh `Vec` from each call. Passing `&mut Effects` lets a host
//! reuse one buffer for millions of simulated events without allocating.

use std::fmt::{self, Debug, Display};

use crate::NodeId;

/// A deterministic, sans-IO protocol node.
///
/// Implementations must be pure functions of their inputs and their injected RNG: no clocks, no
/// threads, no I/O, no iteration over std `HashMap` order. The simulator relies on that to replay
/// any run from its seed.
pub trait Protocol {
    /// A message between nodes. `Display` is one compact line (see the crate docs).
    type Message: Clone + Debug + Display;
    /// A request from a client or the host (propose a command, read, join, …).
    type Input: Clone + Debug + Display;
    /// What the node tells its host (a committed command, a read result, a rejection, …).
    type Output: Clone + Debug + Display;
    /// One durable write the host must complete before sending (a new term, a vote, entries).
    type Write: Clone + Debug;
    /// The node's durable state as a host stores it: exactly what survives a crash.
    /// Protocols with nothing to persist use `()`.
    type Disk: Clone + Debug + Default;

    /// This node's identity.
    fn id(&self) -> NodeId;

    /// Handle one message from a peer.
    fn step(&mut self, from: NodeId, msg: Self::Message, out: &mut Effects<Self>);

    /// Advance the node's logical clock by one tick (timeouts, heartbeats, retries).
    fn tick(&mut self, out: &mut Effects<Self>);

    /// Handle one request from a client or the host.
    fn input(&mut self, input: Self::Input, out: &mut Effects<Self>);

    /// Step 5 of the contract: does this node let some messages leave before its writes are
    /// durable? If so, the host must keep each call's writes and held messages in a FIFO and
    /// report completions with [`durable_input`](Protocol::durable_input). Asked on every
    /// call, so a node may answer from its configuration. The default, `false`, is steps 1–4.
    fn overlaps_writes(&self) -> bool {
        false
    }

    /// With [`overlaps_writes`](Protocol::overlaps_writes): may `msg` leave before the writes
    /// of the call that produced it (and of every earlier call) are durable? Only a message
    /// that promises nothing about this node's disk may (a leader's AppendEntries: the leader
    /// counts its own copy only once told it is durable). Every other message is held.
    fn sends_before_durable(&self, msg: &Self::Message) -> bool {
        let _ = msg;
        false
    }

    /// With [`overlaps_writes`](Protocol::overlaps_writes): what to tell the node once the
    /// `writes` of one call (one host batch) are durable, with every write before them; `None`
    /// for nothing. The host feeds it through [`input`](Protocol::input).
    fn durable_input(&self, writes: &[Self::Write]) -> Option<Self::Input> {
        let _ = writes;
        None
    }

    /// Apply one write to a disk image. This is the meaning of "persist" that the simulator
    /// uses, and the reference the real storage layer must agree with: after a crash, a node
    /// is rebuilt from the `Disk` that these writes produced, and from nothing else.
    fn persist(disk: &mut Self::Disk, write: &Self::Write);
}

/// A message with its route, as the host sends it and as the trace prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<M> {
    /// The sender; the receiver's `step` gets it as `from`.
    pub from: NodeId,
    /// The receiver. The node chooses it; the host only routes.
    pub to: NodeId,
    /// The payload.
    pub msg: M,
}

impl<M: Display> Display for Envelope<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}→{} {}", self.from, self.to, self.msg)
    }
}

/// Everything a node asks its host to do, in the order the host must do it.
///
/// See the module docs for the numbered contract. The fields are in that order on purpose.
pub struct Effects<P: Protocol + ?Sized> {
    /// 1. Durable writes, in order. Must be on stable storage before any message is sent
    ///    (except those a node that overlaps writes lets go early, contract step 5).
    pub writes: Vec<P::Write>,
    /// 2. Messages to send once the writes are durable. Delivery may fail or reorder; the
    ///    protocol copes with that, the host need not retry.
    pub messages: Vec<Envelope<P::Message>>,
    /// 3. Outputs for the host: committed commands to apply, answers for clients.
    pub outputs: Vec<P::Output>,
    /// Why the node ignored an event, one line each; kept only when the host asked for notes.
    /// Not a duty: a host may drop them, and `is_empty` does not count them.
    pub notes: Notes,
}

/// The opt-in notes channel of [`Effects`]: lines saying why a node did nothing with an event
/// (`ignored AppendEntriesResponse{..} from n3: not leader`). Off unless the host turns it on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes {
    /// Whether `push` keeps lines. Off by default: formatting costs time the simulator's seed
    /// runs do not have, and only traces and golden tests read notes.
    on: bool,
    /// The lines since the last `clear`, in the order the node wrote them.
    lines: Vec<String>,
}

impl Notes {
    /// Notes that keep what is pushed.
    pub fn enabled() -> Self {
        Notes {
            on: true,
            lines: Vec::new(),
        }
    }

    /// True when lines are kept.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Keep or stop keeping lines from now on.
    pub fn set_on(&mut self, on: bool) {
        self.on = on;
    }

    /// Keep `why` as one line, if notes are on. Takes `format_args!` so that nothing is
    /// formatted when they are off.
    pub fn push(&mut self, why: fmt::Arguments<'_>) {
        if self.on {
            self.lines.push(why.to_string());
        }
    }

    /// The lines kept so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Take the lines kept so far, leaving none (and notes still on or off as they were).
    pub fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    /// Move every line of `other` to the end of these (a wrapper passing on its inner
    /// protocol's notes), whatever `self.on` says: `other` only kept them if asked to.
    pub fn append(&mut self, other: &mut Notes) {
        self.lines.append(&mut other.lines);
    }

    /// Forget the lines, keeping the switch.
    pub fn clear(&mut self) {
        self.lines.clear();
    }
}

impl<P: Protocol + ?Sized> Effects<P> {
    /// An empty set of effects, with notes off.
    pub fn new() -> Self {
        Effects {
            writes: Vec::new(),
            messages: Vec::new(),
            outputs: Vec::new(),
            notes: Notes::default(),
        }
    }

    /// An empty set of effects that keeps notes: what a tracing host or a golden test uses.
    pub fn with_notes() -> Self {
        Effects {
            notes: Notes::enabled(),
            ..Effects::new()
        }
    }

    /// Say why this event was ignored (kept only when notes are on):
    /// `out.note(format_args!("ignored {msg} from {from}: stale term"))`.
    pub fn note(&mut self, why: fmt::Arguments<'_>) {
        self.notes.push(why);
    }

    /// True when the host has nothing to do.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.messages.is_empty() && self.outputs.is_empty()
    }

    /// Step 4 of the contract: forget everything, keeping the buffers' capacity and whether
    /// notes are on.
    pub fn clear(&mut self) {
        self.writes.clear();
        self.messages.clear();
        self.outputs.clear();
        self.notes.clear();
    }

    /// Queue a message from `from` to `to`.
    pub fn send(&mut self, from: NodeId, to: NodeId, msg: P::Message) {
        self.messages.push(Envelope { from, to, msg });
    }
}

impl<P: Protocol + ?Sized> Default for Effects<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Protocol + ?Sized> Debug for Effects<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Effects")
            .field("writes", &self.writes)
            .field("messages", &self.messages)
            .field("outputs", &self.outputs)
            .field("notes", &self.notes.lines())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest protocol there is: every node counts the pings it received and answers each
    /// with a pong; the count is durable. It exists to show the contract, and to test `Effects`.
    struct Pinger {
        id: NodeId,
        pings_seen: u64,
    }

    #[derive(Clone, Debug)]
    enum Msg {
        Ping,
        Pong,
    }

    impl Display for Msg {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Msg::Ping => write!(f, "Ping{{}}"),
                Msg::Pong => write!(f, "Pong{{}}"),
            }
        }
    }

    impl Protocol for Pinger {
        type Message = Msg;
        type Input = Msg;
        type Output = Msg;
        type Write = u64;
        type Disk = u64;

        fn id(&self) -> NodeId {
            self.id
        }
        fn step(&mut self, from: NodeId, msg: Msg, out: &mut Effects<Self>) {
            if let Msg::Ping = msg {
                self.pings_seen += 1;
                out.writes.push(self.pings_seen);
                out.send(self.id, from, Msg::Pong);
            } else {
                out.outputs.push(msg);
            }
        }
        fn tick(&mut self, _out: &mut Effects<Self>) {}
        fn input(&mut self, _input: Msg, _out: &mut Effects<Self>) {}
        fn persist(disk: &mut u64, write: &u64) {
            *disk = *write;
        }
    }

    #[test]
    fn a_step_queues_its_durable_write_before_its_reply() {
        let mut node = Pinger {
            id: NodeId(1),
            pings_seen: 0,
        };
        let mut out = Effects::new();
        node.step(NodeId(2), Msg::Ping, &mut out);
        assert_eq!(out.writes, vec![1]);
        assert_eq!(out.messages.len(), 1);
        assert_eq!(out.messages[0].to_string(), "n1→n2 Pong{}");
        let mut disk = 0;
        for w in &out.writes {
            Pinger::persist(&mut disk, w);
        }
        assert_eq!(disk, 1);
        out.clear();
        assert!(out.is_empty());
    }

    #[test]
    fn a_node_that_does_not_ask_to_overlap_gets_persist_then_send() {
        // Step 5 is opt-in: the defaults hold every message until the writes are durable and
        // have nothing to tell the node afterwards, which is steps 1–4 exactly.
        let node = Pinger {
            id: NodeId(1),
            pings_seen: 0,
        };
        assert!(!node.overlaps_writes());
        assert!(!node.sends_before_durable(&Msg::Pong));
        assert!(node.durable_input(&[1, 2]).is_none());
    }

    #[test]
    fn notes_are_kept_only_when_the_host_asks_for_them() {
        let mut quiet: Effects<Pinger> = Effects::new();
        quiet.note(format_args!("ignored Pong{{}} from {}", NodeId(2)));
        assert!(quiet.notes.lines().is_empty());
        let mut traced: Effects<Pinger> = Effects::with_notes();
        traced.note(format_args!("ignored Pong{{}} from {}", NodeId(2)));
        assert_eq!(traced.notes.lines(), ["ignored Pong{} from n2"]);
        assert!(traced.is_empty(), "a note is not a duty");
        traced.clear();
        assert!(traced.notes.lines().is_empty() && traced.notes.is_on());
    }
}
