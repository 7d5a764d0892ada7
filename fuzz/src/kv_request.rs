//! Commands as the log carries them (`kv::Request::decode`), applied to the state machine.
//!
//! ```text
//!   input = limits:u8 ‖ (len:u16 ‖ entry)*
//!   each entry: decode ──► Err naming the offset and the field,
//!                          or a request whose encode() is the entry byte for byte
//!   every entry applied in order (a log entry is untrusted: a hostile client wrote it);
//!   then snapshot ──► restore: the same snapshot bytes and digest
//! ```

use bytes::Bytes;
use kv::{Body, Command, Config, Limits, Request, StateMachine};

use crate::{Input, Seed};

/// Entries per input.
const ENTRIES_MAX: usize = 64;

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let config = config(input.u8());
    let mut machine = StateMachine::new(config.clone()).expect("a valid config");
    let mut index = 0;
    while !input.is_empty() && index < ENTRIES_MAX as u64 {
        let entry = input.bytes(1 << 16);
        match Request::decode(entry, &config.limits) {
            Ok(request) => {
                // Version 2 is canonical; a version-1 entry (an old WAL) re-encodes as v2.
                if entry.first() == Some(&kv::REQUEST_VERSION) {
                    assert_eq!(
                        &request.encode()[..],
                        entry,
                        "the request format is canonical"
                    );
                } else {
                    let again = Request::decode(&request.encode(), &config.limits);
                    assert_eq!(
                        again.as_ref(),
                        Ok(&request),
                        "v1 converts to the same v2 request"
                    );
                }
                if let Some(command) = request.command().filter(|c| c.is_read_only()) {
                    let _ = machine.read(command, entry.len() as u64);
                }
            }
            Err(e) => {
                assert!(e.offset <= entry.len(), "the offset is inside: {e}");
                assert!(e.message.contains(':'), "names the field: {e}");
            }
        }
        index += 1;
        machine.apply(index, entry);
    }
    let snapshot = machine.snapshot();
    let again = StateMachine::restore(config, &snapshot).expect("own snapshot restores");
    assert_eq!(
        again.snapshot(),
        snapshot,
        "snapshot + restore keeps the state"
    );
    assert_eq!(again.digest(), machine.digest());
}

/// The default limits, or tiny ones so every limit is reached by short inputs.
fn config(choice: u8) -> Config {
    if choice & 1 == 0 {
        return Config::default();
    }
    Config {
        limits: Limits {
            key_bytes_max: 8,
            value_bytes_max: 24,
            args_per_command_max: 3,
            commands_per_transaction_max: 3,
            request_bytes_max: 104,
        },
        sessions_max: 2,
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn cmd(words: &[&str]) -> Command {
    Command::from_words(words.iter().map(|w| b(w)).collect()).expect("a valid sample")
}

/// One request of every command (options, expiry and a transaction included), with and
/// without a session, at log times that sometimes go backwards.
pub fn sample_requests() -> Vec<Request> {
    let commands = vec![
        Command::noop(),
        cmd(&["set", "k", "7"]),
        cmd(&["get", "k"]),
        cmd(&["set", "n", "x", "NX", "GET"]),
        cmd(&["set", "t", "x", "PX", "5", "XX"]),
        cmd(&["incrby", "k", "9223372036854775807"]),
        cmd(&["incr", "n"]),
        cmd(&["decrby", "n", "3"]),
        cmd(&["append", "k", "99"]),
        cmd(&["cas", "k", "799", "1"]),
        cmd(&["cas", "z", "2"]),
        cmd(&["mset", "a", "1", "b", "2"]),
        cmd(&["mget", "a", "b", "c"]),
        cmd(&["exists", "a", "a"]),
        cmd(&["del", "b", "q"]),
        cmd(&["distributed.index"]),
        cmd(&["hset", "h", "f", "1", "g", "2"]),
        cmd(&["hincrby", "h", "f", "4"]),
        cmd(&["hincrbyfloat", "h", "g", "0.5"]),
        cmd(&["hgetall", "h"]),
        cmd(&["hscan", "h", "0", "MATCH", "f*", "COUNT", "1"]),
        cmd(&["rpush", "l", "a", "b", "c", "b"]),
        cmd(&["lrem", "l", "-1", "b"]),
        cmd(&["linsert", "l", "BEFORE", "a", "z"]),
        cmd(&["lmove", "l", "m", "LEFT", "RIGHT"]),
        cmd(&["lrange", "l", "0", "-1"]),
        cmd(&["sadd", "s", "x", "y", "z"]),
        cmd(&["spop", "s", "2"]),
        cmd(&["srandmember", "s", "-3"]),
        cmd(&["sunionstore", "u", "s", "h"]),
        cmd(&["zadd", "z", "GT", "CH", "1", "a", "2.5", "b", "-inf", "c"]),
        cmd(&["zincrby", "z", "3", "a"]),
        cmd(&[
            "zrange", "z", "(1", "+inf", "BYSCORE", "REV", "LIMIT", "0", "2",
        ]),
        cmd(&["zrange", "z", "[a", "(c", "BYLEX"]),
        cmd(&["zpopmin", "z", "2"]),
        cmd(&["type", "h"]),
        cmd(&["expire", "h", "5", "NX"]),
        cmd(&["pexpireat", "l", "40", "GT"]),
        cmd(&["persist", "h"]),
        cmd(&["pttl", "h"]),
        cmd(&["getex", "k", "PXAT", "50"]),
        cmd(&["setrange", "k", "3", "xyz"]),
        cmd(&["incrbyfloat", "n", "1.5e3"]),
        cmd(&["rename", "z", "z2"]),
        cmd(&["copy", "h", "h2", "REPLACE"]),
        cmd(&["scan", "0", "MATCH", "*", "COUNT", "2", "TYPE", "hash"]),
        cmd(&["publish", "ch", "hello"]),
        cmd(&["flushall"]),
    ];
    let mut requests: Vec<Request> = commands
        .into_iter()
        .enumerate()
        .map(|(i, command)| {
            let mut r = Request::in_session((i % 3) as u64, 1 + i as u64 / 3, command);
            r.time_ms = [10, 4, 20][i % 3];
            r
        })
        .collect();
    requests.push(Request {
        client_id: 5,
        seq: 1,
        time_ms: 30,
        body: Body::Exec {
            watched: vec![b("a")],
            since: 3,
            commands: vec![cmd(&["set", "a", "9"]), cmd(&["get", "a"])],
        },
    });
    requests
}

/// A machine that applied every sample request (so its sessions cache replies of every kind).
pub fn sample_machine() -> StateMachine {
    let mut machine = StateMachine::default();
    for (i, r) in sample_requests().iter().enumerate() {
        machine.apply(i as u64 + 1, &r.encode());
    }
    machine.apply(100, b"\x01garbage");
    machine
}

/// The sample requests as one log, under both limits.
pub fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for limits in 0..2u8 {
        let mut seed = Seed::new();
        seed.u8(limits);
        for r in sample_requests() {
            seed.bytes(&r.encode());
        }
        out.push(seed.take());
    }
    out
}
