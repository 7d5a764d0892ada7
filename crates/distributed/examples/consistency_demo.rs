//! The consistency map in one screen: the same clients, the same faults and the same seed
//! against a chain (strong) and a Dynamo quorum with R + W ≤ N (weak), every history judged
//! against every model, and the first concrete anomaly the weak one shows, with the checker's
//! evidence.
//!
//! ```text
//!   cargo run -p distributed --example consistency_demo [SEED]
//!
//!   for seed in SEED.. (at most SEEDS_MAX):
//!     quorum N3R1W1 ──run_seed──► history ──► nine verdicts
//!     the first seed where a session guarantee breaks: print the evidence (ops, so/wr edges)
//!   the same seed on chain (3 replicas and a master) ──► nine verdicts, all holding
//! ```
//!
//! Why R = W = 1: a put is done once one replica has it, a get asks one replica, so a client
//! can write a value and then read from a replica the write has not reached yet: the
//! read-your-writes guarantee (Terry et al. 1994) breaks. The chain acks a put only once the
//! tail has it and reads at the tail, so the same clients never see it. `distributed sim
//! --consistency-map` runs every scheme over many seeds; this is one seed, read closely.

use std::io::Write;

use scenarios::replication::{
    run_seed, ChainMode, ChainScheme, ChainVariant, Evidence, Judgement, Model, QuorumResolution,
    QuorumScheme, QuorumVariant, RegisterOptions, RegisterSeedReport,
};
use scenarios::FaultProfile;

/// Seeds the demo looks through for an anomaly before it gives up.
const SEEDS_MAX: u64 = 50;

/// The models the demo looks for an anomaly in: a client's own view, easiest to read.
const LOOKED_FOR: [Model; 2] = [Model::ReadYourWrites, Model::MonotonicReads];

/// A small run: three clients on two keys, partitions and message loss, a calm at the end.
fn options() -> RegisterOptions {
    RegisterOptions {
        clients: 3,
        keys: 2,
        faults: FaultProfile::All,
        max_time_units: 30_000,
        quiet_units: 8_000,
        ops_per_client_max: 60,
        ..RegisterOptions::default()
    }
}

fn verdict_line(r: &RegisterSeedReport) -> String {
    r.verdicts
        .iter()
        .map(|(m, j)| format!("{}={}", m.column(), j.word()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run the demo from `seed`; returns the seed whose anomaly it showed.
pub fn run(seed: u64, out: &mut dyn Write) -> Result<u64, String> {
    let opts = options();
    let weak = QuorumScheme::new(
        5,
        (3, 1, 1),
        QuorumResolution::Dvv,
        true,
        QuorumVariant::RPlusWLeN,
    )?;
    let strong = ChainScheme::new(ChainMode::Chain, ChainVariant::Correct, 3)?;
    let io = |e: std::io::Error| e.to_string();
    writeln!(
        out,
        "one workload: 3 clients, 2 keys, all faults, a calm at the end"
    )
    .map_err(io)?;
    for s in seed..seed + SEEDS_MAX {
        let r = run_seed(&weak, s, &opts);
        let found = LOOKED_FOR.iter().find_map(|&m| match r.verdict(m) {
            Some(Judgement::Violation(Evidence::Weak(report))) => Some((m, report.clone())),
            _ => None,
        });
        let Some((model, report)) = found else {
            continue;
        };
        writeln!(out, "\nseed {s}, {} ({} ops ok):", weak.label(), r.ops.ok()).map_err(io)?;
        writeln!(out, "  {}", verdict_line(&r)).map_err(io)?;
        writeln!(out, "\nthe anomaly ({model}):\n{report}").map_err(io)?;
        let c = run_seed(&strong, s, &opts);
        writeln!(out, "the same seed on chain ({} ops ok):", c.ops.ok()).map_err(io)?;
        writeln!(out, "  {}", verdict_line(&c)).map_err(io)?;
        if let Some(failure) = c.failure() {
            return Err(format!("chain failed on seed {s}: {failure}"));
        }
        let held = c
            .verdicts
            .iter()
            .filter(|(_, j)| *j == Judgement::Holds)
            .count();
        writeln!(
            out,
            "\nchain kept {held} of {} models on this seed; the quorum broke {model} \
             (and {} models in all)",
            Model::ALL.len(),
            r.verdicts.iter().filter(|(_, j)| j.is_violation()).count()
        )
        .map_err(io)?;
        return Ok(s);
    }
    Err(format!(
        "no anomaly in seeds {seed}..{}: try another SEED",
        seed + SEEDS_MAX
    ))
}

#[allow(dead_code)] // a test includes this file as a module and calls `run`
fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if let Err(e) = run(seed, &mut std::io::stdout()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
