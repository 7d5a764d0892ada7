//! `distributed sim`: run a protocol in the deterministic simulator.
//!
//! ```text
//!   --seeds A..B  ──► run_seeds on all cores ──► summary line, failing seeds, replay command
//!                     stderr a terminal: "seeds 812/5000  violations 0  406 seeds/s  2 s",
//!                     redrawn in place while it runs, erased before the summary (progress.rs)
//!   --seed S      ──► run_seed  (optionally --trace) ──► trace lines, then the seed's report
//! ```
//!
//! A seed decides everything in a run, so any line this command prints can be reproduced by
//! running the replay command it prints. Exit code 1 means a violation was found (which is the
//! *expected* result for a broken `--variant`), 2 means bad arguments.

use std::fmt;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::time::Duration;

use clap::{Args, ValueEnum};
use scenarios::raft::{
    parse_variant, run_seed, run_seeds_with_progress, variant_needs, RaftSimOptions,
};
use scenarios::raft_kv::{parse_read_path, ReadPath};
use scenarios::{parse_seeds, FaultProfile, SeedProgress};
use sim::TraceLevel;

use crate::progress::{per_second, while_running, StatusLine};

/// How often the progress line of a seed range is redrawn on a terminal.
const PROGRESS_PERIOD: Duration = Duration::from_millis(250);

/// The protocols the simulator can drive from the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolName {
    /// Raft alone: elections and log replication under a proposing client.
    Raft,
    /// The replicated key-value store (Raft + KV state machine) under simulated clients whose
    /// history is checked for linearizability.
    RaftKv,
    /// Multi-Paxos alone: a stable leader, phase 1 once per leader, phase 2 per slot.
    Paxos,
    /// The replicated key-value store on Multi-Paxos: the same KV machine, clients and
    /// linearizability checker as raft-kv.
    PaxosKv,
    /// PBFT alone (n = 3f+1), with Byzantine replicas (`--byzantine`, `--faults byzantine`);
    /// clients take f+1 matching replies.
    Pbft,
    /// The replicated key-value store on PBFT (n = 3f+1), with Byzantine replicas
    /// (`--byzantine`, `--faults byzantine`); clients take f+1 matching replies.
    PbftKv,
    /// Chain replication (OSDI '04): `--nodes` replicas in a chain and a master; a register
    /// workload judged against every consistency model.
    Chain,
    /// CRAQ (ATC '09): chain replication with reads at any replica; the same register
    /// workload and models as chain.
    Craq,
    /// Primary-backup: `--nodes` servers (one primary, one backup, spares) and a view
    /// service that hands out views under leases; the register workload.
    PrimaryBackup,
    /// Dynamo-style quorums (SOSP '07): `--nodes` coordinators, `--nrw`, `--resolution
    /// dvv|lww`, `--strict-quorum`; the register workload.
    Quorum,
    /// A CRDT register store: every node answers alone; `--resolution mv|lww`; the register
    /// workload with sticky clients.
    Crdt,
}

impl ProtocolName {
    /// Is this one of the register schemes of `crates/replication` (`sim_replication.rs`)?
    pub(crate) fn is_register_scheme(self) -> bool {
        matches!(
            self,
            ProtocolName::Chain
                | ProtocolName::Craq
                | ProtocolName::PrimaryBackup
                | ProtocolName::Quorum
                | ProtocolName::Crdt
        )
    }
}

impl fmt::Display for ProtocolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolName::Raft => "raft",
            ProtocolName::RaftKv => "raft-kv",
            ProtocolName::Paxos => "paxos",
            ProtocolName::PaxosKv => "paxos-kv",
            ProtocolName::Pbft => "pbft",
            ProtocolName::PbftKv => "pbft-kv",
            ProtocolName::Chain => "chain",
            ProtocolName::Craq => "craq",
            ProtocolName::PrimaryBackup => "primary-backup",
            ProtocolName::Quorum => "quorum",
            ProtocolName::Crdt => "crdt",
        })
    }
}

/// Arguments of `distributed sim`.
#[derive(Args, Debug)]
pub struct SimArgs {
    /// Which protocol to simulate.
    #[arg(long, value_enum, default_value_t = ProtocolName::Raft)]
    pub protocol: ProtocolName,
    /// Cluster size.
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// Seed range to run, end exclusive (`0..1000`).
    #[arg(long, value_parser = parse_seeds, default_value = "0..100", conflicts_with = "seed")]
    pub seeds: Range<u64>,
    /// Run (replay) exactly one seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Faults to inject: none | network | partitions | crashes | skew | byzantine | all | chaos.
    #[arg(long, value_parser = parse_faults, default_value = "all")]
    pub faults: FaultProfile,
    /// Protocol variant: `correct`, or a deliberately broken one: `commit-old-term` (commits
    /// entries of earlier terms by counting replicas, Raft §5.4.2), `one-step-membership`
    /// (with --membership-changes: voter changes skip joint consensus, Raft §6),
    /// `leader-counts-unsynced` (with --leader-writes-in-parallel: the leader counts its own
    /// copy toward a commit before its fsync, thesis §10.2.1); with raft-kv also
    /// `stale-follower-reads`, `ack-before-commit`, and `lease-ignores-drift` (with
    /// `--reads lease`: a lease that ignores clock drift, thesis §6.4.1). Paxos:
    /// `accept-own-value` (a new leader ignores the values in its promises) and
    /// `small-phase1-quorum` (phase 1 with a quorum that misses some phase-2 quorum). PBFT
    /// (pbft, pbft-kv): `commit-quorum-2f` (committed-local with 2f commits, not 2f+1) and
    /// `view-change-drops-prepared` (ViewChanges leave out their prepared certificates).
    /// Chain and CRAQ: `ack-at-head` (the head acknowledges a put before the tail has it);
    /// CRAQ also `craq-dirty-read` (a replica returns a dirty version without asking the
    /// tail).
    #[arg(long, default_value = "correct")]
    pub variant: String,
    /// Run several KV stores over the same seeds and faults and print one table:
    /// `raft-kv,paxos-kv,pbft-kv`. Each is sized to tolerate f = (nodes-1)/2 faults of its
    /// kind (2f+1 replicas for Raft and Paxos, 3f+1 for PBFT).
    #[arg(long, value_name = "P,P,...", conflicts_with = "seed")]
    pub compare: Option<String>,
    /// pbft, pbft-kv: how many replicas are Byzantine (default: f with `--faults byzantine`,
    /// `all` or `chaos`, else 0). More than f is allowed, to watch the checks fail.
    #[arg(long, value_name = "B")]
    pub byzantine: Option<usize>,
    /// pbft, pbft-kv: the Byzantine replicas' strategy: silent | equivocate | twins | replay
    /// | flood | lie-vc (default: each seed picks one).
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,
    /// paxos: phase-1 quorum size (default a majority). Flexible Paxos (Howard et al. 2016):
    /// any sizes with Q1 + Q2 > nodes are safe; others are refused.
    #[arg(long, value_name = "Q1")]
    pub phase1_quorum: Option<usize>,
    /// paxos: phase-2 quorum size (default a majority): how many acceptors choose a value.
    #[arg(long, value_name = "Q2")]
    pub phase2_quorum: Option<usize>,
    /// raft-kv, paxos-kv: how read-only commands are served: `log` (a log entry each),
    /// `read-index` (raft: a heartbeat round per batch, followers too; paxos: a read round at
    /// the leader; the default) or `lease` (raft: no round while the leader's lease holds).
    #[arg(long, value_parser = parse_read_path)]
    pub reads: Option<ReadPath>,
    /// raft-kv: every node's tick period is drawn from MIN..MAX time units (both included),
    /// instead of the profile's (100, or 80..120 with skew). The replicas' clock drift bound
    /// follows, so the correct lease shortens as the spread widens.
    #[arg(long, value_name = "MIN..MAX", value_parser = parse_tick_periods)]
    pub tick_periods: Option<(u64, u64)>,
    /// KV stores and pbft: how long a client waits for an answer before it resends elsewhere
    /// (pbft, pbft-kv: to every replica), in time units (default 1500; chain and craq: 4000,
    /// after which a get goes elsewhere and a put is recorded as indeterminate).
    #[arg(long, value_name = "UNITS")]
    pub client_timeout: Option<u64>,
    /// KV stores (raft-kv, paxos-kv, pbft-kv, --compare), pbft, chain and craq: number of
    /// simulated clients.
    #[arg(long, default_value_t = 5)]
    pub clients: usize,
    /// A KV store, chain or craq with --seed: write the seed's client history as JSON lines
    /// (for `distributed check`; chain and craq add the replicas' final values).
    #[arg(long, value_name = "OUT.jsonl", requires = "seed")]
    pub history: Option<std::path::PathBuf>,
    /// With --seed: print the trace, one line per event.
    #[arg(long, requires = "seed")]
    pub trace: bool,
    /// With --trace: also print one line per node tick.
    #[arg(long, requires = "trace")]
    pub trace_ticks: bool,
    /// Worker threads for a seed range (default: all cores).
    #[arg(long)]
    pub threads: Option<NonZeroUsize>,
    /// Simulated time per seed, in time units (a node tick is about 100 units).
    #[arg(long)]
    pub max_time: Option<u64>,
    /// Events per seed, whatever the time.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Reconfigure the cluster while the faults go on (Raft §6): `--nodes` are the initial
    /// voters, four more slots start outside the cluster; an operator adds learners, promotes,
    /// removes (the leader too), replaces voters and transfers leadership.
    #[arg(long)]
    pub membership_changes: bool,
    /// Leaders write to their own disk in parallel with replication (thesis §10.2.1), as the
    /// server does: AppendEntries leave before the leader's fsync, the simulated disk takes
    /// time (fsyncs of 10..200 units, one at a time per node), and a crash loses the writes
    /// not yet durable and the votes and acks held for them.
    #[arg(long)]
    pub leader_writes_in_parallel: bool,
    /// Run one register workload against every replication scheme (raft-kv, paxos-kv,
    /// primary-backup, chain, craq, quorum in four configurations, crdt with MV and LWW
    /// registers) over --seeds and --faults, judge every history against every consistency
    /// model, and print one table (issue 16's consistency map).
    #[arg(long, conflicts_with_all = ["compare", "seed"])]
    pub consistency_map: bool,
    /// quorum: replicas per key, read quorum, write quorum (Dynamo §4.5), as `N,R,W`.
    #[arg(long, value_name = "N,R,W", value_parser = crate::sim_replication::parse_nrw)]
    pub nrw: Option<(usize, usize, usize)>,
    /// quorum: `dvv` (siblings, the default) or `lww` (last writer wins by HLC); crdt: `mv`
    /// (MV-register, the default) or `lww`.
    #[arg(long, value_name = "NAME")]
    pub resolution: Option<String>,
    /// quorum: a strict quorum (no stand-ins, no hinted handoff), not Dynamo's sloppy one.
    #[arg(long)]
    pub strict_quorum: bool,
}

fn parse_faults(s: &str) -> Result<FaultProfile, String> {
    s.parse()
}

/// Parse `MIN..MAX` tick periods (both included); the simulator config checks the values.
pub(crate) fn parse_tick_periods(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("tick periods `{s}`: expected MIN..MAX, e.g. 80..120"))?;
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|e| format!("tick periods `{s}`: `{t}` is not a number of time units: {e}"))
    };
    Ok((num(a)?, num(b)?))
}

/// Run the command; returns the process exit code.
pub fn run(args: SimArgs) -> u8 {
    if let Some(e) = crate::sim_replication::scheme_flag_error(&args) {
        eprintln!("error: {e}");
        return 2;
    }
    if args.compare.is_some() {
        return crate::sim_compare::run(args);
    }
    if args.consistency_map {
        return crate::sim_replication::run_map(&args);
    }
    match args.protocol {
        ProtocolName::Raft => run_raft(args),
        ProtocolName::RaftKv | ProtocolName::PaxosKv | ProtocolName::PbftKv => {
            crate::sim_kv::run(args)
        }
        ProtocolName::Paxos => crate::sim_paxos::run(args),
        ProtocolName::Pbft => crate::sim_pbft::run(args),
        ProtocolName::Chain
        | ProtocolName::Craq
        | ProtocolName::PrimaryBackup
        | ProtocolName::Quorum
        | ProtocolName::Crdt => crate::sim_replication::run(args),
    }
}

fn run_raft(args: SimArgs) -> u8 {
    if args.history.is_some() {
        eprintln!("error: --history needs --protocol raft-kv (plain raft has no client history)");
        return 2;
    }
    if let Some(flag) = paxos_only_flag(&args) {
        eprintln!("error: {flag} needs --protocol paxos");
        return 2;
    }
    if let Some(e) = byzantine_flag_error(&args) {
        eprintln!("error: {e}");
        return 2;
    }
    let kv_only = [
        ("--reads", args.reads.is_some()),
        ("--tick-periods", args.tick_periods.is_some()),
        ("--client-timeout", args.client_timeout.is_some()),
    ];
    if let Some((flag, _)) = kv_only.iter().find(|(_, given)| *given) {
        eprintln!("error: {flag} needs --protocol raft-kv");
        return 2;
    }
    let parallel = args.leader_writes_in_parallel;
    let parsed = parse_variant(&args.variant).and_then(|v| variant_needs(v, parallel).map(|()| v));
    let variant = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut opts = RaftSimOptions {
        nodes: args.nodes,
        faults: args.faults,
        variant,
        membership_changes: args.membership_changes,
        leader_writes_in_parallel: parallel,
        ..RaftSimOptions::default()
    };
    if let Some(t) = args.max_time {
        opts.max_time_units = t;
    }
    if let Some(e) = args.max_events {
        opts.max_events = e;
    }
    if let Err(e) = opts.validate() {
        eprintln!("error: {e}");
        return 2;
    }
    match args.seed {
        Some(seed) => replay_one(seed, &args, opts),
        None => run_range(&args, &opts),
    }
}

/// A Paxos flag given to another protocol, by name.
pub(crate) fn paxos_only_flag(args: &SimArgs) -> Option<&'static str> {
    [
        ("--phase1-quorum", args.phase1_quorum.is_some()),
        ("--phase2-quorum", args.phase2_quorum.is_some()),
    ]
    .into_iter()
    .find(|(_, given)| *given)
    .map(|(flag, _)| flag)
}

/// A Byzantine flag given to a protocol that tolerates only crashes, as an error line.
pub(crate) fn byzantine_flag_error(args: &SimArgs) -> Option<String> {
    let given = [
        ("--byzantine", args.byzantine.is_some()),
        ("--strategy", args.strategy.is_some()),
    ];
    let (flag, _) = given.into_iter().find(|(_, g)| *g)?;
    Some(format!(
        "{flag} needs --protocol pbft or pbft-kv: {} tolerates crashed nodes, not lying ones",
        args.protocol
    ))
}

/// The command that reproduces `seed` with the same options, printed after every violation.
pub(crate) fn replay_command(args: &SimArgs, seed: u64) -> String {
    let mut cmd = format!(
        "distributed sim --protocol {} --nodes {} --faults {} --variant {}",
        args.protocol, args.nodes, args.faults, args.variant
    );
    if args.membership_changes {
        cmd += " --membership-changes";
    }
    if args.leader_writes_in_parallel {
        cmd += " --leader-writes-in-parallel";
    }
    if let Some(q) = args.phase1_quorum {
        cmd += &format!(" --phase1-quorum {q}");
    }
    if let Some(q) = args.phase2_quorum {
        cmd += &format!(" --phase2-quorum {q}");
    }
    if let Some(b) = args.byzantine {
        cmd += &format!(" --byzantine {b}");
    }
    if let Some(s) = &args.strategy {
        cmd += &format!(" --strategy {s}");
    }
    if matches!(args.protocol, ProtocolName::Pbft | ProtocolName::PbftKv) {
        cmd += &format!(" --clients {}", args.clients); // PBFT reads go through the log
        if let Some(t) = args.client_timeout {
            cmd += &format!(" --client-timeout {t}");
        }
    }
    if args.protocol.is_register_scheme() {
        cmd += &format!(" --clients {}", args.clients);
        if let Some(t) = args.client_timeout {
            cmd += &format!(" --client-timeout {t}");
        }
        if let Some((n, r, w)) = args.nrw {
            cmd += &format!(" --nrw {n},{r},{w}");
        }
        if let Some(name) = &args.resolution {
            cmd += &format!(" --resolution {name}");
        }
        if args.strict_quorum {
            cmd += " --strict-quorum";
        }
    }
    if matches!(args.protocol, ProtocolName::RaftKv | ProtocolName::PaxosKv) {
        cmd += &format!(" --clients {} --reads {}", args.clients, read_path(args));
        if let Some((min, max)) = args.tick_periods {
            cmd += &format!(" --tick-periods {min}..{max}");
        }
        if let Some(t) = args.client_timeout {
            cmd += &format!(" --client-timeout {t}");
        }
    }
    if let Some(t) = args.max_time {
        cmd += &format!(" --max-time {t}");
    }
    if let Some(e) = args.max_events {
        cmd += &format!(" --max-events {e}");
    }
    cmd + &format!(" --seed {seed} --trace")
}

/// The read path the flags ask for (raft-kv): `--reads`, else the replica's default.
pub(crate) fn read_path(args: &SimArgs) -> ReadPath {
    args.reads.unwrap_or_default()
}

/// The trace level the flags ask for.
pub(crate) fn trace_level(args: &SimArgs) -> TraceLevel {
    match (args.trace, args.trace_ticks) {
        (_, true) => TraceLevel::Ticks,
        (true, false) => TraceLevel::Events,
        (false, false) => TraceLevel::Off,
    }
}

/// Worker threads for a seed range: the flag, else every core.
pub(crate) fn threads(args: &SimArgs) -> usize {
    args.threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get)
}

/// The first line of a seed-range run, naming everything that decides the result.
pub(crate) fn header(args: &SimArgs) -> String {
    let clients = match args.protocol {
        ProtocolName::RaftKv | ProtocolName::PaxosKv => {
            format!(" clients={} reads={}", args.clients, read_path(args))
        }
        ProtocolName::Pbft | ProtocolName::PbftKv => {
            let b = args.byzantine.map_or("f".to_string(), |b| b.to_string());
            let s = args.strategy.as_deref().unwrap_or("per-seed");
            let reads = match args.protocol {
                ProtocolName::PbftKv => " reads=log",
                _ => "",
            };
            format!(
                " clients={}{reads} byzantine={b} strategy={s}",
                args.clients
            )
        }
        ProtocolName::Chain | ProtocolName::Craq => {
            format!(
                " (replicas; master n{}) clients={}",
                args.nodes + 1,
                args.clients
            )
        }
        ProtocolName::PrimaryBackup => {
            format!(
                " (servers; view service n{}) clients={}",
                args.nodes + 1,
                args.clients
            )
        }
        ProtocolName::Quorum | ProtocolName::Crdt => format!(" clients={}", args.clients),
        ProtocolName::Raft | ProtocolName::Paxos => String::new(),
    };
    // Named only when on, so that every other header reads as it always did.
    let mut writes = match args.leader_writes_in_parallel {
        true => " leader_writes=parallel".to_string(),
        false => String::new(),
    };
    if let Some(q) = args.phase1_quorum {
        writes += &format!(" phase1_quorum={q}");
    }
    if let Some(q) = args.phase2_quorum {
        writes += &format!(" phase2_quorum={q}");
    }
    format!(
        "simulating protocol={} nodes={}{clients} faults={} variant={}{writes} seeds={}..{} \
         threads={}",
        args.protocol,
        args.nodes,
        args.faults,
        args.variant,
        args.seeds.start,
        args.seeds.end,
        threads(args)
    )
}

fn replay_one(seed: u64, args: &SimArgs, mut opts: RaftSimOptions) -> u8 {
    opts.trace = trace_level(args);
    let report = run_seed(seed, &opts);
    // Write errors (a closed pipe: `| head`) end the output early but not the exit code.
    let mut out = io::stdout().lock();
    for line in report.trace_lines() {
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    let _ = writeln!(out, "{report}");
    if report.violation().is_some() {
        let _ = writeln!(out, "replay: {}", replay_command(args, seed));
        return 1;
    }
    0
}

/// Run `batch` over `args.seeds`, with a progress line on a terminal (see the module header).
pub(crate) fn with_seed_progress<T>(args: &SimArgs, batch: impl FnOnce(&SeedProgress) -> T) -> T {
    let progress = SeedProgress::default();
    let total = args.seeds.end.saturating_sub(args.seeds.start);
    let line = |elapsed: Duration| {
        let done = progress.done();
        format!(
            "seeds {done}/{total}  violations {}  {} seeds/s  {} s",
            progress.failing(),
            per_second(done, elapsed),
            elapsed.as_secs()
        )
    };
    while_running(StatusLine::for_stderr(), PROGRESS_PERIOD, line, || {
        batch(&progress)
    })
}

fn run_range(args: &SimArgs, opts: &RaftSimOptions) -> u8 {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", header(args));
    let _ = out.flush();
    let summary = with_seed_progress(args, |progress| {
        run_seeds_with_progress(args.seeds.clone(), opts, threads(args), progress)
    });
    let _ = write!(out, "{summary}");
    match summary.violations.first() {
        Some(first) => {
            let _ = writeln!(out, "replay: {}", replay_command(args, first.seed()));
            1
        }
        None => 0,
    }
}

/// Print one replayed seed: its trace, its report, and on a violation the replay command.
/// Returns the exit code (1 on a violation). Write errors (a closed pipe: `| head`) end the
/// output early but not the exit code. Shared by the protocols whose seeds report this way.
pub(crate) fn print_seed<'a>(
    args: &SimArgs,
    seed: u64,
    trace: impl Iterator<Item = &'a str>,
    report: &dyn std::fmt::Display,
    failed: bool,
) -> u8 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in trace {
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    let _ = writeln!(out, "{report}");
    if failed {
        let _ = writeln!(out, "replay: {}", replay_command(args, seed));
        return 1;
    }
    0
}

/// Print a seed range's header, run it (`run` gets the progress counter), print its summary
/// and, if a seed failed, the lowest one's replay command. Returns the exit code.
pub(crate) fn print_range<S: std::fmt::Display>(
    args: &SimArgs,
    run: impl FnOnce(&SeedProgress) -> S,
    lowest_failure: impl FnOnce(&S) -> Option<u64>,
) -> u8 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", header(args));
    let _ = out.flush();
    let summary = with_seed_progress(args, run);
    let _ = write!(out, "{summary}");
    match lowest_failure(&summary) {
        Some(seed) => {
            let _ = writeln!(out, "replay: {}", replay_command(args, seed));
            1
        }
        None => 0,
    }
}
