//! How a KV scenario runs its seeds: options built as the CLI builds them, one library run or
//! one clerk run per seed (each an error unless the run broke no invariant, had no unexpected
//! reply, and the checker proved its history linearizable), and a seed loop that panics with
//! a replayable report at the first seed that fails.
//!
//! ```text
//!   each_seed(opts, seeds | $SCENARIO_KV_SEED, |seed| ...)
//!     run_library(seed, opts, script) ─► KvSeedReport   (scenarios::raft_kv's own clients)
//!     run_clerks(seed, opts, specs, setup) ─► ClerkRun  (the scripted clerks)
//!       └ each keeps its history on this thread, for the report
//!     Err(message) ─► panic: seed, failure line, history file, replay (CLI when it can)
//! ```
//!
//! `SCENARIO_KV_VARIANT` and `SCENARIO_KV_TRACE` apply through `options`; the replay command
//! names the test binary this harness is compiled into (`CARGO_CRATE_NAME`).

use std::cell::RefCell;
use std::ops::Range;

use check::{CheckResult, History};
use distributed_core::NodeId;
use replica::KvReplica;
use scenarios::raft_kv::{parse_replica_variant, simulation, KvSeedReport, RaftKvOptions};
use scenarios::FaultProfile;
use sim::{Simulation, Time, TraceLevel};

use super::{audit_appends, ClerkCluster, ClerkRun, ClerkSpec, Mix};

/// Options for `nodes` servers and `clients` library clients under `faults` for `max_time`
/// units, built as `distributed sim --protocol raft-kv --max-time` builds them, so a failing
/// library seed replays from the CLI. `SCENARIO_KV_VARIANT` and `SCENARIO_KV_TRACE` apply.
pub fn options(
    nodes: usize,
    clients: usize,
    faults: FaultProfile,
    max_time: Time,
) -> RaftKvOptions {
    let mut opts = RaftKvOptions {
        nodes,
        clients,
        faults,
        max_time_units: max_time,
        quiesce_units: max_time / 10,
        ..RaftKvOptions::default()
    };
    if let Ok(v) = std::env::var("SCENARIO_KV_VARIANT") {
        opts.variant = parse_replica_variant(&v).unwrap_or_else(|e| panic!("{e}"));
    }
    if std::env::var_os("SCENARIO_KV_TRACE").is_some() {
        opts.trace = TraceLevel::Events;
    }
    opts
}

/// The servers `n1..=n{nodes}`.
pub fn all(nodes: usize) -> Vec<NodeId> {
    (1..=nodes as u64).map(NodeId).collect()
}

/// `count` clerks on `servers`, issuing from `start` until `stop`.
pub fn clerks(
    count: usize,
    servers: &[NodeId],
    start: Time,
    stop: Time,
    mix: Mix,
) -> Vec<ClerkSpec> {
    let spec = ClerkSpec {
        servers: servers.to_vec(),
        start_at: start,
        stop_at: stop,
        ops_max: 2_000,
        follow_leader: true,
        pinned: None,
        mix,
    };
    vec![spec; count]
}

thread_local! {
    /// The history of the run a scenario made last on this thread, written to a file if the
    /// scenario fails.
    static LAST_HISTORY: RefCell<Option<History>> = const { RefCell::new(None) };
    /// Whether the last failing run was a library run with no script: the CLI replays those.
    static CLI_REPLAYS: RefCell<bool> = const { RefCell::new(false) };
}

/// One library seed, with `script` (if any) applied to its simulation: an error unless the
/// run broke no invariant, had no unexpected reply, and the checker proved the history
/// linearizable.
pub fn run_library(
    seed: u64,
    opts: &RaftKvOptions,
    script: Option<fn(&mut Simulation<KvReplica>)>,
) -> Result<KvSeedReport, String> {
    let mut sim = simulation(seed, opts).map_err(|e| e.to_string())?;
    if let Some(script) = script {
        script(sim.sim_mut());
    }
    let r = sim.run();
    print_trace(r.report.trace.as_deref());
    LAST_HISTORY.with(|h| *h.borrow_mut() = Some(r.history.clone()));
    CLI_REPLAYS.with(|c| *c.borrow_mut() = script.is_none());
    if let Some(line) = r.failure_line() {
        return Err(format!("{line}\n{r}"));
    }
    ensure!(
        r.check == CheckResult::Linearizable,
        "seed={seed} check: {} (the checker's budget ran out: no claim)\n{r}",
        r.check
    );
    Ok(r)
}

/// One clerk seed: `setup` may script faults. An error unless the run broke no invariant,
/// had no unexpected reply, and the checker proved the history linearizable.
pub fn run_clerks(
    seed: u64,
    opts: &RaftKvOptions,
    specs: Vec<ClerkSpec>,
    setup: impl FnOnce(ClerkCluster) -> ClerkCluster,
) -> Result<ClerkRun, String> {
    let run = setup(ClerkCluster::new(seed, opts, specs)).run();
    print_trace(run.report.trace.as_deref());
    LAST_HISTORY.with(|h| *h.borrow_mut() = Some(run.history.clone()));
    CLI_REPLAYS.with(|c| *c.borrow_mut() = false);
    match run.failure() {
        Some(f) => Err(format!("seed={seed} clerks: {f}\n{}", run.report.stats)),
        None => Ok(run),
    }
}

fn print_trace(trace: Option<&str>) {
    if let Some(t) = trace {
        println!("{t}");
    }
}

/// No op was abandoned or left without a return.
pub fn all_ops_returned(r: &KvSeedReport) -> Result<(), String> {
    let o = &r.ops;
    ensure!(
        o.no_return == 0 && o.abandoned == 0 && o.ok == o.invoked,
        "not every op returned: invoked={} ok={} no_return={} abandoned={}",
        o.invoked,
        o.ok,
        o.no_return,
        o.abandoned
    );
    Ok(())
}

/// Each of the library's first sessions `1..=clients` (one per client) completed `min` ops.
pub fn every_client_completes(history: &History, clients: u64, min: usize) -> Result<(), String> {
    for c in 1..=clients {
        let ok = history
            .ops()
            .iter()
            .filter(|o| o.client == c && o.ret().is_some())
            .count();
        ensure!(
            ok >= min,
            "client {c} completed {ok} ops, want at least {min}"
        );
    }
    Ok(())
}

/// Run `scenario` for every seed of `seeds` (only `$SCENARIO_KV_SEED` if set) and panic with a
/// replayable report at the first that fails; otherwise return what each seed returned.
pub fn each_seed<T>(
    opts: &RaftKvOptions,
    seeds: Range<u64>,
    scenario: impl Fn(u64) -> Result<T, String>,
) -> Vec<T> {
    let seeds = match std::env::var("SCENARIO_KV_SEED") {
        Ok(s) => {
            let seed: u64 = s.parse().expect("SCENARIO_KV_SEED is a number");
            seed..seed + 1
        }
        Err(_) => seeds,
    };
    // The test harness names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or(env!("CARGO_CRATE_NAME"));
    let mut done = Vec::new();
    for seed in seeds {
        match scenario(seed) {
            Ok(t) => done.push(t),
            Err(message) => panic!("{}", failure_report(test, opts, seed, &message)),
        }
    }
    done
}

/// The seed, its failure line, where its history went, and the commands that replay it.
fn failure_report(test: &str, opts: &RaftKvOptions, seed: u64, message: &str) -> String {
    let binary = env!("CARGO_CRATE_NAME");
    let line = message.lines().next().unwrap_or("");
    let mut s = format!("{test} failed at seed={seed}\nfailure: {line}\n");
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{binary}-{test}-seed{seed}.jsonl"));
    if let Some(h) = LAST_HISTORY.with(|h| h.borrow_mut().take()) {
        if std::fs::write(&file, h.to_json_lines()).is_ok() {
            s += &format!(
                "history: {} (re-check: distributed check FILE)\n",
                file.display()
            );
        }
    }
    let cli = format!(
        "distributed sim --protocol raft-kv --nodes {} --clients {} --faults {} --variant {} \
         --max-time {} --seed {seed} --trace --history h.jsonl",
        opts.nodes, opts.clients, opts.faults, opts.variant, opts.max_time_units
    );
    let exact = CLI_REPLAYS.with(|c| *c.borrow()) && cli_expresses(opts);
    if exact {
        s += &format!("replay: {cli}\n");
    } else {
        s += &format!(
            "replay: SCENARIO_KV_SEED={seed} SCENARIO_KV_TRACE=1 cargo test -p scenarios --test \
             {binary} -- --exact {test} --nocapture\n\
             (same cluster and faults, CLI clients, no script or clerks: {cli})\n"
        );
    }
    s + "\n" + message
}

/// Whether `distributed sim --protocol raft-kv` builds exactly these options from its flags.
fn cli_expresses(opts: &RaftKvOptions) -> bool {
    let cli = RaftKvOptions {
        nodes: opts.nodes,
        clients: opts.clients,
        faults: opts.faults,
        variant: opts.variant,
        max_time_units: opts.max_time_units,
        quiesce_units: opts.max_time_units / 10,
        trace: opts.trace,
        ..RaftKvOptions::default()
    };
    cli == *opts
}

/// `count` clerks that do not stick to the leader (each op goes to the next server in turn,
/// so followers must redirect reads rather than answer them from their own state): an error
/// unless they complete `min_ok` ops, their history is linearizable, and reads that followed
/// acknowledged appends hold them.
pub fn rotating_clerks(
    seed: u64,
    opts: &RaftKvOptions,
    count: usize,
    min_ok: usize,
) -> Result<ClerkRun, String> {
    let mix = Mix {
        append: 2,
        put: 1,
        get: 2,
        keys: 2,
        ..Mix::default()
    };
    let mut specs = clerks(count, &all(opts.nodes), 0, opts.issue_until_units(), mix);
    specs.iter_mut().for_each(|c| c.follow_leader = false);
    let run = run_clerks(seed, opts, specs, |c| c)?;
    let (ok, _) = run.counts();
    ensure!(ok >= min_ok, "the rotating clerks completed only {ok} ops");
    let audit = audit_appends(&run)?;
    ensure!(
        audit.reads_checked > 0,
        "no read followed an append: {audit:?}"
    );
    Ok(run)
}
