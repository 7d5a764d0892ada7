//! A progress line for long runs (`sim --seeds`, `bench`), drawn on stderr only when stderr is
//! a terminal, and redrawn in place.
//!
//! ```text
//!   stderr a terminal?  no ──► nothing at all: pipes, files and tests see the output unchanged
//!                       yes ──► "\r" + line + erase-to-end-of-line, again every period
//!                               ──► when the work ends: "\r" + erase, so the results that
//!                                   follow on stdout start on a clean line
//! ```
//!
//! The line goes to stderr, never stdout: stdout is the result a script reads (`| grep`,
//! `--json -`), and a progress line is not part of it. The libraries (`scenarios`, the bench
//! driver's counters) never print; they count, and this file reads the counts.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Erase from the cursor to the end of the line (ANSI EL): a shorter line leaves no tail.
const ERASE_TO_END_OF_LINE: &str = "\x1b[K";

/// Where the progress line goes: stderr, if it is a terminal; nowhere otherwise.
#[derive(Clone, Copy, Debug)]
pub struct StatusLine {
    /// Whether stderr is a terminal, decided once.
    on: bool,
}

impl StatusLine {
    /// On when stderr is a terminal.
    pub fn for_stderr() -> StatusLine {
        StatusLine {
            on: std::io::stderr().is_terminal(),
        }
    }

    /// Whether anything is drawn.
    pub fn is_on(self) -> bool {
        self.on
    }

    /// Draw `text` over the current line.
    pub fn show(self, text: &str) {
        if self.on {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{text}{ERASE_TO_END_OF_LINE}");
            let _ = err.flush();
        }
    }

    /// Erase the line, leaving the cursor at its start.
    pub fn clear(self) {
        self.show("");
    }
}

/// Run `work` on this thread while another redraws `line(elapsed)` every `period` (at once
/// first, so even a short run shows one line), then erase the line. With the status line
/// off this is `work()`, and `line` is never called.
pub fn while_running<T>(
    status: StatusLine,
    period: Duration,
    line: impl Fn(Duration) -> String + Sync,
    work: impl FnOnce() -> T,
) -> T {
    if !status.is_on() {
        return work();
    }
    let started = Instant::now();
    let (finished_tx, finished_rx) = mpsc::channel::<()>();
    let line = &line;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // Ends when `work` returns: the sender is dropped and the wait is cut short.
            loop {
                status.show(&line(started.elapsed()));
                match finished_rx.recv_timeout(period) {
                    Err(RecvTimeoutError::Timeout) => continue,
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            status.clear();
        });
        let out = work();
        drop(finished_tx);
        out
    })
}

/// `n` per second over `elapsed`, as a whole number (0 before any time has passed).
pub fn per_second(n: u64, elapsed: Duration) -> u64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        (n as f64 / secs) as u64
    } else {
        0
    }
}
