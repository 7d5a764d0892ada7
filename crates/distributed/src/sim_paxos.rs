//! `distributed sim --protocol paxos`: Multi-Paxos alone under a proposing client.
//!
//! ```text
//!   --variant correct|accept-own-value|small-phase1-quorum, --phase1-quorum Q1,
//!   --phase2-quorum Q2 (Flexible Paxos: Q1 + Q2 > nodes, else exit 2 saying why)
//!                ──► PaxosSimOptions (validate; errors exit 2)
//!   --seeds A..B ──► paxos::run_seeds ──► summary line, failing seeds, replay command
//!   --seed S     ──► paxos::run_seed  ──► [trace] + report
//! ```
//!
//! Exit codes as for Raft: 0 clean, 1 a violation (expected for a broken variant), 2 bad
//! arguments.

use scenarios::paxos::{parse_variant, run_seed, run_seeds_with_progress, PaxosSimOptions};

use crate::sim_cmd::{print_range, print_seed, threads, trace_level, SimArgs};

/// The flags that mean something only to Raft or to the KV store, refused here by name.
fn raft_only_flag(args: &SimArgs) -> Option<&'static str> {
    [
        ("--reads", args.reads.is_some()),
        ("--tick-periods", args.tick_periods.is_some()),
        ("--client-timeout", args.client_timeout.is_some()),
        ("--history", args.history.is_some()),
        ("--membership-changes", args.membership_changes),
        (
            "--leader-writes-in-parallel",
            args.leader_writes_in_parallel,
        ),
    ]
    .into_iter()
    .find(|(_, given)| *given)
    .map(|(flag, _)| flag)
}

/// Build the options from the flags, or say which flag is wrong.
fn options(args: &SimArgs) -> Result<PaxosSimOptions, String> {
    if let Some(flag) = raft_only_flag(args) {
        return Err(format!("{flag} is not a --protocol paxos flag"));
    }
    if let Some(e) = crate::sim_cmd::byzantine_flag_error(args) {
        return Err(e);
    }
    let mut opts = PaxosSimOptions {
        nodes: args.nodes,
        faults: args.faults,
        variant: parse_variant(&args.variant)?,
        phase1_quorum: args.phase1_quorum,
        phase2_quorum: args.phase2_quorum,
        trace: trace_level(args),
        ..PaxosSimOptions::default()
    };
    if let Some(t) = args.max_time {
        opts.max_time_units = t;
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

fn replay_one(seed: u64, args: &SimArgs, opts: &PaxosSimOptions) -> u8 {
    let report = run_seed(seed, opts);
    let failed = report.violation().is_some();
    print_seed(args, seed, report.trace_lines(), &report, failed)
}

fn run_range(args: &SimArgs, opts: &PaxosSimOptions) -> u8 {
    let run =
        |progress: &_| run_seeds_with_progress(args.seeds.clone(), opts, threads(args), progress);
    print_range(args, run, |s| s.violations.first().map(|r| r.seed()))
}
