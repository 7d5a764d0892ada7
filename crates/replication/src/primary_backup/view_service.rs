//! The view service: the one authority on which server is primary and which are its backups
//! (after the view service of MIT 6.824's primary-backup lab). It hears a ping from every
//! server, counts a server dead once it has been silent for `failure_timeout_ticks`, and
//! announces every change as the next view in its ping replies.
//!
//! ```text
//!   view 1 {n1, [n2]}     n1 pings ready (n2 holds its state): view 1 is acknowledged
//!   n2 silent             view 2 {n1, [n3]}   same primary: allowed before any ack
//!   n1 transfers its state to n3, pings ready: view 2 is acknowledged
//!   n1 silent             view 3 {n3, []}     a new primary: only out of an acknowledged view
//! ```
//!
//! **The acknowledgement rule.** The primary pings `ready` for its view once every backup of
//! it is in its lineage and holds every put it committed (transfer.rs); that is its
//! acknowledgement. The view service promotes a backup only out of an acknowledged view: then
//! the backup holds every acknowledged put, and making it primary loses none. It never skips a
//! primary that may hold acknowledged puts no backup has. 6.824's rule is stricter (no view
//! change at all before the acknowledgement); here a view that *keeps* the primary may follow
//! an unacknowledged one, because the primary holds everything itself; without that, a backup
//! that dies before its first state transfer would freeze the service forever. The price of
//! the rule: a primary that fails before acknowledging its view stalls the service until it
//! comes back (its disk holds every acknowledged put).
//!
//! **Leases.** The reply to a ping from the primary of the current view grants a lease: no
//! other server becomes primary before `tick + lease_ticks` of the primary's clock. The view
//! service keeps it by waiting `failure_timeout_ticks ≥ clock_rate_ratio_max × lease_ticks`
//! (config.rs) after the last ping before replacing a primary. A restarted view service gives
//! every member a whole timeout from its restart, since it forgot when it last heard from
//! them (and so which leases are still running).
//!
//! **One durable node, not a replicated one.** This view service is a single node that
//! persists every view before announcing it, and it is the scheme's single point of failure:
//! while it is down, no failure is repaired and no lease renewed, so reads stop after one lease
//! while puts go on (they need only the backups). 6.824 accepts the same. Replicating it would
//! mean choosing each view by consensus (one Paxos or Raft entry per view) and granting leases
//! only from a leader that holds its own lease of the group (Chubby's master lease); the servers
//! would not notice the difference. The road not taken: leases without a view service, where
//! the primary's own lease from a majority of servers decides (as in Raft's leader lease),
//! which is consensus by another name.
//!
//! Invariants (asserted): views grow by one per change and are persisted before announced; a
//! lease goes only to the primary of the current view; a new primary is a backup of the view
//! before (of an acknowledged one, but under `Variant::NoViewAck`).

use std::collections::BTreeMap;

use distributed_core::{NodeId, Tick};

use crate::client::{ClientReply, ClientRequest, Response};
use crate::primary_backup::config::{Config, Variant};
use crate::primary_backup::message::{Message, Ping, PingReply};
use crate::primary_backup::node::Out;
use crate::primary_backup::store::{Disk, Write};
use crate::primary_backup::view::{View, ViewNum};

/// What a summary reports about the view service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewServiceCounters {
    /// Views announced after the first.
    pub views: u64,
    /// New primaries (backups promoted).
    pub promotions: u64,
    /// Views the primary acknowledged.
    pub acks: u64,
}

/// What the view service would do next with its view.
enum Next {
    /// Nothing to change.
    Stay,
    /// A change is due but not allowed now, and why.
    Blocked(&'static str),
    /// Announce this view.
    Move(View),
}

/// The configuration authority (see the module docs).
#[derive(Clone, Debug)]
pub struct ViewService {
    /// The knobs, validated.
    pub(crate) config: Config,
    /// The current view (durable).
    view: View,
    /// Whether the primary of `view` acknowledged it (durable).
    acked: bool,
    /// Ticks since this incarnation started.
    ticks: Tick,
    /// When each server was last heard from, in this incarnation's ticks. Members of the view
    /// start at 0, so a restarted view service gives each a whole timeout; other servers are
    /// absent until they ping, so only a server actually heard from is made a backup.
    last_heard: BTreeMap<NodeId, Tick>,
    /// The view in which a blocked change was last explained in a note (one note per view).
    noted_blocked: Option<ViewNum>,
    /// What a summary reports.
    counters: ViewServiceCounters,
}

impl ViewService {
    /// The view service, from its disk (a new one starts at view 1, unacknowledged).
    pub(crate) fn new(config: Config, disk: &Disk) -> ViewService {
        let view = disk.view.clone().unwrap_or_else(|| View::first(&config));
        let mut last_heard = BTreeMap::new();
        last_heard.insert(view.primary, 0);
        for &b in &view.backups {
            last_heard.insert(b, 0);
        }
        ViewService {
            config,
            acked: disk.acked,
            view,
            ticks: 0,
            last_heard,
            noted_blocked: None,
            counters: ViewServiceCounters::default(),
        }
    }

    /// The current view.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Did the primary acknowledge the current view?
    pub fn is_acked(&self) -> bool {
        self.acked
    }

    /// Ticks since this incarnation started.
    pub fn ticks(&self) -> Tick {
        self.ticks
    }

    /// What a summary reports.
    pub fn counters(&self) -> ViewServiceCounters {
        self.counters
    }

    pub(crate) fn step(&mut self, from: NodeId, msg: Message, out: &mut Out) {
        match msg {
            Message::Ping(m) => self.on_ping(from, m, out),
            other => out.note(format_args!(
                "ignored {other} from {from}: the view service takes only pings"
            )),
        }
    }

    /// Clients talk to the primary.
    pub(crate) fn input(&mut self, req: ClientRequest, out: &mut Out) {
        let to = self.view.primary;
        out.outputs.push(ClientReply {
            id: req.id,
            response: Response::Redirect { to },
        });
    }

    /// A ping: note the sender alive, take the primary's acknowledgement, reconsider the view,
    /// answer with it (and the primary's lease).
    fn on_ping(&mut self, from: NodeId, msg: Ping, out: &mut Out) {
        self.last_heard.insert(from, self.ticks);
        let current = self.view.num;
        if msg.view > current {
            return out.note(format_args!(
                "ignored {msg} from {from}: view {} is ahead of the view service's {current}, \
                 and only the view service makes views",
                msg.view
            ));
        }
        let names_current = msg.view == current && from == self.view.primary;
        if names_current && msg.ready && !self.acked {
            self.acked = true;
            self.counters.acks += 1;
            let view = self.view.clone();
            out.writes.push(Write::ServiceView { view, acked: true });
        }
        self.reconsider(out);
        let lease = names_current;
        assert!(
            !lease || self.view.primary == from,
            "a lease goes only to the primary of the current view"
        );
        let reply = PingReply {
            view: self.view.clone(),
            incarnation: msg.incarnation,
            tick: msg.tick,
            lease,
        };
        out.send(self.config.id, from, reply.into());
    }

    pub(crate) fn tick(&mut self, out: &mut Out) {
        self.ticks += 1;
        self.reconsider(out);
    }

    /// Move to the next view if one is due and allowed; explain once per view if not allowed.
    fn reconsider(&mut self, out: &mut Out) {
        match self.next_view() {
            Next::Stay => {}
            Next::Blocked(why) => {
                if self.noted_blocked != Some(self.view.num) {
                    self.noted_blocked = Some(self.view.num);
                    out.note(format_args!(
                        "the view service keeps view {}: {why}",
                        self.view.num
                    ));
                }
            }
            Next::Move(next) => self.install(next, out),
        }
    }

    /// Has `node` been heard from within the failure timeout?
    fn is_alive(&self, node: NodeId) -> bool {
        let timeout = self.config.failure_timeout_ticks;
        self.last_heard
            .get(&node)
            .is_some_and(|&t| self.ticks - t <= timeout)
    }

    /// The view the current one should become: the same primary while it lives, else the first
    /// live backup; live backups kept; idle live servers added up to `backups_wanted`.
    fn next_view(&self) -> Next {
        let view = &self.view;
        let mut live = view.backups.iter().copied().filter(|&b| self.is_alive(b));
        let primary = if self.is_alive(view.primary) {
            view.primary
        } else {
            let Some(successor) = live.next() else {
                return Next::Blocked(
                    "its primary is silent and no live backup can take over: it waits for the \
                     primary, whose disk holds every acknowledged put",
                );
            };
            if !self.acked && self.config.variant != Variant::NoViewAck {
                return Next::Blocked(
                    "its primary is silent but never acknowledged the view, so a backup may \
                     lack its state: it waits for the primary",
                );
            }
            successor
        };
        let mut backups: Vec<NodeId> = live.collect();
        for &s in &self.config.servers {
            if backups.len() >= self.config.backups_wanted {
                break;
            }
            if s != primary && !backups.contains(&s) && self.is_alive(s) {
                backups.push(s);
            }
        }
        if primary == view.primary && backups == view.backups {
            return Next::Stay;
        }
        let since = if primary == view.primary {
            view.since
        } else {
            view.num + 1
        };
        Next::Move(View::new(view.num + 1, primary, backups, since))
    }

    /// Persist and adopt the next view; servers hear of it in their next ping reply.
    fn install(&mut self, next: View, out: &mut Out) {
        assert_eq!(next.num, self.view.num + 1, "views grow by one");
        if next.primary != self.view.primary {
            assert!(
                self.view.is_backup(next.primary),
                "a new primary is a backup of the view before"
            );
            self.counters.promotions += 1;
        }
        out.writes.push(Write::ServiceView {
            view: next.clone(),
            acked: false,
        });
        self.view = next;
        self.acked = false;
        self.counters.views += 1;
    }
}
