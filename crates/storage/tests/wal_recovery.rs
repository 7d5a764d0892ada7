//! Recovery rules, one scenario per test: what survives a reopen, what a torn tail loses (only
//! itself), and which damage refuses to open with the file and byte offset in the error.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;

use common::{contents, flip_bit, framed, record, segments, small_segments, write_synced};
use storage::{Lsn, Wal, WalError, WalOptions, SEGMENT_HEADER_BYTES};

/// Byte offset of record `k` in a single-segment WAL holding `records`.
fn offset_of(records: &[Vec<u8>], k: usize) -> u64 {
    SEGMENT_HEADER_BYTES as u64 + records[..k].iter().map(|r| framed(r)).sum::<u64>()
}

#[test]
fn records_round_trip_across_reopen_with_their_lsns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_synced(dir.path(), 20, &WalOptions::default());
    let (mut wal, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert_eq!(contents(&recovery), written);
    assert_eq!(
        (recovery.first_lsn(), recovery.last_lsn()),
        (Lsn(1), Lsn(20))
    );
    assert_eq!(recovery.get(Lsn(7)), Some(record(6).as_slice()));
    assert!(recovery.truncated().is_none());
    assert_eq!(wal.append(b"next").expect("append"), Lsn(21));
    let lsns: Vec<Lsn> = recovery.into_iter().map(|(lsn, _)| lsn).collect();
    assert_eq!(lsns, (1..=20).map(Lsn).collect::<Vec<_>>());
}

#[test]
fn a_torn_tail_at_every_byte_of_the_last_record_keeps_every_earlier_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_synced(dir.path(), 5, &WalOptions::default());
    let path = segments(dir.path()).remove(0);
    let original = fs::read(&path).expect("read");
    let start = offset_of(&written, 4);
    assert_eq!(start + framed(&written[4]), original.len() as u64);
    for cut in start..original.len() as u64 {
        fs::write(&path, &original[..cut as usize]).expect("tear");
        let (_, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("opens");
        assert_eq!(contents(&recovery), written[..4], "cut at {cut}");
        let torn = recovery.truncated().map(|t| (t.offset, t.bytes));
        let expected = (cut > start).then_some((start, cut - start));
        assert_eq!(torn, expected, "cut at {cut}");
        assert_eq!(
            fs::metadata(&path).expect("stat").len(),
            start,
            "the tail is cut off"
        );
    }
}

#[test]
fn trailing_zeros_after_the_last_record_are_a_torn_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_synced(dir.path(), 3, &WalOptions::default());
    let path = segments(dir.path()).remove(0);
    let mut file = OpenOptions::new().append(true).open(&path).expect("open");
    file.write_all(&[0u8; 4096]).expect("extend with zeros");
    let (_, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("opens");
    assert_eq!(contents(&recovery), written);
    let torn = recovery.truncated().expect("reported");
    assert_eq!(torn.bytes, 4096);
    assert!(torn.reason.contains("4096 trailing zero bytes"), "{torn}");
}

#[test]
fn a_flipped_bit_in_an_early_record_refuses_to_open_naming_the_file_and_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_synced(dir.path(), 6, &WalOptions::default());
    let path = segments(dir.path()).remove(0);
    let at = offset_of(&written, 2);
    flip_bit(&path, at + 12); // the first payload byte of record 3
    let err = Wal::open(dir.path(), WalOptions::default()).unwrap_err();
    match &err {
        WalError::Corrupt { file, offset, .. } => assert_eq!((file, *offset), (&path, at)),
        other => panic!("expected Corrupt, got {other}"),
    }
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains(&format!("byte offset {at}")), "{text}");
    assert!(text.contains("CRC-32 mismatch"), "{text}");
}

#[test]
fn a_flipped_bit_in_an_early_length_field_is_still_corruption_not_a_torn_tail() {
    // A damaged length can make a record look like it runs past the end of the file; the
    // valid records after it prove it is not the tail.
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_synced(dir.path(), 6, &WalOptions::default());
    let path = segments(dir.path()).remove(0);
    let at = offset_of(&written, 1);
    let mut bytes = fs::read(&path).expect("read");
    bytes[at as usize + 6] = 0x7f; // length byte 2: now millions of bytes
    fs::write(&path, bytes).expect("write");
    let err = Wal::open(dir.path(), WalOptions::default()).unwrap_err();
    assert!(
        matches!(err, WalError::Corrupt { offset, .. } if offset == at),
        "{err}"
    );
    assert!(err.to_string().contains("a valid record follows"), "{err}");
}

#[test]
fn a_flipped_bit_in_the_last_record_is_treated_as_a_torn_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_synced(dir.path(), 6, &WalOptions::default());
    let path = segments(dir.path()).remove(0);
    let at = offset_of(&written, 5);
    flip_bit(&path, at + 12);
    let (mut wal, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("opens");
    assert_eq!(contents(&recovery), written[..5]);
    let torn = recovery.truncated().expect("reported");
    assert_eq!(torn.offset, at);
    assert!(torn.reason.contains("CRC-32 mismatch"), "{torn}");
    assert_eq!(
        wal.append(b"again").expect("append"),
        Lsn(6),
        "LSN 6 is reused"
    );
}

#[test]
fn damage_in_a_sealed_segment_refuses_to_open_even_in_its_last_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_synced(dir.path(), 40, &small_segments());
    let files = segments(dir.path());
    assert!(files.len() >= 3, "the records span segments: {files:?}");
    let sealed = &files[1];
    let len = fs::metadata(sealed).expect("stat").len();
    flip_bit(sealed, len - 1);
    let err = Wal::open(dir.path(), small_segments()).unwrap_err();
    assert!(
        matches!(&err, WalError::Corrupt { file, .. } if file == sealed),
        "{err}"
    );
    assert!(err.to_string().contains("sealed segment"), "{err}");
}

#[test]
fn segments_roll_at_segment_bytes_max_and_recovery_spans_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = small_segments();
    let written = write_synced(dir.path(), 60, &options);
    let files = segments(dir.path());
    assert!(files.len() > 5, "rolled into {} segments", files.len());
    for file in &files[..files.len() - 1] {
        let len = fs::metadata(file).expect("stat").len();
        assert!(
            len <= options.segment_bytes_max,
            "{} is {len} bytes",
            file.display()
        );
    }
    let (_, recovery) = Wal::open(dir.path(), options).expect("reopen");
    assert_eq!(recovery.segments(), files.len());
    assert_eq!(contents(&recovery), written);
}

#[test]
fn a_missing_middle_segment_refuses_to_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_synced(dir.path(), 40, &small_segments());
    let files = segments(dir.path());
    fs::remove_file(&files[1]).expect("lose a segment");
    let err = Wal::open(dir.path(), small_segments()).unwrap_err();
    assert!(
        matches!(&err, WalError::MissingSegment { file, .. } if *file == files[2]),
        "{err}"
    );
    assert!(err.to_string().contains("missing segment"), "{err}");
}

#[test]
fn a_segment_whose_header_disagrees_with_its_name_refuses_to_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_synced(dir.path(), 3, &WalOptions::default());
    let path = segments(dir.path()).remove(0);
    let renamed = dir.path().join("wal-00000000000000000002.log");
    fs::rename(&path, &renamed).expect("rename");
    let err = Wal::open(dir.path(), WalOptions::default()).unwrap_err();
    assert!(matches!(&err, WalError::Corrupt { offset: 0, .. }), "{err}");
    assert!(err.to_string().contains("the file name says 2"), "{err}");
}

#[test]
fn a_torn_header_of_the_newest_segment_is_recreated_and_appends_continue_there() {
    // A crash while rolling: the next segment exists but its header never fully landed.
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_synced(dir.path(), 3, &WalOptions::default());
    let next = dir.path().join("wal-00000000000000000004.log");
    fs::write(&next, b"DWA").expect("a torn header");
    let (mut wal, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("opens");
    assert_eq!(contents(&recovery), written);
    let torn = recovery.truncated().expect("reported");
    assert_eq!((&torn.file, torn.offset, torn.bytes), (&next, 0, 3));
    assert_eq!(wal.append(b"four").expect("append"), Lsn(4));
    wal.sync().expect("sync");
    let len = fs::metadata(&next).expect("stat").len();
    assert_eq!(
        len,
        (SEGMENT_HEADER_BYTES + 12 + 4) as u64,
        "written into the new segment"
    );
    drop(wal);
    let (_, again) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert_eq!(again.get(Lsn(4)), Some(&b"four"[..]));
}

#[test]
fn appends_after_a_truncated_tail_survive_the_next_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = write_synced(dir.path(), 4, &WalOptions::default());
    let path = segments(dir.path()).remove(0);
    let len = fs::metadata(&path).expect("stat").len();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(len - 3)
        .expect("tear");
    let (mut wal, first) = Wal::open(dir.path(), WalOptions::default()).expect("opens");
    assert!(first.truncated().is_some());
    assert_eq!(wal.append(b"replacement").expect("append"), Lsn(4));
    wal.sync().expect("sync");
    drop(wal);
    let (_, second) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert!(second.truncated().is_none(), "nothing torn the second time");
    let mut expected = written[..3].to_vec();
    expected.push(b"replacement".to_vec());
    assert_eq!(contents(&second), expected);
}

#[test]
fn remove_segments_before_keeps_every_later_record_and_never_the_active_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = small_segments();
    let written = write_synced(dir.path(), 60, &options);
    let (mut wal, _) = Wal::open(dir.path(), options.clone()).expect("open");
    let before = wal.segments();
    let removed = wal.remove_segments_before(Lsn(30)).expect("compact");
    assert!(removed > 0 && wal.segments() == before - removed);
    assert!(wal.first_lsn() <= Lsn(30), "LSN 30 is still stored");
    drop(wal);
    let (mut wal, recovery) = Wal::open(dir.path(), options).expect("reopen");
    assert_eq!(recovery.first_lsn(), wal.first_lsn());
    for lsn in 30..=60 {
        assert_eq!(
            recovery.get(Lsn(lsn)),
            Some(written[lsn as usize - 1].as_slice())
        );
    }
    wal.remove_segments_before(Lsn(1_000))
        .expect("compact everything");
    assert_eq!(wal.segments(), 1, "the active segment stays");
    assert_eq!(wal.append(b"after").expect("append"), Lsn(61));
}

#[test]
fn a_record_over_record_bytes_max_is_refused_and_the_wal_stays_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = Wal::open(dir.path(), small_segments()).expect("open");
    let err = wal.append(&[0u8; 65]).unwrap_err();
    assert!(
        matches!(err, WalError::RecordTooLarge { bytes: 65, max: 64 }),
        "{err}"
    );
    assert_eq!(wal.append(&[0u8; 64]).expect("at the bound"), Lsn(1));
    assert_eq!(wal.sync().expect("sync"), Lsn(1));
}

#[test]
fn files_that_are_not_segments_are_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("snap-00000000000000000001.snap"), b"x").expect("write");
    fs::write(dir.path().join("README"), b"x").expect("write");
    let written = write_synced(dir.path(), 2, &WalOptions::default());
    let (_, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert_eq!(contents(&recovery), written);
    assert!(dir.path().join("README").exists());
}

#[test]
fn a_recovery_prints_as_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_synced(dir.path(), 2, &WalOptions::default());
    let (_, recovery) = Wal::open(dir.path(), WalOptions::default()).expect("reopen");
    assert_eq!(
        recovery.to_string(),
        "Recovery{segments=1 records=1..=2 n=2 truncated=none}"
    );
}

#[test]
fn a_wal_in_a_directory_that_does_not_exist_yet_creates_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("node-1").join("wal");
    let written = write_synced(&dir, 3, &WalOptions::default());
    let (wal, recovery) = Wal::open(&dir, WalOptions::default()).expect("reopen");
    assert_eq!(contents(&recovery), written);
    let debug = format!("{wal:?}");
    assert!(
        debug.contains("segments=1 first=1 durable=3 written=3 last=3"),
        "{debug}"
    );
}
