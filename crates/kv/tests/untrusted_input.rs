//! Log entries and snapshots are untrusted: mutated valid encodings, with edge values
//! (`u64::MAX`, 0, `i64::MIN`, …) written over their fields, decode to something canonical or
//! to an error naming the offset and the field, and applying or restoring them never panics.
//! The stable twin of the `kv_request` and `kv_snapshot` fuzz targets in `fuzz/`.

mod common;

use common::arb_request;
use kv::{Config, Request, SnapshotError, StateMachine};
use proptest::prelude::*;

/// One change to a valid encoding: an edge value over 1, 4 or 8 bytes, or a cut.
#[derive(Clone, Debug)]
enum Mutation {
    Edge { at: usize, value: u64, width: usize },
    Truncate { at: usize },
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let edge = prop_oneof![
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(0),
        Just(1),
        Just(u64::from(u32::MAX)),
        Just(1 << 63),
        Just(i64::MAX as u64),
        any::<u64>(),
    ];
    let one = prop_oneof![
        4 => (any::<usize>(), edge, prop_oneof![Just(1usize), Just(4), Just(8)])
            .prop_map(|(at, value, width)| Mutation::Edge { at, value, width }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ];
    proptest::collection::vec(one, 1..4)
}

fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for m in mutations {
        if out.is_empty() {
            break;
        }
        match *m {
            Mutation::Edge { at, value, width } => {
                let at = at % out.len();
                let end = (at + width).min(out.len());
                out[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
            }
            Mutation::Truncate { at } => out.truncate(at % (out.len() + 1)),
        }
    }
    out
}

/// The fields a request error may start with (`"<field>: …"`).
const REQUEST_FIELDS: &[&str] = &[
    "version",
    "request",
    "client_id",
    "seq",
    "time_ms",
    "body",
    "words",
    "command name",
    "command",
    "argument",
    "watched",
    "watched key",
    "since",
    "commands",
    "command tag",
    "key",
    "value",
    "keys",
    "option",
    "condition",
    "by",
];

/// A machine with a few keys and sessions, as a leader would snapshot it.
fn machine_with(requests: &[Request]) -> StateMachine {
    let mut machine = StateMachine::default();
    for (i, r) in requests.iter().enumerate() {
        machine.apply(i as u64 + 1, &r.encode());
    }
    machine
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A mutated request decodes to one that encodes to the same bytes, or to an error naming
    /// its field at an offset inside the entry; applying it never panics.
    #[test]
    fn mutated_requests_decode_canonically_or_name_the_field(
        request in arb_request(),
        ms in mutations(),
    ) {
        let bytes = mutate(&request.encode(), &ms);
        let config = Config::default();
        match Request::decode(&bytes, &config.limits) {
            // Version 2 is canonical; bytes that decode as version 1 (an old WAL's) convert to
            // the v2 request with the same meaning.
            Ok(r) if bytes.first() == Some(&kv::REQUEST_VERSION) => {
                prop_assert_eq!(&r.encode()[..], &bytes[..])
            }
            Ok(r) => prop_assert_eq!(Request::decode(&r.encode(), &config.limits), Ok(r)),
            Err(e) => {
                prop_assert!(e.offset <= bytes.len(), "{}", e);
                let named = REQUEST_FIELDS.iter().any(|f| e.message.starts_with(&format!("{f}:")));
                prop_assert!(named, "{}", e);
            }
        }
        let mut machine = StateMachine::default();
        machine.apply(1, &bytes);
    }

    /// A snapshot whose body was mutated behind a recomputed CRC (what a buggy writer or a
    /// forged file would hold) restores to a machine that snapshots to the same bytes, or is
    /// refused with the offset and the field.
    #[test]
    fn mutated_snapshot_bodies_restore_canonically_or_name_the_field(
        requests in proptest::collection::vec(arb_request(), 1..12),
        ms in mutations(),
    ) {
        let snapshot = machine_with(&requests).snapshot();
        let body = mutate(&snapshot[5..snapshot.len() - 4], &ms);
        let mut forged = snapshot[..5].to_vec();
        forged.extend_from_slice(&body);
        let crc = crc32fast::hash(&forged);
        forged.extend_from_slice(&crc.to_le_bytes());
        match StateMachine::restore(Config::default(), &forged) {
            Ok(mut machine) => {
                prop_assert_eq!(&machine.snapshot()[..], &forged[..]);
                if let Some(next) = machine.applied_index().checked_add(1) {
                    machine.apply(next, &requests[0].encode());
                }
            }
            Err(SnapshotError::Invalid(e)) => {
                prop_assert!(e.offset <= forged.len(), "{}", e);
                let field = e.message.split(':').next().unwrap_or("");
                prop_assert!(!field.is_empty() && field.len() < e.message.len(), "{}", e);
            }
            Err(other) => prop_assert!(false, "the CRC holds, so only Invalid: {}", other),
        }
    }
}
