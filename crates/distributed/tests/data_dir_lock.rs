//! One node process per data directory: a second `distributed node` on a data dir in use is
//! refused at start, and a node killed with SIGKILL leaves nothing that stops the next start.
//!
//! ```text
//!   n1 runs on d/n1 ──► a second node on d/n1: exit 1, "the data dir d/n1 is in use by
//!                       another node process (pid <n1's pid>, …)"; n1 keeps serving
//!   kill -9 n1 ──► the kernel drops its flock ──► n1 restarts on d/n1 with its data
//! ```
//!
//! No timed assertions: waits are bounded retries (harness in `common/`).

mod common;

use common::{bulk, Cluster};
use server::clients::resp::Frame;

#[test]
fn a_second_node_on_a_data_dir_in_use_is_refused_and_a_kill_9_frees_it() {
    let mut cluster = Cluster::start(1);
    let ok = Frame::Simple("OK".into());
    assert_eq!(cluster.call_until_answered(0, &["SET", "k", "v"]), ok);
    let holder = cluster.children[0].as_ref().expect("n1 runs").id();

    let second = cluster.command(0).output().expect("run a second node");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "stderr: {stderr}");
    let expected = format!(
        "the data dir {} is in use by another node process (pid {holder}, which holds",
        cluster.data_dir(0).display()
    );
    assert!(stderr.contains(&expected), "stderr: {stderr}");
    assert_eq!(
        cluster.call_until_answered(0, &["GET", "k"]),
        bulk("v"),
        "the first node still serves"
    );

    // SIGKILL runs no shutdown path: only the kernel can release the lock.
    cluster.kill(0);
    cluster.restart(0);
    assert_eq!(cluster.call_until_answered(0, &["GET", "k"]), bulk("v"));
    cluster.assert_running(0);
}
