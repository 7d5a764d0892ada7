//! The normal case (PBFT §4.2): requests, the three phases, and execution in seq order.
//!
//! ```text
//!   client   primary(n1)        backup n2        backup n3        backup n4
//!     │ Request │                   │                │                │
//!     ├────────►│ PrePrepare{v,s,d} │                │                │
//!     │         ├──────────────────►├───────────────►├───────────────►│  accept if in view v,
//!     │         │                   │ Prepare{v,s,d} │                │  h < s ≤ h+L, and no
//!     │         │◄──────────────────┼───────────────►┼───────────────►│  other d at (v, s)
//!     │         │   prepared = pre-prepare + 2f matching prepares (from backups)
//!     │         │ Commit{v,s,d}     │                │                │
//!     │         │◄─────────────────►┼◄──────────────►┼◄──────────────►│
//!     │         │   committed-local = prepared + 2f+1 matching commits (own included)
//!     │◄────────┴── Execute{s} at each replica, in seq order; each replies to the client,
//!                   which accepts f+1 matching replies (one of them is honest)
//! ```
//!
//! Why 2f prepares: with the pre-prepare they make 2f+1 replicas that accepted d at (v, s);
//! two such quorums share an honest replica, which accepts one digest per (v, s), so no two
//! digests prepare at one (v, s) (§4.2, Invariant 1). Why 2f+1 commits: they guarantee that
//! f+1 honest replicas are prepared, so any 2f+1 view-change messages include one of them
//! and the request survives into every later view (§4.4).
//!
//! A backup that gets a request from a client forwards it to the primary and starts its
//! request timer; if the request has not executed when it fires, it suspects the primary
//! (view_change.rs). Invariants (asserted): never prepared for two digests at one (view, seq);
//! execution in seq order, exactly once.

use std::collections::BTreeMap;

use distributed_core::NodeId;

use crate::auth::DigestBuilder;
use crate::config::Variant;
use crate::host::{Output, Ready, Write};
use crate::message::{Commit, PrePrepare, Prepare, PreparedCert, Request, Seq, View};
use crate::node::{Pbft, Waiting};

impl Pbft {
    /// Is `seq` within the watermarks, h < seq ≤ h + L (§4.2)?
    pub(crate) fn in_window(&self, seq: Seq) -> bool {
        let h = self.stable.cert.seq;
        seq > h && seq <= h + self.config.log_window
    }

    /// A client's request arrives here (§4.1): the primary orders it; a backup forwards it to
    /// the primary and watches it with its request timer (§4.4).
    pub(crate) fn on_client_request(&mut self, request: Request, out: &mut Ready) {
        if !self.remember(request, out) {
            return;
        }
        if self.is_primary() {
            self.assign_pending(out);
        } else if !self.changing {
            let last = self
                .waiting
                .back()
                .expect("just remembered")
                .request
                .clone();
            let primary = self.primary();
            self.send(primary, last.into(), out);
            self.request_timer.get_or_insert(0);
        }
    }

    /// A backup forwarded a client's request: only the primary orders it.
    pub(crate) fn on_request(&mut self, from: NodeId, request: Request, out: &mut Ready) {
        if !self.is_primary() {
            out.note(format_args!(
                "ignored {request} from {from}: not the primary"
            ));
            return self.drop_msg();
        }
        if self.remember(request, out) {
            self.assign_pending(out);
        }
    }

    /// Keep a new request in `waiting`; false (with a note) if it is a duplicate, too big, or
    /// the queue is full.
    fn remember(&mut self, request: Request, out: &mut Ready) -> bool {
        let digest = request.digest();
        let why = if request.op.len() > self.config.request_bytes_max {
            "op over request_bytes_max"
        } else if self.waiting.iter().any(|w| w.digest == digest) {
            "already waiting"
        } else if self.last_timestamp(request.client) >= Some(request.timestamp) {
            "already executed (client table)"
        } else if self.waiting.len() >= self.config.requests_pending_max {
            "requests_pending_max requests already wait"
        } else {
            self.waiting.push_back(Waiting {
                request,
                digest,
                assigned: false,
            });
            return true;
        };
        out.note(format_args!("ignored {request}: {why}"));
        false
    }

    /// The primary assigns the next seqs to waiting requests, within the high watermark and
    /// the batch bound (§4.2).
    pub(crate) fn assign_pending(&mut self, out: &mut Ready) {
        if !self.is_primary() {
            return;
        }
        let mut assigned = 0;
        for k in 0..self.waiting.len() {
            if assigned == self.config.pre_prepares_per_call_max || !self.in_window(self.next_seq) {
                return;
            }
            if self.waiting[k].assigned {
                continue;
            }
            self.waiting[k].assigned = true;
            let request = self.waiting[k].request.clone();
            let pp = PrePrepare::new(self.view, self.next_seq, Some(request), &self.signer);
            self.next_seq += 1;
            assigned += 1;
            self.accept(pp.clone(), out);
            self.multicast(pp.into(), out);
        }
    }

    /// Record and persist `pp` as the slot's pre-prepare for its view.
    pub(crate) fn accept(&mut self, pp: PrePrepare, out: &mut Ready) {
        let slot = self.log.slot(pp.seq);
        if let Some(held) = &slot.pre_prepare {
            assert!(
                held.view != pp.view || held.digest == pp.digest,
                "two digests accepted at (view {}, seq {})",
                pp.view,
                pp.seq
            );
        }
        let watch = pp.view == self.view && !self.changing;
        slot.pre_prepare = Some(pp.clone());
        out.writes.push(Write::Accept(pp));
        if watch {
            self.request_timer.get_or_insert(0); // a seq of this view now waits to execute
        }
    }

    /// Does this replica wait on the current view for something? A backup waits for the
    /// requests it forwarded (§4.4); any replica, the primary included, waits for each seq
    /// pre-prepared in this view above what it executed. The second is not in the paper: it
    /// lets a primary that cannot get its own pre-prepares committed give up its view, where
    /// the paper's backups may all have executed those seqs already and suspect nothing
    /// (view_change.rs, "A primary that suspects itself").
    pub(crate) fn awaits_progress(&self) -> bool {
        if self.changing {
            return false;
        }
        let backup_waits = !self.waiting.is_empty() && !self.is_primary();
        backup_waits
            || self.log.iter().any(|(&seq, slot)| {
                seq > self.last_executed
                    && slot
                        .pre_prepare
                        .as_ref()
                        .is_some_and(|pp| pp.view == self.view)
            })
    }

    /// A backup accepts a pre-prepare, multicasts its Prepare (§4.2).
    pub(crate) fn on_pre_prepare(&mut self, from: NodeId, pp: PrePrepare, out: &mut Ready) {
        self.see_view(from, pp.view, out);
        let held = self.log.get(pp.seq).and_then(|s| s.pre_prepare.as_ref());
        let why = if self.changing {
            "a view change is under way"
        } else if pp.view != self.view {
            "not in the current view"
        } else if from != self.primary() {
            "not from the primary"
        } else if !self.in_window(pp.seq) {
            "outside the watermarks"
        } else if pp
            .request
            .as_ref()
            .is_some_and(|r| r.op.len() > self.config.request_bytes_max)
        {
            "op over request_bytes_max"
        } else if held.is_some_and(|h| h.view == pp.view && h.digest != pp.digest) {
            "another digest is accepted at this view and seq"
        } else if held.is_some_and(|h| h.view == pp.view) {
            self.answer_copy(from, pp.seq, out); // the primary resent it: it lacks our Prepare
            "already accepted"
        } else {
            let (view, seq, digest) = (pp.view, pp.seq, pp.digest);
            self.accept(pp, out);
            let prepare = Prepare::new(view, seq, digest, &self.signer);
            self.log
                .slot(seq)
                .prepares
                .insert(self.config.id, prepare.clone());
            self.multicast(prepare.into(), out);
            return self.try_prepared(seq, out);
        };
        out.note(format_args!("ignored {pp} from {from}: {why}"));
        self.drop_msg();
    }

    /// A replica accepted a pre-prepare: count its Prepare (§4.2).
    pub(crate) fn on_prepare(&mut self, from: NodeId, p: Prepare, out: &mut Ready) {
        self.see_view(from, p.view, out);
        let why = if self.changing {
            "a view change is under way"
        } else if p.view != self.view {
            "not in the current view"
        } else if from == self.primary() {
            "the primary does not prepare"
        } else if !self.in_window(p.seq) {
            "outside the watermarks"
        } else {
            let seq = p.seq;
            let prepares = &mut self.log.slot(seq).prepares;
            if prepares.get(&from) == Some(&p) {
                return self.answer_copy(from, seq, out); // resent: it lacks ours
            }
            keep_first(prepares, from, p.view, p);
            return self.try_prepared(seq, out);
        };
        out.note(format_args!("ignored {p} from {from}: {why}"));
        self.drop_msg();
    }

    /// A replica is prepared: count its Commit (§4.2).
    pub(crate) fn on_commit(&mut self, from: NodeId, c: Commit, out: &mut Ready) {
        self.see_view(from, c.view, out);
        let why = if self.changing {
            "a view change is under way"
        } else if c.view != self.view {
            "not in the current view"
        } else if !self.in_window(c.seq) {
            "outside the watermarks"
        } else {
            let seq = c.seq;
            let commits = &mut self.log.slot(seq).commits;
            if commits.get(&from) == Some(&c) {
                return self.answer_copy(from, seq, out); // resent: it lacks ours
            }
            keep_first(commits, from, c.view, c);
            return self.try_committed(seq, out);
        };
        out.note(format_args!("ignored {c} from {from}: {why}"));
        self.drop_msg();
    }

    /// prepared(m, v, n, i): the pre-prepare and 2f matching prepares from backups. Persist
    /// the certificate, then multicast Commit.
    pub(crate) fn try_prepared(&mut self, seq: Seq, out: &mut Ready) {
        let (view, primary, need) = (self.view, self.primary(), 2 * self.config.f());
        let Some(slot) = self.log.get(seq) else {
            return;
        };
        let Some(pp) = slot.pre_prepare.clone().filter(|pp| pp.view == view) else {
            return;
        };
        if let Some(held) = slot.prepared.as_ref().filter(|c| c.view() == view) {
            assert_eq!(
                held.digest(),
                pp.digest,
                "prepared two digests at (view {view}, seq {seq})"
            );
            return;
        }
        if slot.count_prepares(view, &pp.digest, primary) < need {
            return;
        }
        let prepares = slot.matching_prepares(view, &pp.digest, primary);
        let digest = pp.digest;
        let cert = PreparedCert {
            pre_prepare: pp,
            prepares,
        };
        out.writes.push(Write::Prepared(cert.clone()));
        let commit = Commit::new(view, seq, digest, &self.signer);
        let slot = self.log.slot(seq);
        slot.prepared = Some(cert);
        slot.commit_sent = Some(view);
        slot.commits.insert(self.config.id, commit.clone());
        self.multicast(commit.into(), out);
        self.try_committed(seq, out);
    }

    /// committed-local(m, v, n, i): prepared and 2f+1 matching commits (own included); 2f
    /// under the broken `CommitQuorum2f`.
    pub(crate) fn try_committed(&mut self, seq: Seq, out: &mut Ready) {
        let view = self.view;
        let need = match self.config.variant {
            Variant::CommitQuorum2f => 2 * self.config.f(),
            _ => self.config.quorum(),
        };
        let Some(slot) = self.log.get(seq) else {
            return;
        };
        if slot.committed.is_some() || !slot.prepared_in(view) {
            return;
        }
        let pp = slot
            .prepared
            .as_ref()
            .expect("prepared")
            .pre_prepare
            .clone();
        if slot.matching_commits(view, &pp.digest) < need {
            return;
        }
        out.writes.push(Write::Committed(pp.clone()));
        self.log.slot(seq).committed = Some(pp);
    }

    /// Execute every committed request after `last_executed`, in seq order (§4.2), and ask
    /// for a checkpoint at each multiple of K (§4.3). Bounded by the window.
    pub(crate) fn execute_committed(&mut self, out: &mut Ready) {
        for _ in 0..=self.config.log_window {
            let seq = self.last_executed + 1;
            let Some(pp) = self.log.get(seq).and_then(|s| s.committed.clone()) else {
                return;
            };
            self.execute(pp, out);
        }
    }

    /// Execute one committed pre-prepare: a request not executed before (by its client's
    /// timestamp, §4.1) is handed to the host; a null request or a duplicate is skipped.
    fn execute(&mut self, pp: PrePrepare, out: &mut Ready) {
        assert_eq!(
            pp.seq,
            self.last_executed + 1,
            "execution in seq order, once"
        );
        self.last_executed = pp.seq;
        let mut b = DigestBuilder::new("history");
        b.digest(&self.progress.history)
            .u64(pp.seq)
            .digest(&pp.digest);
        self.progress.history = b.finish();
        let clients = &self.progress.clients;
        let fresh = pp
            .request
            .filter(|r| clients.get(&r.client).is_none_or(|&t| r.timestamp > t));
        match fresh {
            Some(request) => {
                let (client, ts) = (request.client, request.timestamp);
                self.record_client(client, ts);
                self.waiting
                    .retain(|w| w.request.client != client || w.request.timestamp > ts);
                self.counters.executed += 1;
                out.outputs.push(Output::Execute {
                    seq: pp.seq,
                    view: pp.view,
                    request,
                });
            }
            None => out.outputs.push(Output::Skipped { seq: pp.seq }),
        }
        if pp.seq.is_multiple_of(self.config.checkpoint_interval) {
            self.due.insert(pp.seq, self.progress.clone());
            out.outputs.push(Output::CheckpointDue { seq: pp.seq });
        }
        // Progress: the primary is doing its job, so the timer restarts for what still waits.
        self.doublings = 0;
        self.request_timer = self.awaits_progress().then_some(0);
    }

    /// Record `client`'s last executed timestamp. Over `clients_max` clients, forget the one
    /// whose last request is oldest (ties: lowest id): deterministic, so every honest replica
    /// forgets the same one, and the table stays part of what checkpoints certify.
    fn record_client(&mut self, client: u64, timestamp: u64) {
        let clients = &mut self.progress.clients;
        clients.insert(client, timestamp);
        if clients.len() > self.config.clients_max {
            let oldest = clients
                .iter()
                .min_by_key(|(&c, &t)| (t, c))
                .map(|(&c, _)| c);
            if let Some(c) = oldest {
                clients.remove(&c);
            }
        }
    }
}

/// Keep `msg` from `from` unless it already sent one in `view` or later: its first word in a
/// view stands, so a faulty replica that sends a second, different one cannot take back the
/// first (nor add a second vote). A later view's message replaces an older view's.
fn keep_first<M: HasView>(held: &mut BTreeMap<NodeId, M>, from: NodeId, view: View, msg: M) {
    match held.get(&from) {
        Some(old) if old.view() >= view => {}
        _ => {
            held.insert(from, msg);
        }
    }
}

/// A phase message's view, for `keep_first`.
trait HasView {
    fn view(&self) -> View;
}

impl HasView for Prepare {
    fn view(&self) -> View {
        self.view
    }
}

impl HasView for Commit {
    fn view(&self) -> View {
        self.view
    }
}
