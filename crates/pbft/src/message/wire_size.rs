//! The size of every PBFT message on the wire ([`WireSize`]). No server runs PBFT yet, so
//! there is no encoding to measure: each message is sized field by field as it would be
//! written in the workspace's one vocabulary (`distributed_core::wire`), with its digests and
//! signatures at their real lengths and every certificate it carries counted in full, which
//! is what the simulator counts when it compares PBFT with Raft and Paxos.
//!
//! ```text
//!   the rule: [kind u8][the struct's fields, in declaration order]
//!     view, seq, client, timestamp   u64 8         Digest     32 raw bytes (SHA-256)
//!     Signature  [signer u64][tag 32]  40          bytes      [len u32][bytes]
//!     Vec<T>     [count u32] + each                Option<T>  [flag u8] + T if present
//!
//!   Prepare, Commit     89 = kind 1 + view 8 + seq 8 + digest 32 + signature 40
//!   PrePrepare          90 + (20 + len(op) with a request, 0 for a null request)
//!   Request 21 + len(op)   Checkpoint 81   FetchState 49
//!   StateTransfer       57 + len(state) + progress (36 + 16 per client) + 80 per proof
//!   ViewChange          53 + checkpoint cert (44 + 80 per proof) + prepared certs, each
//!                       a PrePrepare without its kind (89 + request) + 4 + 88 per Prepare
//!   NewView             57 + Σ its 2f+1 ViewChanges (each without its kind) + Σ PrePrepares
//! ```
//!
//! Nested messages (the checkpoints of a proof, the prepares of a certificate, the
//! ViewChanges of a NewView) are written without a kind byte: their place says what they are.
//! The sender is the signature's signer, so it is not counted twice; like Raft's and Paxos's
//! `wire_bytes`, this counts from the kind byte on, and a server would add its frame around it.
//!
//! Why the counts are what they are: OSDI '99 signs every message, and its signatures are
//! transferable, so a view change *carries* its proofs (2f+1 signed checkpoints, 2f signed
//! prepares per prepared request) and a NewView carries 2f+1 of those. A Prepare alone is
//! 89 bytes where a Raft AppendEntriesResponse is 26; the MAC authenticators of TOCS 2002
//! (auth.rs, the road not taken) are much smaller, and cannot be forwarded as proof.

use distributed_core::wire::{WireSize, KIND_BYTES, U64_BYTES};

use crate::auth::{Digest, Signature};
use crate::message::{
    Checkpoint, CheckpointCert, Commit, FetchState, Message, NewView, PrePrepare, Prepare,
    PreparedCert, Progress, Request, StateTransfer, ViewChange,
};

/// Bytes of a SHA-256 digest, written raw (its length is fixed, so no length prefix).
const DIGEST_BYTES: usize = 32;
/// Bytes of a signature: the signer's id and the tag (a digest-sized stand-in for a
/// public-key signature; an Ed25519 signature is 64).
const SIGNATURE_BYTES: usize = U64_BYTES + DIGEST_BYTES;
const _: () = assert!(std::mem::size_of::<Digest>() == DIGEST_BYTES);

/// The kind byte, then the message's fields.
impl WireSize for Message {
    fn wire_bytes(&self) -> usize {
        KIND_BYTES
            + match self {
                Message::Request(m) => m.wire_bytes(),
                Message::PrePrepare(m) => m.wire_bytes(),
                Message::Prepare(m) => m.wire_bytes(),
                Message::Commit(m) => m.wire_bytes(),
                Message::Checkpoint(m) => m.wire_bytes(),
                Message::FetchState(m) => m.wire_bytes(),
                Message::StateTransfer(m) => m.wire_bytes(),
                Message::ViewChange(m) => m.wire_bytes(),
                Message::NewView(m) => m.wire_bytes(),
            }
    }
}

impl WireSize for Digest {
    fn wire_bytes(&self) -> usize {
        DIGEST_BYTES
    }
}

impl WireSize for Signature {
    fn wire_bytes(&self) -> usize {
        SIGNATURE_BYTES
    }
}

/// `[client][timestamp][op]`.
impl WireSize for Request {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES + self.op.wire_bytes()
    }
}

/// `[view][seq][digest][request?][sig]`.
impl WireSize for PrePrepare {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES + DIGEST_BYTES + self.request.wire_bytes() + SIGNATURE_BYTES
    }
}

/// `[view][seq][digest][sig]`.
impl WireSize for Prepare {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES + DIGEST_BYTES + SIGNATURE_BYTES
    }
}

/// `[view][seq][digest][sig]`.
impl WireSize for Commit {
    fn wire_bytes(&self) -> usize {
        2 * U64_BYTES + DIGEST_BYTES + SIGNATURE_BYTES
    }
}

/// `[seq][digest][sig]`.
impl WireSize for Checkpoint {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + DIGEST_BYTES + SIGNATURE_BYTES
    }
}

/// `[seq][sig]`.
impl WireSize for FetchState {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + SIGNATURE_BYTES
    }
}

/// `[history digest][clients: count, then client and timestamp each]`.
impl WireSize for Progress {
    fn wire_bytes(&self) -> usize {
        DIGEST_BYTES + self.clients.wire_bytes()
    }
}

/// `[seq][state][progress][proof…][sig]`.
impl WireSize for StateTransfer {
    fn wire_bytes(&self) -> usize {
        let proof = self.proof.wire_bytes();
        U64_BYTES + self.state.wire_bytes() + self.progress.wire_bytes() + proof + SIGNATURE_BYTES
    }
}

/// `[seq][digest][proof: the 2f+1 signed Checkpoints]`.
impl WireSize for CheckpointCert {
    fn wire_bytes(&self) -> usize {
        U64_BYTES + DIGEST_BYTES + self.proof.wire_bytes()
    }
}

/// `[pre-prepare with its request][prepares: 2f signed Prepares]`.
impl WireSize for PreparedCert {
    fn wire_bytes(&self) -> usize {
        self.pre_prepare.wire_bytes() + self.prepares.wire_bytes()
    }
}

/// `[new_view][checkpoint cert][prepared certs…][sig]`.
impl WireSize for ViewChange {
    fn wire_bytes(&self) -> usize {
        let certs = self.checkpoint.wire_bytes() + self.prepared.wire_bytes();
        U64_BYTES + certs + SIGNATURE_BYTES
    }
}

/// `[view][view changes: 2f+1, each in full][pre-prepares…][sig]`.
impl WireSize for NewView {
    fn wire_bytes(&self) -> usize {
        let body = self.view_changes.wire_bytes() + self.pre_prepares.wire_bytes();
        U64_BYTES + body + SIGNATURE_BYTES
    }
}

#[cfg(test)]
mod tests {
    use distributed_core::NodeId;

    use super::*;
    use crate::auth::Keyring;

    #[test]
    fn a_prepare_is_89_bytes() {
        // kind 1 + view 8 + seq 8 + digest 32 + signature (signer 8 + tag 32) = 89.
        let keys = Keyring::new(1);
        let p = Prepare::new(2, 17, Digest([0x3f; 32]), &keys.signer(NodeId(2)));
        assert_eq!(Message::from(p.clone()).wire_bytes(), 89);
        let c = Commit::new(p.view, p.seq, p.digest, &keys.signer(NodeId(2)));
        assert_eq!(Message::from(c).wire_bytes(), 89, "same fields");
    }

    #[test]
    fn a_pre_prepare_carries_its_request_and_a_null_one_only_a_flag() {
        let keys = Keyring::new(1);
        let s = keys.signer(NodeId(1));
        // kind 1 + view 8 + seq 8 + digest 32 + request flag 1 + signature 40 = 90.
        let null = PrePrepare::new(1, 4, None, &s);
        assert_eq!(Message::from(null).wire_bytes(), 90);
        // + client 8 + timestamp 8 + op length 4 + "put k v" 7.
        let put = PrePrepare::new(1, 5, Some(Request::new(3, 9, b"put k v".to_vec())), &s);
        assert_eq!(Message::from(put).wire_bytes(), 90 + 27);
    }

    #[test]
    fn a_view_change_carries_its_proofs_and_a_new_view_carries_2f_plus_1_view_changes() {
        // f = 2: a stable checkpoint proven by 2f+1 = 5 signed Checkpoints, one request
        // prepared after it with 2f = 4 signed Prepares.
        let keys = Keyring::new(1);
        let s = |id| keys.signer(NodeId(id));
        let d = Digest([0xab; 32]);
        let proof: Vec<Checkpoint> = (1..=5).map(|id| Checkpoint::new(16, d, &s(id))).collect();
        // seq 8 + digest 32 + count 4 + 5 × (seq 8 + digest 32 + signature 40) = 444.
        let checkpoint = CheckpointCert {
            seq: 16,
            digest: d,
            proof,
        };
        assert_eq!(checkpoint.wire_bytes(), 444);
        let pp = PrePrepare::new(0, 17, Some(Request::new(3, 9, b"x".to_vec())), &s(1));
        let prepares: Vec<Prepare> = (2..=5)
            .map(|id| Prepare::new(0, 17, pp.digest, &s(id)))
            .collect();
        // pre-prepare 89 + request 21, + count 4 + 4 × 88 = 466.
        let cert = PreparedCert {
            pre_prepare: pp,
            prepares,
        };
        assert_eq!(cert.wire_bytes(), 110 + 4 + 4 * 88);
        let vc = ViewChange::new(1, checkpoint, vec![cert], &s(3));
        // new_view 8 + 444 + count 4 + 466 + signature 40 = 962, + kind 1 as a message.
        assert_eq!(vc.wire_bytes(), 962);
        assert_eq!(Message::from(vc.clone()).wire_bytes(), 963);
        let nv = NewView::new(1, vec![vc; 5], Vec::new(), &s(2));
        // kind 1 + view 8 + count 4 + 5 × 962 + count 4 + signature 40.
        assert_eq!(Message::from(nv).wire_bytes(), 1 + 8 + 4 + 5 * 962 + 4 + 40);
    }
}
