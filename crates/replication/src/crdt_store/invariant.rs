//! What must hold across the nodes of a CRDT store at every moment, checked from outside: what
//! the simulator runs over every node after every event, and the tests after every step.
//!
//! An available store promises little at any one moment (replicas may disagree; that is the
//! point), so these are the invariants that make *eventual* agreement possible at all:
//!
//! ```text
//!   per node     every key state is of the configured kind; every session's dots are in its
//!                register's context; every value within VALUE_BYTES_MAX; at most keys_max
//!   one dot,     a dot names the same value on every node that holds it      (MV)
//!   one value    a stamp names the same value on every node that holds it    (LWW)
//!   no dot       no node has seen a dot of n past the last one n itself holds for that key,
//!   from the     and no stamp of n is past n's persisted clock: a node's updates are durable
//!   future       before anyone hears of them, so a restart never issues one twice
//! ```
//!
//! Two states that break "one dot, one value" can never merge (`Siblings::merge` refuses), so
//! the replicas holding them would never converge: catching it here names the event that did
//! it. The broken variants keep all of these (they break *which* values survive a merge, not
//! how updates are named); the checkers catch them from histories and final states.

use std::collections::BTreeMap;

use clocks::{CausalContext, Dot, LwwStamp};
use distributed_core::NodeId;

use crate::client::{Key, Value, VALUE_BYTES_MAX};
use crate::crdt_store::node::CrdtStore;
use crate::crdt_store::register::Register;

/// Check every invariant above over `nodes` (running or crashed, as the host holds them).
/// `Err` names the key, the nodes and what differs.
pub fn check_invariants(nodes: &[&CrdtStore]) -> Result<(), String> {
    for node in nodes {
        check_node(node)?;
    }
    let by_id: BTreeMap<NodeId, &CrdtStore> = nodes.iter().map(|n| (n.config.id, *n)).collect();
    let mut dots: BTreeMap<(&Key, Dot), (&Value, NodeId)> = BTreeMap::new();
    let mut stamps: BTreeMap<(&Key, LwwStamp), (&Value, NodeId)> = BTreeMap::new();
    for node in nodes {
        let me = node.config.id;
        for (key, state) in node.states() {
            match state.register() {
                Register::Mv(s) => {
                    for (dot, value) in s.siblings() {
                        one_value(&mut dots, (key, dot), (value, me), &dot.to_string())?;
                    }
                    issued_by_its_node(&by_id, me, key, s.context())?;
                }
                Register::Lww(r) => {
                    let (Some(stamp), Some(value)) = (r.stamp(), r.get()) else {
                        continue;
                    };
                    one_value(&mut stamps, (key, stamp), (value, me), &stamp.to_string())?;
                    stamped_by_its_node(&by_id, me, key, stamp)?;
                }
            }
        }
    }
    Ok(())
}

/// One node's own invariants.
fn check_node(node: &CrdtStore) -> Result<(), String> {
    let me = node.config.id;
    if node.keys.len() > node.config.keys_max {
        return Err(format!(
            "{me} holds {} keys, more than keys_max",
            node.keys.len()
        ));
    }
    for (key, state) in node.states() {
        state
            .check(node.config.resolution)
            .map_err(|why| format!("{me} {key}: {why}"))?;
        if let Some(v) = state.values().iter().find(|v| v.len() > VALUE_BYTES_MAX) {
            return Err(format!(
                "{me} {key}: a value of {} bytes, past VALUE_BYTES_MAX",
                v.len()
            ));
        }
    }
    Ok(())
}

/// Record that `holder` has `value` under `id`; `Err` if another node has another value there.
fn one_value<'a, I: Ord>(
    seen: &mut BTreeMap<I, (&'a Value, NodeId)>,
    id: I,
    (value, holder): (&'a Value, NodeId),
    name: &str,
) -> Result<(), String> {
    match seen.get(&id) {
        Some(&(other, at)) if other != value => Err(format!(
            "one update, two values: {name} is {value} at {holder} but {other} at {at}"
        )),
        Some(_) => Ok(()),
        None => {
            seen.insert(id, (value, holder));
            Ok(())
        }
    }
}

/// No node of `context` (held by `holder` for `key`) is claimed past what it holds itself.
fn issued_by_its_node(
    by_id: &BTreeMap<NodeId, &CrdtStore>,
    holder: NodeId,
    key: &Key,
    context: &CausalContext,
) -> Result<(), String> {
    let named = context
        .version()
        .iter()
        .map(|(n, _)| n)
        .chain(context.cloud().map(|d| d.node));
    for issuer in named {
        let Some(node) = by_id.get(&issuer) else {
            continue;
        };
        let seen = context.max_counter(issuer);
        let issued = match node.state(key).map(|s| s.register()) {
            Some(Register::Mv(s)) => s.context().max_counter(issuer),
            _ => 0,
        };
        if seen > issued {
            return Err(format!(
                "{holder} has seen {issuer}:{seen} of {key}, but {issuer} holds only up to \
                 {issuer}:{issued}: an update left before it was durable"
            ));
        }
    }
    Ok(())
}

/// `stamp` (held by `holder` for `key`) is no later than its node's persisted clock.
fn stamped_by_its_node(
    by_id: &BTreeMap<NodeId, &CrdtStore>,
    holder: NodeId,
    key: &Key,
    stamp: LwwStamp,
) -> Result<(), String> {
    let Some(node) = by_id.get(&stamp.node) else {
        return Ok(());
    };
    let persisted = node.stamped().last_stamp;
    if stamp.time > persisted {
        return Err(format!(
            "{holder} holds {key} stamped {stamp}, past {}'s persisted clock {persisted}: a \
             stamp left before it was durable",
            stamp.node
        ));
    }
    Ok(())
}
