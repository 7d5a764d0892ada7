//! The KV state machine's snapshot (`kv::StateMachine::restore`): what a follower restores
//! from a leader's InstallSnapshot and a node from its snapshot file.
//!
//! ```text
//!   input = sessions_max:u8 ‖ kind:u8 ‖ body ‖ requests
//!     kind 0: the body is the whole snapshot, raw
//!     kind 1: "KVSN" ‖ version ‖ body ‖ CRC-32 built here, so mutations reach the fields
//!   restore ──► Err naming the offset and the field, or a machine whose snapshot() is the
//!               input byte for byte (the format is canonical) unless sessions were evicted
//!   then apply requests after it; snapshot ──► restore gives the same digest
//! ```

use kv::{Config, SnapshotError, StateMachine};

use crate::{Input, Seed};

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let config = config(input.u8());
    let snapshot = match input.u8() % 2 {
        0 => input.bytes(1 << 16).to_vec(),
        _ => wrap(input.bytes(1 << 16)),
    };
    let mut machine = match StateMachine::restore(config.clone(), &snapshot) {
        Ok(machine) => machine,
        Err(SnapshotError::Invalid(e)) => {
            assert!(e.offset <= snapshot.len(), "the offset is inside: {e}");
            assert!(e.message.contains(':'), "names the field: {e}");
            return;
        }
        Err(_) => return,
    };
    if machine.sessions_len() < config.sessions_max {
        assert_eq!(
            machine.snapshot(),
            snapshot,
            "the snapshot format is canonical"
        );
    }
    let mut index = machine.applied_index();
    while !input.is_empty() {
        let Some(next) = index.checked_add(1) else {
            break;
        };
        index = next;
        machine.apply(index, input.bytes(256));
    }
    let again = StateMachine::restore(config, &machine.snapshot()).expect("own snapshot restores");
    assert_eq!(
        again.digest(),
        machine.digest(),
        "snapshot + restore keeps the state"
    );
}

fn config(choice: u8) -> Config {
    Config {
        sessions_max: if choice & 1 == 0 { 4096 } else { 2 },
        ..Config::default()
    }
}

/// A snapshot around `body`: magic, version, body, CRC-32 of everything before it.
pub fn wrap(body: &[u8]) -> Vec<u8> {
    let mut out = b"KVSN".to_vec();
    out.push(kv::SNAPSHOT_VERSION);
    out.extend_from_slice(body);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Machines with keys and sessions (cached replies of every kind), snapshotted.
pub fn seeds() -> Vec<Vec<u8>> {
    let machine = crate::kv_request::sample_machine();
    let snapshot = machine.snapshot();
    let body = &snapshot[5..snapshot.len() - 4];
    vec![
        Seed::new().u8(0).u8(0).bytes(&snapshot).take(),
        Seed::new().u8(0).u8(1).bytes(body).take(),
        Seed::new().u8(1).u8(1).bytes(body).take(),
        Seed::new()
            .u8(0)
            .u8(0)
            .bytes(&StateMachine::default().snapshot())
            .take(),
    ]
}
