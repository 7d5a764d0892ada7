//! Golden traces: chain replication and CRAQ scenarios as scripts in
//! `crates/replication/testdata/chain_*.txt`, each command followed by the exact effects it
//! prints (messages, writes, notes, client replies, in the house's one-line `Display`). Read a
//! script next to the paper; change the chain and the diff shows what a learner would now see.
//! `GOLDEN_REWRITE=1 cargo test -p replication --test chain_golden` rewrites the expected
//! blocks for review in `git diff`.
//!
//! ```text
//!   cluster chain=1,2,3 [spares=4] [mode=chain|craq] [variant=correct|ack-at-head|craq-dirty-read]
//!           [chunk=K]         nodes n1.. are the replicas, the master is the next id
//!   put N KEY VALUE [client=C]   get N KEY [client=C]       a client request to node N
//!   tick N [times=K]       leases                           every replica heartbeats, delivered
//!   stabilize              deliver until the network is quiet
//!   deliver [from=A] [to=B] [type=Update] [n=K]    drop [from=A] [to=B] [type=Ack]
//!   detect                 every running node ticks, deliveries drained, round after round,
//!                          until the master announces a new epoch (heartbeats hidden)
//!   crash N   restart N   isolate N   heal   status   store N
//! ```
//!
//! Printed lines: a delivery is `nA→nB Message{..}` with what it caused indented below it;
//! effects are `nB persist Write{..}`, `nB→nC Message{..}` (sent), `nB→nC drop Message{..}
//! (why)`, `nB note: why it ignored something`, `nB output Reply{..}`. A broken invariant or a
//! read that goes back in real time prints a `VIOLATION` line where it happens.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Chain, Layout};
use distributed_core::{Envelope, NodeId};
use replication::chain::{ChainNode, Message, Mode, Replica};
use replication::ClientRequest;
use testkit::golden::{run_file, scripts_in, Directive};

/// Most rounds `detect` and ticks `leases` spend waiting: far past any timeout.
const ROUNDS_WAITING_MAX: u64 = 1000;

/// The script's cluster, once `cluster` built it, and each client's request count.
#[derive(Default)]
struct Driver {
    cluster: Option<Chain>,
    ops: BTreeMap<u64, u64>,
}

impl Driver {
    fn c(&mut self) -> Result<&mut Chain, String> {
        self.cluster
            .as_mut()
            .ok_or_else(|| "no cluster yet: start the script with `cluster`".to_string())
    }

    /// Run one directive and return what it printed.
    fn run(&mut self, d: &Directive) -> Result<String, String> {
        if d.name == "cluster" {
            self.cluster = Some(common::cluster(layout(d)?));
            return Ok(String::new());
        }
        let client = d.get_u64("client", 1)?;
        let op =
            (d.name == "put" || d.name == "get").then(|| common::next_op(&mut self.ops, client));
        let c = self.c()?;
        c.observer.lines.clear();
        if let ("put" | "get", Ok(id)) = (d.name.as_str(), node(d, 0)) {
            if !c.is_up(id) {
                return Err(format!("{id} is down: a client request would go nowhere"));
            }
        }
        match d.name.as_str() {
            "put" => {
                let (key, value) = (word(d, 1)?, word(d, 2)?);
                let req = ClientRequest::put(op.expect("a put has an op"), key, value);
                common::invoke(c, node(d, 0)?, req);
            }
            "get" => {
                let req = ClientRequest::get(op.expect("a get has an op"), word(d, 1)?);
                common::invoke(c, node(d, 0)?, req);
            }
            "tick" => {
                for _ in 0..d.get_u64("times", 1)? {
                    c.tick(node(d, 0)?);
                }
            }
            "leases" => leases(c)?,
            "stabilize" => c.deliver_all(),
            "deliver" => deliver(c, d)?,
            "drop" => drop_queued(c, d)?,
            "detect" => detect(c)?,
            "crash" => c.crash(node(d, 0)?),
            "restart" => c.restart(node(d, 0)?),
            "isolate" => c.isolate(node(d, 0)?),
            "heal" => c.heal(),
            "status" => return Ok(status(c)),
            "store" => return Ok(store(c, node(d, 0)?)),
            other => return Err(format!("unknown command `{other}`")),
        }
        Ok(std::mem::take(&mut c.observer.lines).join("\n"))
    }
}

/// The node named by the `k`-th positional word.
fn node(d: &Directive, k: usize) -> Result<NodeId, String> {
    d.pos_u64(k).map(NodeId)
}

/// The `k`-th positional word.
fn word(d: &Directive, k: usize) -> Result<String, String> {
    d.positional
        .get(k)
        .cloned()
        .ok_or_else(|| format!("{}: argument {} is missing", d.name, k + 1))
}

/// Node numbers from `1,2,3` (empty for none).
fn numbers(text: Option<&str>) -> Result<Vec<u64>, String> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|w| w.parse().map_err(|e| format!("`{w}`: {e}")))
        .collect()
}

fn layout(d: &Directive) -> Result<Layout, String> {
    let mut layout = Layout::chain(3);
    layout.chain = numbers(d.get("chain"))?;
    layout.spares = numbers(d.get("spares"))?;
    layout.mode = match d.get("mode").unwrap_or("chain") {
        "chain" => Mode::Chain,
        "craq" => Mode::Craq,
        other => return Err(format!("mode={other}: expected chain or craq")),
    };
    layout.variant = d.get("variant").unwrap_or("correct").parse()?;
    layout.chunk_keys_max = d.get_u64("chunk", 16)? as usize;
    let ids: Vec<u64> = layout.chain.iter().chain(&layout.spares).copied().collect();
    let mut sorted = ids.clone();
    sorted.sort();
    if sorted != (1..=ids.len() as u64).collect::<Vec<_>>() {
        return Err("replicas must be n1..nK, each once: the master is the next id".into());
    }
    let master = NodeId(layout.master());
    layout
        .config(master)
        .validate()
        .map_err(|e| e.to_string())?;
    Ok(layout)
}

/// Every running replica ticks until it sends a heartbeat; then everything is delivered.
fn leases(c: &mut Chain) -> Result<(), String> {
    let master = NodeId(c.ids.len() as u64);
    for id in c.ids.clone() {
        if id == master || !c.is_up(id) {
            continue;
        }
        let sent = |c: &Chain| c.count_sent(id, master, |m| matches!(m, Message::Heartbeat(_)));
        let before = sent(c);
        for _ in 0..ROUNDS_WAITING_MAX {
            c.tick(id);
            if sent(c) > before {
                break;
            }
        }
    }
    c.deliver_all();
    Ok(())
}

/// Round after round, every running node ticks and the network drains, until the master's
/// epoch moves. Heartbeats and their acks are hidden; everything else prints.
fn detect(c: &mut Chain) -> Result<(), String> {
    let master = NodeId(c.ids.len() as u64);
    let epoch = c.node(master).configuration().epoch;
    c.observer.quiet = true;
    for round in 1..=ROUNDS_WAITING_MAX {
        c.run(1);
        if c.node(master).configuration().epoch > epoch {
            c.observer.quiet = false;
            let line = format!("({round} rounds of ticks; heartbeats and leases not shown)");
            c.observer.lines.insert(0, line);
            return Ok(());
        }
    }
    c.observer.quiet = false;
    Err(format!(
        "the master kept epoch {epoch} for {ROUNDS_WAITING_MAX} rounds"
    ))
}

/// Does a queued message match the `from=` / `to=` / `type=` filters?
fn matcher(d: &Directive) -> Result<impl Fn(&Envelope<Message>) -> bool, String> {
    let from = numbers(d.get("from"))?;
    let to = numbers(d.get("to"))?;
    let kind = d.get("type").map(|t| format!("{t}{{"));
    Ok(move |e: &Envelope<Message>| {
        (from.is_empty() || from.contains(&e.from.0))
            && (to.is_empty() || to.contains(&e.to.0))
            && kind
                .as_ref()
                .is_none_or(|k| e.msg.to_string().starts_with(k))
    })
}

/// Deliver the first `n` queued messages that match, each with what it causes.
fn deliver(c: &mut Chain, d: &Directive) -> Result<(), String> {
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
fn drop_queued(c: &mut Chain, d: &Directive) -> Result<(), String> {
    let wanted = matcher(d)?;
    let (dropped, kept): (Vec<_>, Vec<_>) = c.network.drain(..).partition(|e| wanted(e));
    c.network.extend(kept);
    for e in dropped {
        let line = format!("{}→{} drop {} (lost)", e.from, e.to, e.msg);
        c.observer.lines.push(line);
    }
    Ok(())
}

/// One line per node: its place, epoch, progress and lease.
fn status(c: &Chain) -> String {
    let mut lines = Vec::new();
    for (k, node) in c.nodes.iter().enumerate() {
        let id = c.ids[k];
        let down = if c.is_up(id) { "" } else { " (down)" };
        let line = match node {
            ChainNode::Master(m) => format!("{id} master {}", m.configuration()),
            ChainNode::Replica(r) => replica_line(r),
        };
        lines.push(format!("{line}{down}"));
    }
    lines.join("\n")
}

fn replica_line(r: &Replica) -> String {
    let id = r.id();
    let view = r.configuration();
    let place = match () {
        _ if !r.is_member() => "outside",
        _ if view.is_joining(id) => "joining",
        _ if r.is_head() && r.is_tail() => "head+tail",
        _ if r.is_head() => "head",
        _ if r.is_tail() => "tail",
        _ => "middle",
    };
    let s = r.store();
    let lease = if r.read_refusal().is_none() {
        "yes"
    } else {
        "no"
    };
    format!(
        "{id} {place} epoch={} last={} acked={} sent={} waiting_puts={} lease={lease}",
        view.epoch,
        s.last_seq(),
        s.acked_seq(),
        s.sent_len(),
        r.waiting_puts()
    )
}

/// Every key of `id`'s store with its versions, clean or dirty.
fn store(c: &Chain, id: NodeId) -> String {
    let Some(r) = c.node(id).replica() else {
        return format!("{id} is the master: it stores no keys");
    };
    let s = r.store();
    let mut lines = vec![format!(
        "{id} last={} acked={}",
        s.last_seq(),
        s.acked_seq()
    )];
    for (key, versions) in s.iter() {
        let words: Vec<String> = versions
            .iter()
            .map(|v| {
                let state = if s.is_clean(v) { "clean" } else { "dirty" };
                format!("{}={} {state}", v.seq, v.value)
            })
            .collect();
        lines.push(format!("{key}: {}", words.join(", ")));
    }
    lines.join("\n")
}

#[test]
fn every_golden_script_prints_its_expected_effects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut failures = Vec::new();
    let scripts = scripts_in(&dir);
    let chain_scripts = scripts.iter().filter(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.starts_with("chain_")
    });
    let mut ran = 0;
    for script in chain_scripts {
        ran += 1;
        let mut driver = Driver::default();
        if let Err(report) = run_file(script, |d| driver.run(d)) {
            failures.push(report);
        }
    }
    assert!(ran > 0, "no chain_*.txt script in testdata");
    assert!(
        failures.is_empty(),
        "golden scripts differ (GOLDEN_REWRITE=1 to accept the new output):\n{}",
        failures.join("\n")
    );
}
