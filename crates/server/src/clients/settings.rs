//! `CONFIG GET` and `CONFIG SET`: the settings that exist on this node, under Redis' names
//! where Redis has one, and Redis' memory-encoding hints accepted as no-ops.
//!
//! ```text
//!   CONFIG GET pattern…        {name: value} for every setting matching a pattern (a map)
//!   CONFIG SET name value …    OK if every name is an encoding hint (no-op) or a fixed setting
//!                              given its current value (no change), else the error for the
//!                              first that is not: fixed at start, or unknown
//!   CONFIG RESETSTAT|REWRITE   refused: the settings come from the node's TOML and flags
//! ```
//!
//! Why the hints are accepted and ignored: `hash-max-listpack-entries`, `list-compress-depth`
//! and friends choose between Redis' compact and general memory encodings of a value. This
//! store keeps one representation per type (`kv` `value.rs`), so there is nothing to tune;
//! clients and Redis' test suite set them before their tests, and refusing would stop those
//! tests before they start. `CONFIG GET` of a hint answers Redis' default.
//!
//! Every other setting is fixed when the node starts: the replicated ones (`proto-max-bulk-len`
//! bounds kv's `value_bytes_max`) must be equal on every node, and a runtime change on one node
//! would break that. Setting one to the value it already has changes nothing and is accepted
//! (`CONFIG SET save ""` is how Redis' tests and many deployments say "no RDB snapshots", which
//! is already true here); any other value is refused with the reason.

use std::sync::Arc;

use bytes::Bytes;

use crate::clients::glob::glob_match;
use crate::clients::pubsub::Hub;
use crate::clients::resp::Frame;
use crate::config::NodeConfig;

/// Redis' encoding hints and their defaults in Redis 7.0.
const HINTS: &[(&str, &str)] = &[
    ("hash-max-listpack-entries", "128"),
    ("hash-max-listpack-value", "64"),
    ("hash-max-ziplist-entries", "128"),
    ("hash-max-ziplist-value", "64"),
    ("list-compress-depth", "0"),
    ("list-max-listpack-size", "-2"),
    ("list-max-ziplist-size", "-2"),
    ("set-max-intset-entries", "512"),
    ("stream-node-max-bytes", "4096"),
    ("stream-node-max-entries", "100"),
    ("zset-max-listpack-entries", "128"),
    ("zset-max-listpack-value", "64"),
    ("zset-max-ziplist-entries", "128"),
    ("zset-max-ziplist-value", "64"),
];

/// A node's settings as `CONFIG GET` shows them: fixed for the process's life.
#[derive(Clone, Debug)]
pub struct Settings {
    /// (name, value), in the order `CONFIG GET *` lists them.
    values: Vec<(&'static str, String)>,
    /// The one setting this node changes at runtime: `notify-keyspace-events`, kept where the
    /// node task reads it (the pub/sub hub; kv `notify.rs`).
    hub: Arc<Hub>,
}

/// The runtime setting: which keyspace notifications this node publishes.
const NOTIFY: &str = "notify-keyspace-events";

impl Settings {
    /// The settings of the node `config` describes.
    pub fn new(config: &NodeConfig, hub: Arc<Hub>) -> Settings {
        let values = vec![
            // Every write is fdatasynced to a majority's WAL before its reply.
            ("appendonly", "yes".to_string()),
            ("appendfsync", "always".to_string()),
            ("save", String::new()),
            ("databases", "1".to_string()),
            ("bind", config.listen.ip().to_string()),
            ("port", config.listen.port().to_string()),
            ("dir", config.data_dir.display().to_string()),
            ("proto-max-bulk-len", config.proto_max_bulk_len.to_string()),
            ("maxmemory", "0".to_string()),
            ("tick-ms", config.tick_ms.to_string()),
            ("reads", config.reads.to_string()),
            ("check-quorum", yes_no(config.check_quorum)),
            (
                "leader-writes-in-parallel",
                yes_no(config.leader_writes_in_parallel),
            ),
            (
                "forward-timeout-ticks",
                config.forward_timeout_ticks.to_string(),
            ),
            (
                "snapshot-log-entries-max",
                config.snapshot_log_entries_max.to_string(),
            ),
            (
                "snapshot-log-bytes-max",
                config.snapshot_log_bytes_max.to_string(),
            ),
            (
                "wal-segment-bytes-max",
                config.wal_segment_bytes_max.to_string(),
            ),
        ];
        Settings { values, hub }
    }

    /// The reply to `CONFIG args…`.
    pub fn config(&self, args: &[Bytes]) -> Frame {
        let sub = args[0].to_ascii_lowercase();
        let rest = &args[1..];
        match sub.as_slice() {
            b"get" if !rest.is_empty() => self.get(rest),
            b"set" if !rest.is_empty() && rest.len().is_multiple_of(2) => self.set(rest),
            b"get" | b"set" => Frame::error(
                "ERR",
                format!(
                    "wrong number of arguments for 'config|{}' command",
                    String::from_utf8_lossy(&sub)
                ),
            ),
            b"resetstat" | b"rewrite" => Frame::error(
                "ERR",
                format!(
                    "CONFIG {} is not supported: this node's settings come from its TOML file \
                     and flags (distributed node --config)",
                    String::from_utf8_lossy(&sub).to_uppercase()
                ),
            ),
            _ => Frame::error(
                "ERR",
                format!(
                    "unknown subcommand '{}'. Try CONFIG HELP.",
                    String::from_utf8_lossy(&args[0])
                ),
            ),
        }
    }

    /// `CONFIG GET pattern…`: each matching setting once, in table order.
    fn get(&self, patterns: &[Bytes]) -> Frame {
        let matches = |name: &str| {
            patterns
                .iter()
                .any(|p| glob_match(p, name.as_bytes(), true))
        };
        let notify = self.hub.keyspace_events().to_string();
        let values = self.values.iter().map(|(n, v)| (*n, v.as_str()));
        let hints = HINTS.iter().copied();
        Frame::Map(
            values
                .chain([(NOTIFY, notify.as_str())])
                .chain(hints)
                .filter(|(name, _)| matches(name))
                .map(|(name, value)| (Frame::bulk(name), Frame::bulk(value.to_string())))
                .collect(),
        )
    }
}

impl Settings {
    /// `CONFIG SET name value …`: all or nothing, as Redis: OK only if every name is a hint or
    /// a fixed setting given the value it has.
    fn set(&self, pairs: &[Bytes]) -> Frame {
        let mut notify = None;
        for pair in pairs.chunks(2) {
            let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
            if name == NOTIFY {
                match kv::KeyspaceEvents::parse(&pair[1]) {
                    Ok(events) => notify = Some(events),
                    Err(_) => return invalid_event_class(),
                }
                continue;
            }
            if HINTS.iter().any(|(hint, _)| *hint == name) || self.has_value(&name, &pair[1]) {
                continue;
            }
            return refusal(&name);
        }
        if let Some(events) = notify {
            self.hub.set_keyspace_events(events);
        }
        Frame::ok()
    }

    /// True if the setting `name` exists and already holds `value`.
    fn has_value(&self, name: &str, value: &[u8]) -> bool {
        self.values
            .iter()
            .any(|(n, v)| *n == name && v.as_bytes() == value)
    }
}

/// Redis' answer to a letter `notify-keyspace-events` does not know.
fn invalid_event_class() -> Frame {
    Frame::error(
        "ERR",
        format!(
            "CONFIG SET failed (possibly related to argument '{NOTIFY}') - Invalid event \
             class character. Use 'Ag$lshzxeKEtmdn'."
        ),
    )
}

/// Why `CONFIG SET name …` is refused: the setting is fixed at start, or unknown.
fn refusal(name: &str) -> Frame {
    if Settings::is_fixed(name) {
        return Frame::error(
            "ERR",
            format!(
                "CONFIG SET failed (possibly related to argument '{name}') - it is fixed when \
                 the node starts (set it in the node's TOML file or flags; replicated \
                 settings must be equal on every node)"
            ),
        );
    }
    Frame::error(
        "ERR",
        format!("Unknown option or number of arguments for CONFIG SET - '{name}'"),
    )
}

impl Settings {
    /// True for a setting this node has but never changes at runtime.
    fn is_fixed(name: &str) -> bool {
        const FIXED: &[&str] = &[
            "appendonly",
            "appendfsync",
            "save",
            "databases",
            "bind",
            "port",
            "dir",
            "proto-max-bulk-len",
            "maxmemory",
            "tick-ms",
            "reads",
            "check-quorum",
            "leader-writes-in-parallel",
            "forward-timeout-ticks",
            "snapshot-log-entries-max",
            "snapshot-log-bytes-max",
            "wal-segment-bytes-max",
        ];
        FIXED.contains(&name)
    }
}

fn yes_no(on: bool) -> String {
    if on { "yes" } else { "no" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn settings() -> Settings {
        let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        let config = NodeConfig::new(
            distributed_core::NodeId(1),
            addr(6379),
            addr(7379),
            Default::default(),
            "d".into(),
        );
        Settings::new(&config, Arc::new(Hub::default()))
    }

    fn run(words: &[&str]) -> Frame {
        let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
        settings().config(&args)
    }

    #[test]
    fn notify_keyspace_events_is_set_at_runtime_and_read_back_as_redis_spells_it() {
        let s = settings();
        let set = |v: &str| {
            s.config(&[
                Bytes::from("SET"),
                Bytes::from(NOTIFY),
                Bytes::from(v.to_string()),
            ])
        };
        assert_eq!(set("KA"), Frame::ok());
        let got = s.config(&[Bytes::from("GET"), Bytes::from(NOTIFY)]);
        assert_eq!(
            got,
            Frame::Map(vec![(Frame::bulk(NOTIFY), Frame::bulk("AK"))])
        );
        assert_eq!(s.hub.keyspace_events().to_string(), "AK");
        assert!(set("Kq").is_error());
        assert_eq!(
            s.hub.keyspace_events().to_string(),
            "AK",
            "a refused SET changes nothing"
        );
    }

    #[test]
    fn config_get_answers_the_settings_that_exist_by_glob_pattern() {
        let save = run(&["GET", "save"]);
        assert_eq!(
            save,
            Frame::Map(vec![(Frame::bulk("save"), Frame::bulk(""))])
        );
        let Frame::Map(pairs) = run(&["GET", "*max-ziplist*", "port"]) else {
            panic!("a map")
        };
        assert!(pairs.contains(&(Frame::bulk("port"), Frame::bulk("6379"))));
        assert!(pairs.contains(&(Frame::bulk("zset-max-ziplist-entries"), Frame::bulk("128"))));
        assert_eq!(run(&["GET", "nosuch"]), Frame::Map(vec![]));
    }

    #[test]
    fn config_set_accepts_encoding_hints_and_current_values_and_refuses_changes_with_a_reason() {
        assert_eq!(
            run(&[
                "SET",
                "zset-max-ziplist-entries",
                "0",
                "list-compress-depth",
                "1"
            ]),
            Frame::ok()
        );
        assert_eq!(run(&["SET", "save", "", "port", "6379"]), Frame::ok());
        let fixed = run(&["SET", "proto-max-bulk-len", "1mb"]);
        assert!(
            matches!(&fixed, Frame::Error(e) if e.starts_with("ERR CONFIG SET failed")),
            "{fixed}"
        );
        let unknown = run(&["SET", "maxmemory-policy", "x"]);
        assert_eq!(
            unknown,
            Frame::Error(
                "ERR Unknown option or number of arguments for CONFIG SET - 'maxmemory-policy'"
                    .into()
            )
        );
        assert!(run(&["SET", "a"]).is_error());
        assert!(run(&["SET", "notify-keyspace-events", "KQ"]).is_error());
        assert!(run(&["REWRITE"]).is_error());
    }
}
