//! Checkpoints, garbage collection and state transfer (PBFT §4.3; TOCS 2002 §5.3).
//!
//! ```text
//!   execute seq (a multiple of K) ──► Output::CheckpointDue{seq}
//!   host ──► Input::Checkpoint{seq state} ──► multicast Checkpoint{seq D(state ‖ progress)}
//!   2f+1 matching Checkpoint{seq d} (own included) ══► stable checkpoint, proof = those 2f+1
//!        ├─ own snapshot matches: persist Stable{cert state}; h := seq; drop log ≤ seq
//!        └─ this replica is behind (last_executed < seq):
//!              FetchState{seq} ──► a signer of the proof (the next one on each timeout)
//!              ◄── StateTransfer{seq state progress proof}: check D(state ‖ progress) against
//!                  the proof, persist Stable, Output::RestoreState{seq state}, h := seq
//! ```
//!
//! Why 2f+1: any such set holds f+1 honest replicas, so the state is correct, and it is proof
//! to anyone (the signatures transfer) that the log through seq can be dropped.
//!
//! Invariant (asserted): the low watermark moves only forward, and only to a checkpoint with a
//! valid 2f+1 certificate whose state this replica holds.
//!
//! Not here: fetching the log *after* the checkpoint. A replica restored at seq s executes
//! s+1… as the others resend their pre-prepares and commits for them (retransmit.rs); what
//! they collected meanwhile comes with the next stable checkpoint, by another transfer. The paper's partition-tree state transfer
//! (TOCS §6.2) fetches only the pages that differ; this sends the whole state.

use std::borrow::Cow;

use bytes::Bytes;
use distributed_core::NodeId;

use crate::certs::check_checkpoint_cert;
use crate::host::{Output, Ready, StableCheckpoint, Write};
use crate::message::{Checkpoint, CheckpointCert, FetchState, Seq, StateTransfer};
use crate::node::{Fetch, OwnCheckpoint, Pbft};

impl Pbft {
    /// How many checkpoint seqs a replica keeps messages for: those in its window, and two
    /// beyond it to notice it is behind.
    fn checkpoints_held_max(&self) -> usize {
        (self.config.log_window / self.config.checkpoint_interval) as usize + 2
    }

    /// The host answered `CheckpointDue{seq}` with its snapshot (§4.3).
    pub(crate) fn on_host_checkpoint(&mut self, seq: Seq, state: Bytes, out: &mut Ready) {
        let Some(progress) = self.due.remove(&seq) else {
            out.note(format_args!(
                "ignored Checkpoint{{seq={seq}}} from the host: no checkpoint due at {seq}"
            ));
            return;
        };
        let digest = Checkpoint::digest_of(&state, &progress);
        let own = OwnCheckpoint {
            digest,
            state,
            progress,
        };
        self.own_checkpoints.insert(seq, own);
        let msg = Checkpoint::new(seq, digest, &self.signer);
        self.checkpoints
            .entry(seq)
            .or_default()
            .insert(self.config.id, msg.clone());
        self.multicast(msg.into(), out);
        self.try_stable(seq, out);
    }

    /// A replica's checkpoint: count it toward a stable checkpoint (§4.3).
    pub(crate) fn on_checkpoint(&mut self, from: NodeId, c: Checkpoint, out: &mut Ready) {
        let stable = &self.stable.cert;
        let why = if c.seq == stable.seq && c.digest == stable.digest {
            self.stable_holders.insert(from); // it needs no resend of ours
            "at the stable checkpoint (noted: the sender holds it)"
        } else if c.seq <= self.stable.cert.seq {
            "at or below the stable checkpoint"
        } else if !c.seq.is_multiple_of(self.config.checkpoint_interval) {
            "not a multiple of checkpoint_interval"
        } else {
            let seq = c.seq;
            self.checkpoints.entry(seq).or_default().insert(from, c);
            while self.checkpoints.len() > self.checkpoints_held_max() {
                self.checkpoints.pop_first();
            }
            return self.try_stable(seq, out);
        };
        out.note(format_args!("ignored {c} from {from}: {why}"));
        self.drop_msg();
    }

    /// If 2f+1 replicas agree on the checkpoint at `seq`, make it stable, or fetch its state.
    pub(crate) fn try_stable(&mut self, seq: Seq, out: &mut Ready) {
        if seq <= self.stable.cert.seq {
            return;
        }
        let Some(held) = self.checkpoints.get(&seq) else {
            return;
        };
        let quorum = self.config.quorum();
        let agreed = held
            .values()
            .find(|c| held.values().filter(|o| o.digest == c.digest).count() >= quorum);
        let Some(digest) = agreed.map(|c| c.digest) else {
            return;
        };
        let proof: Vec<Checkpoint> = held
            .values()
            .filter(|c| c.digest == digest)
            .cloned()
            .collect();
        let cert = CheckpointCert { seq, digest, proof };
        match self.own_checkpoints.get(&seq) {
            Some(own) if own.digest == digest => {
                let stable = StableCheckpoint {
                    cert,
                    state: own.state.clone(),
                    progress: own.progress.clone(),
                };
                self.make_stable(stable, out);
            }
            Some(_) => out.note(format_args!(
                "checkpoint {seq} is stable with digest {digest}, which is not this replica's"
            )),
            None if self.last_executed < seq => self.start_fetch(cert, out),
            None => {} // executed, snapshot not answered yet: on_host_checkpoint retries
        }
    }

    /// Persist a stable checkpoint, move the low watermark to it, collect the log (§4.3).
    pub(crate) fn make_stable(&mut self, stable: StableCheckpoint, out: &mut Ready) {
        let seq = stable.cert.seq;
        assert!(
            seq > self.stable.cert.seq && seq <= self.last_executed,
            "the low watermark moves only forward, to a checkpoint this replica has reached"
        );
        assert!(
            stable.cert.proof.len() >= self.config.quorum(),
            "the low watermark moves only to a checkpoint with a 2f+1 proof"
        );
        out.writes.push(Write::Stable(stable.clone()));
        self.stable_holders = stable.cert.proof.iter().map(|c| c.sig.signer).collect();
        self.stable = stable;
        self.log.collect_through(seq);
        self.checkpoints = self.checkpoints.split_off(&(seq + 1));
        self.own_checkpoints = self.own_checkpoints.split_off(&(seq + 1));
        self.due = self.due.split_off(&(seq + 1));
        if self.fetch.as_ref().is_some_and(|f| f.cert.seq <= seq) {
            self.fetch = None;
        }
        self.assign_pending(out); // the high watermark moved too
    }

    /// This replica is behind a stable checkpoint: ask for its state.
    pub(crate) fn start_fetch(&mut self, cert: CheckpointCert, out: &mut Ready) {
        if self.fetch.as_ref().is_some_and(|f| f.cert.seq >= cert.seq) {
            return;
        }
        self.fetch = Some(Fetch {
            cert,
            attempts: 0,
            elapsed: 0,
        });
        self.ask_for_state(out);
    }

    /// Ask the next signer of the proof (not this replica) for the state.
    fn ask_for_state(&mut self, out: &mut Ready) {
        let me = self.config.id;
        let Some(fetch) = self.fetch.as_mut() else {
            return;
        };
        let signers: Vec<NodeId> = fetch
            .cert
            .proof
            .iter()
            .map(|c| c.sig.signer)
            .filter(|&s| s != me)
            .collect();
        let Some(&to) = signers.get(fetch.attempts % signers.len().max(1)) else {
            return;
        };
        fetch.attempts += 1;
        fetch.elapsed = 0;
        let msg = FetchState::new(fetch.cert.seq, &self.signer);
        self.send(to, msg.into(), out);
    }

    /// Ask again, someone else, when a fetch has waited `request_timeout_ticks`.
    pub(crate) fn tick_fetch(&mut self, out: &mut Ready) {
        let timeout = self.config.request_timeout_ticks;
        if let Some(fetch) = self.fetch.as_mut() {
            fetch.elapsed += 1;
            if fetch.elapsed >= timeout {
                self.ask_for_state(out);
            }
        }
    }

    /// A lagging replica asks for the state of a stable checkpoint at or after `seq`.
    pub(crate) fn on_fetch_state(&mut self, from: NodeId, m: FetchState, out: &mut Ready) {
        let stable = &self.stable;
        if stable.cert.seq == 0 || stable.cert.seq < m.seq {
            out.note(format_args!(
                "ignored {m} from {from}: the stable checkpoint here is {}",
                stable.cert.seq
            ));
            return self.drop_msg();
        }
        let msg = StateTransfer::new(
            stable.cert.seq,
            stable.state.clone(),
            stable.progress.clone(),
            stable.cert.proof.clone(),
            &self.signer,
        );
        self.send(from, msg.into(), out);
    }

    /// The state of a stable checkpoint: check it against its proof and install it.
    pub(crate) fn on_state_transfer(&mut self, from: NodeId, m: StateTransfer, out: &mut Ready) {
        let why: Cow<'static, str> = if m.seq <= self.last_executed || m.seq <= self.stable.cert.seq
        {
            "this replica is not behind it".into()
        } else if m.state.len() > self.config.state_bytes_max {
            "state over state_bytes_max".into()
        } else {
            let cert = CheckpointCert {
                seq: m.seq,
                digest: Checkpoint::digest_of(&m.state, &m.progress),
                proof: m.proof.clone(),
            };
            match check_checkpoint_cert(&self.config, &self.verifier, &cert) {
                Ok(()) => return self.install_state(cert, m, out),
                Err(e) => format!("the proof does not certify the state: {e}").into(),
            }
        };
        out.note(format_args!("ignored {m} from {from}: {why}"));
        self.drop_msg();
    }

    fn install_state(&mut self, cert: CheckpointCert, m: StateTransfer, out: &mut Ready) {
        let seq = cert.seq;
        self.last_executed = seq;
        self.progress = m.progress.clone();
        let stable = StableCheckpoint {
            cert,
            state: m.state.clone(),
            progress: m.progress,
        };
        self.make_stable(stable, out);
        self.counters.state_transfers += 1;
        // Which waiting requests the state already covers is unknown here: forget them all
        // (their clients retransmit), or the request timer would suspect a healthy primary.
        self.waiting.clear();
        self.request_timer = None;
        out.outputs.push(Output::RestoreState {
            seq,
            state: m.state,
        });
    }
}
