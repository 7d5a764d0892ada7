//! The simulated disk of a node that overlaps writes with sends (contract step 5 of
//! `distributed_core::Protocol`; Raft thesis §10.2.1), tested with a toy: a writer whose copy
//! to a peer may leave before its own write is durable, and whose acknowledgement may not.
//!
//! ```text
//!   client ── Put{v} ──► n1: write v; n1→n2 Copy{v} (early); n1→n2 Ack{v} (held)
//!                        Fsync after 50 units ─► disk = v ─► n1→n2 Ack{v} ─► input Synced{v}
//!   client ── Ping ────► n1: no write; n1→n2 Pong (held behind any write on its way)
//! ```
//!
//! Network: a fixed 10-unit hop; fsync: a fixed 50 units. So, on a quiet run: the copy
//! arrives at t=10, the fsync completes at t=50, the acknowledgement arrives at t=60.

use std::fmt;

use distributed_core::{Effects, NodeId, Protocol, SeededRng};
use sim::{
    ClusterView, DiskTiming, SimConfig, Simulation, Time, TraceLevel, Workload, WorkloadStep,
};

struct Writer {
    id: NodeId,
    /// The last value this node was told is durable.
    synced: u64,
}

#[derive(Clone, Debug)]
enum Msg {
    Copy(u64),
    Ack(u64),
    Pong,
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Copy(v) => write!(f, "Copy{{v={v}}}"),
            Msg::Ack(v) => write!(f, "Ack{{v={v}}}"),
            Msg::Pong => write!(f, "Pong{{}}"),
        }
    }
}

#[derive(Clone, Debug)]
enum In {
    Put(u64),
    Ping,
    Synced(u64),
}

impl fmt::Display for In {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            In::Put(v) => write!(f, "Put{{v={v}}}"),
            In::Ping => write!(f, "Ping{{}}"),
            In::Synced(v) => write!(f, "Synced{{v={v}}}"),
        }
    }
}

impl Protocol for Writer {
    type Message = Msg;
    type Input = In;
    type Output = String;
    type Write = u64;
    type Disk = u64;

    fn id(&self) -> NodeId {
        self.id
    }
    fn step(&mut self, _from: NodeId, _msg: Msg, _out: &mut Effects<Self>) {}
    fn tick(&mut self, _out: &mut Effects<Self>) {}
    fn input(&mut self, input: In, out: &mut Effects<Self>) {
        let peer = NodeId(2);
        match input {
            In::Put(v) => {
                out.writes.push(v);
                out.send(self.id, peer, Msg::Copy(v));
                out.send(self.id, peer, Msg::Ack(v));
            }
            In::Ping => out.send(self.id, peer, Msg::Pong),
            In::Synced(v) => {
                self.synced = v;
                out.outputs.push(format!("synced={v}"));
            }
        }
    }
    fn persist(disk: &mut u64, write: &u64) {
        *disk = *write;
    }
    fn overlaps_writes(&self) -> bool {
        true
    }
    fn sends_before_durable(&self, msg: &Msg) -> bool {
        matches!(msg, Msg::Copy(_))
    }
    fn durable_input(&self, writes: &[u64]) -> Option<In> {
        writes.last().map(|v| In::Synced(*v))
    }
}

/// Hands n1 each input at its time, in order.
struct Script(Vec<(Time, In)>);

impl Workload<Writer> for Script {
    fn poll(&mut self, view: &ClusterView<Writer>, _rng: &mut SeededRng) -> WorkloadStep<In> {
        let now = view.now();
        let k = self.0.iter().position(|(at, _)| *at <= now);
        let input = k.map(|k| (NodeId(1), self.0.remove(k).1));
        WorkloadStep {
            input,
            next_poll_units: (!self.0.is_empty()).then_some(1),
        }
    }
}

fn simulation(script: Vec<(Time, In)>) -> Simulation<Writer> {
    let mut c = SimConfig::quiet(2);
    c.max_time_units = 500;
    c.trace = TraceLevel::Events;
    c.disk = DiskTiming {
        fsync_units_min: 50,
        fsync_units_max: 50,
    };
    let factory = |id, _disk: &u64, _rng| Writer { id, synced: 0 };
    Simulation::new(7, c, factory)
        .expect("a valid config")
        .with_workload(Script(script))
}

fn trace_lines(sim: &mut Simulation<Writer>) -> Vec<String> {
    let report = sim.run();
    assert!(report.is_ok(), "{:?}", report.stop);
    let trace = report.trace.expect("tracing is on");
    trace.lines().map(str::to_string).collect()
}

#[test]
fn the_early_copy_leaves_at_once_and_the_ack_only_after_the_fsync() {
    // Thesis §10.2.1: the copy may go before the writer's own write is durable; anything
    // that promises what the writer's disk holds waits for it.
    let mut sim = simulation(vec![(0, In::Put(1))]);
    let lines = trace_lines(&mut sim);
    let expected = [
        "t=0 n1 input Put{v=1}",
        "t=10 n1→n2 Copy{v=1}",
        "t=50 n1 durable writes=1 held=1 then Synced{v=1}",
        "t=50 n1 output synced=1",
        "t=60 n1→n2 Ack{v=1}",
    ];
    assert_eq!(lines, expected);
    assert_eq!(sim.view().disk(NodeId(1)), Some(&1));
    assert_eq!(sim.view().node(NodeId(1)).map(|n| n.synced), Some(1));
    let stats = sim.stats();
    assert_eq!((stats.fsyncs, stats.writes_lost), (1, 0));
}

#[test]
fn a_crash_before_the_fsync_loses_the_write_and_the_held_ack_but_not_the_copy() {
    let mut sim = simulation(vec![(0, In::Put(1))]);
    sim.schedule_crash(30, NodeId(1));
    sim.schedule_restart(40, NodeId(1));
    let lines = trace_lines(&mut sim);
    let expected = [
        "t=0 n1 input Put{v=1}",
        "t=10 n1→n2 Copy{v=1}",
        "t=30 n1 crash (lost unsynced writes=1 held=1)",
        "t=40 n1 restart",
    ];
    assert_eq!(
        lines, expected,
        "the fsync due at t=50 belonged to the old life"
    );
    assert_eq!(
        sim.view().disk(NodeId(1)),
        Some(&0),
        "the peer has v=1, n1's disk does not"
    );
    assert_eq!(sim.view().unsynced_writes(NodeId(1)), 0);
    let stats = sim.stats();
    assert_eq!((stats.fsyncs, stats.writes_lost), (0, 1));
}

#[test]
fn a_message_without_writes_waits_behind_writes_already_on_their_way() {
    let mut sim = simulation(vec![(0, In::Put(1)), (5, In::Ping), (100, In::Ping)]);
    let lines = trace_lines(&mut sim);
    let pongs: Vec<&str> = (lines.iter())
        .filter(|l| l.ends_with("Pong{}"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        pongs,
        ["t=60 n1→n2 Pong{}", "t=110 n1→n2 Pong{}"],
        "the first waits for the fsync of v=1; the second has nothing to wait for"
    );
}

#[test]
fn writes_made_during_an_fsync_gather_into_the_next_one() {
    let mut sim = simulation(vec![(0, In::Put(1)), (5, In::Put(2)), (6, In::Put(3))]);
    let lines = trace_lines(&mut sim);
    let durable: Vec<&str> = (lines.iter())
        .filter(|l| l.contains(" durable "))
        .map(String::as_str)
        .collect();
    assert_eq!(
        durable,
        [
            "t=50 n1 durable writes=1 held=1 then Synced{v=1}",
            "t=100 n1 durable writes=2 held=2 then Synced{v=3}",
        ]
    );
    assert_eq!(sim.view().disk(NodeId(1)), Some(&3));
}
