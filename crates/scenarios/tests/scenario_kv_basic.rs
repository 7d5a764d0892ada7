//! The replicated KV store without crashes or partitions: what a KV-on-Raft service owes its
//! clients (the properties the MIT 6.5840 lab 4A/4B-without-snapshots grades) on a reliable
//! network, on one that loses, duplicates, delays and reorders messages, and with every
//! client on one or two keys. `scenario_kv_faults.rs` adds partitions, crashes and the
//! exactly-once audits under every fault at once. Every scenario runs several seeds, every
//! history goes through the linearizability checker, and each test asserts the property its
//! doc comment states.
//!
//! ```text
//!   test                                                   faults            who
//!   kv_basic_single_client_reliable_network                none              1 client, 1 clerk
//!   kv_concurrent_clients_reliable_network                 none              5 + 5
//!   kv_concurrent_clients_unreliable_network               network           5 + 3
//!   kv_one_key_contention                                  network           8 + 8, 2 keys
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

use std::collections::BTreeSet;

use kv_scenarios::{
    all, all_ops_returned, audit_appends, audit_counters, clerks, each_seed, ensure,
    every_client_completes, options, rotating_clerks, run_clerks, run_library, Mix,
};
use scenarios::FaultProfile;

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
    // Two reads per append: see `exactly_once_clerks` (in `scenario_kv_faults.rs`) on what
    // reads save the checker.
    let mix = Mix {
        append: 1,
        incr: 1,
        get: 2,
        keys: 1,
        ..Mix::default()
    };
    each_seed(&opts, 0..20, |seed| {
        let r = run_library(seed, &opts, None)?;
        // `string_keys` and `counter_keys` bound the string and counter keys (`s…`, `n…`);
        // the typed (`h`, `l`, `m`, `z`) and volatile (`v`) keys are their own kinds.
        let keys: BTreeSet<&str> = (r.history.ops().iter())
            .flat_map(|o| o.input.keys())
            .filter(|k| k.starts_with('s') || k.starts_with('n'))
            .collect();
        ensure!(
            keys.len() <= 2,
            "ops on more than two string and counter keys: {keys:?}"
        );
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
