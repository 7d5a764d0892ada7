//! Snapshots (Raft §7): faithful round trips, the dedup table included, and corruption refused.

mod common;

use common::{arb_entry, incr, put, value, Log};
use kv::{Config, KvError, Reply, SnapshotError, StateMachine};
use proptest::prelude::*;

/// A bit-at-a-time CRC-32 (IEEE), written separately from the crate's table-driven one so the
/// tests that forge snapshots do not trust the code under test.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Replace a snapshot's body (everything between the 5-byte header and the CRC) and re-seal it.
fn reseal(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = header[..5].to_vec();
    out.extend_from_slice(body);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn busy_log() -> Log {
    let mut log = Log::new();
    log.run(put("a", "1"));
    log.request(7, 1, incr("n", 5));
    log.request(8, 1, put("b", "2"));
    log
}

#[test]
fn a_restored_machine_has_the_same_digest_contents_and_applied_index() {
    let log = busy_log();
    let restored = StateMachine::restore(Config::default(), &log.sm.snapshot()).unwrap();
    assert_eq!(restored.digest(), log.sm.digest());
    assert_eq!(restored.applied_index(), 3);
    assert_eq!(restored.get(b"n").map(|v| v.as_ref()), Some(&b"5"[..]));
    assert_eq!(restored.sessions_len(), 2);
    assert_eq!(restored.snapshot(), log.sm.snapshot());
}

#[test]
fn the_dedup_table_survives_a_snapshot_so_a_retry_is_still_not_applied_twice() {
    let mut log = busy_log();
    log.sm = StateMachine::restore(Config::default(), &log.sm.snapshot()).unwrap();
    assert_eq!(log.request(7, 1, incr("n", 5)), Reply::Int(5));
    assert_eq!(log.run(common::get("n")), value("5"));
    log.request(7, 2, incr("n", 1));
    let stale = log.request(7, 1, incr("n", 5));
    assert_eq!(
        stale,
        Reply::Error(KvError::Stale {
            client_id: 7,
            seq: 1,
            last_seq: 2
        })
    );
}

#[test]
fn every_single_flipped_bit_is_refused() {
    let snap = busy_log().sm.snapshot();
    for bit in 0..snap.len() * 8 {
        let mut bad = snap.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        let result = StateMachine::restore(Config::default(), &bad);
        assert!(
            result.is_err(),
            "bit {bit} flipped and the snapshot was accepted"
        );
    }
}

#[test]
fn a_flipped_bit_in_the_body_is_reported_as_a_checksum_mismatch() {
    let mut bad = busy_log().sm.snapshot().to_vec();
    bad[12] ^= 0x10;
    let err = StateMachine::restore(Config::default(), &bad).unwrap_err();
    assert!(matches!(err, SnapshotError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("CRC-32 mismatch"), "{err}");
}

#[test]
fn a_truncated_snapshot_is_refused() {
    let snap = busy_log().sm.snapshot();
    for len in 0..snap.len() {
        assert!(
            StateMachine::restore(Config::default(), &snap[..len]).is_err(),
            "len {len}"
        );
    }
    let err = StateMachine::restore(Config::default(), &snap[..3]).unwrap_err();
    assert_eq!(err, SnapshotError::TooShort { bytes: 3 });
}

#[test]
fn bytes_that_are_not_a_snapshot_are_refused_by_their_magic() {
    let err = StateMachine::restore(Config::default(), b"GARBAGE GARBAGE").unwrap_err();
    assert_eq!(err, SnapshotError::NotASnapshot);
}

#[test]
fn a_snapshot_of_another_version_is_refused_even_with_a_valid_checksum() {
    let snap = busy_log().sm.snapshot();
    let mut header = snap[..5].to_vec();
    header[4] = 3;
    let forged = reseal(&header, &snap[5..snap.len() - 4]);
    let err = StateMachine::restore(Config::default(), &forged).unwrap_err();
    assert_eq!(err, SnapshotError::Version { found: 3 });
}

#[test]
fn a_sealed_snapshot_with_an_impossible_body_is_refused_as_invalid() {
    let snap = busy_log().sm.snapshot();
    let mut body = snap[5..snap.len() - 4].to_vec();
    body[0..8].copy_from_slice(&1u64.to_le_bytes()); // applied_index 1, but keys written at 2, 3
    let err = StateMachine::restore(Config::default(), &reseal(&snap, &body)).unwrap_err();
    assert!(matches!(err, SnapshotError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("past applied_index"), "{err}");
}

#[test]
fn restoring_with_a_smaller_sessions_max_keeps_the_most_recent_clients() {
    let log = busy_log();
    let small = Config {
        sessions_max: 1,
        ..Config::default()
    };
    let mut restored = Log {
        sm: StateMachine::restore(small, &log.sm.snapshot()).unwrap(),
        next_index: 4,
    };
    assert_eq!(restored.sm.sessions_len(), 1);
    assert_eq!(restored.request(8, 1, put("b", "2")), Reply::ok());
    assert!(
        restored.request(7, 2, incr("n", 1)).is_error(),
        "client 7 was evicted"
    );
}

#[test]
fn restoring_with_an_invalid_config_is_refused() {
    let bad = Config {
        sessions_max: 0,
        ..Config::default()
    };
    let err = StateMachine::restore(bad, &busy_log().sm.snapshot()).unwrap_err();
    assert!(matches!(err, SnapshotError::Config(_)), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_reachable_state_round_trips_through_a_snapshot(
        entries in prop::collection::vec(arb_entry(), 0..40)
    ) {
        let mut log = Log::new();
        for e in &entries {
            log.commit(e);
        }
        let restored = StateMachine::restore(Config::default(), &log.sm.snapshot()).unwrap();
        prop_assert_eq!(restored.digest(), log.sm.digest());
    }

    #[test]
    fn a_sealed_snapshot_with_an_arbitrary_body_never_panics_on_restore(
        body in prop::collection::vec(any::<u8>(), 0..120),
        keep in any::<prop::sample::Index>(),
    ) {
        // Start from a real body cut at a random point, then arbitrary bytes: the checksum is
        // valid, so only the field checks stand between this and a panic.
        let snap = busy_log().sm.snapshot();
        let real = &snap[5..snap.len() - 4];
        let mut forged_body = real[..keep.index(real.len())].to_vec();
        forged_body.extend(body);
        let _ = StateMachine::restore(Config::default(), &reseal(&snap, &forged_body));
    }
}

#[test]
fn a_version_1_snapshot_from_an_older_build_still_restores() {
    // magic, version 1, applied_index 2, one key "k" = "v", one session (client 7, seq 1,
    // last index 2, v1 reply Int(5)), then the CRC: the layout the previous build wrote.
    let mut body = Vec::new();
    body.extend_from_slice(&2u64.to_le_bytes());
    body.extend_from_slice(&1u64.to_le_bytes());
    for field in [&b"k"[..], b"v"] {
        body.extend_from_slice(&(field.len() as u32).to_le_bytes());
        body.extend_from_slice(field);
    }
    body.extend_from_slice(&1u64.to_le_bytes());
    for n in [7u64, 1, 2] {
        body.extend_from_slice(&n.to_le_bytes());
    }
    body.extend_from_slice(&[1, 4]);
    body.extend_from_slice(&5i64.to_le_bytes());
    let snap = reseal(b"KVSN\x01", &body);
    let sm = StateMachine::restore(Config::default(), &snap).unwrap();
    assert_eq!(sm.applied_index(), 2);
    assert_eq!(sm.get(b"k").map(|v| v.as_ref()), Some(&b"v"[..]));
    assert_eq!(sm.sessions_len(), 1);
}
