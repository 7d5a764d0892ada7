//! Multi-Paxos in one screen: five sans-IO `paxos::Paxos` nodes in one process, a queue for a
//! network and a loop for a clock. Watch a leader win phase 1, three commands chosen in phase 2
//! and delivered by every node, the leader crashing with a value accepted by a quorum that no
//! node knows is chosen, a new leader's phase 1 adopting that value ("Paxos Made Simple" §2.2:
//! propose the value of the highest-numbered proposal the promises report), and the crashed
//! node restarted from its disk catching up.
//!
//! ```text
//!   cargo run -p distributed --example paxos_demo [SEED]
//!
//!   round: tick every live node ──► Ready{writes, messages, outputs}
//!            1. persist writes to that node's Disk      (the host contract: persist first,
//!            2. queue messages on the network            then send, then deliver)
//!            3. record outputs (Committed values, in slot order)
//!          deliver every queued message to its (live) receiver, same three steps, until quiet
//!
//!   the crash:   n_L ─Accept{b1 slot=4 "w=4"}─► two acceptors   (to the other two: lost)
//!                n_L ✕ before any Accepted returns: 3 of 5 accepted, so "w=4" is chosen,
//!                and nobody knows it
//!   the rescue:  n_K ─Prepare{b2 from=4}─► all;  ◄─Promise{.. accepted=[4:b1:"w=4"]}─
//!                n_K re-proposes "w=4" in slot 4 at b2: the chosen value stays chosen
//! ```
//!
//! No sockets, no threads, no clock: time is the tick count and every random choice comes from
//! the seed, so one seed prints the same story every run. Lines print in the workspace's
//! one-line `Display` notation (`n3→n1 Accept{ballot=b1.n3 slot=4 value="w=4" commit=3}`).
//! The simulator (`distributed sim --protocol paxos`) drives the same code with faults.

use std::collections::VecDeque;
use std::io::Write;

use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use paxos::{Bytes, Config, Disk, Input, Message, Output, Paxos, Ready, Role, Slot, Value};

/// Cluster size: majorities of 3, so two nodes may fail.
const NODES: u64 = 5;
/// Most rounds to wait for any one thing; a demo that never gets there reports it.
const ROUNDS_MAX: usize = 1_000;
/// Most message deliveries in one round: a livelock ends the demo with an error.
const DELIVERIES_PER_ROUND_MAX: usize = 10_000;
/// Acceptors the doomed leader's last Accept reaches: with the leader, a phase-2 quorum.
const ORPHAN_REACH: usize = 2;

/// Five nodes, their disks, the wire between them, and what to print.
pub struct Demo<'a> {
    /// The nodes; `None` while crashed.
    nodes: Vec<Option<Paxos>>,
    /// What each node has persisted (what a restart starts from).
    disks: Vec<Disk>,
    /// Messages sent and not delivered yet, oldest first.
    network: VecDeque<Envelope<Message>>,
    /// Ticks so far.
    round: usize,
    /// Where the story goes (stdout, or a buffer in the test).
    out: &'a mut dyn Write,
    /// Values each node delivered, in slot order (`delivered[i][s - 1]` is slot `s`).
    delivered: Vec<Vec<Value>>,
    /// A restarted node whose catch-up is printed message by message.
    watched: Option<usize>,
    /// Seeds the nodes' timeouts, again on a restart.
    seed: u64,
}

/// `n3` for node index 2.
fn name(i: usize) -> String {
    format!("n{}", i + 1)
}

impl<'a> Demo<'a> {
    /// Five fresh nodes seeded from `seed`.
    pub fn new(seed: u64, out: &'a mut dyn Write) -> Demo<'a> {
        let mut demo = Demo {
            nodes: Vec::new(),
            disks: vec![Disk::default(); NODES as usize],
            network: VecDeque::new(),
            round: 0,
            out,
            delivered: vec![Vec::new(); NODES as usize],
            watched: None,
            seed,
        };
        demo.nodes = (0..NODES as usize).map(|i| Some(demo.boot(i))).collect();
        demo
    }

    /// Node `i` built from its disk alone (empty at first).
    fn boot(&self, i: usize) -> Paxos {
        let nodes: Vec<NodeId> = (1..=NODES).map(NodeId).collect();
        let config = Config::new(NodeId(i as u64 + 1), nodes);
        let rng = SeededRng::new(self.seed.wrapping_mul(31).wrapping_add(i as u64 + 1));
        Paxos::new(config, &self.disks[i], rng).expect("valid config and disk")
    }

    /// One line of the story, stamped with the round.
    fn say(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.out, "[round {:>3}] {line}", self.round).map_err(|e| e.to_string())
    }

    /// The nodes not crashed, by index.
    fn live(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_some())
            .collect()
    }

    /// The live node that leads, if any.
    fn leader(&self) -> Option<usize> {
        self.live()
            .into_iter()
            .find(|&i| self.nodes[i].as_ref().is_some_and(|n| n.is_leader()))
    }

    /// Call into node `i`, then carry out its Ready; announce a phase 1 it started and a
    /// leadership it won.
    fn drive(&mut self, i: usize, call: impl FnOnce(&mut Paxos, &mut Ready)) -> Result<(), String> {
        let Some(node) = self.nodes[i].as_mut() else {
            return Ok(()); // crashed: the event is lost
        };
        let (role, ballot) = (node.role(), node.ballot());
        let mut fx = Ready::new();
        call(node, &mut fx);
        let (now_role, now_ballot) = (node.role(), node.ballot());
        if now_role == Role::Candidate && now_ballot != ballot {
            self.announce_phase1(i, &fx)?;
        }
        if now_role == Role::Leader && role != Role::Leader {
            self.announce_leader(i, &fx)?;
        }
        self.carry_out(i, fx)
    }

    /// Node `i` started phase 1: its Prepare, and what its own acceptor already holds.
    fn announce_phase1(&mut self, i: usize, fx: &Ready) -> Result<(), String> {
        let Some(prepare) = fx.messages.first().map(|e| e.msg.to_string()) else {
            return Ok(());
        };
        let node = self.nodes[i].as_ref().ok_or("a crashed node ran phase 1")?;
        let from = node.chosen_through() + 1;
        let own: Vec<String> = (from..)
            .map_while(|s| node.accepted(s))
            .map(|pv| pv.to_string())
            .collect();
        let own = if own.is_empty() {
            String::new()
        } else {
            format!("; its own log holds {}", own.join(" "))
        };
        self.say(&format!(
            "{} times out: {prepare} to the others{own}",
            name(i)
        ))
    }

    /// Node `i` completed phase 1: its ballot, and the slots it proposes again at once (the
    /// values its phase-1 quorum reported; a hole would show as `noop`).
    fn announce_leader(&mut self, i: usize, fx: &Ready) -> Result<(), String> {
        let node = self.nodes[i].as_ref().ok_or("a crashed node leads")?;
        let quorum = node.config().phase1_quorum;
        let ballot = node.ballot().map_or("?".into(), |b| b.to_string());
        self.say(&format!(
            "{} leads at {ballot}: a phase-1 quorum ({quorum}) promised",
            name(i)
        ))?;
        let mut again: Vec<String> = Vec::new();
        for env in &fx.messages {
            if let Message::Accept(a) = &env.msg {
                let pv = format!("{}:{}", a.slot, a.value);
                if !again.contains(&pv) {
                    again.push(pv);
                }
            }
        }
        if again.is_empty() {
            return Ok(());
        }
        self.say(&format!(
            "{} adopts {}: the highest-ballot value its promises reported (PMS §2.2), \
             proposed again at {ballot}",
            name(i),
            again.join(" ")
        ))
    }

    /// Carry out one node's Ready: persist, queue the messages, record the outputs.
    fn carry_out(&mut self, i: usize, fx: Ready) -> Result<(), String> {
        for write in &fx.writes {
            Paxos::persist(&mut self.disks[i], write);
        }
        self.network.extend(fx.messages);
        for output in fx.outputs {
            match output {
                Output::Committed {
                    slot, ref value, ..
                } => {
                    if slot != self.delivered[i].len() as Slot + 1 {
                        return Err(format!("{} delivered {output} out of order", name(i)));
                    }
                    self.delivered[i].push(value.clone());
                    let leads = self.leader() == Some(i);
                    if leads || self.watched == Some(i) {
                        self.say(&format!("{} {output}", name(i)))?;
                    }
                }
                Output::Accepted { .. } => {} // printed by `write`, which asked for it
                other => return Err(format!("{} answered {other}", name(i))),
            }
        }
        Ok(())
    }

    /// Deliver one message; print the promises that carry votes and a watched node's catch-up.
    fn deliver(&mut self, env: Envelope<Message>) -> Result<(), String> {
        let to = env.to.0 as usize - 1;
        let Some(node) = self.nodes[to].as_ref() else {
            return Ok(()); // sent to a crashed node: lost
        };
        let shown = match &env.msg {
            Message::Promise(p) => {
                let asked = node.role() == Role::Candidate && node.ballot() == Some(p.ballot);
                asked && !p.accepted.is_empty()
            }
            Message::CatchUp(_) | Message::Chosen(_) => self.watched.is_some(),
            _ => false,
        };
        if shown {
            self.say(&env.to_string())?;
        }
        self.drive(to, |node, fx| node.step(env.from, env.msg, fx))
    }

    /// One tick on every live node, then deliver until the network is quiet.
    fn round(&mut self) -> Result<(), String> {
        self.round += 1;
        for i in 0..self.nodes.len() {
            self.drive(i, |node, fx| node.tick(fx))?;
        }
        self.settle()
    }

    /// Deliver until the network is quiet.
    fn settle(&mut self) -> Result<(), String> {
        for _ in 0..DELIVERIES_PER_ROUND_MAX {
            let Some(env) = self.network.pop_front() else {
                return Ok(());
            };
            self.deliver(env)?;
        }
        Err("the network never went quiet".into())
    }

    /// Run rounds until a live leader exists.
    fn await_leader(&mut self) -> Result<usize, String> {
        for _ in 0..ROUNDS_MAX {
            self.round()?;
            if let Some(i) = self.leader() {
                return Ok(i);
            }
        }
        Err(format!("no leader within {ROUNDS_MAX} rounds"))
    }

    /// Run rounds until every live node delivered `slot`.
    fn await_delivered(&mut self, slot: Slot) -> Result<(), String> {
        for _ in 0..ROUNDS_MAX {
            if self
                .live()
                .into_iter()
                .all(|j| self.delivered[j].len() as Slot >= slot)
            {
                return Ok(());
            }
            self.round()?;
        }
        Err(format!("slot {slot} was not delivered everywhere"))
    }

    /// Propose `command` at leader `i`; the slot it was placed in.
    fn propose(&mut self, i: usize, command: &str) -> Result<(Slot, Ready), String> {
        let input = Input::Propose(Bytes::from(command.to_string()));
        let line = format!("client -> {}: {input}", name(i));
        let node = self.nodes[i]
            .as_mut()
            .ok_or("proposing on a crashed node")?;
        let mut fx = Ready::new();
        node.input(input, &mut fx);
        let placed = fx.outputs.iter().find_map(|o| match o {
            Output::Accepted { slot, .. } => Some((*slot, o.to_string())),
            _ => None,
        });
        let Some((slot, accepted)) = placed else {
            return Err(format!("{} did not take `{command}`", name(i)));
        };
        self.say(&format!("{line} => {accepted}: placed, not chosen yet"))?;
        Ok((slot, fx))
    }

    /// Propose `command` at leader `i` and run until every live node delivered it.
    fn write(&mut self, i: usize, command: &str) -> Result<(), String> {
        let (slot, fx) = self.propose(i, command)?;
        self.carry_out(i, fx)?;
        self.settle()?;
        self.await_everywhere(i, slot, "")
    }

    /// Run until every live node delivered `slot`, and say so; `leader` printed it already.
    fn await_everywhere(&mut self, leader: usize, slot: Slot, why: &str) -> Result<(), String> {
        self.await_delivered(slot)?;
        let live = self.live().into_iter();
        let others: Vec<String> = live.filter(|&j| j != leader).map(name).collect();
        self.say(&format!(
            "slot {slot} delivered by {} too{why}",
            others.join(" ")
        ))
    }

    /// Propose `command` at leader `i`, let its Accept reach `ORPHAN_REACH` acceptors only,
    /// and crash the leader before any Accepted comes back. The slot it sits in.
    fn write_then_crash(&mut self, i: usize, command: &str) -> Result<Slot, String> {
        let (slot, mut fx) = self.propose(i, command)?;
        let messages = std::mem::take(&mut fx.messages);
        self.carry_out(i, fx)?; // the leader's own accept, on its disk
        let mut reached = Vec::new();
        let mut lost = Vec::new();
        for env in messages {
            if reached.len() < ORPHAN_REACH {
                self.say(&env.to_string())?;
                reached.push(env.to.0 as usize - 1);
                self.deliver(env)?; // their Accepted replies go on the wire
            } else {
                lost.push(format!("n{}", env.to.0));
            }
        }
        self.say(&format!(
            "the Accepts to {} are lost; {} crashes before any Accepted returns",
            lost.join(" and "),
            name(i)
        ))?;
        self.nodes[i] = None;
        self.settle()?; // the Accepted replies: to a crashed node, lost
        let voters: Vec<String> = [i].iter().chain(&reached).map(|&j| name(j)).collect();
        self.say(&format!(
            "slot {slot} is chosen ({} accepted it: a phase-2 quorum), yet no node knows it",
            voters.join(" ")
        ))?;
        Ok(slot)
    }

    /// Restart node `i` from its disk and run until it delivered every slot again.
    fn restart_and_catch_up(&mut self, i: usize) -> Result<(), String> {
        let node = self.boot(i);
        let disk = &self.disks[i];
        let votes: Vec<String> = disk.accepted.values().map(|pv| pv.to_string()).collect();
        let line = format!(
            "{} restarts from its disk: promised={} accepted=[{}]; chosen is volatile, so it \
             re-learns every slot",
            name(i),
            disk.promised,
            votes.join(" ")
        );
        self.say(&line)?;
        self.nodes[i] = Some(node);
        self.delivered[i].clear(); // its state machine starts again from the (empty) snapshot
        self.watched = Some(i);
        let top = self
            .live()
            .into_iter()
            .map(|j| self.delivered[j].len())
            .max();
        self.await_delivered(top.unwrap_or(0) as Slot)?;
        self.watched = None;
        Ok(())
    }
}

/// The commands: no spaces, so `Value`'s Display prints them as text.
const FIRST: [&str; 3] = ["x=1", "y=2", "x=3"];
/// The command the first leader gets accepted and never announces.
const ORPHAN: &str = "w=4";
const AFTER: [&str; 2] = ["z=5", "w=6"];

/// The whole story; `Ok` with the number of slots every node delivered.
pub fn run(seed: u64, out: &mut dyn Write) -> Result<usize, String> {
    let mut demo = Demo::new(seed, out);
    demo.say(&format!(
        "5 Multi-Paxos nodes, seed {seed}: each an acceptor, a learner and a would-be leader"
    ))?;
    let first = demo.await_leader()?;
    for command in FIRST {
        demo.write(first, command)?;
    }
    let orphan_slot = demo.write_then_crash(first, ORPHAN)?;
    let leader = demo.await_leader()?;
    let why = format!(": the value n{} never announced", first + 1);
    demo.await_everywhere(leader, orphan_slot, &why)?;
    for command in AFTER {
        demo.write(leader, command)?;
    }
    demo.restart_and_catch_up(first)?;
    let logs = &demo.delivered;
    if logs.windows(2).any(|w| w[0] != w[1]) {
        return Err("the nodes delivered different logs".into());
    }
    let orphan = Value::Command(Bytes::from_static(ORPHAN.as_bytes()));
    if logs[0].get(orphan_slot as usize - 1) != Some(&orphan) {
        return Err(format!("slot {orphan_slot} lost the chosen value {orphan}"));
    }
    let shown: Vec<String> = logs[0].iter().map(|v| v.to_string()).collect();
    let slots = shown.len();
    demo.say(&format!(
        "done: all 5 nodes delivered the same {slots} slots: {}",
        shown.join(" ")
    ))?;
    Ok(slots)
}

#[allow(dead_code)] // a test includes this file as a module and calls `run`
fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if let Err(e) = run(seed, &mut std::io::stdout()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
