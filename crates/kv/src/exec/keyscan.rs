//! Walking the keyspace: `KEYS` at once, `SCAN` a page at a time with a cursor that means the
//! same thing on every replica.
//!
//! ```text
//!   KEYS pattern                     every live key matching, in key order
//!   SCAN cursor [MATCH p] [COUNT n] [TYPE t]   ──► [next cursor, [keys…]]
//!
//!   SCAN 0 COUNT 3  ──► ["8410390946232717000", [k1 k2 k3]]   keys by scan position:
//!   SCAN 8410390946232717000 …  ──► …  ──► ["0", […]]        FNV-1a-64 of the key (db.rs)
//! ```
//!
//! The cursor: Redis' cursor is a position in its own hash table, meaningful only to the
//! server that made it. Ours is the scan position of the next key to visit, and a key's scan
//! position is a fixed 64-bit hash of its bytes, so a cursor resumes the same walk on any
//! replica, after a failover, a restart or a snapshot. Clients hold it as a number: redis-cli
//! reads it with `strtoull` and sends `SCAN %llu`, redis-py with `int()` and sends it back as
//! decimal, go-redis in a `uint64`; they stop at "0". So it is a decimal u64, never 0 for
//! "more to come" (positions start at 1), and any u64 a client sends is a valid place to start
//! (read as Redis reads it, with `strtoul`'s sign: `-1` is 2^64 - 1).
//!
//! SCAN's promises, kept: a key present from the first call to the last is returned (keys are
//! visited in position order, and the cursor is a lower bound on what is left); a page never
//! ends between two keys of the same position (a hash collision), so every call moves on and
//! no key is returned twice. A key added or removed during the walk may or may not show up.
//! `COUNT` (default 10) bounds the keys examined, not returned: `MATCH`, `TYPE` and expiry
//! filter afterwards, as in Redis, so a page may be empty and the walk not over. An unknown
//! `TYPE` matches nothing, as in Redis 7.0.
//!
//! The road not taken: a cursor that spells out the next key (as HSCAN's does, `scan.rs`, in
//! decimal digits, three per byte): exact, but longer than a u64 for most keys, and
//! `redis-cli --scan` would then loop on a wrapped-around number. `MATCH`/`COUNT`/`TYPE` are
//! read by `scan.rs`, which every walk shares.
//!
//! Bounds: KEYS is O(keys), as in Redis (its reply is the whole keyspace at worst); a SCAN
//! page examines COUNT keys plus the rest of one hash collision group.

use bytes::Bytes;

use super::args::is;
use super::scan::{options, pattern, ScanOptions, Takes};
use super::ReadCtx;
use crate::command::table::flags::R;
use crate::command::table::{Exec, Group, KeySpec, Spec};
use crate::reply::Reply;

/// Where these rows stand in `COMMAND DOCS` and the README.
const GROUP: Group = Group::Generic;

/// The walks' rows of the command table.
#[rustfmt::skip]
pub(crate) const SPECS: &[Spec] = &[
    Spec::new(GROUP, "keys", 2, R, KeySpec::NONE, "1.0.0", "Returns all key names that match a pattern.", Exec::Read(keys)),
    Spec::new(GROUP, "scan", -2, R, KeySpec::NONE, "2.8.0", "Iterates over the key names in the database (cursor: a position valid on every replica).", Exec::Read(scan)),
];

fn keys(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let glob = pattern(&args[0]);
    let now = ctx.now_ms;
    let found = (ctx.db.entries().iter())
        .filter(|(key, _)| glob.as_ref().is_none_or(|g| g.matches(key)))
        .filter(|(key, _)| ctx.db.lookup(key, now).is_some())
        .map(|(key, _)| Reply::Bulk(key.clone()));
    Reply::Array(found.collect())
}

/// A cursor as clients send it: a decimal u64, read as Redis reads it (`strtoul`): digits
/// after an optional sign, `-n` wrapping around to 2^64 - n, nothing before or after.
fn cursor(arg: &[u8]) -> Result<u64, Reply> {
    let invalid = || Reply::error("ERR", "invalid cursor");
    let (negative, digits) = match arg.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let n: u64 = (std::str::from_utf8(digits).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(invalid)?;
    Ok(if negative { n.wrapping_neg() } else { n })
}

fn scan(ctx: &ReadCtx<'_>, args: &[Bytes]) -> Reply {
    let (from, o) = match (cursor(&args[0]), options(&args[1..], Takes::MatchCountType)) {
        (Ok(from), Ok(o)) => (from, o),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let mut page = Vec::new();
    let mut next = 0;
    let mut last: Option<u64> = None;
    for (examined, (position, key)) in ctx.db.scan_from(from).enumerate() {
        if examined >= o.count && last != Some(position) {
            next = position; // never ends inside a group of one position
            break;
        }
        last = Some(position);
        if wanted(ctx, &o, key) {
            page.push(Reply::Bulk(key.clone()));
        }
    }
    let next = Reply::Bulk(Bytes::from(next.to_string()));
    Reply::Array(vec![next, Reply::Array(page)])
}

/// True if SCAN returns `key`: it matches, has the type asked for, and is live.
fn wanted(ctx: &ReadCtx<'_>, o: &ScanOptions, key: &[u8]) -> bool {
    let Some(value) = ctx.db.value(key, ctx.now_ms) else {
        return false;
    };
    let type_ok = (o.type_name.as_ref()).is_none_or(|t| is(t, value.type_name()));
    type_ok && o.matches(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_any_decimal_u64_and_nothing_else() {
        assert_eq!(cursor(b"0"), Ok(0));
        assert_eq!(cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(cursor(b"007"), Ok(7), "strtoul reads leading zeros");
        assert_eq!(
            (cursor(b"+5"), cursor(b"-1")),
            (Ok(5), Ok(u64::MAX)),
            "and a sign"
        );
        let invalid = Reply::error("ERR", "invalid cursor");
        for bad in [&b""[..], b"-", b" 1", b"1 ", b"x", b"18446744073709551616"] {
            assert_eq!(cursor(bad), Err(invalid.clone()), "{bad:?}");
        }
    }

    #[test]
    fn count_below_one_and_unknown_or_dangling_options_are_syntax_errors() {
        const T: Takes = Takes::MatchCountType;
        let words =
            |w: &[&str]| -> Vec<Bytes> { w.iter().map(|s| Bytes::from(s.to_string())).collect() };
        assert!(options(&words(&["COUNT", "0"]), T).is_err());
        assert!(options(&words(&["COUNT"]), T).is_err());
        assert!(options(&words(&["FROB", "1"]), T).is_err());
        let o = options(&words(&["match", "a*", "count", "5", "TYPE", "hash"]), T).unwrap();
        assert_eq!(o.count, 5);
        assert!(o.pattern.is_some() && o.type_name.is_some());
        assert!(options(&words(&["MATCH", "*"]), T)
            .unwrap()
            .pattern
            .is_none());
    }
}
