//! Seeded runs: puts and gets from several clients under message loss and reordering, crashes
//! and restarts (the view service's too), pauses, servers and the view service cut off, and
//! clocks ticking at different rates (within `clock_rate_ratio_max`). Every event runs the
//! audit (`Audit::check`: one serving primary, backups hold the commit point, no serving
//! without the committed history) and the real-time check of every key (`PbChecks`).
//!
//! ```text
//!   400 steps, each one of:  put at the view's primary or any server │ get at any server
//!                            ticks (skewed) │ deliver some (10% lost) │ deliver all
//!                            cut / heal one node │ crash / restart / pause / resume one node
//!   then: everyone back, 150 quiet rounds; the members of the final view hold the same
//!   registers (what a convergence check over the final state compares)
//! ```

mod primary_backup_support;

use std::collections::BTreeMap;

use distributed_core::{NodeId, Rng, SeededRng};
use primary_backup_support::{
    cluster, crash, invoke, n, next_op, pause, restart, resume, service, Layout, Pb,
};
use replication::primary_backup::Variant;
use replication::{ClientRequest, Response};

/// Every node ticks once per round but skips every `k + 3`-th round (node k): rates between
/// 3/4 and 8/9 of a full clock, all within a factor of 2 of each other.
fn tick_skewed(c: &mut Pb, round: u64) {
    for id in c.ids.clone() {
        if !round.is_multiple_of(id.0 + 3) {
            c.tick(id);
        }
    }
}

/// The node a fault hits: the view's primary half the time (the interesting failures), else
/// any node, the view service included.
fn victim(c: &Pb, rng: &mut SeededRng) -> NodeId {
    if rng.chance(500_000) {
        service(c).view().primary
    } else {
        n(rng.range(1, c.ids.len() as u64 + 1))
    }
}

/// What a fault step does to the node it picks: crash or pause it if nobody is down (keeping
/// the view service's and the servers' downs rare enough to make progress), bring it back if
/// it is down.
fn fault(c: &mut Pb, rng: &mut SeededRng, paused: &mut BTreeMap<NodeId, u64>, round: u64) {
    let node = victim(c, rng);
    if let Some(at) = paused.remove(&node) {
        return resume(c, node, round - at);
    }
    if !c.is_up(node) {
        return restart(c, node);
    }
    if c.down.is_empty() {
        if rng.chance(500_000) {
            pause(c, node);
            paused.insert(node, round);
        } else {
            crash(c, node);
        }
    }
}

/// Deliver up to 8 queued messages in random order, losing 10%.
fn deliver_some(c: &mut Pb, rng: &mut SeededRng) {
    for _ in 0..rng.range(1, 9) {
        if c.network.is_empty() {
            return;
        }
        let k = rng.range(0, c.network.len() as u64) as usize;
        let env = c.network.remove(k).expect("in range");
        if !rng.chance(100_000) {
            c.deliver(env);
        }
    }
}

/// One seeded run (see the module docs).
fn chaos(seed: u64, variant: Variant) -> Pb {
    let mut layout = Layout::servers(4);
    layout.backups = 1 + (seed % 2) as usize;
    layout.variant = variant;
    layout.chunk_items_max = 2;
    let mut c = cluster(layout);
    c.keep_notes(false);
    let mut rng = SeededRng::new(seed);
    let mut ops: BTreeMap<u64, u64> = BTreeMap::new();
    let mut paused: BTreeMap<NodeId, u64> = BTreeMap::new();
    let mut round = 0;
    for step in 0..400u64 {
        let id = next_op(&mut ops, rng.range(1, 4));
        let target = match rng.chance(700_000) {
            true => service(&c).view().primary,
            false => n(rng.range(1, 5)),
        };
        match rng.range(0, 12) {
            0..=1 if c.is_up(target) => {
                let key = if rng.chance(500_000) { "x" } else { "y" };
                invoke(&mut c, target, ClientRequest::put(id, key, format!("{id}")));
            }
            2..=3 if c.is_up(target) => invoke(&mut c, target, ClientRequest::get(id, "x")),
            4..=6 => {
                round += 1;
                tick_skewed(&mut c, round);
            }
            7 => deliver_some(&mut c, &mut rng),
            8 => c.deliver_all(),
            9 if c.cut.is_empty() => {
                let node = victim(&c, &mut rng);
                c.isolate(node);
            }
            9 => c.heal(),
            10 if step < 300 => fault(&mut c, &mut rng, &mut paused, round),
            _ => {}
        }
    }
    for (id, at) in std::mem::take(&mut paused) {
        resume(&mut c, id, round - at);
    }
    for id in c.down.clone() {
        restart(&mut c, id);
    }
    c.heal();
    c.run(150);
    c
}

/// The members of the view service's view, if every one of them knows it: their registers.
fn final_registers(c: &Pb) -> Vec<(NodeId, BTreeMap<String, String>)> {
    let view = service(c).view().clone();
    let members = view.backups.iter().chain([&view.primary]);
    members
        .map(|&m| (m, c.node(m).registers()))
        .collect::<Vec<_>>()
}

#[test]
fn seeded_runs_with_loss_crashes_pauses_cuts_and_skewed_clocks_keep_every_invariant() {
    let (mut puts_done, mut reads_done, mut views) = (0, 0, 0);
    for seed in 0..60 {
        let c = chaos(seed, Variant::Correct);
        let replies = || c.observer.replies.iter().map(|(_, r)| &r.response);
        puts_done += replies().filter(|r| **r == Response::Ok).count();
        reads_done += replies()
            .filter(|r| matches!(r, Response::Value(_)))
            .count();
        views += service(&c).view().num;
        assert!(
            c.observer.violations.is_empty(),
            "seed {seed}: {:?}",
            c.observer.violations
        );
        let members = final_registers(&c);
        assert!(
            members.windows(2).all(|w| w[0].1 == w[1].1),
            "seed {seed}: after quiet rounds every member holds the same registers: \
             {members:?}"
        );
    }
    // Not vacuous: the runs answered puts and reads, and changed views many times.
    assert!(
        puts_done > 1000 && reads_done > 1000 && views > 100,
        "{puts_done} {reads_done} {views}"
    );
}

#[test]
fn the_same_seeded_runs_catch_both_broken_variants() {
    // Each run counts as caught when the audit or the real-time check fired; `visible` counts
    // the runs where a client saw it (a read older than an acknowledged put). Today: no-view-ack
    // in 11 of 200 seeds (4 visible to a client), read-without-lease in 16 of 60. A broken
    // no-view-ack needs a primary to fail during a state transfer, which is rarer than a cut.
    let runs = |variant, seeds: u64| {
        let (mut caught, mut visible) = (0, 0);
        for seed in 0..seeds {
            let c = chaos(seed, variant);
            let v = &c.observer.violations;
            caught += usize::from(!v.is_empty());
            visible += usize::from(v.iter().any(|l| l.contains("linearizability")));
        }
        (caught, visible)
    };
    let (no_ack, no_ack_visible) = runs(Variant::NoViewAck, 200);
    let (no_lease, _) = runs(Variant::ReadWithoutLease, 60);
    assert!(
        no_ack >= 5 && no_ack_visible >= 1 && no_lease >= 8,
        "no-view-ack caught in {no_ack} of 200 seeds ({no_ack_visible} seen by a client), \
         read-without-lease in {no_lease} of 60"
    );
}

#[test]
#[ignore = "a soak: 2,000 seeds, run with --ignored"]
fn soak_two_thousand_seeds_keep_every_invariant() {
    for seed in 0..2000 {
        let c = chaos(seed, Variant::Correct);
        assert!(
            c.observer.violations.is_empty(),
            "seed {seed}: {:?}",
            c.observer.violations
        );
    }
}
