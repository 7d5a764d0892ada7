//! Bytes written by builds before the workspace settled on one byte order (WAL record versions
//! 1-2, snapshot file version 1, peer versions 1-2, all big-endian) are refused with an error
//! that names the version and says what to do: never misread as little-endian, never a panic.

use bytes::BytesMut;
use server::codec::{decode_snapshot_file, SNAPSHOT_FILE_VERSION};
use server::disk::wal_records::{decode_write, WAL_RECORD_VERSION};
use server::peers::frames::{decode_frame, decode_payload, encode_frame, PeerFrame, PEER_VERSION};

#[test]
fn the_versions_moved_past_every_big_endian_one() {
    assert_eq!(WAL_RECORD_VERSION, 3);
    assert_eq!(SNAPSHOT_FILE_VERSION, 2);
    assert_eq!(PEER_VERSION, 3);
}

#[test]
fn a_hello_from_an_older_build_is_refused_and_the_error_says_why() {
    // Hello{from=n2} as peer version 2 wrote it: [len=10 BE][crc BE][2, 1, 2u64 BE].
    let payload = [2u8, 1, 0, 0, 0, 0, 0, 0, 0, 2];
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
    frame.extend_from_slice(&payload);
    let err = decode_frame(&mut frame, 16 << 20).unwrap_err();
    assert!(err.message.contains("exceeds frame_bytes_max"), "{err}");
    assert!(
        err.message.contains("read big-endian it is 10 bytes"),
        "{err}"
    );
    assert!(err.message.contains("older build"), "{err}");
    let err = decode_payload(&payload).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at byte 0: peer payload version 2 was written by an older build (big-endian); this \
         build reads version 3 (little-endian): run one build on every node"
    );
}

#[test]
fn a_frame_of_this_build_is_little_endian_from_its_first_byte() {
    let mut frame = BytesMut::new();
    encode_frame(
        &PeerFrame::Hello {
            from: distributed_core::NodeId(2),
        },
        &mut frame,
    );
    assert_eq!(&frame[..4], &[10, 0, 0, 0], "the length");
    assert_eq!(
        &frame[8..],
        &[3, 1, 2, 0, 0, 0, 0, 0, 0, 0],
        "version 3, Hello, n2"
    );
    let decoded = decode_frame(&mut frame, 1 << 20).unwrap();
    assert_eq!(
        decoded,
        Some(PeerFrame::Hello {
            from: distributed_core::NodeId(2)
        })
    );
}

#[test]
fn a_snapshot_file_of_an_older_build_is_refused_naming_its_version() {
    // [version=1][index u64 BE][term u64 BE][membership BE][len u32 BE][data]
    let mut old = vec![1u8];
    old.extend_from_slice(&7u64.to_be_bytes());
    old.extend_from_slice(&2u64.to_be_bytes());
    old.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    old.extend_from_slice(&[0, 0, 0, 1, b'x']);
    let err = decode_snapshot_file(&old).unwrap_err();
    assert_eq!(err.offset, 0);
    assert!(
        err.message.starts_with(
            "snapshot file version 1 was written by an older build (big-endian); this build \
             reads version 2 (little-endian)"
        ),
        "{err}"
    );
    assert!(err.message.contains("empty data dir"), "{err}");
}

#[test]
fn a_wal_record_of_an_older_build_is_refused_naming_its_version() {
    // HardState{term=1 voted_for=n2} as version 2 wrote it.
    let mut old = vec![2u8, 1];
    old.extend_from_slice(&1u64.to_be_bytes());
    old.extend_from_slice(&2u64.to_be_bytes());
    let err = decode_write(&old).unwrap_err();
    assert!(
        err.message
            .starts_with("WAL record version 2 was written by an older build (big-endian)"),
        "{err}"
    );
}
