//! `distributed sim --compare raft-kv,paxos-kv,pbft-kv`: three logs under one set of seeds.
//!
//! ```text
//!   --compare LIST --nodes N --seeds A..B --faults F --clients C
//!       f = (N-1)/2 ──► each protocol sized for f faults of its kind ──► scenarios::compare
//!       ──► one table (scenarios compare.rs explains each column) ──► exit 0 | 1 | 3
//! ```
//!
//! Exit codes as for one protocol: 1 if any seed of any protocol failed (invariant,
//! linearizability, unexpected reply), 3 if none failed but some verdicts are unknown.

use std::io::{self, Write};

use scenarios::compare::{compare, KvProtocol, Table};

use crate::sim_cmd::{threads, with_seed_progress, SimArgs};

/// Run the comparison; returns the process exit code.
pub fn run(args: SimArgs) -> u8 {
    let list = args.compare.clone().unwrap_or_default();
    let parsed: Result<Vec<KvProtocol>, String> = list.split(',').map(KvProtocol::parse).collect();
    let protocols = match parsed {
        Ok(p) if !p.is_empty() => p,
        Ok(_) => return fail("--compare needs at least one protocol".into()),
        Err(e) => return fail(e),
    };
    let single_protocol_flags = [
        ("--variant", args.variant != "correct"),
        ("--history", args.history.is_some()),
        ("--reads", args.reads.is_some()),
        ("--membership-changes", args.membership_changes),
        ("--byzantine", args.byzantine.is_some()),
        ("--strategy", args.strategy.is_some()),
    ];
    if let Some((flag, _)) = single_protocol_flags.iter().find(|(_, given)| *given) {
        return fail(format!("{flag} is for one protocol, not for --compare"));
    }
    let f = args.nodes.saturating_sub(1) / 2;
    if f == 0 {
        return fail(format!(
            "--nodes {} tolerates no fault: use 3 or more",
            args.nodes
        ));
    }
    let mut out = io::stdout().lock();
    let _ = writeln!(
        out,
        "comparing {list} f={f} clients={} faults={} seeds={}..{} threads={}",
        args.clients,
        args.faults,
        args.seeds.start,
        args.seeds.end,
        threads(&args)
    );
    let _ = out.flush();
    let rows = with_seed_progress(&args, |progress| {
        let (seeds, faults) = (args.seeds.clone(), args.faults);
        compare(
            &protocols,
            seeds,
            faults,
            f,
            args.clients,
            threads(&args),
            progress,
        )
    });
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let _ = write!(out, "{}", Table(&rows));
    if rows.iter().any(|r| !r.summary.is_clean()) {
        1
    } else if rows.iter().any(|r| !r.summary.unknown_seeds.is_empty()) {
        3
    } else {
        0
    }
}

fn fail(message: String) -> u8 {
    eprintln!("error: {message}");
    2
}
