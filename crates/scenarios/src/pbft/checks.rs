//! The bare run's checks that read its clients' ledger, after every event, among honest
//! replicas; and a probe that counts what the run exercised.
//!
//! ```text
//!   honest n: Execute{seq, request} ──► request's digest ∈ ledger.sent       validity
//!                                   ──► == accepted[seq], if a client accepted one there
//!             Skipped{seq}          ──► no client accepted a request at seq
//!   a client accepted (seq, d) on f+1 matching replies (ledger.accepted, drained every
//!   event) ──► no other request accepted at seq, and every honest replica that executed
//!              seq executed d there                                          client check
//! ```
//!
//! Validity (OSDI §4.5.1, "the service executes only requests clients issued"): the clients
//! record every request they send; an honest replica executing anything else means a
//! Byzantine primary invented a request and honest replicas took it. The adversaries only
//! reuse requests they saw, so this holds whenever the protocol holds.
//!
//! The client check is the promise of f+1 matching replies (§4.1): at least one of them is
//! honest, so what the client accepted is what the honest replicas executed. A replica that
//! reaches the seq by a state transfer executes nothing there; honest-agreement's checkpoint
//! comparison covers the state it installs. With f+1 liars naming one wrong seq, a client
//! accepts it and this check fails: it is not vacuous (`tests/pbft_core_sim.rs`).
//!
//! State is history: bounded by the seqs and requests of one run.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use distributed_core::NodeId;
use pbft::{Digest, Seq};

use super::client::{Accepted, Ledger};
use super::host::Output;
use super::node::PbftNode;
use super::BareReplica;
use sim::hooks::Invariant;
use sim::view::ClusterView;

type Node = PbftNode<BareReplica>;

/// Every request an honest replica executes was sent by a client.
pub struct Validity {
    /// What the clients sent.
    ledger: Rc<RefCell<Ledger>>,
    /// Whose outputs prove nothing.
    byzantine: BTreeSet<NodeId>,
}

impl Validity {
    /// Checks against `ledger`, ignoring the `byzantine` nodes.
    pub fn new(ledger: Rc<RefCell<Ledger>>, byzantine: BTreeSet<NodeId>) -> Validity {
        Validity { ledger, byzantine }
    }
}

impl Invariant<Node> for Validity {
    fn name(&self) -> &str {
        "validity"
    }

    fn on_output(&mut self, node: NodeId, output: &Output) -> Result<(), String> {
        let Output::Core(pbft::Output::Execute { seq, request, .. }) = output else {
            return Ok(());
        };
        if self.byzantine.contains(&node) || self.ledger.borrow().sent.contains(&request.digest()) {
            return Ok(());
        }
        Err(format!(
            "honest {node} executed {request} at seq {seq}, which no client sent"
        ))
    }

    fn check(&mut self, _view: &ClusterView<Node>) -> Result<(), String> {
        Ok(())
    }
}

/// What a client accepted is what every honest replica executed at that seq.
pub struct ClientAgreement {
    /// What the clients accepted, drained every event.
    ledger: Rc<RefCell<Ledger>>,
    /// Whose outputs prove nothing.
    byzantine: BTreeSet<NodeId>,
    /// Every request accepted, by seq.
    accepted: BTreeMap<Seq, Accepted>,
    /// What honest replicas executed at each seq (`Digest::NULL` for a skip): one entry per
    /// distinct digest, with the first replica that executed it. Usually one.
    executed: BTreeMap<Seq, Vec<(Digest, NodeId)>>,
}

impl ClientAgreement {
    /// Checks against `ledger`, ignoring the `byzantine` nodes.
    pub fn new(ledger: Rc<RefCell<Ledger>>, byzantine: BTreeSet<NodeId>) -> ClientAgreement {
        ClientAgreement {
            ledger,
            byzantine,
            accepted: BTreeMap::new(),
            executed: BTreeMap::new(),
        }
    }

    fn on_executed(&mut self, node: NodeId, seq: Seq, digest: Digest) -> Result<(), String> {
        let at = self.executed.entry(seq).or_default();
        if !at.iter().any(|(d, _)| *d == digest) {
            at.push((digest, node));
        }
        match self.accepted.get(&seq) {
            Some(a) if a.digest != digest => Err(format!(
                "honest {node} executed {digest} at seq {seq}, where client {} accepted its \
                 request ts={} ({}) on f+1 matching replies",
                a.client, a.timestamp, a.digest
            )),
            _ => Ok(()),
        }
    }

    fn on_accepted(&mut self, a: Accepted) -> Result<(), String> {
        if let Some(other) = self.accepted.get(&a.seq).filter(|o| o.digest != a.digest) {
            return Err(format!(
                "clients {} and {} both accepted a request at seq {}: {} and {}",
                other.client, a.client, a.seq, other.digest, a.digest
            ));
        }
        self.accepted.insert(a.seq, a);
        let executed = self.executed.get(&a.seq).map_or(&[][..], Vec::as_slice);
        match executed.iter().find(|(d, _)| *d != a.digest) {
            Some((d, node)) => Err(format!(
                "client {} accepted ts={} ({}) at seq {} on f+1 matching replies, but honest \
                 {node} executed {d} there",
                a.client, a.timestamp, a.digest, a.seq
            )),
            None => Ok(()),
        }
    }
}

impl Invariant<Node> for ClientAgreement {
    fn name(&self) -> &str {
        "client-agreement"
    }

    fn on_output(&mut self, node: NodeId, output: &Output) -> Result<(), String> {
        if self.byzantine.contains(&node) {
            return Ok(());
        }
        match output {
            Output::Core(pbft::Output::Execute { seq, request, .. }) => {
                self.on_executed(node, *seq, request.digest())
            }
            Output::Core(pbft::Output::Skipped { seq }) => {
                self.on_executed(node, *seq, Digest::NULL)
            }
            _ => Ok(()),
        }
    }

    fn check(&mut self, _view: &ClusterView<Node>) -> Result<(), String> {
        let fresh = std::mem::take(&mut self.ledger.borrow_mut().accepted);
        fresh.into_iter().try_for_each(|a| self.on_accepted(a))
    }
}

/// What a run exercised, from honest replicas' outputs (not a safety property).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// The highest view an honest replica executed a request in.
    pub view_max: u64,
    /// States honest replicas installed by state transfer.
    pub state_transfers: u64,
    /// The highest seq an honest replica executed or skipped.
    pub seq_max: Seq,
}

/// Counts [`Coverage`] into a cell the runner reads after the run.
pub struct CoverageProbe {
    /// Where the counts go.
    pub counts: Rc<Cell<Coverage>>,
    /// Whose outputs are not counted.
    pub byzantine: BTreeSet<NodeId>,
}

impl Invariant<Node> for CoverageProbe {
    fn name(&self) -> &str {
        "coverage"
    }

    fn on_output(&mut self, node: NodeId, output: &Output) -> Result<(), String> {
        if self.byzantine.contains(&node) {
            return Ok(());
        }
        let mut c = self.counts.get();
        match output {
            Output::Core(pbft::Output::Execute { seq, view, .. }) => {
                c.view_max = c.view_max.max(*view);
                c.seq_max = c.seq_max.max(*seq);
            }
            Output::Core(pbft::Output::Skipped { seq }) => c.seq_max = c.seq_max.max(*seq),
            Output::Core(pbft::Output::RestoreState { .. }) => c.state_transfers += 1,
            _ => {}
        }
        self.counts.set(c);
        Ok(())
    }

    fn check(&mut self, _view: &ClusterView<Node>) -> Result<(), String> {
        Ok(())
    }
}
