//! One node process per data directory: an advisory lock on `data_dir/LOCK`, taken before the
//! WAL is opened and held until the node exits.
//!
//! ```text
//!   run_node ──► create data_dir ──► open data_dir/LOCK ──try_lock (flock, exclusive)──┐
//!     ok:          write our pid into LOCK ──► recover the WAL … ──► exit: the OS drops it
//!     held:        read the holder's pid ──► Err("… is in use by another node (pid N) …")
//! ```
//!
//! Two processes appending to one WAL would interleave records and fdatasyncs, and each would
//! delete segments the other still needs after a snapshot: the log Raft trusts would be
//! neither's. The lock is the kernel's (flock(2) on Linux, through std's `File::try_lock`):
//! it belongs to the open file, so it goes when the process goes, however it goes (kill -9
//! included), and a stale `LOCK` file left behind is simply locked again. The pid inside is
//! only for the message; the lock, not the file's existence or contents, decides.
//!
//! Roads not taken: a pid file checked with kill(pid, 0) (a reused pid looks alive, and two
//! starts can both see no file); `fs4`/`fs2` or `libc::flock` (a dependency, or `unsafe` in a
//! crate that forbids it, for what std does since Rust 1.89). The lock sits here and not in
//! `storage`, because what it protects is the whole data directory (the WAL and the snapshot
//! files), which is this crate's layout. Advisory: it stops another `distributed node`, not
//! `rm -rf`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "LOCK";

/// Most bytes read from a `LOCK` file held by someone else: a pid and a newline.
const LOCK_FILE_BYTES_MAX: u64 = 64;

/// The held lock. Dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct DataDirLock {
    /// The open, locked `LOCK` file: the lock lives exactly as long as this descriptor.
    _file: File,
    /// Where it is, for logs.
    pub path: PathBuf,
}

/// Create `data_dir` if needed and lock it for this process, or say which process holds it.
pub fn lock_data_dir(data_dir: &Path) -> Result<DataDirLock, String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create the data dir {}: {e}", data_dir.display()))?;
    let path = data_dir.join(LOCK_FILE);
    // Not truncated on open: while another process holds the lock, its pid stays readable.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = holder_pid(&mut file).map_or("pid unknown".into(), |p| format!("pid {p}"));
            return Err(format!(
                "the data dir {} is in use by another node process ({holder}, which holds {}); \
                 two nodes on one WAL would corrupt it: stop that node, or give this one its \
                 own --data-dir",
                data_dir.display(),
                path.display()
            ));
        }
        Err(TryLockError::Error(e)) => {
            return Err(format!(
                "cannot lock {} (does this file system support flock?): {e}",
                path.display()
            ))
        }
    }
    let pid = std::process::id();
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{pid}"))
        .map_err(|e| format!("cannot write this node's pid to {}: {e}", path.display()))?;
    Ok(DataDirLock { _file: file, path })
}

/// The pid written by the lock's holder, if it wrote one yet.
fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(LOCK_FILE_BYTES_MAX)
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_data_dir_is_refused_naming_the_dir_and_the_holder_s_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("n1");
        let held = lock_data_dir(&data_dir).expect("the first lock");
        let text = std::fs::read_to_string(&held.path).expect("read LOCK");
        assert_eq!(text, format!("{}\n", std::process::id()));
        // flock belongs to the open file, so a second open in this same process conflicts too.
        let err = lock_data_dir(&data_dir).unwrap_err();
        assert!(
            err.contains(&format!("the data dir {} is in use", data_dir.display())),
            "{err}"
        );
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        let again = lock_data_dir(&data_dir).expect("free once the holder is gone");
        assert_eq!(
            std::fs::read_to_string(&again.path).expect("read LOCK"),
            format!("{}\n", std::process::id())
        );
    }

    #[test]
    fn a_stale_lock_file_with_garbage_in_it_does_not_stop_a_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(LOCK_FILE),
            "not a pid, and long enough to be truncated",
        )
        .expect("write a stale LOCK");
        let lock = lock_data_dir(dir.path()).expect("nobody holds it");
        assert_eq!(
            std::fs::read_to_string(&lock.path).expect("read LOCK"),
            format!("{}\n", std::process::id())
        );
    }
}
