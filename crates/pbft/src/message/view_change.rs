//! View-change messages and the certificates they carry (PBFT §4.4, OSDI '99 signatures).
//! Handled in view_change.rs; certificates are checked in certs.rs.
//!
//! ```text
//!   replica ── ViewChange{new_view=v+1 stable=(s,d) proof=2f+1 Checkpoint
//!                         prepared=[PreparedCert{PrePrepare + 2f Prepare}, …]} ──► all
//!   primary(v+1), with 2f+1 ViewChange for v+1 (its own included):
//!          ── NewView{view=v+1 view_changes=[2f+1 ViewChange] pre_prepares=O} ──► all
//!   O: for each seq in (min-s, max-s]: the request of the prepared cert with the highest
//!      view for seq, else a null request; every backup recomputes O and compares.
//! ```

use std::fmt;

use crate::auth::{Digest, DigestBuilder, Signature, Signer, Verifier};
use crate::message::checkpoint::Checkpoint;
use crate::message::normal::{PrePrepare, Prepare, Seq, View};

/// A stable checkpoint and its proof: 2f+1 signed `Checkpoint{seq, digest}` from distinct
/// replicas (none for the initial state, seq 0).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CheckpointCert {
    /// The checkpoint's sequence number.
    pub seq: Seq,
    /// The state's digest (`Digest::NULL` for the initial state at seq 0).
    pub digest: Digest,
    /// The signed checkpoints that make it stable.
    pub proof: Vec<Checkpoint>,
}

/// Proof that a request prepared at (view, seq): the primary's pre-prepare and 2f matching
/// prepares from distinct backups (§4.2 `prepared(m, v, n, i)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedCert {
    /// The pre-prepare, with the request.
    pub pre_prepare: PrePrepare,
    /// 2f prepares matching it, from distinct replicas other than the view's primary.
    pub prepares: Vec<Prepare>,
}

impl PreparedCert {
    /// The view the request prepared in.
    pub fn view(&self) -> View {
        self.pre_prepare.view
    }
    /// Its sequence number.
    pub fn seq(&self) -> Seq {
        self.pre_prepare.seq
    }
    /// The request's digest.
    pub fn digest(&self) -> Digest {
        self.pre_prepare.digest
    }
}

/// The sender moves to `new_view` and reports its stable checkpoint and what it prepared
/// after it (§4.4 `⟨VIEW-CHANGE, v+1, n, C, P, i⟩`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewChange {
    /// The view the sender moves to.
    pub new_view: View,
    /// Its latest stable checkpoint (the paper's `n` and `C`).
    pub checkpoint: CheckpointCert,
    /// A prepared certificate for every seq above the checkpoint it prepared (the paper's `P`),
    /// the highest view's for each seq.
    pub prepared: Vec<PreparedCert>,
    /// The sender's signature over all of it.
    pub sig: Signature,
}

impl ViewChange {
    /// `signer` moves to `new_view`, reporting `checkpoint` and `prepared`.
    pub fn new(
        new_view: View,
        checkpoint: CheckpointCert,
        prepared: Vec<PreparedCert>,
        signer: &Signer,
    ) -> ViewChange {
        let mut vc = ViewChange {
            new_view,
            checkpoint,
            prepared,
            sig: signer.sign(&Digest::NULL),
        };
        vc.sig = signer.sign(&vc.body_digest());
        vc
    }
    fn body_digest(&self) -> Digest {
        let mut b = DigestBuilder::new("ViewChange");
        b.u64(self.new_view).u64(self.checkpoint.seq);
        b.digest(&self.checkpoint.digest);
        for c in &self.checkpoint.proof {
            b.u64(c.seq).digest(&c.digest).u64(c.sig.signer.0);
            b.digest(&c.sig.tag);
        }
        for cert in &self.prepared {
            let pp = &cert.pre_prepare;
            b.digest(&pp.body_digest()).u64(pp.sig.signer.0);
            b.digest(&pp.sig.tag);
            for p in &cert.prepares {
                b.u64(p.view).u64(p.seq).digest(&p.digest);
                b.u64(p.sig.signer.0).digest(&p.sig.tag);
            }
        }
        b.finish()
    }
    /// Is the sender's signature valid? (Its certificates are checked in certs.rs.)
    pub fn verify(&self, v: &Verifier) -> bool {
        v.verify(&self.sig, &self.body_digest())
    }
}

/// The new primary starts `view` (§4.4 `⟨NEW-VIEW, v+1, V, O⟩`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewView {
    /// The view that starts.
    pub view: View,
    /// 2f+1 view-change messages for `view` from distinct replicas (the paper's `V`).
    pub view_changes: Vec<ViewChange>,
    /// The pre-prepares for seqs in (min-s, max-s], in seq order (the paper's `O`).
    pub pre_prepares: Vec<PrePrepare>,
    /// The new primary's signature.
    pub sig: Signature,
}

impl NewView {
    /// `signer` (the primary of `view`) starts it.
    pub fn new(
        view: View,
        view_changes: Vec<ViewChange>,
        pre_prepares: Vec<PrePrepare>,
        signer: &Signer,
    ) -> NewView {
        let mut nv = NewView {
            view,
            view_changes,
            pre_prepares,
            sig: signer.sign(&Digest::NULL),
        };
        nv.sig = signer.sign(&nv.body_digest());
        nv
    }
    fn body_digest(&self) -> Digest {
        let mut b = DigestBuilder::new("NewView");
        b.u64(self.view);
        for vc in &self.view_changes {
            b.u64(vc.sig.signer.0).digest(&vc.sig.tag);
        }
        for pp in &self.pre_prepares {
            b.digest(&pp.body_digest()).digest(&pp.sig.tag);
        }
        b.finish()
    }
    /// Is the primary's signature valid? (Its contents are checked in view_change.rs.)
    pub fn verify(&self, v: &Verifier) -> bool {
        v.verify(&self.sig, &self.body_digest())
    }
}

impl fmt::Display for ViewChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ViewChange{{new_view={} stable=({},{}) prepared=[",
            self.new_view, self.checkpoint.seq, self.checkpoint.digest
        )?;
        for (k, cert) in self.prepared.iter().enumerate() {
            let sep = if k == 0 { "" } else { " " };
            write!(f, "{sep}{}:{}@v{}", cert.seq(), cert.digest(), cert.view())?;
        }
        f.write_str("]}")
    }
}

impl fmt::Display for NewView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NewView{{view={} from=[", self.view)?;
        for (k, vc) in self.view_changes.iter().enumerate() {
            let sep = if k == 0 { "" } else { "," };
            write!(f, "{sep}{}", vc.sig.signer)?;
        }
        f.write_str("] o=[")?;
        for (k, pp) in self.pre_prepares.iter().enumerate() {
            let sep = if k == 0 { "" } else { " " };
            match pp.request {
                None => write!(f, "{sep}{}:null", pp.seq)?,
                Some(_) => write!(f, "{sep}{}:{}", pp.seq, pp.digest)?,
            }
        }
        f.write_str("]}")
    }
}
