//! Three logs side by side: the same KV machine, clients, faults and seeds on Raft,
//! Multi-Paxos and PBFT, in one table.
//!
//! ```text
//!   compare(protocols, seeds, faults, f) ──► for each protocol: run_parallel over the seeds
//!        raft-kv, paxos-kv: 2f+1 nodes, f crashes tolerated
//!        pbft-kv:           3f+1 nodes, f Byzantine tolerated (f of them Byzantine when the
//!                           faults include Byzantine nodes: `byzantine`, `all`, `chaos`)
//!   ──► Row per protocol: messages and message bytes per completed op, op latency p50/p99
//!       in ticks, completed ops per simulated second, epochs (terms, ballot rounds, views)
//!       per seed, verdicts
//! ```
//!
//! Sizing by f, not by n, is the comparison the papers make: to survive f faults a crash-
//! tolerant log needs 2f+1 replicas and a majority quorum; a Byzantine-tolerant one needs
//! 3f+1 and quorums of 2f+1, and every replica talks to every other in two of its three
//! phases, which is why its messages per operation grow as n² where Raft's and Paxos's grow
//! as n. Raft and Multi-Paxos run the same rounds in the normal case (one broadcast, a
//! majority of answers, a commit notice on the next message), so their rows differ only by
//! how leaders change.
//!
//! Bytes per op (each message's `WireSize`, summed by the simulator, over completed ops)
//! weighs the messages: Raft carries each command once per follower inside an AppendEntries
//! and acknowledges it in 26 bytes, while every PBFT phase message carries a 32-byte digest
//! and a 40-byte signature, and a view change carries its certificates in full (2f+1 signed
//! checkpoints, 2f signed prepares per prepared request, and 2f+1 of those in a NewView), so
//! PBFT's bytes grow faster than its messages when views change.
//!
//! Latency is an op's completed interval as its client saw it (invoke to answer), in ticks of
//! 100 time units; throughput is completed ops per 1,000 units, the units a client's clock
//! reads as milliseconds. The wall clock is read once per protocol, for the batch time only.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use crate::batch::{self, Mode, Tally};
use crate::faults::FaultProfile;
use crate::paxos_kv::{self, PaxosKvOptions};
use crate::pbft_kv::{self, PbftKvOptions};
use crate::progress::SeedProgress;
use crate::raft_kv::{self, KvSeedReport, KvSummary, RaftKvOptions};

/// Time units per node tick in every profile (80..120 under skew).
const UNITS_PER_TICK: u64 = 100;
/// Latencies above this many units share the last bucket.
const LATENCY_UNITS_MAX: usize = 60_000;

/// A KV store the table can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvProtocol {
    /// `raft-kv`.
    Raft,
    /// `paxos-kv`.
    Paxos,
    /// `pbft-kv`.
    Pbft,
}

impl KvProtocol {
    /// Parse `raft-kv`, `paxos-kv` or `pbft-kv`.
    pub fn parse(s: &str) -> Result<KvProtocol, String> {
        match s {
            "raft-kv" => Ok(KvProtocol::Raft),
            "paxos-kv" => Ok(KvProtocol::Paxos),
            "pbft-kv" => Ok(KvProtocol::Pbft),
            _ => Err(format!(
                "--compare: `{s}` is not raft-kv, paxos-kv or pbft-kv"
            )),
        }
    }

    /// Nodes needed to tolerate `f` faults of this protocol's kind.
    pub fn nodes_for(self, f: usize) -> usize {
        match self {
            KvProtocol::Raft | KvProtocol::Paxos => 2 * f + 1,
            KvProtocol::Pbft => 3 * f + 1,
        }
    }
}

impl fmt::Display for KvProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KvProtocol::Raft => "raft-kv",
            KvProtocol::Paxos => "paxos-kv",
            KvProtocol::Pbft => "pbft-kv",
        })
    }
}

/// A batch's summary plus the latency of every completed op.
#[derive(Default)]
struct Measured {
    summary: KvSummary,
    /// Completed ops by latency in units; the last bucket holds everything longer.
    latency_units: Vec<u64>,
}

impl Tally for Measured {
    type Seed = KvSeedReport;

    fn failed(seed: &KvSeedReport) -> bool {
        seed.failure().is_some()
    }

    fn absorb(&mut self, seed: KvSeedReport) {
        if self.latency_units.is_empty() {
            self.latency_units = vec![0; LATENCY_UNITS_MAX + 1];
        }
        for op in seed.history.ops() {
            if let Some(ret) = op.ret() {
                let units = ret.saturating_sub(op.invoke) as usize;
                self.latency_units[units.min(LATENCY_UNITS_MAX)] += 1;
            }
        }
        <KvSummary as Tally>::absorb(&mut self.summary, seed);
    }

    fn merge(&mut self, other: Measured) {
        if self.latency_units.is_empty() {
            self.latency_units = other.latency_units;
        } else {
            for (a, b) in self.latency_units.iter_mut().zip(other.latency_units) {
                *a += b;
            }
        }
        <KvSummary as Tally>::merge(&mut self.summary, other.summary);
    }

    fn finish(&mut self, elapsed: Duration) {
        <KvSummary as Tally>::finish(&mut self.summary, elapsed);
    }
}

impl Measured {
    /// The latency (units) below which `per_mille` of completed ops fall.
    fn percentile_units(&self, per_mille: u64) -> u64 {
        let total: u64 = self.latency_units.iter().sum();
        let want = (total * per_mille).div_ceil(1000).max(1);
        let mut seen = 0;
        for (units, count) in self.latency_units.iter().enumerate() {
            seen += count;
            if seen >= want {
                return units as u64;
            }
        }
        0
    }
}

/// One protocol's line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Which store.
    pub protocol: KvProtocol,
    /// Replicas.
    pub nodes: usize,
    /// What it tolerates, in words.
    pub tolerates: String,
    /// The batch's summary (verdicts, ops, stats).
    pub summary: KvSummary,
    /// Median and 99th percentile op latency, in time units.
    pub latency_p50_units: u64,
    pub latency_p99_units: u64,
}

impl Row {
    /// Messages sent per completed op.
    pub fn messages_per_op(&self) -> f64 {
        self.summary.stats.messages_sent as f64 / self.summary.ops.ok.max(1) as f64
    }

    /// Message bytes sent per completed op (the runners size every message: `WireSize`).
    pub fn bytes_per_op(&self) -> f64 {
        self.summary.stats.message_bytes_sent as f64 / self.summary.ops.ok.max(1) as f64
    }

    fn ops_per_simulated_second(&self) -> f64 {
        let seconds = self.summary.stats.final_time as f64 / 1000.0;
        self.summary.ops.ok as f64 / seconds.max(1e-9)
    }

    fn epochs_per_seed(&self) -> f64 {
        self.summary.coverage.epochs as f64 / self.summary.seeds_run.max(1) as f64
    }
}

/// Run `protocols` over `seeds` under `faults`, each sized to tolerate `f` faults, with
/// `clients` clients; one row each, in the order given.
pub fn compare(
    protocols: &[KvProtocol],
    seeds: Range<u64>,
    faults: FaultProfile,
    f: usize,
    clients: usize,
    threads: usize,
    progress: &SeedProgress,
) -> Result<Vec<Row>, String> {
    protocols
        .iter()
        .map(|&p| row(p, seeds.clone(), faults, f, clients, threads, progress))
        .collect()
}

fn row(
    protocol: KvProtocol,
    seeds: Range<u64>,
    faults: FaultProfile,
    f: usize,
    clients: usize,
    threads: usize,
    progress: &SeedProgress,
) -> Result<Row, String> {
    let nodes = protocol.nodes_for(f);
    let run = RaftKvOptions {
        nodes,
        clients,
        faults,
        ..RaftKvOptions::default()
    };
    let measured: Measured = match protocol {
        KvProtocol::Raft => {
            run.validate().map_err(|e| e.to_string())?;
            batch::run_parallel(seeds, threads, Mode::Every, progress, |s| {
                raft_kv::run_seed(s, &run)
            })
        }
        KvProtocol::Paxos => {
            let opts = PaxosKvOptions {
                run,
                ..PaxosKvOptions::default()
            };
            opts.validate().map_err(|e| e.to_string())?;
            batch::run_parallel(seeds, threads, Mode::Every, progress, |s| {
                paxos_kv::run_seed(s, &opts)
            })
        }
        KvProtocol::Pbft => {
            let opts = PbftKvOptions {
                run,
                ..PbftKvOptions::default()
            };
            opts.validate().map_err(|e| e.to_string())?;
            batch::run_parallel(seeds, threads, Mode::Every, progress, |s| {
                pbft_kv::run_seed(s, &opts)
            })
        }
    };
    let tolerates = match protocol {
        KvProtocol::Pbft if faults.has(FaultProfile::Byzantine) => format!("{f} Byzantine (on)"),
        KvProtocol::Pbft => format!("{f} Byzantine"),
        _ => format!("{f} crashed"),
    };
    Ok(Row {
        protocol,
        nodes,
        tolerates,
        latency_p50_units: measured.percentile_units(500),
        latency_p99_units: measured.percentile_units(990),
        summary: measured.summary,
    })
}

/// The table: a header, one line per row, and the verdict column spelled out.
pub struct Table<'a>(pub &'a [Row]);

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<9} {:>5} {:<18} {:>6} {:>9} {:>8} {:>9} {:>9} {:>9} {:>10} {:>11}  linearizable",
            "protocol",
            "nodes",
            "tolerates",
            "seeds",
            "ops_ok",
            "msgs/op",
            "bytes/op",
            "p50_ticks",
            "p99_ticks",
            "ops/sim_s",
            "epochs/seed"
        )?;
        for r in self.0 {
            let s = &r.summary;
            let verdict = if !s.is_clean() {
                format!("NO: {} failing seeds", s.failures.len())
            } else if !s.unknown_seeds.is_empty() {
                format!("yes, {} unknown", s.unknown_seeds.len())
            } else {
                "yes, every history".to_string()
            };
            writeln!(
                f,
                "{:<9} {:>5} {:<18} {:>6} {:>9} {:>8.1} {:>9.0} {:>9.1} {:>9.1} {:>10.1} {:>11.1}  {verdict}",
                r.protocol.to_string(),
                r.nodes,
                r.tolerates,
                s.seeds_run,
                s.ops.ok,
                r.messages_per_op(),
                r.bytes_per_op(),
                r.latency_p50_units as f64 / UNITS_PER_TICK as f64,
                r.latency_p99_units as f64 / UNITS_PER_TICK as f64,
                r.ops_per_simulated_second(),
                r.epochs_per_seed(),
            )?;
        }
        Ok(())
    }
}
