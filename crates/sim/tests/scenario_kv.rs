//! The replicated KV store, scenario by scenario: what a KV-on-Raft service owes its clients
//! (the properties the MIT 6.5840 lab 4A/4B-without-snapshots grades), in our own scenarios.
//! Every scenario runs several seeds, every history goes through the linearizability checker,
//! and each test asserts the property its doc comment states.
//!
//! ```text
//!   test                                                   faults            who
//!   kv_basic_single_client_reliable_network                none              1 client, 1 clerk
//!   kv_concurrent_clients_reliable_network                 none              5 + 5
//!   kv_concurrent_clients_unreliable_network               network           5 + 3
//!   kv_one_key_contention                                  network           8 + 8, 2 keys
//!   kv_minority_partition_blocks_and_majority_serves       scripted split    5 pinned clerks
//!   kv_many_partitions_with_concurrent_clients             partitions        5 + 3
//!   kv_state_persists_across_crashes_of_every_node         scripted crashes  5 + 5
//!   kv_crashes_partitions_and_unreliable_network_together  all               5
//!   kv_linearizable_with_15_clients_and_7_servers          all, 7 servers    15
//!   exactly_once_appends_survive_retries_under_faults      all               6 clerks
//!   exactly_once_audits_catch_clerks_that_renumber_...     all               6 broken clerks
//! ```
//!
//! "Clients" are `sim::raft_kv`'s own, exactly as `distributed sim --protocol raft-kv` runs
//! them; "clerks" are scripted in `kv_scenarios/` (pinned or rotating servers, unique append
//! tokens, +1 increments), which makes exactly-once checkable on the values themselves.
//!
//! Bounds are in simulated time units (a tick is 100; election timeouts 1,000..2,000) or in
//! counts, never wall clock. A failure prints the seed, the failure line and replay commands.
//! Environment switches (all off by default):
//!
//! ```text
//!   SCENARIO_KV_SEED=S                 run only seed S
//!   SCENARIO_KV_TRACE=1                print the trace of every run
//!   SCENARIO_KV_VARIANT=ack-before-commit|stale-follower-reads
//!                                      run every scenario against a broken replica: the tests
//!                                      must fail (which shows they can)
//!   SCENARIO_KV_RENUMBER_RETRIES=1     clerks resend under a new seq: the exactly-once audits
//!                                      must fail
//! ```

mod kv_scenarios;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Range;

use check::{CheckResult, History};
use distributed_core::NodeId;
use kv::KvReplica;
use kv_scenarios::{
    audit_appends, audit_counters, ClerkCluster, ClerkRun, ClerkSpec, Mix, OpRecord, Pin,
};
use sim::raft::FaultProfile;
use sim::raft_kv::{parse_replica_variant, simulation, KvSeedReport, RaftKvOptions};
use sim::{Partition, Simulation, Time, TraceLevel};

/// The longest election timeout of the Raft defaults (20 ticks of 100 units).
const ELECTION_TIMEOUT_MAX_UNITS: Time = 2_000;
/// How long the cluster may take to elect a leader when it needs one: five longest timeouts
/// (a split vote costs one more, Raft §5.2).
const ELECTION_BOUND_UNITS: Time = 5 * ELECTION_TIMEOUT_MAX_UNITS;

/// Return `Err(message)` from a scenario unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

// ───────────────────────────── the scenarios ─────────────────────────────

/// One client, no faults: every op it starts completes (none abandoned, none without a
/// return), at least 200 of them; once its first op is in, every later op returns within
/// five heartbeats (1,000 units); the history is linearizable. Then one clerk that sends each
/// op to the next server in turn, followers included: every op completes, at least 100, each
/// read holds every append acknowledged before it began, and the history is linearizable.
#[test]
fn kv_basic_single_client_reliable_network() {
    let opts = options(5, 1, FaultProfile::None, 50_000);
    each_seed(&opts, 0..10, |seed| {
        let r = run_library(seed, &opts, None)?;
        all_ops_returned(&r)?;
        ensure!(r.ops.ok >= 200, "only {} ops completed", r.ops.ok);
        let ops = r.history.ops();
        let first_ret = ops.iter().filter_map(|o| o.ret()).min().unwrap_or(0);
        let slow = ops
            .iter()
            .filter(|o| o.invoke > first_ret)
            .find(|o| o.ret().is_some_and(|ret| ret - o.invoke > 1_000));
        if let Some(o) = slow {
            let ret = o.ret().unwrap_or(0);
            return Err(format!(
                "{} [t={}..t={ret}] took over 1,000 units",
                o.input, o.invoke
            ));
        }
        let run = rotating_clerks(seed, &opts, 1, 100)?;
        ensure!(
            run.counts().1 == 0,
            "{} clerk ops never returned",
            run.counts().1
        );
        Ok(())
    });
}

/// Five clients, no faults: every op completes, each client completes at least 100 ops,
/// and the history is linearizable. Then five clerks that send each op to the next server in
/// turn: every op completes, at least 500, each read holds every append acknowledged before
/// it began, and the history is linearizable.
#[test]
fn kv_concurrent_clients_reliable_network() {
    let opts = options(5, 5, FaultProfile::None, 50_000);
    each_seed(&opts, 0..10, |seed| {
        let r = run_library(seed, &opts, None)?;
        all_ops_returned(&r)?;
        every_client_completes(&r.history, 5, 100)?;
        let run = rotating_clerks(seed, &opts, 5, 500)?;
        ensure!(
            run.counts().1 == 0,
            "{} clerk ops never returned",
            run.counts().1
        );
        Ok(())
    });
}

/// Five clients while the network between servers loses, duplicates, delays and reorders
/// messages: the history is linearizable, each client completes at least 50 ops, fewer than
/// 1% of ops end without a return, and the network did lose and duplicate messages. Three
/// clerks sending each op to the next server in turn complete at least 150 ops, each read
/// holds every append acknowledged before it began, and their history is linearizable.
#[test]
fn kv_concurrent_clients_unreliable_network() {
    let opts = options(5, 5, FaultProfile::Network, 50_000);
    each_seed(&opts, 0..40, |seed| {
        let r = run_library(seed, &opts, None)?;
        every_client_completes(&r.history, 5, 50)?;
        let o = &r.ops;
        ensure!(
            o.no_return * 100 < o.invoked.max(1),
            "{} of {} ops never returned",
            o.no_return,
            o.invoked
        );
        let s = &r.report.stats;
        ensure!(
            s.messages_dropped > 0 && s.messages_duplicated > 0,
            "the network lost or duplicated nothing: {s}"
        );
        rotating_clerks(seed, &opts, 3, 150).map(|_| ())
    });
}

/// `count` clerks that do not stick to the leader (each op goes to the next server in turn,
/// so followers must redirect reads rather than answer them from their own state): an error
/// unless they complete `min_ok` ops, their history is linearizable, and reads that followed
/// acknowledged appends hold them.
fn rotating_clerks(
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

/// Eight clients on one string key and one counter key, over an unreliable network. The
/// library clients' history (every op kind, all on `s0` and `n0`) is linearizable and each
/// client completes at least 10 ops. Then eight clerks (four sticking to the leader, four
/// sending each op to the next server in turn) append unique tokens to `a0`, add one to `n0`
/// and read both: the history is linearizable, every acknowledged append is in every
/// later read and in the final value exactly once, and every increment counts once (the
/// final `n0` lies between the acknowledged and the started increments, acknowledged ones
/// return distinct values, no read exceeds the increments started).
#[test]
fn kv_one_key_contention() {
    let mut opts = options(5, 8, FaultProfile::Network, 50_000);
    opts.string_keys = 1;
    opts.counter_keys = 1;
    // Two reads per append: see `exactly_once_clerks` on what reads save the checker.
    let mix = Mix {
        append: 1,
        incr: 1,
        get: 2,
        keys: 1,
        ..Mix::default()
    };
    each_seed(&opts, 0..20, |seed| {
        let r = run_library(seed, &opts, None)?;
        let keys: BTreeSet<&str> = r.history.ops().iter().map(|o| o.input.key()).collect();
        ensure!(keys.len() <= 2, "ops on more than two keys: {keys:?}");
        every_client_completes(&r.history, 8, 10)?;
        let end = opts.issue_until_units();
        let mut specs = clerks(8, &all(5), 0, end, mix);
        specs[4..].iter_mut().for_each(|c| c.follow_leader = false);
        let run = run_clerks(seed, &opts, specs, |c| c)?;
        let appends = audit_appends(&run)?;
        let counters = audit_counters(&run)?;
        ensure!(
            appends.acked >= 100 && counters.acked >= 100 && counters.finals_checked == 1,
            "too little to judge: {appends:?} {counters:?}"
        );
        Ok(())
    });
}

/// When the minority is cut off.
const CUT: Time = 8_000;
/// When it rejoins.
const HEAL: Time = 28_000;

/// Two of five servers (the leader at the cut among them on even seeds) are cut off from
/// t=8,000 to t=28,000. Five clerks run throughout; during the cut three may reach only the
/// majority and two only the minority (after it, everyone, as in the MIT lab). No minority
/// server answers an op sent during the cut before the heal; so the minority's clerks get no
/// answer while cut off, and each has an op that waits out the cut and returns within an
/// election bound (10,000 units) of the heal; the majority's clerks complete at least 50 ops
/// inside the cut; every op returns by the end; the history is linearizable.
#[test]
fn kv_minority_partition_blocks_and_majority_serves() {
    let opts = options(5, 1, FaultProfile::None, 44_000);
    each_seed(&opts, 0..30, |seed| {
        let (leader, minority) = minority_for(seed, &opts)?;
        let cut = Partition::split(5, &minority);
        let majority: Vec<NodeId> = all(5)
            .into_iter()
            .filter(|n| !minority.contains(n))
            .collect();
        let specs = sided_clerks(&opts, &minority, &majority);
        let run = run_clerks(seed, &opts, specs, |mut c| {
            c.sim_mut().schedule_partition(CUT, cut.clone());
            c.sim_mut().schedule_heal(HEAL);
            c.watching_leader_before(CUT)
        })?;
        let side = format!("leader at t={CUT} {leader}, cut {cut}");
        ensure!(
            run.leader_before_watch == Some(leader),
            "{side}: the run to t={CUT} and the real run diverged before it"
        );
        minority_blocked_majority_served(&run, &minority).map_err(|e| format!("{side}: {e}"))
    });
}

/// The leader just before `CUT`, and the minority to cut off: it and one other server on
/// even seeds, two other servers on odd ones. The clerks behave the same before `CUT`
/// whatever their pins, so a run to `CUT` has the same prefix as the real run.
fn minority_for(seed: u64, opts: &RaftKvOptions) -> Result<(NodeId, Vec<NodeId>), String> {
    let mut before = opts.clone();
    before.max_time_units = CUT;
    before.quiesce_units = 0;
    let specs = sided_clerks(opts, &all(5), &all(5));
    let probe = ClerkCluster::new(seed, &before, specs)
        .watching_leader_before(CUT)
        .run();
    let leader = probe
        .leader_before_watch
        .ok_or(format!("no leader at t={CUT}"))?;
    let others: Vec<NodeId> = all(5).into_iter().filter(|n| *n != leader).collect();
    let k = seed as usize / 2;
    let minority = match seed % 2 {
        0 => vec![leader, others[k % 4]],
        _ => vec![others[k % 4], others[(k + 1) % 4]],
    };
    Ok((leader, minority))
}

/// Clerks c1..=c3 pinned to the majority during the cut, c4 and c5 to the minority.
fn sided_clerks(opts: &RaftKvOptions, minority: &[NodeId], majority: &[NodeId]) -> Vec<ClerkSpec> {
    let mix = Mix {
        append: 2,
        put: 1,
        get: 2,
        keys: 1,
        ..Mix::default()
    };
    let stop = opts.issue_until_units();
    let mut specs = clerks(5, &all(5), 0, stop, mix);
    for (i, c) in specs.iter_mut().enumerate() {
        let servers = if i < 3 { majority } else { minority };
        c.pinned = Some(Pin {
            from: CUT,
            until: HEAL,
            servers: servers.to_vec(),
        });
    }
    specs
}

fn minority_blocked_majority_served(run: &ClerkRun, minority: &[NodeId]) -> Result<(), String> {
    ensure!(
        run.report.stats.partitions == 1,
        "the partition did not happen"
    );
    let returned = |o: &OpRecord| o.done.as_ref().map(|(t, _)| *t);
    let during_cut = |t: Time| t > CUT && t < HEAL;
    // An op sent before the cut may still be answered by the minority's old leader during
    // it: its entry may already sit on a majority, and a minority follower's late ack then
    // completes the quorum. An op sent during the cut cannot reach a majority until the heal.
    let answered_cut_off = run.ops.iter().find(|o| {
        o.invoke >= CUT
            && o.served_by.is_some_and(|n| minority.contains(&n))
            && returned(o).is_some_and(during_cut)
    });
    if let Some(op) = answered_cut_off {
        return Err(format!("a cut-off server answered {op}"));
    }
    let majority_ops = run
        .ops
        .iter()
        .filter(|o| o.clerk <= 3 && returned(o).is_some_and(during_cut))
        .count();
    ensure!(
        majority_ops >= 50,
        "the majority completed only {majority_ops} ops in the cut"
    );
    for clerk in 4..=5 {
        let ops: Vec<&OpRecord> = run.ops.iter().filter(|o| o.clerk == clerk).collect();
        let early = ops
            .iter()
            .find(|o| o.invoke >= CUT && returned(o).is_some_and(|t| t < HEAL));
        if let Some(op) = early {
            return Err(format!("answered while cut off: {op}"));
        }
        let waited = ops
            .iter()
            .find(|o| o.invoke < HEAL && returned(o).unwrap_or(Time::MAX) >= HEAL)
            .ok_or(format!("c{clerk} had no op waiting out the cut"))?;
        ensure!(
            returned(waited).is_some_and(|t| t <= HEAL + ELECTION_BOUND_UNITS),
            "{waited} returned over {ELECTION_BOUND_UNITS} units after the heal at t={HEAL}"
        );
    }
    let (_, no_return) = run.counts();
    ensure!(no_return == 0, "{no_return} ops never returned");
    Ok(())
}

/// Five clients through random, leader-isolating, split-brain and bridge partitions: the
/// history is linearizable, at least five partitions happened, at least 300 ops completed,
/// and each client completed at least 50. Three clerks sending each op to the next server in
/// turn complete at least 100 ops, each read holds every append acknowledged before it
/// began, and their history is linearizable.
#[test]
fn kv_many_partitions_with_concurrent_clients() {
    let opts = options(5, 5, FaultProfile::Partitions, 60_000);
    each_seed(&opts, 0..40, |seed| {
        let r = run_library(seed, &opts, None)?;
        let partitions = r.report.stats.partitions;
        ensure!(partitions >= 5, "only {partitions} partitions");
        ensure!(r.ops.ok >= 300, "only {} ops completed", r.ops.ok);
        every_client_completes(&r.history, 5, 50)?;
        rotating_clerks(seed, &opts, 3, 100).map(|_| ())
    });
}

/// When every server crashes, in three rounds.
const CRASHES: [Time; 3] = [12_000, 27_000, 42_000];
/// How long they stay down.
const DOWN: Time = 2_000;

/// Every server crashes and restarts three times (twice all at once, once staggered with the
/// restarts in reverse order), over an unreliable network. Clerks append unique tokens and
/// read: every read holds every append acknowledged before the read began, and after each
/// restart there are reads of keys appended to before the crash; the final values hold every
/// acknowledged append exactly once. The library clients' history through the same crashes
/// is linearizable, and at least 20 of their ops complete after the last restart.
#[test]
fn kv_state_persists_across_crashes_of_every_node() {
    let opts = options(5, 5, FaultProfile::Network, 60_000);
    let restarted = |round: usize| CRASHES[round] + DOWN + 600;
    let mix = Mix {
        append: 3,
        get: 2,
        keys: 2,
        ..Mix::default()
    };
    each_seed(&opts, 0..20, |seed| {
        let r = run_library(seed, &opts, Some(crash_every_server))?;
        let s = &r.report.stats;
        ensure!(
            s.crashes == 15 && s.restarts == 15,
            "not every crash happened: {s}"
        );
        let after = r.history.ops().iter().filter(|o| o.invoke > restarted(2));
        let after = after.filter(|o| o.ret().is_some()).count();
        ensure!(
            after >= 20,
            "{after} ops completed after t={}",
            restarted(2)
        );
        let end = opts.issue_until_units();
        let run = run_clerks(seed, &opts, clerks(5, &all(5), 0, end, mix), |mut c| {
            crash_every_server(c.sim_mut());
            c
        })?;
        let audit = audit_appends(&run)?;
        ensure!(
            audit.finals_checked > 0,
            "final values never complete: {audit:?}"
        );
        for (round, crash) in CRASHES.into_iter().enumerate() {
            let appended_before = |key: &str| {
                run.ops.iter().any(|o| {
                    matches!(o.command, check::Command::Append { .. })
                        && o.command.key() == key
                        && o.done.as_ref().is_some_and(|(t, _)| *t < crash)
                })
            };
            let reads = run
                .ops
                .iter()
                .filter(|o| o.invoke > restarted(round) && o.done.is_some())
                .filter(|o| matches!(o.command, check::Command::Get { .. }))
                .filter(|o| appended_before(o.command.key()))
                .count();
            ensure!(
                reads > 0,
                "no read after restart {round} saw a pre-crash key"
            );
        }
        Ok(())
    });
}

fn crash_every_server(sim: &mut Simulation<KvReplica>) {
    for (round, at) in CRASHES.into_iter().enumerate() {
        for (i, id) in (0..).zip(all(5)) {
            let (crash, restart) = match round {
                1 => (at + 150 * i, at + DOWN + 150 * (4 - i)),
                _ => (at, at + DOWN),
            };
            sim.schedule_crash(crash, id);
            sim.schedule_restart(restart, id);
        }
    }
}

/// Crashes and restarts, partitions, an unreliable network and clock skew at once: the
/// history is linearizable, every kind of fault happened, and at least 100 ops completed.
#[test]
fn kv_crashes_partitions_and_unreliable_network_together() {
    let opts = options(5, 5, FaultProfile::All, 100_000);
    each_seed(&opts, 0..50, |seed| {
        let r = run_library(seed, &opts, None)?;
        let s = &r.report.stats;
        ensure!(
            s.crashes > 0 && s.partitions > 0 && s.messages_dropped > 0,
            "a fault kind never happened: {s}"
        );
        ensure!(r.ops.ok >= 100, "only {} ops completed", r.ops.ok);
        Ok(())
    });
}

/// Fifteen clients on seven servers under every fault at once: the history is linearizable,
/// at least 100 ops completed, and each of the fifteen clients completed at least one.
#[test]
fn kv_linearizable_with_15_clients_and_7_servers() {
    let opts = options(7, 15, FaultProfile::All, 60_000);
    each_seed(&opts, 0..30, |seed| {
        let r = run_library(seed, &opts, None)?;
        ensure!(r.ops.ok >= 100, "only {} ops completed", r.ops.ok);
        every_client_completes(&r.history, 15, 1)
    });
}

/// Six clerks append unique tokens, add one to counters and read, under every fault at once,
/// so many sends end in `Retry` or silence and are resent under the same seq. Every
/// acknowledged append is in every later read and in the final value of its key exactly
/// once; no token ever appears twice; every counter counts each increment once; the history
/// is linearizable. Across the seeds at least 500 sends had an unknown fate, and more than
/// half the seeds ended with final values complete enough to compare.
#[test]
fn exactly_once_appends_survive_retries_under_faults() {
    let opts = options(5, 6, FaultProfile::All, 60_000);
    let audits = each_seed(&opts, 0..60, |seed| {
        let run = run_clerks(seed, &opts, exactly_once_clerks(&opts), |c| c)?;
        let appends = audit_appends(&run)?;
        audit_counters(&run)?;
        let uncertain: u32 = run.ops.iter().map(|o| o.uncertain_sends).sum();
        Ok((appends.finals_checked > 0, uncertain))
    });
    if audits.len() > 1 {
        let uncertain: u32 = audits.iter().map(|(_, u)| u).sum();
        let complete = audits.iter().filter(|(c, _)| *c).count();
        assert!(
            uncertain >= 500,
            "{uncertain} uncertain sends: retries barely tested"
        );
        assert!(
            complete * 2 > audits.len(),
            "final values complete in {complete} seeds"
        );
    }
}

/// The exactly-once audits can fail: clerks that resend under a NEW seq, so the replicas
/// cannot recognise a retry, get appends applied twice, and the append audit says so in the
/// first of the seeds above.
#[test]
fn exactly_once_audits_catch_clerks_that_renumber_their_retries() {
    let opts = options(5, 6, FaultProfile::All, 60_000);
    let caught = (0..30).find_map(|seed| {
        let c = ClerkCluster::new(seed, &opts, exactly_once_clerks(&opts));
        let run = c.renumbering_retries().run();
        audit_appends(&run).err().map(|e| (seed, e))
    });
    let (seed, e) = caught.expect("renumbered retries went unnoticed in 30 seeds");
    assert!(e.contains("twice"), "seed {seed}: {e}");
}

/// Six clerks on every server, appending, incrementing and reading three keys of each kind.
fn exactly_once_clerks(opts: &RaftKvOptions) -> Vec<ClerkSpec> {
    // Reads as often as appends: between two reads of a key, the checker must try every
    // order of the appends it cannot tell apart, and unique tokens make each order a state.
    let mix = Mix {
        append: 2,
        incr: 1,
        get: 2,
        keys: 3,
        ..Mix::default()
    };
    clerks(6, &all(opts.nodes), 0, opts.issue_until_units(), mix)
}

// ───────────────────────────── the harness ─────────────────────────────

/// Options for `nodes` servers and `clients` library clients under `faults` for `max_time`
/// units, built as `distributed sim --protocol raft-kv --max-time` builds them, so a failing
/// library seed replays from the CLI. `SCENARIO_KV_VARIANT` and `SCENARIO_KV_TRACE` apply.
fn options(nodes: usize, clients: usize, faults: FaultProfile, max_time: Time) -> RaftKvOptions {
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
fn all(nodes: usize) -> Vec<NodeId> {
    (1..=nodes as u64).map(NodeId).collect()
}

/// `count` clerks on `servers`, issuing from `start` until `stop`.
fn clerks(count: usize, servers: &[NodeId], start: Time, stop: Time, mix: Mix) -> Vec<ClerkSpec> {
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
fn run_library(
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
fn run_clerks(
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
fn all_ops_returned(r: &KvSeedReport) -> Result<(), String> {
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
fn every_client_completes(history: &History, clients: u64, min: usize) -> Result<(), String> {
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
fn each_seed<T>(
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
    let test = thread.name().unwrap_or("scenario_kv");
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
    let line = message.lines().next().unwrap_or("");
    let mut s = format!("{test} failed at seed={seed}\nfailure: {line}\n");
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("scenario_kv-{test}-seed{seed}.jsonl"));
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
            "replay: SCENARIO_KV_SEED={seed} SCENARIO_KV_TRACE=1 cargo test -p sim --test \
             scenario_kv -- --exact {test} --nocapture\n\
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
