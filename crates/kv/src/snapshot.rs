//! Snapshots (Raft §7) and the replica digest: one canonical encoding of the whole state.
//!
//! ```text
//!   snapshot = magic "KVSN" ‖ version:u8 (=1) ‖ body ‖ crc32:u32   (CRC over everything before)
//!
//!   body     = applied_index:u64
//!            ‖ keys:u64     ‖ (key value)×keys                     ascending key order
//!            ‖ sessions:u64 ‖ (client_id seq last_index reply?)×sessions   ascending client_id
//!
//!   digest   = FNV-1a-64(body)      the same bytes, hashed as they stream, never built
//! ```
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

use crate::codec::{self, Limits};
use crate::hash::{crc32, Fnv64};
use crate::machine::{Config, ConfigError, StateMachine};
use crate::session::{Session, Sessions};
use distributed_core::wire::{DecodeError, Reader, Sink};

/// First bytes of every snapshot: refuses a file that is not a snapshot at all.
const MAGIC: &[u8; 4] = b"KVSN";
/// The snapshot format this build writes and reads.
pub const SNAPSHOT_VERSION: u8 = 1;
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
                "snapshot: version {found} is not the supported {SNAPSHOT_VERSION}"
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
        self.write_body(&mut buf);
        let crc = crc32(&buf);
        buf.put_u32(crc);
        buf
    }

    /// A fingerprint of the whole state (applied index, map, sessions). Equal states give equal
    /// digests on every platform; tests and the simulator compare replicas with it.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv64::new();
        self.write_body(&mut h);
        h.finish()
    }

    /// Rebuild a machine from `snapshot()` bytes, refusing anything corrupt. If `config` holds
    /// fewer sessions than the snapshot, the least recently used are evicted, as `apply` would.
    pub fn restore(config: Config, snapshot: &[u8]) -> Result<StateMachine, SnapshotError> {
        let body = check_frame(snapshot)?;
        let mut sm = StateMachine::new(config).map_err(SnapshotError::Config)?;
        // Offsets in errors count from the start of the snapshot, not of the body.
        read_body(&mut sm, body).map_err(|mut e| {
            e.offset += HEADER_BYTES;
            SnapshotError::Invalid(e)
        })?;
        sm.sessions.evict();
        Ok(sm)
    }

    fn write_body(&self, s: &mut impl Sink) {
        s.put_u64(self.applied_index);
        s.put_u64(self.map.len() as u64);
        for (k, v) in &self.map {
            s.put_bytes(k);
            s.put_bytes(v);
        }
        s.put_u64(self.sessions.len() as u64);
        for (client_id, session) in self.sessions.iter() {
            s.put_u64(*client_id);
            s.put_u64(session.seq);
            s.put_u64(session.last_index);
            match &session.reply {
                None => s.put_u8(0),
                Some(reply) => {
                    s.put_u8(1);
                    codec::put_reply(s, reply);
                }
            }
        }
    }
}

/// Check length, magic, CRC and version; return the body between header and trailer.
fn check_frame(snapshot: &[u8]) -> Result<&[u8], SnapshotError> {
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
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version { found: version });
    }
    Ok(&covered[HEADER_BYTES..])
}

/// A u64 item count, bounded by what the remaining input could possibly hold.
fn read_len(r: &mut Reader<'_>, what: &str, item_bytes_min: usize) -> Result<u64, DecodeError> {
    let n = r.u64(what)?;
    let room = (r.remaining() / item_bytes_min) as u64;
    if n > room {
        return Err(r.error(format!("{what}: {n} cannot fit in {} bytes", r.remaining())));
    }
    Ok(n)
}

fn read_body(sm: &mut StateMachine, body: &[u8]) -> Result<(), DecodeError> {
    let limits = Limits::trusted();
    let max = limits.value_bytes_max;
    let mut r = Reader::new(body);
    sm.applied_index = r.u64("applied_index")?;
    let keys = read_len(&mut r, "keys", 8)?;
    for _ in 0..keys {
        let key = r.bytes_bounded("key", "u32", max)?;
        let value = r.bytes_bounded("value", "u32", max)?;
        if sm
            .map
            .last_key_value()
            .is_some_and(|(last, _)| *last >= key)
        {
            return Err(r.error("keys: not strictly ascending"));
        }
        sm.map.insert(key, value);
    }
    read_sessions(&mut r, &mut sm.sessions, sm.applied_index)?;
    r.finish("snapshot body")
}

fn read_sessions(
    r: &mut Reader<'_>,
    sessions: &mut Sessions,
    applied_index: u64,
) -> Result<(), DecodeError> {
    let count = read_len(r, "sessions", 25)?;
    let mut previous = 0u64;
    for _ in 0..count {
        let client_id = r.u64("client_id")?;
        let seq = r.u64("seq")?;
        let last_index = r.u64("last_index")?;
        let reply = match r.u8("reply option")? {
            0 => None,
            1 => Some(codec::read_reply(r)?),
            t => return Err(r.error(format!("reply option: tag {t} is neither 0 nor 1"))),
        };
        if client_id <= previous {
            return Err(r.error(format!("client_id {client_id}: zero or not ascending")));
        }
        if seq == 0 || last_index == 0 || last_index > applied_index {
            return Err(r.error(format!(
                "client {client_id}: seq {seq} last_index {last_index} impossible at \
                 applied_index {applied_index}"
            )));
        }
        let session = Session {
            seq,
            reply,
            last_index,
        };
        if !sessions.insert(client_id, session) {
            return Err(r.error(format!(
                "client {client_id}: last_index {last_index} shared"
            )));
        }
        previous = client_id;
    }
    Ok(())
}
