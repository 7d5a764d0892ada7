//! The calm (`Simulation::schedule_calm`): from a chosen time on, the world stops hurting the
//! cluster, so a runner can judge what must hold once faults stop (eventual convergence).
//!
//! ```text
//!   t < calm   crashes, partitions, loss, duplicates, long delays, as the config says
//!   t = calm   heal; restart every crashed node from its disk
//!   t > calm   no random fault at all; messages only take their ordinary delay
//! ```
//!
//! Tested with a toy protocol: every node pings a random peer on every tick.

use std::fmt;

use distributed_core::{Effects, NodeId, Protocol, Rng, SeededRng};
use sim::{
    CrashFaults, NetworkFaults, PartitionFaults, ShapeWeights, SimConfig, Simulation, TraceLevel,
};

struct Pinger {
    id: NodeId,
    nodes: u64,
    rng: SeededRng,
}

#[derive(Clone, Debug)]
struct Ping;

impl fmt::Display for Ping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ping{}")
    }
}

impl Protocol for Pinger {
    type Message = Ping;
    type Input = Ping;
    type Output = Ping;
    type Write = ();
    type Disk = ();

    fn id(&self) -> NodeId {
        self.id
    }
    fn step(&mut self, _from: NodeId, _msg: Ping, _out: &mut Effects<Self>) {}
    fn tick(&mut self, out: &mut Effects<Self>) {
        let to = NodeId(self.rng.range(1, self.nodes + 1));
        if to != self.id {
            out.send(self.id, to, Ping);
        }
    }
    fn input(&mut self, _input: Ping, _out: &mut Effects<Self>) {}
    fn persist(_disk: &mut (), _write: &()) {}
}

fn stormy(nodes: usize) -> SimConfig {
    let mut c = SimConfig::quiet(nodes);
    c.max_time_units = 30_000;
    c.trace = TraceLevel::Events;
    c.network = NetworkFaults {
        delay_units_min: 5,
        delay_units_max: 50,
        loss_per_million: 100_000,
        duplicate_per_million: 50_000,
        long_delay_per_million: 20_000,
        long_delay_units_min: 100,
        long_delay_units_max: 400,
        in_flight_max: 10_000,
    };
    c.partitions = Some(PartitionFaults {
        interval_units_min: 300,
        interval_units_max: 900,
        duration_units_min: 300,
        duration_units_max: 3_000,
        shapes: ShapeWeights {
            random: 1,
            isolate_leader: 0,
            halves: 1,
            bridge: 1,
        },
        new_leader_per_million: 0,
        new_leader_delay_units_min: 0,
        new_leader_delay_units_max: 0,
    });
    c.crashes = Some(CrashFaults {
        interval_units_min: 200,
        interval_units_max: 600,
        downtime_units_min: 2_000,
        downtime_units_max: 8_000,
        leader_per_million: 0,
        down_nodes_max: None,
        new_leader_per_million: 0,
        new_leader_delay_units_min: 0,
        new_leader_delay_units_max: 0,
    });
    c
}

fn simulation(seed: u64) -> Simulation<Pinger> {
    let nodes = 5;
    Simulation::new(seed, stormy(nodes), move |id, _disk: &(), rng| Pinger {
        id,
        nodes: nodes as u64,
        rng,
    })
    .expect("a valid config")
}

/// The time a trace line names (`t=1200 ...`).
fn time_of(line: &str) -> u64 {
    let t = line
        .strip_prefix("t=")
        .expect("a trace line starts with t=");
    t.split(' ').next().unwrap().parse().expect("a time")
}

#[test]
fn after_the_calm_no_fault_happens_and_every_node_is_up() {
    const CALM: u64 = 10_000;
    for seed in 0..20 {
        let mut sim = simulation(seed);
        sim.schedule_calm(CALM);
        let report = sim.run();
        assert!(sim.is_calm());
        let trace = report.trace.expect("tracing was on");
        let calm_line = trace
            .lines()
            .find(|l| l.contains(" calm: "))
            .expect("the calm is traced");
        assert_eq!(time_of(calm_line), CALM, "seed {seed}: {calm_line}");
        let after: Vec<&str> = trace.lines().filter(|l| time_of(l) > CALM).collect();
        assert!(!after.is_empty(), "seed {seed}: the run went on");
        for line in after {
            for fault in [" crash", "partition {", "(lost)", " dup ", "(partition)"] {
                assert!(!line.contains(fault), "seed {seed} after the calm: {line}");
            }
        }
        let view = sim.view();
        assert!(view.ids().all(|id| view.is_up(id)), "seed {seed}");
        assert!(view.partition().is_none(), "seed {seed}");
    }
}

#[test]
fn the_calm_restarts_the_nodes_that_were_down_when_it_began() {
    let mut restarted_at_calm = 0;
    for seed in 0..20 {
        let mut sim = simulation(seed);
        sim.schedule_calm(10_000);
        let trace = sim.run().trace.expect("tracing was on");
        let calm_line = trace.lines().find(|l| l.contains(" calm: ")).unwrap();
        let n: usize = calm_line
            .split("restarted=")
            .nth(1)
            .and_then(|s| s.trim_end_matches(')').parse().ok())
            .expect("a restart count");
        let restarts_then = trace
            .lines()
            .filter(|l| time_of(l) == 10_000 && l.ends_with(" restart"))
            .count();
        assert!(restarts_then >= n, "seed {seed}: {calm_line}");
        restarted_at_calm += n;
    }
    assert!(
        restarted_at_calm > 0,
        "some seed had a node down at the calm"
    );
}

#[test]
fn a_run_replays_exactly_as_one_without_a_calm_until_the_calm_begins() {
    const CALM: u64 = 12_000;
    for seed in 0..5 {
        let plain = simulation(seed).run().trace.unwrap();
        let mut calmed = simulation(seed);
        calmed.schedule_calm(CALM);
        let calmed = calmed.run().trace.unwrap();
        let before = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| time_of(l) < CALM)
                .map(str::to_string)
                .collect()
        };
        assert_eq!(before(&plain), before(&calmed), "seed {seed}");
    }
}
