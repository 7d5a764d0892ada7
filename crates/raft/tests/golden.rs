//! Golden traces: Raft scenarios as scripts in `crates/raft/testdata/*.txt`, each command
//! followed by the exact effects it prints (the messages, writes, notes and outputs, in the
//! house's one-line `Display`). Read a script next to the paper; change Raft and the diff
//! shows what a learner would now see. `GOLDEN_REWRITE=1 cargo test -p raft --test golden`
//! rewrites the expected blocks for review in `git diff`.
//!
//! ```text
//!   cluster n=3 [voters=1,2,3] [seed=S] [pre-vote=off] [check-quorum=off] [reads=lease]
//!           [append-max=N] [variant=commit-old-term|one-step-membership]
//!   campaign N            tick only N until it campaigns (its election timeout fires)
//!   tick N [times=K]      heartbeat N (tick a leader until it broadcasts)
//!   stabilize             deliver until the network is quiet
//!   deliver [from=A] [to=B] [n=K]       the first K queued messages that match
//!   drop [from=A] [to=B]  remove matching queued messages (a lossy network)
//!   propose N TEXT        read N id=K        transfer N to=M        snapshot N
//!   change N add-learner=M | promote=M | remove=M
//!   partition 1 2,3       isolate N          heal        crash N        restart N
//!   status                log N
//! ```
//!
//! Printed lines: a delivery is `nA→nB Message{..}` with what it caused indented below it;
//! effects are `nB persist Write{..}`, `nB→nC Message{..}` (sent), `nB→nC drop Message{..}
//! (cut)`, `nB note: why it ignored something`, `nB output Output{..}`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use distributed_core::{Envelope, NodeId, SeededRng};
use raft::{
    Config, Disk, Input, MembershipChange, Message, Output, Raft, ReadMode, Role, Variant, Write,
};
use testkit::golden::{run_file, scripts_in, Directive};
use testkit::{Cluster, Dropped, Observer};

/// Most ticks `campaign` and `heartbeat` spend waiting for a timer: far past any timeout.
const TICKS_WAITING_MAX: u64 = 1000;

/// Prints every effect as one line, indenting what a delivery caused under it, and checks
/// state machine safety (§5.4.3) on every `Committed`, printing a violation where it happens
/// (the broken `commit-old-term` variant shows one).
#[derive(Default)]
struct Transcript {
    lines: Vec<String>,
    /// True between a delivery and the end of the event it caused.
    in_delivery: bool,
    /// The term first committed at each index, by any node.
    committed: BTreeMap<u64, u64>,
}

impl Transcript {
    fn push(&mut self, line: String) {
        let indent = if self.in_delivery { "  " } else { "" };
        self.lines.push(format!("{indent}{line}"));
    }
}

impl Observer<Raft> for Transcript {
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
        common::assert_promises_are_durable(disk, env); // Figure 2, checked on every send
    }
    fn on_queue(&mut self, env: &Envelope<Message>) {
        self.push(env.to_string());
    }
    fn on_note(&mut self, node: NodeId, note: &str) {
        self.push(format!("{node} note: {note}"));
    }
    fn on_output(&mut self, node: NodeId, output: Output) {
        self.push(format!("{node} output {output}"));
        if let Output::Committed(e) = &output {
            let first = *self.committed.entry(e.index).or_insert(e.term);
            if first != e.term {
                self.push(format!(
                    "VIOLATION state machine safety (§5.4.3): {node} applied {e} where ({first},{}) was applied",
                    e.index
                ));
            }
        }
    }
    fn after_event(&mut self, _node: NodeId, _state: &Raft) {
        self.in_delivery = false;
    }
}

type Golden = Cluster<Raft, Transcript>;

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
        let c = self.c()?;
        c.observer.lines.clear();
        match d.name.as_str() {
            "campaign" => campaign(c, node(d, 0)?)?,
            "tick" => {
                for _ in 0..d.get_u64("times", 1)? {
                    c.tick(node(d, 0)?);
                }
            }
            "heartbeat" => heartbeat(c, node(d, 0)?)?,
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
            "change" => change(c, d)?,
            "transfer" => {
                let to = NodeId(d.get_u64("to", 0)?);
                c.input(node(d, 0)?, Input::TransferLeadership { to });
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

fn on_off(d: &Directive, key: &str, default: bool) -> Result<bool, String> {
    match d.get(key) {
        None => Ok(default),
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(format!("{key}={other}: expected on or off")),
    }
}

fn build(d: &Directive) -> Result<Golden, String> {
    let n = d.get_u64("n", 3)?;
    let voters = match d.get("voters") {
        Some(list) => id_list(list)?,
        None => (1..=n).map(NodeId).collect(),
    };
    let (pre_vote, check_quorum) = (
        on_off(d, "pre-vote", true)?,
        on_off(d, "check-quorum", true)?,
    );
    let read_mode = match d.get("reads").unwrap_or("read-index") {
        "read-index" => ReadMode::ReadIndex,
        "lease" => ReadMode::Lease,
        other => return Err(format!("reads={other}: expected read-index or lease")),
    };
    let variant = match d.get("variant").unwrap_or("correct") {
        "correct" => Variant::Correct,
        "commit-old-term" => Variant::CommitOldTerm,
        "one-step-membership" => Variant::OneStepMembership,
        other => {
            return Err(format!(
                "variant={other}: expected correct, commit-old-term or one-step-membership"
            ))
        }
    };
    let append_max = d.get_u64("append-max", 64)? as usize;
    let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
        let mut config = Config::new(id, voters.clone());
        config.entries_per_append_max = append_max;
        config.variant = variant;
        config.pre_vote = pre_vote;
        config.check_quorum = check_quorum;
        config.read_mode = read_mode;
        Raft::new(config, disk, rng).expect("a valid config and disk")
    };
    let mut c = Cluster::new(
        n,
        d.get_u64("seed", 1)?,
        Transcript::default(),
        Box::new(factory),
    );
    c.keep_notes(true);
    Ok(c)
}

/// Tick only `id` until its election timer fires and it (pre-)campaigns (§5.2): it is a
/// (pre-)candidate and that tick sent its requests. A candidate whose election failed
/// campaigns again, in the next term.
fn campaign(c: &mut Golden, id: NodeId) -> Result<(), String> {
    if c.node(id).role() == Role::Leader {
        return Err(format!("{id} leads already"));
    }
    for _ in 0..TICKS_WAITING_MAX {
        let before = c.sent.len();
        c.tick(id);
        let campaigning = matches!(c.node(id).role(), Role::PreCandidate | Role::Candidate);
        if campaigning && c.sent.len() > before {
            return Ok(());
        }
    }
    Err(format!(
        "{id} did not campaign within {TICKS_WAITING_MAX} ticks"
    ))
}

/// Tick leader `id` until it sends a round of heartbeats.
fn heartbeat(c: &mut Golden, id: NodeId) -> Result<(), String> {
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

/// Does a queued message match the `from=` / `to=` filters?
fn matcher(d: &Directive) -> Result<impl Fn(&Envelope<Message>) -> bool, String> {
    let from = d.get("from").map(id_list).transpose()?;
    let to = d.get("to").map(id_list).transpose()?;
    Ok(move |e: &Envelope<Message>| {
        from.as_ref().is_none_or(|f| f.contains(&e.from))
            && to.as_ref().is_none_or(|t| t.contains(&e.to))
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

fn change(c: &mut Golden, d: &Directive) -> Result<(), String> {
    let target = |k: &str| d.get_u64(k, 0).map(NodeId);
    let change = if d.get("add-learner").is_some() {
        MembershipChange::AddLearner(target("add-learner")?)
    } else if d.get("promote").is_some() {
        MembershipChange::Promote(target("promote")?)
    } else if d.get("remove").is_some() {
        MembershipChange::Remove(target("remove")?)
    } else {
        return Err("change: expected add-learner=N, promote=N or remove=N".to_string());
    };
    c.input(node(d, 0)?, Input::ChangeMembership(change));
    Ok(())
}

/// The host snapshots `id`'s state machine at its applied index (§7); here the state is just
/// the number of entries applied, which is all a script needs to see.
fn snapshot(c: &mut Golden, id: NodeId) {
    let index = c.node(id).applied_index();
    let data = index.to_string().into_bytes().into();
    c.input(id, Input::Snapshot { index, data });
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

/// One line per node: role, term, vote, leader, commit and last entry, and whether it is up.
fn status(c: &Golden) -> String {
    let mut lines = Vec::new();
    for (k, r) in c.nodes.iter().enumerate() {
        let id = c.ids[k];
        let who = |n: Option<NodeId>| n.map_or("none".to_string(), |n| n.to_string());
        let down = if c.is_up(id) { "" } else { " (down)" };
        lines.push(format!(
            "{id} {:?} term={} vote={} leader={} commit={} last=({},{}) config={}{down}",
            r.role(),
            r.term(),
            who(r.voted_for()),
            who(r.leader()),
            r.commit_index(),
            r.last_term(),
            r.last_index(),
            r.membership()
        ));
    }
    lines.join("\n")
}

/// `id`'s log after its snapshot point: `(term,index)` and what the entry is.
fn log(c: &Golden, id: NodeId) -> String {
    let r = c.node(id);
    let mut lines = vec![format!(
        "{id} snapshot=({},{}) commit={}",
        r.snapshot_term(),
        r.snapshot_index(),
        r.commit_index()
    )];
    for e in r.entries() {
        let what = match e.membership() {
            Some(m) => format!("config {m}"),
            None if e.data.is_empty() => "no-op".to_string(),
            None => String::from_utf8_lossy(&e.data).into_owned(),
        };
        lines.push(format!("{e} {what}"));
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
