//! `distributed sim --protocol raft-kv`: the replicated KV store under simulated clients.
//!
//! ```text
//!   --reads log|read-index|lease, --variant …, --tick-periods A..B, --client-timeout U,
//!   --leader-writes-in-parallel (thesis §10.2.1: the simulated disk takes time)
//!                ──► RaftKvOptions (set_variant, validate; errors exit 2)
//!   --seeds A..B ──► raft_kv::run_seeds ──► summary: invariant + linearizability verdicts
//!                    (a progress line on a terminal, as for raft: sim_cmd::with_seed_progress)
//!   --seed S     ──► raft_kv::run_seed  ──► [trace] + report (+ --history OUT.jsonl)
//!                                              └─► `distributed check OUT.jsonl` re-checks it
//! ```
//!
//! Every seed's client history goes through the linearizability checker; a seed fails on an
//! invariant violation, a non-linearizable history, or a reply no correct server could give.

use std::fs;
use std::io::{self, Write};

use scenarios::raft_kv::{run_seed, run_seeds_with_progress, RaftKvOptions};

use crate::sim_cmd::{
    header, read_path, replay_command, threads, trace_level, with_seed_progress, SimArgs,
};

/// Build the options from the flags, or say which flag is wrong.
fn options(args: &SimArgs) -> Result<RaftKvOptions, String> {
    let mut opts = RaftKvOptions {
        nodes: args.nodes,
        clients: args.clients,
        faults: args.faults,
        read_path: read_path(args),
        membership_changes: args.membership_changes,
        leader_writes_in_parallel: args.leader_writes_in_parallel,
        ..RaftKvOptions::default()
    };
    opts.set_variant(&args.variant)?;
    if let Some((min, max)) = args.tick_periods {
        // The profile's drift odds stay; only the range changes (validated below).
        let mut clock = opts.sim_config().clock;
        clock.tick_period_units_min = min;
        clock.tick_period_units_max = max;
        opts.clock = Some(clock);
    }
    if let Some(t) = args.client_timeout {
        opts.client_timeout_units = t;
    }
    if let Some(t) = args.max_time {
        opts.max_time_units = t;
        // Clients stop issuing new operations this long before the end, so most finish.
        opts.quiesce_units = t / 10;
    }
    if let Some(e) = args.max_events {
        opts.max_events = e;
    }
    opts.trace = trace_level(args);
    opts.validate().map_err(|e| e.to_string())?;
    Ok(opts)
}

/// Run the command; returns the process exit code.
pub fn run(args: SimArgs) -> u8 {
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match args.seed {
        Some(seed) => replay_one(seed, &args, &opts),
        None => run_range(&args, &opts),
    }
}

fn replay_one(seed: u64, args: &SimArgs, opts: &RaftKvOptions) -> u8 {
    let report = run_seed(seed, opts);
    let mut out = io::stdout().lock();
    for line in report.trace_lines() {
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    let _ = writeln!(out, "{report}");
    if let Some(path) = &args.history {
        if let Err(e) = fs::write(path, report.history_json_lines()) {
            eprintln!("error: writing the history to {}: {e}", path.display());
            return 2;
        }
        let _ = writeln!(out, "history: wrote {}", path.display());
    }
    if report.failure().is_some() {
        let _ = writeln!(out, "replay: {}", replay_command(args, seed));
        return 1;
    }
    0
}

fn run_range(args: &SimArgs, opts: &RaftKvOptions) -> u8 {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", header(args));
    let _ = out.flush();
    let summary = with_seed_progress(args, |progress| {
        run_seeds_with_progress(args.seeds.clone(), opts, threads(args), progress)
    });
    let _ = write!(out, "{summary}");
    match &summary.lowest_failure {
        Some(first) => {
            let _ = writeln!(out, "replay: {}", replay_command(args, first.seed()));
            1
        }
        None if summary.unknown_seeds.is_empty() => 0,
        // Unknown verdicts only: no claim either way, the checker's exit code for that.
        None => 3,
    }
}
