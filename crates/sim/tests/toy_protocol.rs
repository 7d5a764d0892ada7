//! The generic simulator, tested with a toy protocol: counter gossip.
//!
//! Each node keeps a durable `count` (clients add to it; every change is persisted) and some
//! volatile state (the highest count it has heard from a peer, who it heard from, how many ticks
//! it has seen). On every tick it gossips its count to one random peer.
//!
//! ```text
//!   client ── Add(k) ──► n2: count += k, persist(count), output Added{count}
//!   n2 tick ── Gossip{count} ──► random peer: seen = max(seen, count), heard_from += n2
//! ```
//!
//! Small enough to reason about by hand, and it exercises every simulator path: inputs,
//! outputs, writes, messages, ticks, crashes (volatile state lost, count kept) and partitions.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

use distributed_core::{Effects, NodeId, Protocol, Rng, SeededRng};
use sim::{
    ClockSkew, ClusterView, CrashFaults, Invariant, NetworkFaults, Partition, PartitionFaults,
    ShapeWeights, SimConfig, Simulation, Stats, Stop, TraceLevel, Workload, WorkloadStep,
};

struct Counter {
    id: NodeId,
    nodes: u64,
    count: u64,
    seen: u64,
    heard_from: BTreeSet<NodeId>,
    ticks: u64,
    rng: SeededRng,
}

#[derive(Clone, Debug)]
struct Gossip {
    count: u64,
}

impl fmt::Display for Gossip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gossip{{count={}}}", self.count)
    }
}

#[derive(Clone, Debug)]
struct Add(u64);

impl fmt::Display for Add {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Add{{k={}}}", self.0)
    }
}

#[derive(Clone, Debug)]
struct Added(u64);

impl fmt::Display for Added {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Added{{count={}}}", self.0)
    }
}

impl Protocol for Counter {
    type Message = Gossip;
    type Input = Add;
    type Output = Added;
    type Write = u64;
    type Disk = u64;

    fn id(&self) -> NodeId {
        self.id
    }
    fn step(&mut self, from: NodeId, msg: Gossip, _out: &mut Effects<Self>) {
        self.seen = self.seen.max(msg.count);
        self.heard_from.insert(from);
    }
    fn tick(&mut self, out: &mut Effects<Self>) {
        self.ticks += 1;
        let peer = NodeId(self.rng.range(1, self.nodes + 1));
        if peer != self.id {
            out.send(self.id, peer, Gossip { count: self.count });
        }
    }
    fn input(&mut self, input: Add, out: &mut Effects<Self>) {
        self.count += input.0;
        out.writes.push(self.count);
        out.outputs.push(Added(self.count));
    }
    fn persist(disk: &mut u64, write: &u64) {
        *disk = *write;
    }
}

fn factory(nodes: u64) -> impl Fn(NodeId, &u64, SeededRng) -> Counter {
    move |id, disk, rng| Counter {
        id,
        nodes,
        count: *disk,
        seen: 0,
        heard_from: BTreeSet::new(),
        ticks: 0,
        rng,
    }
}

/// A client that adds 1..=3 to a random node every 50 units.
struct Adder;

impl Workload<Counter> for Adder {
    fn poll(&mut self, view: &ClusterView<Counter>, rng: &mut SeededRng) -> WorkloadStep<Add> {
        let node = NodeId(rng.range(1, view.len() as u64 + 1));
        WorkloadStep {
            input: Some((node, Add(rng.range(1, 4)))),
            next_poll_units: Some(50),
        }
    }
}

fn all_faults(nodes: usize) -> SimConfig {
    let mut c = SimConfig::quiet(nodes);
    c.max_time_units = 20_000;
    c.network = NetworkFaults {
        delay_units_min: 5,
        delay_units_max: 50,
        loss_per_million: 50_000,
        duplicate_per_million: 20_000,
        long_delay_per_million: 10_000,
        long_delay_units_min: 500,
        long_delay_units_max: 2_000,
        in_flight_max: 10_000,
    };
    c.partitions = Some(PartitionFaults {
        interval_units_min: 1_000,
        interval_units_max: 3_000,
        duration_units_min: 300,
        duration_units_max: 1_500,
        shapes: ShapeWeights {
            random: 1,
            isolate_leader: 1,
            halves: 1,
            bridge: 1,
        },
        new_leader_per_million: 0,
        new_leader_delay_units_min: 0,
        new_leader_delay_units_max: 0,
    });
    c.crashes = Some(CrashFaults {
        interval_units_min: 500,
        interval_units_max: 2_000,
        downtime_units_min: 200,
        downtime_units_max: 1_000,
        leader_per_million: 0,
        down_nodes_max: None,
        new_leader_per_million: 0,
        new_leader_delay_units_min: 0,
        new_leader_delay_units_max: 0,
    });
    c.clock = ClockSkew {
        tick_period_units_min: 90,
        tick_period_units_max: 110,
        drift_per_million: 10_000,
    };
    c
}

fn traced_run(seed: u64) -> String {
    let mut config = all_faults(5);
    config.trace = TraceLevel::Events;
    let mut sim = Simulation::new(seed, config, factory(5))
        .unwrap()
        .with_workload(Adder);
    sim.run().trace.expect("tracing was on")
}

#[test]
fn the_same_seed_twice_gives_a_byte_identical_trace() {
    let a = traced_run(42);
    let b = traced_run(42);
    assert!(a.lines().count() > 1_000, "a run this long has many events");
    assert_eq!(a, b);
    for needle in [
        " crash\n",
        " restart\n",
        " partition {",
        " heal\n",
        " input Add{",
        " output Added{",
        " drop ",
    ] {
        assert!(a.contains(needle), "the trace shows `{needle}`");
    }
}

#[test]
fn different_seeds_give_different_runs() {
    assert_ne!(traced_run(1), traced_run(2));
}

#[test]
fn delivery_lines_have_the_documented_shape() {
    let trace = traced_run(7);
    let line = trace
        .lines()
        .find(|l| l.contains(" Gossip{") && !l.contains("drop") && !l.contains("dup"))
        .unwrap();
    let (time, rest) = line.split_once(' ').unwrap();
    assert!(
        time.starts_with("t=") && time[2..].parse::<u64>().is_ok(),
        "{line}"
    );
    let (route, msg) = rest.split_once(' ').unwrap();
    assert!(route.starts_with('n') && route.contains('→'), "{line}");
    assert!(msg.starts_with("Gossip{count="), "{line}");
}

/// Remembers the last count each node persisted; after a restart, the new node must hold
/// exactly that count and none of its predecessor's volatile state.
struct RestartKeepsDisk {
    persisted: Vec<u64>,
    restarted: Vec<bool>,
    verified: Rc<Cell<u64>>,
}

impl Invariant<Counter> for RestartKeepsDisk {
    fn name(&self) -> &str {
        "restart-keeps-disk"
    }
    fn on_write(&mut self, node: NodeId, write: &u64) -> Result<(), String> {
        self.persisted[node.0 as usize - 1] = *write;
        Ok(())
    }
    fn on_restart(&mut self, node: NodeId) {
        self.restarted[node.0 as usize - 1] = true;
    }
    fn check(&mut self, view: &ClusterView<Counter>) -> Result<(), String> {
        let Some(id) = view.touched() else {
            return Ok(());
        };
        let i = id.0 as usize - 1;
        if !std::mem::take(&mut self.restarted[i]) {
            return Ok(());
        }
        let node = view.node(id).ok_or("restarted node is not up")?;
        if node.count != self.persisted[i] || *view.disk(id).unwrap() != node.count {
            return Err(format!(
                "{id} restarted with count {} but persisted {}",
                node.count, self.persisted[i]
            ));
        }
        if node.seen != 0 || !node.heard_from.is_empty() || node.ticks != 0 {
            return Err(format!("{id} kept volatile state across a crash"));
        }
        self.verified.set(self.verified.get() + 1);
        Ok(())
    }
}

#[test]
fn a_restarted_node_keeps_exactly_its_persisted_state() {
    let verified = Rc::new(Cell::new(0));
    let inv = RestartKeepsDisk {
        persisted: vec![0; 5],
        restarted: vec![false; 5],
        verified: verified.clone(),
    };
    let mut sim = Simulation::new(9, all_faults(5), factory(5))
        .unwrap()
        .with_workload(Adder)
        .with_invariant(inv);
    let report = sim.run();
    assert!(report.is_ok(), "{:?}", report.violation());
    assert!(report.stats.restarts > 3, "{}", report.stats);
    assert_eq!(verified.get(), report.stats.restarts);
}

#[test]
fn messages_across_a_partition_are_dropped() {
    let mut config = SimConfig::quiet(3);
    config.max_time_units = 5_000;
    config.trace = TraceLevel::Events;
    let mut sim = Simulation::new(3, config, factory(3)).unwrap();
    sim.schedule_partition(0, Partition::split(3, &[NodeId(1)]));
    let report = sim.run();
    let view = sim.view();
    assert!(view.node(NodeId(1)).unwrap().heard_from.is_empty());
    for id in [NodeId(2), NodeId(3)] {
        assert!(!view.node(id).unwrap().heard_from.contains(&NodeId(1)));
    }
    assert!(view
        .node(NodeId(2))
        .unwrap()
        .heard_from
        .contains(&NodeId(3)));
    assert!(report.stats.messages_dropped > 10);
    assert!(report
        .trace
        .unwrap()
        .contains("drop Gossip{count=0} (partition)"));
}

#[test]
fn a_healed_partition_lets_messages_through_again() {
    let mut config = SimConfig::quiet(3);
    config.max_time_units = 5_000;
    let mut sim = Simulation::new(3, config, factory(3)).unwrap();
    sim.schedule_partition(0, Partition::split(3, &[NodeId(1)]));
    sim.schedule_heal(2_500);
    sim.run();
    assert!(!sim.view().node(NodeId(1)).unwrap().heard_from.is_empty());
}

/// Fails as soon as any node's count reaches 5.
struct CountBelowFive;

impl Invariant<Counter> for CountBelowFive {
    fn name(&self) -> &str {
        "count-below-five"
    }
    fn check(&mut self, view: &ClusterView<Counter>) -> Result<(), String> {
        match view.live().find(|(_, n)| n.count >= 5) {
            Some((id, n)) => Err(format!("{id} reached count {}", n.count)),
            None => Ok(()),
        }
    }
}

#[test]
fn a_failing_invariant_stops_the_run_with_the_seed_and_recent_events() {
    let config = all_faults(5);
    let max_events = config.max_events;
    let mut sim = Simulation::new(1234, config, factory(5))
        .unwrap()
        .with_workload(Adder)
        .with_invariant(CountBelowFive);
    let report = sim.run();
    let v = report.violation().expect("counts grow past five");
    assert_eq!(v.seed, 1234);
    assert_eq!(v.invariant, "count-below-five");
    assert!(v.message.contains("reached count"), "{}", v.message);
    assert!(!v.recent.is_empty() && v.recent.len() <= 64);
    assert!(
        v.recent.last().unwrap().contains("output Added{count="),
        "{v}"
    );
    assert!(report.stats.events < max_events);
    assert!(v.to_string().contains("seed=1234"));
}

/// Counts crashed nodes after every event and remembers the most seen at once.
struct DownCount(Rc<Cell<usize>>);

impl Invariant<Counter> for DownCount {
    fn name(&self) -> &str {
        "down-count"
    }
    fn check(&mut self, view: &ClusterView<Counter>) -> Result<(), String> {
        let down = view.ids().filter(|id| !view.is_up(*id)).count();
        self.0.set(self.0.get().max(down));
        Ok(())
    }
}

fn most_down_at_once(down_nodes_max: Option<usize>) -> usize {
    let most = Rc::new(Cell::new(0));
    let mut config = all_faults(5);
    config.max_time_units = 200_000;
    let crashes = config.crashes.as_mut().unwrap();
    crashes.interval_units_min = 50;
    crashes.interval_units_max = 200;
    crashes.down_nodes_max = down_nodes_max;
    let mut sim = Simulation::new(5, config, factory(5))
        .unwrap()
        .with_invariant(DownCount(most.clone()));
    sim.run();
    most.get()
}

#[test]
fn random_crashes_never_take_down_more_than_a_minority() {
    assert_eq!(most_down_at_once(None), 2);
}

#[test]
fn the_chaos_setting_lets_a_majority_crash() {
    assert_eq!(most_down_at_once(Some(4)), 4);
}

#[test]
fn skewed_clocks_tick_at_different_rates() {
    let mut config = SimConfig::quiet(5);
    config.clock = ClockSkew {
        tick_period_units_min: 50,
        tick_period_units_max: 150,
        drift_per_million: 0,
    };
    let mut sim = Simulation::new(8, config, factory(5)).unwrap();
    sim.run();
    let ticks: BTreeSet<u64> = sim.view().live().map(|(_, n)| n.ticks).collect();
    assert!(
        ticks.len() > 1,
        "every node ticked the same number of times: {ticks:?}"
    );
}

#[test]
fn a_run_stops_at_max_events() {
    let mut config = all_faults(5);
    config.max_events = 777;
    let mut sim = Simulation::new(1, config, factory(5))
        .unwrap()
        .with_workload(Adder);
    let report = sim.run();
    assert_eq!(report.stop, Stop::MaxEvents);
    assert_eq!(report.stats.events, 777);
}

#[test]
fn a_run_stops_at_max_time() {
    let mut sim = Simulation::new(1, all_faults(5), factory(5))
        .unwrap()
        .with_workload(Adder);
    let report = sim.run();
    assert_eq!(report.stop, Stop::MaxTime);
    assert_eq!(report.stats.final_time, 20_000);
}

#[test]
fn the_network_loses_and_duplicates_messages_at_the_configured_odds() {
    let mut sim = Simulation::new(77, all_faults(5), factory(5)).unwrap();
    let s = sim.run().stats;
    assert!(s.messages_dropped > 0 && s.messages_duplicated > 0, "{s}");
    assert!(s.messages_duplicated * 10 < s.messages_sent, "{s}");
}

/// A gossip as it would be written: a kind byte and its u64 count.
fn gossip_bytes(_: &Gossip) -> usize {
    1 + 8
}

#[test]
fn bytes_sent_count_each_send_once_as_messages_sent_do_duplicates_included() {
    // Every message is duplicated: the network's copies are `messages_duplicated`, not more
    // sends, for the message count and the byte count alike.
    let mut config = SimConfig::quiet(3);
    config.max_time_units = 5_000;
    config.network.duplicate_per_million = 1_000_000;
    let sized = Simulation::new(5, config.clone(), factory(3))
        .unwrap()
        .with_message_size(gossip_bytes)
        .run()
        .stats;
    assert!(sized.messages_sent > 10, "{sized}");
    assert_eq!(sized.messages_duplicated, sized.messages_sent, "{sized}");
    assert_eq!(sized.message_bytes_sent, 9 * sized.messages_sent, "{sized}");
    let shown = format!(" sent_bytes={} ", sized.message_bytes_sent);
    assert!(sized.to_string().contains(&shown), "{sized}");
    // The same seed without a sizer: the same run, counted alike, its bytes unknown and unshown.
    let plain = Simulation::new(5, config, factory(3)).unwrap().run().stats;
    let expected = Stats {
        message_bytes_sent: 0,
        ..sized
    };
    assert_eq!(plain, expected);
    assert!(!plain.to_string().contains("sent_bytes"), "{plain}");
}
