//! The update propagation invariant (OSDI '04 §3), checked from outside: what a test or the
//! simulator runs over every replica after every event.
//!
//! ```text
//!   epoch e: [n1, n2, n3]      history(n3) ⊑ history(n2) ⊑ history(n1)
//!            last_seq   9   7   5          (⊑: a prefix, the same write at every shared seq)
//!            acked_seq  4   5   5          (acks flow up: a successor is acked at least as far)
//! ```
//!
//! Only neighbours that are both in the newest epoch any of them knows are compared: a
//! replica that has not heard of it yet, or a joining tail still receiving its state, is
//! between histories and is judged once it has caught up. The shared-write check compares
//! the versions both still hold (older ones are dropped once clean).

use crate::chain::replica::Replica;

/// Check every pair of neighbours of the newest configuration among `replicas`. `Err` names
/// the pair and what differs.
pub fn check_update_propagation(replicas: &[&Replica]) -> Result<(), String> {
    let Some(newest) = replicas.iter().map(|r| r.configuration().epoch).max() else {
        return Ok(());
    };
    let current: Vec<&Replica> = replicas
        .iter()
        .copied()
        .filter(|r| r.configuration().epoch == newest && r.is_member() && r.is_ready())
        .collect();
    for succ in &current {
        let Some(pred_id) = succ.configuration().predecessor(succ.id()) else {
            continue;
        };
        let Some(pred) = current.iter().find(|r| r.id() == pred_id) else {
            continue;
        };
        check_pair(pred, succ)?;
    }
    Ok(())
}

/// `succ`'s history is a prefix of `pred`'s.
fn check_pair(pred: &Replica, succ: &Replica) -> Result<(), String> {
    let (p, s) = (pred.store(), succ.store());
    let (pn, sn) = (pred.id(), succ.id());
    if s.last_seq() > p.last_seq() {
        return Err(format!(
            "update propagation: {sn} stored through seq {} but its predecessor {pn} only \
             through {}",
            s.last_seq(),
            p.last_seq()
        ));
    }
    if s.acked_seq() < p.acked_seq() {
        return Err(format!(
            "update propagation: {pn} is acked through {} but its successor {sn}, where acks \
             come from, only through {}",
            p.acked_seq(),
            s.acked_seq()
        ));
    }
    for (key, versions) in s.iter() {
        for mine in versions {
            let held = p.versions(key).iter().find(|v| v.seq == mine.seq);
            if let Some(theirs) = held.filter(|v| v.value != mine.value) {
                return Err(format!(
                    "update propagation: seq {} is {key}={} at {sn} but {key}={} at {pn}",
                    mine.seq, mine.value, theirs.value
                ));
            }
        }
    }
    Ok(())
}
