//! redis-py, the Python client most Redis users reach for, against a real 3-node cluster: what
//! the server implements must work through it, and the features it lacks yet are written down
//! as cases that must fail today, so the day one starts working the run says so.
//!
//! ```text
//!   python3 -m venv target/tmp/redis-py-5.2.1 ── pip install redis==5.2.1   (once, then cached)
//!   Cluster::start(3) ──► leader L, follower F
//!   venv/bin/python tests/redis_py/check.py --leader L --follower F
//!     one line per case: ok | FAIL | xfail (listed, still fails) | XPASS (listed, now passes)
//!     exit 1 only if a case outside check.py's EXPECTED_TO_FAIL failed
//! ```
//!
//! The one place to edit when a feature lands is `EXPECTED_TO_FAIL` in `redis_py/check.py`
//! (today: expiry, issue 14 item 2). Among the passing cases, `exec_abort_applies_no_queued_write`
//! asserts what Redis guarantees and this server once broke: after an EXEC that fails, none of
//! the queued writes applies. `check.py --reference` runs every case against a redis-server, to
//! check the cases themselves.
//!
//! Skips, passing with the reason on stderr, when there is no `python3` or redis-py cannot be
//! installed (no venv module, no route to PyPI): CI must not fail for the machine. A skip is
//! never taken once the install worked; from there every failure is the server's or the test's.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Cluster;

/// The redis-py release the cases are written against; a new one is a deliberate bump.
const REDIS_PY_VERSION: &str = "5.2.1";

/// Say why the test is skipped where a plain `cargo test` shows it: the test harness captures
/// `eprintln!`, not writes to the stderr handle.
fn skip(why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "redis_py: skipped: {why} (the test passes without running)"
    );
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    cmd.output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))
}

fn tail(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// True if the venv at `dir` imports the pinned redis-py.
fn has_redis_py(dir: &Path) -> bool {
    let check = format!("import redis, sys; sys.exit(redis.__version__ != {REDIS_PY_VERSION:?})");
    Command::new(dir.join("bin/python"))
        .args(["-c", &check])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The venv's python, with redis-py installed; Err(why) means skip. The venv is built under a
/// temporary name and renamed when complete, so an interrupted install is never mistaken for a
/// working one.
fn python_with_redis_py() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = root.join(format!("redis-py-{REDIS_PY_VERSION}"));
    if has_redis_py(&dir) {
        return Ok(dir.join("bin/python"));
    }
    let version = run(Command::new("python3").arg("--version"))
        .map_err(|e| format!("no python3 on PATH ({e})"))?;
    if !version.status.success() {
        return Err(format!("python3 --version failed: {}", tail(&version)));
    }
    let partial = root.join(format!(
        "redis-py-{REDIS_PY_VERSION}.partial-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&partial);
    let venv = run(Command::new("python3").args(["-m", "venv"]).arg(&partial))?;
    if !venv.status.success() {
        return Err(format!("python3 -m venv failed: {}", tail(&venv)));
    }
    let pip = run(Command::new(partial.join("bin/python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--retries",
        "1",
        "--timeout",
        "30",
        &format!("redis=={REDIS_PY_VERSION}"),
    ]))?;
    if !pip.status.success() {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(format!(
            "pip install redis=={REDIS_PY_VERSION} failed: {}",
            tail(&pip)
        ));
    }
    if std::fs::rename(&partial, &dir).is_err() {
        // Another test process finished first; use its venv.
        let _ = std::fs::remove_dir_all(&partial);
    }
    if has_redis_py(&dir) {
        Ok(dir.join("bin/python"))
    } else {
        Err(format!(
            "redis-py was installed but {dir:?} does not import it"
        ))
    }
}

#[test]
fn redis_py_works_for_every_implemented_feature_and_reports_the_missing_ones() {
    let python = match python_with_redis_py() {
        Ok(python) => python,
        Err(why) => return skip(&why),
    };
    let mut cluster = Cluster::start(3);
    let leader = cluster.leader();
    let follower = (leader + 1) % 3;
    cluster.call_until_answered(leader, &["SET", "redis-py:warm", "up"]);
    cluster.call_until_answered(follower, &["GET", "redis-py:warm"]);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/redis_py/check.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(["--leader", &format!("127.0.0.1:{}", cluster.resp[leader])])
        .args([
            "--follower",
            &format!("127.0.0.1:{}", cluster.resp[follower]),
        ])
        .output()
        .expect("the venv's python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    let summary = stdout.lines().find(|l| l.starts_with("redis-py "));
    assert!(
        summary.is_some(),
        "check.py ended without its summary line:\n{stdout}{stderr}"
    );
    let unexpected: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        out.status.success(),
        "redis-py cases outside EXPECTED_TO_FAIL failed ({}):\n{}\n{stderr}",
        summary.unwrap_or_default(),
        unexpected.join("\n")
    );
}
