//! The node's TOML config and the flags over it (`server::config_file::{parse, merge}`).
//!
//! ```text
//!   input = flags:u8 ‖ peers flag (len-prefixed) ‖ TOML text
//!   parse ──► Err saying where (TOML line/column, or the unknown key)
//!   merge with no flags, or with --peers / --listen given ──► Err naming a key or flag,
//!         or a NodeConfig that validates, whose replica config and WAL options validate too
//! ```
//!
//! The file is read with a 64 KiB bound, so inputs up to that size are fair game.

use server::config_file::{merge, parse, NodeFlags};

use crate::{Input, Seed};

/// What an error may name: a flag, a key, or the setting it is about.
const KEYS: &[&str] = &[
    "--",
    "config key",
    "id",
    "listen",
    "peers",
    "data_dir",
    "tick_ms",
    "reads",
    "check_quorum",
    "forward_timeout_ticks",
    "snapshot_log",
    "wal_segment",
    "voters",
];

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let choice = input.u8();
    let peers = input.bytes(256);
    let Ok(text) = std::str::from_utf8(input.rest()) else {
        return;
    };
    let file = match parse(text) {
        Ok(file) => file,
        Err(e) => {
            assert!(!e.is_empty(), "a parse error says why");
            return;
        }
    };
    let mut flags = NodeFlags::default();
    if choice & 1 == 1 {
        flags.peers = Some(String::from_utf8_lossy(peers).into_owned());
        flags.listen = Some("127.0.0.1:6100".into());
    }
    match merge(flags, file) {
        Ok(config) => {
            config.validate().expect("a merged config validates");
            config
                .replica_config()
                .validate()
                .expect("its replica config validates");
            config
                .wal_options()
                .validate()
                .expect("its WAL options validate");
        }
        Err(e) => {
            let named = KEYS.iter().any(|key| e.contains(key));
            assert!(named, "the error names a flag or key: {e}");
        }
    }
}

/// The example file and a few variants of it.
pub fn seeds() -> Vec<Vec<u8>> {
    let example = include_str!("../../config/node.example.toml");
    let small = concat!(
        "id = 2\nlisten = \"127.0.0.1:6380\"\npeer_listen = \"127.0.0.1:7380\"\n",
        "data_dir = \"d/n2\"\nreads = \"lease\"\ncheck_quorum = true\ntick_ms = 5\n",
        "snapshot_log_entries_max = 50\nwal_segment_bytes_max = 8388608\n",
        "[peers]\n1 = \"127.0.0.1:7379\"\n2 = \"127.0.0.1:7380\"\n3 = \"[::1]:7381\"\n",
    );
    vec![
        Seed::new().u8(0).bytes(b"").raw(example.as_bytes()).take(),
        Seed::new().u8(0).bytes(b"").raw(small.as_bytes()).take(),
        Seed::new()
            .u8(1)
            .bytes(b"1=127.0.0.1:7001,2=127.0.0.1:7002")
            .raw(small.as_bytes())
            .take(),
    ]
}
