//! LCS: the longest common subsequence of two strings, Redis 7's command, by the textbook
//! dynamic program.
//!
//! ```text
//!   LCS a b                                   the subsequence itself (a bulk)
//!   LCS a b LEN                               its length
//!   LCS a b IDX [MINMATCHLEN n] [WITHMATCHLEN]
//!       {matches: [[[a_from a_to] [b_from b_to] (len)] …], len: n}   last match first
//!
//!   table[i][j] = LCS length of a[..i] and b[..j]
//!     a[i-1] == b[j-1]  ──► table[i-1][j-1] + 1
//!     else              ──► max(table[i-1][j], table[i][j-1])
//!   then walk back from (len a, len b), collecting the bytes and the runs where both
//!   strings advance together (a "match": a range in each string)
//! ```
//!
//! The walk and the order of the matches are Redis' own (`lcsCommand`), so IDX answers the
//! same ranges; a missing key is the empty string; a key of another type is
//! `ERR The specified keys must contain string values`; `LEN` with `IDX` is refused.
//!
//! Bound: the table has (len a + 1) × (len b + 1) cells of 4 bytes, built in memory and in time
//! of that order on the node that answers (every replica, inside MULTI). Redis refuses a table
//! larger than `proto-max-bulk-len` (512 MB); ours refuses one larger than
//! [`LCS_TABLE_BYTES_MAX`] (32 MiB: two strings of about 2,900 bytes each), with Redis'
//! "Insufficient memory" error naming the bound, before anything is allocated.
//! The road not taken: Hirschberg's linear-space algorithm finds the subsequence in
//! O(len a + len b) memory but not Redis' IDX ranges without a second pass per match.

use bytes::Bytes;

use super::args::{int, is, syntax};
use super::ReadCtx;
use crate::command::table::flags::R;
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;
use crate::value::Value;

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::String;

/// The LCS row of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "lcs", -3, R, KeySpec::FIRST_TWO, "7.0.0", "Finds the longest common subsequence of two strings (tables above 32 MiB refused).", Exec::Read(lcs)),
];

/// The largest table LCS builds, in bytes: 4 per cell, (len a + 1) × (len b + 1) cells.
pub(crate) const LCS_TABLE_BYTES_MAX: u64 = 32 * 1024 * 1024;

/// LCS's options.
#[derive(Default)]
struct Options {
    /// `LEN`: only the length.
    len: bool,
    /// `IDX`: the matching ranges.
    idx: bool,
    /// `WITHMATCHLEN`: each range with its length.
    with_match_len: bool,
    /// `MINMATCHLEN n`: ranges shorter than `n` are left out (negative: 0).
    min_match_len: u64,
}

fn options(args: &[Bytes]) -> Result<Options, Reply> {
    let mut o = Options::default();
    let mut k = 0;
    while k < args.len() {
        let a = &args[k];
        if is(a, "IDX") {
            o.idx = true;
        } else if is(a, "LEN") {
            o.len = true;
        } else if is(a, "WITHMATCHLEN") {
            o.with_match_len = true;
        } else if is(a, "MINMATCHLEN") && k + 1 < args.len() {
            o.min_match_len = int(&args[k + 1])?.max(0).unsigned_abs();
            k += 1;
        } else {
            return Err(syntax());
        }
        k += 1;
    }
    if o.idx && o.len {
        let text = "If you want both the length and indexes, please just use IDX.";
        return Err(Reply::error("ERR", text));
    }
    Ok(o)
}

/// The string under `key` for LCS: empty if absent.
fn operand(ctx: &ReadCtx<'_>, key: &[u8]) -> Result<Bytes, Reply> {
    match ctx.db.value(key, ctx.now_ms) {
        None => Ok(Bytes::new()),
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(_) => Err(Reply::error(
            "ERR",
            "The specified keys must contain string values",
        )),
    }
}

fn lcs(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let (a, b) = match (operand(ctx, &args[0]), operand(ctx, &args[1])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let o = match options(&args[2..]) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let table = match Table::build(&a, &b) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let total = table.at(a.len(), b.len());
    if o.len {
        return Reply::Int(i64::from(total));
    }
    let (common, matches) = walk_back(&table, &a, &b, &o);
    if !o.idx {
        return Reply::Bulk(Bytes::from(common));
    }
    Reply::Map(vec![
        (
            Reply::Bulk(Bytes::from_static(b"matches")),
            Reply::Array(matches),
        ),
        (
            Reply::Bulk(Bytes::from_static(b"len")),
            Reply::Int(i64::from(total)),
        ),
    ])
}

/// The dynamic program's table, row-major, `(len a + 1) × (len b + 1)`.
struct Table {
    /// The cells.
    cells: Vec<u32>,
    /// Cells per row: `len b + 1`.
    width: usize,
}

impl Table {
    /// The table for `a` and `b`, or Redis' error if it would exceed the bound.
    fn build(a: &[u8], b: &[u8]) -> Result<Table, Reply> {
        let (rows, width) = (a.len() + 1, b.len() + 1);
        let bytes = (rows as u128) * (width as u128) * 4;
        if bytes > u128::from(LCS_TABLE_BYTES_MAX) {
            let text = format!(
                "Insufficient memory, transient memory for LCS exceeds lcs_table_bytes_max \
                 {LCS_TABLE_BYTES_MAX} ({bytes} bytes for strings of {} and {} bytes)",
                a.len(),
                b.len()
            );
            return Err(Reply::error("ERR", text));
        }
        let mut t = Table {
            cells: vec![0; rows * width],
            width,
        };
        for i in 1..rows {
            for j in 1..width {
                let cell = if a[i - 1] == b[j - 1] {
                    t.at(i - 1, j - 1) + 1
                } else {
                    t.at(i - 1, j).max(t.at(i, j - 1))
                };
                t.cells[i * width + j] = cell;
            }
        }
        Ok(t)
    }

    /// The LCS length of `a[..i]` and `b[..j]`.
    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }
}

/// A run being collected during the walk: inclusive ranges in `a` and `b`.
struct Run {
    a: (usize, usize),
    b: (usize, usize),
}

/// Redis' walk from the table's far corner: the common bytes, and (for IDX) the matches, the
/// last one first.
fn walk_back(t: &Table, a: &[u8], b: &[u8], o: &Options) -> (Vec<u8>, Vec<Reply>) {
    let mut common = vec![0u8; t.at(a.len(), b.len()) as usize];
    let mut left = common.len();
    let mut matches = Vec::new();
    let mut run: Option<Run> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[left - 1] = a[i - 1];
            left -= 1;
            match &mut run {
                None => {
                    run = Some(Run {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
                Some(r) if r.a.0 == i && r.b.0 == j => (r.a.0, r.b.0) = (i - 1, j - 1),
                Some(_) => emit = true,
            }
            emit |= run.as_ref().is_some_and(|r| r.a.0 == 0 || r.b.0 == 0);
            (i, j) = (i - 1, j - 1);
        } else {
            if t.at(i - 1, j) > t.at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let Some(r) = run.take() {
                push_match(&mut matches, &r, o);
            }
        }
    }
    (common, matches)
}

/// One IDX entry, unless MINMATCHLEN leaves it out.
fn push_match(matches: &mut Vec<Reply>, r: &Run, o: &Options) {
    let len = (r.a.1 - r.a.0 + 1) as u64;
    if !o.idx || len < o.min_match_len {
        return;
    }
    let range =
        |(from, to): (usize, usize)| Reply::Array(vec![super::count(from), super::count(to)]);
    let mut entry = vec![range(r.a), range(r.b)];
    if o.with_match_len {
        entry.push(super::count(len as usize));
    }
    matches.push(Reply::Array(entry));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(a: &str, b: &str) -> String {
        let t = Table::build(a.as_bytes(), b.as_bytes()).unwrap();
        let o = Options::default();
        String::from_utf8(walk_back(&t, a.as_bytes(), b.as_bytes(), &o).0).unwrap()
    }

    #[test]
    fn the_common_subsequence_is_the_textbook_one() {
        assert_eq!(common("ohmytext", "mynewtext"), "mytext");
        assert_eq!(common("", "abc"), "");
        assert_eq!(common("abc", "abc"), "abc");
        assert_eq!(common("abc", "xyz"), "");
    }

    #[test]
    fn a_table_over_the_bound_is_refused_before_it_is_allocated() {
        let long = vec![b'a'; 4096];
        let reply = Table::build(&long, &long).err().expect("refused");
        assert!(
            format!("{reply:?}").contains("lcs_table_bytes_max"),
            "{reply:?}"
        );
    }
}
