//! The normal-case messages (PBFT §4.2): a client's request, and the three phases that order
//! it. Handled in normal.rs.
//!
//! ```text
//!   client ── Request{client ts op} ──► primary (or, after a timeout, every replica)
//!   primary ── PrePrepare{view seq digest request} ──► backups     assigns seq in view
//!   backup ─── Prepare{view seq digest} ──► all                    "I accept seq for digest"
//!   replica ── Commit{view seq digest} ──► all                     "I am prepared"
//! ```
//!
//! Every replica message carries a [`Signature`] over its fields (auth.rs); a constructor
//! takes the sender's [`Signer`], so code that holds one replica's signer (an honest node, or a
//! Byzantine strategy in the simulator) builds exactly the messages that replica may sign.
//! A request carries no signature here: client authentication is outside this crate's model
//! (see lib.rs, "Not modelled").

use std::fmt;

use bytes::Bytes;

use crate::auth::{Digest, DigestBuilder, Signature, Signer, Verifier};

/// A view number (§4.1): view `v`'s primary is `replicas[v mod n]`.
pub type View = u64;
/// A sequence number the primary assigns to a request (§4.2).
pub type Seq = u64;

/// A client's operation (§4.1 `⟨REQUEST, o, t, c⟩`). The host applies `op` to its state machine
/// when the request is executed and answers the client itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The client's id: with `timestamp`, names the request (exactly-once semantics live in the
    /// host's state machine, the paper's reply cache).
    pub client: u64,
    /// The client's timestamp, growing with each request it sends (§4.1).
    pub timestamp: u64,
    /// The operation, opaque to PBFT.
    pub op: Bytes,
}

impl Request {
    /// A request.
    pub fn new(client: u64, timestamp: u64, op: impl Into<Bytes>) -> Request {
        Request {
            client,
            timestamp,
            op: op.into(),
        }
    }
    /// The request's digest `D(m)`: what the three phases agree on.
    pub fn digest(&self) -> Digest {
        let mut b = DigestBuilder::new("Request");
        b.u64(self.client).u64(self.timestamp).bytes(&self.op);
        b.finish()
    }
}

/// The primary assigns `seq` to the request with `digest` in `view` (§4.2). `request` is
/// `None` for a null request (a gap a new primary fills, §4.4), whose digest is `Digest::NULL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrePrepare {
    /// The view the assignment is made in.
    pub view: View,
    /// The sequence number assigned.
    pub seq: Seq,
    /// The request's digest; must match `request`.
    pub digest: Digest,
    /// The request itself, piggybacked (the paper's `m`); `None` for a null request.
    pub request: Option<Request>,
    /// The primary's signature over (view, seq, digest).
    pub sig: Signature,
}

impl PrePrepare {
    /// The primary `signer` assigns `seq` in `view` to `request` (`None`: a null request).
    pub fn new(view: View, seq: Seq, request: Option<Request>, signer: &Signer) -> PrePrepare {
        let digest = request.as_ref().map_or(Digest::NULL, Request::digest);
        let sig = signer.sign(&phase_digest("PrePrepare", view, seq, &digest));
        PrePrepare {
            view,
            seq,
            digest,
            request,
            sig,
        }
    }
    /// The digest the signature covers.
    pub fn body_digest(&self) -> Digest {
        phase_digest("PrePrepare", self.view, self.seq, &self.digest)
    }
    /// Is the signature valid, and does the piggybacked request match the digest?
    pub fn verify(&self, v: &Verifier) -> bool {
        let matches = self.request.as_ref().map_or(Digest::NULL, Request::digest) == self.digest;
        matches && v.verify(&self.sig, &self.body_digest())
    }
}

/// A backup accepted the pre-prepare for (view, seq, digest) (§4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepare {
    /// The view of the pre-prepare accepted.
    pub view: View,
    /// Its sequence number.
    pub seq: Seq,
    /// Its request digest.
    pub digest: Digest,
    /// The backup's signature over (view, seq, digest).
    pub sig: Signature,
}

impl Prepare {
    /// `signer` prepares (view, seq, digest).
    pub fn new(view: View, seq: Seq, digest: Digest, signer: &Signer) -> Prepare {
        let sig = signer.sign(&phase_digest("Prepare", view, seq, &digest));
        Prepare {
            view,
            seq,
            digest,
            sig,
        }
    }
    /// Is the signature valid?
    pub fn verify(&self, v: &Verifier) -> bool {
        v.verify(
            &self.sig,
            &phase_digest("Prepare", self.view, self.seq, &self.digest),
        )
    }
}

/// The sender is prepared for (view, seq, digest) (§4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The view it prepared in.
    pub view: View,
    /// The sequence number.
    pub seq: Seq,
    /// The request digest.
    pub digest: Digest,
    /// The sender's signature over (view, seq, digest).
    pub sig: Signature,
}

impl Commit {
    /// `signer` commits (view, seq, digest).
    pub fn new(view: View, seq: Seq, digest: Digest, signer: &Signer) -> Commit {
        let sig = signer.sign(&phase_digest("Commit", view, seq, &digest));
        Commit {
            view,
            seq,
            digest,
            sig,
        }
    }
    /// Is the signature valid?
    pub fn verify(&self, v: &Verifier) -> bool {
        v.verify(
            &self.sig,
            &phase_digest("Commit", self.view, self.seq, &self.digest),
        )
    }
}

/// The signed digest of a phase message: its type, view, seq and request digest.
fn phase_digest(domain: &str, view: View, seq: Seq, digest: &Digest) -> Digest {
    let mut b = DigestBuilder::new(domain);
    b.u64(view).u64(seq).digest(digest);
    b.finish()
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Request {
            client, timestamp, ..
        } = self;
        write!(
            f,
            "Request{{client={client} ts={timestamp} digest={}}}",
            self.digest()
        )
    }
}

impl fmt::Display for PrePrepare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let null = if self.request.is_none() { " null" } else { "" };
        write!(
            f,
            "PrePrepare{{view={} seq={} digest={}{null}}}",
            self.view, self.seq, self.digest
        )
    }
}

impl fmt::Display for Prepare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Prepare {
            view, seq, digest, ..
        } = self;
        write!(f, "Prepare{{view={view} seq={seq} digest={digest}}}")
    }
}

impl fmt::Display for Commit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Commit {
            view, seq, digest, ..
        } = self;
        write!(f, "Commit{{view={view} seq={seq} digest={digest}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Keyring;
    use distributed_core::NodeId;

    #[test]
    fn a_prepare_signature_does_not_verify_as_a_commit() {
        let keys = Keyring::new(1);
        let p = Prepare::new(0, 1, Digest::NULL, &keys.signer(NodeId(2)));
        let c = Commit {
            view: p.view,
            seq: p.seq,
            digest: p.digest,
            sig: p.sig,
        };
        assert!(p.verify(&keys.verifier()));
        assert!(!c.verify(&keys.verifier()), "domain tags keep types apart");
    }

    #[test]
    fn a_pre_prepare_whose_request_does_not_match_its_digest_fails() {
        let keys = Keyring::new(1);
        let mut pp = PrePrepare::new(0, 1, Some(Request::new(1, 1, "x")), &keys.signer(NodeId(1)));
        assert!(pp.verify(&keys.verifier()));
        pp.request = Some(Request::new(1, 1, "y"));
        assert!(!pp.verify(&keys.verifier()));
    }

    #[test]
    fn phase_messages_print_as_one_line() {
        let keys = Keyring::new(1);
        let pp = PrePrepare::new(2, 17, None, &keys.signer(NodeId(1)));
        assert_eq!(
            pp.to_string(),
            "PrePrepare{view=2 seq=17 digest=000000 null}"
        );
        let p = Prepare::new(2, 17, Digest([0x3f; 32]), &keys.signer(NodeId(2)));
        assert_eq!(p.to_string(), "Prepare{view=2 seq=17 digest=3f3f3f}");
    }
}
