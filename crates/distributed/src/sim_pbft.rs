//! `distributed sim --protocol pbft`: the PBFT core alone, with Byzantine replicas, under
//! clients that take f+1 matching replies.
//!
//! ```text
//!   --nodes 3f+1, --byzantine B, --strategy S, --faults byzantine|all|…,
//!   --variant correct|commit-quorum-2f|view-change-drops-prepared, --clients C,
//!   --client-timeout U
//!                ──► PbftSimOptions (validate; errors exit 2)
//!   --seeds A..B ──► pbft::run_seeds ──► summary line, failing seeds, replay command
//!   --seed S     ──► pbft::run_seed  ──► [trace] + report
//! ```
//!
//! Exit codes as for Raft and Paxos: 0 clean, 1 a violation (expected for a broken variant or
//! more than f Byzantine replicas), 2 bad arguments. There is no client history to check
//! (`--history` is refused), so no run ends in 3, the KV stores' "checker ran out of budget".

use scenarios::pbft::Strategy;
use scenarios::pbft::{parse_variant, run_seed, run_seeds_with_progress, PbftSimOptions};

use crate::sim_cmd::{print_range, print_seed, threads, trace_level, SimArgs};

/// The flags that mean something only to another protocol, refused here by name.
fn foreign_flag(args: &SimArgs) -> Option<&'static str> {
    [
        ("--reads", args.reads.is_some()),
        ("--tick-periods", args.tick_periods.is_some()),
        ("--history", args.history.is_some()),
        ("--membership-changes", args.membership_changes),
        (
            "--leader-writes-in-parallel",
            args.leader_writes_in_parallel,
        ),
        ("--phase1-quorum", args.phase1_quorum.is_some()),
        ("--phase2-quorum", args.phase2_quorum.is_some()),
    ]
    .into_iter()
    .find(|(_, given)| *given)
    .map(|(flag, _)| flag)
}

/// Build the options from the flags, or say which flag is wrong.
fn options(args: &SimArgs) -> Result<PbftSimOptions, String> {
    if let Some(flag) = foreign_flag(args) {
        let why = match flag {
            "--history" => " (bare pbft has no client history: --protocol pbft-kv has one)",
            _ => "",
        };
        return Err(format!("{flag} is not a --protocol pbft flag{why}"));
    }
    let strategy = args
        .strategy
        .as_deref()
        .map(str::parse::<Strategy>)
        .transpose()?;
    let mut opts = PbftSimOptions {
        nodes: args.nodes,
        faults: args.faults,
        variant: parse_variant(&args.variant)?,
        byzantine: args.byzantine,
        strategy,
        clients: args.clients,
        trace: trace_level(args),
        ..PbftSimOptions::default()
    };
    if let Some(t) = args.client_timeout {
        opts.client_timeout_units = t;
    }
    if let Some(t) = args.max_time {
        opts.max_time_units = t;
        // Clients start no new request this long before the end, so most finish.
        opts.quiesce_units = t / 10;
    }
    if let Some(e) = args.max_events {
        opts.max_events = e;
    }
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

fn replay_one(seed: u64, args: &SimArgs, opts: &PbftSimOptions) -> u8 {
    let report = run_seed(seed, opts);
    let failed = report.violation().is_some();
    print_seed(args, seed, report.trace_lines(), &report, failed)
}

fn run_range(args: &SimArgs, opts: &PbftSimOptions) -> u8 {
    let run =
        |progress: &_| run_seeds_with_progress(args.seeds.clone(), opts, threads(args), progress);
    print_range(args, run, |s| s.violations.first().map(|r| r.seed()))
}
