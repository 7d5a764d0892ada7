//! The connection commands' own table: the commands a connection answers itself (PING, MULTI,
//! SUBSCRIBE, HELLO, CLIENT, …), with the same fields as kv's table, so `COMMAND`, the arity
//! check and the README list both tables as one.
//!
//! ```text
//!   Row { name: "multi", arity: 1, flags: [noscript loading stale fast allow_busy],
//!         keys: none, group: "transactions", summary, since: "1.2.0",
//!         in_multi: Control, in_subscribe: false }
//!
//!   rows() = kv::table::all() ∪ CONNECTION, sorted by name ──► COMMAND, COMMAND DOCS, README
//!   lookup(b"MULTI") ──► the row ──► command.rs checks its arity before anything runs
//! ```
//!
//! Why a table of its own and not rows in kv's: kv's rows carry the function every replica runs
//! on the keyspace; these change only one connection's state (its transaction, subscriptions,
//! protocol version, name) and never reach the log. The fields a client sees are the same.
//! The blocking pops (BLPOP, BZPOPMIN, …) are rows here too: what they send through the log is
//! a kv command (LMPOP, ZMPOP, LMOVE), and the waiting is this front end's (`blocking.rs`).
//! Their key positions are not listed (these rows have none): COMMAND GETKEYS answers none.
//!
//! Invariants (tested): names are unique across both tables and lower-case; every row's arity
//! is non-zero; the README's "Supported commands" section is generated from `rows()`.

use kv::{KeySpec, Spec};

/// What a command does when it arrives inside MULTI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InMulti {
    /// Queued: answered when queued (it has no effect that EXEC could undo), its answer sent
    /// in EXEC's array at its place.
    Queue,
    /// Runs at once whatever the state: MULTI, EXEC, DISCARD, WATCH, QUIT, RESET.
    Control,
    /// Refused with Redis' "Command not allowed inside a transaction", which aborts the
    /// transaction: it changes the connection (HELLO, SUBSCRIBE) or needs the node (INFO).
    Refuse,
}

/// One connection command.
#[derive(Clone, Copy, Debug)]
pub struct ConnSpec {
    /// The name, lower-case.
    pub name: &'static str,
    /// Redis' arity: counts the name; negative means at least.
    pub arity: i16,
    /// The flags `COMMAND INFO` lists (Redis' own for the command).
    pub flags: &'static [&'static str],
    /// The documentation group.
    pub group: &'static str,
    /// One line for `COMMAND DOCS` and the README.
    pub summary: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
    /// Inside MULTI.
    pub in_multi: InMulti,
    /// Allowed on a RESP2 connection in subscribed mode (Redis' rule).
    pub in_subscribe: bool,
}

const fn row(
    name: &'static str,
    arity: i16,
    flags: &'static [&'static str],
    group: &'static str,
    since: &'static str,
    in_multi: InMulti,
    summary: &'static str,
) -> ConnSpec {
    ConnSpec {
        name,
        arity,
        flags,
        group,
        summary,
        since,
        in_multi,
        in_subscribe: false,
    }
}

const fn sub(spec: ConnSpec) -> ConnSpec {
    ConnSpec {
        in_subscribe: true,
        ..spec
    }
}

use InMulti::{Control, Queue, Refuse};

const FAST: &[&str] = &["fast", "loading", "stale"];
const TX: &[&str] = &["noscript", "loading", "stale", "fast", "allow_busy"];
const PUBSUB: &[&str] = &["pubsub", "noscript", "loading", "stale"];
const BLOCK: &[&str] = &["write", "blocking"];
const ADMIN: &[&str] = &["admin", "noscript", "loading", "stale"];

/// The connection commands, sorted by name.
#[rustfmt::skip]
pub const CONNECTION: &[ConnSpec] = &[
    row("blmove", 6, BLOCK, "list", "6.2.0", Queue, "Pops an element from one list and pushes it to another; blocks until one is available."),
    row("blmpop", -5, BLOCK, "list", "7.0.0", Queue, "Pops elements from the first non-empty of several lists; blocks until one is available."),
    row("blpop", -3, BLOCK, "list", "2.0.0", Queue, "Pops the first element of the first non-empty of several lists; blocks until one is available."),
    row("brpop", -3, BLOCK, "list", "2.0.0", Queue, "Pops the last element of the first non-empty of several lists; blocks until one is available."),
    row("brpoplpush", 4, BLOCK, "list", "2.2.0", Queue, "Pops the last element of a list and pushes it to the head of another; blocks until one is available."),
    row("bzmpop", -5, BLOCK, "sorted-set", "7.0.0", Queue, "Pops the lowest or highest scored members from the first non-empty of several sorted sets; blocks until one is available."),
    row("bzpopmax", -3, BLOCK, "sorted-set", "5.0.0", Queue, "Pops the highest scored member from the first non-empty of several sorted sets; blocks until one is available."),
    row("bzpopmin", -3, BLOCK, "sorted-set", "5.0.0", Queue, "Pops the lowest scored member from the first non-empty of several sorted sets; blocks until one is available."),
    row("client", -2, &["noscript", "loading", "stale"], "connection", "2.4.0", Queue, "A container for client connection commands (ID, INFO, LIST, SETNAME, GETNAME, SETINFO, UNBLOCK, REPLY)."),
    row("command", -1, &["loading", "stale"], "server", "2.8.13", Queue, "Returns detailed information about all commands (COUNT, DOCS, INFO, LIST, GETKEYS)."),
    row("config", -2, ADMIN, "server", "2.0.0", Queue, "Reads this node's settings (GET); sets notify-keyspace-events, and accepts Redis' memory-encoding hints and unchanged values (SET)."),
    row("discard", 1, TX, "transactions", "2.0.0", Control, "Discards a transaction."),
    row("distributed.status", 1, FAST, "distributed", "0.1.0", Refuse, "Returns this node's Raft state (role, term, leader, indexes) as INFO-style lines."),
    row("echo", 2, FAST, "connection", "1.0.0", Queue, "Returns the given string."),
    row("exec", 1, &["noscript", "loading", "stale", "skip_slowlog"], "transactions", "1.2.0", Control, "Executes all commands in a transaction, in one log entry."),
    row("hello", -1, &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], "connection", "6.0.0", Refuse, "Handshakes with the server: RESP2 or RESP3, an optional client name."),
    row("info", -1, &["loading", "stale"], "server", "1.0.0", Refuse, "Returns this node's Raft state as INFO-style lines."),
    row("multi", 1, TX, "transactions", "1.2.0", Control, "Starts a transaction."),
    sub(row("ping", -1, FAST, "connection", "1.0.0", Queue, "Returns the server's liveliness response.")),
    sub(row("psubscribe", -2, PUBSUB, "pubsub", "2.0.0", Refuse, "Listens for messages published to channels that match one or more patterns.")),
    row("pubsub", -2, PUBSUB, "pubsub", "2.8.0", Queue, "This node's subscriptions: CHANNELS [pattern], NUMSUB channel…, NUMPAT."),
    sub(row("punsubscribe", -1, PUBSUB, "pubsub", "2.0.0", Refuse, "Stops listening to messages published to channels that match one or more patterns.")),
    sub(row("quit", -1, &["allow_busy", "noscript", "loading", "stale", "fast", "no_auth"], "connection", "1.0.0", Control, "Closes the connection.")),
    row("readonly", 1, FAST, "cluster", "3.0.0", Refuse, "Serves this connection's reads from the local replica, possibly stale."),
    row("readwrite", 1, FAST, "cluster", "3.0.0", Refuse, "Serves this connection's reads linearizably again (the default)."),
    sub(row("reset", 1, &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], "connection", "6.2.0", Control, "Resets the connection: transaction, watches, subscriptions, protocol, name.")),
    row("select", 2, FAST, "connection", "1.0.0", Queue, "Changes the selected database: only 0 exists."),
    sub(row("subscribe", -2, PUBSUB, "pubsub", "2.0.0", Refuse, "Listens for messages published to channels, on every node of the cluster.")),
    row("time", 1, FAST, "server", "2.6.0", Queue, "Returns this node's wall-clock time: Unix seconds and microseconds."),
    sub(row("unsubscribe", -1, PUBSUB, "pubsub", "2.0.0", Refuse, "Stops listening to messages posted to channels.")),
    row("unwatch", 1, TX, "transactions", "2.2.0", Queue, "Forgets about all watched keys."),
    row("watch", -2, TX, "transactions", "2.2.0", Control, "Monitors changes to keys to determine the execution of a transaction."),
];

/// The connection command called `name` (lower-case).
pub fn lookup(name: &str) -> Option<&'static ConnSpec> {
    CONNECTION
        .binary_search_by(|s| s.name.cmp(name))
        .ok()
        .map(|i| &CONNECTION[i])
}

/// True if `words` (the name included) is an accepted count for `arity`.
pub fn arity_accepts(arity: i16, words: usize) -> bool {
    let need = usize::from(arity.unsigned_abs());
    if arity >= 0 {
        words == need
    } else {
        words >= need
    }
}

/// One command as `COMMAND` and the README show it, from either table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The name, lower-case.
    pub name: &'static str,
    /// Redis' arity.
    pub arity: i16,
    /// The flags, as `COMMAND INFO` prints them.
    pub flags: Vec<&'static str>,
    /// Which arguments are keys.
    pub keys: KeySpec,
    /// The documentation group.
    pub group: &'static str,
    /// One line of documentation.
    pub summary: &'static str,
    /// The version that introduced it.
    pub since: &'static str,
}

impl From<&Spec> for Row {
    fn from(s: &Spec) -> Row {
        Row {
            name: s.name,
            arity: s.arity,
            flags: s.flags.names(),
            keys: s.keys,
            group: s.group.name(),
            summary: s.summary,
            since: s.since,
        }
    }
}

impl From<&ConnSpec> for Row {
    fn from(s: &ConnSpec) -> Row {
        Row {
            name: s.name,
            arity: s.arity,
            flags: s.flags.to_vec(),
            keys: KeySpec::NONE,
            group: s.group,
            summary: s.summary,
            since: s.since,
        }
    }
}

/// Every command this server answers, both tables, sorted by name.
pub fn rows() -> Vec<Row> {
    let mut all: Vec<Row> = kv::table::all().map(Row::from).collect();
    all.extend(CONNECTION.iter().map(Row::from));
    all.sort_by_key(|r| r.name);
    all
}

/// The row for `name` (any case), from either table.
pub fn row_of(name: &[u8]) -> Option<Row> {
    if let Some(spec) = kv::table::lookup(name) {
        return Some(Row::from(spec));
    }
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    lookup(&lower).map(Row::from)
}

/// The command's name as a table knows it (for errors, CLIENT LIST and the latency label: a
/// bounded set), or `"unknown"`.
pub fn command_name(frame: &crate::clients::resp::Frame) -> &'static str {
    let crate::clients::resp::Frame::Array(items) = frame else {
        return "unknown";
    };
    match items.first() {
        Some(crate::clients::resp::Frame::Bulk(name)) => row_of(name).map_or("unknown", |r| r.name),
        _ => "unknown",
    }
}

/// The commands a RESP2 connection may send in subscribed mode (Redis' rule).
pub fn allowed_when_subscribed(name: &str) -> bool {
    lookup(name).is_some_and(|s| s.in_subscribe)
}

/// The commands that run at once inside MULTI instead of being queued.
pub fn is_control(name: &str) -> bool {
    lookup(name).is_some_and(|s| s.in_multi == InMulti::Control)
}

/// The README's list of supported commands: one line per group (as `COMMAND DOCS` groups
/// them), the names in order. Generated, and `tests/readme.rs` fails when the README's copy
/// differs (`README_REWRITE=1` rewrites it). Summaries stay in `COMMAND DOCS`, where a client
/// reads them, rather than making the README a second reference manual.
pub fn markdown() -> String {
    let rows = rows();
    let mut groups: Vec<&str> = rows.iter().map(|r| r.group).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut out = String::new();
    for group in groups {
        let names: Vec<String> = rows
            .iter()
            .filter(|r| r.group == group)
            .map(|r| format!("`{}`", r.name.to_ascii_uppercase()))
            .collect();
        out.push_str(&format!(
            "- **{group}** ({}): {}\n",
            names.len(),
            names.join(" ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_table_is_sorted_lower_case_and_shares_no_name_with_kv() {
        for pair in CONNECTION.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for s in CONNECTION {
            assert_eq!(s.name, s.name.to_ascii_lowercase());
            assert!(s.arity != 0, "{}", s.name);
            assert!(
                kv::table::lookup(s.name.as_bytes()).is_none(),
                "{} twice",
                s.name
            );
        }
    }

    #[test]
    fn rows_join_both_tables_in_name_order() {
        let rows = rows();
        assert!(rows.windows(2).all(|p| p[0].name < p[1].name));
        assert!(rows.iter().any(|r| r.name == "multi"));
        assert!(rows
            .iter()
            .any(|r| r.name == "set" && r.flags.contains(&"write")));
        assert_eq!(row_of(b"PING").map(|r| r.group), Some("connection"));
        assert_eq!(row_of(b"Get").map(|r| r.keys), Some(KeySpec::FIRST));
        assert!(row_of(b"eval").is_none(), "Lua is out of scope");
    }

    #[test]
    fn only_the_subscribe_family_ping_quit_and_reset_run_in_subscribed_mode() {
        let allowed: Vec<&str> = CONNECTION
            .iter()
            .filter(|s| s.in_subscribe)
            .map(|s| s.name)
            .collect();
        assert_eq!(
            allowed,
            [
                "ping",
                "psubscribe",
                "punsubscribe",
                "quit",
                "reset",
                "subscribe",
                "unsubscribe"
            ]
        );
    }
}
