//! One RESP client connection: parse pipelined commands, keep the connection's state (normal,
//! in a transaction, subscribed), hand kv commands to the node task, answer in order.
//!
//! ```text
//!   socket ──read──► parse_frame* ──► interpret ──► state machine below ──► Slot ──► writer.rs
//!
//!                MULTI                           SUBSCRIBE / PSUBSCRIBE (≥ 1 subscription)
//!     ┌──────┐ ───────► ┌───────┐       ┌──────┐ ─────────────────────► ┌────────────┐
//!     │normal│          │ multi │       │normal│                        │ subscribed │
//!     └──────┘ ◄─────── └───────┘       └──────┘ ◄───────────────────── └────────────┘
//!        EXEC / DISCARD / RESET           (P)UNSUBSCRIBE to 0 subscriptions, RESET
//!
//!   normal      kv commands ──► Event::Client (a read, or a write in the session) ──► Wait
//!               INFO ──► Event::Status; connection commands ──► answered here
//!               BLPOP… ──► blocking.rs: tries, parks, retries; nothing else read meanwhile
//!               WATCH k… ──► DISTRIBUTED.INDEX through the read path ──► remembered
//!   multi       kv commands and answerable connection commands ──► +QUEUED (transaction.rs)
//!               refused ones (unknown, arity) ──► their error, and EXEC will abort
//!               EXEC ──► one Body::Exec request in the session (one log entry)
//!   subscribed  RESP2: only (P)(UN)SUBSCRIBE, PING, QUIT, RESET; RESP3: everything
//!               messages arrive through the mailbox (pubsub.rs), between replies
//! ```
//!
//! Both states can hold at once on RESP3 (a subscribed connection may run MULTI); WATCH is
//! remembered in any state until EXEC, DISCARD, UNWATCH or RESET. `READONLY` (Redis Cluster's
//! command for reading from replicas) switches this connection's reads to the local state
//! machine: fast, served by any node, and possibly stale; `READWRITE` switches back.
//!
//! Ordering rules (session.rs): replies leave in the order commands arrived (a bounded FIFO of
//! `PIPELINE_REPLIES_MAX` slots to the writer); a switch between reads and writes waits for
//! everything before it to be answered (`Order`), so a pipelined GET reads the SET before it.
//! Every slot, whatever its kind, counts once in `Order`'s `pushed` and the writer's
//! `answered`. The time from a command's arrival to its reply being ready goes to
//! `request_duration_seconds{command}`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::BytesMut;
use kv::{Body, Command, Request};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf as ReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, warn};

use crate::clients::command::{interpret, needs_no_session, Action, ConnOp};
use crate::clients::parked::Parked;
use crate::clients::pubsub::{Change, Hub, Mailbox, Subscriptions};
use crate::clients::registry::{self, hello_reply, Registry};
use crate::clients::resp::{bulk_bytes_wanted, parse_frame, Frame, Limits, Proto};
use crate::clients::session::{shutting_down, Order, Session};
use crate::clients::settings::Settings;
use crate::clients::table::{self, allowed_when_subscribed, command_name, is_control, InMulti};
use crate::clients::transaction::{Multi, Plan, Queued, Shape, Watch};
use crate::clients::writer::{client_reply, Slot, Writer};
use crate::config::NodeConfig;
use crate::event::Event;
use crate::ops::metrics::Metrics;

/// Most replies one connection may have outstanding; a client pipelining more waits.
const PIPELINE_REPLIES_MAX: usize = 1024;

/// What every connection of one node shares.
#[derive(Clone)]
pub struct Clients {
    /// The node task's inbox.
    pub(crate) events: mpsc::Sender<Event>,
    /// Frame bounds.
    limits: Limits,
    /// kv's bounds, which a transaction and a watch must fit.
    kv_limits: kv::Limits,
    /// The high 32 bits of every client id of this process (node and boot nonce).
    id_prefix: u64,
    /// Connections accepted so far: the low 32 bits of the client id.
    accepted: Arc<AtomicU64>,
    /// Connection counts, request latencies, errors.
    pub(crate) metrics: Arc<Metrics>,
    /// This node's subscriptions; the node task publishes into it.
    pub(crate) hub: Arc<Hub>,
    /// This node's clients parked by blocking commands; the node task wakes them.
    pub(crate) parked: Arc<Parked>,
    /// Every open connection, for CLIENT LIST.
    registry: Arc<Registry>,
    /// What CONFIG GET answers.
    settings: Arc<Settings>,
    /// This node's id, to tell HELLO whether it leads (`metrics.leader`).
    node: u64,
}

/// What one connection's reader remembers between commands.
pub(crate) struct Conn {
    /// The connection's number on this node (CLIENT ID), its key in the hub and registry.
    pub(crate) id: u64,
    /// Its CLIENT LIST entry.
    pub(crate) entry: registry::Entry,
    /// The connection's current session, shared with the writer (which may replace it).
    pub(crate) session: Arc<Mutex<Session>>,
    /// Read/write switch ordering.
    pub(crate) order: Order,
    /// True after READONLY: reads are served locally, possibly stale.
    pub(crate) readonly: bool,
    /// The RESP version of the commands read so far (the writer switches in reply order).
    pub(crate) proto: Proto,
    /// The open transaction, between MULTI and EXEC/DISCARD.
    pub(crate) multi: Option<Multi>,
    /// What WATCH remembers.
    pub(crate) watch: Option<Watch>,
    /// Channels and patterns subscribed to.
    pub(crate) subs: Subscriptions,
}

impl Clients {
    /// Client ids for node `config.id`, with `nonce` telling this boot from earlier ones.
    pub fn new(
        events: mpsc::Sender<Event>,
        config: &NodeConfig,
        nonce: u64,
        metrics: Arc<Metrics>,
        hub: Arc<Hub>,
        parked: Arc<Parked>,
    ) -> Clients {
        let node = config.id.0;
        let id_prefix = ((node & 0xff) << 56) | ((nonce & 0xff_ffff) << 32);
        let settings = Arc::new(Settings::new(config, Arc::clone(&hub)));
        Clients {
            events,
            limits: config.resp_limits(),
            kv_limits: config.replica_config().kv.limits,
            id_prefix,
            accepted: Arc::new(AtomicU64::new(0)),
            metrics,
            hub,
            registry: Arc::new(Registry::new(Arc::clone(&parked))),
            parked,
            settings,
            node,
        }
    }

    /// Accept connections forever.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    let this = self.clone();
                    self.metrics.client_connections_total.inc();
                    self.metrics.client_connections.inc();
                    tokio::spawn(async move {
                        if let Err(e) = this.connection(stream, addr).await {
                            debug!("client {addr}: {e}");
                        }
                        this.metrics.client_connections.dec();
                    });
                }
                Err(e) => {
                    warn!("client accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// A client id no connection of this process has used (a new session), and its counter.
    pub(crate) fn next_client_id(&self) -> (u64, u64) {
        let n = self.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        (self.id_prefix | (n & 0xffff_ffff), n)
    }

    async fn connection(&self, stream: TcpStream, addr: SocketAddr) -> std::io::Result<()> {
        let _ = stream.set_nodelay(true);
        let laddr = stream.local_addr()?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let (client_id, id) = self.next_client_id();
        let (mut rd, wr) = stream.into_split();
        let (slots, slots_rx) = mpsc::channel(PIPELINE_REPLIES_MAX);
        let session = Arc::new(Mutex::new(Session { client_id, seq: 0 }));
        let (answered_tx, answered) = watch::channel(0);
        let (mailbox, backlog, pushes) = Mailbox::new();
        let writer = Writer {
            wr,
            clients: self.clone(),
            session: Arc::clone(&session),
            answered: answered_tx,
            conn: id,
            mailbox,
            backlog,
            pushes,
            proto: Proto::Resp2,
            out: BytesMut::with_capacity(16 << 10),
            replies: Default::default(),
        };
        let writer = tokio::spawn(writer.run(slots_rx));
        let mut conn = Conn {
            id,
            entry: self.registry.join(id, addr, laddr, fd),
            session,
            order: Order {
                last_was_read: None,
                pushed: 0,
                answered,
            },
            readonly: false,
            proto: Proto::Resp2,
            multi: None,
            watch: None,
            subs: Subscriptions::default(),
        };
        let result = self.read_commands(&mut rd, &slots, &mut conn).await;
        self.registry.leave(id);
        self.parked.done(id);
        drop(slots);
        let written = writer.await.unwrap_or(Ok(()));
        result.and(written)
    }

    /// Parse and dispatch until the client closes, a frame is not RESP, or a slot closes.
    async fn read_commands(
        &self,
        rd: &mut ReadHalf,
        slots: &mpsc::Sender<Slot>,
        conn: &mut Conn,
    ) -> std::io::Result<()> {
        let mut buf = BytesMut::with_capacity(16 << 10);
        loop {
            loop {
                let slot = match parse_frame(&mut buf, &self.limits) {
                    Ok(None) => break,
                    Ok(Some(frame)) => self.slot_for(frame, conn, rd, &mut buf).await,
                    Err(e) => {
                        self.metrics.error("protocol");
                        Slot::Close(e.to_frame())
                    }
                };
                let closing = matches!(slot, Slot::Close(_));
                if slots.send(slot).await.is_err() || closing {
                    return Ok(());
                }
                conn.order.pushed += 1;
            }
            // What waits for the rest of its frame, for CLIENT LIST (one uncontended lock).
            registry::lock(&conn.entry).qbuf = (buf.len(), buf.capacity() - buf.len());
            // A large bulk: make room for all of it now, so it is read into one allocation.
            let wanted = bulk_bytes_wanted(&buf, &self.limits);
            if wanted > buf.capacity() {
                buf.reserve(wanted - buf.len());
            }
            if rd.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
    }

    /// The slot for one frame: the state machine of the module docs.
    async fn slot_for(
        &self,
        frame: Frame,
        conn: &mut Conn,
        rd: &mut ReadHalf,
        buf: &mut BytesMut,
    ) -> Slot {
        let started = Instant::now();
        let name = command_name(&frame);
        let action = interpret(frame);
        self.note(conn, name);
        if let Action::Refused { frame, unknown } = action {
            if unknown {
                self.metrics.error("unknown_command");
            }
            if let Some(multi) = &mut conn.multi {
                multi.abort();
            }
            return Slot::Ready(frame);
        }
        if conn.subs.active() && conn.proto == Proto::Resp2 && !allowed_when_subscribed(name) {
            let why = format!(
                "Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
                 RESET are allowed in this context"
            );
            return Slot::Ready(Frame::error("ERR", why));
        }
        if conn.multi.is_some() && !is_control(name) {
            let slot = Slot::Ready(self.queue(action, name, conn));
            self.note(conn, name);
            return slot;
        }
        let slot = match action {
            Action::Block(b) => self.block_slot(&b, conn, rd, buf).await,
            action => self.run(action, conn, name, started).await,
        };
        self.note(conn, name);
        slot
    }

    /// Inside MULTI: queue the command, or refuse it (which aborts the transaction).
    fn queue(&self, action: Action, name: &'static str, conn: &mut Conn) -> Frame {
        let item = match action {
            Action::Kv(command) => Some(Queued::Kv(command)),
            Action::Block(b) => Some(Queued::Blocking(b.command, b.reshape)),
            Action::Local(frame) => Some(Queued::Local(frame)),
            Action::Conn(op) if !op.changes_the_connection() => {
                let refuse = table::lookup(name).is_some_and(|s| s.in_multi == InMulti::Refuse);
                (!refuse).then(|| Queued::Local(self.answer_here(op, conn)))
            }
            _ => None,
        };
        let multi = conn.multi.as_mut().expect("queue is called inside MULTI");
        match item {
            Some(item) => multi.queue(item, &self.kv_limits),
            None => {
                multi.abort();
                Frame::error("ERR", "Command not allowed inside a transaction")
            }
        }
    }

    /// Outside MULTI (or a transaction control command): run it.
    async fn run(
        &self,
        action: Action,
        conn: &mut Conn,
        name: &'static str,
        started: Instant,
    ) -> Slot {
        match action {
            Action::Local(frame) | Action::Refused { frame, .. } => Slot::Ready(frame),
            Action::Quit => Slot::Close(Frame::ok()),
            Action::Status => {
                let (tx, rx) = oneshot::channel();
                self.send(
                    Event::Status { reply: tx },
                    rx,
                    None,
                    Shape::Plain,
                    "info",
                    started,
                )
                .await
            }
            Action::Kv(command) => self.kv(command, conn, started).await,
            Action::Block(_) => unreachable!("slot_for runs blocking commands"),
            Action::Conn(op) => self.conn_op(op, conn, name, started).await,
        }
    }

    /// A keyspace command outside a transaction.
    async fn kv(&self, command: Command, conn: &mut Conn, started: Instant) -> Slot {
        let (tx, rx) = oneshot::channel();
        let name = command.name();
        let shape = Shape::of(&command);
        if command.is_read_only() {
            conn.order.before(true).await;
            let event = if conn.readonly {
                Event::StaleRead { command, reply: tx }
            } else {
                debug_assert!(needs_no_session(&command));
                let request = Request::once(command);
                Event::Client { request, reply: tx }
            };
            return self.send(event, rx, None, shape, name, started).await;
        }
        conn.order.before(false).await;
        self.write(Body::One(command), conn, shape, name, started)
            .await
    }

    /// A write (a command or an EXEC) in the connection's session.
    async fn write(
        &self,
        body: Body,
        conn: &Conn,
        shape: Shape,
        name: &'static str,
        started: Instant,
    ) -> Slot {
        let (tx, rx) = oneshot::channel();
        if !self
            .send_in_session(&conn.session, body.clone(), false, tx)
            .await
        {
            return Slot::Close(shutting_down());
        }
        Slot::Wait {
            rx,
            resend: Some(body),
            shape,
            command: name,
            started,
        }
    }

    /// Hand `event` to the node; the slot waits for its answer.
    async fn send(
        &self,
        event: Event,
        rx: oneshot::Receiver<Frame>,
        resend: Option<Body>,
        shape: Shape,
        command: &'static str,
        started: Instant,
    ) -> Slot {
        if self.events.send(event).await.is_err() {
            return Slot::Close(shutting_down());
        }
        Slot::Wait {
            rx,
            resend,
            shape,
            command,
            started,
        }
    }

    /// A connection command that may need the node (EXEC, WATCH) or change the state.
    async fn conn_op(
        &self,
        op: ConnOp,
        conn: &mut Conn,
        name: &'static str,
        started: Instant,
    ) -> Slot {
        match op {
            ConnOp::Multi if conn.multi.is_some() => {
                Slot::Ready(Frame::error("ERR", "MULTI calls can not be nested"))
            }
            ConnOp::Multi => {
                conn.multi = Some(Multi::default());
                Slot::Ready(Frame::ok())
            }
            ConnOp::Exec => self.exec(conn, started).await,
            ConnOp::Discard => match conn.multi.take() {
                None => Slot::Ready(Frame::error("ERR", "DISCARD without MULTI")),
                Some(_) => {
                    conn.watch = None;
                    Slot::Ready(Frame::ok())
                }
            },
            ConnOp::Watch(_) if conn.multi.is_some() => {
                Slot::Ready(Frame::error("ERR", "WATCH inside MULTI is not allowed"))
            }
            ConnOp::Watch(keys) => Slot::Ready(self.watch(keys, conn).await),
            ConnOp::Subscribe { pattern, names } => match conn.subs.subscribe(pattern, names) {
                Ok((change, frames)) => state_slot(vec![change], None, frames),
                Err(frame) => Slot::Ready(frame),
            },
            ConnOp::Unsubscribe { pattern, names } => {
                let (change, frames) = conn.subs.unsubscribe(pattern, names);
                state_slot(vec![change], None, frames)
            }
            ConnOp::Hello {
                proto,
                name: setname,
            } => self.hello(proto, setname, conn),
            ConnOp::Reset => self.reset(conn),
            ConnOp::ReadOnly(on) => {
                conn.readonly = on;
                Slot::Ready(Frame::ok())
            }
            ConnOp::Client(args) if args[0].eq_ignore_ascii_case(b"reply") => client_reply(&args),
            other => {
                let _ = (name, started);
                Slot::Ready(self.answer_here(other, conn))
            }
        }
    }

    /// The ops answered from the connection and the node's shared state alone.
    fn answer_here(&self, op: ConnOp, conn: &mut Conn) -> Frame {
        match op {
            ConnOp::Ping(message) if conn.subs.active() && conn.proto == Proto::Resp2 => {
                let message = message.map_or(Frame::bulk(""), Frame::Bulk);
                Frame::Array(vec![Frame::bulk("pong"), message])
            }
            ConnOp::Ping(message) => message.map_or(Frame::Simple("PONG".into()), Frame::Bulk),
            ConnOp::Unwatch => {
                if conn.multi.is_none() {
                    conn.watch = None;
                }
                Frame::ok()
            }
            ConnOp::PubSub(args) => self.hub.introspect(&args),
            ConnOp::Client(args) => self.registry.client(&conn.entry, &args),
            ConnOp::Config(args) => self.settings.config(&args),
            other => unreachable!("{other:?} is handled by conn_op"),
        }
    }

    /// EXEC: abort, answer locally, or send one `Body::Exec` in the session.
    async fn exec(&self, conn: &mut Conn, started: Instant) -> Slot {
        let Some(multi) = conn.multi.take() else {
            return Slot::Ready(Frame::error("ERR", "EXEC without MULTI"));
        };
        match multi.exec(conn.watch.take()) {
            Plan::Answer(frame) => Slot::Ready(frame),
            Plan::Send { body, shape } => {
                conn.order.before(false).await;
                self.write(body, conn, shape, "exec", started).await
            }
        }
    }

    /// WATCH: read the applied index through the linearizable read path, remember the keys.
    async fn watch(&self, keys: Vec<bytes::Bytes>, conn: &mut Conn) -> Frame {
        conn.order.before(true).await;
        let (tx, rx) = oneshot::channel();
        let index = Command::new(b"distributed.index", Vec::new()).expect("a table row");
        let request = Request::once(index);
        if self
            .events
            .send(Event::Client { request, reply: tx })
            .await
            .is_err()
        {
            return shutting_down();
        }
        let index = match rx.await {
            Ok(Frame::Integer(i)) => u64::try_from(i).unwrap_or(0),
            Ok(error @ Frame::Error(_)) => return error,
            Ok(other) => return Frame::error("ERR", format!("WATCH read an index of {other}")),
            Err(_) => return crate::clients::session::stopped(),
        };
        match Watch::add(conn.watch.as_ref(), &keys, index, &self.kv_limits) {
            Ok(watch) => {
                conn.watch = Some(watch);
                Frame::ok()
            }
            Err(frame) => frame,
        }
    }

    /// HELLO: switch version (in reply order), maybe set the name, answer the server's facts.
    fn hello(&self, proto: Option<Proto>, name: Option<bytes::Bytes>, conn: &mut Conn) -> Slot {
        if let Some(name) = name {
            match registry::valid_name(&name) {
                Ok(name) => registry::lock(&conn.entry).name = name,
                Err(frame) => return Slot::Ready(frame),
            }
        }
        conn.proto = proto.unwrap_or(conn.proto);
        let leader = self.metrics.leader.get() == self.node as i64;
        let reply = hello_reply(conn.id, conn.proto, leader);
        state_slot(Vec::new(), Some(conn.proto), vec![reply])
    }

    /// RESET: back to a fresh connection's state.
    fn reset(&self, conn: &mut Conn) -> Slot {
        conn.multi = None;
        conn.watch = None;
        conn.readonly = false;
        conn.proto = Proto::Resp2;
        registry::lock(&conn.entry).name = None;
        let mut changes: Vec<Change> = Vec::new();
        for pattern in [false, true] {
            let (change, _) = conn.subs.unsubscribe(pattern, Vec::new());
            changes.push(change);
        }
        state_slot(
            changes,
            Some(Proto::Resp2),
            vec![Frame::Simple("RESET".into())],
        )
    }

    /// Keep the connection's CLIENT LIST entry current.
    fn note(&self, conn: &Conn, name: &'static str) {
        let mut info = registry::lock(&conn.entry);
        info.last_command = name;
        info.last_at = Instant::now();
        info.proto = conn.proto;
        info.sub = conn.subs.channels.len();
        info.psub = conn.subs.patterns.len();
        info.multi = conn.multi.as_ref().map(Multi::len);
        info.readonly = conn.readonly;
        info.oll = conn.order.pushed - *conn.order.answered.borrow();
    }
}

fn state_slot(changes: Vec<Change>, proto: Option<Proto>, frames: Vec<Frame>) -> Slot {
    Slot::State {
        changes,
        proto,
        frames,
    }
}
