//! `distributed node --config node.toml`: the node's settings from a TOML file, with command-line
//! flags overriding it key by key. `config/node.example.toml` documents every key.
//!
//! ```text
//!   node.toml ──toml + serde (deny_unknown_fields)──► NodeFile ──┐
//!   --id --listen … flags ──(the binary's clap args)──► NodeFlags ┤ a flag wins over its key
//!                                                                ▼
//!                        merge ──► NodeConfig ──validate()──► run, or exit 2
//! ```
//!
//! Every error names what is wrong and where: an unknown key (a typo must not be silently
//! ignored, or `tick_mz = 50` would run with the default), a bad address, an unknown read path,
//! a missing required setting, an out-of-range value, an unsafe combination (lease reads without
//! check-quorum, explained by `replica::ReplicaConfig::validate`). The file is bounded in size.
//!
//! Why here and not in the binary: the file is untrusted input, and its parser is fuzzed
//! (`fuzz/`), which can only reach a library. The binary turns its clap flags into
//! [`NodeFlags`]; everything else lives here.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use distributed_core::NodeId;
use serde::Deserialize;

use crate::{NodeConfig, ReadPath};

/// The largest config file read: a node's settings fit in a few hundred bytes.
pub const CONFIG_FILE_BYTES_MAX: u64 = 64 << 10;

/// The keys of a node config file; all optional here, required ones checked after the merge.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// This node's Raft id (≥ 1).
    id: Option<u64>,
    /// RESP address for clients.
    listen: Option<String>,
    /// Address peers connect to.
    peer_listen: Option<String>,
    /// HTTP address of /metrics and /health (default: client port + 2000).
    metrics_listen: Option<String>,
    /// Every voter's peer address, by id: `[peers]` then `1 = "127.0.0.1:7379"`.
    peers: Option<BTreeMap<String, String>>,
    /// Directory of the node's durable state.
    data_dir: Option<PathBuf>,
    /// Milliseconds per Raft tick.
    tick_ms: Option<u64>,
    /// `read-index` (default), `lease` or `log`.
    reads: Option<String>,
    /// Raft check-quorum (default true); lease reads need it.
    check_quorum: Option<bool>,
    /// The leader's fsync in parallel with replication (thesis §10.2.1; default true).
    leader_writes_in_parallel: Option<bool>,
    /// Ticks a follower waits on the leader's answer to a forwarded request.
    forward_timeout_ticks: Option<u64>,
    /// Applied entries between snapshots (Raft §7).
    snapshot_log_entries_max: Option<u64>,
    /// Applied bytes between snapshots.
    snapshot_log_bytes_max: Option<u64>,
    /// WAL segment size in bytes.
    wal_segment_bytes_max: Option<u64>,
    /// Redis' proto-max-bulk-len: the longest bulk string, and so the largest value.
    proto_max_bulk_len: Option<usize>,
}

/// The settings given as command-line flags, each overriding the file's key of the same name.
/// Plain data: the binary fills it from its clap arguments (`--id`, `--listen`, …).
#[derive(Clone, Debug, Default)]
pub struct NodeFlags {
    /// `--id`.
    pub id: Option<u64>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--peer-listen`.
    pub peer_listen: Option<String>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<String>,
    /// `--peers 1=host:port,2=host:port,…`.
    pub peers: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--tick-ms`.
    pub tick_ms: Option<u64>,
    /// `--reads`.
    pub reads: Option<String>,
    /// `--check-quorum`.
    pub check_quorum: Option<bool>,
    /// `--leader-writes-in-parallel`.
    pub leader_writes_in_parallel: Option<bool>,
    /// `--forward-timeout-ticks`.
    pub forward_timeout_ticks: Option<u64>,
    /// `--snapshot-log-entries-max`.
    pub snapshot_log_entries_max: Option<u64>,
    /// `--snapshot-log-bytes-max`.
    pub snapshot_log_bytes_max: Option<u64>,
    /// `--wal-segment-bytes-max`.
    pub wal_segment_bytes_max: Option<u64>,
    /// `--proto-max-bulk-len`.
    pub proto_max_bulk_len: Option<usize>,
}

/// Read and parse `path`, saying which file and which key is wrong.
pub fn load(path: &Path) -> Result<NodeFile, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("config file {shown}: {e}"))?;
    if meta.len() > CONFIG_FILE_BYTES_MAX {
        return Err(format!(
            "config file {shown} is {} bytes; at most {CONFIG_FILE_BYTES_MAX} are read",
            meta.len()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("config file {shown}: {e}"))?;
    parse(&text).map_err(|e| format!("config file {shown}: {e}"))
}

/// Parse the text of a config file.
pub fn parse(text: &str) -> Result<NodeFile, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
}

/// A flag's value if given, else the file's, with the name to blame in errors.
fn pick<T>(
    flag: Option<T>,
    key: Option<T>,
    flag_name: &str,
    key_name: &str,
) -> Option<(T, String)> {
    match (flag, key) {
        (Some(v), _) => Some((v, flag_name.to_string())),
        (None, Some(v)) => Some((v, format!("config key {key_name}"))),
        (None, None) => None,
    }
}

fn required<T>(value: Option<(T, String)>, flag: &str, key: &str) -> Result<(T, String), String> {
    value.ok_or_else(|| format!("missing {flag}: give the flag or set `{key}` in --config"))
}

/// The node's listen addresses (clients, peers, metrics if set), taken out of `flags` and
/// `file`, the flag winning.
fn listen_addrs(
    flags: &mut NodeFlags,
    file: &mut NodeFile,
) -> Result<(SocketAddr, SocketAddr, Option<SocketAddr>), String> {
    let addr = |flag: Option<String>, key: Option<String>, f: &str, k: &str| {
        pick(flag, key, f, k)
            .map(|(text, from)| parse_addr(text.trim(), &from))
            .transpose()
    };
    let listen = addr(
        flags.listen.take(),
        file.listen.take(),
        "--listen",
        "listen",
    )?;
    let listen = listen.ok_or("missing --listen: give the flag or set `listen` in --config")?;
    let peer_listen = addr(
        flags.peer_listen.take(),
        file.peer_listen.take(),
        "--peer-listen",
        "peer_listen",
    )?;
    let peer_listen = peer_listen
        .ok_or("missing --peer-listen: give the flag or set `peer_listen` in --config")?;
    let metrics_listen = addr(
        flags.metrics_listen.take(),
        file.metrics_listen.take(),
        "--metrics-listen",
        "metrics_listen",
    )?;
    Ok((listen, peer_listen, metrics_listen))
}

/// The node's settings: `file` (empty without --config) overridden by `flags`.
pub fn merge(mut flags: NodeFlags, mut file: NodeFile) -> Result<NodeConfig, String> {
    let (id, _) = required(pick(flags.id, file.id, "--id", "id"), "--id", "id")?;
    let (listen, peer_listen, metrics_listen) = listen_addrs(&mut flags, &mut file)?;
    let peers = match (flags.peers, file.peers) {
        (Some(text), _) => parse_peers(&text)?,
        (None, Some(table)) => peers_from_table(&table)?,
        (None, None) => return Err("missing --peers: give the flag or a [peers] table".into()),
    };
    if !peers.contains_key(&NodeId(id)) {
        return Err(format!("--id {id} is not one of --peers"));
    }
    let data_dir = pick(flags.data_dir, file.data_dir, "--data-dir", "data_dir");
    let (data_dir, _) = required(data_dir, "--data-dir", "data_dir")?;
    let mut config = NodeConfig::new(NodeId(id), listen, peer_listen, peers, data_dir);
    if let Some(addr) = metrics_listen {
        config.metrics_listen = addr;
    }
    if let Some(tick_ms) = flags.tick_ms.or(file.tick_ms) {
        config.tick_ms = tick_ms;
    }
    if let Some(ticks) = flags.forward_timeout_ticks.or(file.forward_timeout_ticks) {
        config.forward_timeout_ticks = ticks;
    }
    if let Some((text, from)) = pick(flags.reads, file.reads, "--reads", "reads") {
        config.reads = parse_reads(&text, &from)?;
    }
    if let Some(on) = flags.check_quorum.or(file.check_quorum) {
        config.check_quorum = on;
    }
    let parallel = flags.leader_writes_in_parallel;
    if let Some(on) = parallel.or(file.leader_writes_in_parallel) {
        config.leader_writes_in_parallel = on;
    }
    if let Some(n) = flags
        .snapshot_log_entries_max
        .or(file.snapshot_log_entries_max)
    {
        config.snapshot_log_entries_max = n;
    }
    if let Some(n) = flags.snapshot_log_bytes_max.or(file.snapshot_log_bytes_max) {
        config.snapshot_log_bytes_max = n;
    }
    if let Some(n) = flags.wal_segment_bytes_max.or(file.wal_segment_bytes_max) {
        config.wal_segment_bytes_max = n;
    }
    if let Some(n) = flags.proto_max_bulk_len.or(file.proto_max_bulk_len) {
        config.proto_max_bulk_len = n;
    }
    config.validate()?;
    Ok(config)
}

/// `[peers]` with `1 = "127.0.0.1:7379"` lines.
fn peers_from_table(
    table: &BTreeMap<String, String>,
) -> Result<BTreeMap<NodeId, SocketAddr>, String> {
    let mut peers = BTreeMap::new();
    for (id, addr) in table {
        let n: u64 = id
            .trim()
            .parse()
            .map_err(|_| format!("config key peers.{id}: `{id}` is not a node id"))?;
        let addr = parse_addr(addr.trim(), &format!("config key peers.{id}"))?;
        if peers.insert(NodeId(n), addr).is_some() {
            return Err(format!("config key peers names node {n} twice"));
        }
    }
    if peers.is_empty() {
        return Err("config key peers is empty: list every voter as ID = \"HOST:PORT\"".into());
    }
    Ok(peers)
}

/// `read-index`, `lease` or `log`.
pub fn parse_reads(text: &str, from: &str) -> Result<ReadPath, String> {
    ReadPath::ALL
        .into_iter()
        .find(|r| r.to_string() == text.trim())
        .ok_or_else(|| format!("{from} `{text}` is not a read path: expected read-index|lease|log"))
}

/// Parse `1=127.0.0.1:7379,2=…` into peer addresses, saying which item is wrong.
pub fn parse_peers(text: &str) -> Result<BTreeMap<NodeId, SocketAddr>, String> {
    let mut peers = BTreeMap::new();
    for item in text.split(',').filter(|s| !s.trim().is_empty()) {
        let (id, addr) = item
            .split_once('=')
            .ok_or_else(|| format!("--peers item `{item}` is not ID=HOST:PORT"))?;
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|_| format!("--peers item `{item}`: `{id}` is not a node id"))?;
        let addr = parse_addr(addr.trim(), "--peers")?;
        if peers.insert(NodeId(id), addr).is_some() {
            return Err(format!("--peers names node {id} twice"));
        }
    }
    if peers.is_empty() {
        return Err("--peers is empty: list every voter as ID=HOST:PORT".into());
    }
    Ok(peers)
}

/// A socket address, with the flag named in the error.
pub fn parse_addr(text: &str, flag: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("{flag} `{text}` is not an IP:PORT address (e.g. 127.0.0.1:6379)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = 1
listen = "127.0.0.1:6379"
peer_listen = "127.0.0.1:7379"
data_dir = "data/n1"
reads = "lease"
[peers]
1 = "127.0.0.1:7379"
2 = "127.0.0.1:7380"
3 = "127.0.0.1:7381"
"#;

    fn no_flags() -> NodeFlags {
        NodeFlags::default()
    }

    #[test]
    fn a_file_gives_every_setting_and_a_flag_overrides_its_key() {
        let config = merge(no_flags(), parse(GOOD).unwrap()).unwrap();
        assert_eq!(config.reads, ReadPath::Lease);
        assert_eq!(config.voters().len(), 3);
        assert_eq!(config.metrics_listen.port(), 8379);
        let flags = NodeFlags {
            listen: Some("127.0.0.1:6400".into()),
            reads: Some("log".into()),
            ..NodeFlags::default()
        };
        let config = merge(flags, parse(GOOD).unwrap()).unwrap();
        assert_eq!(config.listen.port(), 6400);
        assert_eq!(config.reads, ReadPath::Log);
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let err = parse(&format!("tick_mz = 5\n{GOOD}")).unwrap_err();
        assert!(err.contains("unknown field `tick_mz`"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let bad_addr = GOOD.replace("127.0.0.1:6379", "localhost");
        let err = merge(no_flags(), parse(&bad_addr).unwrap()).unwrap_err();
        assert!(err.contains("config key listen `localhost`"), "{err}");
        let bad_reads = GOOD.replace("\"lease\"", "\"psychic\"");
        let err = merge(no_flags(), parse(&bad_reads).unwrap()).unwrap_err();
        assert!(err.contains("config key reads `psychic`"), "{err}");
        let slow = format!("tick_ms = 0\n{GOOD}");
        let err = merge(no_flags(), parse(&slow).unwrap()).unwrap_err();
        assert!(err.contains("tick_ms"), "{err}");
        let err = merge(no_flags(), NodeFile::default()).unwrap_err();
        assert!(err.contains("missing --id"), "{err}");
    }

    #[test]
    fn lease_reads_without_check_quorum_are_refused_with_the_reason() {
        // Raft thesis §6.4.1
        let unsafe_file = format!("check_quorum = false\n{GOOD}");
        let err = merge(no_flags(), parse(&unsafe_file).unwrap()).unwrap_err();
        assert!(
            err.contains("reads = lease needs raft.check_quorum"),
            "{err}"
        );
    }

    #[test]
    fn snapshot_and_wal_sizes_come_from_the_file_or_flags_and_are_validated() {
        let file = format!(
            "snapshot_log_entries_max = 50\nsnapshot_log_bytes_max = 4096\n\
             wal_segment_bytes_max = 8388608\n{GOOD}"
        );
        let config = merge(no_flags(), parse(&file).unwrap()).unwrap();
        assert_eq!(config.snapshot_log_entries_max, 50);
        assert_eq!(config.snapshot_log_bytes_max, 4096);
        assert_eq!(config.wal_segment_bytes_max, 8 << 20);
        let flags = NodeFlags {
            snapshot_log_entries_max: Some(7),
            ..NodeFlags::default()
        };
        let config = merge(flags, parse(&file).unwrap()).unwrap();
        assert_eq!(config.snapshot_log_entries_max, 7);
        let tiny = format!("wal_segment_bytes_max = 1024\n{GOOD}");
        let err = merge(no_flags(), parse(&tiny).unwrap()).unwrap_err();
        assert!(err.contains("config key wal_segment_bytes_max"), "{err}");
        let bulk = format!("proto_max_bulk_len = 1048576\n{GOOD}");
        let config = merge(no_flags(), parse(&bulk).unwrap()).unwrap();
        assert_eq!(config.resp_limits().bulk_bytes_max, 1 << 20);
        let tiny_bulk = format!("proto_max_bulk_len = 10\n{GOOD}");
        let err = merge(no_flags(), parse(&tiny_bulk).unwrap()).unwrap_err();
        assert!(err.contains("config key proto_max_bulk_len"), "{err}");
        let zero = format!("snapshot_log_entries_max = 0\n{GOOD}");
        let err = merge(no_flags(), parse(&zero).unwrap()).unwrap_err();
        assert!(err.contains("config key snapshot_log_entries_max"), "{err}");
    }

    #[test]
    fn the_example_file_is_a_valid_config() {
        let text = include_str!("../../../config/node.example.toml");
        merge(no_flags(), parse(text).unwrap()).unwrap();
    }

    #[test]
    fn a_peer_list_parses_and_its_mistakes_are_named() {
        let peers = parse_peers("1=127.0.0.1:7001, 2=127.0.0.1:7002").unwrap();
        assert_eq!(peers.len(), 2);
        assert!(parse_peers("1:127.0.0.1:7001")
            .unwrap_err()
            .contains("not ID=HOST:PORT"));
        assert!(parse_peers("x=127.0.0.1:7001")
            .unwrap_err()
            .contains("not a node id"));
        assert!(parse_peers("1=localhost")
            .unwrap_err()
            .contains("not an IP:PORT"));
        assert!(parse_peers("1=127.0.0.1:1,1=127.0.0.1:2")
            .unwrap_err()
            .contains("twice"));
    }
}
