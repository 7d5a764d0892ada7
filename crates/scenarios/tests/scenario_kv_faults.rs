//! The replicated KV store through faults: a minority partition that must block while the
//! majority serves, many random partitions, crashes of every server, every fault at once
//! (on five servers and on seven with fifteen clients), and exactly-once appends and
//! increments under retries, with a check that the exactly-once audits can fail.
//! `scenario_kv_basic.rs` covers the fault-free and unreliable-network scenarios. Every
//! scenario runs several seeds, every history goes through the linearizability checker, and
//! each test asserts the property its doc comment states.
//!
//! ```text
//!   test                                                   faults            who
//!   kv_minority_partition_blocks_and_majority_serves       scripted split    5 pinned clerks
//!   kv_many_partitions_with_concurrent_clients             partitions        5 + 3
//!   kv_state_persists_across_crashes_of_every_node         scripted crashes  5 + 5
//!   kv_crashes_partitions_and_unreliable_network_together  all               5
//!   kv_linearizable_with_15_clients_and_7_servers          all, 7 servers    15
//!   exactly_once_appends_survive_retries_under_faults      all               6 clerks
//!   exactly_once_audits_catch_clerks_that_renumber_...     all               6 broken clerks
//! ```
//!
//! "Clients" are `scenarios::raft_kv`'s own, exactly as `distributed sim --protocol raft-kv` runs
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

use distributed_core::NodeId;
use kv_scenarios::{
    all, audit_appends, audit_counters, clerks, each_seed, ensure, every_client_completes, options,
    rotating_clerks, run_clerks, run_library, ClerkCluster, ClerkRun, ClerkSpec, Mix, OpRecord,
    Pin,
};
use replica::KvReplica;
use scenarios::raft_kv::RaftKvOptions;
use scenarios::FaultProfile;
use sim::{Partition, Simulation, Time};

/// The longest election timeout of the Raft defaults (20 ticks of 100 units).
const ELECTION_TIMEOUT_MAX_UNITS: Time = 2_000;
/// How long the cluster may take to elect a leader when it needs one: five longest timeouts
/// (a split vote costs one more, Raft §5.2).
const ELECTION_BOUND_UNITS: Time = 5 * ELECTION_TIMEOUT_MAX_UNITS;

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
        pre_crash_keys_read_after_every_restart(&run)
    });
}

/// When every server is back up after crash round `round` (the staggered round's last
/// restart comes 600 units after the others').
fn restarted(round: usize) -> Time {
    CRASHES[round] + DOWN + 600
}

/// After each restart some completed read is of a key that had an acknowledged append
/// before that round's crash.
fn pre_crash_keys_read_after_every_restart(run: &ClerkRun) -> Result<(), String> {
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
