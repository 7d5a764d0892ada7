//! Ground truth for the clocks: executions whose happened-before relation is known exactly
//! (each event carries its causal past as a set), against which every clock is checked.
//!
//! ```text
//!   events: n0 local │ n1 send m0 │ n2 receive m0 │ …      (messages delivered in any order)
//!   history(e) = {e} ∪ history(previous event on e's node) ∪ history(send of a received m)
//!   e → f  ⇔  e ∈ history(f), e ≠ f                          (Lamport 1978)
//! ```
//!
//! And for dotted version vectors: a model in which every write knows the dots it supersedes,
//! so the siblings a store must keep are the maximal writes it has heard of.

use std::collections::{BTreeMap, BTreeSet};

use clocks::{
    Causality, ClockError, DvvSet, Hlc, HlcTimestamp, LamportClock, LamportTimestamp, VectorClock,
    VersionVector,
};
use distributed_core::NodeId;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Processes in an execution.
pub const PROCESSES: usize = 3;
/// The HLC drift bound in the executions; node skews go past it, so some receives are refused.
pub const MAX_OFFSET: u64 = 10;

/// One event: at `node`, a local event (kind 0), a send (1) or a receive of the in-flight
/// message `pick` modulo their count (2, a local event if none is in flight).
#[derive(Clone, Debug)]
pub struct Event {
    pub node: usize,
    pub kind: u8,
    pub pick: u8,
    /// Global physical time that passes before the event.
    pub advance: u8,
}

/// A node's clock skew: often equal to another node's (so HLC receives meet equal wall
/// times, Fig. 5's `l = l' = l_m` case), sometimes past the drift bound (so some are refused).
fn skew() -> impl Strategy<Value = u64> {
    prop::sample::select(vec![0u64, 0, 3, 12, 25])
}

/// Physical time between events: mostly none, so several events share one wall time and
/// the logical counter does the ordering.
fn advance() -> impl Strategy<Value = u8> {
    prop::sample::select(vec![0u8, 0, 0, 1, 4])
}

/// Executions of up to `len_max` events, with each node's clock skew.
pub fn executions(len_max: usize) -> impl Strategy<Value = (Vec<Event>, [u64; PROCESSES])> {
    let event =
        (0..PROCESSES, 0..3u8, any::<u8>(), advance()).prop_map(|(node, kind, pick, advance)| {
            Event {
                node,
                kind,
                pick,
                advance,
            }
        });
    (
        prop::collection::vec(event, 0..len_max),
        [skew(), skew(), skew()],
    )
}

/// What each clock said about one event.
struct Stamped {
    history: BTreeSet<usize>,
    lamport: LamportTimestamp,
    vector: VectorClock,
    hlc: HlcTimestamp,
}

/// A message in flight: the sender's stamps.
struct Message {
    send_event: usize,
    lamport: LamportTimestamp,
    vector: VectorClock,
    hlc: HlcTimestamp,
}

/// Runs the execution with every clock and checks each against happened-before.
pub fn check_clocks(events: &[Event], skew: [u64; PROCESSES]) -> Result<(), TestCaseError> {
    let node_id = |i: usize| NodeId(i as u64 + 1);
    let mut lamport: Vec<LamportClock> = (0..PROCESSES)
        .map(|i| LamportClock::new(node_id(i)))
        .collect();
    let mut vector = vec![VectorClock::new(); PROCESSES];
    let mut hlc = vec![Hlc::new(MAX_OFFSET); PROCESSES];
    let mut last: Vec<Option<usize>> = vec![None; PROCESSES];
    let (mut stamped, mut in_flight) = (Vec::<Stamped>::new(), Vec::<Message>::new());
    let mut now = 0u64;
    for (id, e) in events.iter().enumerate() {
        now += u64::from(e.advance);
        let (i, physical) = (e.node, now + skew[e.node]);
        let mut history: BTreeSet<usize> = last[i]
            .map(|p| stamped[p].history.clone())
            .unwrap_or_default();
        history.insert(id);
        let received = (e.kind == 2 && !in_flight.is_empty())
            .then(|| in_flight.remove(usize::from(e.pick) % in_flight.len()));
        let before = hlc[i].clone();
        let accepted = match &received {
            Some(m) => match hlc[i].update(m.hlc, physical) {
                Ok(ts) => Some((m, ts)),
                Err(err) => {
                    check_refusal(&err, m.hlc, physical)?;
                    prop_assert_eq!(&hlc[i], &before, "a refused update changes nothing");
                    None
                }
            },
            None => None,
        };
        let (l, v, h) = match accepted {
            Some((m, ts)) => {
                history.extend(stamped[m.send_event].history.iter().copied());
                let l = lamport[i].receive(m.lamport).expect("small");
                vector[i].receive(node_id(i), &m.vector).expect("small");
                prop_assert!(ts > m.hlc, "an HLC receive is after its send");
                (l, vector[i].clone(), ts)
            }
            None => {
                let l = lamport[i].tick().expect("small");
                vector[i].increment(node_id(i)).expect("small");
                (l, vector[i].clone(), hlc[i].now(physical).expect("small"))
            }
        };
        prop_assert!(h > before.last(), "HLC is monotone on a node");
        prop_assert!(h.wall >= physical, "HLC l ≥ pt");
        prop_assert!(h.wall <= physical + MAX_OFFSET, "HLC l ≤ pt + max_offset");
        if e.kind == 1 {
            in_flight.push(Message {
                send_event: id,
                lamport: l,
                vector: v.clone(),
                hlc: h,
            });
        }
        last[i] = Some(id);
        stamped.push(Stamped {
            history,
            lamport: l,
            vector: v,
            hlc: h,
        });
    }
    check_pairs(&stamped)
}

fn check_refusal(
    err: &ClockError,
    received: HlcTimestamp,
    physical: u64,
) -> Result<(), TestCaseError> {
    match err {
        ClockError::ClockDriftExceeded {
            ahead_by,
            max_offset,
            ..
        } => {
            prop_assert_eq!(*ahead_by, received.wall - physical);
            prop_assert!(*ahead_by > *max_offset);
            Ok(())
        }
        other => Err(TestCaseError::fail(format!("unexpected refusal: {other}"))),
    }
}

/// For every pair of events: vector order ⇔ happened-before; Lamport and HLC respect it;
/// Lamport timestamps are all distinct (a total order).
fn check_pairs(stamped: &[Stamped]) -> Result<(), TestCaseError> {
    for (a, ea) in stamped.iter().enumerate() {
        for (b, eb) in stamped.iter().enumerate().filter(|&(b, _)| b != a) {
            let a_before_b = eb.history.contains(&a);
            let b_before_a = ea.history.contains(&b);
            let expected = match (a_before_b, b_before_a) {
                (true, _) => Causality::Before,
                (_, true) => Causality::After,
                _ => Causality::Concurrent,
            };
            prop_assert_eq!(
                ea.vector.compare(&eb.vector),
                expected,
                "events {} and {}",
                a,
                b
            );
            prop_assert_ne!(ea.lamport, eb.lamport, "Lamport's total order has no ties");
            if a_before_b {
                prop_assert!(ea.lamport < eb.lamport, "Clock Condition");
                prop_assert!(ea.hlc < eb.hlc, "HLC respects happened-before");
            }
        }
    }
    Ok(())
}

/// One DVV-store operation: at `replica`, either a write whose client read `read_from`
/// (or wrote blind) or a sync from `read_from`.
#[derive(Clone, Debug)]
pub struct StoreOp {
    pub replica: usize,
    pub read_from: Option<usize>,
    pub sync: bool,
}

/// Scripts of up to `len_max` store operations over three replicas.
pub fn store_ops(len_max: usize) -> impl Strategy<Value = Vec<StoreOp>> {
    let op = (
        0..3usize,
        prop::option::of(0..3usize),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(replica, read_from, sync)| StoreOp {
            replica,
            read_from,
            sync,
        });
    prop::collection::vec(op, 0..len_max)
}

/// Every dot a version vector stands for.
fn dots_of(vv: &VersionVector) -> BTreeSet<(NodeId, u64)> {
    vv.iter()
        .flat_map(|(n, c)| (1..=c).map(move |k| (n, k)))
        .collect()
}

/// The DVV store keeps exactly the writes it has heard of that no other write it has heard
/// of superseded (Preguiça et al. 2010): checked after every operation against a model where
/// each write carries the dots its client had read.
pub fn check_dvv(ops: &[StoreOp]) -> Result<(), TestCaseError> {
    let mut stores: Vec<DvvSet<usize>> = vec![DvvSet::new(); 3];
    let mut known: Vec<BTreeSet<(NodeId, u64)>> = vec![BTreeSet::new(); 3];
    let mut supersedes: BTreeMap<(NodeId, u64), BTreeSet<(NodeId, u64)>> = BTreeMap::new();
    let mut value_of: BTreeMap<(NodeId, u64), usize> = BTreeMap::new();
    for (k, op) in ops.iter().enumerate() {
        let r = op.replica;
        match (op.sync, op.read_from) {
            (true, Some(from)) => {
                let other = stores[from].clone();
                stores[r].merge(&other).expect("small");
                let theirs = known[from].clone();
                known[r].extend(theirs);
            }
            (_, read_from) => {
                let context = read_from.map(|f| stores[f].get().1).unwrap_or_default();
                let dot = stores[r]
                    .put(&context, k, NodeId(r as u64 + 1))
                    .expect("small");
                let dot = (dot.node, dot.counter);
                supersedes.insert(dot, dots_of(&context));
                value_of.insert(dot, k);
                known[r].insert(dot);
            }
        }
        let expected: BTreeMap<(NodeId, u64), usize> = known[r]
            .iter()
            .filter(|d| !known[r].iter().any(|w| supersedes[w].contains(d)))
            .map(|d| (*d, value_of[d]))
            .collect();
        let got: BTreeMap<(NodeId, u64), usize> = stores[r]
            .siblings()
            .map(|(d, v)| ((d.node, d.counter), *v))
            .collect();
        prop_assert_eq!(got, expected, "after op {}", k);
    }
    Ok(())
}
