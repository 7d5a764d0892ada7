//! The write path: a home node coordinates a put, W acks answer it, a sloppy quorum stands in
//! for silent home nodes (DeCandia et al. §4.5, §4.6).
//!
//! ```text
//!   coordinator n1 (home = [n1 n2 n3], fallbacks = [n4], W = 2)
//!     version := a new dot (DVV) or stamp (LWW) over what n1 holds    write.rs new_version
//!     merge into n1's copy ──► persist Store{x ..}                    (n1's own ack)
//!     ── Replicate{op x version} ──► n2, n3
//!     ◄─ Replicated{op x} ── n2                    2 acks ≥ W ──► answer Ok
//!     n3 silent for replica_timeout_ticks ──► Replicate{.. hint=n3} ──► n4 (keeps a hint)
//!     ◄─ Replicated{op x} ── n4                    3 acks = N ──► done
//!     no W acks within request_timeout_ticks ──► Unavailable; done
//! ```
//!
//! **A timed-out put may still be applied.** `Unavailable` means "fewer than W acks arrived in
//! time", not "nothing was stored": the coordinator itself stored the version before sending
//! it, other replicas may have stored it with their acks lost, and hinted handoff, read repair
//! and anti-entropy will spread it to every home node. The client must treat the outcome as
//! unknown (the checkers do: a timed-out put may or may not take effect).
//!
//! After answering Ok the coordinator keeps collecting acks until N nodes have the version or
//! the request times out, so a home node that stays silent still gets a stand-in (and, through
//! the hint, the version) although the client has its answer. Dynamo picks "the first N
//! healthy nodes" with a failure detector; this coordinator finds out per request, by
//! timeout: the road not taken is a detector shared by requests (issue 18's SWIM).
//!
//! Invariants: the coordinator is a home node of the key (asserted: others forward, and the
//! first home node is asked first, forward.rs);
//! its own copy is persisted in the same event as the Replicates leave; Ok only after W
//! durable acks, counting its own; one answer per put.

use distributed_core::NodeId;

use crate::client::{Key, OpId, Response, Value};
use crate::quorum::config::Resolution;
use crate::quorum::disk::Write;
use crate::quorum::message::{Replicate, Replicated};
use crate::quorum::node::{Out, Quorum};
use crate::quorum::pending::{Origin, PendingWrite, Targets};
use crate::quorum::version::Version;

impl Quorum {
    /// Coordinate a put of `value` to `key`, as one of the key's home nodes.
    pub(crate) fn start_put(
        &mut self,
        op: OpId,
        key: Key,
        value: Value,
        origin: Origin,
        out: &mut Out,
    ) {
        let me = self.config.id;
        let range = self.ring.place(&key).range;
        assert!(
            self.ring.is_home(range, me),
            "{me} coordinates a put only as a home node"
        );
        self.counters.puts_coordinated += 1;
        let version = match self.new_version(&key, value, out) {
            Ok(v) => v,
            Err(why) => {
                out.note(format_args!("cannot version put {op} to {key}: {why}"));
                let why = "the coordinator could not version the put";
                return self.answer(op, origin, Response::Unavailable { why }, out);
            }
        };
        match self.store_merge(&key, &version, out) {
            Ok(true) => {}
            Ok(false) => {
                self.counters.lww_puts_lost += 1;
                out.note(format_args!(
                    "put {op} {version} lost at once to the larger stamp {} held here",
                    self.version(&key).expect("held, since it won")
                ));
            }
            Err(why) => {
                out.note(format_args!("cannot store put {op} to {key}: {why}"));
                let why = "the coordinator cannot store the key";
                return self.answer(op, origin, Response::Unavailable { why }, out);
            }
        }
        let home: Vec<NodeId> = self.ring.home(range).to_vec();
        for &node in home.iter().filter(|&&n| n != me) {
            let msg = Replicate {
                op,
                key: key.clone(),
                version: version.clone(),
                hint: None,
            };
            self.send(out, node, msg);
        }
        let pending = PendingWrite {
            origin,
            key,
            version,
            targets: Targets::new(&home, self.now, Some(me)),
            started_at: self.now,
            answered: false,
        };
        self.writes.insert(op, pending);
        self.check_write(op, out);
    }

    /// The version a put of `value` creates here: a dot over what this node holds (DVV), or
    /// this node's next stamp (LWW), whose clock state is persisted before the put leaves.
    fn new_version(&mut self, key: &str, value: Value, out: &mut Out) -> Result<Version, String> {
        match self.config.resolution {
            Resolution::Dvv => Version::dvv_put(self.version(key), value, self.config.id)
                .map_err(|e| e.to_string()),
            Resolution::Lww => {
                let (stamp, state) = self
                    .clock
                    .stamp(self.config.id)
                    .map_err(|e| e.to_string())?;
                out.writes.push(Write::Clock(state));
                Ok(Version::lww_put(value, stamp))
            }
        }
    }

    /// Answer once W acks are in; forget the put once N nodes hold it.
    fn check_write(&mut self, op: OpId, out: &mut Out) {
        let (w, n) = (self.config.write_quorum, self.config.replicas);
        let p = self.writes.get_mut(&op).expect("a put in flight");
        let acks = p.targets.answered();
        if !p.answered && acks >= w {
            p.answered = true;
            let origin = p.origin;
            self.answer(op, origin, Response::Ok, out);
        }
        if acks >= n {
            let p = self.writes.remove(&op).expect("still in flight");
            assert!(p.answered, "N ≥ W acks answered it");
        }
    }

    /// A coordinator asks this node to store a version: as a home node, or as a stand-in
    /// holding a hint for `hint`. Acknowledged once durable (persist, then send).
    pub(crate) fn on_replicate(&mut self, from: NodeId, m: Replicate, out: &mut Out) {
        let me = self.config.id;
        let range = self.ring.place(&m.key).range;
        let home = self.ring.is_home(range, me);
        let stored = match m.hint {
            None if !home => Err(format!("{me} is not a home node of {}", m.key)),
            None => self.store_merge(&m.key, &m.version, out).map(|_| ()),
            Some(owner) if home => Err(format!("a hint for {owner}, but {me} is home itself")),
            Some(owner) if !self.ring.is_home(range, owner) => Err(format!(
                "a hint for {owner}, which is not a home node of {}",
                m.key
            )),
            Some(owner) => self.store_hint(owner, &m.key, &m.version, out),
        };
        match stored {
            Ok(()) => self.send(
                out,
                from,
                Replicated {
                    op: m.op,
                    key: m.key,
                },
            ),
            Err(why) => out.note(format_args!("ignored {m} from {from}: {why}")),
        }
    }

    /// A replica (or stand-in) stored the version of a put this node coordinates.
    pub(crate) fn on_replicated(&mut self, from: NodeId, m: Replicated, out: &mut Out) {
        let Some(p) = self.writes.get_mut(&m.op) else {
            return out.note(format_args!(
                "ignored {m} from {from}: put {} is not in flight (done, timed out, or from before a restart)",
                m.op
            ));
        };
        if p.targets.answer(from).is_none() {
            return out.note(format_args!(
                "ignored {m} from {from}: a duplicate, or never asked"
            ));
        }
        self.check_write(m.op, out);
    }

    /// Every put's timers: time out the ones past `request_timeout_ticks`, and ask a stand-in
    /// for each home node (or stand-in) silent past `replica_timeout_ticks`.
    pub(crate) fn tick_writes(&mut self, out: &mut Out) {
        let (now, timeout) = (self.now, self.config.request_timeout_ticks);
        let expired: Vec<OpId> = self
            .writes
            .iter()
            .filter(|(_, p)| now >= p.started_at + timeout)
            .map(|(&op, _)| op)
            .collect();
        for op in expired {
            let p = self.writes.remove(&op).expect("listed above");
            if !p.answered {
                let why =
                    "fewer than W replicas acknowledged in time; the put may still be applied";
                self.answer(op, p.origin, Response::Unavailable { why }, out);
            }
        }
        if !self.config.sloppy_quorum {
            return;
        }
        let (timeout, mut stand_ins) = (self.config.replica_timeout_ticks, Vec::new());
        for (&op, p) in self.writes.iter_mut() {
            let fallbacks = self.ring.fallbacks(self.ring.place(&p.key).range);
            for (owner, node) in p.targets.stand_ins(now, timeout, fallbacks) {
                let hint = Some(owner);
                let (key, version) = (p.key.clone(), p.version.clone());
                stand_ins.push((
                    op,
                    owner,
                    node,
                    Replicate {
                        op,
                        key,
                        version,
                        hint,
                    },
                ));
            }
        }
        for (op, owner, node, msg) in stand_ins {
            match node {
                Some(node) => {
                    self.counters.stand_ins_asked += 1;
                    self.send(out, node, msg);
                }
                None => out.note(format_args!(
                    "put {op}: {owner} is silent and no node is left on the ring to stand in"
                )),
            }
        }
    }
}
