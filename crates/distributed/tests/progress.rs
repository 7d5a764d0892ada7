//! Long runs show progress on a terminal and nothing extra anywhere else.
//!
//! ```text
//!   sim --seeds / bench, stderr = a pseudo-terminal ──► "\r" + progress line + ESC[K, erased
//!       at the end; stdout (a pipe) holds exactly the usual results
//!   the same, stderr = a pipe ──► no "\r", no escape code, no progress text
//! ```
//!
//! Each run draws its first line at once, so a short run shows one too: no assertion depends
//! on how long anything takes. Spawns in this file hold `SPAWN` while a pty is open, because
//! openpty's descriptors are inheritable until marked close-on-exec, and a child spawned by
//! another test in between would keep the terminal open.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use common::Cluster;

/// Held around every spawn in this file (see the header).
static SPAWN: Mutex<()> = Mutex::new(());

/// A pseudo-terminal: the master end to read, the slave end to hand a child as its stderr.
fn pty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new descriptors into the two ints; a null name, termios and
    // window size ask for the defaults.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    for fd in [master, slave] {
        // SAFETY: fcntl on a descriptor openpty just gave us.
        let rc = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        assert_eq!(rc, 0, "fcntl FD_CLOEXEC");
    }
    // SAFETY: both descriptors are open and owned by nothing else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Run `distributed ARGS` with stderr on a terminal and stdout on a pipe: (stdout, what the
/// terminal received, exit code).
fn run_on_a_terminal(args: &[&str]) -> (String, String, Option<i32>) {
    let spawning = SPAWN.lock().expect("no poisoned lock");
    let (mut master, slave) = pty();
    let child = {
        Command::new(env!("CARGO_BIN_EXE_distributed"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("the distributed binary starts")
    }; // the Command, and with it our copy of the slave end, is gone: only the child has it
    drop(spawning);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the child's end is closed: that is the end of the output.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let out = child.wait_with_output().expect("wait");
    let terminal = reader.join().expect("the reader ends with the child");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (stdout, terminal, out.status.code())
}

/// Run `distributed ARGS` with stdout and stderr on pipes.
fn run_on_pipes(args: &[&str]) -> Output {
    let _spawning = SPAWN.lock().expect("no poisoned lock");
    Command::new(env!("CARGO_BIN_EXE_distributed"))
        .args(args)
        .output()
        .expect("the distributed binary runs")
}

fn assert_no_progress_on_a_pipe(out: &Output, word: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b') && !stderr.contains(word),
        "stderr on a pipe: {stderr:?}"
    );
}

/// Strip the `(N events/s, T)` timing suffix, the only part of a summary that varies.
fn untimed(stdout: &str) -> String {
    stdout
        .lines()
        .map(|l| l.split(" (").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sim_draws_a_progress_line_on_a_terminal_and_leaves_stdout_as_it_was() {
    for protocol in ["raft", "raft-kv"] {
        let args = ["sim", "--protocol", protocol, "--seeds", "0..20"];
        let (stdout, terminal, code) = run_on_a_terminal(&args);
        assert_eq!(code, Some(0), "{stdout}{terminal}");
        let first = terminal.split('\r').nth(1).expect("a line drawn at once");
        assert!(
            first.starts_with("seeds ")
                && first.contains("/20  violations 0  ")
                && first.ends_with(" s\x1b[K"),
            "{terminal:?}"
        );
        assert!(terminal.ends_with("\r\x1b[K"), "erased: {terminal:?}");

        let piped = run_on_pipes(&args);
        assert_eq!(piped.status.code(), Some(0));
        assert_no_progress_on_a_pipe(&piped, "seeds/s");
        assert_eq!(
            untimed(&stdout),
            untimed(&String::from_utf8_lossy(&piped.stdout)),
            "the results are the same wherever stderr goes"
        );
    }
}

#[test]
fn bench_draws_elapsed_and_ops_on_a_terminal_and_nothing_on_a_pipe() {
    let mut cluster = {
        let _spawning = SPAWN.lock().expect("no poisoned lock");
        Cluster::start(1)
    };
    cluster.call_until_answered(0, &["SET", "warm", "up"]);
    let target = format!("resp://127.0.0.1:{}", cluster.resp[0]);
    let args = [
        "bench",
        "--target",
        &target,
        "--clients",
        "2",
        "--total",
        "200",
        "--json",
        "-",
    ];
    let (stdout, terminal, code) = run_on_a_terminal(&args);
    assert_eq!(code, Some(0), "{stdout}{terminal}");
    assert!(
        terminal
            .split('\r')
            .any(|l| l.starts_with("bench  ") && l.ends_with(" ops/s  0 errors\x1b[K")),
        "a line with elapsed and ops, drawn as measuring starts: {terminal:?}"
    );
    assert!(terminal.ends_with("\r\x1b[K"), "erased: {terminal:?}");
    assert!(
        stdout.starts_with('{'),
        "stdout is the JSON alone: {stdout}"
    );

    let piped = run_on_pipes(&args);
    assert_eq!(piped.status.code(), Some(0));
    assert_no_progress_on_a_pipe(&piped, "ops/s");
}
