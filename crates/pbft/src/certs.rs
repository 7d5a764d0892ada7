//! Checking certificates, and computing a new view's pre-prepares from view changes
//! (PBFT §4.3, §4.4, with the OSDI '99 signatures that make certificates transferable).
//!
//! ```text
//!   CheckpointCert{seq d proof}   seq 0 with no proof (the initial state), or ≥ 2f+1
//!                                 Checkpoint{seq d} with valid signatures, distinct replicas
//!   PreparedCert{pp prepares}     pp signed by primary(pp.view), request matches digest;
//!                                 ≥ 2f Prepare{pp.view pp.seq pp.digest}, valid, distinct,
//!                                 none from the primary
//!   ViewChange{v' C P}            C valid; every cert in P valid, view < v', seq in
//!                                 (C.seq, C.seq + L], one per seq; sizes bounded
//!   O = plan(V):  min-s = highest C.seq in V; max-s = highest prepared seq in V
//!                 for s in (min-s, max-s]: the request of the cert with the highest view
//!                 for s in V, else null
//! ```
//!
//! Every count is of *distinct replicas*, and every signature is checked: a faulty replica
//! can neither repeat one signer nor invent one. The sizes of every list are bounded by n or
//! by the window L before anything is verified, so a huge message costs little to refuse.
//! A refusal says why in the returned text, which the caller puts in a note.

use std::collections::BTreeSet;

use distributed_core::NodeId;

use crate::auth::{Digest, Verifier};
use crate::config::Config;
use crate::message::{CheckpointCert, PreparedCert, Request, Seq, ViewChange};

/// Count distinct replicas among `signers`; an error for a non-replica or a repeat.
fn distinct(config: &Config, signers: impl Iterator<Item = NodeId>) -> Result<usize, String> {
    let mut seen = BTreeSet::new();
    for s in signers {
        if !config.replicas.contains(&s) {
            return Err(format!("{s} is not a replica"));
        }
        if !seen.insert(s) {
            return Err(format!("{s} signs twice"));
        }
    }
    Ok(seen.len())
}

/// Is `cert` a valid stable-checkpoint certificate?
pub(crate) fn check_checkpoint_cert(
    config: &Config,
    v: &Verifier,
    cert: &CheckpointCert,
) -> Result<(), String> {
    if cert.seq == 0 {
        return match cert.digest == Digest::NULL && cert.proof.is_empty() {
            true => Ok(()),
            false => Err("a checkpoint at seq 0 is the initial state, with no proof".into()),
        };
    }
    if !cert.seq.is_multiple_of(config.checkpoint_interval) {
        return Err(format!(
            "checkpoint seq {} is not a multiple of K",
            cert.seq
        ));
    }
    if cert.proof.len() > config.n() {
        return Err(format!("checkpoint proof of {} over n", cert.proof.len()));
    }
    for c in &cert.proof {
        if c.seq != cert.seq || c.digest != cert.digest {
            return Err(format!("{c} does not match the certificate"));
        }
        if !c.verify(v) {
            return Err(format!("{c} from {}: bad signature", c.sig.signer));
        }
    }
    let count = distinct(config, cert.proof.iter().map(|c| c.sig.signer))?;
    if count < config.quorum() {
        return Err(format!("checkpoint proof of {count} replicas, below 2f+1"));
    }
    Ok(())
}

/// Is `cert` a valid prepared certificate?
pub(crate) fn check_prepared_cert(
    config: &Config,
    v: &Verifier,
    cert: &PreparedCert,
) -> Result<(), String> {
    let pp = &cert.pre_prepare;
    let primary = config.primary(pp.view);
    if pp.sig.signer != primary || !pp.verify(v) {
        return Err(format!("{pp}: not validly signed by the primary {primary}"));
    }
    if cert.prepares.len() > config.n() {
        return Err(format!("{} prepares for {pp}, over n", cert.prepares.len()));
    }
    for p in &cert.prepares {
        if (p.view, p.seq, p.digest) != (pp.view, pp.seq, pp.digest) {
            return Err(format!("{p} does not match {pp}"));
        }
        if p.sig.signer == primary {
            return Err(format!("{p}: the primary does not prepare"));
        }
        if !p.verify(v) {
            return Err(format!("{p} from {}: bad signature", p.sig.signer));
        }
    }
    let count = distinct(config, cert.prepares.iter().map(|p| p.sig.signer))?;
    if count < 2 * config.f() {
        return Err(format!("{count} prepares for {pp}, below 2f"));
    }
    Ok(())
}

/// Are a ViewChange's certificates valid (its own signature is checked by `step`)?
pub(crate) fn check_view_change(
    config: &Config,
    v: &Verifier,
    vc: &ViewChange,
) -> Result<(), String> {
    check_checkpoint_cert(config, v, &vc.checkpoint)?;
    let (low, window) = (vc.checkpoint.seq, config.log_window);
    if vc.prepared.len() as u64 > window {
        return Err(format!(
            "{} prepared certificates, over L",
            vc.prepared.len()
        ));
    }
    let mut seqs = BTreeSet::new();
    for cert in &vc.prepared {
        let seq = cert.seq();
        if seq <= low || seq > low + window {
            return Err(format!(
                "a prepared certificate at seq {seq} outside ({low}, {low}+L]"
            ));
        }
        if cert.view() >= vc.new_view {
            return Err(format!(
                "a prepared certificate of view {} ≥ the new view",
                cert.view()
            ));
        }
        if !seqs.insert(seq) {
            return Err(format!("two prepared certificates at seq {seq}"));
        }
        check_prepared_cert(config, v, cert)?;
    }
    Ok(())
}

/// What a new view starts from, computed from its view changes alone (§4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// min-s: the highest stable checkpoint among the view changes, with its proof.
    pub stable: CheckpointCert,
    /// For each seq in (min-s, max-s], the request to pre-prepare (`None`: a null request).
    pub entries: Vec<(Seq, Option<Request>)>,
}

/// Compute the plan for a new view from valid view changes (the paper's O).
pub(crate) fn plan(view_changes: &[ViewChange]) -> Plan {
    let stable = view_changes
        .iter()
        .map(|vc| &vc.checkpoint)
        .max_by_key(|c| c.seq)
        .cloned()
        .unwrap_or_default();
    let min_s = stable.seq;
    let certs = || view_changes.iter().flat_map(|vc| vc.prepared.iter());
    let max_s = certs().map(PreparedCert::seq).max().unwrap_or(0).max(min_s);
    let entries = (min_s + 1..=max_s)
        .map(|seq| {
            let best = certs()
                .filter(|c| c.seq() == seq)
                .fold(None::<&PreparedCert>, |best, c| match best {
                    Some(b) if b.view() >= c.view() => Some(b),
                    _ => Some(c),
                });
            (seq, best.and_then(|c| c.pre_prepare.request.clone()))
        })
        .collect();
    Plan { stable, entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Keyring;
    use crate::message::{Checkpoint, PrePrepare, Prepare};

    fn setup() -> (Config, Keyring) {
        let config = Config::new(NodeId(1), (1..=4).map(NodeId).collect(), 5);
        (config, Keyring::new(5))
    }

    fn cert_by(keys: &Keyring, signers: &[u64]) -> CheckpointCert {
        let digest = Digest([9; 32]);
        let proof = signers
            .iter()
            .map(|&s| Checkpoint::new(16, digest, &keys.signer(NodeId(s))))
            .collect();
        CheckpointCert {
            seq: 16,
            digest,
            proof,
        }
    }

    #[test]
    fn a_checkpoint_proof_counts_distinct_signers_only() {
        // §4.3: 2f+1 distinct replicas; one replica twice is still one.
        let (config, keys) = setup();
        let v = keys.verifier();
        assert!(check_checkpoint_cert(&config, &v, &cert_by(&keys, &[1, 2, 3])).is_ok());
        let twice = check_checkpoint_cert(&config, &v, &cert_by(&keys, &[1, 2, 2]));
        assert_eq!(twice.unwrap_err(), "n2 signs twice");
        let short = check_checkpoint_cert(&config, &v, &cert_by(&keys, &[1, 2]));
        assert!(short.unwrap_err().contains("below 2f+1"));
    }

    fn prepared(keys: &Keyring, view: u64, seq: u64, op: &str, by: &[u64]) -> PreparedCert {
        let primary = keys.signer(NodeId(1 + view % 4));
        let pp = PrePrepare::new(
            view,
            seq,
            Some(Request::new(1, seq, op.as_bytes().to_vec())),
            &primary,
        );
        let prepares = by
            .iter()
            .map(|&s| Prepare::new(view, seq, pp.digest, &keys.signer(NodeId(s))))
            .collect();
        PreparedCert {
            pre_prepare: pp,
            prepares,
        }
    }

    #[test]
    fn a_prepared_certificate_needs_2f_prepares_from_backups() {
        // §4.2: the primary's pre-prepare stands for its prepare; its Prepare does not count.
        let (config, keys) = setup();
        let v = keys.verifier();
        assert!(check_prepared_cert(&config, &v, &prepared(&keys, 0, 1, "a", &[2, 3])).is_ok());
        let with_primary = check_prepared_cert(&config, &v, &prepared(&keys, 0, 1, "a", &[1, 2]));
        assert!(with_primary
            .unwrap_err()
            .contains("the primary does not prepare"));
        let one = check_prepared_cert(&config, &v, &prepared(&keys, 0, 1, "a", &[2]));
        assert!(one.unwrap_err().contains("below 2f"));
    }

    #[test]
    fn the_plan_takes_the_highest_view_certificate_and_fills_gaps_with_null_requests() {
        // §4.4: for each seq in (min-s, max-s], the request prepared in the highest view.
        let keys = Keyring::new(5);
        let vc = |id: u64, certs: Vec<PreparedCert>| {
            ViewChange::new(
                2,
                CheckpointCert::default(),
                certs,
                &keys.signer(NodeId(id)),
            )
        };
        let old = prepared(&keys, 0, 1, "old", &[2, 3]);
        let new = prepared(&keys, 1, 1, "new", &[1, 3]);
        let third = prepared(&keys, 0, 3, "third", &[2, 3]);
        let p = plan(&[vc(1, vec![old]), vc(2, vec![new, third]), vc(3, vec![])]);
        let ops: Vec<(Seq, Option<String>)> = p
            .entries
            .iter()
            .map(|(s, r)| {
                (
                    *s,
                    r.as_ref()
                        .map(|r| String::from_utf8_lossy(&r.op).into_owned()),
                )
            })
            .collect();
        assert_eq!(
            ops,
            [
                (1, Some("new".into())),
                (2, None),
                (3, Some("third".into()))
            ]
        );
        assert_eq!(p.stable.seq, 0);
    }
}
