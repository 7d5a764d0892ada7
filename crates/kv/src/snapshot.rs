//! Snapshots (Raft §7) and the replica digest: one canonical encoding of the whole state.
//!
//! ```text
//!   snapshot = magic "KVSN" ‖ version:u8 (=2) ‖ body ‖ crc32:u32   (CRC over everything before)
//!
//!   body v2  = applied_index:u64 ‖ clock_ms:u64
//!            ‖ keys:u64 ‖ (key type value expiry version)×keys             ascending key order
//!            ‖ tombstones:u64 ‖ (key index:u64)×n ‖ tombstone_floor:u64    ascending key order
//!            ‖ sessions:u64 ‖ (client_id seq last_index reply?)×sessions   ascending client_id
//!     (the value encodings by type, and version 1, are in snapshot_body.rs)
//!
//!   digest   = FNV-1a-64(body)      the same bytes, hashed as they stream, never built
//! ```
//!
//! Version 1 (strings only, no clock, typed replies) is still restored, so a node upgrades
//! from an old snapshot file; only version 2 is written.
//!
//! The dedup table is in the body because it is replicated state: a replica restored from a
//! snapshot without it would re-apply a retried `INCR` that its peers ignore.
//!
//! Restore checks in the order that gives the clearest error: length, magic, CRC (a flipped bit
//! anywhere shows as a checksum mismatch, not as a puzzling field), version, then every field
//! (keys and clients strictly ascending, no session past `applied_index`, nothing left over).
//! The magic and the trailing CRC-32 are the contract every future version keeps.
//!
//! The road not taken: hashing the map into the digest in some ad-hoc way. Hashing the snapshot
//! body means "same digest" and "same snapshot" are one notion, and the digest covers the
//! sessions and `applied_index` too, which decide future replies as much as the map does.

use std::fmt;

use bytes::Bytes;

use crate::hash::{crc32, Fnv64};
use crate::machine::{Config, ConfigError, StateMachine};
use crate::snapshot_body::{read_body, read_body_v1, write_body};
use distributed_core::wire::{DecodeError, Reader, Sink};

/// First bytes of every snapshot: refuses a file that is not a snapshot at all.
const MAGIC: &[u8; 4] = b"KVSN";
/// The snapshot format this build writes (it also reads version 1).
pub const SNAPSHOT_VERSION: u8 = 2;
/// The strings-only format before typed values and the log clock.
const SNAPSHOT_VERSION_STRINGS: u8 = 1;
const HEADER_BYTES: usize = 5;
const TRAILER_BYTES: usize = 4;
// magic ‖ version:u8 before the body, crc32:u32 after it.
const _: () = assert!(HEADER_BYTES == MAGIC.len() + 1);
const _: () = assert!(TRAILER_BYTES == std::mem::size_of::<u32>());

/// Why a snapshot was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// Fewer bytes than an empty snapshot: a truncated file.
    TooShort {
        /// How many bytes there were.
        bytes: usize,
    },
    /// The first four bytes are not `KVSN`: not a snapshot of this crate.
    NotASnapshot,
    /// The stored CRC does not match the contents: corruption on disk or in transit.
    Checksum {
        /// The CRC stored in the trailer.
        stored: u32,
        /// The CRC of the bytes actually present.
        computed: u32,
    },
    /// A format this build does not read.
    Version {
        /// The version byte found.
        found: u8,
    },
    /// The checksum held but a field is impossible: a bug in the writer.
    Invalid(DecodeError),
    /// The config given to `restore` is not valid.
    Config(ConfigError),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::TooShort { bytes } => write!(
                f,
                "snapshot: {bytes} bytes is shorter than the smallest snapshot (truncated?)"
            ),
            SnapshotError::NotASnapshot => write!(f, "snapshot: does not start with \"KVSN\""),
            SnapshotError::Checksum { stored, computed } => write!(
                f,
                "snapshot: CRC-32 mismatch, stored {stored:#010x} computed {computed:#010x} \
                 (corrupt; refusing to restore)"
            ),
            SnapshotError::Version { found } => write!(
                f,
                "snapshot: version {found} is not a supported version (1, {SNAPSHOT_VERSION})"
            ),
            SnapshotError::Invalid(e) => write!(f, "snapshot: invalid body {e}"),
            SnapshotError::Config(e) => write!(f, "snapshot: {e}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl StateMachine {
    /// The whole state, self-checking, ready to write to disk or send to a lagging follower.
    pub fn snapshot(&self) -> Bytes {
        Bytes::from(self.snapshot_vec())
    }

    /// `snapshot()` as the `Vec` it is built in (the `Machine` seam speaks plain bytes).
    pub(crate) fn snapshot_vec(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        buf.put_slice(MAGIC);
        buf.put_u8(SNAPSHOT_VERSION);
        write_body(self, &mut buf);
        let crc = crc32(&buf);
        buf.put_u32(crc);
        buf
    }

    /// A fingerprint of the whole state (applied index, clock, keyspace, sessions). Equal
    /// states give equal digests on every platform; tests and the simulator compare replicas
    /// with it.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv64::new();
        write_body(self, &mut h);
        h.finish()
    }

    /// Rebuild a machine from `snapshot()` bytes (version 2, or 1 from an older build),
    /// refusing anything corrupt. If `config` holds fewer sessions than the snapshot, the
    /// least recently used are evicted, as `apply` would.
    pub fn restore(config: Config, snapshot: &[u8]) -> Result<StateMachine, SnapshotError> {
        let (version, body) = check_frame(snapshot)?;
        let mut sm = StateMachine::new(config).map_err(SnapshotError::Config)?;
        let read = match version {
            SNAPSHOT_VERSION_STRINGS => read_body_v1,
            _ => read_body,
        };
        // Offsets in errors count from the start of the snapshot, not of the body.
        read(&mut sm, body).map_err(|mut e| {
            e.offset += HEADER_BYTES;
            SnapshotError::Invalid(e)
        })?;
        sm.sessions.evict();
        Ok(sm)
    }
}

/// Check length, magic, CRC and version; return the version and the body between header and
/// trailer.
fn check_frame(snapshot: &[u8]) -> Result<(u8, &[u8]), SnapshotError> {
    if snapshot.len() < HEADER_BYTES + TRAILER_BYTES {
        return Err(SnapshotError::TooShort {
            bytes: snapshot.len(),
        });
    }
    if &snapshot[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::NotASnapshot);
    }
    let (covered, trailer) = snapshot.split_at(snapshot.len() - TRAILER_BYTES);
    let mut r = Reader::new(trailer);
    let stored = r.u32("crc").map_err(SnapshotError::Invalid)?;
    let computed = crc32(covered);
    if stored != computed {
        return Err(SnapshotError::Checksum { stored, computed });
    }
    let version = snapshot[MAGIC.len()];
    if version != SNAPSHOT_VERSION && version != SNAPSHOT_VERSION_STRINGS {
        return Err(SnapshotError::Version { found: version });
    }
    Ok((version, &covered[HEADER_BYTES..]))
}
