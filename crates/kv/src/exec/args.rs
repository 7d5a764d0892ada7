//! Reading a command's arguments the way Redis does, with Redis' error texts.
//!
//! ```text
//!   b"42"   ──int──►  Ok(42)            b"+1", b"01", b" 1" ──► ERR value is not an integer …
//!   b"nx"   ──is(…, "NX")──► true       options match whatever their case
//!   EX 10 at log time t ──expiry──► t + 10_000 ms   (0, negative or overflowing: invalid)
//! ```
//!
//! Integers are strict on purpose (Redis' `string2ll`): the canonical decimal form of an `i64`
//! and nothing else, so a value `INCR` accepts is exactly one `INCR` could have written.

use crate::reply::{KvError, Reply};

/// Parse the canonical decimal form of an `i64` (no `+`, no spaces, no leading zeros, no
/// `-0`), or `None`.
pub(crate) fn parse_integer(text: &[u8]) -> Option<i64> {
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    // 19 digits hold every i64; more cannot be canonical.
    if digits.is_empty() || digits.len() > 19 || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut magnitude: u64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    let signed = if negative {
        -i128::from(magnitude)
    } else {
        i128::from(magnitude)
    };
    i64::try_from(signed).ok()
}

/// An integer argument, or Redis' error reply for one that is not.
pub(crate) fn int(arg: &[u8]) -> Result<i64, Reply> {
    parse_integer(arg).ok_or(Reply::Error(KvError::NotAnInteger))
}

/// True if `arg` is the option `name`, in any case.
pub(crate) fn is(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

/// `ERR syntax error`.
pub(crate) fn syntax() -> Reply {
    Reply::Error(KvError::Syntax)
}

/// The positions `start..=stop` of a sequence of `len` elements, Redis' way (`LRANGE`,
/// `LTRIM`, `ZRANGE`): a negative position counts from the end (-1 is the last), a start
/// before the first is the first, a stop past the last is the last; `None` if nothing is left.
pub(crate) fn index_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = i128::try_from(len).unwrap_or(i128::MAX);
    let from_end = |i: i64| {
        if i < 0 {
            len + i128::from(i)
        } else {
            i128::from(i)
        }
    };
    let (start, stop) = (from_end(start).max(0), from_end(stop));
    if start > stop || start >= len {
        return None;
    }
    let stop = stop.min(len - 1);
    Some((start as usize, stop as usize))
}

/// The position `index` names in a sequence of `len` (negative: from the end), if inside it.
pub(crate) fn index_in(index: i64, len: usize) -> Option<usize> {
    let len = i128::try_from(len).unwrap_or(i128::MAX);
    let i = if index < 0 {
        len + i128::from(index)
    } else {
        i128::from(index)
    };
    (0..len).contains(&i).then_some(i as usize)
}

/// A count that must not be negative (`LPOP k n`, `SPOP k n`), with Redis' error texts.
pub(crate) fn non_negative(arg: &[u8], message: &str) -> Result<usize, Reply> {
    let out_of_range = || Reply::error("ERR", message);
    let n = parse_integer(arg).ok_or_else(out_of_range)?;
    usize::try_from(n).map_err(|_| out_of_range())
}

/// Redis' message for a negative count.
pub(crate) const MUST_BE_POSITIVE: &str = "value is out of range, must be positive";

/// How an expiry option names its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExpiryUnit {
    /// `EX n`: n seconds from now.
    Seconds,
    /// `PX n`: n milliseconds from now.
    Millis,
    /// `EXAT t`: at Unix time t seconds.
    UnixSeconds,
    /// `PXAT t`: at Unix time t milliseconds.
    UnixMillis,
}

impl ExpiryUnit {
    /// The unit an option names (`EX`, `PX`, `EXAT`, `PXAT`), if it is one.
    pub(crate) fn of(option: &[u8]) -> Option<ExpiryUnit> {
        [
            ("EX", ExpiryUnit::Seconds),
            ("PX", ExpiryUnit::Millis),
            ("EXAT", ExpiryUnit::UnixSeconds),
            ("PXAT", ExpiryUnit::UnixMillis),
        ]
        .into_iter()
        .find(|(n, _)| is(option, n))
        .map(|(_, u)| u)
    }
}

/// The absolute expiry time, in log milliseconds, that `value` in `unit` names at log time
/// `now_ms`; Redis' `invalid expire time in '<command>' command` for 0, a negative number or
/// one that overflows.
pub(crate) fn expiry(
    unit: ExpiryUnit,
    value: &[u8],
    now_ms: u64,
    command: &str,
) -> Result<u64, Reply> {
    let invalid = || Reply::error("ERR", format!("invalid expire time in '{command}' command"));
    let n = int(value)?;
    if n <= 0 {
        return Err(invalid());
    }
    let n = n.unsigned_abs();
    let at = match unit {
        ExpiryUnit::Seconds => n.checked_mul(1000).and_then(|ms| ms.checked_add(now_ms)),
        ExpiryUnit::Millis => n.checked_add(now_ms),
        ExpiryUnit::UnixSeconds => n.checked_mul(1000),
        ExpiryUnit::UnixMillis => Some(n),
    };
    // Redis keeps expiry times below 2^63 ms; so do we, and every sum above stays checked.
    at.filter(|&at| at <= i64::MAX.unsigned_abs())
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_only_in_their_canonical_redis_form() {
        assert_eq!(parse_integer(b"0"), Some(0));
        assert_eq!(parse_integer(b"42"), Some(42));
        assert_eq!(parse_integer(b"-17"), Some(-17));
        assert_eq!(parse_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_integer(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"1.5",
            b"abc",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
        ] {
            assert_eq!(
                parse_integer(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn every_i64_written_by_increment_parses_back_to_itself() {
        for n in [i64::MIN, -1, 0, 1, 10, i64::MAX] {
            assert_eq!(parse_integer(n.to_string().as_bytes()), Some(n));
        }
    }

    #[test]
    fn index_ranges_clamp_and_count_from_the_end_as_redis_does() {
        assert_eq!(index_range(0, -1, 5), Some((0, 4)));
        assert_eq!(index_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(index_range(-100, 1, 5), Some((0, 1)));
        assert_eq!(index_range(2, 100, 5), Some((2, 4)));
        assert_eq!(index_range(3, 2, 5), None);
        assert_eq!(index_range(5, 9, 5), None);
        assert_eq!(index_range(0, -6, 5), None);
        assert_eq!(index_range(0, -1, 0), None);
        assert_eq!(index_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(index_in(-1, 3), Some(2));
        assert_eq!(index_in(3, 3), None);
        assert_eq!(index_in(i64::MIN, 3), None);
    }

    #[test]
    fn expiry_times_are_absolute_log_milliseconds_and_bad_ones_are_refused() {
        assert_eq!(expiry(ExpiryUnit::Seconds, b"10", 5, "set"), Ok(10_005));
        assert_eq!(expiry(ExpiryUnit::Millis, b"10", 5, "set"), Ok(15));
        assert_eq!(expiry(ExpiryUnit::UnixSeconds, b"2", 5, "set"), Ok(2000));
        assert_eq!(expiry(ExpiryUnit::UnixMillis, b"7", 5, "set"), Ok(7));
        let invalid = Reply::error("ERR", "invalid expire time in 'set' command");
        assert_eq!(
            expiry(ExpiryUnit::Seconds, b"0", 5, "set"),
            Err(invalid.clone())
        );
        assert_eq!(
            expiry(ExpiryUnit::Seconds, b"-3", 5, "set"),
            Err(invalid.clone())
        );
        let huge = i64::MAX.to_string();
        assert_eq!(
            expiry(ExpiryUnit::Seconds, huge.as_bytes(), 5, "set"),
            Err(invalid)
        );
        assert!(expiry(ExpiryUnit::Seconds, b"x", 5, "set").is_err());
        assert_eq!(ExpiryUnit::of(b"pxat"), Some(ExpiryUnit::UnixMillis));
    }
}
