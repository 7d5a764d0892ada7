//! `distributed sim --protocol chain | craq | primary-backup | quorum | crdt`: a register
//! workload on a replication scheme, every history judged against every consistency model.
//!
//! ```text
//!   --nodes R (chain, craq: replicas, the master is n{R+1}; primary-backup: servers, the view
//!   service is n{R+1}; quorum, crdt: every node), --clients C, --faults F, --variant V,
//!   --nrw N,R,W --resolution dvv|lww --strict-quorum (quorum), --resolution mv|lww (crdt),
//!   --client-timeout U, --max-time T (the last quarter is the calm), --max-events E
//!                ──► RegisterScheme + RegisterOptions (errors exit 2)
//!   --seeds A..B ──► replication::run_seeds ──► summary line, latency, the per-model table
//!                    (passed/run, violated, unknown, first violating seed), failing seeds,
//!                    the lowest failing seed's report and its replay command
//!   --seed S     ──► replication::run_seed ──► [trace] + the seed's verdicts and evidence
//!                    (+ --history OUT.jsonl, with final values: `distributed check` reads it)
//! ```
//!
//! Exit codes: 0 every promised model held and no invariant broke; 1 a promised model was
//! violated or an invariant broke (the expected result for a broken `--variant`); 2 bad
//! arguments; 3 nothing failed but a promised model's check ran out of budget (no claim
//! either way, as for the KV stores). A model the scheme does not promise never fails a run:
//! its column is the finding.
//!
//! Adding a scheme is one match arm in [`run`]: build its `RegisterScheme` from the flags and
//! hand it to [`run_scheme`], which is generic over the trait.

use std::fs;
use std::io::{self, Write};

use scenarios::replication::{
    consistency_map, map_is_clean, render_map, run_seed, run_seeds_with_progress, ChainMode,
    ChainScheme, ChainVariant, CrdtResolution, CrdtScheme, CrdtVariant, PbVariant,
    PrimaryBackupScheme, QuorumResolution, QuorumScheme, QuorumVariant, RegisterOptions,
    RegisterScheme, MAP_QUORUM_NODES,
};

use crate::sim_cmd::{
    header, replay_command, threads, trace_level, with_seed_progress, ProtocolName, SimArgs,
};

/// Run the command; returns the process exit code.
pub fn run(args: SimArgs) -> u8 {
    let ran = match args.protocol {
        ProtocolName::Chain => chain(&args, ChainMode::Chain).map(|s| run_scheme(&args, s)),
        ProtocolName::Craq => chain(&args, ChainMode::Craq).map(|s| run_scheme(&args, s)),
        ProtocolName::PrimaryBackup => primary_backup(&args).map(|s| run_scheme(&args, s)),
        ProtocolName::Quorum => quorum(&args).map(|s| run_scheme(&args, s)),
        ProtocolName::Crdt => crdt(&args).map(|s| run_scheme(&args, s)),
        other => Err(format!("{other} is not a register scheme")),
    };
    ran.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        2
    })
}

/// Chain replication or CRAQ from the flags: `--nodes` replicas, `--variant`.
fn chain(args: &SimArgs, mode: ChainMode) -> Result<ChainScheme, String> {
    let variant: ChainVariant = args.variant.parse()?;
    ChainScheme::new(mode, variant, args.nodes)
}

/// `--consistency-map`: every scheme over the same seeds and faults, one table. Exit 0 when
/// every row kept every model it promises, 1 otherwise, 2 on bad arguments.
pub fn run_map(args: &SimArgs) -> u8 {
    let opts = match options(args, MAP_QUORUM_NODES) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let seeds = args.seeds.clone();
    println!(
        "consistency map: seeds={}..{} faults={} clients={} threads={}",
        seeds.start,
        seeds.end,
        args.faults,
        args.clients,
        threads(args)
    );
    let rows = consistency_map(seeds, &opts, threads(args), |label| {
        eprintln!("running {label}");
    });
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    print!("{}", render_map(&rows));
    println!(
        "cells: seeds the model held / seeds judged; * = the system promises it (a miss fails \
         the run); latency in ticks"
    );
    for r in rows.iter().filter(|r| !r.summary.is_clean()) {
        for (seed, _, line) in r.summary.failures.iter().take(3) {
            println!("{}: seed {seed}: {line}", r.label);
        }
    }
    u8::from(!map_is_clean(&rows))
}

/// Primary-backup from the flags: `--nodes` servers, `--variant`.
fn primary_backup(args: &SimArgs) -> Result<PrimaryBackupScheme, String> {
    let variant: PbVariant = args.variant.parse()?;
    PrimaryBackupScheme::new(variant, args.nodes)
}

/// A Dynamo cluster from the flags: `--nodes`, `--nrw`, `--resolution`, `--strict-quorum`,
/// `--variant`.
fn quorum(args: &SimArgs) -> Result<QuorumScheme, String> {
    let variant = QuorumVariant::parse(&args.variant).ok_or_else(|| {
        let names: Vec<&str> = QuorumVariant::ALL.iter().map(|v| v.name()).collect();
        format!(
            "unknown quorum variant `{}`: one of {}",
            args.variant,
            names.join(", ")
        )
    })?;
    let resolution = match args.resolution.as_deref() {
        None | Some("dvv") => QuorumResolution::Dvv,
        Some("lww") => QuorumResolution::Lww,
        Some(other) => return Err(format!("quorum resolution `{other}`: dvv or lww")),
    };
    let nrw = args.nrw.unwrap_or((3, 2, 2));
    QuorumScheme::new(args.nodes, nrw, resolution, !args.strict_quorum, variant)
}

/// A CRDT store from the flags: `--nodes`, `--resolution`, `--variant`.
fn crdt(args: &SimArgs) -> Result<CrdtScheme, String> {
    let variant = CrdtVariant::parse(&args.variant)
        .ok_or_else(|| format!("unknown crdt variant `{}`", args.variant))?;
    let resolution = match args.resolution.as_deref() {
        None | Some("mv") => CrdtResolution::MultiValue,
        Some("lww") => CrdtResolution::Lww,
        Some(other) => return Err(format!("crdt resolution `{other}`: mv or lww")),
    };
    CrdtScheme::new(args.nodes, resolution, variant)
}

/// The flags that mean something only to another protocol, by name.
fn foreign_flag(args: &SimArgs) -> Option<&'static str> {
    [
        ("--reads", args.reads.is_some()),
        ("--tick-periods", args.tick_periods.is_some()),
        ("--membership-changes", args.membership_changes),
        (
            "--leader-writes-in-parallel",
            args.leader_writes_in_parallel,
        ),
        ("--phase1-quorum", args.phase1_quorum.is_some()),
        ("--phase2-quorum", args.phase2_quorum.is_some()),
        ("--byzantine", args.byzantine.is_some()),
        ("--strategy", args.strategy.is_some()),
    ]
    .into_iter()
    .find(|(_, given)| *given)
    .map(|(flag, _)| flag)
}

/// The run's options from the flags, validated for a cluster of `nodes`.
fn options(args: &SimArgs, nodes: usize) -> Result<RegisterOptions, String> {
    if let Some(flag) = foreign_flag(args) {
        return Err(format!("{flag} is not a --protocol {} flag", args.protocol));
    }
    let mut opts = RegisterOptions {
        clients: args.clients,
        faults: args.faults,
        trace: trace_level(args),
        ..RegisterOptions::default()
    };
    if let Some(t) = args.client_timeout {
        opts.client_timeout_units = t;
    }
    if let Some(t) = args.max_time {
        opts.max_time_units = t;
        // The calm (no faults, no new ops) takes the last quarter, as by default.
        opts.quiet_units = t / 4;
    }
    if let Some(e) = args.max_events {
        opts.max_events = e;
    }
    opts.validate(nodes).map_err(|e| e.to_string())?;
    Ok(opts)
}

/// Run `scheme` as the flags say: one seed, or a range. Returns the exit code.
pub fn run_scheme<S: RegisterScheme>(args: &SimArgs, scheme: S) -> u8 {
    let opts = match options(args, scheme.nodes()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    match args.seed {
        Some(seed) => replay_one(args, &scheme, seed, &opts),
        None => run_range(args, &scheme, &opts),
    }
}

fn replay_one<S: RegisterScheme>(
    args: &SimArgs,
    scheme: &S,
    seed: u64,
    opts: &RegisterOptions,
) -> u8 {
    let report = run_seed(scheme, seed, opts);
    // Write errors (a closed pipe: `| head`) end the output early but not the exit code.
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
    if report.is_unknown() {
        return 3;
    }
    0
}

fn run_range<S: RegisterScheme>(args: &SimArgs, scheme: &S, opts: &RegisterOptions) -> u8 {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", header(args));
    let _ = out.flush();
    let summary = with_seed_progress(args, |progress| {
        run_seeds_with_progress(scheme, args.seeds.clone(), opts, threads(args), progress)
    });
    let _ = write!(out, "{summary}");
    match &summary.lowest_failure {
        Some(first) => {
            let _ = writeln!(out, "replay: {}", replay_command(args, first.seed()));
            1
        }
        None if summary.unknown_seeds.is_empty() => 0,
        None => 3,
    }
}

/// Parse `N,R,W` (quorum); the quorum config checks the values.
pub(crate) fn parse_nrw(s: &str) -> Result<(usize, usize, usize), String> {
    let parts: Vec<&str> = s.split(',').collect();
    let [n, r, w] = parts[..] else {
        return Err(format!("`{s}`: expected N,R,W, e.g. 3,2,2"));
    };
    let num = |t: &str| {
        t.trim()
            .parse::<usize>()
            .map_err(|e| format!("`{s}`: `{t}` is not a count: {e}"))
    };
    Ok((num(n)?, num(r)?, num(w)?))
}

/// A quorum or CRDT flag given to a protocol it means nothing to, as an error line.
pub(crate) fn scheme_flag_error(args: &SimArgs) -> Option<String> {
    let quorum_only = [
        ("--nrw", args.nrw.is_some()),
        ("--strict-quorum", args.strict_quorum),
    ];
    let is_quorum = args.protocol == ProtocolName::Quorum && args.compare.is_none();
    if let Some((flag, _)) = quorum_only.into_iter().find(|(_, g)| *g && !is_quorum) {
        return Some(format!("{flag} needs --protocol quorum"));
    }
    let takes_resolution = matches!(args.protocol, ProtocolName::Quorum | ProtocolName::Crdt);
    if args.resolution.is_some() && (!takes_resolution || args.compare.is_some()) {
        return Some("--resolution needs --protocol quorum or crdt".into());
    }
    None
}
