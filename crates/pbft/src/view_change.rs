//! View changes (PBFT §4.4): suspecting the primary, the ViewChange / NewView exchange, and
//! installing the new view.
//!
//! ```text
//!   backup: request timer fires (a known request not executed in T·2^k ticks)
//!   any replica: a seq pre-prepared in v not executed in T·2^k ticks (see below)
//!     └─► view := v+1, changing; persist; multicast ViewChange{v+1 C P} (C: stable checkpoint
//!         with proof; P: a prepared certificate for each seq above it)
//!   changing, fewer than 2f+1 ViewChanges for v+1 ──► no timer; resend own ViewChange
//!   any replica: f+1 ViewChange for views > its own ──► joins the smallest (liveness)
//!   primary(v+1), with 2f+1 valid ViewChange for v+1 (its own included):
//!     └─► O = plan(V) (certs.rs); multicast NewView{v+1 V O}; install
//!   backup: NewView from primary(v+1) ──► check every ViewChange in V and its certificates,
//!     count 2f+1 distinct, recompute O and compare ──► install: persist, Prepare each of O
//!   2f+1 ViewChanges for v+1 and no NewView within the timeout ──► ViewChange for v+2,
//!     timeout doubled (bounded)
//! ```
//!
//! ## The view-change timer waits for 2f+1 (§4.5.2)
//!
//! The timer that moves a changing replica on to v+2 starts only once 2f+1 replicas (itself
//! included) ask for v+1. Started at its own ViewChange instead, a replica whose request timer
//! fired alone climbs views by itself, and nobody follows: the others join a view only when
//! f+1 ask for it. A replica that restarts mid-change rebuilds its own ViewChange from disk
//! (`restore_view_change`), or it would wait for a quorum it no longer counts itself in.
//!
//! ## A primary that suspects itself (not in the paper)
//!
//! The paper's request timer runs at backups, for requests they have not executed. The
//! simulator found a view that can never finish: a backup executed seqs s..t in view v-1
//! (a commit certificate with the faulty replica's vote), the other two honest replicas did
//! not; view v re-proposes s..t, but one of those two has moved on to v+1 alone (its request
//! timer fired while it was cut off) and the faulty replica withholds its votes. The primary
//! of v cannot commit, the backup that executed suspects nothing, and f+1 never ask for v+1.
//! So every replica, the primary included, also watches each seq pre-prepared in its view
//! that it has not executed: a primary whose own pre-prepares do not commit in time gives up
//! the view like any backup would (Raft's leader stepping down without a quorum is the same
//! idea). Safety never depends on who starts a view change, only on what a new view proves.
//!
//! Why it is safe: a request committed at seq s in view v has prepared certificates at f+1
//! honest replicas; any 2f+1 view changes include one of them (2f+1 + f+1 > 3f+1), so O
//! assigns the same request to s (the certificate of the highest view wins, and no other
//! request can have prepared in a view ≥ v, Invariant 1). `ViewChangeDropsPrepared` removes
//! exactly that, and a committed request can vanish.
//!
//! Null requests in O are executed as `Output::Skipped{seq}`: they advance the seq and may
//! carry a checkpoint, but there is nothing to apply.

use std::borrow::Cow;

use distributed_core::NodeId;

use crate::certs::{check_view_change, plan, Plan};
use crate::config::Variant;
use crate::host::Ready;
use crate::message::{NewView, PrePrepare, Prepare, PreparedCert, View, ViewChange};
use crate::node::Pbft;

impl Pbft {
    /// The current timeout: `request_timeout_ticks`, doubled once per view change in a row.
    pub(crate) fn timeout_ticks(&self) -> u64 {
        self.config.request_timeout_ticks << self.doublings
    }

    /// The request timer (in a view: `awaits_progress`) and the view-change timer (while
    /// changing, once 2f+1 ask for the view).
    /// A replica fetching a stable checkpoint's state holds its request timer: it cannot
    /// execute because it is behind, which is no sign of a faulty primary.
    pub(crate) fn tick_timers(&mut self, out: &mut Ready) {
        let timeout = self.timeout_ticks();
        if self.fetch.is_some() && !self.changing {
            return;
        }
        if self.changing {
            // §4.5.2: the view-change timer runs only once 2f+1 replicas (this one included)
            // ask for this view. Started at its own ViewChange, a replica whose request timer
            // fired alone would climb views by itself, and the others could not follow (they
            // join only views f+1 replicas ask for); waiting, it keeps resending its ViewChange
            // (retransmit.rs) until 2f+1 ask, or f+1 pull it up.
            if !self.view_change_quorum() {
                return;
            }
            self.view_change_timer += 1;
            if self.view_change_timer >= timeout {
                self.doublings = (self.doublings + 1).min(self.config.timeout_doublings_max);
                self.start_view_change(self.view + 1, out);
            }
        } else if let Some(elapsed) = self.request_timer.as_mut() {
            *elapsed += 1;
            if *elapsed >= timeout {
                self.start_view_change(self.view + 1, out);
            }
        }
    }

    /// Do 2f+1 replicas, this one among them, ask for the view this replica changes to?
    fn view_change_quorum(&self) -> bool {
        self.view_changes
            .get(&self.view)
            .is_some_and(|by| by.contains_key(&self.config.id) && by.len() >= self.config.quorum())
    }

    /// Move to `new_view` and multicast a ViewChange for it (§4.4).
    pub(crate) fn start_view_change(&mut self, new_view: View, out: &mut Ready) {
        assert!(new_view > self.view, "views only grow");
        self.view = new_view;
        self.changing = true;
        self.save_view(out);
        self.request_timer = None;
        self.view_change_timer = 0;
        self.new_view = None;
        self.counters.view_changes += 1;
        let vc = self.own_view_change();
        self.view_changes = self.view_changes.split_off(&new_view);
        let me = self.config.id;
        self.view_changes
            .entry(new_view)
            .or_default()
            .insert(me, vc.clone());
        self.multicast(vc.into(), out);
        self.try_new_view(out);
    }

    /// This replica's ViewChange for the view it changes to: its stable checkpoint and the
    /// prepared certificate of every seq above it. Both are durable, and a replica changing
    /// views accepts no new certificates, so after a restart this rebuilds (re-signs) the
    /// very message it sent before the crash (`restore_view_change`).
    pub(crate) fn own_view_change(&self) -> ViewChange {
        assert!(self.changing, "a ViewChange only while changing views");
        let h = self.stable.cert.seq;
        let prepared: Vec<PreparedCert> = match self.config.variant {
            Variant::ViewChangeDropsPrepared => Vec::new(),
            _ => self
                .log
                .iter()
                .filter(|(&seq, _)| seq > h)
                .filter_map(|(_, slot)| slot.prepared.clone())
                .collect(),
        };
        ViewChange::new(self.view, self.stable.cert.clone(), prepared, &self.signer)
    }

    /// After a restart in the middle of a view change: hold our own ViewChange again, so the
    /// retransmission rounds resend it and the §4.5.2 timer can count it among the 2f+1.
    /// (The others' ViewChanges were volatile; their own resends bring them back.)
    pub(crate) fn restore_view_change(&mut self) {
        if !self.changing {
            return;
        }
        let vc = self.own_view_change();
        let me = self.config.id;
        self.view_changes
            .entry(self.view)
            .or_default()
            .insert(me, vc);
    }

    /// A replica moves to `vc.new_view`: check it, keep it, maybe join, maybe start the view.
    pub(crate) fn on_view_change(&mut self, from: NodeId, vc: ViewChange, out: &mut Ready) {
        let v = vc.new_view;
        // Borrowed text for the common refusals: nothing is allocated unless a certificate is bad.
        if v == self.view && !self.changing && self.config.primary(v) == self.config.id {
            return self.answer_view_change(from, &vc, out);
        }
        let why: Cow<'static, str> = if v < self.view || (v == self.view && !self.changing) {
            "for a view this replica is past".into()
        } else if v > self.view + self.config.views_ahead_max {
            "more than views_ahead_max views ahead".into()
        } else if let Err(e) = check_view_change(&self.config, &self.verifier, &vc) {
            format!("bad certificate: {e}").into()
        } else {
            self.view_changes.entry(v).or_default().insert(from, vc);
            self.join_if_f_plus_1_ahead(out);
            return self.try_new_view(out);
        };
        out.note(format_args!("ignored {vc} from {from}: {why}"));
        self.drop_msg();
    }

    /// f+1 replicas ask for views above ours: at least one is honest, so join the smallest
    /// of those views without waiting for our own timer (§4.5.2, liveness).
    fn join_if_f_plus_1_ahead(&mut self, out: &mut Ready) {
        let ahead = self.view_changes.range(self.view + 1..);
        let mut senders = std::collections::BTreeSet::new();
        let mut smallest = None;
        for (&v, by) in ahead {
            smallest.get_or_insert(v);
            senders.extend(by.keys().copied());
        }
        senders.remove(&self.config.id);
        if let (Some(v), true) = (smallest, senders.len() > self.config.f()) {
            self.start_view_change(v, out);
        }
    }

    /// As the new primary with 2f+1 view changes (its own included): send NewView, install.
    fn try_new_view(&mut self, out: &mut Ready) {
        let (v, me) = (self.view, self.config.id);
        if !self.changing || self.config.primary(v) != me {
            return;
        }
        let Some(by) = self.view_changes.get(&v) else {
            return;
        };
        if !by.contains_key(&me) || by.len() < self.config.quorum() {
            return;
        }
        // Its own first, then the others by id: any 2f+1 will do; these are deterministic.
        let mut chosen: Vec<ViewChange> = vec![by[&me].clone()];
        let others = by
            .iter()
            .filter(|(&id, _)| id != me)
            .map(|(_, vc)| vc.clone());
        chosen.extend(others.take(self.config.quorum() - 1));
        let plan = plan(&chosen);
        let pre_prepares: Vec<PrePrepare> = plan
            .entries
            .iter()
            .map(|(seq, request)| PrePrepare::new(v, *seq, request.clone(), &self.signer))
            .collect();
        let nv = NewView::new(v, chosen, pre_prepares.clone(), &self.signer);
        self.new_view = Some(nv.clone());
        self.multicast(nv.into(), out);
        self.install_new_view(plan, pre_prepares, out);
    }

    /// The new primary starts `nv.view`: check it all, recompute O, install (§4.4).
    pub(crate) fn on_new_view(&mut self, from: NodeId, nv: NewView, out: &mut Ready) {
        let why = match self.check_new_view(from, &nv) {
            Ok(plan) => {
                let NewView {
                    view, pre_prepares, ..
                } = nv;
                if view > self.view {
                    self.view = view; // it skipped views this replica did not change to
                }
                return self.install_new_view(plan, pre_prepares, out);
            }
            Err(why) => why,
        };
        out.note(format_args!("ignored {nv} from {from}: {why}"));
        self.drop_msg();
    }

    /// The checks of a NewView, returning its plan if they pass.
    fn check_new_view(&self, from: NodeId, nv: &NewView) -> Result<Plan, String> {
        let v = nv.view;
        if v < self.view || (v == self.view && !self.changing) {
            return Err("for a view this replica is past".into());
        }
        if v > self.view + self.config.views_ahead_max {
            return Err("more than views_ahead_max views ahead".into());
        }
        if from != self.config.primary(v) {
            return Err(format!("not from the primary of view {v}"));
        }
        if nv.view_changes.len() > self.config.n() {
            return Err("more view changes than replicas".into());
        }
        let mut signers = std::collections::BTreeSet::new();
        for vc in &nv.view_changes {
            let signer = vc.sig.signer;
            let known = self.config.replicas.contains(&signer);
            if !known || vc.new_view != v || !vc.verify(&self.verifier) || !signers.insert(signer) {
                return Err(format!(
                    "the view change of {signer} is not a distinct, signed one by a replica for {v}"
                ));
            }
            check_view_change(&self.config, &self.verifier, vc)
                .map_err(|e| format!("the view change of {signer}: {e}"))?;
        }
        if signers.len() < self.config.quorum() {
            return Err(format!("{} view changes, below 2f+1", signers.len()));
        }
        let plan = plan(&nv.view_changes);
        let same = plan.entries.len() == nv.pre_prepares.len()
            && plan
                .entries
                .iter()
                .zip(&nv.pre_prepares)
                .all(|((seq, req), pp)| {
                    pp.view == v
                        && pp.seq == *seq
                        && pp.request == *req
                        && pp.sig.signer == from
                        && pp.verify(&self.verifier)
                });
        if !same {
            return Err("its pre-prepares are not the ones its view changes determine".into());
        }
        Ok(plan)
    }

    /// Enter the new view: persist it, adopt its stable checkpoint, accept O (§4.4).
    fn install_new_view(&mut self, plan: Plan, pre_prepares: Vec<PrePrepare>, out: &mut Ready) {
        let v = self.view;
        self.changing = false;
        self.save_view(out);
        self.view_change_timer = 0;
        self.counters.new_views += 1;
        self.view_changes = self.view_changes.split_off(&(v + 1));
        for (_, slot) in self.log.iter_mut() {
            if slot.pre_prepare.as_ref().is_some_and(|pp| pp.view < v) {
                slot.pre_prepare = None; // an old view's assignment: O replaces what matters
            }
        }
        // Before the stable checkpoint is adopted: adopting it moves the watermarks, and a
        // primary then assigns what waits at `next_seq`, which must already lie past O
        // (else it would assign a seq O assigns too, with another digest).
        let stable = plan.stable;
        let max_s = pre_prepares.last().map_or(stable.seq, |pp| pp.seq);
        self.next_seq = max_s.max(stable.seq).max(self.stable.cert.seq) + 1;
        for w in self.waiting.iter_mut() {
            w.assigned = pre_prepares.iter().any(|pp| pp.digest == w.digest);
        }
        if stable.seq > self.stable.cert.seq {
            let seq = stable.seq;
            let held = self.checkpoints.entry(seq).or_default();
            for c in stable.proof {
                held.insert(c.sig.signer, c);
            }
            self.try_stable(seq, out);
        }
        let primary = self.config.primary(v) == self.config.id;
        let h = self.stable.cert.seq;
        for pp in pre_prepares.into_iter().filter(|pp| pp.seq > h) {
            // (A seq at or below this replica's own stable checkpoint is settled already.)
            let (seq, digest) = (pp.seq, pp.digest);
            self.accept(pp, out);
            if !primary {
                let prepare = Prepare::new(v, seq, digest, &self.signer);
                self.log
                    .slot(seq)
                    .prepares
                    .insert(self.config.id, prepare.clone());
                self.multicast(prepare.into(), out);
            }
        }
        self.resume_requests(out);
    }

    /// After a new view: the primary orders what waits; a backup forwards it to the new
    /// primary and restarts its timer.
    fn resume_requests(&mut self, out: &mut Ready) {
        self.request_timer = self.awaits_progress().then_some(0);
        if self.is_primary() {
            return self.assign_pending(out);
        }
        let primary = self.primary();
        for k in 0..self.waiting.len() {
            let request = self.waiting[k].request.clone();
            self.send(primary, request.into(), out);
        }
    }
}
