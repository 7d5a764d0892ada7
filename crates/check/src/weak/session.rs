//! The four session guarantees (Terry, Demers, Petersen, Spreitzer, Theimer & Welch, *Session
//! Guarantees for Weakly Consistent Replicated Data*, PDIS 1994), each with its own verdict.
//!
//! Terry et al. define them on the servers: `DB(S,t)` is the set of writes server `S` holds at
//! time `t`, and `WriteOrder(W1,W2)` says `W1` is applied before `W2` everywhere (§2):
//!
//! - **Read Your Writes**: "If Read R follows Write W in a session and R is performed at server
//!   S at time t, then W is included in DB(S,t)."
//! - **Monotonic Reads**: "If Read R1 occurs before R2 in a session and R1 accesses server S1 at
//!   time t1 and R2 accesses server S2 at time t2, then RelevantWrites(S1,t1,R1) is a subset of
//!   DB(S2,t2)."
//! - **Writes Follow Reads**: "If Read R1 precedes Write W2 in a session and R1 is performed at
//!   server S1 at time t1, then, for any server S2, if W2 is in DB(S2) then any W1 in
//!   RelevantWrites(S1,t1,R1) is also in DB(S2) and WriteOrder(W1,W2)."
//! - **Monotonic Writes**: "If Write W1 precedes Write W2 in a session, then, for any server
//!   S2, if W2 in DB(S2) then W1 is also in DB(S2) and WriteOrder(W1,W2)."
//!
//! A history shows neither servers nor `DB`, only what reads returned. Read from the clients'
//! side, each guarantee constrains one half of a read's explanation, *visibility* (which writes
//! the read's server must hold) or *order* (how they are applied), and says nothing about the
//! other half; we take the causal order `co` for that other half. Then each guarantee is a
//! restricted form of a causal bad pattern (`causal.rs`): WriteCORead `w1 →co w2 →co r` with
//! one of its two `co` legs narrowed to the guarantee's own relation, or WriteCOInitRead. For
//! a read `r` of key `x` that saw the put `w_r` (or nil), with `w1`, `w2` puts to `x`:
//!
//! ```text
//!   read-your-writes     w2 →so r  (the client's own earlier put)
//!                        and  r saw nil,  or  w_r →co w2          visibility: so
//!   monotonic reads      w1 →wr r1 →so r  (a put an earlier read of the client saw)
//!                        and  r saw nil,  or  w_r →co w1          visibility: wr;so
//!   writes-follow-reads  w1 →wr r1 →so w2 →co r,  r saw w1        order: wr;so
//!   monotonic writes     w1 →so w2 →co r,  r saw w1               order: so
//! ```
//!
//! Each narrowed leg is contained in `co`, so every violation here is a causal bad pattern:
//! causal consistency implies all four (the converse fails: a read may see a put whose own
//! causal past it misses, on another client's behalf, and break none of them). The road not
//! taken: Viotti & Vukolić's (2016) formalisation with an existential arbitration order,
//! under which read-your-writes alone is broken only by a read of nil, since any other stale
//! value can be explained by arbitrating it last; a checker needs the write order to say
//! something, and `co` is the order every guarantee's implementation (Bayou's) respects.
//!
//! Session order: `a →so b` iff the same client issued `a` then `b` and `a` returned
//! (`order.rs`). Cost: one pass per guarantee over the reads; writes-follow-reads scans the
//! readers of each read's writer. Evidence: the shortest chain among the first
//! [`EVIDENCE_CANDIDATES_MAX`] reads that break the guarantee.

use std::collections::HashMap;

use super::causal::finish;
use super::order::{CausalOrder, Link};
use super::registers::{ReadsFrom, Registers};
use super::verdict::{join, Edge, Verdict, WeakModel, WeakReport, EVIDENCE_CANDIDATES_MAX};

/// One broken read's evidence: the chain, the roles, and the headline.
type Evidence = (Vec<Link>, Vec<(usize, &'static str)>, String);

/// The four verdicts, in [`WeakModel::SESSION`] order.
pub(crate) fn check(view: &Registers<'_>, co: &CausalOrder) -> Vec<(WeakModel, Verdict)> {
    let puts = SessionPuts::new(view);
    WeakModel::SESSION
        .iter()
        .map(|&model| {
            let broken: Vec<Evidence> = match model {
                WeakModel::ReadYourWrites => read_your_writes(view, co),
                WeakModel::MonotonicReads => monotonic_reads(view, co),
                WeakModel::WritesFollowReads => writes_follow_reads(view, co, &puts),
                _ => monotonic_writes(view, co, &puts),
            };
            (model, verdict(view, model, broken))
        })
        .collect()
}

/// `Holds`, or the shortest of the first evidence chains.
fn verdict(view: &Registers<'_>, model: WeakModel, broken: Vec<Evidence>) -> Verdict {
    let instances = broken.len();
    let shortest = broken
        .into_iter()
        .take(EVIDENCE_CANDIDATES_MAX)
        .min_by_key(|(links, _, _)| (links.len(), links.last().map(|l| l.0)));
    match shortest {
        None => Verdict::Holds,
        Some((links, roles, headline)) => {
            let pattern = pattern_of(model);
            let report: WeakReport =
                finish(view, model, pattern, headline, &links, &roles, instances);
            Verdict::Violation(Box::new(report))
        }
    }
}

/// The pattern's name in reports: which causal pattern, narrowed how.
fn pattern_of(model: WeakModel) -> &'static str {
    match model {
        WeakModel::ReadYourWrites => "own write not visible (WriteCORead/WriteCOInitRead via so)",
        WeakModel::MonotonicReads => "read went back (WriteCORead/WriteCOInitRead via wr;so)",
        WeakModel::WritesFollowReads => {
            "write ordered before what it followed (WriteCORead via wr;so)"
        }
        _ => "session writes reordered (WriteCORead via so)",
    }
}

/// Read-your-writes: per session, the latest returned own put per key; a later read of that
/// key must not see nil or a value causally before it (earlier own puts are so-before the
/// latest, so the latest is the only one to test).
fn read_your_writes(view: &Registers<'_>, co: &CausalOrder) -> Vec<Evidence> {
    let mut broken = Vec::new();
    for session in &view.sessions {
        let mut own: HashMap<usize, usize> = HashMap::new();
        for &i in &session.ops {
            let key = view.ops[i].key;
            match view.reads_from(i) {
                None if view.ops[i].returned => {
                    own.insert(key, i);
                }
                Some(from) => {
                    let Some(&w2) = own.get(&key) else { continue };
                    let tail = vec![(w2, Some(Edge::So)), (i, None)];
                    let what = format!("{} missed its own earlier {}", view.name(i), view.name(w2));
                    match from {
                        ReadsFrom::Init => {
                            broken.push((
                                tail,
                                vec![(w2, "own write"), (i, "r")],
                                format!("{what}: it read nil"),
                            ));
                        }
                        ReadsFrom::Put(w) if w != w2 && co.before(w, w2) => {
                            let links = join(co.path(w, w2).expect("w <co w2"), tail);
                            let roles = vec![(w, "w"), (w2, "own write"), (i, "r")];
                            let why = format!(
                                "{what}: it read {}, which that put causally replaced",
                                view.name(w)
                            );
                            broken.push((links, roles, why));
                        }
                        _ => {}
                    }
                }
                None => {}
            }
        }
    }
    broken
}

/// Monotonic reads: per session and key, the puts earlier reads saw (only the co-maximal
/// ones, each with the first read that saw it); a read must not see nil or a value causally
/// before any of them.
fn monotonic_reads(view: &Registers<'_>, co: &CausalOrder) -> Vec<Evidence> {
    let mut broken = Vec::new();
    for session in &view.sessions {
        // key → [(put seen, the earlier read that saw it)], co-maximal puts only.
        let mut seen: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
        for &r in &session.ops {
            let Some(from) = view.reads_from(r) else {
                continue;
            };
            let frontier = seen.entry(view.ops[r].key).or_default();
            let behind = frontier.iter().copied().find(|&(w1, _)| match from {
                ReadsFrom::Init => true,
                ReadsFrom::Put(w) => w != w1 && co.before(w, w1),
                ReadsFrom::Nowhere => false,
            });
            if let Some((w1, r1)) = behind {
                let tail = vec![(w1, Some(Edge::Wr)), (r1, Some(Edge::So)), (r, None)];
                let earlier = format!(
                    "the same client's earlier {} had seen {}",
                    view.name(r1),
                    view.name(w1)
                );
                match from {
                    ReadsFrom::Put(w) => {
                        let headline = format!(
                            "{} went back in time: it read {}, which is causally before what \
                             {earlier}",
                            view.name(r),
                            view.name(w)
                        );
                        let links = join(co.path(w, w1).expect("w <co w1"), tail);
                        let roles = vec![(w, "w"), (w1, "w1"), (r1, "r1"), (r, "r")];
                        broken.push((links, roles, headline));
                    }
                    _ => {
                        let headline = format!("{} read nil, though {earlier}", view.name(r));
                        broken.push((tail, vec![(w1, "w1"), (r1, "r1"), (r, "r")], headline));
                    }
                }
                continue;
            }
            if let ReadsFrom::Put(w) = from {
                if !frontier.iter().any(|&(w1, _)| w1 == w || co.before(w, w1)) {
                    frontier.retain(|&(w1, _)| !co.before(w1, w));
                    frontier.push((w, r));
                }
            }
        }
    }
    broken
}

/// Monotonic writes: a read of `w1` must not have in its causal past a put to the same key
/// that `w1`'s client issued after `w1`.
fn monotonic_writes(view: &Registers<'_>, co: &CausalOrder, puts: &SessionPuts) -> Vec<Evidence> {
    let mut broken = Vec::new();
    for r in 0..view.ops.len() {
        let Some(ReadsFrom::Put(w1)) = view.reads_from(r) else {
            continue;
        };
        if !view.ops[w1].returned {
            continue; // no so edge leaves a put with no return
        }
        let (s, pos) = (view.ops[w1].session, view.ops[w1].position);
        if let Some(w2) = puts
            .later(view, s, view.ops[r].key, pos)
            .find(|&w2| co.before(w2, r))
        {
            let links = join(
                vec![(w1, Some(Edge::So)), (w2, None)],
                co.path(w2, r).expect("w2 <co r"),
            );
            let headline = format!(
                "{} read {}, although the same client's later {} was causally before the read",
                view.name(r),
                view.name(w1),
                view.name(w2)
            );
            broken.push((links, vec![(w1, "w1"), (w2, "w2"), (r, "r")], headline));
        }
    }
    broken
}

/// Writes-follow-reads: a read of `w1` must not have in its causal past a put to the same key
/// that some client issued after reading `w1`.
fn writes_follow_reads(
    view: &Registers<'_>,
    co: &CausalOrder,
    puts: &SessionPuts,
) -> Vec<Evidence> {
    let mut broken = Vec::new();
    for r in 0..view.ops.len() {
        let Some(ReadsFrom::Put(w1)) = view.reads_from(r) else {
            continue;
        };
        let key = view.ops[r].key;
        let found = view.readers[w1].iter().find_map(|&r1| {
            let (s, pos) = (view.ops[r1].session, view.ops[r1].position);
            let w2 = puts.later(view, s, key, pos).find(|&w2| co.before(w2, r))?;
            Some((r1, w2))
        });
        if let Some((r1, w2)) = found {
            let head = vec![(w1, Some(Edge::Wr)), (r1, Some(Edge::So)), (w2, None)];
            let links = join(head, co.path(w2, r).expect("w2 <co r"));
            let headline = format!(
                "{} read {}, although {} was written after {} had read it, and was causally \
                 before the read",
                view.name(r),
                view.name(w1),
                view.name(w2),
                view.name(r1)
            );
            broken.push((
                links,
                vec![(w1, "w1"), (r1, "r1"), (w2, "w2"), (r, "r")],
                headline,
            ));
        }
    }
    broken
}

/// Each session's puts per key, in session order.
struct SessionPuts {
    /// (session, key) → puts in session order.
    by: HashMap<(usize, usize), Vec<usize>>,
}

impl SessionPuts {
    fn new(view: &Registers<'_>) -> Self {
        let mut by: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
        for (s, session) in view.sessions.iter().enumerate() {
            for &i in session.ops.iter().filter(|&&i| view.is_put(i)) {
                by.entry((s, view.ops[i].key)).or_default().push(i);
            }
        }
        SessionPuts { by }
    }

    /// The puts to `key` that session `s` issued after `position`, up to and including the
    /// first that returned: it is so-before every later one, so if none of these is co-before
    /// a read, no later one is either.
    fn later<'a>(
        &'a self,
        view: &'a Registers<'_>,
        s: usize,
        key: usize,
        position: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        let puts = self.by.get(&(s, key)).map_or(&[][..], Vec::as_slice);
        let from = puts.partition_point(|&w| view.ops[w].position <= position);
        let mut done = false;
        puts[from..].iter().copied().take_while(move |&w| {
            let take = !done;
            done = view.ops[w].returned;
            take
        })
    }
}
