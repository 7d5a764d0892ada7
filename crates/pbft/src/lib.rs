//! # pbft: Practical Byzantine Fault Tolerance as a deterministic, sans-IO state machine
//!
//! An implementation of Castro & Liskov, "Practical Byzantine Fault Tolerance" (OSDI '99),
//! with details from "Practical Byzantine Fault Tolerance and Proactive Recovery" (TOCS 2002):
//! the normal case (§4.2), checkpoints and garbage collection (§4.3), view changes (§4.4),
//! state transfer (TOCS §5.3, simplified) and retransmission (TOCS §5.2, simplified). It
//! never touches a socket, a clock or a file: drive it through [`distributed_core::Protocol`]
//! and carry out each [`Ready`] in order (persist → send → deliver → clear).
//!
//! ## Why 3f+1, 2f+1 and f+1
//!
//! Up to f replicas may be *Byzantine*: they lie, equivocate, collude. A replica can wait for
//! only n − f answers (f may never answer), and of those, f may be lies. For the honest ones to
//! outnumber the liars among any answers it waits for, n − f − f > f, so **n ≥ 3f + 1**.
//! A **quorum of 2f+1** out of 3f+1: two quorums overlap in at least 2(2f+1) − (3f+1) = f+1
//! replicas, so **at least one honest replica is in both**, and an honest replica never says
//! two different things (it prepares one digest per view and seq). That single fact carries
//! every safety argument here. A **client waits for f+1 matching replies**: at most f can be
//! lies, so one of them is honest and the result is the one the honest replicas computed.
//!
//! ## The normal case (§4.2)
//!
//! ```text
//!   client ─Request─► primary
//!                        │ PrePrepare{v s d}     the primary orders: seq s for digest d in view v
//!                        ├──────► backups        each checks view, watermarks, one d per (v, s)
//!                        │ Prepare{v s d}        all ──► all
//!                        │   prepared  = pre-prepare + 2f matching prepares
//!                        │ Commit{v s d}         all ──► all
//!                        │   committed = prepared + 2f+1 matching commits
//!                        ▼ Execute{s} in seq order; replies ──► client (needs f+1 alike)
//! ```
//!
//! ## The view change (§4.4)
//!
//! ```text
//!   backup's timer fires ─► ViewChange{v+1, stable checkpoint + proof, prepared certs} ─► all
//!   primary(v+1) gathers 2f+1 ─► NewView{v+1, the 2f+1 ViewChanges, O} ─► all
//!       O: each seq in (min-s, max-s] gets the request of its highest-view prepared cert,
//!          or a null request; backups recompute O from the ViewChanges and compare
//!   everyone: Prepare each of O in v+1, then the normal case resumes
//! ```
//!
//! ## Invariants
//!
//! - No two honest replicas execute different requests at one seq (agreement); asserted
//!   locally as: never two digests accepted at one (view, seq).
//! - Each replica executes in seq order, each seq once per incarnation (asserted).
//! - The low watermark moves only forward, to a stable checkpoint this replica holds (asserted).
//! - Every message is authenticated before it is handled: sender = signer, valid signature;
//!   every certificate counts distinct, validly signed replicas (auth.rs, certs.rs).
//! - Writes precede sends: a restarted replica never contradicts what it sent (host.rs).
//!
//! ## Authentication
//!
//! Signatures, as in OSDI '99 (transferable, so view-change certificates can be checked by
//! anyone), modelled by a [`Keyring`]: SHA-256 digests, and a keyed digest standing for a
//! public-key signature. Code holding one replica's [`Signer`] signs as that replica only;
//! the [`Verifier`] never reveals a secret. See auth.rs.
//!
//! ## For hosts, simulators and adversaries
//!
//! ```text
//!   build      Pbft::new(Config::new(id, replicas, key_seed), &disk, rng)   empty disk: new
//!   drive      Protocol::{step, tick, input, persist}; Input::{Request, Checkpoint}
//!   outputs    Execute{seq view request} · Skipped{seq} · CheckpointDue{seq} ·
//!              RestoreState{seq state}
//!   checkers   id · view · primary · is_primary · is_view_changing · f · last_executed ·
//!              low_watermark · stable_checkpoint · committed(seq) · history ·
//!              last_timestamp(client) · pending_requests · log_len · counters
//!   adversary  Keyring::new(seed).signer(id) gives one replica's key; every message has
//!              `X::new(.., &Signer)`; certificates have public fields; an honest node's own
//!              key is `Pbft::signer()`. Nothing else signs, so a strategy can equivocate,
//!              replay, stay silent or lie about its own certificates, never forge another's.
//!   variants   Config::variant: Correct · CommitQuorum2f · ViewChangeDropsPrepared
//! ```
//!
//! Agreement, as a checker reads it: for every two honest replicas and every seq both still
//! hold, `committed(seq)` has one digest; and two honest replicas with the same
//! `last_executed()` have the same `history()`.
//!
//! ## Layout
//!
//! ```text
//! lib.rs            this chapter and the public re-exports
//! config.rs         Config (replicas, K, L, timeouts, bounds, key seed), Variant, validate
//! auth.rs           Digest, DigestBuilder, Keyring, Signer, Verifier, Signature  (§2, §4)
//! message/          one struct per message, each with a signing constructor and Display
//!   mod.rs          Message (a variant per struct, From impls), signer(), verify(), KINDS
//!   normal.rs       Request, PrePrepare, Prepare, Commit; View, Seq              (§4.2)
//!   checkpoint.rs   Checkpoint, FetchState, StateTransfer                 (§4.3, TOCS §5.3)
//!   view_change.rs  CheckpointCert, PreparedCert, ViewChange, NewView             (§4.4)
//!   wire_size.rs    WireSize for every message: its bytes, signatures and certificates in full
//! host.rs           Disk, DurableSlot, StableCheckpoint, Write, Input, Output, Ready, persist
//! log.rs            Slot and Log: per-seq pre-prepare, prepares, commits, certificates
//! node.rs           the Pbft struct, start/restart, accessors, Counters, `step` (authenticate,
//!                   then one `on_x` per message)
//! normal.rs         requests, pre-prepare / prepare / commit, execution in order     (§4.2)
//! checkpoint.rs     checkpoints, stability, garbage collection, state transfer        (§4.3)
//! certs.rs          certificate checks, and the new view's plan O                     (§4.4)
//! view_change.rs    timers, ViewChange, the f+1 join rule, NewView, installing a view (§4.4)
//! retransmit.rs     resending one's own messages, answering copies, resending the NewView,
//!                   joining the view f+1 peers are in                          (TOCS §5.2)
//! ```
//!
//! ## Not modelled, or simplified
//!
//! - Client signatures: a request is trusted as given (a faulty primary could invent one).
//!   Exactly-once per client timestamp is kept by the replica's client table (§4.1),
//!   certified with every checkpoint; replies, and the reply cache, are the host's.
//! - No batching: one request per seq; `pre_prepares_per_call_max` bounds a primary's burst.
//! - Retransmission without the implementation's STATUS messages (retransmit.rs): each
//!   replica periodically resends its own signed messages to the peers that have not
//!   answered them, answers a copy of a message it holds with its own, and the new primary
//!   answers a late ViewChange with its NewView. A replica that fell behind the others'
//!   stable checkpoint still catches up by a state transfer of the whole state (not the log
//!   after it, nor only the pages that differ).
//! - A replica whose timer fires alone (it lagged, the others did not) stays in its view
//!   change until the others change views: it refuses the lower view's messages, and for
//!   liveness it counts among the f.
//! - No MAC authenticators, no proactive recovery, no read-only or tentative execution.

#![forbid(unsafe_code)]

mod auth;
mod certs;
mod checkpoint;
mod config;
mod host;
mod log;
mod message;
mod node;
mod normal;
mod retransmit;
mod view_change;

pub use auth::{Digest, DigestBuilder, Keyring, Signature, Signer, Verifier};
pub use bytes::Bytes;
pub use config::{Config, ConfigError, Variant};
pub use host::{Disk, DurableSlot, Input, Output, Ready, StableCheckpoint, Write};
pub use message::{
    Checkpoint, CheckpointCert, Commit, FetchState, Message, NewView, PrePrepare, Prepare,
    PreparedCert, Progress, Request, Seq, StateTransfer, View, ViewChange, KINDS,
};
pub use node::{Counters, Pbft};
