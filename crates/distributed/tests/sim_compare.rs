//! `distributed sim --compare` as a user runs it: one table, a bytes/op column beside
//! msgs/op, and a positive figure in it for every protocol.

use std::process::Command;

#[test]
fn the_compare_table_shows_bytes_per_op_for_every_protocol() {
    let out = Command::new(env!("CARGO_BIN_EXE_distributed"))
        .args([
            "sim",
            "--compare",
            "raft-kv,paxos-kv,pbft-kv",
            "--nodes",
            "3",
        ])
        .args(["--seeds", "0..2", "--faults", "none", "--threads", "1"])
        .output()
        .expect("the distributed binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("protocol"));
    let header = lines.next().expect("a table");
    let names: Vec<&str> = header.split_whitespace().collect();
    let at = names
        .iter()
        .position(|&c| c == "bytes/op")
        .expect("a bytes/op column");
    assert_eq!(names[at - 1], "msgs/op", "bytes/op sits next to msgs/op");
    // Columns are right-aligned under their header: the value ends where the name ends.
    let end = header.find("bytes/op").unwrap() + "bytes/op".len();
    let rows: Vec<&str> = lines.take(3).collect();
    for (row, protocol) in rows.iter().zip(["raft-kv", "paxos-kv", "pbft-kv"]) {
        assert!(row.starts_with(protocol), "{stdout}");
        let value = row[..end].split_whitespace().last().unwrap();
        let value: f64 = value.parse().expect("a number under bytes/op");
        assert!(value > 0.0, "{protocol} shows no bytes:\n{stdout}");
    }
    assert_eq!(rows.len(), 3, "{stdout}");
}
