//! The binary forms of Raft's types that more than one door writes: entries, memberships and
//! snapshot metadata (in WAL records, `disk/wal_records.rs`, and peer frames,
//! `peers/frames.rs`), and snapshot files' contents (`snapshot_file` below). Every field is
//! spelled in the workspace's one vocabulary, `distributed_core::wire`: little-endian, u32
//! lengths, read through the bounded `Reader`.
//!
//! ```text
//!   entries     [n u32] n × [term u64][index u64][kind u8 (0 Normal, 1 Config + membership)]
//!                             [len u32][data]
//!   membership  [n u32][voter u64]… [joint u8]([n u32][outgoing voter u64]…)? [n u32][learner u64]…
//!   node        [id u64]  (0 = none)
//!   meta        [index u64][term u64][membership]
//!   snapshot file contents (inside storage's CRC'd file):  [version=2 u8][meta][len u32][data]
//!
//!   value ──put_*──► impl Sink            bytes ──get_*──► Result<value, DecodeError>
//! ```
//!
//! Everything decoded here is untrusted (a torn or corrupt disk, a stranger on the peer port):
//! counts are checked against the bytes remaining before anything is allocated, unknown kinds
//! and versions are errors naming what they met, and a membership is validated before it is
//! returned. Nothing here panics on bad input.
//!
//! Snapshot file version 1 (like WAL record versions 1-2 and peer versions 1-2) was written
//! big-endian by older builds; this build refuses it with `older_build`, which names the
//! version and says what to do, and never misreads it.
//!
//! The road not taken: serde + bincode. The formats are small, and writing them by hand keeps
//! every byte documented and every bound explicit.

use std::collections::BTreeSet;

use distributed_core::wire::{DecodeError, Reader, Sink};
use distributed_core::NodeId;
use raft::{Entry, EntryKind, Membership, SnapshotMeta};

/// How an entry's kind is written: a normal command, or a configuration (raft membership.rs).
const ENTRY_NORMAL: u8 = 0;
const ENTRY_CONFIG: u8 = 1;
/// The fewest bytes an entry takes (term, index, kind, data length): bounds a decoded count.
const ENTRY_BYTES_MIN: usize = 21;
/// The bytes a node id takes: bounds a decoded node-set count.
const NODE_BYTES: usize = 8;

/// The refusal of a format `version` that an older build wrote big-endian, before the
/// workspace settled on one byte order: what it is, what this build reads, and what to do.
pub(crate) fn older_build(format: &str, version: u8, current: u8, what_to_do: &str) -> String {
    format!(
        "{format} version {version} was written by an older build (big-endian); this build \
         reads version {current} (little-endian): {what_to_do}"
    )
}

/// A batch of entries.
pub(crate) fn put_entries(out: &mut impl Sink, entries: &[Entry]) {
    out.put_count(entries.len());
    for e in entries {
        out.put_u64(e.term);
        out.put_u64(e.index);
        match &e.kind {
            EntryKind::Normal => out.put_u8(ENTRY_NORMAL),
            EntryKind::Config(m) => {
                out.put_u8(ENTRY_CONFIG);
                put_membership(out, m);
            }
        }
        out.put_bytes(&e.data);
    }
}

/// The inverse of `put_entries`.
pub(crate) fn get_entries(r: &mut Reader<'_>) -> Result<Vec<Entry>, DecodeError> {
    let n = r.count_fitting("entry count", ENTRY_BYTES_MIN)?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let term = r.u64("entry term")?;
        let index = r.u64("entry index")?;
        let kind = get_entry_kind(r)?;
        let data = r.bytes("entry data")?;
        entries.push(Entry {
            term,
            index,
            data,
            kind,
        });
    }
    Ok(entries)
}

fn get_entry_kind(r: &mut Reader<'_>) -> Result<EntryKind, DecodeError> {
    match r.u8("entry kind")? {
        ENTRY_NORMAL => Ok(EntryKind::Normal),
        ENTRY_CONFIG => Ok(EntryKind::Config(get_membership(r)?)),
        other => Err(r.error(format!("unknown entry kind {other}"))),
    }
}

/// The encoded size of `e` in an entry batch: what record splitting budgets for.
pub(crate) fn entry_bytes(e: &Entry) -> usize {
    let config = e
        .membership()
        .map_or(0, |m| 13 + 8 * m.members().len() + 8 * m.voters.len());
    ENTRY_BYTES_MIN + e.data.len() + config
}

/// A configuration: voters, an optional outgoing half (joint consensus, Raft §6), learners.
pub(crate) fn put_membership(out: &mut impl Sink, m: &Membership) {
    put_node_set(out, &m.voters);
    out.put_bool(m.outgoing.is_some());
    if let Some(old) = &m.outgoing {
        put_node_set(out, old);
    }
    put_node_set(out, &m.learners);
}

/// The inverse of `put_membership`, checked with `Membership::validate`, so a decoded one is
/// always well formed.
pub(crate) fn get_membership(r: &mut Reader<'_>) -> Result<Membership, DecodeError> {
    let voters = get_node_set(r, "voters")?;
    let outgoing = match r.bool("joint")? {
        true => Some(get_node_set(r, "outgoing voters")?),
        false => None,
    };
    let learners = get_node_set(r, "learners")?;
    let m = Membership {
        voters,
        outgoing,
        learners,
    };
    m.validate()
        .map_err(|e| r.error(format!("membership: {e}")))?;
    Ok(m)
}

fn put_node_set(out: &mut impl Sink, set: &BTreeSet<NodeId>) {
    out.put_count(set.len());
    for id in set {
        out.put_u64(id.0);
    }
}

fn get_node_set(r: &mut Reader<'_>, what: &str) -> Result<BTreeSet<NodeId>, DecodeError> {
    let n = r.count_fitting(what, NODE_BYTES)?;
    let mut set = BTreeSet::new();
    for _ in 0..n {
        match get_node(r, what)? {
            Some(id) if set.insert(id) => {}
            _ => return Err(r.error(format!("{what}: node 0 or a node listed twice"))),
        }
    }
    Ok(set)
}

/// A node id, or 0 for none (node ids start at 1; `Config::validate` rejects 0).
pub(crate) fn put_node(out: &mut impl Sink, id: Option<NodeId>) {
    out.put_u64(id.map_or(0, |n| n.0));
}

/// The inverse of `put_node`.
pub(crate) fn get_node(r: &mut Reader<'_>, what: &str) -> Result<Option<NodeId>, DecodeError> {
    let id = r.u64(what)?;
    Ok((id != 0).then_some(NodeId(id)))
}

/// A snapshot's metadata: `[index u64][term u64][membership]` (Raft §7; the membership so a
/// node restarting from the snapshot knows its configuration).
pub(crate) fn put_snapshot_meta(out: &mut impl Sink, meta: &SnapshotMeta) {
    out.put_u64(meta.index);
    out.put_u64(meta.term);
    put_membership(out, &meta.membership);
}

/// The inverse of `put_snapshot_meta`; an invalid membership (no voters, id 0) is refused.
pub(crate) fn get_snapshot_meta(r: &mut Reader<'_>) -> Result<SnapshotMeta, DecodeError> {
    let index = r.u64("snapshot index")?;
    let term = r.u64("snapshot term")?;
    let membership = get_membership(r)?;
    Ok(SnapshotMeta {
        index,
        term,
        membership,
    })
}

/// The format version of a snapshot file's contents (inside `storage`'s CRC'd file).
/// Version 1 was big-endian; it is refused with `older_build`.
pub const SNAPSHOT_FILE_VERSION: u8 = 2;

/// A `raft::Snapshot` as the bytes of a snapshot file: `[version u8][meta][len u32][data]`.
/// The store's header holds index and term too; `decode_snapshot_file` checks they agree.
/// The meta travels with the data because the membership is part of the snapshot (Raft §6).
pub fn encode_snapshot_file(snapshot: &raft::Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(snapshot.data.len() + 64);
    out.put_u8(SNAPSHOT_FILE_VERSION);
    put_snapshot_meta(&mut out, &snapshot.meta);
    out.put_bytes(&snapshot.data);
    out
}

/// The inverse of `encode_snapshot_file`.
pub fn decode_snapshot_file(bytes: &[u8]) -> Result<raft::Snapshot, DecodeError> {
    let mut r = Reader::new(bytes);
    let version = r.u8("snapshot file version")?;
    if version < SNAPSHOT_FILE_VERSION {
        let what_to_do = "keep this data dir with the build that wrote it, or start this \
                          build from an empty data dir";
        let why = older_build("snapshot file", version, SNAPSHOT_FILE_VERSION, what_to_do);
        return Err(DecodeError::at(0, why));
    }
    if version != SNAPSHOT_FILE_VERSION {
        return Err(DecodeError::at(
            0,
            format!("snapshot file version {version}, this build reads {SNAPSHOT_FILE_VERSION}"),
        ));
    }
    let meta = get_snapshot_meta(&mut r)?;
    let data = r.bytes("snapshot data")?;
    r.finish("snapshot file")?;
    Ok(raft::Snapshot { meta, data })
}
