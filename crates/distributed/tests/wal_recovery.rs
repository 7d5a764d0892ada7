//! WAL recovery through the real binary: a torn tail is cut off and logged and the node serves
//! what it acknowledged; a flipped bit before the tail makes the node refuse to start, naming
//! the file and byte offset, and leaves its data dir byte-for-byte as it was.
//!
//! ```text
//!   data_dir/wal/wal-00000000000000000001.log  (storage `format.rs`)
//!   [segment header 20 B][DWR1 len crc payload][DWR1 len crc payload]…[DWR1 len crc payl|cut
//!                         └ record 1             └ record 2 (flip a bit here: Corrupt)   └ torn
//!   wal-<next>.log with 7 of its 20 header bytes: a creation cut short, dropped and logged
//! ```
//!
//! One node on purpose: with peers, a restarted node could re-learn lost data from them, and
//! the test would not notice a WAL that dropped acknowledged records.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread::sleep;
use std::time::Duration;

use common::{bulk, Cluster, ATTEMPTS_MAX};
use server::clients::resp::Frame;

/// Size of a segment header: magic, version, first LSN, CRC (storage `format.rs`).
const SEGMENT_HEADER_BYTES: u64 = 20;
/// Size of a record header: magic "DWR1", len u32, crc u32.
const RECORD_HEADER_BYTES: u64 = 12;
/// Keys written before the damage.
const KEYS: usize = 20;

/// A node with `KEYS` acknowledged keys, then a last SET of `sentinel`, killed with -9.
fn node_with_acknowledged_keys() -> Cluster {
    let mut cluster = Cluster::start(1);
    let ok = Frame::Simple("OK".into());
    for k in 0..KEYS {
        let (key, value) = (format!("k{k}"), format!("v{k}"));
        assert_eq!(cluster.call_until_answered(0, &["SET", &key, &value]), ok);
    }
    assert_eq!(
        cluster.call_until_answered(0, &["SET", "sentinel", "last"]),
        ok
    );
    cluster.kill(0);
    cluster
}

/// The newest segment of node 0's WAL.
fn last_segment(cluster: &Cluster) -> PathBuf {
    let dir = cluster.data_dir(0).join("wal");
    let mut segments: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("the WAL directory exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("wal-") && name.ends_with(".log")
        })
        .collect();
    segments.sort();
    segments.pop().expect("at least one segment")
}

/// (offset, total length) of every record in a segment, walking the headers.
fn records(segment: &Path) -> Vec<(u64, u64)> {
    let bytes = fs::read(segment).expect("read the segment");
    let mut out = Vec::new();
    let mut off = SEGMENT_HEADER_BYTES;
    while off + RECORD_HEADER_BYTES <= bytes.len() as u64 {
        let at = off as usize;
        assert_eq!(&bytes[at..at + 4], b"DWR1", "record magic at {off}");
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
        let total = RECORD_HEADER_BYTES + u64::from(len);
        out.push((off, total));
        off += total;
    }
    assert_eq!(
        off,
        bytes.len() as u64,
        "the segment ends after a whole record"
    );
    out
}

/// Every file under `dir` with its bytes, but `LOCK`: it holds the pid of whichever process
/// last took the data dir's lock (the refused start too), not data.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name() != Some(OsStr::new(server::disk::lock::LOCK_FILE)) {
                out.insert(path.clone(), fs::read(&path).expect("read file"));
            }
        }
    }
    out
}

#[test]
fn a_torn_wal_tail_is_cut_off_and_logged_and_every_acknowledged_key_is_served() {
    let mut cluster = node_with_acknowledged_keys();
    let segment = last_segment(&cluster);
    let &(last, total) = records(&segment).last().expect("records");
    // A crash in the middle of writing the last record: its header and half its payload.
    let cut = last + RECORD_HEADER_BYTES + (total - RECORD_HEADER_BYTES) / 2;
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .expect("open the segment");
    file.set_len(cut).expect("truncate mid-record");
    drop(file);

    cluster.restart(0);
    for k in 0..KEYS {
        let (key, value) = (format!("k{k}"), format!("v{k}"));
        assert_eq!(cluster.call_until_answered(0, &["GET", &key]), bulk(&value));
    }
    // The last record held the sentinel's entry (one node: nothing is written after the last
    // acknowledged append), so cutting it loses exactly that write, as a crash before its
    // fdatasync would have.
    assert_eq!(
        cluster.call_until_answered(0, &["GET", "sentinel"]),
        Frame::Null
    );
    let log = fs::read_to_string(cluster.log_path(0)).expect("the node log");
    let line = log
        .lines()
        .find(|l| l.contains("recovered after a crash"))
        .unwrap_or_else(|| panic!("the truncation is logged; log:\n{log}"));
    let name = segment.file_name().expect("name").to_string_lossy();
    assert!(line.contains(name.as_ref()), "names the file: {line}");
    assert!(
        line.contains(&format!("offset={last}")),
        "names offset {last}: {line}"
    );
}

/// Flip one bit at `at` in node 0's newest segment; the node must refuse to start, name the
/// file and `offset`, exit non-zero, and leave every byte of its data dir as it was.
fn flipped_bit_is_refused(cluster: &Cluster, at: u64, offset: u64, what: &str) {
    let segment = last_segment(cluster);
    let mut bytes = fs::read(&segment).expect("read");
    bytes[at as usize] ^= 0x10;
    fs::write(&segment, &bytes).expect("write the flipped bit");
    let before = snapshot(&cluster.data_dir(0));

    let stderr_path = cluster.dir.path().join("refused.log");
    let stderr = fs::File::create(&stderr_path).expect("create the stderr file");
    let mut child = cluster
        .command(0)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn");
    let mut status = None;
    for _ in 0..ATTEMPTS_MAX {
        status = child.try_wait().expect("try_wait");
        if status.is_some() {
            break;
        }
        sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what}: the node started on a WAL with a flipped bit");
    };
    let text = fs::read_to_string(&stderr_path).expect("stderr");
    assert!(
        !status.success(),
        "{what}: a non-zero exit: {status}; stderr: {text}"
    );
    assert!(
        text.contains("corrupt record"),
        "{what}: says corrupt: {text}"
    );
    let file = segment.display().to_string();
    assert!(text.contains(&file), "{what}: names the file: {text}");
    let at_offset = format!("offset {offset}:");
    assert!(
        text.contains(&at_offset),
        "{what}: names offset {offset}: {text}"
    );
    assert!(
        before == snapshot(&cluster.data_dir(0)),
        "{what}: the data dir is untouched"
    );
}

#[test]
fn a_flipped_bit_in_an_early_wal_record_stops_the_node_and_leaves_its_data_untouched() {
    let cluster = node_with_acknowledged_keys();
    let recs = records(&last_segment(&cluster));
    assert!(recs.len() > 3, "several records: {recs:?}");
    let (second, _) = recs[1];
    flipped_bit_is_refused(
        &cluster,
        second + RECORD_HEADER_BYTES,
        second,
        "payload of record 2",
    );
}

#[test]
fn a_flipped_bit_in_an_early_record_length_stops_the_node_and_leaves_its_data_untouched() {
    let cluster = node_with_acknowledged_keys();
    let recs = records(&last_segment(&cluster));
    let (third, _) = recs[2];
    // The length field (bytes 4..8 of the header): the record now claims 16 bytes more or fewer.
    flipped_bit_is_refused(&cluster, third + 4, third, "length of record 3");
}

#[test]
fn a_new_segment_torn_in_its_header_is_dropped_and_every_acknowledged_key_is_served() {
    let mut cluster = node_with_acknowledged_keys();
    let segment = last_segment(&cluster);
    let name = segment
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let first: u64 = name["wal-".len()..name.len() - ".log".len()]
        .parse()
        .expect("wal-<first lsn>.log");
    let next = first + records(&segment).len() as u64;
    // A crash while the next segment was being created: 7 of its 20 header bytes made it.
    let torn = segment.with_file_name(format!("wal-{next:020}.log"));
    fs::write(&torn, b"DWAL\x01\x00\x00").expect("write a torn segment header");

    cluster.restart(0);
    for k in 0..KEYS {
        let (key, value) = (format!("k{k}"), format!("v{k}"));
        assert_eq!(cluster.call_until_answered(0, &["GET", &key]), bulk(&value));
    }
    assert_eq!(
        cluster.call_until_answered(0, &["GET", "sentinel"]),
        bulk("last")
    );
    let log = fs::read_to_string(cluster.log_path(0)).expect("the node log");
    assert!(
        log.lines()
            .any(|l| l.contains("recovered after a crash") && l.contains("header torn")),
        "the torn header is logged; log:\n{log}"
    );
}
