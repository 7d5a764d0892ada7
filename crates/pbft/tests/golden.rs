//! Golden traces: PBFT scenarios as scripts in `crates/pbft/testdata/*.txt`, each command
//! followed by the exact effects it prints. Read a script next to the paper; change PBFT and
//! the diff shows what a learner would now see. `GOLDEN_REWRITE=1 cargo test -p pbft --test
//! golden` rewrites the expected blocks for review in `git diff`.
//!
//! ```text
//!   cluster [k=K] [window=L] [retransmit=TICKS]
//!           [variant=correct|commit-quorum-2f|view-change-drops-prepared]
//!   request N client=C ts=T op=TEXT     a client's request arrives at replica N
//!   stabilize             deliver until the network is quiet
//!   checkpoints           the hosts answer every CheckpointDue they owe
//!   deliver [from=A] [to=B] [kind=K] [n=K]   the first K queued messages that match
//!   drop [from=A] [to=B] [kind=K]            remove matching queued messages (lost)
//!   tick N [times=K]      tick-all [times=K]
//!   forge-pre-prepare from=N to=A,B view=V seq=S client=C ts=T op=TEXT
//!                         replica N (Byzantine, played by the script) signs a pre-prepare
//!   crash N   restart N   isolate N   heal   status   log N
//! ```
//!
//! Printed lines: a delivery is `nA→nB Message{..}` with what it caused indented below it;
//! effects are `nB persist Write{..}`, `nB→nC Message{..}` (sent), `nB→nC drop Message{..}
//! (cut)`, `nB note: why it ignored something`, `nB output Output{..}`. The host checks
//! agreement on every Execute and prints `VIOLATION` where it breaks.

use std::collections::BTreeMap;
use std::path::Path;

use distributed_core::{Envelope, NodeId, SeededRng};
use pbft::{
    Bytes, Config, Digest, Disk, Input, Keyring, Message, Output, Pbft, PrePrepare, Request,
    Variant, Write,
};
use testkit::golden::{run_file, scripts_in, Directive};
use testkit::{Cluster, Dropped, Observer};

/// The key seed of every scripted cluster.
const KEY_SEED: u64 = 42;

/// Prints every effect as one line, keeps each replica's state machine (the ops it applied)
/// to answer checkpoints, and checks agreement on every execution.
#[derive(Default)]
struct Transcript {
    lines: Vec<String>,
    /// True between a delivery and the end of the event it caused.
    in_delivery: bool,
    /// Each replica's state: the ops applied, as `seq:op;`.
    state: BTreeMap<NodeId, Vec<u8>>,
    /// Checkpoints owed: (replica, seq, snapshot).
    owed: Vec<(NodeId, u64, Bytes)>,
    /// The digest first executed at each seq.
    agreed: BTreeMap<u64, Digest>,
}

impl Transcript {
    fn push(&mut self, line: String) {
        let indent = if self.in_delivery { "  " } else { "" };
        self.lines.push(format!("{indent}{line}"));
    }
    fn executed(&mut self, node: NodeId, seq: u64, digest: Digest) {
        let first = *self.agreed.entry(seq).or_insert(digest);
        if first != digest {
            self.push(format!(
                "VIOLATION agreement: {node} executed {digest} at seq {seq}, where {first} was"
            ));
        }
    }
}

impl Observer<Pbft> for Transcript {
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
    fn on_queue(&mut self, env: &Envelope<Message>) {
        self.push(env.to_string());
    }
    fn on_note(&mut self, node: NodeId, note: &str) {
        self.push(format!("{node} note: {note}"));
    }
    fn on_output(&mut self, node: NodeId, output: Output) {
        self.push(format!("{node} output {output}"));
        let state = self.state.entry(node).or_default();
        match output {
            Output::Execute { seq, request, .. } => {
                state.extend_from_slice(format!("{seq}:").as_bytes());
                state.extend_from_slice(&request.op);
                state.push(b';');
                self.executed(node, seq, request.digest());
            }
            Output::Skipped { seq } => self.executed(node, seq, Digest::NULL),
            Output::CheckpointDue { seq } => {
                let snapshot = Bytes::from(state.clone());
                self.owed.push((node, seq, snapshot));
            }
            Output::RestoreState { state: s, .. } => *state = s.to_vec(),
        }
    }
    fn after_event(&mut self, _node: NodeId, _state: &Pbft) {
        self.in_delivery = false;
    }
    fn on_restart(&mut self, node: NodeId, _state: &Pbft, disk: &Disk) {
        self.state.insert(node, disk.stable.state.to_vec());
    }
}

type Golden = Cluster<Pbft, Transcript>;

/// The script's cluster, once `cluster` built it.
#[derive(Default)]
struct Driver {
    cluster: Option<Golden>,
}

impl Driver {
    fn c(&mut self) -> Result<&mut Golden, String> {
        self.cluster
            .as_mut()
            .ok_or_else(|| "no cluster yet: start the script with `cluster`".to_string())
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
            "request" => {
                let r = request(d)?;
                c.input(node(d, 0)?, Input::Request(r));
            }
            "stabilize" => c.deliver_all(),
            "checkpoints" => answer_checkpoints(c),
            "deliver" => deliver(c, d)?,
            "drop" => drop_queued(c, d)?,
            "tick" => {
                for _ in 0..d.get_u64("times", 1)? {
                    c.tick(node(d, 0)?);
                }
            }
            "tick-all" => {
                for _ in 0..d.get_u64("times", 1)? {
                    c.tick_all();
                }
            }
            "forge-pre-prepare" => forge_pre_prepare(c, d)?,
            "crash" => c.crash(node(d, 0)?),
            "restart" => c.restart(node(d, 0)?),
            "isolate" => c.isolate(node(d, 0)?),
            "heal" => c.heal(),
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

fn build(d: &Directive) -> Result<Golden, String> {
    let k = d.get_u64("k", 16)?;
    let window = d.get_u64("window", 2 * k)?;
    let default = Config::new(NodeId(1), Vec::new(), KEY_SEED).retransmit_ticks;
    let retransmit = d.get_u64("retransmit", default)?;
    let variant = match d.get("variant").unwrap_or("correct") {
        "correct" => Variant::Correct,
        "commit-quorum-2f" => Variant::CommitQuorum2f,
        "view-change-drops-prepared" => Variant::ViewChangeDropsPrepared,
        other => return Err(format!("variant={other}: unknown")),
    };
    let factory = move |id: NodeId, disk: &Disk, rng: SeededRng| {
        let mut config = Config::new(id, (1..=4).map(NodeId).collect(), KEY_SEED);
        config.checkpoint_interval = k;
        config.log_window = window;
        config.request_timeout_ticks = 5;
        config.retransmit_ticks = retransmit;
        config.variant = variant;
        Pbft::new(config, disk, rng).expect("a valid config and disk")
    };
    let mut c = Cluster::new(4, 1, Transcript::default(), Box::new(factory));
    c.keep_notes(true);
    Ok(c)
}

fn request(d: &Directive) -> Result<Request, String> {
    let op = d.get("op").unwrap_or("").as_bytes().to_vec();
    Ok(Request::new(
        d.get_u64("client", 1)?,
        d.get_u64("ts", 1)?,
        op,
    ))
}

/// Every host answers the checkpoints it owes, with its state as it was at that seq.
fn answer_checkpoints(c: &mut Golden) {
    for (node, seq, state) in std::mem::take(&mut c.observer.owed) {
        if c.is_up(node) {
            c.observer
                .push(format!("{node} host Checkpoint{{seq={seq}}}"));
            c.input(node, Input::Checkpoint { seq, state });
        }
    }
}

/// Does a queued message match the `from=` / `to=` / `kind=` filters?
fn matcher(d: &Directive) -> Result<impl Fn(&Envelope<Message>) -> bool, String> {
    let from = d.get("from").map(id_list).transpose()?;
    let to = d.get("to").map(id_list).transpose()?;
    let kind = d.get("kind").map(str::to_string);
    Ok(move |e: &Envelope<Message>| {
        from.as_ref().is_none_or(|f| f.contains(&e.from))
            && to.as_ref().is_none_or(|t| t.contains(&e.to))
            && kind
                .as_ref()
                .is_none_or(|k| pbft::KINDS[e.msg.kind()] == k.as_str())
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

/// A Byzantine replica, played by the script with its own signer only, sends a pre-prepare.
fn forge_pre_prepare(c: &mut Golden, d: &Directive) -> Result<(), String> {
    let from = NodeId(d.get_u64("from", 1)?);
    let signer = Keyring::new(KEY_SEED).signer(from);
    let to = id_list(d.get("to").ok_or("forge-pre-prepare: to= is missing")?)?;
    let pp = PrePrepare::new(
        d.get_u64("view", 0)?,
        d.get_u64("seq", 1)?,
        Some(request(d)?),
        &signer,
    );
    for to in to {
        c.deliver(Envelope {
            from,
            to,
            msg: pp.clone().into(),
        });
    }
    Ok(())
}

/// One line per replica: view, status, watermark, execution, history, log size.
fn status(c: &Golden) -> String {
    let mut lines = Vec::new();
    for (k, r) in c.nodes.iter().enumerate() {
        let id = c.ids[k];
        let down = if c.is_up(id) { "" } else { " (down)" };
        let role = if r.primary() == id {
            "primary"
        } else {
            "backup"
        };
        let changing = if r.is_view_changing() {
            " changing"
        } else {
            ""
        };
        lines.push(format!(
            "{id} view={} {role}{changing} h={} executed={} history={} log={}{down}",
            r.view(),
            r.low_watermark(),
            r.last_executed(),
            r.history(),
            r.log_len()
        ));
    }
    lines.join("\n")
}

/// What replica `id` committed, seq by seq, above its low watermark.
fn log(c: &Golden, id: NodeId) -> String {
    let r = c.node(id);
    let mut lines = vec![format!(
        "{id} h={} executed={}",
        r.low_watermark(),
        r.last_executed()
    )];
    let first = r.low_watermark() + 1;
    for seq in first..first + r.config().log_window {
        if let Some(pp) = r.committed(seq) {
            let what = match &pp.request {
                Some(req) => String::from_utf8_lossy(&req.op).into_owned(),
                None => "null".to_string(),
            };
            lines.push(format!(
                "seq={seq} view={} digest={} {what}",
                pp.view, pp.digest
            ));
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
