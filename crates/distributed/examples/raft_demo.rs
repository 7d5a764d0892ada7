//! Raft in one screen: three sans-IO `raft::Raft` nodes in one process, a queue for a network and
//! a loop for a clock. Watch an election, three commits, the leader crashing, a new election,
//! and the commits that follow.
//!
//! ```text
//!   cargo run -p distributed --example raft_demo [SEED]
//!
//!   round: tick every live node ──► Ready{writes, messages, outputs}
//!            1. persist writes to that node's Disk      (the host contract: persist first,
//!            2. queue messages on the network            then send, then deliver)
//!            3. print outputs (Committed entries)
//!          deliver every queued message to its (live) receiver, same three steps, until quiet
//! ```
//!
//! No sockets, no threads, no clock: time is the tick count and every random choice comes from
//! the seed, so one seed prints the same story every run. The simulator (`distributed sim`)
//! drives the same code with faults; the server crate drives it with TCP and a WAL.

use std::collections::VecDeque;
use std::io::Write;

use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use raft::{Bytes, Config, Disk, Input, Message, Output, Raft, Ready, Role};

/// Cluster size.
const NODES: u64 = 3;
/// Most rounds to wait for any one thing; a demo that never gets there reports it.
const ROUNDS_MAX: usize = 1_000;
/// Most message deliveries in one round: a livelock ends the demo with an error.
const DELIVERIES_PER_ROUND_MAX: usize = 10_000;

/// Three nodes, their disks, the wire between them, and what to print.
pub struct Demo<'a> {
    /// The nodes; `None` once crashed.
    nodes: Vec<Option<Raft>>,
    /// What each node has persisted (what a restart would start from).
    disks: Vec<Disk>,
    /// Messages sent and not delivered yet, oldest first.
    network: VecDeque<Envelope<Message>>,
    /// Ticks so far.
    round: usize,
    /// Where the story goes (stdout, or a buffer in the test).
    out: &'a mut dyn Write,
    /// Entries committed, per node, to check they all agree.
    committed: Vec<Vec<String>>,
}

impl<'a> Demo<'a> {
    /// Three fresh nodes seeded from `seed`.
    pub fn new(seed: u64, out: &'a mut dyn Write) -> Demo<'a> {
        let voters: Vec<NodeId> = (1..=NODES).map(NodeId).collect();
        let nodes = voters
            .iter()
            .map(|&id| {
                let config = Config::new(id, voters.clone());
                let rng = SeededRng::new(seed.wrapping_mul(31).wrapping_add(id.0));
                Some(Raft::new(config, &Disk::default(), rng).expect("valid config"))
            })
            .collect();
        Demo {
            nodes,
            disks: vec![Disk::default(); NODES as usize],
            network: VecDeque::new(),
            round: 0,
            out,
            committed: vec![Vec::new(); NODES as usize],
        }
    }

    /// The live node that leads, if any.
    fn leader(&self) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.as_ref().is_some_and(|n| n.role() == Role::Leader))
    }

    /// Carry out one node's Ready: persist, queue the messages, print the outputs.
    fn carry_out(&mut self, i: usize, fx: Ready) -> Result<(), String> {
        for write in &fx.writes {
            Raft::persist(&mut self.disks[i], write);
        }
        self.network.extend(fx.messages);
        for output in fx.outputs {
            if let Output::Committed(entry) = output {
                if entry.data.is_empty() {
                    continue; // a new leader's no-op (§8)
                }
                let text = String::from_utf8_lossy(&entry.data).into_owned();
                self.say(&format!(
                    "n{} applies index {} (term {}): {text}",
                    i + 1,
                    entry.index,
                    entry.term
                ))?;
                self.committed[i].push(text);
            }
        }
        Ok(())
    }

    fn say(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.out, "[round {:>3}] {line}", self.round).map_err(|e| e.to_string())
    }

    /// One tick on every live node, then deliver until the network is quiet.
    fn round(&mut self) -> Result<(), String> {
        self.round += 1;
        for i in 0..self.nodes.len() {
            let mut fx = Ready::new();
            if let Some(node) = self.nodes[i].as_mut() {
                node.tick(&mut fx);
            }
            self.carry_out(i, fx)?;
        }
        for _ in 0..DELIVERIES_PER_ROUND_MAX {
            let Some(env) = self.network.pop_front() else {
                return Ok(());
            };
            let to = env.to.0 as usize - 1;
            let mut fx = Ready::new();
            match self.nodes[to].as_mut() {
                Some(node) => node.step(env.from, env.msg, &mut fx),
                None => continue, // sent to a crashed node: lost
            }
            self.carry_out(to, fx)?;
        }
        Err("the network never went quiet".into())
    }

    /// Run rounds until a live leader exists; announce it.
    fn await_leader(&mut self) -> Result<usize, String> {
        for _ in 0..ROUNDS_MAX {
            self.round()?;
            if let Some(i) = self.leader() {
                let term = self.nodes[i].as_ref().map_or(0, |n| n.term());
                self.say(&format!("n{} wins the election for term {term}", i + 1))?;
                return Ok(i);
            }
        }
        Err(format!("no leader within {ROUNDS_MAX} rounds"))
    }

    /// Propose `command` on node `i` and run until every live node applied it.
    fn write(&mut self, i: usize, command: &str) -> Result<(), String> {
        self.say(&format!("client -> n{}: {command}", i + 1))?;
        let mut fx = Ready::new();
        let node = self.nodes[i]
            .as_mut()
            .ok_or("proposing on a crashed node")?;
        node.input(Input::Propose(Bytes::from(command.to_string())), &mut fx);
        self.carry_out(i, fx)?;
        for _ in 0..ROUNDS_MAX {
            let live = (0..self.nodes.len()).filter(|&j| self.nodes[j].is_some());
            if live
                .into_iter()
                .all(|j| self.committed[j].last().is_some_and(|c| c == command))
            {
                return Ok(());
            }
            self.round()?;
        }
        Err(format!("`{command}` was not applied everywhere"))
    }
}

/// The whole story; `Ok` with the number of entries every surviving node applied.
pub fn run(seed: u64, out: &mut dyn Write) -> Result<usize, String> {
    let mut demo = Demo::new(seed, out);
    demo.say(&format!(
        "3 Raft nodes, seed {seed}: everyone starts as a follower"
    ))?;
    let leader = demo.await_leader()?;
    for command in ["SET x 1", "SET y 2", "INCR x"] {
        demo.write(leader, command)?;
    }
    demo.say(&format!("n{} crashes", leader + 1))?;
    demo.nodes[leader] = None;
    let leader = demo.await_leader()?;
    demo.write(leader, "SET z 3")?;
    let survivors: Vec<&Vec<String>> = (0..demo.nodes.len())
        .filter(|&j| demo.nodes[j].is_some())
        .map(|j| &demo.committed[j])
        .collect();
    if survivors.windows(2).any(|w| w[0] != w[1]) {
        return Err("the surviving nodes applied different logs".into());
    }
    let applied = survivors.first().map_or(0, |log| log.len());
    demo.say(&format!(
        "done: both survivors applied the same {applied} commands in the same order"
    ))?;
    Ok(applied)
}

#[allow(dead_code)] // a test includes this file as a module and calls `run`
fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    if let Err(e) = run(seed, &mut std::io::stdout()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
