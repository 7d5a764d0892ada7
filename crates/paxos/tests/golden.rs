//! Golden traces: Paxos scenarios as scripts in `crates/paxos/testdata/*.txt`, each command
//! followed by the exact effects it prints (messages, writes, notes, outputs, in the house's
//! one-line `Display`). Read a script next to the paper; change Paxos and the diff shows what
//! a learner would now see. `GOLDEN_REWRITE=1 cargo test -p paxos --test golden` rewrites the
//! expected blocks for review in `git diff`.
//!
//! ```text
//!   cluster n=3 [q1=N] [q2=N] [seed=S] [variant=accept-own-value|small-phase1-quorum]
//!   campaign N            tick only N until it starts phase 1 (its leader timeout fires)
//!   heartbeat N           tick leader N until it sends its heartbeat
//!   tick N [times=K]      tick N K times
//!   stabilize             deliver until the network is quiet
//!   deliver [from=A] [to=B] [type=Accept] [slot=S] [n=K]   the first K queued that match
//!   drop [from=A] [to=B] [type=Commit] [slot=S]            remove matching queued (lost)
//!   validate n=5 q1=3 q2=2    print what Config::validate says of these quorums
//!   propose N TEXT        read N id=K        snapshot N
//!   partition 1 2,3       isolate N          heal        crash N        restart N
//!   status                log N
//! ```
//!
//! Printed lines: a delivery is `nA→nB Message{..}` with what it caused indented below it;
//! effects are `nB persist Write{..}`, `nB→nC Message{..}` (sent), `nB→nC drop Message{..}
//! (cut)`, `nB note: why it ignored something`, `nB output Output{..}`. An agreement violation
//! (two values delivered in one slot) prints a `VIOLATION` line where it happens.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use distributed_core::{Envelope, NodeId, SeededRng};
use paxos::{Config, Disk, Input, Message, Output, Paxos, Role, Value, Variant, Write};
use testkit::golden::{run_file, scripts_in, Directive};
use testkit::{Cluster, Dropped, Observer};

/// Most ticks `campaign` and `heartbeat` spend waiting for a timer: far past any timeout.
const TICKS_WAITING_MAX: u64 = 1000;

/// Prints every effect as one line, indenting what a delivery caused under it, and checks
/// agreement on every `Committed`.
#[derive(Default)]
struct Transcript {
    lines: Vec<String>,
    /// True between a delivery and the end of the event it caused.
    in_delivery: bool,
    /// The value first delivered in each slot, by any node.
    delivered: BTreeMap<u64, Value>,
}

impl Transcript {
    fn push(&mut self, line: String) {
        let indent = if self.in_delivery { "  " } else { "" };
        self.lines.push(format!("{indent}{line}"));
    }
}

impl Observer<Paxos> for Transcript {
    fn on_deliver(&mut self, env: &Envelope<Message>) {
        self.lines.push(env.to_string());
        self.in_delivery = true;
    }
    fn on_drop(&mut self, env: &Envelope<Message>, why: Dropped) {
        self.push(format!("{}→{} drop {} ({why})", env.from, env.to, env.msg));
    }
    fn on_write(&mut self, node: NodeId, write: &Write) {
        self.push(format!("{node} persist {write}"));
    }
    fn on_send(&mut self, _node: NodeId, disk: &Disk, env: &Envelope<Message>) {
        common::assert_promises_are_durable(disk, env);
    }
    fn on_queue(&mut self, env: &Envelope<Message>) {
        self.push(env.to_string());
    }
    fn on_note(&mut self, node: NodeId, note: &str) {
        self.push(format!("{node} note: {note}"));
    }
    fn on_output(&mut self, node: NodeId, output: Output) {
        self.push(format!("{node} output {output}"));
        if let Output::Committed { slot, value, .. } = &output {
            let first = self.delivered.entry(*slot).or_insert_with(|| value.clone());
            if first != value {
                let first = first.clone();
                self.push(format!(
                    "VIOLATION agreement: {node} delivered {value} in slot {slot} where {first} was delivered"
                ));
            }
        }
    }
    fn after_event(&mut self, _node: NodeId, _state: &Paxos) {
        self.in_delivery = false;
    }
}

type Golden = Cluster<Paxos, Transcript>;

/// The script's cluster, once `cluster` built it.
#[derive(Default)]
struct Driver {
    cluster: Option<Golden>,
}

impl Driver {
    fn c(&mut self) -> Result<&mut Golden, String> {
        self.cluster
            .as_mut()
            .ok_or_else(|| "no cluster yet: start the script with `cluster n=3`".to_string())
    }

    /// Run one directive and return what it printed.
    fn run(&mut self, d: &Directive) -> Result<String, String> {
        if d.name == "cluster" {
            self.cluster = Some(build(d)?);
            return Ok(String::new());
        }
        if d.name == "validate" {
            return Ok(match quorum_config(d)?.validate() {
                Ok(()) => "valid".to_string(),
                Err(e) => e.to_string(),
            });
        }
        let c = self.c()?;
        c.observer.lines.clear();
        match d.name.as_str() {
            "campaign" => campaign(c, node(d, 0)?)?,
            "heartbeat" => heartbeat(c, node(d, 0)?)?,
            "tick" => {
                for _ in 0..d.get_u64("times", 1)? {
                    c.tick(node(d, 0)?);
                }
            }
            "stabilize" => c.deliver_all(),
            "deliver" => deliver(c, d)?,
            "drop" => drop_queued(c, d)?,
            "propose" => {
                let text = d.positional.get(1).cloned().unwrap_or_default();
                c.input(node(d, 0)?, Input::Propose(text.into_bytes().into()));
            }
            "read" => {
                let id = d.get_u64("id", 1)?;
                c.input(node(d, 0)?, Input::Read { id });
            }
            "snapshot" => snapshot(c, node(d, 0)?),
            "partition" => partition(c, d)?,
            "isolate" => c.isolate(node(d, 0)?),
            "heal" => c.heal(),
            "crash" => c.crash(node(d, 0)?),
            "restart" => c.restart(node(d, 0)?),
            "status" => return Ok(status(c)),
            "log" => return Ok(log(c, node(d, 0)?)),
            other => return Err(format!("unknown command `{other}`")),
        }
        Ok(std::mem::take(&mut c.observer.lines).join("\n"))
    }
}

/// The node named by the `k`-th positional word.
fn node(d: &Directive, k: usize) -> Result<NodeId, String> {
    d.pos_u64(k).map(NodeId)
}

/// Node ids from `1,2,3`.
fn id_list(text: &str) -> Result<Vec<NodeId>, String> {
    text.split(',')
        .map(|w| w.parse().map(NodeId).map_err(|e| format!("`{w}`: {e}")))
        .collect()
}

/// A config of `n=` nodes with quorums `q1=` and `q2=` (majorities by default), unvalidated.
fn quorum_config(d: &Directive) -> Result<Config, String> {
    let n = d.get_u64("n", 3)?;
    let majority = n / 2 + 1;
    let (q1, q2) = (d.get_u64("q1", majority)?, d.get_u64("q2", majority)?);
    Ok(Config {
        phase1_quorum: q1 as usize,
        phase2_quorum: q2 as usize,
        ..Config::new(NodeId(1), (1..=n).map(NodeId).collect())
    })
}

fn build(d: &Directive) -> Result<Golden, String> {
    let probe = quorum_config(d)?;
    probe.validate().map_err(|e| e.to_string())?;
    let n = probe.nodes.len() as u64;
    let (q1, q2) = (probe.phase1_quorum, probe.phase2_quorum);
    let variant = match d.get("variant").unwrap_or("correct") {
        "correct" => Variant::Correct,
        "accept-own-value" => Variant::AcceptOwnValue,
        "small-phase1-quorum" => Variant::SmallPhase1Quorum,
        other => {
            return Err(format!(
                "variant={other}: expected correct, accept-own-value or small-phase1-quorum"
            ))
        }
    };
    let nodes = probe.nodes;
    let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
        let mut config = Config::new(id, nodes.clone());
        (config.phase1_quorum, config.phase2_quorum) = (q1, q2);
        config.variant = variant;
        Paxos::new(config, disk, rng).expect("a valid config and disk")
    };
    let seed = d.get_u64("seed", 1)?;
    let mut c = Cluster::new(n, seed, Transcript::default(), Box::new(factory));
    c.keep_notes(true);
    Ok(c)
}

/// Tick only `id` until its leader timeout fires and it starts phase 1.
fn campaign(c: &mut Golden, id: NodeId) -> Result<(), String> {
    if c.node(id).is_leader() {
        return Err(format!("{id} leads already"));
    }
    let runs = c.node(id).counters().phase1_runs;
    for _ in 0..TICKS_WAITING_MAX {
        c.tick(id);
        if c.node(id).counters().phase1_runs > runs {
            return Ok(());
        }
    }
    Err(format!(
        "{id} did not start phase 1 within {TICKS_WAITING_MAX} ticks"
    ))
}

/// Tick leader `id` until it sends its heartbeat.
fn heartbeat(c: &mut Golden, id: NodeId) -> Result<(), String> {
    if c.node(id).role() != Role::Leader {
        return Err(format!("{id} does not lead"));
    }
    for _ in 0..TICKS_WAITING_MAX {
        let before = c.sent.len();
        c.tick(id);
        if c.sent.len() > before {
            return Ok(());
        }
    }
    Err(format!(
        "{id} sent nothing within {TICKS_WAITING_MAX} ticks"
    ))
}

/// Does a queued message match the `from=` / `to=` / `type=` filters?
fn matcher(d: &Directive) -> Result<impl Fn(&Envelope<Message>) -> bool, String> {
    let from = d.get("from").map(id_list).transpose()?;
    let to = d.get("to").map(id_list).transpose()?;
    let kind = d.get("type").map(|t| format!("{t}{{"));
    let slot = d.get("slot").map(|s| s.parse::<u64>()).transpose();
    let slot = slot.map_err(|e| format!("slot: {e}"))?;
    Ok(move |e: &Envelope<Message>| {
        let slot_of = match &e.msg {
            Message::Accept(a) => Some(a.slot),
            Message::Accepted(a) => Some(a.slot),
            _ => None,
        };
        from.as_ref().is_none_or(|f| f.contains(&e.from))
            && to.as_ref().is_none_or(|t| t.contains(&e.to))
            && kind
                .as_ref()
                .is_none_or(|k| e.msg.to_string().starts_with(k))
            && slot.is_none_or(|s| slot_of == Some(s))
    })
}

/// Deliver the first `n` queued messages that match, each with what it causes.
fn deliver(c: &mut Golden, d: &Directive) -> Result<(), String> {
    let wanted = matcher(d)?;
    for _ in 0..d.get_u64("n", 1)? {
        let Some(k) = c.network.iter().position(&wanted) else {
            return Err("no queued message matches".to_string());
        };
        let env = c.network.remove(k).expect("position is in range");
        c.deliver(env);
    }
    Ok(())
}

/// Remove every queued message that matches, printing each.
fn drop_queued(c: &mut Golden, d: &Directive) -> Result<(), String> {
    let wanted = matcher(d)?;
    let (dropped, kept): (Vec<_>, Vec<_>) = c.network.drain(..).partition(|e| wanted(e));
    c.network.extend(kept);
    for e in dropped {
        c.observer
            .lines
            .push(format!("{}→{} drop {} (lost)", e.from, e.to, e.msg));
    }
    Ok(())
}

/// The host snapshots `id`'s state machine at its last delivered slot; here the state is just
/// that slot number, which is all a script needs to see.
fn snapshot(c: &mut Golden, id: NodeId) {
    let slot = c.node(id).chosen_through();
    let data = slot.to_string().into_bytes().into();
    c.input(id, Input::Snapshot { slot, data });
}

/// `partition 1 2,3 4`: cut every link between different groups.
fn partition(c: &mut Golden, d: &Directive) -> Result<(), String> {
    let groups: Vec<Vec<NodeId>> = d
        .positional
        .iter()
        .map(|g| id_list(g))
        .collect::<Result<_, _>>()?;
    for (k, a) in groups.iter().enumerate() {
        for b in &groups[k + 1..] {
            c.partition(a, b);
        }
    }
    Ok(())
}

/// One line per node: role, ballot, promise, leader hint, chosen and snapshot slots.
fn status(c: &Golden) -> String {
    let mut lines = Vec::new();
    for (k, p) in c.nodes.iter().enumerate() {
        let id = c.ids[k];
        let ballot = p.ballot().map_or("none".to_string(), |b| b.to_string());
        let hint = p
            .leader_hint()
            .map_or("none".to_string(), |n| n.to_string());
        let down = if c.is_up(id) { "" } else { " (down)" };
        lines.push(format!(
            "{id} {:?} ballot={ballot} promised={} leader={hint} chosen_through={} snapshot={}{down}",
            p.role(),
            p.promised(),
            p.chosen_through(),
            p.snapshot_slot()
        ));
    }
    lines.join("\n")
}

/// `id`'s accepted pvalues after its snapshot, each marked with the value known chosen there.
fn log(c: &Golden, id: NodeId) -> String {
    let p = c.node(id);
    let mut lines = vec![format!(
        "{id} snapshot={} chosen_through={}",
        p.snapshot_slot(),
        p.chosen_through()
    )];
    let top = p.chosen_through() + 64;
    for slot in p.snapshot_slot() + 1..=top {
        let accepted = p.accepted(slot).map(|pv| pv.to_string());
        let chosen = p.chosen(slot).map(|v| format!(" chosen={v}"));
        if accepted.is_some() || chosen.is_some() {
            let accepted = accepted.unwrap_or_else(|| format!("{slot}:-"));
            lines.push(format!("{accepted}{}", chosen.unwrap_or_default()));
        }
    }
    lines.join("\n")
}

#[test]
fn every_golden_script_prints_its_expected_effects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut failures = Vec::new();
    for script in scripts_in(&dir) {
        let mut driver = Driver::default();
        if let Err(report) = run_file(&script, |d| driver.run(d)) {
            failures.push(report);
        }
    }
    assert!(
        failures.is_empty(),
        "golden scripts differ (GOLDEN_REWRITE=1 to accept the new output):\n{}",
        failures.join("\n")
    );
}
