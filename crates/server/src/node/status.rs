//! What a client is told: the RESP frame for each replica [`Outcome`], and the node status
//! that `INFO` and `DISTRIBUTED.STATUS` print (Redis INFO format: a `# Section` line, then
//! `key:value` lines; `distributed status` parses `node role term leader commit_index
//! applied_index listen` from it).
//!
//! ```text
//!   Outcome                  RESP
//!   Done(reply)              command::reply_frame(reply)
//!   NotLeader{Some(n2)}      -TRYAGAIN not leader; leader is n2        (when not forwarded)
//!   NotLeader{None}          -TRYAGAIN not leader; no leader is known (election in progress)
//!   Retry                    -TRYAGAIN leadership changed while the request waited; …unknown
//!   Busy                     -TRYAGAIN busy: …
//! ```
//!
//! `TRYAGAIN` is the code Redis Cluster uses for "retry this later"; clients that know it back
//! off and resend. `Retry` means the write may or may not have happened.

use distributed_core::Protocol;
use replica::Outcome;

use super::Node;
use crate::clients::command::reply_frame;
use crate::clients::resp::Frame;

/// The frame a client gets for `outcome`.
pub(super) fn outcome_frame(outcome: &Outcome) -> Frame {
    match outcome {
        Outcome::Done(reply) => reply_frame(reply),
        Outcome::NotLeader { leader: Some(id) } => {
            Frame::error("TRYAGAIN", format!("not leader; leader is {id}"))
        }
        Outcome::NotLeader { leader: None } => Frame::error(
            "TRYAGAIN",
            "not leader; no leader is known (an election is in progress)",
        ),
        Outcome::Retry => Frame::error(
            "TRYAGAIN",
            "leadership changed while the request waited; the outcome is unknown",
        ),
        Outcome::Busy => Frame::error("TRYAGAIN", "busy: too many requests wait on the leader"),
    }
}

/// The node's state as `key:value` lines, Redis INFO style.
pub(super) fn status(node: &Node) -> Frame {
    let r = node.replica.raft();
    let m = node.replica.machine();
    let leader = r.leader().map_or("none".to_string(), |id| id.to_string());
    let peers: Vec<String> = node
        .config
        .others()
        .map(|(id, a)| format!("{id}={a}"))
        .collect();
    let lines = [
        "# Distributed".to_string(),
        format!("node:{}", node.replica.id()),
        format!("role:{:?}", r.role()).to_lowercase(),
        format!("term:{}", r.term()),
        format!("leader:{leader}"),
        format!("commit_index:{}", r.commit_index()),
        format!("last_index:{}", r.last_index()),
        format!("applied_index:{}", m.applied_index()),
        format!("keys:{}", m.len()),
        format!("sessions:{}", m.sessions_len()),
        format!("pending_requests:{}", node.replica.pending_len()),
        format!("forwarded_waiting:{}", node.forwarded.len()),
        format!("awaiting_leader:{}", node.awaiting_leader.len()),
        // Writes this node answered off the log while leading (replica noop.rs), since start.
        format!(
            "noop_writes_answered:{}",
            node.replica.noop_writes_answered()
        ),
        format!("ticks:{}", node.ticks),
        format!("reads:{}", node.config.reads),
        format!("check_quorum:{}", node.config.check_quorum),
        format!(
            "leader_writes_in_parallel:{}",
            node.config.leader_writes_in_parallel
        ),
        format!("listen:{}", node.config.listen),
        format!("peer_listen:{}", node.config.peer_listen),
        format!("metrics_listen:{}", node.config.metrics_listen),
        format!("peers:{}", peers.join(",")),
        String::new(),
        "# Clients".to_string(),
        format!("blocked_clients:{}", node.blocked.blocked_len()),
    ];
    Frame::bulk(lines.join("\r\n") + "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use distributed_core::NodeId;

    #[test]
    fn a_not_leader_outcome_names_the_leader_and_says_try_again() {
        let f = outcome_frame(&Outcome::NotLeader {
            leader: Some(NodeId(2)),
        });
        assert_eq!(f, Frame::Error("TRYAGAIN not leader; leader is n2".into()));
        let retry = outcome_frame(&Outcome::Retry);
        assert!(matches!(retry, Frame::Error(e) if e.contains("outcome is unknown")));
    }
}
