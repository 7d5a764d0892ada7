//! `distributed status`: one line per node, from each node's INFO, and whether a leader exists.
//!
//! ```text
//!   distributed status --addr 127.0.0.1:6379,127.0.0.1:6380,127.0.0.1:6381
//!   node  role       term  leader  commit  applied  address
//!   n1    leader     3     n1      12      12       127.0.0.1:6379
//!   n2    follower   3     n1      12      12       127.0.0.1:6380
//!   -     unreachable                               127.0.0.1:6381  (cannot connect …)
//!   exit 0 some node reports a leader · 1 none does (election, partition, all down) · 2 bad args
//! ```
//!
//! Each node is asked separately and answers from its own view, so during an election two nodes
//! may name different leaders or terms; the table shows exactly that rather than a merged guess.

use std::collections::BTreeMap;

use clap::Args;
use server::clients::resp::Frame;

use crate::kv_cmd::call;

/// Most nodes one status call asks; bounds the work a long --addr list causes.
const ADDRS_MAX: usize = 64;

/// Flags of `distributed status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Comma-separated RESP addresses of the nodes to ask.
    #[arg(long, default_value = "127.0.0.1:6379,127.0.0.1:6380,127.0.0.1:6381")]
    addr: String,
}

/// The INFO fields one line shows, by key; absent keys print as `?`.
fn fields(info: &str) -> BTreeMap<&str, &str> {
    info.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_end().split_once(':'))
        .collect()
}

fn line(addr: &str, info: &str) -> (String, bool) {
    let f = fields(info);
    let get = |k: &str| f.get(k).copied().unwrap_or("?");
    let leader = get("leader");
    let text = format!(
        "{:<5} {:<12} {:<5} {:<7} {:<7} {:<8} {addr}",
        get("node"),
        get("role"),
        get("term"),
        leader,
        get("commit_index"),
        get("applied_index"),
    );
    (text, leader != "none" && leader != "?")
}

/// Ask every node; the exit code.
pub fn run(args: StatusArgs) -> u8 {
    let addrs: Vec<&str> = args
        .addr
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    if addrs.is_empty() || addrs.len() > ADDRS_MAX {
        eprintln!("error: --addr needs 1..={ADDRS_MAX} comma-separated HOST:PORT addresses");
        return 2;
    }
    println!(
        "{:<5} {:<12} {:<5} {:<7} {:<7} {:<8} address",
        "node", "role", "term", "leader", "commit", "applied"
    );
    let mut leader_seen = false;
    for addr in addrs {
        match call(addr, &["INFO".to_string()]) {
            Ok(Frame::Bulk(info)) => {
                let (text, has_leader) = line(addr, &String::from_utf8_lossy(&info));
                leader_seen |= has_leader;
                println!("{text}");
            }
            Ok(other) => println!("{:<5} {:<50} {addr}  ({other:?})", "-", "bad answer"),
            Err(e) => println!("{:<5} {:<50} {addr}  ({e})", "-", "unreachable"),
        }
    }
    if leader_seen {
        0
    } else {
        eprintln!("no node reports a leader");
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_shows_the_info_fields_and_whether_a_leader_is_known() {
        let info = "# Distributed\r\nnode:n1\r\nrole:leader\r\nterm:3\r\nleader:n1\r\n\
                    commit_index:12\r\napplied_index:11\r\n";
        let (text, leader) = line("127.0.0.1:6379", info);
        assert!(leader);
        let words: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(
            words,
            ["n1", "leader", "3", "n1", "12", "11", "127.0.0.1:6379"]
        );
        let (_, leader) = line("a", "node:n2\r\nrole:candidate\r\nleader:none\r\n");
        assert!(!leader);
    }
}
