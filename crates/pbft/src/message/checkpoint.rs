//! Checkpoint and state-transfer messages (PBFT §4.3; TOCS 2002 §5.3 for state transfer).
//! Handled in checkpoint.rs.
//!
//! ```text
//!   replica ── Checkpoint{seq digest} ──► all       after executing seq, a multiple of K
//!   2f+1 matching ══► stable checkpoint: proof = those 2f+1 signed Checkpoints
//!   lagging ── FetchState{seq} ──► a signer of the proof
//!   signer ─── StateTransfer{seq state history proof} ──► lagging   checks D(state ‖ history)
//!                                                         against the proof's digest
//! ```

use std::fmt;

use bytes::Bytes;

use crate::auth::{Digest, DigestBuilder, Signature, Signer, Verifier};
use crate::message::normal::Seq;

/// The sender's state after executing `seq` has digest `digest` (§4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The sequence number of the last request the state reflects.
    pub seq: Seq,
    /// `Checkpoint::digest_of(state, history)`: the state's digest and the executed history's.
    pub digest: Digest,
    /// The sender's signature over (seq, digest).
    pub sig: Signature,
}

impl Checkpoint {
    /// `signer`'s state at `seq` has `digest`.
    pub fn new(seq: Seq, digest: Digest, signer: &Signer) -> Checkpoint {
        let sig = signer.sign(&checkpoint_digest(seq, &digest));
        Checkpoint { seq, digest, sig }
    }
    /// Is the signature valid?
    pub fn verify(&self, v: &Verifier) -> bool {
        v.verify(&self.sig, &checkpoint_digest(self.seq, &self.digest))
    }
    /// The digest a checkpoint certifies: D(D(state) ‖ history). The paper digests the state
    /// alone; adding the history digest (`Pbft::history`) costs nothing and lets a replica that
    /// restores a state by transfer also restore the history digest, checked by the proof.
    pub fn digest_of(state: &[u8], history: &Digest) -> Digest {
        let mut b = DigestBuilder::new("CheckpointState");
        b.digest(&Digest::of_bytes(state)).digest(history);
        b.finish()
    }
}

fn checkpoint_digest(seq: Seq, digest: &Digest) -> Digest {
    let mut b = DigestBuilder::new("Checkpoint");
    b.u64(seq).digest(digest);
    b.finish()
}

/// A lagging replica asks for the state of a stable checkpoint at `seq` or later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchState {
    /// The stable checkpoint the sender knows of and lacks the state of.
    pub seq: Seq,
    /// The sender's signature over `seq`.
    pub sig: Signature,
}

impl FetchState {
    /// `signer` asks for the state at `seq` or later.
    pub fn new(seq: Seq, signer: &Signer) -> FetchState {
        FetchState {
            seq,
            sig: signer.sign(&fetch_digest(seq)),
        }
    }
    /// Is the signature valid?
    pub fn verify(&self, v: &Verifier) -> bool {
        v.verify(&self.sig, &fetch_digest(self.seq))
    }
}

fn fetch_digest(seq: Seq) -> Digest {
    let mut b = DigestBuilder::new("FetchState");
    b.u64(seq);
    b.finish()
}

/// The state at a stable checkpoint, with its proof. The receiver trusts the proof, not the
/// sender: `Checkpoint::digest_of(state, history)` must equal the digest 2f+1 replicas signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateTransfer {
    /// The checkpoint's sequence number.
    pub seq: Seq,
    /// The state machine's snapshot at `seq`, in the host's format.
    pub state: Bytes,
    /// The executed history's digest at `seq`.
    pub history: Digest,
    /// 2f+1 signed `Checkpoint{seq, digest_of(state, history)}` from distinct replicas.
    pub proof: Vec<Checkpoint>,
    /// The sender's signature (the proof is what is trusted; this names the sender).
    pub sig: Signature,
}

impl StateTransfer {
    /// `signer` sends the state at `seq` with its proof.
    pub fn new(
        seq: Seq,
        state: Bytes,
        history: Digest,
        proof: Vec<Checkpoint>,
        signer: &Signer,
    ) -> StateTransfer {
        let mut t = StateTransfer {
            seq,
            state,
            history,
            proof,
            sig: signer.sign(&Digest::NULL),
        };
        t.sig = signer.sign(&t.body_digest());
        t
    }
    fn body_digest(&self) -> Digest {
        let mut b = DigestBuilder::new("StateTransfer");
        b.u64(self.seq).bytes(&self.state).digest(&self.history);
        for c in &self.proof {
            b.u64(c.sig.signer.0).digest(&c.sig.tag);
        }
        b.finish()
    }
    /// Is the sender's signature valid? (The proof is checked by the receiver, certs.rs.)
    pub fn verify(&self, v: &Verifier) -> bool {
        v.verify(&self.sig, &self.body_digest())
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checkpoint{{seq={} digest={}}}", self.seq, self.digest)
    }
}

impl fmt::Display for FetchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FetchState{{seq={}}}", self.seq)
    }
}

impl fmt::Display for StateTransfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StateTransfer{{seq={} bytes={} digest={} proof={}}}",
            self.seq,
            self.state.len(),
            Digest::of_bytes(&self.state),
            self.proof.len()
        )
    }
}
