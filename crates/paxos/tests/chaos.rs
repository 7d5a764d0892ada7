//! Seeded fault runs: crashes, restarts, partitions, loss, duplication, reordering and
//! snapshots, with the harness checking agreement, in-order delivery and persist-before-send
//! after every event, and convergence once the faults stop. A small stand-in for the
//! simulator; also shows that the broken variants are caught by the same checks.

mod common;

use common::{cmd, Cluster};
use distributed_core::{NodeId, Rng, SeededRng};
use paxos::{Config, Variant};

const ROUNDS: u64 = 500;
const DOWN_MAX: usize = 2;
const NODES: u64 = 5;

/// Deliver the messages queued at the start of the round, in random order; some are lost,
/// some duplicated, some held back for a later round.
fn deliver_chaotically(c: &mut Cluster, rng: &mut SeededRng) {
    let mut batch: Vec<_> = c.network.drain(..).collect();
    while !batch.is_empty() {
        let k = rng.range(0, batch.len() as u64) as usize;
        let env = batch.swap_remove(k);
        if rng.chance(80_000) {
            continue; // lost
        }
        if rng.chance(50_000) {
            c.network.push_back(env); // delayed to a later round
            continue;
        }
        if rng.chance(20_000) {
            c.network.push_back(env.clone()); // duplicated
        }
        c.deliver(env);
    }
}

fn inject_faults(c: &mut Cluster, rng: &mut SeededRng) {
    let pick = |rng: &mut SeededRng| NodeId(rng.range(1, NODES + 1));
    if rng.chance(20_000) && c.down.len() < DOWN_MAX {
        c.crash(pick(rng));
    }
    if rng.chance(40_000) {
        if let Some(&id) = c.down.iter().next() {
            c.restart(id);
        }
    }
    if rng.chance(15_000) {
        c.isolate(pick(rng));
    }
    if rng.chance(40_000) {
        c.heal();
    }
    if rng.chance(40_000) {
        let id = pick(rng);
        if c.is_up(id) && c.node(id).chosen_through() > c.node(id).snapshot_slot() {
            c.snapshot(id.0);
        }
    }
}

fn chaos_run(seed: u64, tweak: impl Fn(&mut Config) + 'static, strict: bool) -> Cluster {
    let mut c = Cluster::with(NODES, seed, tweak);
    c.observer.strict = strict;
    let mut rng = SeededRng::new(seed ^ 0x5eed);
    let mut next_value = 0u32;
    for _ in 0..ROUNDS {
        inject_faults(&mut c, &mut rng);
        c.tick_all();
        if let Some(&leader) = c.leaders().first() {
            if rng.chance(400_000) {
                next_value += 1;
                c.propose(leader.0, &format!("v{next_value}"));
            }
        }
        deliver_chaotically(&mut c, &mut rng);
    }
    c
}

/// Heal everything, let one leader emerge and get a last command through, and check that
/// every node delivered the same prefix.
fn settle_and_check(c: &mut Cluster, seed: u64) {
    c.heal();
    for id in c.down.clone() {
        c.restart(id);
    }
    for _ in 0..20 {
        c.run(30);
        let leaders = c.leaders();
        let [leader] = leaders[..] else { continue };
        c.propose(leader.0, "final");
        c.run(10);
        let through = c.node(leader).chosen_through();
        let final_in = c.observer.delivered.values().any(|v| *v == cmd("final"));
        let converged = c.nodes.iter().all(|n| n.chosen_through() == through);
        if final_in && converged && c.leaders() == [leader] {
            return;
        }
    }
    for n in &c.nodes {
        eprintln!(
            "{} {:?} ballot={:?} promised={} hint={:?} through={} snap={} counters={:?}",
            n.id(),
            n.role(),
            n.ballot(),
            n.promised(),
            n.leader_hint(),
            n.chosen_through(),
            n.snapshot_slot(),
            n.counters()
        );
    }
    panic!("seed {seed}: the cluster did not converge after healing");
}

#[test]
fn agreement_holds_and_the_cluster_recovers_under_seeded_faults() {
    // PMS §2.2 safety: only one value is chosen per slot, whatever the faults; liveness once
    // they stop and a single leader is left alone (§3).
    for seed in 0..300 {
        let mut c = chaos_run(seed, |_| {}, true);
        settle_and_check(&mut c, seed);
    }
}

#[test]
fn agreement_holds_with_flexible_quorums_and_small_pages() {
    // Flexible Paxos §3: q1 = 4, q2 = 2 of 5; promises paged two pvalues at a time.
    for seed in 0..300 {
        let tweak = |cfg: &mut Config| {
            (cfg.phase1_quorum, cfg.phase2_quorum) = (4, 2);
            cfg.promise_entries_max = 2;
            cfg.catch_up_batch_max = 3;
        };
        let mut c = chaos_run(seed, tweak, true);
        settle_and_check(&mut c, seed);
    }
}

#[test]
fn the_agreement_check_catches_a_leader_that_proposes_its_own_value() {
    let caught = (0..60)
        .filter(|&seed| {
            let c = chaos_run(seed, |cfg| cfg.variant = Variant::AcceptOwnValue, false);
            !c.observer.violations.is_empty()
        })
        .count();
    assert!(caught > 0, "AcceptOwnValue broke agreement in no seed");
}

#[test]
fn the_agreement_check_catches_a_phase_1_quorum_too_small_to_intersect() {
    let caught = (0..60)
        .filter(|&seed| {
            let c = chaos_run(seed, |cfg| cfg.variant = Variant::SmallPhase1Quorum, false);
            !c.observer.violations.is_empty()
        })
        .count();
    assert!(caught > 0, "SmallPhase1Quorum broke agreement in no seed");
}
