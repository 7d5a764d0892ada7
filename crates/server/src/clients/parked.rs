//! The clients parked on this node by a blocking command (BLPOP, BZPOPMIN, …), keyed by the
//! keys they wait on, shared by the connections (park, forget, CLIENT UNBLOCK, CLIENT LIST,
//! INFO) and the node task (which wakes them as entries apply). The design is in
//! `blocking.rs`; this file is its bookkeeping.
//!
//! ```text
//!   connection: its try found every key empty ──► park(conn, keys, kind, age) ──► Receiver<Wake>
//!   node task, after entries applied (or a park): wake(ready) ──► oldest first, each waiter
//!        with a key that is ready (holds a live container of the waiter's kind) and no key
//!        claimed or held by an older waiter ──► claim its keys, Wake::Ready ──► it retries
//!   connection: the retry popped (or failed) ──► done(conn): claim released, not blocked
//!               the retry found nothing (another node's client won) ──► park again, same age
//!   CLIENT UNBLOCK id [TIMEOUT|ERROR] ──► Wake::Timeout / Wake::Error, waiter removed
//! ```
//!
//! Why claims: a woken client's retry is a log round trip away, and pops from the first of its
//! keys that holds something. Until it comes back, its keys are claimed, and a younger waiter
//! sharing any key with it (or with an older waiter still in line) stays parked, so it is
//! woken only for what is left once those before it have popped: clients are served oldest first (Redis serves the longest-waiting client first), and
//! nobody is woken for an element a client before it will take. A claim left by a connection
//! that vanished without saying so expires after [`CLAIM_MS_MAX`], so a key is never stuck.
//!
//! Bounds: at most [`PARKED_MAX`] clients blocked on this node; the next blocking command that
//! would park answers an error at once (Redis has no such bound: it trades memory for it). A
//! waiter waits on at most as many keys as its command named, which the frame bounds limit.
//!
//! Invariants: every waiter's `conn` is in `blocked`; a connection has at most one waiter;
//! `ages` and `waiters` index the same waiters.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::clients::resp::Frame;

/// Most clients blocked on one node at once.
pub const PARKED_MAX: usize = 10_000;
/// How long a woken client may hold its key before the next waiter may be woken for it.
pub const CLAIM_MS_MAX: u64 = 2_000;

/// The type of container a blocking command waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
    List,
    /// BZPOPMIN BZPOPMAX BZMPOP.
    ZSet,
}

impl Kind {
    /// What `TYPE` answers for a key holding this kind.
    pub fn type_name(self) -> &'static [u8] {
        match self {
            Kind::List => b"list",
            Kind::ZSet => b"zset",
        }
    }
}

/// Why a parked client stops waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// One of its keys holds something: retry the pop.
    Ready,
    /// `CLIENT UNBLOCK id` / `CLIENT UNBLOCK id TIMEOUT`: answer as if the timeout passed.
    Timeout,
    /// `CLIENT UNBLOCK id ERROR`: answer `-UNBLOCKED`.
    Error,
}

/// One parked client.
#[derive(Debug)]
struct Waiter {
    /// Its connection id.
    conn: u64,
    /// The keys it waits on, in its command's order.
    keys: Vec<Bytes>,
    /// What those keys must hold.
    kind: Kind,
    /// Where its wake-up goes.
    wake: oneshot::Sender<Wake>,
}

/// A key a woken client is popping from.
#[derive(Debug)]
struct Claim {
    /// The client.
    conn: u64,
    /// When it was woken: the claim lapses after `CLAIM_MS_MAX`.
    at: Instant,
}

#[derive(Debug, Default)]
struct State {
    /// Parked clients by age (the order they first blocked in): the oldest is served first.
    waiters: BTreeMap<u64, Waiter>,
    /// Connection → the age of its waiter, while parked.
    ages: BTreeMap<u64, u64>,
    /// Connections inside a blocking command (parked, or woken and retrying): what INFO's
    /// `blocked_clients` counts and CLIENT LIST flags `b`.
    blocked: BTreeSet<u64>,
    /// Keys a woken client is popping from.
    claims: BTreeMap<Bytes, Claim>,
    /// The next age handed out.
    next_age: u64,
}

impl State {
    fn release_claims(&mut self, conn: u64) {
        self.claims.retain(|_, c| c.conn != conn);
    }

    fn remove_waiter(&mut self, conn: u64) -> Option<Waiter> {
        let age = self.ages.remove(&conn)?;
        self.waiters.remove(&age)
    }
}

/// Every parked client of this node.
#[derive(Debug, Default)]
pub struct Parked {
    /// The index, under one lock: each operation is short and touches no socket.
    state: Mutex<State>,
    /// Set when a client parks or a claim is released: the node task runs `wake` at its next
    /// turn even if no entry applied meanwhile (the key may have filled before the park).
    dirty: AtomicBool,
}

impl Parked {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .expect("no parked-clients lock holder panics")
    }

    /// Park `conn` on `keys` until one holds a `kind`; `age` is the one its first park got
    /// (a client that lost a race keeps its place). The age and the wake-up's receiver, or the
    /// error to answer past [`PARKED_MAX`].
    pub fn park(
        &self,
        conn: u64,
        keys: &[Bytes],
        kind: Kind,
        age: Option<u64>,
    ) -> Result<(u64, oneshot::Receiver<Wake>), Frame> {
        let mut s = self.lock();
        s.release_claims(conn);
        s.remove_waiter(conn);
        if s.waiters.len() >= PARKED_MAX {
            s.blocked.remove(&conn);
            let why = format!("too many blocked clients on this node (at most {PARKED_MAX})");
            return Err(Frame::error("ERR", why));
        }
        let age = age.unwrap_or_else(|| {
            s.next_age += 1;
            s.next_age
        });
        let (tx, rx) = oneshot::channel();
        let waiter = Waiter {
            conn,
            keys: keys.to_vec(),
            kind,
            wake: tx,
        };
        s.waiters.insert(age, waiter);
        s.ages.insert(conn, age);
        s.blocked.insert(conn);
        self.dirty.store(true, Ordering::Release);
        Ok((age, rx))
    }

    /// `conn` is no longer blocked: served, timed out, unblocked, or gone.
    pub fn done(&self, conn: u64) {
        let mut s = self.lock();
        s.release_claims(conn);
        s.remove_waiter(conn);
        s.blocked.remove(&conn);
        self.dirty.store(true, Ordering::Release);
    }

    /// Clients inside a blocking command (INFO `blocked_clients`).
    pub fn blocked_len(&self) -> usize {
        self.lock().blocked.len()
    }

    /// True while `conn` is inside a blocking command (CLIENT LIST flag `b`).
    pub fn is_blocked(&self, conn: u64) -> bool {
        self.lock().blocked.contains(&conn)
    }

    /// True if the node task should run `wake` now even without a newly applied entry; clears
    /// the flag.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }

    /// `CLIENT UNBLOCK conn`: wake it with `how` if it is parked; false if it is not.
    pub fn unblock(&self, conn: u64, how: Wake) -> bool {
        let mut s = self.lock();
        match s.remove_waiter(conn) {
            Some(w) => w.wake.send(how).is_ok(),
            None => false,
        }
    }

    /// Wake, oldest first, each parked client one of whose keys is `ready` (holds a live
    /// container of its kind) and none of whose keys is claimed or held by an older waiter
    /// still in line; it claims all its keys, since its retry pops from the first of them
    /// that holds something. Returns how many were woken.
    pub fn wake(&self, mut ready: impl FnMut(&Bytes, Kind) -> bool) -> usize {
        let mut s = self.lock();
        let now = Instant::now();
        let lapse = Duration::from_millis(CLAIM_MS_MAX);
        s.claims.retain(|_, c| now.duration_since(c.at) < lapse);
        // Keys an older waiter is served from or waits its turn on: younger ones stay put.
        let mut held: BTreeSet<Bytes> = s.claims.keys().cloned().collect();
        // One look per key and kind, however many clients wait on it.
        let mut seen: BTreeMap<(Bytes, Kind), bool> = BTreeMap::new();
        let mut woken: Vec<u64> = Vec::new();
        for (&age, w) in &s.waiters {
            let mut is_ready = |k: &Bytes| {
                *seen
                    .entry((k.clone(), w.kind))
                    .or_insert_with(|| ready(k, w.kind))
            };
            if w.keys.iter().any(|k| held.contains(k)) {
                held.extend(w.keys.iter().cloned());
            } else if w.keys.iter().any(&mut is_ready) {
                held.extend(w.keys.iter().cloned());
                woken.push(age);
            }
        }
        let n = woken.len();
        for age in woken {
            let w = s.waiters.remove(&age).expect("a waiter just seen");
            s.ages.remove(&w.conn);
            for key in &w.keys {
                let claim = Claim {
                    conn: w.conn,
                    at: now,
                };
                s.claims.insert(key.clone(), claim);
            }
            if w.wake.send(Wake::Ready).is_err() {
                // Its connection is gone and will call `done` as it closes.
                s.release_claims(w.conn);
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::from(s.to_string())
    }

    #[test]
    fn the_oldest_client_is_woken_first_and_the_next_only_once_the_first_is_done() {
        let parked = Parked::default();
        let (_, mut first) = parked.park(1, &[b("k")], Kind::List, None).unwrap();
        let (_, mut second) = parked.park(2, &[b("k")], Kind::List, None).unwrap();
        assert_eq!(parked.wake(|_, _| true), 1);
        assert_eq!(first.try_recv(), Ok(Wake::Ready));
        assert!(second.try_recv().is_err(), "k is claimed by the first");
        assert_eq!(parked.wake(|_, _| true), 0);
        parked.done(1);
        assert_eq!(parked.wake(|_, _| true), 1);
        assert_eq!(second.try_recv(), Ok(Wake::Ready));
        assert_eq!(
            parked.blocked_len(),
            1,
            "the second is retrying, still blocked"
        );
        parked.done(2);
        assert_eq!(parked.blocked_len(), 0);
    }

    #[test]
    fn a_client_that_lost_the_race_keeps_its_place_in_line() {
        let parked = Parked::default();
        let (age, _) = parked.park(1, &[b("k")], Kind::List, None).unwrap();
        let (_, _later) = parked.park(2, &[b("k")], Kind::List, None).unwrap();
        assert_eq!(parked.wake(|_, _| true), 1);
        let (again, mut rx) = parked.park(1, &[b("k")], Kind::List, Some(age)).unwrap();
        assert_eq!(again, age);
        assert_eq!(parked.wake(|_, _| true), 1);
        assert_eq!(rx.try_recv(), Ok(Wake::Ready), "still the oldest");
    }

    #[test]
    fn a_younger_client_sharing_any_key_with_an_older_one_waits_behind_it() {
        // The first pops from whichever of a, b holds something: the second, on b alone, may
        // not take b's element before the first has popped.
        let parked = Parked::default();
        let (_, mut first) = parked.park(1, &[b("a"), b("b")], Kind::List, None).unwrap();
        let (_, mut second) = parked.park(2, &[b("b")], Kind::List, None).unwrap();
        let (_, mut other) = parked.park(3, &[b("c")], Kind::List, None).unwrap();
        assert_eq!(parked.wake(|_, _| true), 2);
        assert_eq!(first.try_recv(), Ok(Wake::Ready));
        assert!(second.try_recv().is_err());
        assert_eq!(other.try_recv(), Ok(Wake::Ready), "c is nobody else's");
        parked.done(1);
        parked.done(3);
        assert_eq!(parked.wake(|k, _| k == "b"), 1);
        assert_eq!(second.try_recv(), Ok(Wake::Ready));
    }

    #[test]
    fn only_a_key_of_the_waited_kind_wakes_and_unblock_answers_whether_it_was_parked() {
        let parked = Parked::default();
        let (_, mut rx) = parked.park(1, &[b("a"), b("z")], Kind::ZSet, None).unwrap();
        assert_eq!(parked.wake(|k, kind| k == "a" && kind == Kind::List), 0);
        assert!(parked.is_blocked(1));
        assert!(parked.unblock(1, Wake::Error));
        assert_eq!(rx.try_recv(), Ok(Wake::Error));
        assert!(!parked.unblock(1, Wake::Timeout));
        assert!(!parked.unblock(9, Wake::Timeout));
    }
}
