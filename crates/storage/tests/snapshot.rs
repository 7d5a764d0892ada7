//! Snapshot files: round trip, newest wins, pruning, corruption named, crash leftovers removed.

use std::fs;

use storage::{SnapshotError, SnapshotOptions, SnapshotStore};

fn open(dir: &std::path::Path) -> SnapshotStore {
    SnapshotStore::open(dir, SnapshotOptions::default()).expect("open")
}

#[test]
fn an_empty_store_has_no_latest_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(open(dir.path()).latest().expect("readable"), None);
}

#[test]
fn save_then_latest_round_trips_index_term_and_bytes_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(dir.path());
    let path = store.save(4000, 7, b"state at 4000").expect("save");
    assert_eq!(path, dir.path().join("snap-00000000000000004000.snap"));
    drop(store);
    let snap = open(dir.path())
        .latest()
        .expect("readable")
        .expect("present");
    assert_eq!((snap.index, snap.term), (4000, 7));
    assert_eq!(&snap.data[..], b"state at 4000");
    assert_eq!(snap.to_string(), "Snapshot{index=4000 term=7 bytes=13}");
}

#[test]
fn latest_is_the_newest_and_older_snapshots_are_pruned_to_keep() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SnapshotOptions {
        keep: 2,
        ..SnapshotOptions::default()
    };
    let mut store = SnapshotStore::open(dir.path(), options).expect("open");
    for index in [10, 20, 30, 40] {
        store
            .save(index, 1, format!("at {index}").as_bytes())
            .expect("save");
    }
    assert_eq!(store.indexes().expect("list"), vec![30, 40]);
    let snap = store.latest().expect("readable").expect("present");
    assert_eq!((snap.index, &snap.data[..]), (40, &b"at 40"[..]));
}

#[test]
fn a_corrupt_newest_snapshot_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(dir.path());
    store.save(10, 1, b"older, intact").expect("save");
    let newest = store.save(20, 2, b"newest, about to rot").expect("save");
    let mut bytes = fs::read(&newest).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&newest, bytes).expect("write");
    let err = store.latest().unwrap_err();
    assert!(
        matches!(&err, SnapshotError::Corrupt { file, .. } if *file == newest),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains(&newest.display().to_string()), "{text}");
    assert!(text.contains("CRC-32 mismatch"), "{text}");
}

#[test]
fn a_truncated_snapshot_is_an_error_not_a_shorter_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(dir.path());
    let path = store.save(5, 1, &[9u8; 100]).expect("save");
    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..50]).expect("truncate");
    assert!(matches!(store.latest(), Err(SnapshotError::Corrupt { .. })));
    fs::write(&path, &bytes[..10]).expect("truncate into the header");
    let err = store.latest().unwrap_err().to_string();
    assert!(err.contains("10 bytes, the header alone needs 36"), "{err}");
}

#[test]
fn leftover_tmp_files_are_removed_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(dir.path());
    store.save(10, 1, b"kept").expect("save");
    let leftover = dir.path().join("snap-00000000000000000020.tmp");
    fs::write(&leftover, b"a crash interrupted this save").expect("write");
    let store = open(dir.path());
    assert!(!leftover.exists());
    assert_eq!(
        store.latest().expect("readable").expect("present").index,
        10
    );
}

#[test]
fn a_snapshot_below_the_newest_index_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(dir.path());
    store.save(20, 2, b"newer").expect("save");
    let err = store.save(10, 1, b"older").unwrap_err();
    assert!(
        matches!(
            err,
            SnapshotError::NotNewer {
                index: 10,
                latest: 20
            }
        ),
        "{err}"
    );
    store
        .save(20, 2, b"same index again")
        .expect("replacing the newest is allowed");
    let snap = store.latest().expect("readable").expect("present");
    assert_eq!(&snap.data[..], b"same index again");
}

#[test]
fn snapshots_over_bytes_max_are_refused_on_save_and_on_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let small = SnapshotOptions {
        keep: 1,
        bytes_max: 8,
    };
    let mut store = SnapshotStore::open(dir.path(), small.clone()).expect("open");
    let err = store.save(1, 1, &[0u8; 9]).unwrap_err();
    assert!(
        matches!(err, SnapshotError::TooLarge { bytes: 9, max: 8 }),
        "{err}"
    );
    open(dir.path())
        .save(2, 1, &[0u8; 100])
        .expect("a larger bound elsewhere");
    let store = SnapshotStore::open(dir.path(), small).expect("open");
    assert!(matches!(store.latest(), Err(SnapshotError::Corrupt { .. })));
}

#[test]
fn keep_zero_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SnapshotOptions {
        keep: 0,
        ..SnapshotOptions::default()
    };
    let err = SnapshotStore::open(dir.path(), options).unwrap_err();
    assert!(matches!(err, SnapshotError::InvalidOptions(_)), "{err}");
}

#[test]
fn snapshots_and_wal_segments_can_share_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut wal, _) = storage::Wal::open(dir.path(), storage::WalOptions::default()).expect("wal");
    wal.append(b"entry").expect("append");
    wal.sync().expect("sync");
    let mut store = open(dir.path());
    store.save(1, 1, b"state").expect("save");
    drop(wal);
    let (_, recovery) =
        storage::Wal::open(dir.path(), storage::WalOptions::default()).expect("wal");
    assert_eq!(recovery.len(), 1);
    assert_eq!(store.indexes().expect("list"), vec![1]);
}

#[test]
fn an_older_snapshot_loads_by_index_and_a_corrupt_one_can_be_set_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(dir.path());
    store.save(10, 1, b"ten").expect("save 10");
    let newest = store.save(20, 2, b"twenty").expect("save 20");
    let mut bytes = fs::read(&newest).expect("read");
    *bytes.last_mut().expect("data") ^= 0xff;
    fs::write(&newest, bytes).expect("damage");
    assert!(matches!(store.latest(), Err(SnapshotError::Corrupt { .. })));
    let older = store.load(10).expect("the older one is intact");
    assert_eq!(
        (older.index, older.term, &older.data[..]),
        (10, 1, &b"ten"[..])
    );
    assert!(matches!(store.load(15), Err(SnapshotError::Corrupt { .. })));
    let aside = store.set_aside(20).expect("set aside");
    assert!(aside.exists() && !newest.exists(), "renamed, not deleted");
    assert_eq!(store.indexes().expect("list"), vec![10]);
    store
        .save(15, 2, b"fifteen")
        .expect("15 is no longer below the newest");
    assert_eq!(
        store.latest().expect("readable").expect("present").index,
        15
    );
}
