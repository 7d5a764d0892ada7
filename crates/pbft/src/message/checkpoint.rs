//! Checkpoint and state-transfer messages (PBFT §4.3; TOCS 2002 §5.3 for state transfer).
//! Handled in checkpoint.rs.
//!
//! ```text
//!   replica ── Checkpoint{seq digest} ──► all       after executing seq, a multiple of K
//!   2f+1 matching ══► stable checkpoint: proof = those 2f+1 signed Checkpoints
//!   lagging ── FetchState{seq} ──► a signer of the proof
//!   signer ─── StateTransfer{seq state progress proof} ──► lagging  checks D(state ‖ progress)
//!                                                         against the proof's digest
//! ```

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;

use crate::auth::{Digest, DigestBuilder, Signature, Signer, Verifier};
use crate::message::normal::Seq;

/// What execution produced beside the host's state, certified with it at each checkpoint: the
/// executed history's digest and the client table (the last timestamp executed per client,
/// the paper's record behind exactly-once semantics, §4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The running digest of the executed history (`Pbft::history`).
    pub history: Digest,
    /// client → the timestamp of its last executed request; bounded by `Config::clients_max`.
    pub clients: BTreeMap<u64, u64>,
}

impl Progress {
    fn feed(&self, b: &mut DigestBuilder) {
        b.digest(&self.history).u64(self.clients.len() as u64);
        for (&client, &ts) in &self.clients {
            b.u64(client).u64(ts);
        }
    }
}

/// The sender's state after executing `seq` has digest `digest` (§4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The sequence number of the last request the state reflects.
    pub seq: Seq,
    /// `Checkpoint::digest_of(state, progress)`: the state's digest and the progress's.
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
    /// The digest a checkpoint certifies: D(D(state) ‖ progress). The paper's state includes
    /// the client table; here it is the replica's, so it is digested beside the host's state,
    /// with the history digest, and a replica that restores a state by transfer restores both,
    /// checked by the proof.
    pub fn digest_of(state: &[u8], progress: &Progress) -> Digest {
        let mut b = DigestBuilder::new("CheckpointState");
        b.digest(&Digest::of_bytes(state));
        progress.feed(&mut b);
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
/// sender: `Checkpoint::digest_of(state, progress)` must equal the digest 2f+1 replicas signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateTransfer {
    /// The checkpoint's sequence number.
    pub seq: Seq,
    /// The state machine's snapshot at `seq`, in the host's format.
    pub state: Bytes,
    /// The history digest and client table at `seq`.
    pub progress: Progress,
    /// 2f+1 signed `Checkpoint{seq, digest_of(state, progress)}` from distinct replicas.
    pub proof: Vec<Checkpoint>,
    /// The sender's signature (the proof is what is trusted; this names the sender).
    pub sig: Signature,
}

impl StateTransfer {
    /// `signer` sends the state at `seq` with its proof.
    pub fn new(
        seq: Seq,
        state: Bytes,
        progress: Progress,
        proof: Vec<Checkpoint>,
        signer: &Signer,
    ) -> StateTransfer {
        let mut t = StateTransfer {
            seq,
            state,
            progress,
            proof,
            sig: signer.sign(&Digest::NULL),
        };
        t.sig = signer.sign(&t.body_digest());
        t
    }
    fn body_digest(&self) -> Digest {
        let mut b = DigestBuilder::new("StateTransfer");
        b.u64(self.seq).bytes(&self.state);
        self.progress.feed(&mut b);
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
