//! `distributed sim --protocol raft-kv | paxos-kv`: the replicated KV store under simulated
//! clients, on Raft or on Multi-Paxos (the same kv machine, clients and checker).
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

use scenarios::paxos_kv::OrderedReads;
use scenarios::paxos_kv::{self, PaxosKvOptions};
use scenarios::pbft_kv::{self, PbftKvOptions, Strategy};
use scenarios::raft_kv::ReadPath;
use scenarios::raft_kv::{
    run_seed, run_seeds_with_progress, KvSeedReport, KvSummary, RaftKvOptions,
};
use scenarios::SeedProgress;

use crate::sim_cmd::{
    header, read_path, replay_command, threads, trace_level, with_seed_progress, ProtocolName,
    SimArgs,
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

/// Build the paxos-kv options: the KV run's knobs from the same flags as raft-kv, Paxos's
/// variant and quorums, and reads through a read round (`--reads log`: a slot each).
fn paxos_options(args: &SimArgs) -> Result<PaxosKvOptions, String> {
    let raft_only = [
        ("--membership-changes", args.membership_changes),
        (
            "--leader-writes-in-parallel",
            args.leader_writes_in_parallel,
        ),
        ("--tick-periods", args.tick_periods.is_some()),
    ];
    if let Some((flag, _)) = raft_only.iter().find(|(_, given)| *given) {
        return Err(format!(
            "{flag} is a Raft flag: not for --protocol paxos-kv"
        ));
    }
    let reads = match args.reads {
        None | Some(ReadPath::ReadIndex) => OrderedReads::Core,
        Some(ReadPath::Log) => OrderedReads::Log,
        Some(ReadPath::Lease) => {
            return Err(
                "--reads lease: paxos-kv serves reads by a read round (read-index) \
                        or through the log"
                    .into(),
            )
        }
    };
    let run = kv_run(args);
    let opts = PaxosKvOptions {
        run,
        variant: scenarios::paxos::parse_variant(&args.variant)?,
        phase1_quorum: args.phase1_quorum,
        phase2_quorum: args.phase2_quorum,
        reads,
    };
    opts.validate().map_err(|e| e.to_string())?;
    Ok(opts)
}

/// Build the pbft-kv options: the KV run's knobs, PBFT's variant, the Byzantine nodes.
fn pbft_options(args: &SimArgs) -> Result<PbftKvOptions, String> {
    let not_here = [
        ("--membership-changes", args.membership_changes),
        (
            "--leader-writes-in-parallel",
            args.leader_writes_in_parallel,
        ),
        ("--tick-periods", args.tick_periods.is_some()),
        ("--phase1-quorum", args.phase1_quorum.is_some()),
        ("--phase2-quorum", args.phase2_quorum.is_some()),
        ("--reads", args.reads.is_some()),
    ];
    if let Some((flag, _)) = not_here.iter().find(|(_, given)| *given) {
        return Err(format!(
            "{flag} is not a --protocol pbft-kv flag (PBFT reads go through the log)"
        ));
    }
    let run = kv_run(args);
    let strategy = args
        .strategy
        .as_deref()
        .map(str::parse::<Strategy>)
        .transpose()?;
    let opts = PbftKvOptions {
        run,
        variant: pbft_kv::parse_variant(&args.variant)?,
        byzantine: args.byzantine,
        strategy,
    };
    opts.validate().map_err(|e| e.to_string())?;
    Ok(opts)
}

/// The KV run's knobs that paxos-kv and pbft-kv take from the same flags as raft-kv.
fn kv_run(args: &SimArgs) -> RaftKvOptions {
    let mut run = RaftKvOptions {
        nodes: args.nodes,
        clients: args.clients,
        faults: args.faults,
        ..RaftKvOptions::default()
    };
    if let Some(t) = args.client_timeout {
        run.client_timeout_units = t;
    }
    if let Some(t) = args.max_time {
        run.max_time_units = t;
        run.quiesce_units = t / 10;
    }
    if let Some(e) = args.max_events {
        run.max_events = e;
    }
    run.trace = trace_level(args);
    run
}

/// One KV protocol's runners, so both share the printing and the exit codes.
struct Runner {
    /// Run (replay) one seed.
    one: Box<dyn Fn(u64) -> KvSeedReport>,
    /// Run the flags' seed range, counting into the progress line.
    range: Box<RangeRunner>,
}

/// What runs a seed range for one KV protocol.
type RangeRunner = dyn Fn(&SimArgs, &SeedProgress) -> KvSummary;

fn runner(args: &SimArgs) -> Result<Runner, String> {
    if args.protocol == ProtocolName::PbftKv {
        let opts = pbft_options(args)?;
        let o2 = opts.clone();
        return Ok(Runner {
            one: Box::new(move |seed| pbft_kv::run_seed(seed, &opts)),
            range: Box::new(move |args, progress| {
                pbft_kv::run_seeds_with_progress(args.seeds.clone(), &o2, threads(args), progress)
            }),
        });
    }
    if let Some(e) = crate::sim_cmd::byzantine_flag_error(args) {
        return Err(e);
    }
    if args.protocol == ProtocolName::PaxosKv {
        let opts = paxos_options(args)?;
        let o2 = opts.clone();
        return Ok(Runner {
            one: Box::new(move |seed| paxos_kv::run_seed(seed, &opts)),
            range: Box::new(move |args, progress| {
                paxos_kv::run_seeds_with_progress(args.seeds.clone(), &o2, threads(args), progress)
            }),
        });
    }
    if let Some(flag) = crate::sim_cmd::paxos_only_flag(args) {
        return Err(format!("{flag} needs --protocol paxos or paxos-kv"));
    }
    let opts = options(args)?;
    let o2 = opts.clone();
    Ok(Runner {
        one: Box::new(move |seed| run_seed(seed, &opts)),
        range: Box::new(move |args, progress| {
            run_seeds_with_progress(args.seeds.clone(), &o2, threads(args), progress)
        }),
    })
}

/// Run the command; returns the process exit code.
pub fn run(args: SimArgs) -> u8 {
    let runner = match runner(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match args.seed {
        Some(seed) => replay_one(seed, &args, &runner),
        None => run_range(&args, &runner),
    }
}

fn replay_one(seed: u64, args: &SimArgs, runner: &Runner) -> u8 {
    let report = (runner.one)(seed);
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

fn run_range(args: &SimArgs, runner: &Runner) -> u8 {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", header(args));
    let _ = out.flush();
    let summary = with_seed_progress(args, |progress| (runner.range)(args, progress));
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
