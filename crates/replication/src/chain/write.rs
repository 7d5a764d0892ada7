//! The write path (OSDI '04 §2 "update processing", §3 "update propagation invariant"):
//! a put enters at the head, which gives it the next seq; every replica stores it (persist)
//! before passing it on; the tail commits it and acks; the ack travels back up, marking it
//! clean at every replica; at the head it answers the client.
//!
//! ```text
//!   client ── Put ──► head: seq := last + 1, persist ── Update ──► middle: persist ── Update ──► tail
//!                                                                                       │ persist clean
//!   client ◄── Ok ─── head ◄────────── Ack{through} ─────── middle ◄─── Ack{through} ────┘
//! ```
//!
//! Who answers the client: the head, once the tail's ack has travelled back to it. The paper's
//! tail answers the client itself, one chain length sooner. Here the ack must travel back
//! anyway (it empties every Sent list, §3, and marks versions clean, CRAQ §2.3), the head is
//! the one replica that knows which client waits for which seq, and the client hears from the
//! node it asked, as every scheme of this crate promises. The cost is latency: n − 1 more hops.
//!
//! The update propagation invariant (§3): every replica's history (updates `1..=last_seq`)
//! is a prefix of its predecessor's. It holds because a replica stores only `last_seq + 1`,
//! only from its predecessor of its own epoch, and its predecessor stored it first. An ack
//! beyond a replica's last update would break it, so it is an `assert`.
//!
//! Updates that overtake each other (§2 assumes FIFO links; the simulator reorders): an
//! update beyond `last_seq + 1` is **held** in `ahead`, in memory, by seq, and stored the
//! moment the gap fills, then the held ones after it in order, each persisted and passed on
//! (or, at the tail, committed; one cumulative ack covers them) exactly as if it had just
//! arrived. Only `last_seq + 1` is ever stored, so the invariant above is untouched.
//!
//! ```text
//!   last = 4   Update{seq=6} ──► held {6}         Update{seq=7} ──► held {6, 7}
//!              Update{seq=5} ──► store 5, 6, 7 (persist each, forward each)   last = 7
//! ```
//!
//! Bounds: the predecessor's Sent list starts past an ack that came through this replica, so
//! it ends by `last_seq + sent_max`; only seqs `last_seq + 2 ..= last_seq + sent_max` are held
//! (fewer than `sent_max`), anything farther is dropped with a note. Held updates are
//! forgotten at a new epoch (its predecessor may differ, and a removed head's seqs may be
//! reused) and at a state transfer; a crash forgets them too. All three are safe: the
//! predecessor resends its Sent list. Without holding, a lagging replica gained about one
//! update per resend interval on a reordering network, and puts could time out behind it.
//!
//! The road not taken: a negative ack (`Need{seq}`) that makes the predecessor resend from
//! the gap at once. It also repairs a *lost* update early, but adds a message type, and on a
//! reordering network most gaps fill by themselves a moment later, so it would mostly trigger
//! duplicate sends. Holding costs no message; a lost update still waits for the resend.
//!
//! Broken on purpose, `ack-at-head`: the head answers `Ok` as soon as it has stored the put,
//! and a read at the tail (the only place reads go) misses it until the update arrives there.

use distributed_core::NodeId;

use crate::chain::config::Variant;
use crate::chain::message::{Ack, Update};
use crate::chain::node::Out;
use crate::chain::replica::Replica;
use crate::chain::store::Write;
use crate::client::{ClientReply, Key, OpId, Response, Value, VALUE_BYTES_MAX};

impl Replica {
    /// A client's put: only the head takes it (module docs).
    pub(crate) fn put(&mut self, id: OpId, key: Key, value: Value, out: &mut Out) {
        if !self.is_member() || !self.is_head() {
            return self.reply(id, self.head_redirect(), out);
        }
        if let Some(why) = self.put_refusal(&key, &value) {
            return self.reply(id, Response::Unavailable { why }, out);
        }
        let head = self.head.as_mut().expect("the head has its waiting list");
        if head.waiting.values().any(|&op| op == id) {
            return out.note(format_args!(
                "ignored a retry of {id}: it is on its way down the chain, and its one reply \
                 comes when the tail has it"
            ));
        }
        let seq = self.store.last_seq() + 1;
        let clean = self.is_tail();
        self.store_update(key.clone(), seq, value.clone(), clean, out);
        if clean {
            return self.reply(id, Response::Ok, out);
        }
        self.forward(seq, key, value, out);
        if self.config.variant == Variant::AckAtHead {
            // Broken on purpose: the tail does not have it yet (module docs).
            return self.reply(id, Response::Ok, out);
        }
        let head = self.head.as_mut().expect("the head has its waiting list");
        head.waiting.insert(seq, id);
    }

    /// Why the head cannot take this put now, if it cannot. Each refusal happens before the
    /// put is stored, so `Unavailable` is the truth: it did not and will not take effect.
    fn put_refusal(&self, key: &Key, value: &Value) -> Option<&'static str> {
        if value.len() > VALUE_BYTES_MAX {
            return Some("value above VALUE_BYTES_MAX");
        }
        if self.sending.is_some() {
            return Some("the head is sending its state to a joining tail and takes no writes");
        }
        if self.store.sent_len() >= self.config.sent_max {
            return Some("sent_max writes are in flight: the chain is behind");
        }
        if !self.store.contains(key) && self.store.keys() >= self.config.keys_max {
            return Some("keys_max keys are stored");
        }
        None
    }

    /// An update from the predecessor: store it if it is the next one, then pass it on (or,
    /// at the tail, commit it and ack); hold it if it came ahead of a gap (module docs).
    pub(crate) fn on_update(&mut self, from: NodeId, msg: Update, out: &mut Out) {
        if self.view.predecessor(self.id()) != Some(from) {
            return out.note(format_args!(
                "ignored {msg} from {from}: not this replica's predecessor in epoch {}",
                self.view.epoch
            ));
        }
        if self.sending.is_some() {
            return out.note(format_args!(
                "ignored {msg} from {from}: frozen while sending its state to the joining tail; \
                 the Sent list brings it again"
            ));
        }
        if !self.is_ready() {
            return out.note(format_args!(
                "ignored {msg} from {from}: its state transfer is not complete"
            ));
        }
        let (last, acked) = (self.store.last_seq(), self.store.acked_seq());
        if msg.seq <= acked {
            // The predecessor resends what the tail has: the ack it needed was lost.
            let ack = Ack {
                epoch: self.view.epoch,
                through: acked,
            };
            out.send(self.id(), from, ack.into());
            return out.note(format_args!(
                "ignored {msg} from {from}: a duplicate of a committed update; acked through \
                 {acked} again, in case the ack was lost"
            ));
        }
        if msg.seq <= last {
            return out.note(format_args!(
                "ignored {msg} from {from}: a duplicate, seq {} is stored and on its way to the \
                 tail",
                msg.seq
            ));
        }
        if msg.seq > last + 1 {
            return self.hold_ahead(from, msg, out);
        }
        self.take_update(msg, out);
        // The gap this update filled may have held the next ones back: take them in order.
        // Bounded: each turn empties one slot of `ahead`, which holds < sent_max.
        while let Some(next) = self.ahead.remove(&(self.store.last_seq() + 1)) {
            self.take_update(next, out);
        }
        assert!(
            self.ahead
                .keys()
                .all(|&seq| seq > self.store.last_seq() + 1),
            "a held update is ahead of a gap, never next"
        );
        if self.is_tail() {
            // One cumulative ack covers every update this call stored.
            let ack = Ack {
                epoch: self.view.epoch,
                through: self.store.last_seq(),
            };
            out.send(self.id(), from, ack.into());
        }
    }

    /// Store the next update, and pass it on unless this replica is the tail (which stores it
    /// committed; its caller acks).
    fn take_update(&mut self, msg: Update, out: &mut Out) {
        let Update {
            seq, key, value, ..
        } = msg;
        let clean = self.is_tail();
        self.store_update(key.clone(), seq, value.clone(), clean, out);
        if !clean {
            self.forward(seq, key, value, out);
        }
    }

    /// An update that overtook an earlier one: keep it until the gap fills (in memory only),
    /// if it lies within the predecessor's Sent list's reach of this replica's last update.
    fn hold_ahead(&mut self, from: NodeId, msg: Update, out: &mut Out) {
        let last = self.store.last_seq();
        // The predecessor's Sent list starts past an ack that came through this replica, so
        // it ends at or before last + sent_max: the window holds at most sent_max − 1 seqs.
        let reach = last + self.config.sent_max as u64;
        if msg.seq > reach {
            return out.note(format_args!(
                "ignored {msg} from {from}: a gap, seq {} comes first, and seq {} is beyond \
                 last + sent_max = {reach}, where no Sent list reaches; the resend brings it",
                last + 1,
                msg.seq
            ));
        }
        if self.ahead.contains_key(&msg.seq) {
            return out.note(format_args!(
                "ignored {msg} from {from}: held already, until seq {} arrives",
                last + 1
            ));
        }
        out.note(format_args!(
            "held {msg} from {from}: a gap, seq {} comes first (lost or overtaken); stored \
             as soon as it arrives",
            last + 1
        ));
        self.ahead.insert(msg.seq, msg);
        assert!(
            self.ahead.len() < self.config.sent_max,
            "held updates lie in last + 2 ..= last + sent_max"
        );
    }

    /// Persist an update (the write goes before any message of this call).
    fn store_update(&mut self, key: Key, seq: u64, value: Value, clean: bool, out: &mut Out) {
        let write = Write::Version {
            key: key.clone(),
            seq,
            value,
            clean,
        };
        self.store.apply(&write);
        out.writes.push(write);
        self.counters.updates_stored += 1;
        let sent_max = self.config.sent_max;
        assert!(
            self.store.sent_len() <= sent_max,
            "the Sent list is a suffix of the head's, which sent_max bounds"
        );
        assert!(
            self.store.versions(&key).len() <= sent_max + 1,
            "a key holds its clean version and at most sent_max dirty ones"
        );
    }

    /// Send one update to the successor.
    fn forward(&mut self, seq: u64, key: Key, value: Value, out: &mut Out) {
        let Some(next) = self.view.successor(self.id()) else {
            unreachable!("only the tail has no successor, and it forwards nothing");
        };
        let update = Update {
            epoch: self.view.epoch,
            seq,
            key,
            value,
        };
        out.send(self.id(), next, update.into());
        if self.store.sent_len() == 1 {
            // The first update in flight: give it a whole interval before resending.
            self.resend_due_tick = self.ticks + self.config.resend_interval_ticks;
        }
    }

    /// The tail has every update through `through`: mark them clean, answer the head's
    /// clients, pass the ack up.
    pub(crate) fn on_ack(&mut self, from: NodeId, msg: Ack, out: &mut Out) {
        if self.view.successor(self.id()) != Some(from) {
            return out.note(format_args!(
                "ignored {msg} from {from}: not this replica's successor in epoch {}",
                self.view.epoch
            ));
        }
        if msg.through <= self.store.acked_seq() {
            return out.note(format_args!(
                "ignored {msg} from {from}: acked through {} already",
                self.store.acked_seq()
            ));
        }
        assert!(
            msg.through <= self.store.last_seq(),
            "{from} acked seq {} but this replica stored only through {}: a successor never \
             holds what its predecessor lacks (OSDI '04 §3)",
            msg.through,
            self.store.last_seq()
        );
        self.acked_through(msg.through, out);
        self.resend_due_tick = self.ticks + self.config.resend_interval_ticks;
    }

    /// Record an ack (persisted), answer the puts it covers, pass it up.
    fn acked_through(&mut self, through: u64, out: &mut Out) {
        if through > self.store.acked_seq() {
            let write = Write::Acked { through };
            self.store.apply(&write);
            out.writes.push(write);
        }
        if let Some(head) = self.head.as_mut() {
            let still_waiting = head.waiting.split_off(&(through + 1));
            let done = std::mem::replace(&mut head.waiting, still_waiting);
            for op in done.into_values() {
                out.outputs.push(ClientReply {
                    id: op,
                    response: Response::Ok,
                });
            }
        }
        if let Some(prev) = self.view.predecessor(self.id()) {
            let ack = Ack {
                epoch: self.view.epoch,
                through,
            };
            out.send(self.id(), prev, ack.into());
        }
    }

    /// This replica is the tail (it just became it, or finished joining): everything it
    /// stored is committed. Ack it all upstream, since acks of the old epoch were refused.
    pub(crate) fn commit_all(&mut self, out: &mut Out) {
        self.acked_through(self.store.last_seq(), out);
    }

    /// Send every update the tail has not acked to the successor again: after a new epoch
    /// (§3, the predecessor of a failed server resends its Sent list to the new successor),
    /// or when no ack came for `resend_interval_ticks` (a lost update).
    pub(crate) fn resend_sent(&mut self, out: &mut Out) {
        let Some(next) = self.view.successor(self.id()) else {
            return;
        };
        let epoch = self.view.epoch;
        let me = self.id();
        for e in self.store.sent() {
            let update = Update {
                epoch,
                seq: e.seq,
                key: e.key,
                value: e.value,
            };
            out.send(me, next, update.into());
            self.counters.updates_resent += 1;
        }
        self.resend_due_tick = self.ticks + self.config.resend_interval_ticks;
    }
}
