//! `kill -9` for real: a child process writes through group commit and prints every LSN the
//! moment its ticket says durable; the parent kills it with SIGKILL mid-stream, reopens the
//! WAL, and checks that every printed record is there, byte for byte. Four rounds on the same
//! directory, so each restart also recovers whatever torn tail the previous kill left.
//!
//! ```text
//!   parent ──spawn(self, STORAGE_CRASH_CHILD_DIR=dir)──► child: 4 threads submit → wait → print
//!     reads "durable <lsn> <crc> <len> ." lines          "durable 17 1a2b3c4d 93 ."
//!     after N lines: SIGKILL ─────────────────────────►  ✗ (mid-write, mid-fdatasync, anywhere)
//!     Wal::open(dir): every printed LSN present with that CRC and length
//! ```
//!
//! The child is this same test binary, re-run with the environment variable set: the test
//! function sees it and becomes the writer. Bounded: a child stops by itself after
//! `CHILD_RECORDS_MAX` records, and the parent kills after a few hundred lines.

use std::collections::BTreeMap;
use std::env;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;

use storage::{GroupCommit, GroupCommitOptions, Lsn, Wal, WalOptions};

const CHILD_ENV: &str = "STORAGE_CRASH_CHILD_DIR";
const TEST_NAME: &str = "records_acknowledged_before_a_kill_9_are_all_there_after_restart";
const CHILD_THREADS: u64 = 4;
const CHILD_RECORDS_MAX: u64 = 20_000;

fn options() -> WalOptions {
    WalOptions {
        segment_bytes_max: 16 << 10, // rolls every few dozen records: kills land mid-roll too
        record_bytes_max: 1 << 10,
    }
}

fn payload(round: u64, thread: u64, k: u64) -> Vec<u8> {
    let len = 1 + ((round * 7919 + thread * 104_729 + k * 31) % 400) as usize;
    (0..len)
        .map(|i| (round + thread * 3 + k * 5 + i as u64) as u8)
        .collect()
}

/// The child: write until killed (or until the bound), printing each durable LSN.
fn run_writer(dir: &Path) {
    let round: u64 = env::var("STORAGE_CRASH_ROUND").map_or(0, |r| r.parse().unwrap_or(0));
    let (wal, _) = Wal::open(dir, options()).expect("child opens the WAL");
    let group = Arc::new(GroupCommit::new(wal, GroupCommitOptions::default()).expect("start"));
    let writers: Vec<_> = (0..CHILD_THREADS)
        .map(|t| {
            let group = Arc::clone(&group);
            thread::spawn(move || {
                for k in 0..CHILD_RECORDS_MAX / CHILD_THREADS {
                    let record = payload(round, t, k);
                    let ticket = group.submit(vec![record.clone()]).expect("queued");
                    let lsn = ticket.wait().expect("durable");
                    let crc = crc32fast::hash(&record);
                    // One write per line (stdout is line-buffered), so a kill never splits one.
                    println!("durable {lsn} {crc:08x} {} .", record.len());
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
}

/// Parse a complete "durable <lsn> <crc> <len> ." line.
fn parse(line: &str) -> Option<(Lsn, u32, usize)> {
    let fields: Vec<&str> = line.split(' ').collect();
    match fields[..] {
        ["durable", lsn, crc, len, "."] => Some((
            Lsn(lsn.parse().ok()?),
            u32::from_str_radix(crc, 16).ok()?,
            len.parse().ok()?,
        )),
        _ => None,
    }
}

/// Run one child, kill it after `kill_after` durable lines, return every line it printed.
fn run_child_and_kill(dir: &Path, round: u64, kill_after: usize) -> Vec<(Lsn, u32, usize)> {
    let mut child = Command::new(env::current_exe().expect("own path"))
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env("STORAGE_CRASH_ROUND", round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut acked = Vec::new();
    let mut killed = false;
    for line in stdout.lines() {
        let line = line.expect("utf-8 line");
        if let Some(record) = parse(&line) {
            acked.push(record);
        }
        if !killed && acked.len() >= kill_after {
            child.kill().expect("SIGKILL"); // lines already in the pipe are still read
            killed = true;
        }
    }
    let status = child.wait().expect("reaped");
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr);
    assert!(
        killed,
        "child ended before {kill_after} acks ({status}):\n{stderr}"
    );
    acked
}

#[test]
fn records_acknowledged_before_a_kill_9_are_all_there_after_restart() {
    if let Some(dir) = env::var_os(CHILD_ENV) {
        return run_writer(Path::new(&dir));
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let mut acked: BTreeMap<Lsn, (u32, usize)> = BTreeMap::new();
    for round in 0..4u64 {
        let kill_after = 60 + (round as usize * 7_919) % 300;
        for (lsn, crc, len) in run_child_and_kill(dir.path(), round, kill_after) {
            let earlier = acked.insert(lsn, (crc, len));
            assert!(
                earlier.is_none(),
                "LSN {lsn} acknowledged twice: {earlier:?}"
            );
        }
        let (_, recovery) = Wal::open(dir.path(), options()).expect("reopen after kill -9");
        if let Some(torn) = recovery.truncated() {
            let _ = writeln!(std::io::stdout(), "round {round}: {torn}");
        }
        for (&lsn, &(crc, len)) in &acked {
            let record = recovery
                .get(lsn)
                .unwrap_or_else(|| panic!("lost LSN {lsn}"));
            assert_eq!(
                (crc32fast::hash(record), record.len()),
                (crc, len),
                "LSN {lsn}"
            );
        }
    }
    println!(
        "{} records acknowledged across 4 kills, all recovered",
        acked.len()
    );
    assert!(acked.len() >= 4 * 60);
}
