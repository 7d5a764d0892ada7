//! The binary forms of Raft's types that more than one door writes: entries, memberships and
//! snapshot metadata (in WAL records, `disk/wal_records.rs`, and peer frames,
//! `peers/frames.rs`), and snapshot files' contents (`snapshot_file` below), over the bounded
//! reader here.
//!
//! ```text
//!   value ──encode──► Vec<u8> [version u8][kind u8][fields, big-endian, u32-length bytes]
//!   bytes ──decode──► Result<value, CodecError>   every length checked against what is left
//! ```
//!
//! Everything decoded here is untrusted (a torn or corrupt disk, a stranger on the peer port):
//! a length is compared with the bytes remaining before anything is allocated, unknown kinds
//! and versions are errors, and trailing bytes are errors. Nothing here panics on bad input.
//!
//! The road not taken: serde + bincode. The formats are small, and writing them by hand keeps
//! every byte documented and every bound explicit.

use std::fmt;

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes};
use distributed_core::NodeId;
use raft::{Entry, EntryKind, Membership, SnapshotMeta};

/// How an entry's kind is written: a normal command, or a configuration (raft membership.rs).
const ENTRY_NORMAL: u8 = 0;
const ENTRY_CONFIG: u8 = 1;

/// Why bytes did not decode: what was being read, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError {
    /// What went wrong, naming the field.
    pub message: String,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodecError {}

/// A bounded cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    /// The input.
    buf: &'a [u8],
    /// Bytes consumed so far, for error messages.
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn error(&self, what: impl fmt::Display) -> CodecError {
        CodecError {
            message: format!("{what} at byte {} of {}", self.pos, self.buf.len()),
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], CodecError> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "{what}: needs {n} bytes, {} left",
                self.remaining()
            )));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, CodecError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, CodecError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, CodecError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub(crate) fn bool(&mut self, what: &str) -> Result<bool, CodecError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.error(format!("{what}: {other} is not a bool"))),
        }
    }

    /// A u32-length-prefixed byte string.
    pub(crate) fn bytes(&mut self, what: &str) -> Result<Bytes, CodecError> {
        let n = self.u32(what)? as usize;
        Ok(Bytes::copy_from_slice(self.take(n, what)?))
    }

    /// A u32 count of items each at least `item_bytes_min` long: checked against what is left.
    pub(crate) fn count(&mut self, item_bytes_min: usize, what: &str) -> Result<usize, CodecError> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(item_bytes_min) > self.remaining() {
            return Err(self.error(format!("{what}: {n} items cannot fit in what is left")));
        }
        Ok(n)
    }

    /// A batch of entries. `with_kind` is false only for version-1 WAL records, written before
    /// config entries existed: every entry in them is Normal.
    pub(crate) fn entries(&mut self, with_kind: bool) -> Result<Vec<Entry>, CodecError> {
        let n = self.count(20, "entry count")?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let term = self.u64("entry term")?;
            let index = self.u64("entry index")?;
            let kind = match with_kind {
                false => EntryKind::Normal,
                true => self.entry_kind()?,
            };
            let data = self.bytes("entry data")?;
            entries.push(Entry {
                term,
                index,
                data,
                kind,
            });
        }
        Ok(entries)
    }

    fn entry_kind(&mut self) -> Result<EntryKind, CodecError> {
        match self.u8("entry kind")? {
            ENTRY_NORMAL => Ok(EntryKind::Normal),
            ENTRY_CONFIG => Ok(EntryKind::Config(self.membership()?)),
            other => Err(self.error(format!("unknown entry kind {other}"))),
        }
    }

    /// A configuration: voters, an optional outgoing half, learners; checked with
    /// `Membership::validate`, so a decoded one is always well formed.
    pub(crate) fn membership(&mut self) -> Result<Membership, CodecError> {
        let voters = self.node_set("voters")?;
        let outgoing = match self.bool("joint")? {
            true => Some(self.node_set("outgoing voters")?),
            false => None,
        };
        let learners = self.node_set("learners")?;
        let m = Membership {
            voters,
            outgoing,
            learners,
        };
        m.validate()
            .map_err(|e| self.error(format!("membership: {e}")))?;
        Ok(m)
    }

    fn node_set(&mut self, what: &str) -> Result<BTreeSet<NodeId>, CodecError> {
        let n = self.count(8, what)?;
        let mut set = BTreeSet::new();
        for _ in 0..n {
            match self.node(what)? {
                Some(id) if set.insert(id) => {}
                _ => return Err(self.error(format!("{what}: node 0 or a node listed twice"))),
            }
        }
        Ok(set)
    }

    pub(crate) fn node(&mut self, what: &str) -> Result<Option<NodeId>, CodecError> {
        let id = self.u64(what)?;
        Ok((id != 0).then_some(NodeId(id)))
    }

    pub(crate) fn finish(&self, what: &str) -> Result<(), CodecError> {
        if self.remaining() != 0 {
            return Err(self.error(format!("{what}: {} trailing bytes", self.remaining())));
        }
        Ok(())
    }
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let n = u32::try_from(b.len()).expect("a field longer than 4 GiB was never accepted");
    out.put_u32(n);
    out.put_slice(b);
}

pub(crate) fn put_entries(out: &mut Vec<u8>, entries: &[Entry]) {
    out.put_u32(u32::try_from(entries.len()).expect("entry batches are bounded"));
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
        put_bytes(out, &e.data);
    }
}

/// The encoded size of `e` in an entry batch: what record splitting budgets for.
pub(crate) fn entry_bytes(e: &Entry) -> usize {
    let config = e
        .membership()
        .map_or(0, |m| 13 + 8 * m.members().len() + 8 * m.voters.len());
    21 + e.data.len() + config
}

pub(crate) fn put_membership(out: &mut Vec<u8>, m: &Membership) {
    let put_set = |out: &mut Vec<u8>, set: &BTreeSet<NodeId>| {
        out.put_u32(u32::try_from(set.len()).expect("configurations are small"));
        for id in set {
            out.put_u64(id.0);
        }
    };
    put_set(out, &m.voters);
    out.put_u8(u8::from(m.outgoing.is_some()));
    if let Some(old) = &m.outgoing {
        put_set(out, old);
    }
    put_set(out, &m.learners);
}

/// A node id, or 0 for none (node ids start at 1; `Config::validate` rejects 0).
pub(crate) fn put_node(out: &mut Vec<u8>, id: Option<NodeId>) {
    out.put_u64(id.map_or(0, |n| n.0));
}

/// A snapshot's metadata: `[index u64][term u64][membership]` (Raft §7; the membership as
/// `put_membership` writes it, so a node restarting from the snapshot knows its configuration).
pub(crate) fn put_snapshot_meta(out: &mut Vec<u8>, meta: &SnapshotMeta) {
    out.put_u64(meta.index);
    out.put_u64(meta.term);
    put_membership(out, &meta.membership);
}

/// The inverse of `put_snapshot_meta`; an invalid membership (no voters, id 0) is refused.
pub(crate) fn get_snapshot_meta(r: &mut Reader<'_>) -> Result<SnapshotMeta, CodecError> {
    let index = r.u64("snapshot index")?;
    let term = r.u64("snapshot term")?;
    let membership = r.membership()?;
    Ok(SnapshotMeta {
        index,
        term,
        membership,
    })
}

/// The format version of a snapshot file's contents (inside `storage`'s CRC'd file).
const SNAPSHOT_FILE_VERSION: u8 = 1;

/// A `raft::Snapshot` as the bytes of a snapshot file: `[version u8][meta][len u32][data]`.
/// The store's header holds index and term too; `decode_snapshot_file` checks they agree.
/// The meta travels with the data because the membership is part of the snapshot (Raft §6).
pub fn encode_snapshot_file(snapshot: &raft::Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(snapshot.data.len() + 64);
    out.put_u8(SNAPSHOT_FILE_VERSION);
    put_snapshot_meta(&mut out, &snapshot.meta);
    put_bytes(&mut out, &snapshot.data);
    out
}

/// The inverse of `encode_snapshot_file`.
pub fn decode_snapshot_file(bytes: &[u8]) -> Result<raft::Snapshot, CodecError> {
    let mut r = Reader::new(bytes);
    let version = r.u8("snapshot file version")?;
    if version != SNAPSHOT_FILE_VERSION {
        return Err(r.error(format!(
            "snapshot file version {version}, this build reads {SNAPSHOT_FILE_VERSION}"
        )));
    }
    let meta = get_snapshot_meta(&mut r)?;
    let data = r.bytes("snapshot data")?;
    r.finish("snapshot file")?;
    Ok(raft::Snapshot { meta, data })
}
