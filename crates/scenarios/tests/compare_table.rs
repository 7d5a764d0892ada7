//! `sim --compare`'s table (compare.rs): one row per protocol over the same seeds, and every
//! row weighs its traffic twice, in messages and in bytes on the wire per completed op.

use scenarios::compare::{compare, KvProtocol, Row, Table};
use scenarios::{FaultProfile, SeedProgress};

fn rows(faults: FaultProfile) -> Vec<Row> {
    let protocols = [KvProtocol::Raft, KvProtocol::Paxos, KvProtocol::Pbft];
    let (f, clients, threads) = (1, 3, 2);
    let progress = SeedProgress::default();
    compare(&protocols, 0..4, faults, f, clients, threads, &progress).expect("valid options")
}

/// The number under `name` in `line`: columns are right-aligned under their header, so the
/// value ends where the header's name ends.
fn column(table: &str, line: &str, name: &str) -> f64 {
    let header = table.lines().next().expect("a header");
    let at = header
        .find(name)
        .unwrap_or_else(|| panic!("no `{name}` column in {header}"));
    let value = line[..at + name.len()].split_whitespace().last();
    let value = value.expect("a value under the header");
    value
        .parse()
        .unwrap_or_else(|e| panic!("`{value}` under {name}: {e}\n{table}"))
}

#[test]
fn every_protocol_row_prints_its_bytes_per_op_next_to_its_messages_per_op() {
    let rows = rows(FaultProfile::Byzantine);
    let table = Table(&rows).to_string();
    assert!(
        table.lines().next().unwrap().contains("msgs/op  bytes/op"),
        "{table}"
    );
    for (row, line) in rows.iter().zip(table.lines().skip(1)) {
        assert!(row.summary.is_clean() && row.summary.ops.ok > 0, "{table}");
        assert!(
            row.bytes_per_op() > 0.0,
            "{}: no bytes\n{table}",
            row.protocol
        );
        assert_eq!(column(&table, line, "bytes/op"), row.bytes_per_op().round());
        // No message is smaller than 9 bytes (a kind and one u64: Raft's TimeoutNow,
        // Paxos's CatchUp), so bytes can never fall below nine times the messages.
        assert!(row.bytes_per_op() >= 9.0 * row.messages_per_op(), "{table}");
    }
}

#[test]
fn a_pbft_message_weighs_more_than_a_raft_or_paxos_one() {
    // Every PBFT phase message carries a 32-byte digest and a 40-byte signature (89 bytes for
    // a Prepare); Raft's acknowledgement is 26 bytes and Paxos's Accepted 25.
    let rows = rows(FaultProfile::None);
    let per_message = |r: &Row| r.bytes_per_op() / r.messages_per_op();
    let [raft, paxos, pbft] = [&rows[0], &rows[1], &rows[2]].map(per_message);
    assert!(pbft > raft && pbft > paxos, "{}", Table(&rows));
}
