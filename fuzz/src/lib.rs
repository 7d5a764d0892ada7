//! # distributed-fuzz: every parser that takes bytes from outside a node, fuzzed
//!
//! A node reads bytes it did not write in many places: client frames (RESP), peer frames, WAL
//! segments and snapshot files (written by an older build, torn by a crash, damaged by a disk),
//! its TOML config, and history files given to `check`. Each module here is one libFuzzer
//! target over one of them, and checks the parser's promises, not only "no panic":
//!
//! ```text
//!   target          parser under test                            promises checked
//!   resp            server::clients::resp::parse_frame           round trip; fed in pieces ≡ whole
//!   peer_frame      server::peers::frames::decode_frame → Raft   round trip; Raft's writes replay
//!   wal_record      server::disk::wal_records::decode_record     round trip; replay → Raft::new
//!   wal_recovery    storage::Wal::open on fuzzed segment files   errors name a file; replay → node
//!                   → server::disk::snapshots::recover → Raft
//!   wal_torn        storage::Wal::open on a damaged valid WAL    exactly the records, or a prefix,
//!                                                                or a refusal naming the file
//!   snapshot_file   storage::SnapshotStore + decode_snapshot_file round trip; recover → replica
//!   kv_snapshot     kv::StateMachine::restore                    canonical: snapshot() == input
//!   kv_request      kv::Request::decode, then apply              canonical: encode() == input
//!   history         check::History::parse_json_lines             to_json_lines round trip
//!   node_config     server::config_file::{parse, merge}          a merged config validates
//! ```
//!
//! The targets live in `fuzz_targets/` (one line each, calling `run` here); `src/bin/seeds.rs`
//! writes valid inputs made by the project's own encoders into `corpus/<target>/`, and `run.sh`
//! runs them all. Every target takes its structure from the input through [`Input`], so a
//! mutation of a seed is still mostly a well-formed file with one thing wrong.
//!
//! Memory: run.sh passes `-malloc_limit_mb`, so a parser that reserves memory a length field
//! asks for (rather than what the input holds) is a finding.

pub mod history;
pub mod kv_request;
pub mod kv_snapshot;
pub mod node_config;
pub mod peer_frame;
pub mod resp;
pub mod snapshot_file;
pub mod wal_record;
pub mod wal_recovery;
pub mod wal_torn;

use std::path::Path;

use distributed_core::NodeId;

/// A target's seed inputs.
pub type Seeds = fn() -> Vec<Vec<u8>>;

/// Every target by name, with its seed inputs: what `seeds` writes and `run.sh` runs.
pub const TARGETS: &[(&str, Seeds)] = &[
    ("resp", resp::seeds),
    ("peer_frame", peer_frame::seeds),
    ("wal_record", wal_record::seeds),
    ("wal_recovery", wal_recovery::seeds),
    ("wal_torn", wal_torn::seeds),
    ("snapshot_file", snapshot_file::seeds),
    ("kv_snapshot", kv_snapshot::seeds),
    ("kv_request", kv_request::seeds),
    ("history", history::seeds),
    ("node_config", node_config::seeds),
];

/// A cursor that reads a fuzz input as a sequence of choices. Reading past the end yields
/// zeros and empty slices, so every input means something and the structure stays stable
/// under mutation.
pub struct Input<'a> {
    /// What is left of the input.
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A cursor over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// True once every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// One byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        u64::from_le_bytes(b)
    }

    /// A u64 that is often at an edge of its range: the values that find overflows.
    pub fn edgy_u64(&mut self) -> u64 {
        match self.u8() % 8 {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::MAX - 1,
            4 => u64::from(u32::MAX),
            5 => 1 << 63,
            _ => self.u64(),
        }
    }

    /// Up to `max` bytes, the length read first.
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u16()).min(max).min(self.data.len());
        let (out, rest) = self.data.split_at(n);
        self.data = rest;
        out
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// The writing side of [`Input`]: how seeds are built so `Input` reads them back as meant.
#[derive(Default)]
pub struct Seed {
    /// The bytes so far.
    pub out: Vec<u8>,
}

impl Seed {
    /// An empty seed.
    pub fn new() -> Self {
        Seed::default()
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }

    /// A little-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A little-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A raw u64 as `Input::edgy_u64` reads it.
    pub fn edgy_u64(&mut self, v: u64) -> &mut Self {
        self.u8(7).u64(v)
    }

    /// Length-prefixed bytes as `Input::bytes` reads them.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let n = u16::try_from(b.len()).expect("seed fields are small");
        self.u16(n);
        self.out.extend_from_slice(b);
        self
    }

    /// Raw bytes (for a trailing `Input::rest`).
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    /// The finished seed.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// A scratch directory, on tmpfs when there is one: targets that write files fsync them, and
/// an fsync on tmpfs costs nothing.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let builder = tempfile::Builder::new()
        .prefix("distributed-fuzz-")
        .tempdir_in(shm);
    builder.unwrap_or_else(|_| tempfile::tempdir().expect("a temp dir"))
}

/// The cluster every target's Raft node belongs to: n1 of {n1, n2, n3}.
pub fn node_config() -> server::NodeConfig {
    let addr = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let peers = [(1, 7001), (2, 7002), (3, 7003)]
        .into_iter()
        .map(|(id, port)| (NodeId(id), addr(port)))
        .collect();
    server::NodeConfig::new(NodeId(1), addr(6001), addr(7001), peers, "unused".into())
}

/// The Raft config of [`node_config`]'s node.
pub fn raft_config() -> raft::Config {
    node_config().replica_config().raft_config()
}

/// Start a node on `disk` the way `server::run_node` does: Raft, then the replica (which also
/// restores the state machine from the disk's snapshot). Either may refuse; neither may panic.
pub fn start_node(disk: &raft::Disk) -> Result<(), String> {
    let rng = distributed_core::SeededRng::new(7);
    raft::Raft::new(raft_config(), disk, rng.clone()).map_err(|e| e.to_string())?;
    replica::KvReplica::new(node_config().replica_config(), disk, rng)
        .map(drop)
        .map_err(|e| e.to_string())
}
