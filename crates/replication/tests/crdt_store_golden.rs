//! Golden traces: CRDT store scenarios as scripts in `crates/replication/testdata/crdt_store/`,
//! each command followed by the exact effects it prints (messages, writes, notes, replies, in
//! the house's one-line `Display`). `GOLDEN_REWRITE=1 cargo test -p replication --test
//! crdt_store_golden` rewrites the expected blocks for review in `git diff`.
//!
//! ```text
//!   cluster nodes=3 [resolution=mv|lww] [variant=NAME] [peers=round-robin|random] [push=K]
//!           [gossip=TICKS] [digest=K] [sync=K] [offset=NODE:TICKS]
//!   put N KEY VALUE [client=C]   a put at node N by client C (default 1; ops cC.1, cC.2, …)
//!   get N KEY [client=C]         a get at node N
//!   tick N [times=K]             tick node N K times    run [ticks=K]  K × (tick all, stabilize)
//!   stabilize                    deliver until the network is quiet
//!   deliver [from=A] [to=B] [type=Push] [n=K]   the first K queued that match
//!   drop [from=A] [to=B] [type=Sync]            remove matching queued (lost)
//!   partition 1 2,3     isolate N     heal     crash N     restart N
//!   registers N         node N's values, key by key      state N   its key states
//! ```
//!
//! Printed lines: a delivery is `nA→nB Message{..}` with what it caused indented below it;
//! `nB persist Write{..}`, `nB→nC Message{..}` (sent), `nB→nC drop Message{..} (cut)`,
//! `nB note: why`, `nB output Reply{..}`. After every command the cross-node invariants run.

mod crdt_store_support;

use std::collections::BTreeMap;
use std::path::Path;

use distributed_core::{Envelope, NodeId, SeededRng};
use replication::crdt_store::{
    check_invariants, Config, CrdtStore, Disk, Message, PeerChoice, Resolution, Variant, Write,
};
use replication::{ClientReply, ClientRequest, OpId};
use testkit::golden::{run_file, scripts_in, Directive};
use testkit::{Cluster, Dropped, Observer};

/// Prints every effect as one line, indenting what a delivery caused under it.
#[derive(Default)]
struct Transcript {
    lines: Vec<String>,
    /// True between a delivery and the end of the event it caused.
    in_delivery: bool,
}

impl Transcript {
    fn push(&mut self, line: String) {
        let indent = if self.in_delivery { "  " } else { "" };
        self.lines.push(format!("{indent}{line}"));
    }
}

impl Observer<CrdtStore> for Transcript {
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
        crdt_store_support::assert_states_are_durable(disk, env);
    }
    fn on_queue(&mut self, env: &Envelope<Message>) {
        self.push(env.to_string());
    }
    fn on_note(&mut self, node: NodeId, note: &str) {
        self.push(format!("{node} note: {note}"));
    }
    fn on_output(&mut self, node: NodeId, output: ClientReply) {
        self.push(format!("{node} output {output}"));
    }
    fn after_event(&mut self, _node: NodeId, _state: &CrdtStore) {
        self.in_delivery = false;
    }
}

type Golden = Cluster<CrdtStore, Transcript>;

/// The script's cluster, once `cluster` built it, and each client's next sequence number.
#[derive(Default)]
struct Driver {
    cluster: Option<Golden>,
    seqs: BTreeMap<u64, u64>,
}

impl Driver {
    fn c(&mut self) -> Result<&mut Golden, String> {
        self.cluster
            .as_mut()
            .ok_or_else(|| "no cluster yet: start the script with `cluster nodes=3`".to_string())
    }

    fn next_op(&mut self, d: &Directive) -> Result<OpId, String> {
        let client = d.get_u64("client", 1)?;
        let seq = self.seqs.entry(client).or_insert(0);
        *seq += 1;
        Ok(OpId { client, seq: *seq })
    }

    /// Run one directive and return what it printed.
    fn run(&mut self, d: &Directive) -> Result<String, String> {
        let printed = match d.name.as_str() {
            "cluster" => {
                self.cluster = Some(build(d)?);
                return Ok(String::new());
            }
            "put" => {
                let op = self.next_op(d)?;
                let value = word(d, 2)?;
                let req = ClientRequest::put(op, word(d, 1)?, value);
                self.c()?.input(node(d, 0)?, req);
                self.take_lines()
            }
            "get" => {
                let op = self.next_op(d)?;
                let req = ClientRequest::get(op, word(d, 1)?);
                self.c()?.input(node(d, 0)?, req);
                self.take_lines()
            }
            _ => self.run_cluster_command(d)?,
        };
        let c = self.c()?;
        let nodes: Vec<&CrdtStore> = c.nodes.iter().collect();
        check_invariants(&nodes).map_err(|why| format!("invariant broken: {why}"))?;
        Ok(printed)
    }

    fn take_lines(&mut self) -> String {
        let c = self.cluster.as_mut().expect("built");
        std::mem::take(&mut c.observer.lines).join("\n")
    }

    fn run_cluster_command(&mut self, d: &Directive) -> Result<String, String> {
        let c = self.c()?;
        c.observer.lines.clear();
        match d.name.as_str() {
            "registers" => return Ok(registers(c, node(d, 0)?)),
            "state" => return Ok(states(c, node(d, 0)?)),
            "tick" => {
                for _ in 0..d.get_u64("times", 1)? {
                    c.tick(node(d, 0)?);
                }
            }
            "run" => c.run(d.get_u64("ticks", 1)?),
            "stabilize" => c.deliver_all(),
            "deliver" => deliver(c, d)?,
            "drop" => drop_queued(c, d)?,
            "partition" => partition(c, d)?,
            "isolate" => c.isolate(node(d, 0)?),
            "heal" => c.heal(),
            "crash" => c.crash(node(d, 0)?),
            "restart" => c.restart(node(d, 0)?),
            other => return Err(format!("unknown command `{other}`")),
        }
        Ok(self.take_lines())
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

/// Node ids from `1,2,3`.
fn id_list(text: &str) -> Result<Vec<NodeId>, String> {
    text.split(',')
        .map(|w| w.parse().map(NodeId).map_err(|e| format!("`{w}`: {e}")))
        .collect()
}

/// Node `id`'s config from the `cluster` directive.
fn config(d: &Directive, id: NodeId) -> Result<Config, String> {
    let nodes = d.get_u64("nodes", 3)?;
    let mut c = Config::new(id, (1..=nodes).map(NodeId).collect());
    if let Some(name) = d.get("resolution") {
        c.resolution = Resolution::parse(name).ok_or(format!("resolution={name}: unknown"))?;
    }
    if let Some(name) = d.get("variant") {
        let v = Variant::parse(name).ok_or_else(|| format!("variant={name}: unknown"))?;
        c = c.with_variant(v);
    }
    if let Some(name) = d.get("peers") {
        c.peer_choice = PeerChoice::parse(name).ok_or(format!("peers={name}: unknown"))?;
    }
    c.push_fanout = d.get_u64("push", c.push_fanout as u64)? as usize;
    c.gossip_interval_ticks = d.get_u64("gossip", c.gossip_interval_ticks)?;
    c.digest_keys_max = d.get_u64("digest", c.digest_keys_max as u64)? as usize;
    c.sync_keys_max = d.get_u64("sync", c.sync_keys_max as u64)? as usize;
    if let Some((n, ticks)) = d.get("offset").and_then(|o| o.split_once(':')) {
        if n.parse() == Ok(id.0) {
            c.physical_clock_offset_ticks = ticks.parse().map_err(|e| format!("offset: {e}"))?;
        }
    }
    Ok(c)
}

fn build(d: &Directive) -> Result<Golden, String> {
    config(d, NodeId(1))?
        .validate()
        .map_err(|e| e.to_string())?;
    let directive = d.clone();
    let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
        let c = config(&directive, id).expect("parsed once already");
        CrdtStore::new(c, disk, rng).expect("validated")
    };
    let nodes = d.get_u64("nodes", 3)?;
    let mut c = Cluster::new(nodes, 1, Transcript::default(), Box::new(factory));
    c.keep_notes(true);
    Ok(c)
}

/// `n1 x=[a b]`, one key per line.
fn registers(c: &Golden, id: NodeId) -> String {
    let lines: Vec<String> = c
        .node(id)
        .registers()
        .into_iter()
        .map(|(k, vs)| format!("{id} {k}=[{}]", vs.join(" ")))
        .collect();
    if lines.is_empty() {
        return format!("{id} holds nothing");
    }
    lines.join("\n")
}

/// `n1 x=[a@n1:1]{n1:1} sessions=[..]`, one key per line.
fn states(c: &Golden, id: NodeId) -> String {
    let lines: Vec<String> = c
        .node(id)
        .states()
        .map(|(k, s)| format!("{id} {k}={s}"))
        .collect();
    if lines.is_empty() {
        return format!("{id} holds nothing");
    }
    lines.join("\n")
}

/// Does a queued message match the `from=` / `to=` / `type=` filters?
fn matcher(d: &Directive) -> Result<impl Fn(&Envelope<Message>) -> bool, String> {
    let from = d.get("from").map(id_list).transpose()?;
    let to = d.get("to").map(id_list).transpose()?;
    let kind = d.get("type").map(|t| format!("{t}{{"));
    Ok(move |e: &Envelope<Message>| {
        from.as_ref().is_none_or(|f| f.contains(&e.from))
            && to.as_ref().is_none_or(|t| t.contains(&e.to))
            && kind
                .as_ref()
                .is_none_or(|k| e.msg.to_string().starts_with(k))
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

/// `partition 1 2,3`: cut every link between different groups.
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

#[test]
fn every_crdt_store_golden_script_prints_its_expected_effects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/crdt_store");
    let scripts = scripts_in(&dir);
    assert!(!scripts.is_empty(), "the scripts are in {}", dir.display());
    let mut failures = Vec::new();
    for script in scripts {
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
