//! The consistency map: one register workload, every scheme, every model, one table
//! (issue 16; Jepsen's map of consistency models, drawn by checkers instead of by hand).
//!
//! ```text
//!   rows (map_rows):  raft-kv  paxos-kv  primary-backup  chain  craq
//!                     quorum N3R2W2 dvv | lww | strict | N3R1W1   crdt mv | lww
//!        │ each: run_seeds(scheme, seeds, the same RegisterOptions)
//!        ▼
//!   MapRow { label, summary }  ──► render: cells "passed/run" per model, marked `*` where
//!                                  the scheme promises the model; ok ops, msgs/op, latency
//! ```
//!
//! Every row runs the same clients, keys, faults and calm; a row differs only in its scheme.
//! Three replicas hold each key everywhere (chain and primary-backup add a master or view
//! service; Dynamo spreads keys over five nodes, N = 3 of them per key), so the columns
//! compare like with like. A cell counts seeds whose history the model held, of the seeds
//! it could be judged on (a seed stopped by an invariant has no final state to judge).

use std::fmt::Write as _;
use std::ops::Range;

use super::consensus::{Consensus, PaxosRegisters, RaftRegisters};
use super::crdt::CrdtScheme;
use super::models::Model;
use super::options::RegisterOptions;
use super::primary_backup::PrimaryBackupScheme;
use super::quorum::QuorumScheme;
use super::summary::{run_seeds, RegisterSummary};
use super::{ChainMode, ChainScheme, ChainVariant, CrdtResolution, CrdtVariant, PbVariant};
use super::{QuorumResolution, QuorumVariant, RegisterScheme};

/// Replicas per key in every row.
pub const MAP_REPLICAS: usize = 3;

/// Nodes a Dynamo row spreads its keys over (N = 3 of them per key).
pub const MAP_QUORUM_NODES: usize = 5;

/// One row of the map: a scheme's label and what its seeds did.
#[derive(Clone, Debug)]
pub struct MapRow {
    /// `quorum N3R2W2 dvv` and the like.
    pub label: String,
    /// Every seed of the row, summed.
    pub summary: RegisterSummary,
}

/// The map's rows, in order, over `seeds`, every row with `opts`. `progress` hears each
/// row's label before it runs (a host prints it; tests pass a no-op).
pub fn consistency_map(
    seeds: Range<u64>,
    opts: &RegisterOptions,
    threads: usize,
    mut progress: impl FnMut(&str),
) -> Result<Vec<MapRow>, String> {
    let mut rows = Vec::new();
    let mut run = |label: String, summary: &dyn Fn() -> RegisterSummary| {
        progress(&label);
        rows.push(MapRow {
            label,
            summary: summary(),
        });
    };
    let seeds = &seeds;
    let raft = Consensus(RaftRegisters::new(MAP_REPLICAS, Default::default())?);
    run("raft-kv".into(), &|| row(&raft, seeds, opts, threads));
    let paxos = Consensus(PaxosRegisters::new(MAP_REPLICAS, Default::default())?);
    run("paxos-kv".into(), &|| row(&paxos, seeds, opts, threads));
    let pb = PrimaryBackupScheme::new(PbVariant::Correct, MAP_REPLICAS)?;
    run("primary-backup".into(), &|| row(&pb, seeds, opts, threads));
    for mode in [ChainMode::Chain, ChainMode::Craq] {
        let chain = ChainScheme::new(mode, ChainVariant::Correct, MAP_REPLICAS)?;
        run(chain.name().into(), &|| row(&chain, seeds, opts, threads));
    }
    for quorum in quorum_rows()? {
        run(quorum.label(), &|| row(&quorum, seeds, opts, threads));
    }
    for resolution in [CrdtResolution::MultiValue, CrdtResolution::Lww] {
        let crdt = CrdtScheme::new(MAP_REPLICAS, resolution, CrdtVariant::Correct)?;
        run(crdt.label(), &|| row(&crdt, seeds, opts, threads));
    }
    Ok(rows)
}

/// The Dynamo rows: the paper's common N3R2W2 with siblings, with LWW, strict, and the
/// R + W ≤ N configuration the core refuses unless asked for by name.
fn quorum_rows() -> Result<Vec<QuorumScheme>, String> {
    let dynamo = |nrw, resolution, sloppy, variant| {
        QuorumScheme::new(MAP_QUORUM_NODES, nrw, resolution, sloppy, variant)
    };
    Ok(vec![
        dynamo(
            (3, 2, 2),
            QuorumResolution::Dvv,
            true,
            QuorumVariant::Correct,
        )?,
        dynamo(
            (3, 2, 2),
            QuorumResolution::Lww,
            true,
            QuorumVariant::Correct,
        )?,
        dynamo(
            (3, 2, 2),
            QuorumResolution::Dvv,
            false,
            QuorumVariant::Correct,
        )?,
        dynamo(
            (3, 1, 1),
            QuorumResolution::Dvv,
            true,
            QuorumVariant::RPlusWLeN,
        )?,
    ])
}

fn row<S: RegisterScheme>(
    scheme: &S,
    seeds: &Range<u64>,
    opts: &RegisterOptions,
    threads: usize,
) -> RegisterSummary {
    run_seeds(scheme, seeds.clone(), opts, threads)
}

/// The map as a table: one line per row, a `passed/run` cell per model (`*` where the row's
/// scheme promises the model), then ok ops, messages per op and latency in ticks.
pub fn render_map(rows: &[MapRow]) -> String {
    let mut out = String::new();
    let _ = write!(out, "{:<26}", "system");
    for model in Model::ALL {
        let _ = write!(out, " {:>13}", model.column());
    }
    let _ = writeln!(
        out,
        " {:>8} {:>7} {:>7} {:>7}",
        "ops_ok", "msgs/op", "p50", "p99"
    );
    for r in rows {
        let s = &r.summary;
        let _ = write!(out, "{:<26}", r.label);
        for model in Model::ALL {
            let t = s.tally(model);
            let mark = if s.promised.contains(&model) {
                "*"
            } else {
                " "
            };
            let _ = write!(out, " {:>12}{mark}", format!("{}/{}", t.passed, t.run()));
        }
        let _ = writeln!(
            out,
            " {:>8} {:>7.1} {:>7.1} {:>7.1}",
            s.ops.ok(),
            s.messages_per_op(),
            ticks(s.latency.quantile_units(500)),
            ticks(s.latency.quantile_units(990)),
        );
    }
    out
}

/// Time units as ticks, one decimal.
fn ticks(units: u64) -> f64 {
    units as f64 / super::options::TICK_UNITS as f64
}

/// True when every row kept every model it promises on every seed.
pub fn map_is_clean(rows: &[MapRow]) -> bool {
    rows.iter().all(|r| r.summary.is_clean())
}
