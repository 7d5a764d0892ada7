//! Golden traces: Dynamo scenarios as scripts in `crates/replication/testdata/quorum_*.txt`,
//! each command followed by the exact effects it prints (messages, writes, notes, replies, in
//! the house's one-line `Display`). Read a script next to the paper; change the protocol and
//! the diff shows what a learner would now see. `GOLDEN_REWRITE=1 cargo test -p replication
//! --test quorum_golden` rewrites the expected blocks for review in `git diff`.
//!
//! ```text
//!   cluster nodes=4 [n=3] [r=2] [w=2] [resolution=dvv|lww] [variant=NAME] [sloppy=false]
//!           [offset=NODE:TICKS]          a node's physical clock starts TICKS ahead
//!   ring                  every range's home nodes and fallbacks
//!   home KEY              the key's range, home nodes and fallbacks
//!   put N KEY VALUE       a client put at node N (ops are c1.1, c1.2, … in script order)
//!   get N KEY             a client get at node N
//!   tick N [times=K]      tick node N K times          run [rounds=K]  K × (tick all, stabilize)
//!   stabilize             deliver until the network is quiet
//!   deliver [from=A] [to=B] [type=Replicate] [n=K]   the first K queued that match
//!   drop [from=A] [to=B] [type=Fetch]                remove matching queued (lost)
//!   partition 1,2 3,4     isolate N     heal     crash N     restart N
//!   store N               node N's versions and hints
//!   validate n=3 r=1 w=1 [variant=NAME]   what Config::validate says
//! ```
//!
//! Printed lines: a delivery is `nA→nB Message{..}` with what it caused indented below it;
//! `nB persist Write{..}`, `nB→nC Message{..}` (sent), `nB→nC drop Message{..} (cut)`,
//! `nB note: why it ignored something`, `nB output Reply{..}`.

mod quorum_support;

use std::path::Path;

use distributed_core::{Envelope, NodeId, SeededRng};
use replication::quorum::{Config, Disk, Message, Quorum, Resolution, Variant, Write};
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

impl Observer<Quorum> for Transcript {
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
        quorum_support::assert_acks_are_durable(disk, env);
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
    fn after_event(&mut self, _node: NodeId, _state: &Quorum) {
        self.in_delivery = false;
    }
}

type Golden = Cluster<Quorum, Transcript>;

/// The script's cluster, once `cluster` built it, and the next op's sequence number.
#[derive(Default)]
struct Driver {
    cluster: Option<Golden>,
    seq: u64,
}

impl Driver {
    fn c(&mut self) -> Result<&mut Golden, String> {
        self.cluster
            .as_mut()
            .ok_or_else(|| "no cluster yet: start the script with `cluster nodes=3`".to_string())
    }

    fn next_op(&mut self) -> OpId {
        self.seq += 1;
        OpId {
            client: 1,
            seq: self.seq,
        }
    }

    /// Run one directive and return what it printed.
    fn run(&mut self, d: &Directive) -> Result<String, String> {
        match d.name.as_str() {
            "cluster" => {
                self.cluster = Some(build(d)?);
                return Ok(String::new());
            }
            "validate" => {
                return Ok(match config(d, NodeId(1))?.validate() {
                    Ok(()) => "valid".to_string(),
                    Err(e) => e.to_string(),
                })
            }
            "put" => {
                let op = self.next_op();
                let value = d.positional.get(2).cloned().unwrap_or_default();
                let req = ClientRequest::put(op, word(d, 1)?, value);
                self.c()?.input(node(d, 0)?, req);
            }
            "get" => {
                let op = self.next_op();
                let req = ClientRequest::get(op, word(d, 1)?);
                self.c()?.input(node(d, 0)?, req);
            }
            _ => return self.run_cluster_command(d),
        }
        Ok(self.take_lines())
    }

    fn take_lines(&mut self) -> String {
        let c = self.cluster.as_mut().expect("built");
        std::mem::take(&mut c.observer.lines).join("\n")
    }

    fn run_cluster_command(&mut self, d: &Directive) -> Result<String, String> {
        let c = self.c()?;
        c.observer.lines.clear();
        match d.name.as_str() {
            "ring" => return Ok(c.nodes[0].ring().to_string()),
            "home" => return Ok(home(c, word(d, 0)?)),
            "store" => return Ok(store(c, node(d, 0)?)),
            "tick" => {
                for _ in 0..d.get_u64("times", 1)? {
                    c.tick(node(d, 0)?);
                }
            }
            "run" => c.run(d.get_u64("rounds", 1)?),
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

/// Node `id`'s config from the directive's `nodes= n= r= w= resolution= variant= sloppy=
/// offset=`, unvalidated.
fn config(d: &Directive, id: NodeId) -> Result<Config, String> {
    let nodes = d.get_u64("nodes", 3)?;
    let mut c = Config::new(id, (1..=nodes).map(NodeId).collect());
    if let Some(name) = d.get("variant") {
        let v = Variant::parse(name).ok_or_else(|| format!("variant={name}: unknown"))?;
        c = c.with_variant(v);
    }
    c.replicas = d.get_u64("n", c.replicas as u64)? as usize;
    c.read_quorum = d.get_u64("r", c.read_quorum as u64)? as usize;
    c.write_quorum = d.get_u64("w", c.write_quorum as u64)? as usize;
    match d.get("resolution") {
        None => {}
        Some("dvv") => c.resolution = Resolution::Dvv,
        Some("lww") => c.resolution = Resolution::Lww,
        Some(other) => return Err(format!("resolution={other}: expected dvv or lww")),
    }
    c.sloppy_quorum = d.get("sloppy") != Some("false");
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
    let factory = move |id: NodeId, disk: &Disk, _rng: SeededRng| {
        let c = config(&directive, id).expect("parsed once already");
        Quorum::new(c, disk).expect("validated")
    };
    let nodes = d.get_u64("nodes", 3)?;
    let mut c = Cluster::new(nodes, 1, Transcript::default(), Box::new(factory));
    c.keep_notes(true);
    Ok(c)
}

/// `x: r2 home=[n1 n3 n2] fallbacks=[n4]`.
fn home(c: &Golden, key: String) -> String {
    let ring = c.nodes[0].ring();
    let range = ring.place(&key).range;
    let names = |ns: &[NodeId]| {
        ns.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "{key}: r{range} home=[{}] fallbacks=[{}]",
        names(ring.home(range)),
        names(ring.fallbacks(range))
    )
}

/// Node `id`'s stored versions and hints, one per line.
fn store(c: &Golden, id: NodeId) -> String {
    let q = c.node(id);
    let mut lines: Vec<String> = q.stored().map(|(k, v)| format!("{id} {k}={v}")).collect();
    for (owner, key, hint, v) in q.hinted() {
        lines.push(format!("{id} hint {hint} for {owner}: {key}={v}"));
    }
    if lines.is_empty() {
        lines.push(format!("{id} holds nothing"));
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

#[test]
fn every_quorum_golden_script_prints_its_expected_effects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let scripts: Vec<_> = scripts_in(&dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("quorum_"))
        })
        .collect();
    assert!(
        !scripts.is_empty(),
        "the quorum scripts are in {}",
        dir.display()
    );
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
