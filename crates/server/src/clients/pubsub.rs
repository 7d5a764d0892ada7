//! Pub/Sub on one node: who listens to what (the [`Hub`]), what each connection has subscribed
//! (its [`Subscriptions`]), and the bounded mailbox through which messages reach a connection.
//!
//! ```text
//!   PUBLISH ch msg on any node ──► the log ──► every node applies it (kv exec/pubsub.rs)
//!        replica Output::Published{index, ch, msg} ──► node task: hub.publish(ch, msg)
//!              ├─ channels[ch]                 ──► mailbox ──► writer: >3 message ch msg
//!              └─ patterns p with glob(p, ch)  ──► mailbox ──► writer: >4 pmessage p ch msg
//!        the publisher's connection ──► its reply: hub.receivers(ch) on the node it talks to
//!
//!   SUBSCRIBE a b ──► reader: subscriptions += {a, b}, replies computed ──► Slot::PubSub
//!        ──► writer, in reply order: hub.subscribe(this mailbox) then writes the replies,
//!            so no message of `a` can be written before the reply that confirms `a`
//! ```
//!
//! Why through the log (the design, kv `exec/pubsub.rs`): every node delivers every message in
//! log order, to its own subscribers, whichever node it was published on. A PUBLISH answers the
//! number of receivers on the node that answers (Redis Cluster's semantics: local receivers).
//!
//! Bounds: a connection holds at most [`SUBSCRIPTIONS_MAX`] channels and patterns, each at most
//! [`NAME_BYTES_MAX`] bytes (a longer one is refused, not truncated). A mailbox holds at most
//! [`MAILBOX_MESSAGES_MAX`] messages and [`MAILBOX_BYTES_MAX`] bytes not yet written to the
//! socket: a subscriber that reads slower than messages arrive is disconnected when either is
//! reached (Redis' `client-output-buffer-limit pubsub 32mb`), rather than growing memory. The
//! mailbox is an unbounded channel whose bound is these counters, so the node task never waits
//! on a slow client: it counts, and past the bound sends the one `Kicked` that closes it.
//!
//! Invariants: `channels` and `patterns` hold only connections that have a mailbox; a
//! connection's mailbox counters equal what sits in its channel; every message a connection
//! receives matches one of its subscriptions at the moment it was published.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::clients::glob::glob_match;
use crate::clients::resp::Frame;

/// Most channels plus patterns one connection may subscribe to.
pub const SUBSCRIPTIONS_MAX: usize = 10_000;
/// Longest channel name or pattern accepted by SUBSCRIBE and PSUBSCRIBE.
pub const NAME_BYTES_MAX: usize = 4 << 10;
/// Most messages waiting in one connection's mailbox.
pub const MAILBOX_MESSAGES_MAX: usize = 64 << 10;
/// Most message bytes waiting in one connection's mailbox: Redis' pubsub hard limit (32 MB).
pub const MAILBOX_BYTES_MAX: usize = 32 << 20;

/// What the hub puts in a mailbox.
#[derive(Debug)]
pub enum Push {
    /// A `message` or `pmessage`, and the bytes it counts for.
    Message(Frame, usize),
    /// The mailbox overflowed: the connection is closed (the hub has forgotten it).
    Kicked,
}

/// How much waits in one mailbox, shared by the hub (which adds) and the writer (which takes).
#[derive(Debug, Default)]
pub struct Backlog {
    /// Messages waiting.
    messages: AtomicUsize,
    /// Their bytes.
    bytes: AtomicUsize,
}

impl Backlog {
    /// The writer took a message of `bytes` out of the mailbox.
    pub fn taken(&self, bytes: usize) {
        self.messages.fetch_sub(1, Ordering::Relaxed);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// One connection's mailbox: the sending half and its backlog.
#[derive(Clone, Debug)]
pub struct Mailbox {
    /// Where messages go; the connection's writer holds the receiving half.
    tx: mpsc::UnboundedSender<Push>,
    /// What waits in it.
    backlog: Arc<Backlog>,
}

impl Mailbox {
    /// A mailbox and its receiving half.
    pub fn new() -> (Mailbox, Arc<Backlog>, mpsc::UnboundedReceiver<Push>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        let mailbox = Mailbox {
            tx,
            backlog: Arc::clone(&backlog),
        };
        (mailbox, backlog, rx)
    }

    /// Put `frame` in, or false if that would cross a bound (the caller kicks the connection).
    fn deliver(&self, frame: Frame, bytes: usize) -> bool {
        let messages = self.backlog.messages.fetch_add(1, Ordering::Relaxed) + 1;
        let queued = self.backlog.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if messages > MAILBOX_MESSAGES_MAX || queued > MAILBOX_BYTES_MAX {
            self.backlog.taken(bytes);
            let _ = self.tx.send(Push::Kicked);
            return false;
        }
        // Err only if the connection is gone; it unsubscribes everything as it goes.
        let _ = self.tx.send(Push::Message(frame, bytes));
        true
    }
}

/// A change a connection's writer makes to the hub, in reply order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Patterns (PSUBSCRIBE) rather than channels.
    pub pattern: bool,
    /// True to subscribe, false to unsubscribe.
    pub subscribe: bool,
    /// The channels or patterns.
    pub names: Vec<Bytes>,
}

/// Every subscription on this node, shared by the node task (publish) and the connections.
#[derive(Debug, Default)]
pub struct Hub {
    /// The index, under one lock: each operation is short and touches no socket.
    state: Mutex<HubState>,
    /// This node's `notify-keyspace-events` (kv `notify.rs`): CONFIG SET writes it, the node
    /// task hands it to the replica before the next event it handles.
    keyspace_events: Mutex<kv::KeyspaceEvents>,
}

#[derive(Debug, Default)]
struct HubState {
    /// Channel → the connections subscribed to it.
    channels: BTreeMap<Bytes, BTreeSet<u64>>,
    /// Pattern → the connections subscribed to it.
    patterns: BTreeMap<Bytes, BTreeSet<u64>>,
    /// Connection → its mailbox, while it has a subscription.
    mailboxes: BTreeMap<u64, Mailbox>,
}

impl HubState {
    fn index(&mut self, pattern: bool) -> &mut BTreeMap<Bytes, BTreeSet<u64>> {
        if pattern {
            &mut self.patterns
        } else {
            &mut self.channels
        }
    }

    /// Forget `conn` everywhere.
    fn forget(&mut self, conn: u64) {
        self.mailboxes.remove(&conn);
        for index in [&mut self.channels, &mut self.patterns] {
            index.retain(|_, conns| {
                conns.remove(&conn);
                !conns.is_empty()
            });
        }
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().expect("no hub lock holder panics")
    }

    /// The keyspace notifications this node publishes.
    pub fn keyspace_events(&self) -> kv::KeyspaceEvents {
        *self
            .keyspace_events
            .lock()
            .expect("no hub lock holder panics")
    }

    /// Publish these keyspace notifications from now on (CONFIG SET notify-keyspace-events).
    pub fn set_keyspace_events(&self, events: kv::KeyspaceEvents) {
        *self
            .keyspace_events
            .lock()
            .expect("no hub lock holder panics") = events;
    }

    /// Apply a connection's (un)subscription; `mailbox` is where its messages go.
    pub fn apply(&self, conn: u64, mailbox: &Mailbox, change: &Change) {
        let mut state = self.lock();
        for name in &change.names {
            let index = state.index(change.pattern);
            if change.subscribe {
                index.entry(name.clone()).or_default().insert(conn);
            } else if let Some(conns) = index.get_mut(name) {
                conns.remove(&conn);
                if conns.is_empty() {
                    index.remove(name);
                }
            }
        }
        let listening =
            |ix: &BTreeMap<Bytes, BTreeSet<u64>>| ix.values().any(|c| c.contains(&conn));
        if listening(&state.channels) || listening(&state.patterns) {
            state.mailboxes.insert(conn, mailbox.clone());
        } else {
            state.mailboxes.remove(&conn);
        }
    }

    /// The connection closed: forget its subscriptions.
    pub fn remove(&self, conn: u64) {
        self.lock().forget(conn);
    }

    /// Deliver a message published on `channel` to every matching subscription of this node;
    /// how many received it. A subscriber whose mailbox is full is disconnected instead.
    pub fn publish(&self, channel: &Bytes, message: &Bytes) -> usize {
        let mut state = self.lock();
        let mut sends: Vec<(u64, Frame)> = Vec::new();
        if let Some(conns) = state.channels.get(channel) {
            let frame = message_frame(None, channel, message);
            sends.extend(conns.iter().map(|&c| (c, frame.clone())));
        }
        for (pattern, conns) in &state.patterns {
            if glob_match(pattern, channel, false) {
                let frame = message_frame(Some(pattern), channel, message);
                sends.extend(conns.iter().map(|&c| (c, frame.clone())));
            }
        }
        let bytes = channel.len() + message.len();
        let mut received = 0;
        for (conn, frame) in sends {
            let Some(mailbox) = state.mailboxes.get(&conn) else {
                continue; // kicked by an earlier send of this same message
            };
            if mailbox.deliver(frame, bytes) {
                received += 1;
            } else {
                state.forget(conn); // its writer reads `Kicked` and closes the connection
            }
        }
        received
    }

    /// How many subscriptions on this node match `channel`: a connection subscribed to the
    /// channel and to two matching patterns counts three times, as in Redis.
    pub fn receivers(&self, channel: &[u8]) -> usize {
        let state = self.lock();
        let direct = state.channels.get(channel).map_or(0, BTreeSet::len);
        let by_pattern: usize = state
            .patterns
            .iter()
            .filter(|(p, _)| glob_match(p, channel, false))
            .map(|(_, conns)| conns.len())
            .sum();
        direct + by_pattern
    }

    /// `PUBSUB CHANNELS [pattern]`, `NUMSUB channel…`, `NUMPAT`: this node's view.
    pub fn introspect(&self, args: &[Bytes]) -> Frame {
        let state = self.lock();
        let sub = args.first().map(|s| s.to_ascii_lowercase());
        match (sub.as_deref(), &args[1..]) {
            (Some(b"channels"), [] | [_]) => Frame::Array(
                state
                    .channels
                    .keys()
                    .filter(|c| args.get(1).is_none_or(|p| glob_match(p, c, false)))
                    .map(|c| Frame::Bulk(c.clone()))
                    .collect(),
            ),
            (Some(b"numsub"), names) => Frame::Array(
                names
                    .iter()
                    .flat_map(|n| {
                        let count = state.channels.get(n).map_or(0, BTreeSet::len);
                        [Frame::Bulk(n.clone()), Frame::Integer(count as i64)]
                    })
                    .collect(),
            ),
            (Some(b"numpat"), []) => Frame::Integer(state.patterns.len() as i64),
            _ => Frame::error(
                "ERR",
                format!(
                    "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                    String::from_utf8_lossy(args.first().map_or(&b""[..], |s| s))
                ),
            ),
        }
    }
}

/// `message ch msg`, or `pmessage pattern ch msg`.
fn message_frame(pattern: Option<&Bytes>, channel: &Bytes, message: &Bytes) -> Frame {
    let mut items = Vec::with_capacity(4);
    match pattern {
        Some(p) => items.extend([Frame::bulk("pmessage"), Frame::Bulk(p.clone())]),
        None => items.push(Frame::bulk("message")),
    }
    items.extend([Frame::Bulk(channel.clone()), Frame::Bulk(message.clone())]);
    Frame::Push(items)
}

/// What one connection has subscribed to, as its reader sees it (the hub learns it in reply
/// order, from the writer).
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// SUBSCRIBE'd channels.
    pub channels: BTreeSet<Bytes>,
    /// PSUBSCRIBE'd patterns.
    pub patterns: BTreeSet<Bytes>,
}

impl Subscriptions {
    /// Channels plus patterns: the count each (un)subscribe reply carries.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// In subscribed mode (RESP2 then only takes the subscribe family, PING, QUIT, RESET).
    pub fn active(&self) -> bool {
        self.count() > 0
    }

    /// SUBSCRIBE / PSUBSCRIBE: the change for the hub and one reply per name, or the error
    /// that refuses the whole command (a bound crossed; nothing changed).
    pub fn subscribe(
        &mut self,
        pattern: bool,
        names: Vec<Bytes>,
    ) -> Result<(Change, Vec<Frame>), Frame> {
        if let Some(long) = names.iter().find(|n| n.len() > NAME_BYTES_MAX) {
            let what = if pattern { "pattern" } else { "channel" };
            let why = format!("{what} of {} bytes exceeds {NAME_BYTES_MAX}", long.len());
            return Err(Frame::error("ERR", why));
        }
        let set = if pattern {
            &self.patterns
        } else {
            &self.channels
        };
        let new: BTreeSet<&Bytes> = names.iter().filter(|n| !set.contains(*n)).collect();
        if self.count() + new.len() > SUBSCRIPTIONS_MAX {
            let why = format!("a connection may hold at most {SUBSCRIPTIONS_MAX} subscriptions");
            return Err(Frame::error("ERR", why));
        }
        let kind = if pattern { "psubscribe" } else { "subscribe" };
        let mut replies = Vec::with_capacity(names.len());
        for name in &names {
            let set = if pattern {
                &mut self.patterns
            } else {
                &mut self.channels
            };
            set.insert(name.clone());
            replies.push(confirm(kind, Some(name), self.count()));
        }
        let change = Change {
            pattern,
            subscribe: true,
            names,
        };
        Ok((change, replies))
    }

    /// UNSUBSCRIBE / PUNSUBSCRIBE (every one of the kind without names): the change for the hub
    /// and one reply per name (one with a nil name when there was nothing to leave).
    pub fn unsubscribe(&mut self, pattern: bool, names: Vec<Bytes>) -> (Change, Vec<Frame>) {
        let kind = if pattern {
            "punsubscribe"
        } else {
            "unsubscribe"
        };
        let set = if pattern {
            &self.patterns
        } else {
            &self.channels
        };
        let names = if names.is_empty() {
            set.iter().cloned().collect()
        } else {
            names
        };
        let mut replies = Vec::with_capacity(names.len().max(1));
        for name in &names {
            let set = if pattern {
                &mut self.patterns
            } else {
                &mut self.channels
            };
            set.remove(name);
            replies.push(confirm(kind, Some(name), self.count()));
        }
        if replies.is_empty() {
            replies.push(confirm(kind, None, self.count()));
        }
        let change = Change {
            pattern,
            subscribe: false,
            names,
        };
        (change, replies)
    }
}

/// `[kind, name, count]`: the reply to each name of a (un)subscribe, a push in RESP3.
fn confirm(kind: &'static str, name: Option<&Bytes>, count: usize) -> Frame {
    Frame::Push(vec![
        Frame::bulk(kind),
        name.map_or(Frame::Null, |n| Frame::Bulk(n.clone())),
        Frame::Integer(count as i64),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::from(s.to_string())
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Push>, backlog: &Backlog) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Ok(push) = rx.try_recv() {
            match push {
                Push::Message(frame, bytes) => {
                    backlog.taken(bytes);
                    out.push(frame);
                }
                Push::Kicked => out.push(Frame::Simple("KICKED".into())),
            }
        }
        out
    }

    #[test]
    fn a_message_reaches_channel_and_pattern_subscribers_and_counts_each_subscription() {
        let hub = Hub::default();
        let (mailbox, backlog, mut rx) = Mailbox::new();
        let mut subs = Subscriptions::default();
        let (change, replies) = subs.subscribe(false, vec![b("foo.bar")]).unwrap();
        hub.apply(1, &mailbox, &change);
        assert_eq!(replies[0], confirm("subscribe", Some(&b("foo.bar")), 1));
        let (change, _) = subs.subscribe(true, vec![b("foo.*")]).unwrap();
        hub.apply(1, &mailbox, &change);
        assert_eq!(hub.receivers(b"foo.bar"), 2);
        assert_eq!(hub.publish(&b("foo.bar"), &b("hi")), 2);
        let got = drain(&mut rx, &backlog);
        assert_eq!(got[0], message_frame(None, &b("foo.bar"), &b("hi")));
        assert_eq!(
            got[1],
            message_frame(Some(&b("foo.*")), &b("foo.bar"), &b("hi"))
        );
        assert_eq!(hub.publish(&b("other"), &b("x")), 0);
    }

    #[test]
    fn unsubscribing_everything_answers_each_and_nil_when_nothing_was_subscribed() {
        let hub = Hub::default();
        let (mailbox, _backlog, _rx) = Mailbox::new();
        let mut subs = Subscriptions::default();
        let (change, _) = subs.subscribe(false, vec![b("a"), b("b"), b("a")]).unwrap();
        hub.apply(7, &mailbox, &change);
        assert_eq!(subs.count(), 2);
        let (change, replies) = subs.unsubscribe(false, vec![]);
        hub.apply(7, &mailbox, &change);
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[1], confirm("unsubscribe", Some(&b("b")), 0));
        assert_eq!(hub.receivers(b"a"), 0);
        let (_, replies) = subs.unsubscribe(true, vec![]);
        assert_eq!(replies, [confirm("punsubscribe", None, 0)]);
    }

    #[test]
    fn a_subscriber_that_does_not_read_is_disconnected_when_its_mailbox_fills() {
        let hub = Hub::default();
        let (mailbox, _backlog, mut rx) = Mailbox::new();
        let change = Change {
            pattern: false,
            subscribe: true,
            names: vec![b("c")],
        };
        hub.apply(3, &mailbox, &change);
        let big = Bytes::from(vec![b'x'; MAILBOX_BYTES_MAX / 4]);
        for _ in 0..3 {
            assert_eq!(hub.publish(&b("c"), &big), 1);
        }
        assert_eq!(
            hub.publish(&b("c"), &big),
            0,
            "the fourth crosses the bound"
        );
        assert_eq!(hub.receivers(b"c"), 0, "the slow subscriber is forgotten");
        let pushes: Vec<Push> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert!(matches!(pushes.last(), Some(Push::Kicked)));
    }

    #[test]
    fn pubsub_introspection_counts_this_node_s_subscriptions() {
        let hub = Hub::default();
        let (mailbox, _backlog, _rx) = Mailbox::new();
        for (conn, pattern, name) in [
            (1, false, "news"),
            (2, false, "news"),
            (1, true, "n*"),
            (2, true, "n*"),
        ] {
            let change = Change {
                pattern,
                subscribe: true,
                names: vec![b(name)],
            };
            hub.apply(conn, &mailbox, &change);
        }
        let args = |w: &[&str]| w.iter().map(|s| b(s)).collect::<Vec<_>>();
        assert_eq!(hub.introspect(&args(&["NUMPAT"])), Frame::Integer(1));
        assert_eq!(
            hub.introspect(&args(&["NUMSUB", "news", "x"])),
            Frame::Array(vec![
                Frame::bulk("news"),
                Frame::Integer(2),
                Frame::bulk("x"),
                Frame::Integer(0)
            ])
        );
        assert_eq!(
            hub.introspect(&args(&["CHANNELS", "z*"])),
            Frame::Array(vec![])
        );
        assert!(hub.introspect(&args(&["NOPE"])).is_error());
        hub.remove(1);
        assert_eq!(
            hub.receivers(b"news"),
            2,
            "one channel and one pattern subscription left"
        );
    }
}
