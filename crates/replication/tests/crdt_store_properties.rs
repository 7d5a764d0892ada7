//! Properties of the CRDT store on generated histories (Shapiro et al. 2011 §2.3, strong
//! eventual consistency): key states merged in any order, any number of times, are equal; a
//! cluster whose messages were reordered, duplicated and lost, and whose nodes crashed,
//! converges once the faults stop, keeps every acknowledged put that no later put replaced,
//! and (clients on one node, one key) keeps no stale sibling. Then the broken variants: each
//! is caught by the same rules within a few hundred seeds, replayable by seed; the soak
//! (`cargo test -p replication --test crdt_store_properties -- --ignored`) runs 2,000 each.

mod crdt_store_support;

use clocks::{HlcTimestamp, LwwStamp};
use crdt_store_support::history::{shown, History, Judgement};
use crdt_store_support::Cluster;
use distributed_core::{NodeId, Rng, SeededRng};
use proptest::prelude::*;
use replication::crdt_store::{Config, KeyState, MergeRule, Resolution, Variant};
use replication::Response;

/// One step of three replicas of one key: a client's put or read at a replica, or one replica
/// merging another's state.
#[derive(Clone, Debug)]
enum Step {
    Put { at: usize, client: u64 },
    Read { at: usize, client: u64 },
    Sync { from: usize, to: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3usize, 1..4u64).prop_map(|(at, client)| Step::Put { at, client }),
        2 => (0..3usize, 1..4u64).prop_map(|(at, client)| Step::Read { at, client }),
        3 => (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

/// The three replicas' states after `steps`.
fn replicas(steps: &[Step], resolution: Resolution) -> Vec<KeyState> {
    let rule = match resolution {
        Resolution::MultiValue => MergeRule::Mv,
        Resolution::Lww => MergeRule::Lww,
    };
    let mut held = vec![KeyState::new(resolution); 3];
    for (seq, s) in (1u64..).zip(steps) {
        match *s {
            Step::Put { at, client } => {
                let value = format!("c{client}.{seq}");
                let node = NodeId(at as u64 + 1);
                let op = (client, seq);
                match resolution {
                    Resolution::MultiValue => {
                        held[at]
                            .put_mv(op, value, node, 8)
                            .expect("a put over its own copy");
                    }
                    Resolution::Lww => {
                        let time = HlcTimestamp::new(seq, 0);
                        let stamp = LwwStamp { time, node };
                        held[at]
                            .put_lww(op, value, stamp, 8)
                            .expect("a fresh stamp");
                    }
                }
            }
            Step::Read { at, client } => {
                held[at].record_read(client, 8).expect("room");
            }
            Step::Sync { from, to } => {
                let theirs = held[from].clone();
                held[to].merge(&theirs, rule).expect("one dot, one value");
            }
        }
    }
    held
}

fn merged(order: &[usize], states: &[KeyState], rule: MergeRule) -> KeyState {
    let mut m = states[order[0]].clone();
    for &k in &order[1..] {
        m.merge(&states[k], rule).expect("mergeable");
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn key_states_merged_in_any_order_and_with_duplicates_are_equal(
        steps in prop::collection::vec(step(), 0..32),
        lww in any::<bool>(),
    ) {
        let (resolution, rule) = if lww {
            (Resolution::Lww, MergeRule::Lww)
        } else {
            (Resolution::MultiValue, MergeRule::Mv)
        };
        let states = replicas(&steps, resolution);
        let reference = merged(&[0, 1, 2], &states, rule);
        for order in [[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            prop_assert_eq!(&merged(&order, &states, rule), &reference);
        }
        let again = merged(&[2, 0, 2, 1, 0, 1], &states, rule);
        prop_assert_eq!(again.digest(), reference.digest());
        prop_assert_eq!(reference.check(resolution), Ok(()));
    }
}

/// One event of a cluster's life under faults.
#[derive(Clone, Debug)]
enum Event {
    Put {
        client: u64,
        key: u8,
        node: u64,
    },
    Get {
        client: u64,
        key: u8,
        node: u64,
    },
    Tick,
    /// Deliver the queued message at this index (mod the queue): reordering.
    Deliver(u16),
    /// Queue a copy of this message again: duplication.
    Duplicate(u16),
    /// Remove it: loss.
    Drop(u16),
    Cut(u64, u64),
    Heal,
    Crash(u64),
    Restart(u64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (1..5u64, 0..8u8, 1..4u64).prop_map(|(client, key, node)| Event::Put { client, key, node }),
        3 => (1..5u64, 0..8u8, 1..4u64).prop_map(|(client, key, node)| Event::Get { client, key, node }),
        3 => Just(Event::Tick),
        4 => any::<u16>().prop_map(Event::Deliver),
        1 => any::<u16>().prop_map(Event::Duplicate),
        1 => any::<u16>().prop_map(Event::Drop),
        1 => (1..4u64, 1..4u64).prop_map(|(a, b)| Event::Cut(a, b)),
        1 => Just(Event::Heal),
        1 => (1..4u64).prop_map(Event::Crash),
        1 => (1..4u64).prop_map(Event::Restart),
    ]
}

/// The same events drawn from a seed, with the same weights: what the soak replays.
fn events_from(seed: u64, len: usize) -> Vec<Event> {
    let mut r = SeededRng::new(seed);
    let mut pick = |hi: u64| r.range(0, hi);
    (0..len)
        .map(|_| match pick(20) {
            0..=3 => Event::Put {
                client: 1 + pick(4),
                key: pick(8) as u8,
                node: 1 + pick(3),
            },
            4..=6 => Event::Get {
                client: 1 + pick(4),
                key: pick(8) as u8,
                node: 1 + pick(3),
            },
            7..=9 => Event::Tick,
            10..=13 => Event::Deliver(pick(1 << 16) as u16),
            14 => Event::Duplicate(pick(1 << 16) as u16),
            15 => Event::Drop(pick(1 << 16) as u16),
            16 => Event::Cut(1 + pick(3), 1 + pick(3)),
            17 => Event::Heal,
            18 => Event::Crash(1 + pick(3)),
            _ => Event::Restart(1 + pick(3)),
        })
        .collect()
}

/// Who runs, and how clients behave.
#[derive(Clone, Copy, Debug)]
struct Setup {
    variant: Variant,
    resolution: Resolution,
    /// Each client always uses the node `client % 3 + 1`; otherwise the event's node.
    sticky: bool,
    /// Keys used: `key % keys`.
    keys: u8,
}

/// What a run showed: did the nodes converge, and each node's judgement of the history.
struct Outcome {
    converged: bool,
    judgements: Vec<Judgement>,
}

/// Clocks: n1 runs 30 ticks ahead, n3 15 (an HLC bound far above any run's length, so only
/// the variants, not the drift bound, decide what LWW keeps); gossip every 3 ticks; one push.
fn cluster(setup: Setup, seed: u64) -> Cluster {
    Cluster::new(3, seed, move |c| {
        let offset = [30, 0, 15][c.id.0 as usize - 1];
        Config {
            resolution: setup.resolution,
            gossip_interval_ticks: 3,
            push_fanout: 1,
            hlc_max_offset_ticks: 100_000,
            physical_clock_offset_ticks: offset,
            ..c
        }
        .with_variant(setup.variant)
    })
}

fn run(events: &[Event], setup: Setup, seed: u64) -> Outcome {
    let mut c = cluster(setup, seed);
    let mut history = History::default();
    for (k, e) in events.iter().enumerate() {
        apply(&mut c, &mut history, e, setup, k as u64);
    }
    c.heal();
    for id in 1..=3 {
        if !c.is_up(NodeId(id)) {
            c.restart(NodeId(id));
        }
    }
    let converged = c.converge(300).is_some();
    let judgements = (1..=3).map(|id| history.judge(&c.registers(id))).collect();
    Outcome {
        converged,
        judgements,
    }
}

fn apply(c: &mut Cluster, history: &mut History, e: &Event, setup: Setup, k: u64) {
    let at = |client: u64, node: u64| if setup.sticky { client % 3 + 1 } else { node };
    let key = |key: u8| format!("k{}", key % setup.keys);
    match *e {
        Event::Put {
            client,
            key: kk,
            node,
        } if c.is_up(NodeId(at(client, node))) => {
            let (key, value) = (key(kk), format!("c{client}.{k}"));
            let response = c.put(at(client, node), client, &key, &value);
            assert_eq!(response, Response::Ok, "an available store takes every put");
            history.put(client, &key, &value);
        }
        Event::Get {
            client,
            key: kk,
            node,
        } if c.is_up(NodeId(at(client, node))) => {
            let key = key(kk);
            let response = c.get(at(client, node), client, &key);
            history.get(client, &key, &shown(&response));
        }
        Event::Put { .. } | Event::Get { .. } => {} // its node is down: no answer, no effect
        Event::Tick => c.run_tick(),
        Event::Deliver(i) | Event::Duplicate(i) | Event::Drop(i) if !c.network.is_empty() => {
            let i = i as usize % c.network.len();
            match e {
                Event::Deliver(_) => {
                    let env = c.network.remove(i).expect("in range");
                    c.deliver(env);
                    c.check();
                }
                Event::Duplicate(_) => {
                    let copy = c.network[i].clone();
                    c.network.push_back(copy);
                }
                _ => drop(c.network.remove(i)),
            }
        }
        Event::Deliver(_) | Event::Duplicate(_) | Event::Drop(_) => {}
        Event::Cut(a, b) if a != b => c.partition(&[NodeId(a)], &[NodeId(b)]),
        Event::Cut(..) => {}
        Event::Heal => c.heal(),
        Event::Crash(id) => c.crash(NodeId(id)),
        Event::Restart(id) if !c.is_up(NodeId(id)) => c.restart(NodeId(id)),
        Event::Restart(_) => {}
    }
}

impl Cluster {
    /// Every running node ticks once (messages stay queued: the events deliver them).
    fn run_tick(&mut self) {
        self.tick_all();
        self.check();
    }
}

const MV: Resolution = Resolution::MultiValue;
const LWW: Resolution = Resolution::Lww;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn an_mv_store_under_faults_converges_and_every_missing_put_was_replaced_by_one_that_saw_it(
        events in prop::collection::vec(event(), 0..80),
    ) {
        let setup = Setup { variant: Variant::Correct, resolution: MV, sticky: false, keys: 3 };
        let out = run(&events, setup, 1);
        prop_assert!(out.converged, "replicas still differ after the faults stopped");
        for j in &out.judgements {
            prop_assert!(j.thin_air.is_empty() && j.unexplained.is_empty(), "{:?}", j);
        }
    }

    #[test]
    fn clients_that_stay_on_one_node_leave_no_stale_sibling_on_one_key(
        events in prop::collection::vec(event(), 0..80),
    ) {
        let setup = Setup { variant: Variant::Correct, resolution: MV, sticky: true, keys: 1 };
        let out = run(&events, setup, 1);
        prop_assert!(out.converged);
        for j in &out.judgements {
            prop_assert!(!j.checker_fails() && j.unexplained.is_empty(), "{:?}", j);
        }
    }

    #[test]
    fn an_hlc_lww_store_under_skew_and_faults_converges_and_never_loses_a_causally_later_put(
        events in prop::collection::vec(event(), 0..80),
    ) {
        let setup = Setup { variant: Variant::Correct, resolution: LWW, sticky: true, keys: 3 };
        let out = run(&events, setup, 1);
        prop_assert!(out.converged);
        for j in &out.judgements {
            prop_assert!(j.thin_air.is_empty() && j.lost.is_empty(), "{:?}", j);
        }
    }
}

/// Run `seeds` seeded histories of `setup`; the seeds whose run the checker's rules catch
/// (divergence, thin air, a lost put, a stale sibling).
fn caught(setup: Setup, seeds: std::ops::Range<u64>) -> Vec<u64> {
    seeds
        .filter(|&seed| {
            let out = run(&events_from(seed, 80), setup, seed);
            !out.converged || out.judgements.iter().any(Judgement::checker_fails)
        })
        .collect()
}

/// Every variant, with the resolution it breaks (the correct store with both); clients stay
/// on one node, one key: where the correct store promises no stale sibling.
fn setups() -> Vec<Setup> {
    Variant::ALL
        .into_iter()
        .flat_map(|variant| {
            let resolutions = match variant.breaks() {
                Some(r) => vec![r],
                None => vec![MV, LWW],
            };
            resolutions.into_iter().map(move |resolution| Setup {
                variant,
                resolution,
                sticky: true,
                keys: 1,
            })
        })
        .collect()
}

#[test]
fn each_broken_variant_is_caught_within_200_seeds_and_the_correct_store_never() {
    for setup in setups() {
        let hits = caught(setup, 0..200);
        match setup.variant {
            Variant::Correct => assert!(hits.is_empty(), "{setup:?} caught at {hits:?}"),
            _ => assert!(!hits.is_empty(), "{setup:?} never caught in 200 seeds"),
        }
    }
}

#[test]
#[ignore = "soak: 2,000 seeds per variant, about a minute"]
fn soak_every_variant_on_two_thousand_seeds() {
    for setup in setups() {
        let hits = caught(setup, 0..2000);
        eprintln!(
            "{:<22} {:<3} caught {:>4}/2000, first at seed {:?}",
            setup.variant.name(),
            setup.resolution.name(),
            hits.len(),
            hits.first()
        );
        match setup.variant {
            Variant::Correct => assert!(hits.is_empty(), "{setup:?} caught at {hits:?}"),
            _ => assert!(!hits.is_empty()),
        }
    }
}

#[test]
fn a_seeded_history_replays_exactly() {
    let setup = setups()[2];
    let a = run(&events_from(42, 80), setup, 42);
    let b = run(&events_from(42, 80), setup, 42);
    assert_eq!(a.converged, b.converged);
    assert_eq!(a.judgements, b.judgements);
}
