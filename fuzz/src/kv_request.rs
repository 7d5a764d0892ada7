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
use kv::{Command, Condition, Config, Limits, Request, StateMachine};

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
                assert_eq!(
                    &request.encode()[..],
                    entry,
                    "the request format is canonical"
                );
                if request.command.is_read_only() {
                    let _ = machine.read(&request.command);
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
            value_bytes_max: 16,
            keys_per_command_max: 3,
            request_bytes_max: 64,
        },
        sessions_max: 2,
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// One request of every command, with and without a session.
pub fn sample_requests() -> Vec<Request> {
    let commands = vec![
        Command::Noop,
        Command::Put {
            key: b("k"),
            value: b("7"),
        },
        Command::Get { key: b("k") },
        Command::PutIf {
            key: b("n"),
            value: b("x"),
            condition: Condition::IfAbsent,
        },
        Command::Increment {
            key: b("k"),
            by: i64::MAX,
        },
        Command::Increment { key: b("n"), by: 1 },
        Command::Append {
            key: b("k"),
            value: b("99"),
        },
        Command::CompareAndSet {
            key: b("k"),
            expected: Some(b("799")),
            new: b("1"),
        },
        Command::CompareAndSet {
            key: b("z"),
            expected: None,
            new: b("2"),
        },
        Command::MultiPut {
            pairs: vec![(b("a"), b("1")), (b("b"), b("2"))],
        },
        Command::MultiGet {
            keys: vec![b("a"), b("b"), b("c")],
        },
        Command::Exists {
            keys: vec![b("a"), b("a")],
        },
        Command::Delete {
            keys: vec![b("b"), b("q")],
        },
    ];
    commands
        .into_iter()
        .enumerate()
        .map(|(i, command)| Request {
            client_id: (i % 3) as u64,
            seq: 1 + i as u64 / 3,
            command,
        })
        .collect()
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
