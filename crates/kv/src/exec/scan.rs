//! `HSCAN`, `SSCAN`, `ZSCAN`: walking a container a page at a time, with a cursor that means
//! the same thing on every replica.
//!
//! ```text
//!   HSCAN k 0 [MATCH pat] [COUNT n]        ──► ["1097098", [f1 v1 f2 v2 …]]
//!   HSCAN k 1097098 …                      ──► … ──► ["0", [...]]   (0: the walk is over)
//!
//!   cursor "0"        start (and, in a reply, the end)
//!   cursor "1ddd…"    resume at the first field >= the bytes ddd… (three decimal digits a
//!                     byte: "1097098" is b"ab"), at most CURSOR_PREFIX_BYTES_MAX bytes of
//!                     the next field to return
//! ```
//!
//! Redis' cursor is a position in its hash table, meaningful only to the server that made it.
//! Ours is the next field itself (members are ordered by their bytes), so it is valid on any
//! replica, after a failover, a restart or a snapshot, and it keeps SCAN's promise: a field
//! present from the first call to the last is returned at least once. It is opaque to clients
//! but written in decimal digits, because client libraries (redis-py, the TCL suite) read the
//! cursor as an integer; it can be longer than a u64, so a client that insists on 64 bits
//! (go-redis) cannot hold it.
//!
//! A cursor carries a prefix of the next field, so a page may repeat fields that share it
//! (Redis allows duplicates), and a page never ends inside a run of fields with the cursor's
//! own prefix, so every call makes progress. `COUNT` (default 10) bounds the fields examined,
//! `MATCH` filters them afterwards, as in Redis: a page can be empty and the walk not over.
//!
//! What every walk shares lives here: `[MATCH p] [COUNT n]` (and SCAN's `[TYPE t]`) read by
//! `options`, the glob of `glob.rs`, `COUNT`'s default. The cursors differ on purpose. The
//! keyspace's (`keyscan.rs`) is a u64 position in `Db`'s scan-order index, which the keyspace
//! keeps anyway for RANDOMKEY and which fits the u64 that `redis-cli --scan` and go-redis hold a
//! SCAN cursor in. A container has no such index, only its members in byte order, so its cursor
//! is the next member's prefix: the road not taken, a hash-position index per container, costs
//! a second ordered set in every hash, set and sorted set for the sake of HSCAN alone.

use std::ops::Bound;

use bytes::Bytes;

use super::args::{int, is, syntax};
use super::glob::Glob;
use crate::reply::Reply;

/// Most bytes of the next field a cursor carries (3 digits each, plus one).
pub(crate) const CURSOR_PREFIX_BYTES_MAX: usize = 32;
/// Items (keys, fields, members) examined per call when the client gives no `COUNT`.
const COUNT_DEFAULT: usize = 10;

/// Where a scan resumes: the bytes to start from (empty: the beginning).
pub(crate) fn cursor_arg(arg: &[u8]) -> Result<Vec<u8>, Reply> {
    let invalid = || Reply::error("ERR", "invalid cursor");
    if arg == b"0" {
        return Ok(Vec::new());
    }
    let digits = match arg.split_first() {
        Some((b'1', rest)) if rest.len() % 3 == 0 && rest.len() / 3 <= CURSOR_PREFIX_BYTES_MAX => {
            rest
        }
        _ => return Err(invalid()),
    };
    digits
        .chunks_exact(3)
        .map(|d| {
            let text = std::str::from_utf8(d)
                .ok()
                .filter(|t| t.bytes().all(|b| b.is_ascii_digit()));
            text.and_then(|t| t.parse::<u8>().ok()).ok_or_else(invalid)
        })
        .collect()
}

/// The cursor that resumes at `field`.
fn cursor_of(field: &[u8]) -> Bytes {
    let prefix = &field[..field.len().min(CURSOR_PREFIX_BYTES_MAX)];
    let mut text = String::with_capacity(1 + 3 * prefix.len());
    text.push('1');
    for b in prefix {
        text.push_str(&format!("{b:03}"));
    }
    Bytes::from(text)
}

/// The range of fields a walk resuming at `from` covers, for `BTreeMap::range`.
pub(crate) fn from(from: &[u8]) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (Bound::Included(from), Bound::Unbounded)
}

/// `MATCH`, `COUNT` and (SCAN only) `TYPE`.
pub(crate) struct ScanOptions {
    /// The glob items must match; `None` for all (no MATCH, or `MATCH *`).
    pub(crate) pattern: Option<Glob>,
    /// Items examined per call.
    pub(crate) count: usize,
    /// SCAN's `TYPE`: only keys of this type (`string`, `hash`, …, compared in any case).
    pub(crate) type_name: Option<Bytes>,
}

impl ScanOptions {
    /// True if `item` matches the pattern.
    pub(crate) fn matches(&self, item: &[u8]) -> bool {
        self.pattern.as_ref().is_none_or(|g| g.matches(item))
    }
}

/// A pattern, or `None` for `*` alone, which Redis treats as "everything" (the empty key too)
/// before any matching (`KEYS`, every `MATCH`).
pub(crate) fn pattern(text: &[u8]) -> Option<Glob> {
    (text != b"*").then(|| Glob::new(text))
}

/// Which options a walk takes besides `MATCH` and `COUNT`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Takes {
    /// HSCAN, SSCAN, ZSCAN: `TYPE` is a syntax error, as in Redis.
    MatchCount,
    /// SCAN: `TYPE` too.
    MatchCountType,
}

/// Read `[MATCH p] [COUNT n]` (and `[TYPE t]` if `takes` says so) in any order, as Redis does:
/// COUNT below 1 is a syntax error, anything unknown or missing its value too.
pub(crate) fn options(args: &[Bytes], takes: Takes) -> Result<ScanOptions, Reply> {
    let mut o = ScanOptions {
        pattern: None,
        count: COUNT_DEFAULT,
        type_name: None,
    };
    for pair in args.chunks(2) {
        match pair {
            [name, value] if is(name, "COUNT") => {
                let n = int(value)?;
                o.count = usize::try_from(n)
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(syntax)?;
            }
            [name, value] if is(name, "MATCH") => o.pattern = pattern(value),
            [name, value] if is(name, "TYPE") && takes == Takes::MatchCountType => {
                o.type_name = Some(value.clone());
            }
            _ => return Err(syntax()),
        }
    }
    Ok(o)
}

/// One page of a walk that started at `from`: the reply's cursor and the items to return.
/// `items` yields (field, payload) in field order, starting at the first field >= `from`.
pub(crate) fn page<'a, T>(
    items: impl Iterator<Item = (&'a Bytes, T)>,
    from: &[u8],
    options: &ScanOptions,
) -> (Bytes, Vec<(&'a Bytes, T)>) {
    let mut out = Vec::new();
    for (examined, (field, payload)) in items.enumerate() {
        if examined >= options.count {
            let prefix = &field[..field.len().min(CURSOR_PREFIX_BYTES_MAX)];
            if prefix != from {
                return (cursor_of(field), out);
            }
        }
        if options.matches(field) {
            out.push((field, payload));
        }
    }
    (Bytes::from_static(b"0"), out)
}

/// The reply of a scan: `[cursor, [items…]]`.
pub(crate) fn reply(cursor: Bytes, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::Bulk(cursor), Reply::Array(items)])
}

/// The reply for a scan of an absent key: the walk is over at once.
pub(crate) fn empty() -> Reply {
    reply(Bytes::from_static(b"0"), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_they_cannot_be() {
        assert_eq!(cursor_of(b"ab"), Bytes::from("1097098"));
        assert_eq!(cursor_arg(b"1097098"), Ok(b"ab".to_vec()));
        assert_eq!(cursor_arg(b"0"), Ok(Vec::new()));
        assert_eq!(cursor_arg(b"1"), Ok(Vec::new()));
        let long = vec![0xffu8; 100];
        let c = cursor_of(&long);
        assert_eq!(cursor_arg(&c), Ok(vec![0xff; CURSOR_PREFIX_BYTES_MAX]));
        for bad in [&b"x"[..], b"12", b"1256", b"1-01", b"00", b""] {
            assert!(cursor_arg(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn count_below_one_and_unknown_options_are_syntax_errors() {
        let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        let takes = Takes::MatchCount;
        assert!(options(&[b("COUNT"), b("0")], takes).is_err());
        assert!(options(&[b("TYPE"), b("hash")], takes).is_err());
        assert!(options(&[b("COUNT")], takes).is_err());
        let o = options(&[b("match"), b("*"), b("count"), b("3")], takes).unwrap();
        assert!(o.pattern.is_none());
        assert_eq!(o.count, 3);
        let o = options(&[b("TYPE"), b("hash")], Takes::MatchCountType).unwrap();
        assert_eq!(o.type_name, Some(b("hash")));
    }

    #[test]
    fn a_page_never_ends_inside_a_run_of_fields_with_the_cursor_s_prefix() {
        let long = |tail: u8| {
            let mut f = vec![b'x'; CURSOR_PREFIX_BYTES_MAX];
            f.push(tail);
            Bytes::from(f)
        };
        let fields: Vec<Bytes> = (0..5).map(long).chain([Bytes::from("y")]).collect();
        let options = ScanOptions {
            pattern: None,
            count: 1,
            type_name: None,
        };
        let from = vec![b'x'; CURSOR_PREFIX_BYTES_MAX];
        let (cursor, items) = page(fields.iter().map(|f| (f, ())), &from, &options);
        assert_eq!(items.len(), 5, "all five share the cursor's prefix");
        assert_eq!(cursor, cursor_of(b"y"));
    }
}
