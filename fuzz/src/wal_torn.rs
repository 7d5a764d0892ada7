//! A valid WAL, written by `storage::Wal` itself, then damaged the way crashes and disks do:
//! the recovery promises of `storage/src/recovery.rs`, checked exactly.
//!
//! ```text
//!   input = segment size:u8 ‖ records:u8 ‖ record* ‖ damage
//!   write every record with Wal::append, sync, close
//!   damage 0 none           ──► Ok: exactly the records, nothing truncated
//!          1 cut the newest segment at an offset          ┐ Ok: a prefix of the records
//!          2 cut it, then append zeros                    │ holding at least every record
//!          3 cut it, then append junk (no record magic)   ┘ wholly before the cut
//!          4 change one byte anywhere, in any segment ──► Ok with such a prefix (a torn
//!                                                        last record), or Corrupt naming
//!                                                        the damaged segment
//!   then a second open returns the same records with nothing left to cut
//! ```
//!
//! Junk never holds the record magic: a crash can leave garbage, but never a record that was
//! not written, and a valid record forged into the junk would rightly be read back.

use std::fs;
use std::path::{Path, PathBuf};

use storage::{Wal, WalError, WalOptions, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES};

use crate::{scratch_dir, Input, Seed};

/// How the WAL is damaged; the numbers are the input's choice (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Damage {
    None = 0,
    Cut = 1,
    CutZeros = 2,
    CutJunk = 3,
    ChangedByte = 4,
}

/// Run one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let options = WalOptions {
        segment_bytes_max: 72 + u64::from(input.u8()) * 4,
        record_bytes_max: 40,
    };
    let records: Vec<Vec<u8>> = (0..input.u8() % 24)
        .map(|_| input.bytes(options.record_bytes_max).to_vec())
        .collect();
    let dir = scratch_dir();
    let (mut wal, _) = Wal::open(dir.path(), options.clone()).expect("open an empty dir");
    for r in &records {
        wal.append(r).expect("append");
    }
    wal.sync().expect("sync");
    drop(wal);
    let segments = segments(dir.path());
    let damage = match input.u8() % 5 {
        0 => Damage::None,
        1 => Damage::Cut,
        2 => Damage::CutZeros,
        3 => Damage::CutJunk,
        _ => Damage::ChangedByte,
    };
    let damaged_at = match damage {
        Damage::None => None,
        Damage::ChangedByte => Some(change_a_byte(&mut input, &segments)),
        cut => Some(cut_the_tail(&mut input, &segments, cut)),
    };
    let intact = intact_records(&records, &options, &segments, damaged_at.as_ref());
    let recovery = match Wal::open(dir.path(), options.clone()) {
        Ok((_, recovery)) => recovery,
        Err(e) => {
            assert!(
                damage == Damage::ChangedByte,
                "only a changed byte may refuse: {e}"
            );
            let (file, _) = damaged_at.expect("damage");
            match &e {
                WalError::Corrupt { file: named, .. } => {
                    assert_eq!(named, &file, "the refusal names the damaged segment: {e}")
                }
                other => panic!("a changed byte gives Corrupt, not {other}"),
            }
            return;
        }
    };
    let got: Vec<Vec<u8>> = recovery.records().map(|(_, r)| r.to_vec()).collect();
    assert!(
        got.len() >= intact,
        "every record before the damage survives ({recovery})"
    );
    assert_eq!(
        got,
        records[..got.len()],
        "a prefix of what was written ({recovery})"
    );
    if damage == Damage::None {
        assert_eq!(
            got.len(),
            records.len(),
            "an undamaged WAL returns every record"
        );
        assert!(recovery.truncated().is_none(), "nothing to cut: {recovery}");
    }
    let (_, again) = Wal::open(dir.path(), options).expect("a recovered WAL reopens");
    let reread: Vec<Vec<u8>> = again.records().map(|(_, r)| r.to_vec()).collect();
    assert_eq!(reread, got, "recovery is done once");
    assert!(again.truncated().is_none(), "nothing left to cut: {again}");
}

/// Cut the newest segment, then append zeros or junk: a crash during an unsynced write.
/// Returns the first byte no longer as written.
fn cut_the_tail(input: &mut Input<'_>, segments: &[PathBuf], how: Damage) -> (PathBuf, u64) {
    let newest = segments.last().expect("at least one segment");
    let mut bytes = fs::read(newest).expect("read");
    let mut cut = u64::from(input.u16()) % (bytes.len() as u64 + 1);
    if how == Damage::CutJunk {
        // A segment's header is synced before anything is written after it, so a crash leaves
        // junk only after a whole header (recovery.rs: a torn header has nothing or zeros
        // after it).
        cut = cut.max(SEGMENT_HEADER_BYTES as u64);
    }
    bytes.truncate(cut as usize);
    match how {
        Damage::CutZeros => bytes.extend(std::iter::repeat_n(0u8, usize::from(input.u8()) * 8)),
        Damage::CutJunk => {
            let junk = input.bytes(256).iter();
            bytes.extend(junk.map(|&b| if b == b'D' { b'd' } else { b }));
        }
        _ => {}
    }
    fs::write(newest, &bytes).expect("write");
    (newest.clone(), cut)
}

/// Change one byte of one segment (bit rot, a misdirected write). Returns where.
fn change_a_byte(input: &mut Input<'_>, segments: &[PathBuf]) -> (PathBuf, u64) {
    let lens: Vec<u64> = segments
        .iter()
        .map(|p| fs::metadata(p).expect("stat").len())
        .collect();
    let mut at = u64::from(input.u16()) % lens.iter().sum::<u64>();
    let k = lens
        .iter()
        .position(|&len| {
            let here = at < len;
            if !here {
                at -= len;
            }
            here
        })
        .expect("an offset within the files");
    let mut bytes = fs::read(&segments[k]).expect("read");
    bytes[at as usize] ^= input.u8().max(1);
    fs::write(&segments[k], &bytes).expect("write");
    (segments[k].clone(), at)
}

/// The segment files, oldest first.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    found.sort();
    found
}

/// How many records lie wholly before the damage: replay the layout the WAL wrote (records
/// never span segments; a segment starts with its header).
fn intact_records(
    records: &[Vec<u8>],
    options: &WalOptions,
    segments: &[PathBuf],
    damaged_at: Option<&(PathBuf, u64)>,
) -> usize {
    let Some((file, at)) = damaged_at else {
        return records.len();
    };
    let mut segment = 0;
    let mut used = SEGMENT_HEADER_BYTES as u64;
    for (k, r) in records.iter().enumerate() {
        let size = (RECORD_HEADER_BYTES + r.len()) as u64;
        if used > SEGMENT_HEADER_BYTES as u64 && used + size > options.segment_bytes_max {
            segment += 1;
            used = SEGMENT_HEADER_BYTES as u64;
        }
        let end = used + size;
        if &segments[segment] == file && end > *at {
            return k;
        }
        used = end;
    }
    records.len()
}

/// Logs of a few shapes, undamaged and damaged each way.
pub fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (damage, extra) in [
        (0u8, &[][..]),
        (1, &[40, 0][..]),
        (2, &[90, 0, 3][..]),
        (4, &[30, 0, 1][..]),
    ] {
        let mut seed = Seed::new();
        seed.u8(10).u8(12);
        for i in 0..12u8 {
            seed.bytes(&vec![i; usize::from(i) * 3]);
        }
        seed.u8(damage).raw(extra);
        out.push(seed.take());
    }
    out
}
