//! The master (OSDI '04 §3): the one authority on which replicas form the chain. It hears a
//! heartbeat from every replica, removes a member it has not heard from for
//! `failure_timeout_ticks`, adds a replica it hears from outside the chain at the tail, and
//! announces every change as a new configuration with the next epoch.
//!
//! ```text
//!   epoch 1 [n1,n2,n3]   n2 silent for failure_timeout_ticks
//!   epoch 2 [n1,n3]      ──► Configure to n1, n3: n1 resends its Sent list to n3 (§3 middle)
//!   n2 restarts, heartbeats from outside
//!   epoch 3 [n1,n3,n2] joining=n2   ──► n3 sends n2 its state in chunks, n2 reports ready
//!   epoch 4 [n1,n3,n2]              ──► n2 is a full member: the tail, serving reads
//! ```
//!
//! Leases: the master acknowledges a member's heartbeat (a `HeartbeatAck` echoing the tick it
//! was sent at), and the member may serve reads for `read_lease_ticks` from that tick. The
//! master removes a member only `failure_timeout_ticks ≥ 2 × read_lease_ticks` after last
//! hearing from it, so by then its lease has lapsed even on a clock running at half speed:
//! a replica the master gave up on (crashed, or only cut off) never answers a read after its
//! successor took over. The paper assumes fail-stop servers and needs no lease; a simulator
//! that cuts links without killing nodes needs one.
//!
//! One durable master, not a replicated one: the paper runs the master as a Paxos-replicated
//! service so that the authority survives the failure of any one of its servers. Here it is a
//! single node that persists every configuration before announcing it, so a restart resumes
//! the same epoch. What that costs: while it is down, no failure is repaired and no lease is
//! renewed, so reads stop after one lease while writes go on (they need no master). What
//! replicating it would change: the epoch would be chosen by consensus (one Paxos slot per
//! configuration), any quorum-confirmed leader could grant leases, and a master's failure
//! would cost an election, not an outage; the replicas would not notice the difference.
//!
//! Invariants (asserted): epochs grow by one per configuration, persisted before announced;
//! the chain never loses its last full member (it holds every acknowledged write), and at
//! most one replica joins at a time.

use std::collections::BTreeMap;

use distributed_core::{NodeId, Tick};

use crate::chain::config::Config;
use crate::chain::configuration::Configuration;
use crate::chain::message::{Configure, Heartbeat, HeartbeatAck, Message};
use crate::chain::node::Out;
use crate::chain::store::{Disk, Write};
use crate::client::{ClientReply, ClientRequest, Request, Response};

/// What a summary reports about the master.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MasterCounters {
    /// New configurations announced.
    pub reconfigurations: u64,
    /// Members removed for silence.
    pub removals: u64,
    /// Replicas added at the tail.
    pub joins: u64,
}

/// The configuration authority (see the module docs).
#[derive(Clone, Debug)]
pub struct Master {
    /// The knobs, validated.
    pub(crate) config: Config,
    /// The current configuration (durable).
    view: Configuration,
    /// Ticks since this incarnation started.
    ticks: Tick,
    /// When each replica was last heard from, in this master's ticks. Starts at 0 for every
    /// replica, so a restarted master gives every member a whole timeout (it forgot which
    /// leases it granted, and they may still run).
    last_heard: BTreeMap<NodeId, Tick>,
    /// What a summary reports.
    counters: MasterCounters,
}

impl Master {
    /// The master, from its disk (a new one starts at epoch 1 with `config.chain`).
    pub(crate) fn new(config: Config, disk: &Disk) -> Master {
        let view = disk
            .configuration
            .clone()
            .unwrap_or_else(|| Configuration::new(1, config.chain.clone(), None));
        let last_heard = config.replicas().map(|r| (r, 0)).collect();
        Master {
            config,
            view,
            ticks: 0,
            last_heard,
            counters: MasterCounters::default(),
        }
    }

    /// The current configuration.
    pub fn configuration(&self) -> &Configuration {
        &self.view
    }

    /// What a summary reports.
    pub fn counters(&self) -> MasterCounters {
        self.counters
    }

    pub(crate) fn step(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        match msg {
            Message::Heartbeat(m) => self.on_heartbeat(from, m, out),
            other => out.note(format_args!(
                "ignored {other} from {from}: the master takes only heartbeats"
            )),
        }
    }

    /// Clients talk to replicas: a put goes to the head, a get to the tail (which serves
    /// reads in both modes; in CRAQ any full member would do).
    pub(crate) fn input(&mut self, req: ClientRequest, out: &mut Out) {
        let to = match req.request {
            Request::Put { .. } => self.view.head(),
            Request::Get { .. } => self.view.tail(),
        };
        out.outputs.push(ClientReply {
            id: req.id,
            response: Response::Redirect { to },
        });
    }

    /// A heartbeat: note the sender alive; answer a member of the current epoch with a lease,
    /// anyone else with the configuration; finish or start a join.
    fn on_heartbeat(&mut self, from: NodeId, msg: Heartbeat, out: &mut Out) {
        let Heartbeat {
            epoch,
            incarnation,
            tick,
            ready,
        } = msg;
        self.last_heard.insert(from, self.ticks);
        let current = self.view.epoch;
        if epoch > current {
            return out.note(format_args!(
                "ignored {msg} from {from}: epoch {epoch} is ahead of the master's {current}, \
                 and only the master makes epochs"
            ));
        }
        if !self.view.contains(from) {
            return self.hear_outsider(from, epoch, out);
        }
        if epoch < current {
            // No lease until it knows the chain it is part of.
            let configuration = self.view.clone();
            return out.send(self.config.id, from, Configure { configuration }.into());
        }
        let ack = HeartbeatAck {
            epoch,
            incarnation,
            tick,
        };
        out.send(self.config.id, from, ack.into());
        if self.view.is_joining(from) && ready {
            self.counters.joins += 1;
            self.install(self.view.chain.clone(), None, out);
        }
    }

    /// A replica outside the chain is alive: add it at the tail if nobody else is joining,
    /// otherwise make sure it knows it is outside.
    fn hear_outsider(&mut self, from: NodeId, epoch: u64, out: &mut Out) {
        if let Some(joining) = self.view.joining {
            if epoch < self.view.epoch {
                let configuration = self.view.clone();
                out.send(self.config.id, from, Configure { configuration }.into());
            }
            return out.note(format_args!(
                "{from} waits outside the chain: {joining} is joining, one at a time"
            ));
        }
        let mut chain = self.view.chain.clone();
        chain.push(from);
        self.install(chain, Some(from), out);
        // Its silence is counted from now, not from before it left.
        self.last_heard.insert(from, self.ticks);
    }

    /// Remove every member silent for longer than `failure_timeout_ticks` (keeping the last
    /// full member), in one new configuration.
    pub(crate) fn tick(&mut self, out: &mut Out) {
        self.ticks += 1;
        let timeout = self.config.failure_timeout_ticks;
        let silent = |n: &NodeId| self.ticks - self.last_heard[n] > timeout;
        if !self.view.chain.iter().any(silent) {
            return;
        }
        let joining = self.view.joining;
        let mut chain: Vec<NodeId> = self
            .view
            .chain
            .iter()
            .copied()
            .filter(|n| !silent(n))
            .collect();
        let mut kept = None;
        if chain.iter().all(|&n| Some(n) == joining) {
            let mut full = self.view.chain.iter().filter(|&&n| Some(n) != joining);
            let keep = *full.next_back().expect("a chain has a full member");
            chain.insert(0, keep);
            kept = Some(keep);
        }
        if chain == self.view.chain {
            return;
        }
        if let Some(keep) = kept {
            out.note(format_args!(
                "keeping {keep} in the chain though silent: the last full member holds every \
                 acknowledged write"
            ));
        }
        let removed = self.view.chain.len() - chain.len();
        self.counters.removals += removed as u64;
        let joining = joining.filter(|j| chain.contains(j));
        self.install(chain, joining, out);
    }

    /// Persist and announce the next configuration to every member of it. A joining node
    /// whose predecessor changed gets its state from the new one (transfer.rs restarts it).
    fn install(&mut self, chain: Vec<NodeId>, joining: Option<NodeId>, out: &mut Out) {
        let next = Configuration::new(self.view.epoch + 1, chain, joining);
        out.writes.push(Write::Configure(next.clone()));
        self.view = next;
        self.counters.reconfigurations += 1;
        for &member in &self.view.chain {
            let configuration = self.view.clone();
            out.send(self.config.id, member, Configure { configuration }.into());
        }
    }
}
