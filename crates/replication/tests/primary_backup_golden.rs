//! Golden traces: primary-backup scenarios as scripts in
//! `crates/replication/testdata/primary_backup/*.txt`, each command followed by the exact
//! effects it prints (messages, writes, notes, client replies, in the house's one-line
//! `Display`). Change the protocol and the diff shows what a learner would now see.
//! `GOLDEN_REWRITE=1 cargo test -p replication --test primary_backup_golden` rewrites the
//! expected blocks for review in `git diff`.
//!
//! ```text
//!   cluster servers=3 [backups=1] [variant=correct|no-view-ack|read-without-lease] [chunk=K]
//!                          servers n1..nK, the view service is the next id
//!   put N KEY VALUE [client=C] [op=S]   get N KEY [client=C]    a client request to node N
//!                          (op=S: send request S of client C again: a retry)
//!   tick N [times=K]       pings          every running server ticks until it pings; delivered
//!   stabilize              deliver until the network is quiet
//!   deliver [from=A] [to=B] [type=Forward] [n=K]    drop [from=A] [to=B] [type=Probe]
//!   rounds K               K rounds: every running node ticks, deliveries drained (pings hidden)
//!   detect                 rounds until the view service announces a new view (pings hidden)
//!   await-ack              rounds until the view service's view is acknowledged (pings hidden)
//!   crash N   restart N   isolate N   heal   pause N   resume N   status   store N
//! ```
//!
//! `pause N` stops node N (no ticks, its messages lost) with its memory intact; `resume N`
//! gives it back the ticks its clock counted meanwhile (the view service's ticks since the
//! pause), then lets it run. Printed lines: a delivery is `nA→nB Message{..}` with what it
//! caused indented below it; effects are `nB persist Write{..}`, `nB→nC Message{..}` (sent),
//! `nB→nC drop Message{..} (why)`, `nB note: why it ignored something`, `nB output Reply{..}`.
//! A broken invariant or a read that goes back in real time prints a `VIOLATION` line.

mod primary_backup_support;

use std::collections::BTreeMap;
use std::path::Path;

use distributed_core::{Envelope, NodeId};
use primary_backup_support::{self as support, Layout, Pb};
use replication::primary_backup::{Message, PbNode, Server};
use replication::{ClientRequest, OpId};
use testkit::golden::{run_file, scripts_in, Directive};

/// Most rounds `detect` and `await-ack` spend waiting, and ticks `pings` spends: far past any
/// timeout.
const ROUNDS_WAITING_MAX: u64 = 1000;

/// The script's cluster, once `cluster` built it; each client's request count; when each
/// paused node was paused (the view service's ticks).
#[derive(Default)]
struct Driver {
    cluster: Option<Pb>,
    ops: BTreeMap<u64, u64>,
    paused_at: BTreeMap<NodeId, u64>,
}

impl Driver {
    fn c(&mut self) -> Result<&mut Pb, String> {
        self.cluster
            .as_mut()
            .ok_or_else(|| "no cluster yet: start the script with `cluster`".to_string())
    }

    /// Run one directive and return what it printed.
    fn run(&mut self, d: &Directive) -> Result<String, String> {
        if d.name == "cluster" {
            self.cluster = Some(support::cluster(layout(d)?));
            return Ok(String::new());
        }
        let op = self.op_of(d)?;
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
                support::invoke(c, node(d, 0)?, req);
            }
            "get" => {
                let req = ClientRequest::get(op.expect("a get has an op"), word(d, 1)?);
                support::invoke(c, node(d, 0)?, req);
            }
            "tick" => {
                for _ in 0..d.get_u64("times", 1)? {
                    c.tick(node(d, 0)?);
                }
            }
            "pings" => pings(c),
            "stabilize" => c.deliver_all(),
            "deliver" => deliver(c, d)?,
            "drop" => drop_queued(c, d)?,
            "rounds" => quietly(c, |c| c.run(d.pos_u64(0).unwrap_or(1))),
            "detect" => detect(c)?,
            "await-ack" => await_ack(c)?,
            "crash" => support::crash(c, node(d, 0)?),
            "restart" => support::restart(c, node(d, 0)?),
            "isolate" => c.isolate(node(d, 0)?),
            "heal" => c.heal(),
            "pause" | "resume" => return self.pause_or_resume(d),
            "status" => return Ok(status(c)),
            "store" => return Ok(store(c, node(d, 0)?)),
            other => return Err(format!("unknown command `{other}`")),
        }
        Ok(std::mem::take(&mut c.observer.lines).join("\n"))
    }

    /// The request id of a put or get: the client's next, or `op=S` again (a retry).
    fn op_of(&mut self, d: &Directive) -> Result<Option<OpId>, String> {
        if d.name != "put" && d.name != "get" {
            return Ok(None);
        }
        let client = d.get_u64("client", 1)?;
        match d.get("op") {
            Some(_) => Ok(Some(OpId {
                client,
                seq: d.get_u64("op", 0)?,
            })),
            None => Ok(Some(support::next_op(&mut self.ops, client))),
        }
    }

    fn pause_or_resume(&mut self, d: &Directive) -> Result<String, String> {
        let id = node(d, 0)?;
        let now = support::service(self.c()?).ticks();
        if d.name == "pause" {
            self.paused_at.insert(id, now);
            let c = self.c()?;
            c.observer.lines.clear();
            support::pause(c, id);
            return Ok(format!("({id} paused at the view service's tick {now})"));
        }
        let at = self
            .paused_at
            .remove(&id)
            .ok_or_else(|| format!("{id} is not paused"))?;
        let c = self.c()?;
        c.observer.lines.clear();
        support::resume(c, id, now - at);
        Ok(format!(
            "({id} resumes: its clock counted {} ticks meanwhile; it sent nothing while stopped)",
            now - at
        ))
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
    let mut layout = Layout::servers(d.get_u64("servers", 3)?);
    layout.backups = d.get_u64("backups", 1)? as usize;
    layout.variant = d.get("variant").unwrap_or("correct").parse()?;
    layout.chunk_items_max = d.get_u64("chunk", 16)? as usize;
    layout
        .config(layout.view_service())
        .validate()
        .map_err(|e| e.to_string())?;
    Ok(layout)
}

/// Run `f` with pings and their replies hidden.
fn quietly(c: &mut Pb, f: impl FnOnce(&mut Pb)) {
    c.observer.quiet = true;
    f(c);
    c.observer.quiet = false;
}

/// Every running server ticks until it sends a ping; then everything is delivered.
fn pings(c: &mut Pb) {
    let service = support::service_id(c);
    for id in c.ids.clone() {
        if id == service || !c.is_up(id) {
            continue;
        }
        let sent = |c: &Pb| c.count_sent(id, service, |m| matches!(m, Message::Ping(_)));
        let before = sent(c);
        for _ in 0..ROUNDS_WAITING_MAX {
            c.tick(id);
            if sent(c) > before {
                break;
            }
        }
    }
    c.deliver_all();
}

/// Round after round, every running node ticks and the network drains, until `done`.
fn rounds_until(c: &mut Pb, what: &str, done: impl Fn(&Pb) -> bool) -> Result<(), String> {
    c.observer.quiet = true;
    for round in 1..=ROUNDS_WAITING_MAX {
        c.run(1);
        if done(c) {
            c.observer.quiet = false;
            let line = format!("({round} rounds of ticks; pings not shown)");
            c.observer.lines.insert(0, line);
            return Ok(());
        }
    }
    c.observer.quiet = false;
    Err(format!("no {what} within {ROUNDS_WAITING_MAX} rounds"))
}

fn detect(c: &mut Pb) -> Result<(), String> {
    let view = support::service(c).view().num;
    rounds_until(c, "new view", |c| support::service(c).view().num > view)
}

fn await_ack(c: &mut Pb) -> Result<(), String> {
    rounds_until(c, "acknowledgement", |c| support::service(c).is_acked())
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
fn deliver(c: &mut Pb, d: &Directive) -> Result<(), String> {
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
fn drop_queued(c: &mut Pb, d: &Directive) -> Result<(), String> {
    let wanted = matcher(d)?;
    let (dropped, kept): (Vec<_>, Vec<_>) = c.network.drain(..).partition(|e| wanted(e));
    c.network.extend(kept);
    for e in dropped {
        let line = format!("{}→{} drop {} (lost)", e.from, e.to, e.msg);
        c.observer.lines.push(line);
    }
    Ok(())
}

/// One line per node: its role, view and progress.
fn status(c: &Pb) -> String {
    let mut lines = Vec::new();
    for (k, node) in c.nodes.iter().enumerate() {
        let id = c.ids[k];
        let down = if c.is_up(id) {
            ""
        } else {
            " (down: its last state)"
        };
        let line = match node {
            PbNode::ViewService(v) => {
                format!("{id} view-service {} acked={}", v.view(), v.is_acked())
            }
            PbNode::Server(s) => server_line(s),
        };
        lines.push(format!("{line}{down}"));
    }
    lines.join("\n")
}

fn server_line(s: &Server) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" };
    let st = s.store();
    format!(
        "{} {} view={} since={} lineage={} last={} committed={} serves_reads={} ready={} \
         waiting_puts={}",
        s.id(),
        s.role(),
        s.view().num,
        s.view().since,
        st.lineage(),
        st.last_seq(),
        st.committed_seq(),
        yes(s.serves_reads()),
        yes(s.is_ready()),
        s.waiting_puts()
    )
}

/// Every committed register and every logged put of `id`'s store.
fn store(c: &Pb, id: NodeId) -> String {
    let Some(s) = c.node(id).server() else {
        return format!("{id} is the view service: it stores no registers");
    };
    let st = s.store();
    let mut lines = vec![format!(
        "{id} last={} committed={} lineage={}",
        st.last_seq(),
        st.committed_seq(),
        st.lineage()
    )];
    for (key, stored) in st.values() {
        lines.push(format!("{key}={} (seq {})", stored.value, stored.seq));
    }
    for (seq, r) in st.log_after(st.committed_seq()) {
        lines.push(format!("log {seq}: {}={} ({})", r.key, r.value, r.op));
    }
    lines.join("\n")
}

#[test]
fn every_golden_script_prints_its_expected_effects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/primary_backup");
    let mut failures = Vec::new();
    let scripts = scripts_in(&dir);
    for script in &scripts {
        let mut driver = Driver::default();
        if let Err(report) = run_file(script, |d| driver.run(d)) {
            failures.push(report);
        }
    }
    assert!(
        failures.is_empty(),
        "golden scripts differ (GOLDEN_REWRITE=1 to accept the new output):\n{}",
        failures.join("\n")
    );
}
