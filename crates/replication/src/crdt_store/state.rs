//! One key's whole replicated state: its register and the sessions of the clients that used
//! it. Both are lattices, so the pair is one, and gossip ships, merges and hashes it as a unit.
//!
//! ```text
//!   KeyState{ register, sessions: client ↦ Session{ read, last_put_seq, last_put_dots } }
//!
//!   get by c at n:  sessions[c].read ∪= register.context            (c saw all of it)
//!   put by c at n:  S := sessions[c].read ∪ sessions[c].last_put_dots
//!                   dot := register.put(S, value, n)                  (register.rs)
//!                   sessions[c].last_put := (op seq, {dot})
//!   merge:          registers join; sessions join per client:
//!                   read ∪ read;  last put = the larger seq (equal seqs: union of dots)
//! ```
//!
//! **Session contexts without a client context.** The client vocabulary carries no causal
//! context (a put is `key, value`), yet a put here supersedes exactly what its client had seen
//! of the key, not whatever the coordinating node holds: each node records, per client, what
//! its gets returned and the dot of its newest put, and that record is part of the key's state,
//! so it travels with the register to every node. Why only the newest put's dot: its own put
//! superseded the one before (its session held it), and every state that holds the newest dot
//! holds that supersession too. The cost, and what it does not fix: a client that moves to a
//! node the key's state has not reached yet writes with the session that node has (perhaps
//! none: a blind put). Its put then stands *beside* a value it had read, as a sibling, instead
//! of replacing it: nothing is lost, but the eventual checker calls it a stale sibling. Only a
//! context carried by the client closes that window; the road not taken, because every other
//! scheme would have to carry and ignore it. An LWW store keeps sessions for the put sequence
//! numbers alone (duplicates, stale retries): its HLC already passes every stamp the node holds.
//!
//! Invariants (`check`): the register is of the configured kind; every session's dots are in
//! the register's context (sessions only ever record what the register held or issued).
//! Sessions per key are bounded where they are born (`sessions_per_key_max` per node), not at
//! merges: at most that many per node, since a node counts merged ones before adding its own.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use clocks::{CausalContext, ClockError, Dot, LwwRegister, LwwStamp};
use distributed_core::NodeId;
use sha2::{Digest, Sha256};

use crate::client::Value;
use crate::crdt_store::config::Resolution;
use crate::crdt_store::register::{MergeError, MergeRule, Register, Siblings};

/// What one client has seen of one key, as far as the nodes know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// Every dot the client's gets of the key could have shown it (the register's context at
    /// each read, unioned). Always empty in an LWW store.
    pub read: CausalContext,
    /// The sequence number (`OpId::seq`) of the client's newest put to the key; 0 for none.
    pub last_put_seq: u64,
    /// That put's dots: one, or one per node it was applied at if the client retried it
    /// elsewhere. Always empty in an LWW store.
    pub last_put_dots: BTreeSet<Dot>,
}

impl Session {
    /// What the client's next put supersedes: what it read and its newest put.
    pub fn supersedes(&self) -> Result<CausalContext, ClockError> {
        let mut context = self.read.clone();
        for &dot in &self.last_put_dots {
            context.insert(dot)?;
        }
        Ok(context)
    }

    /// The join; true if `self` changed.
    fn merge(&mut self, other: &Session) -> Result<bool, ClockError> {
        let before = self.clone();
        self.read.merge(&other.read)?;
        if other.last_put_seq > self.last_put_seq {
            self.last_put_seq = other.last_put_seq;
            self.last_put_dots = other.last_put_dots.clone();
        } else if other.last_put_seq == self.last_put_seq {
            self.last_put_dots
                .extend(other.last_put_dots.iter().copied());
        }
        Ok(*self != before)
    }
}

/// `read={n1:1} put=3@n1:2`, each part only when there is one.
impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.read != CausalContext::new() {
            parts.push(format!("read={}", self.read));
        }
        if self.last_put_seq > 0 {
            let dots: Vec<String> = self.last_put_dots.iter().map(Dot::to_string).collect();
            let at = if dots.is_empty() {
                String::new()
            } else {
                format!("@{}", dots.join(","))
            };
            parts.push(format!("put={}{at}", self.last_put_seq));
        }
        f.write_str(&parts.join(" "))
    }
}

/// What a put's sequence number says about it, against the client's session of the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutCheck {
    /// Newer than every put of the client known here: apply it.
    Fresh,
    /// The client's newest put itself, applied already (a retry): answer Ok again.
    Duplicate,
    /// Older than the client's newest put to this key: the client moved on; applying it
    /// now would overwrite its own later write.
    Stale {
        /// The newest put's sequence number.
        newest: u64,
    },
}

/// One key's replicated state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// The values.
    pub(crate) register: Register,
    /// Per client id, what it has seen of this key.
    pub(crate) sessions: BTreeMap<u64, Session>,
}

impl KeyState {
    /// An empty key of the configured kind.
    pub fn new(resolution: Resolution) -> KeyState {
        let register = match resolution {
            Resolution::MultiValue => Register::Mv(Siblings::new()),
            Resolution::Lww => Register::Lww(LwwRegister::new()),
        };
        KeyState {
            register,
            sessions: BTreeMap::new(),
        }
    }

    /// The register.
    pub fn register(&self) -> &Register {
        &self.register
    }

    /// The sessions, by client id.
    pub fn sessions(&self) -> &BTreeMap<u64, Session> {
        &self.sessions
    }

    /// The distinct values, sorted (several: siblings).
    pub fn values(&self) -> Vec<Value> {
        self.register.values()
    }

    /// Merge `incoming` by `rule`; true if `self` changed. Refused whole on error.
    pub fn merge(&mut self, incoming: &KeyState, rule: MergeRule) -> Result<bool, MergeError> {
        let mut next = self.clone();
        let mut changed = next.register.merge(&incoming.register, rule)?;
        for (&client, theirs) in &incoming.sessions {
            let mine = next.sessions.entry(client).or_default();
            changed |= mine.merge(theirs).map_err(MergeError::Clock)?;
        }
        *self = next;
        Ok(changed)
    }

    /// Whether a put numbered `seq` by `client` is new, was applied already (here or at a
    /// node whose state reached here), or is older than the client's newest put to this key.
    pub fn put_check(&self, client: u64, seq: u64) -> PutCheck {
        let newest = self.sessions.get(&client).map_or(0, |s| s.last_put_seq);
        match seq.cmp(&newest) {
            std::cmp::Ordering::Greater => PutCheck::Fresh,
            std::cmp::Ordering::Equal => PutCheck::Duplicate,
            std::cmp::Ordering::Less => PutCheck::Stale { newest },
        }
    }

    /// Record that `client` read the whole register (MV only: an LWW read records nothing).
    /// `Ok(true)` if its session grew; `Err` if a new session would pass `sessions_max`.
    pub fn record_read(&mut self, client: u64, sessions_max: usize) -> Result<bool, String> {
        let Register::Mv(s) = &self.register else {
            return Ok(false);
        };
        if s.context() == &CausalContext::new() {
            return Ok(false);
        }
        let context = s.context().clone();
        let session = self.session_mut(client, sessions_max)?;
        let before = session.read.clone();
        session.read.merge(&context).map_err(|e| e.to_string())?;
        Ok(session.read != before)
    }

    /// A put of `value` by `client` (its `seq`-th request) coordinated by `node`: supersedes
    /// what the client's session saw, or nothing if it has none (a blind put). Returns the
    /// dot, and whether the session could be recorded (else the client's next put is blind
    /// too). Refused, with nothing changed, as `Siblings::put` refuses.
    pub fn put_mv(
        &mut self,
        (client, seq): (u64, u64),
        value: Value,
        node: NodeId,
        sessions_max: usize,
    ) -> Result<(Dot, bool), String> {
        let supersedes = match self.sessions.get(&client) {
            Some(session) => session.supersedes().map_err(|e| e.to_string())?,
            None => CausalContext::new(),
        };
        let Register::Mv(s) = &mut self.register else {
            return Err("an MV put on an LWW register".to_string());
        };
        let dot = s.put(&supersedes, value, node).map_err(|e| e.to_string())?;
        let recorded = self.record_put(client, seq, [dot].into(), sessions_max);
        Ok((dot, recorded))
    }

    /// A put of `value` by `client` (its `seq`-th request) stamped `stamp`. Returns whether it
    /// won (false: a larger stamp is held here, and the put is lost already) and whether the
    /// session could be recorded.
    pub fn put_lww(
        &mut self,
        (client, seq): (u64, u64),
        value: Value,
        stamp: LwwStamp,
        sessions_max: usize,
    ) -> Result<(bool, bool), String> {
        let Register::Lww(r) = &mut self.register else {
            return Err("an LWW put on an MV register".to_string());
        };
        let won = r
            .write(value, stamp.time, stamp.node)
            .map_err(|e| e.to_string())?;
        let recorded = self.record_put(client, seq, BTreeSet::new(), sessions_max);
        Ok((won, recorded))
    }

    fn record_put(&mut self, client: u64, seq: u64, dots: BTreeSet<Dot>, max: usize) -> bool {
        match self.session_mut(client, max) {
            Ok(session) => {
                session.last_put_seq = seq;
                session.last_put_dots = dots;
                true
            }
            Err(_) => false,
        }
    }

    /// The client's session, created if there is room for one more.
    fn session_mut(&mut self, client: u64, max: usize) -> Result<&mut Session, String> {
        let count = self.sessions.len();
        match self.sessions.entry(client) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(_) if count >= max => Err(format!(
                "{count} sessions recorded for this key (sessions_per_key_max)"
            )),
            Entry::Vacant(e) => Ok(e.insert(Session::default())),
        }
    }

    /// A 64-bit hash of a canonical encoding: equal states hash alike whatever order their
    /// merges happened in (every container is ordered). Never 0.
    pub fn digest(&self) -> u64 {
        let mut h = Sha256::new();
        match &self.register {
            Register::Mv(s) => {
                field(&mut h, b"mv");
                for (d, value) in s.siblings() {
                    dot(&mut h, d);
                    field(&mut h, value.as_bytes());
                }
                context(&mut h, s.context());
            }
            Register::Lww(r) => {
                field(&mut h, b"lww");
                if let (Some(stamp), Some(value)) = (r.stamp(), r.get()) {
                    field(&mut h, &stamp.time.wall.to_be_bytes());
                    field(&mut h, &stamp.time.logical.to_be_bytes());
                    field(&mut h, &stamp.node.0.to_be_bytes());
                    field(&mut h, value.as_bytes());
                }
            }
        }
        for (client, session) in &self.sessions {
            field(&mut h, &client.to_be_bytes());
            context(&mut h, &session.read);
            field(&mut h, &session.last_put_seq.to_be_bytes());
            for &d in &session.last_put_dots {
                dot(&mut h, d);
            }
        }
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first).max(1)
    }

    /// The invariants of one node's state of one key (see the module docs).
    pub fn check(&self, resolution: Resolution) -> Result<(), String> {
        match (&self.register, resolution) {
            (Register::Mv(s), Resolution::MultiValue) => {
                for (client, session) in &self.sessions {
                    let dots = session.supersedes().map_err(|e| e.to_string())?;
                    if !covers(s.context(), &dots) {
                        return Err(format!(
                            "session of c{client} ({session}) holds dots outside the register's \
                             context {}",
                            s.context()
                        ));
                    }
                }
                Ok(())
            }
            (Register::Lww(_), Resolution::Lww) => Ok(()),
            _ => Err(format!(
                "register {} is not of the configured resolution {}",
                self.register,
                resolution.name()
            )),
        }
    }
}

/// One length-prefixed field of the canonical encoding.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u32).to_be_bytes());
    h.update(bytes);
}

fn dot(h: &mut Sha256, d: Dot) {
    field(h, &d.node.0.to_be_bytes());
    field(h, &d.counter.to_be_bytes());
}

/// A context's vector entries, a separator, then its cloud's dots.
fn context(h: &mut Sha256, c: &CausalContext) {
    for (node, counter) in c.version().iter() {
        dot(h, Dot::new(node, counter));
    }
    field(h, b"cloud");
    for d in c.cloud() {
        dot(h, d);
    }
}

/// True if every dot of `inner` is in `outer`.
fn covers(outer: &CausalContext, inner: &CausalContext) -> bool {
    let mut union = outer.clone();
    union.merge(inner).is_ok() && union == *outer
}

/// The register, then `sessions=[c1(put=1@n1:1) c2(read={n1:1})]` if any.
impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.register)?;
        if !self.sessions.is_empty() {
            let sessions: Vec<String> = self
                .sessions
                .iter()
                .map(|(c, s)| format!("c{c}({s})"))
                .collect();
            write!(f, " sessions=[{}]", sessions.join(" "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(state: &mut KeyState, client: u64, seq: u64, value: &str, node: u64) {
        assert_eq!(state.put_check(client, seq), PutCheck::Fresh);
        let put = state.put_mv((client, seq), value.into(), NodeId(node), 8);
        assert!(put.unwrap().1, "session recorded");
        assert_eq!(state.put_check(client, seq), PutCheck::Duplicate);
    }

    #[test]
    fn a_client_s_next_put_supersedes_its_own_last_put_but_not_a_stranger_s() {
        let mut x = KeyState::new(Resolution::MultiValue);
        put(&mut x, 1, 1, "a1", 1);
        put(&mut x, 2, 1, "b1", 1);
        put(&mut x, 1, 2, "a2", 1);
        assert_eq!(x.values(), ["a2", "b1"]);
        assert_eq!(
            x.to_string(),
            "[b1@n1:2 a2@n1:3]{n1:3} sessions=[c1(put=2@n1:3) c2(put=1@n1:2)]"
        );
        assert_eq!(x.check(Resolution::MultiValue), Ok(()));
        assert!(x.check(Resolution::Lww).is_err());
    }

    #[test]
    fn a_read_makes_the_next_put_supersede_what_was_read_and_sessions_are_bounded() {
        let mut x = KeyState::new(Resolution::MultiValue);
        put(&mut x, 1, 1, "a", 1);
        put(&mut x, 2, 1, "b", 2);
        assert_eq!(x.record_read(3, 3), Ok(true));
        assert_eq!(x.record_read(3, 3), Ok(false), "nothing new to see");
        put(&mut x, 3, 1, "c", 1);
        assert_eq!(x.values(), ["c"]);
        assert!(x
            .record_read(4, 3)
            .unwrap_err()
            .contains("sessions_per_key_max"));
        let blind = x.put_mv((4, 1), "d".into(), NodeId(1), 3).unwrap();
        assert!(!blind.1, "no room: the put is blind and unrecorded");
        assert_eq!(x.values(), ["c", "d"]);
        assert_eq!(x.put_check(3, 0), PutCheck::Stale { newest: 1 });
    }

    #[test]
    fn states_merged_in_either_order_are_equal_and_hash_alike() {
        let (mut a, mut b) = (
            KeyState::new(Resolution::MultiValue),
            KeyState::new(Resolution::MultiValue),
        );
        put(&mut a, 1, 1, "a", 1);
        put(&mut b, 2, 1, "b", 2);
        let mut ab = a.clone();
        assert_eq!(ab.merge(&b, MergeRule::Mv), Ok(true));
        let mut ba = b.clone();
        assert_eq!(ba.merge(&a, MergeRule::Mv), Ok(true));
        assert_eq!(ab, ba);
        assert_eq!(ab.digest(), ba.digest());
        assert_ne!(a.digest(), b.digest());
        assert_eq!(ab.merge(&a, MergeRule::Mv), Ok(false), "idempotent");
    }

    #[test]
    fn sessions_keep_the_newest_put_and_union_equal_ones() {
        let dot = |n, c| Dot::new(NodeId(n), c);
        let mut s = Session {
            last_put_seq: 3,
            last_put_dots: [dot(1, 1)].into(),
            ..Session::default()
        };
        let retried = Session {
            last_put_seq: 3,
            last_put_dots: [dot(2, 1)].into(),
            ..Session::default()
        };
        assert!(s.merge(&retried).unwrap());
        assert_eq!(s.to_string(), "put=3@n1:1,n2:1");
        let older = Session {
            last_put_seq: 2,
            last_put_dots: [dot(3, 1)].into(),
            ..Session::default()
        };
        assert!(!s.merge(&older).unwrap());
    }
}
