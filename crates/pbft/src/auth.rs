//! Digests and signatures, modelled explicitly (PBFT §2 "system model", OSDI '99 §4).
//!
//! PBFT needs two things from cryptography: a collision-resistant **digest** (a request is
//! agreed on by its digest, a checkpoint by its state's digest) and **authentication** that a
//! Byzantine replica cannot forge. This crate uses the OSDI '99 scheme: every protocol message
//! is *signed*. Signatures are transferable: a replica can show a third one a certificate
//! (2f+1 checkpoints, a pre-prepare with 2f prepares) and the third one can check it, which is
//! what makes view-change messages verifiable. The road not taken: the TOCS 2002 MAC
//! authenticators, much cheaper but not transferable, which need a more complex view change.
//!
//! ```text
//!   Keyring::new(seed) ── secret(id) = SHA-256("pbft secret" ‖ seed ‖ id)   (a trusted dealer)
//!        │ signer(id)                          │ verifier()
//!        ▼                                     ▼
//!   Signer{id, secret}                   Verifier (secrets private, never handed out)
//!   sign(d) = Signature{signer=id,       verify(sig, d): recompute SHA-256(secret(signer) ‖ d)
//!             tag=SHA-256(secret ‖ d)}   and compare: it stands for a public-key check
//! ```
//!
//! What each piece stands for: `Digest` is SHA-256 (the paper used MD5); a `Signature`'s tag is
//! a keyed digest standing for a public-key signature (Rabin-Williams in the paper; Ed25519
//! today); `Verifier::verify` stands for checking it against the signer's public key. The model
//! keeps the one property the protocol needs: **code holding only node A's [`Signer`] cannot
//! produce a tag that verifies for node B**, because B's secret is reachable only through B's
//! `Signer` or the `Keyring`, and neither `Signer` nor `Verifier` hands a secret out.
//! The seed is the dealer's: whoever holds it (the host that builds the cluster) holds every
//! key, so a simulator gives a Byzantine adversary only its own `Signer`.
//!
//! Invariant: digests are computed over a canonical encoding (`DigestBuilder`) that starts
//! with a domain tag per message type, so a signature on a `Prepare` never verifies as a
//! `Commit` with the same fields.

use std::fmt;

use distributed_core::NodeId;
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest. Prints as its first 6 hex digits, as traces do.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of a null request (PBFT §4.4: the new primary fills gaps with null requests).
    /// All zeros: no SHA-256 output is expected to be all zeros.
    pub const NULL: Digest = Digest([0; 32]);

    /// The digest of some bytes (a checkpoint's state).
    pub fn of_bytes(bytes: &[u8]) -> Digest {
        let mut b = DigestBuilder::new("bytes");
        b.bytes(bytes);
        b.finish()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0[..3] {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// A canonical encoding fed into SHA-256: a domain tag, then fixed-width little-endian numbers
/// and length-prefixed byte strings, so two different messages never encode alike.
pub struct DigestBuilder {
    /// The running hash.
    hasher: Sha256,
}

impl DigestBuilder {
    /// Start a digest for one kind of value (`"Prepare"`, `"Request"`, …).
    pub fn new(domain: &str) -> DigestBuilder {
        let mut b = DigestBuilder {
            hasher: Sha256::new(),
        };
        b.bytes(domain.as_bytes());
        b
    }
    /// Feed a number.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.hasher.update(v.to_le_bytes());
        self
    }
    /// Feed a byte string, length first.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u64(v.len() as u64);
        self.hasher.update(v);
        self
    }
    /// Feed a digest.
    pub fn digest(&mut self, d: &Digest) -> &mut Self {
        self.hasher.update(d.0);
        self
    }
    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        Digest(self.hasher.finalize().into())
    }
}

/// A signature on a message digest: who signed, and the tag only that signer's secret makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The replica that claims to have signed. Checked against the envelope's sender.
    pub signer: NodeId,
    /// SHA-256(secret(signer) ‖ message digest): stands for a public-key signature.
    pub tag: Digest,
}

/// A replica's secret, derived by the dealer from the seed. Private to this module.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Secret([u8; 32]);

fn secret_of(seed: u64, id: NodeId) -> Secret {
    let mut b = DigestBuilder::new("pbft secret");
    b.u64(seed).u64(id.0);
    Secret(b.finish().0)
}

fn tag_of(secret: &Secret, message: &Digest) -> Digest {
    let mut b = DigestBuilder::new("pbft signature");
    b.bytes(&secret.0).digest(message);
    b.finish()
}

/// The dealer: derives every replica's secret from one seed (a model of a PKI set up before
/// the system starts). Whoever holds it can sign for anyone; hand out only [`Signer`]s.
#[derive(Clone)]
pub struct Keyring {
    /// The seed every secret is derived from.
    seed: u64,
}

impl Keyring {
    /// The dealer for `seed` (`Config::key_seed`).
    pub fn new(seed: u64) -> Keyring {
        Keyring { seed }
    }
    /// The signing key of replica `id`, and nothing else.
    pub fn signer(&self, id: NodeId) -> Signer {
        Signer {
            id,
            secret: secret_of(self.seed, id),
        }
    }
    /// A verifier for every replica's signatures, which never reveals a secret.
    pub fn verifier(&self) -> Verifier {
        Verifier { seed: self.seed }
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring{..}")
    }
}

/// One replica's signing key. It signs as that replica only.
#[derive(Clone)]
pub struct Signer {
    /// Whose key this is: every signature it makes names this replica.
    id: NodeId,
    /// The secret; never leaves this struct.
    secret: Secret,
}

impl Signer {
    /// The replica this key signs for.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// Sign a message digest.
    pub fn sign(&self, message: &Digest) -> Signature {
        Signature {
            signer: self.id,
            tag: tag_of(&self.secret, message),
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer{{{}}}", self.id)
    }
}

/// Checks any replica's signatures; stands for a table of public keys.
#[derive(Clone)]
pub struct Verifier {
    /// The dealer's seed, private: a verifier recomputes a tag, it never hands out a secret.
    seed: u64,
}

impl Verifier {
    /// Does `sig` sign `message` as `sig.signer`?
    pub fn verify(&self, sig: &Signature, message: &Digest) -> bool {
        tag_of(&secret_of(self.seed, sig.signer), message) == sig.tag
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier{..}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_for_its_signer_and_its_message_only() {
        let keys = Keyring::new(7);
        let (a, v) = (keys.signer(NodeId(1)), keys.verifier());
        let m = Digest::of_bytes(b"hello");
        let sig = a.sign(&m);
        assert!(v.verify(&sig, &m));
        assert!(!v.verify(&sig, &Digest::of_bytes(b"other")));
        let claimed = Signature {
            signer: NodeId(2),
            ..sig
        };
        assert!(!v.verify(&claimed, &m), "n1's tag does not verify as n2's");
    }

    #[test]
    fn another_seed_makes_other_keys() {
        let m = Digest::of_bytes(b"x");
        let sig = Keyring::new(1).signer(NodeId(1)).sign(&m);
        assert!(!Keyring::new(2).verifier().verify(&sig, &m));
    }

    #[test]
    fn digests_print_their_first_six_hex_digits() {
        assert_eq!(Digest([0xab; 32]).to_string(), "ababab");
        assert_eq!(Digest::NULL.to_string(), "000000");
    }
}
