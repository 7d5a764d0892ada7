//! PBFT in one screen: four sans-IO `pbft::Pbft` replicas in one process (n = 3f+1, f = 1), a
//! queue for a network, a loop for a clock, and a client that trusts no single replica. Watch
//! the normal case, the primary crashing and a view change, a checkpoint becoming stable, and
//! the same faulty replica coming back as a liar that the honest ones outvote.
//!
//! ```text
//!   cargo run -p distributed --example pbft_demo [SEED]
//!
//!   client ─Request─► primary ─PrePrepare─► backups ─Prepare─► all ─Commit─► all
//!      ▲                                                                     │ 2f+1 commits
//!      └──── reply from each replica's Execute; accepted on f+1 = 2 alike ◄──┘
//!
//!   1. normal case   view 0, primary n1: every message of the three phases is shown
//!   2. n1 crashes    the client times out and sends to all; the backups forward it to n1 and
//!                    start their request timers; the timers fire: ViewChange{new_view=1 ..}
//!                    ─► n2 = primary(1) gathers 2f+1 ─► NewView ─► the request runs in view 1
//!                    (seq 2: a checkpoint every 2 seqs, so checkpoint 2 becomes stable)
//!   3. n1 lies       still the one faulty replica, now Byzantine with only its own key: it
//!                    prepares and commits the true digest to one replica, a forged one to
//!                    the others, and replies with a wrong list; 2f+1 honest votes carry the
//!                    request anyway, and the client never sees f+1 replies match the lie
//! ```
//!
//! The state machine is a list of words: each request appends one, and a reply is the whole
//! list. One round ticks every live replica, then delivers queued messages (oldest first) until
//! the network is quiet; each replica's effects are carried out persist → send → deliver, and a
//! `CheckpointDue{seq}` is answered at once with the list as it stands. No sockets, no threads,
//! no clock: the seed picks the keys, the words, and whom the liar flatters, and one seed
//! prints the same story every run. `distributed sim --protocol pbft-kv` drives the same code
//! with faults.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;

use distributed_core::{Envelope, NodeId, Protocol, SeededRng};
use pbft::{
    Bytes, Commit, Config, Disk, Input, Keyring, Message, Output, Pbft, Prepare, Ready, Request,
    Seq, Signer, View,
};

/// n = 3f + 1 replicas.
const REPLICAS: u64 = 4;
/// f: the faulty replicas tolerated. The client needs f + 1 matching replies.
const F: usize = 1;
/// The one client's id.
const CLIENT: u64 = 1;
/// K: a checkpoint every this many seqs (small, so one becomes stable on screen).
const CHECKPOINT_INTERVAL: Seq = 2;
/// How long a backup waits for a request it knows of before suspecting the primary.
const REQUEST_TIMEOUT_TICKS: u64 = 10;
/// How long the client waits for f+1 replies before sending its request to every replica.
const CLIENT_TIMEOUT_ROUNDS: usize = 5;
/// Most rounds to wait for one request; a demo that never gets there reports it.
const ROUNDS_MAX: usize = 200;
/// Most message deliveries in one round: a livelock ends the demo with an error.
const DELIVERIES_PER_ROUND_MAX: usize = 10_000;
/// What the client appends; the seed picks where to start.
const WORDS: [&str; 8] = [
    "apple", "banana", "cherry", "damson", "elder", "fig", "grape", "hazel",
];
/// What the liar claims was appended instead.
const POISON: &str = "poison";

/// How a replica behaves at this point of the story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// Runs its `Pbft` and follows the protocol.
    Honest,
    /// Nothing reaches it or leaves it.
    Crashed,
    /// The demo's own code plays it, holding only its signing key.
    Liar,
}

/// The client (§4.1): one request at a time, accepted on f+1 matching replies.
#[derive(Debug, Default)]
struct Client {
    /// The timestamp of the request under way; each request has a larger one.
    timestamp: u64,
    /// The view of the last accepted replies: the client sends to that view's primary.
    view: View,
    /// The replies to the current request, by replica: (the view it names, the list it claims).
    replies: BTreeMap<NodeId, (View, String)>,
    /// The list once f+1 replies agree on it.
    accepted: Option<String>,
}

/// Four replicas, their disks and state machines, the wire, the client, and what to print.
pub struct Demo<'a> {
    /// The replicas. A crashed or lying one's `Pbft` stays, frozen, to show where it stopped.
    nodes: Vec<Pbft>,
    /// Who is honest, crashed or lying, by index.
    parts: Vec<Part>,
    /// What each replica has persisted (what a restart would start from).
    disks: Vec<Disk>,
    /// Each replica's state machine: the words appended, in execution order.
    lists: Vec<Vec<String>>,
    /// The stable checkpoint each replica was last seen at, to announce a new one.
    stable_seen: Vec<Seq>,
    /// Messages sent and not delivered yet, oldest first.
    network: VecDeque<Envelope<Message>>,
    /// n1's key: all the liar can sign with (it cannot forge anyone else's messages).
    liar_key: Signer,
    /// The replica the liar tells the true digest; the others get a forged one.
    flattered: NodeId,
    /// The client.
    client: Client,
    /// Print every message (the normal case), or only the ones the act is about.
    verbose: bool,
    /// Ticks so far.
    round: usize,
    /// Where the story goes (stdout, or a buffer in the test).
    out: &'a mut dyn Write,
}

/// The word the client appends in request `k`.
fn word(seed: u64, k: u64) -> &'static str {
    WORDS[((seed + k) % WORDS.len() as u64) as usize]
}

/// A list as a reply shows it.
fn show(list: &[String]) -> String {
    format!("[{}]", list.join(" "))
}

/// The index of a replica in the demo's vectors.
fn idx(id: NodeId) -> usize {
    id.0 as usize - 1
}

impl<'a> Demo<'a> {
    /// Four fresh replicas, their keys dealt from `seed`.
    pub fn new(seed: u64, out: &'a mut dyn Write) -> Result<Demo<'a>, String> {
        let ids: Vec<NodeId> = (1..=REPLICAS).map(NodeId).collect();
        let nodes = ids
            .iter()
            .map(|&id| {
                let mut config = Config::new(id, ids.clone(), seed);
                config.checkpoint_interval = CHECKPOINT_INTERVAL;
                config.log_window = 2 * CHECKPOINT_INTERVAL;
                config.request_timeout_ticks = REQUEST_TIMEOUT_TICKS;
                let rng = SeededRng::new(seed.wrapping_mul(31).wrapping_add(id.0));
                Pbft::new(config, &Disk::default(), rng)
            })
            .collect::<Result<Vec<Pbft>, _>>()
            .map_err(|e| e.to_string())?;
        let n = REPLICAS as usize;
        Ok(Demo {
            nodes,
            parts: vec![Part::Honest; n],
            disks: vec![Disk::default(); n],
            lists: vec![Vec::new(); n],
            stable_seen: vec![0; n],
            network: VecDeque::new(),
            liar_key: Keyring::new(seed).signer(NodeId(1)),
            flattered: NodeId(2 + seed % 3),
            client: Client::default(),
            verbose: true,
            round: 0,
            out,
        })
    }

    /// Print one line of the story, stamped with the round.
    fn say(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.out, "[round {:>3}] {line}", self.round).map_err(|e| e.to_string())
    }

    /// Print what the act is about (one line per message sent to several replicas), then
    /// queue it all on the network.
    fn post(&mut self, messages: Vec<Envelope<Message>>) -> Result<(), String> {
        let mut k = 0;
        while k < messages.len() {
            let (from, text) = (messages[k].from, messages[k].msg.to_string());
            let mut to = Vec::new();
            while k < messages.len()
                && messages[k].from == from
                && messages[k].msg.to_string() == text
            {
                to.push(messages[k].to.to_string());
                k += 1;
            }
            let shown = self.verbose
                || self.parts[idx(from)] == Part::Liar
                || matches!(
                    messages[k - 1].msg,
                    Message::PrePrepare(_) | Message::ViewChange(_) | Message::NewView(_)
                );
            if shown {
                self.say(&format!("{from} → {} {text}", to.join(" ")))?;
            }
            if let Message::NewView(nv) = &messages[k - 1].msg {
                // O: each seq a ViewChange proves prepared keeps its request in the new view.
                let kept: Vec<String> = (nv.pre_prepares.iter())
                    .filter(|p| p.request.is_some())
                    .map(|p| p.seq.to_string())
                    .collect();
                if !kept.is_empty() {
                    self.say(&format!(
                        "   O re-proposes seq {} in view {}: it may have committed somewhere (§4.4)",
                        kept.join(" "),
                        nv.view
                    ))?;
                }
            }
        }
        self.network.extend(messages);
        Ok(())
    }

    /// Carry out one replica's effects: persist, send, deliver the outputs.
    fn carry_out(&mut self, i: usize, mut fx: Ready) -> Result<(), String> {
        for write in &fx.writes {
            Pbft::persist(&mut self.disks[i], write);
        }
        self.post(std::mem::take(&mut fx.messages))?;
        for output in std::mem::take(&mut fx.outputs) {
            self.apply(i, output)?;
        }
        let h = self.nodes[i].low_watermark();
        if h > self.stable_seen[i] {
            self.stable_seen[i] = h;
            let cert = self.nodes[i].stable_checkpoint();
            let line = format!(
                "{}: checkpoint {h} stable, {} signed Checkpoint{{seq={h} digest={}}} (2f+1); log: {} slots",
                self.nodes[i].id(),
                cert.proof.len(),
                cert.digest,
                self.nodes[i].log_len()
            );
            self.say(&line)?;
        }
        Ok(())
    }

    /// Deliver one output to replica `i`'s state machine (and its reply to the client).
    fn apply(&mut self, i: usize, output: Output) -> Result<(), String> {
        let (id, shown) = (self.nodes[i].id(), output.to_string());
        match output {
            Output::Execute { view, request, .. } => {
                let word = String::from_utf8_lossy(&request.op).into_owned();
                self.lists[i].push(word);
                let list = show(&self.lists[i]);
                self.say(&format!("{id} {shown} → reply {list}"))?;
                self.reply(id, request.timestamp, view, list)
            }
            Output::Skipped { .. } => self.say(&format!("{id} {shown}: nothing to apply")),
            Output::CheckpointDue { seq } => {
                // Answered at once, with the state as it stands at this point of the outputs.
                let state = Bytes::from(self.lists[i].join(","));
                let mut fx = Ready::new();
                self.nodes[i].input(Input::Checkpoint { seq, state }, &mut fx);
                self.carry_out(i, fx)
            }
            Output::RestoreState { state, .. } => {
                let text = String::from_utf8_lossy(&state).into_owned();
                self.lists[i] = text
                    .split(',')
                    .filter(|w| !w.is_empty())
                    .map(String::from)
                    .collect();
                self.say(&format!(
                    "{id} {shown}: list is now {}",
                    show(&self.lists[i])
                ))
            }
        }
    }

    /// The client takes a reply; f+1 alike (at most f can lie, so one is honest) and it accepts.
    fn reply(&mut self, from: NodeId, ts: u64, view: View, list: String) -> Result<(), String> {
        if ts != self.client.timestamp {
            return Ok(()); // a late reply to an earlier request
        }
        self.client.replies.insert(from, (view, list.clone()));
        if self.client.accepted.is_some() {
            return Ok(());
        }
        let alike: Vec<(NodeId, View)> = (self.client.replies.iter())
            .filter(|(_, (_, l))| *l == list)
            .map(|(&id, &(v, _))| (id, v))
            .collect();
        if alike.len() <= F {
            return Ok(());
        }
        let names: Vec<String> = alike.iter().map(|(id, _)| id.to_string()).collect();
        self.client.view = alike.iter().map(|&(_, v)| v).max().unwrap_or(0);
        self.client.accepted = Some(list.clone());
        self.say(&format!(
            "client accepts ts={ts} {list}: f+1 = {} replies alike ({})",
            F + 1,
            names.join(" ")
        ))
    }

    /// A message reaches replica `to`: an honest one steps, a crashed one loses it, the liar
    /// answers a pre-prepare with lies.
    fn deliver(&mut self, env: Envelope<Message>) -> Result<(), String> {
        let to = idx(env.to);
        match self.parts[to] {
            Part::Crashed => Ok(()),
            Part::Liar => self.lie(env.msg),
            Part::Honest => {
                let mut fx = Ready::new();
                self.nodes[to].step(env.from, env.msg, &mut fx);
                self.carry_out(to, fx)
            }
        }
    }

    /// The liar's strategy: to a pre-prepare, prepare and commit the true digest to the
    /// flattered replica and a forged request's digest to the others, all signed with its
    /// own key; tell the client its list has the forged word in it. Everything else: silence.
    fn lie(&mut self, msg: Message) -> Result<(), String> {
        let Message::PrePrepare(pp) = msg else {
            return Ok(());
        };
        let Some(request) = pp.request else {
            return Ok(()); // a null request: nothing worth lying about
        };
        let me = self.liar_key.id();
        let forged = Request::new(request.client, request.timestamp, POISON).digest();
        let mut order = vec![self.flattered];
        order.extend(
            (1..=REPLICAS)
                .map(NodeId)
                .filter(|&r| r != me && r != self.flattered),
        );
        let digest = |to: NodeId| {
            if to == self.flattered {
                pp.digest
            } else {
                forged
            }
        };
        let mut messages = Vec::new();
        for &to in &order {
            let msg = Prepare::new(pp.view, pp.seq, digest(to), &self.liar_key).into();
            messages.push(Envelope { from: me, to, msg });
        }
        for &to in &order {
            let msg = Commit::new(pp.view, pp.seq, digest(to), &self.liar_key).into();
            messages.push(Envelope { from: me, to, msg });
        }
        self.post(messages)?;
        let mut list = self.lists[idx(me)].clone();
        list.push(POISON.to_string());
        let list = show(&list);
        self.say(&format!("{me} → client reply {list} (a lie)"))?;
        self.reply(me, request.timestamp, pp.view, list)
    }

    /// One tick on every honest replica, then deliver until the network is quiet.
    fn round(&mut self) -> Result<(), String> {
        self.round += 1;
        for i in 0..self.nodes.len() {
            if self.parts[i] != Part::Honest {
                continue;
            }
            let changing = self.nodes[i].is_view_changing();
            let mut fx = Ready::new();
            self.nodes[i].tick(&mut fx);
            if !changing && self.nodes[i].is_view_changing() {
                let line = format!(
                    "{}'s request timer fires ({REQUEST_TIMEOUT_TICKS} ticks): it suspects the primary",
                    self.nodes[i].id()
                );
                self.say(&line)?;
            }
            self.carry_out(i, fx)?;
        }
        for _ in 0..DELIVERIES_PER_ROUND_MAX {
            let Some(env) = self.network.pop_front() else {
                return Ok(());
            };
            self.deliver(env)?;
        }
        Err("the network never went quiet".into())
    }

    /// The client hands `request` to replica `i` (lost if `i` is not honest).
    fn send_request(&mut self, i: usize, request: Request) -> Result<(), String> {
        if self.parts[i] != Part::Honest {
            return Ok(());
        }
        let mut fx = Ready::new();
        self.nodes[i].input(Input::Request(request), &mut fx);
        self.carry_out(i, fx)
    }

    /// The client appends `word`: to the primary it knows of, then, after its timeout, to
    /// every replica (§4.1). Runs until it accepted and every honest replica executed it.
    fn request(&mut self, word: &str) -> Result<(), String> {
        self.client.timestamp += 1;
        self.client.replies.clear();
        self.client.accepted = None;
        let ts = self.client.timestamp;
        let request = Request::new(CLIENT, ts, word.as_bytes().to_vec());
        let primary = self.nodes[0].config().primary(self.client.view);
        let lost = if self.parts[idx(primary)] == Part::Honest {
            ""
        } else {
            " (lost: it is down)"
        };
        self.say(&format!(
            "client → {primary} {request}: append {word}{lost}"
        ))?;
        self.send_request(idx(primary), request.clone())?;
        for waited in 0..ROUNDS_MAX {
            let honest = (0..self.nodes.len()).filter(|&i| self.parts[i] == Part::Honest);
            let executed = honest
                .into_iter()
                .all(|i| self.nodes[i].last_timestamp(CLIENT) >= Some(ts));
            if executed && self.client.accepted.is_some() {
                return Ok(());
            }
            if waited == CLIENT_TIMEOUT_ROUNDS {
                self.say(&format!(
                    "client: no f+1 replies in {CLIENT_TIMEOUT_ROUNDS} rounds, sends to every replica"
                ))?;
                for i in 0..self.nodes.len() {
                    self.send_request(i, request.clone())?;
                }
            }
            self.round()?;
        }
        Err(format!(
            "`{word}` was not executed within {ROUNDS_MAX} rounds"
        ))
    }

    /// The client's view of the liar: a reply no other replica matched.
    fn ignored_lies(&mut self) -> Result<(), String> {
        let accepted = self.client.accepted.clone().unwrap_or_default();
        let lies: Vec<(NodeId, String)> = (self.client.replies.iter())
            .filter(|(_, (_, l))| *l != accepted)
            .map(|(&id, (_, l))| (id, l.clone()))
            .collect();
        for (id, list) in lies {
            self.say(&format!(
                "client ignores {id}'s {list}: no other replica said it, and a liar alone is not f+1"
            ))?;
        }
        Ok(())
    }

    /// Every replica's executed history digest; the honest ones must agree.
    fn verdict(&mut self) -> Result<Seq, String> {
        let mut honest = Vec::new();
        for i in 0..self.nodes.len() {
            let node = &self.nodes[i];
            let (id, last, history) = (node.id(), node.last_executed(), node.history());
            let role = match self.parts[i] {
                Part::Honest => "honest",
                Part::Crashed | Part::Liar => "faulty, stopped when it crashed",
            };
            let list = show(&self.lists[i]);
            self.say(&format!(
                "{id} history={history} through seq {last} list={list} ({role})"
            ))?;
            if self.parts[i] == Part::Honest {
                honest.push((last, history, list));
            }
        }
        if honest.windows(2).any(|w| w[0] != w[1]) {
            return Err("the honest replicas executed different histories".into());
        }
        let last = honest.first().map_or(0, |h| h.0);
        self.say(&format!(
            "done: the {} honest replicas executed the same {last} requests in the same order",
            honest.len()
        ))?;
        Ok(last)
    }
}

/// The whole story; `Ok` with the number of requests every honest replica executed.
pub fn run(seed: u64, out: &mut dyn Write) -> Result<Seq, String> {
    let mut demo = Demo::new(seed, out)?;
    demo.say(&format!(
        "4 PBFT replicas (n = 3f+1, f = 1), seed {seed}: view 0, primary n1; a checkpoint every {CHECKPOINT_INTERVAL} seqs"
    ))?;
    demo.say("1. the normal case")?;
    demo.request(word(seed, 0))?;
    demo.verbose = false; // from here on: the messages each act is about
    demo.say("2. n1, the primary, crashes: nothing reaches it or leaves it")?;
    demo.parts[0] = Part::Crashed;
    demo.request(word(seed, 1))?;
    let flattered = demo.flattered;
    demo.say(&format!(
        "3. n1 (still the one fault) turns liar: true digest to {flattered}, a forged one to the rest"
    ))?;
    demo.parts[0] = Part::Liar;
    demo.request(word(seed, 2))?;
    demo.ignored_lies()?;
    demo.verdict()
}

#[allow(dead_code)] // a test includes this file as a module and calls `run`
fn main() {
    let seed = match std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>().map_err(|e| (s, e)))
    {
        None => 7,
        Some(Ok(seed)) => seed,
        Some(Err((s, e))) => {
            eprintln!("error: SEED must be a whole number, got `{s}`: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(seed, &mut std::io::stdout()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
