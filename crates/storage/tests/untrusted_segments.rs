//! Segment files the WAL never wrote: from an older build, a damaged disk, or someone else.
//! Opening them gives the records or a `Corrupt`/`MissingSegment` naming the file, never a
//! panic or a wrapped-around LSN. The first fuzzing run (`fuzz/`, target `wal_recovery`)
//! found `Recovery::last_lsn` overflowing on a segment whose header, CRC and all, claims a
//! first LSN at the top of the u64 range; the regression tests below are its inputs.

mod common;

use std::fs;
use std::path::Path;

use common::{push_record, segment_header, segment_name};
use proptest::prelude::*;
use storage::{Lsn, Wal, WalError, WalOptions};

fn write_segment(dir: &Path, name: u64, header: u64, records: &[&[u8]]) {
    let mut file = segment_header(header);
    for r in records {
        push_record(r, &mut file);
    }
    fs::write(dir.join(segment_name(name)), file).expect("write segment");
}

/// The refusal names the file, and the field that is out of range.
fn assert_refused_naming(err: WalError, dir: &Path, name: u64) {
    let WalError::Corrupt {
        file,
        offset,
        reason,
    } = &err
    else {
        panic!("expected Corrupt, got {err}");
    };
    assert_eq!(file, &dir.join(segment_name(name)), "{err}");
    assert_eq!(*offset, 0, "{err}");
    assert!(reason.contains("first LSN"), "{err}");
}

#[test]
fn a_segment_starting_at_the_top_of_the_lsn_range_is_refused_not_overflowed() {
    // Fuzz finding: first_lsn + len - 1 overflowed in Recovery::last_lsn (a release build
    // wrapped to LSN u64::MAX and would have appended at LSN 0).
    let dir = tempfile::tempdir().expect("tempdir");
    write_segment(dir.path(), u64::MAX, u64::MAX, &[b"x"]);
    let err = Wal::open(dir.path(), WalOptions::default()).unwrap_err();
    assert_refused_naming(err, dir.path(), u64::MAX);
}

#[test]
fn a_segment_starting_at_lsn_zero_is_refused_not_underflowed() {
    // LSN 0 means "before every record": with no records, last_lsn would be 0 - 1.
    let dir = tempfile::tempdir().expect("tempdir");
    write_segment(dir.path(), 0, 0, &[]);
    let err = Wal::open(dir.path(), WalOptions::default()).unwrap_err();
    assert_refused_naming(err, dir.path(), 0);
}

#[test]
fn a_wal_may_start_anywhere_up_to_lsn_max_and_appends_continue_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_segment(dir.path(), Lsn::MAX.0, Lsn::MAX.0, &[b"a", b"b"]);
    let (mut wal, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("opens");
    assert_eq!(recovery.last_lsn(), Lsn(Lsn::MAX.0 + 1));
    assert_eq!(wal.append(b"c").expect("append"), Lsn(Lsn::MAX.0 + 2));
}

/// One segment as a test writes it: its name, and either raw bytes or a header (naming the
/// same LSN or another) with valid records and trailing junk.
#[derive(Clone, Debug)]
enum Segment {
    Raw {
        name: u64,
        bytes: Vec<u8>,
    },
    Framed {
        name: u64,
        header: u64,
        records: Vec<Vec<u8>>,
        junk: Vec<u8>,
    },
}

fn lsn() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(Lsn::MAX.0),
        Just(Lsn::MAX.0 + 1),
        1u64..40,
        any::<u64>(),
    ]
}

fn segment() -> impl Strategy<Value = Segment> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..64);
    let records = proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 0..4);
    prop_oneof![
        (lsn(), bytes.clone()).prop_map(|(name, bytes)| Segment::Raw { name, bytes }),
        (
            lsn(),
            prop_oneof![Just(None), lsn().prop_map(Some)],
            records,
            bytes
        )
            .prop_map(|(name, header, records, junk)| Segment::Framed {
                name,
                header: header.unwrap_or(name),
                records,
                junk
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any set of segment files opens with consecutive LSNs, or is refused naming one of them.
    #[test]
    fn any_segment_files_open_or_are_refused_naming_a_file(
        segments in proptest::collection::vec(segment(), 1..4)
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        for s in &segments {
            let (name, bytes) = match s {
                Segment::Raw { name, bytes } => (*name, bytes.clone()),
                Segment::Framed { name, header, records, junk } => {
                    let mut file = segment_header(*header);
                    for r in records {
                        push_record(r, &mut file);
                    }
                    file.extend_from_slice(junk);
                    (*name, file)
                }
            };
            fs::write(dir.path().join(segment_name(name)), bytes).expect("write");
        }
        match Wal::open(dir.path(), WalOptions::default()) {
            Ok((mut wal, recovery)) => {
                let lsns: Vec<u64> = recovery.records().map(|(l, _)| l.0).collect();
                prop_assert!(lsns.windows(2).all(|w| w[1] == w[0] + 1));
                prop_assert!(recovery.first_lsn() >= Lsn(1));
                prop_assert!(recovery.first_lsn() <= Lsn::MAX);
                let next = wal.append(b"more").expect("append");
                prop_assert_eq!(next, recovery.last_lsn().next());
            }
            Err(WalError::Corrupt { file, reason, .. }) => {
                prop_assert!(file.starts_with(dir.path()));
                prop_assert!(!reason.is_empty());
            }
            Err(WalError::MissingSegment { file, .. }) => {
                prop_assert!(file.starts_with(dir.path()));
            }
            Err(other) => prop_assert!(false, "unexpected error: {}", other),
        }
    }
}
