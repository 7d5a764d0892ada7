//! The KV store's PBFT host: `OrderedReplica<Pbft>` as a [`PbftHost`], so the shared
//! adversary (`pbft/adversary.rs`) can wrap it, and a [`PbftNode`] of it as a [`KvNode`], so
//! raft-kv's clients can drive it.
//!
//! ```text
//!   PbftNode = pbft::PbftNode<OrderedReplica<Pbft>>
//!     Honest(replica)      the code under test
//!     Byzantine(adversary) a strategy around a replica; its replies lie:
//!                          Done(Null) ─► Done(Int(-1)), any other Done(x) ─► Done(Null)
//! ```
//!
//! The lie is wrong for every command the clients send, so a client that took one reply on
//! trust would record a result no correct server gives; f+1 matching replies keep it out.

use kv::Request;
use pbft::Pbft;
use replica::ordered::{Input, OrderedReplica};
use replica::{Outcome, Output};

use crate::pbft::PbftHost;
use crate::raft_kv::KvNode;

/// A replica on PBFT.
pub type Replica = OrderedReplica<Pbft>;

/// A pbft-kv node in a simulation: honest, or handed to an adversary.
pub type PbftNode = crate::pbft::PbftNode<Replica>;

impl PbftHost for Replica {
    fn core(&self) -> &Pbft {
        OrderedReplica::core(self)
    }

    fn lie(output: Output) -> Output {
        match output {
            Output::Reply {
                tag,
                outcome: Outcome::Done(reply),
            } => {
                let wrong = if reply == kv::Reply::Null {
                    kv::Reply::Int(-1)
                } else {
                    kv::Reply::Null
                };
                Output::Reply {
                    tag,
                    outcome: Outcome::Done(wrong),
                }
            }
            o => o,
        }
    }
}

impl KvNode for PbftNode {
    fn request(tag: u64, request: Request, random_seed: u64) -> Input {
        OrderedReplica::<Pbft>::request(tag, request, random_seed)
    }

    fn machine(&self) -> &kv::StateMachine {
        self.replica().machine()
    }

    fn is_honest(&self) -> bool {
        matches!(self, PbftNode::Honest(_))
    }
}
