//! Floating-point numbers the way Redis reads and prints them: sorted-set scores, `ZINCRBY`,
//! `HINCRBYFLOAT` and `INCRBYFLOAT`.
//!
//! ```text
//!   reading   b"1.5" b"-2e3" b"inf" b"+inf" b"-Infinity"  ──float──►  f64
//!             b"nan", b" 1", b"1e400" (overflow), b"1e-400" (underflow to 0), b""
//!                                                          ──► ERR value is not a valid float
//!             *BYFLOAT's (`long_float`, Redis' string2ld): the same, and at most 5 KiB
//!   bounds    b"(1.5" excludes 1.5; b"-inf" b"+inf" are the open ends  (ZRANGEBYSCORE, ZCOUNT)
//!   replies   reply_text(x): Redis 7.2's d2string
//!               inf, -inf                          "inf"  "-inf"
//!               an integer with |x| <= 2^62          "10"  "-3"  "1500000000"
//!               otherwise the shortest digits that read back as x, laid out as
//!               fpconv_dtoa does:  "1.5"  "0.1"  "0.00003"  "1e-7"  "1.5e+300"  "1e+21"
//!   values    value_text(x): the same digits, never an exponent ("100000000000000000000"),
//!             what HINCRBYFLOAT stores, so a later HINCRBY can still read an integral result
//! ```
//!
//! The digits: the shortest decimal that parses back to the same `f64` (Rust's formatter,
//! Grisu with a Dragon4 fallback, is exactly that). Redis 7.2 gets its digits from Grisu2,
//! which is the shortest for all but a tiny fraction of doubles, where it prints one digit more;
//! both read back as the same number. Redis 7.0 printed `%.17g` instead (`0.1` came back as
//! `0.10000000000000001`); we follow 7.2, whose output is what a user typed.
//!
//! Not matched, on purpose:
//! - Redis computes `HINCRBYFLOAT` in `long double` and prints 17 fixed decimals, which hides
//!   binary noise (`0.1` three times gives `0.3` there, `0.30000000000000004` here). 80-bit
//!   arithmetic is not portable Rust, and every replica must compute the same bits: `f64`
//!   everywhere, shortest digits.
//! - C's `strtod` also reads hexadecimal floats (`0x1p4`); Rust's parser does not, and no
//!   client sends them: they are refused as not a valid float.
//!
//! Invariant: no NaN ever leaves this file as a number; every text it prints reads back
//! (`float`) as the value it printed.

use bytes::Bytes;

use crate::reply::Reply;

/// `ERR value is not a valid float`.
pub(crate) fn not_a_float() -> Reply {
    Reply::error("ERR", "value is not a valid float")
}

/// A float argument, or Redis' error for one that is not (`ZADD`, `ZINCRBY`, `HINCRBYFLOAT`).
pub(crate) fn float(arg: &[u8]) -> Result<f64, Reply> {
    parse_float(arg).ok_or_else(not_a_float)
}

/// Redis' strict float (`string2d`): the whole text is one number, no leading space, no NaN,
/// no overflow to infinity unless it says `inf`, no underflow of a nonzero number to zero.
pub(crate) fn parse_float(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    let x: f64 = s.parse().ok()?;
    let unsigned = s.trim_start_matches(['+', '-']);
    let says_infinity =
        unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity");
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or("");
    let nonzero_digit = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let overflowed = x.is_infinite() && !says_infinity;
    let underflowed = x == 0.0 && nonzero_digit;
    (!x.is_nan() && !overflowed && !underflowed).then_some(x)
}

/// The longest text Redis reads as a long double (`MAX_LONG_DOUBLE_CHARS`, less its
/// terminator): `INCRBYFLOAT` and `HINCRBYFLOAT` refuse a longer one, scores do not.
pub(crate) const LONG_FLOAT_TEXT_BYTES_MAX: usize = 5 * 1024 - 1;

/// A float as Redis' `string2ld` reads it (`INCRBYFLOAT`, `HINCRBYFLOAT`: their increment and
/// the value they add to): `parse_float`'s rules, at most `LONG_FLOAT_TEXT_BYTES_MAX` bytes.
/// Redis computes these in `long double`; here in `f64` (see the module docs).
pub(crate) fn parse_long_float(text: &[u8]) -> Option<f64> {
    (text.len() <= LONG_FLOAT_TEXT_BYTES_MAX)
        .then(|| parse_float(text))
        .flatten()
}

/// `parse_long_float`, or Redis' error.
pub(crate) fn long_float(arg: &[u8]) -> Result<f64, Reply> {
    parse_long_float(arg).ok_or_else(not_a_float)
}

/// One end of a score range (`ZRANGEBYSCORE`, `ZCOUNT`): `(x` excludes `x`. Read the way
/// Redis' `zslParseRange` does with `strtod`: leading spaces, overflow (to `inf`) and
/// underflow (to 0) pass, an empty text is 0, NaN is refused. Returns (value, exclusive).
pub(crate) fn parse_bound(text: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, number) = match text.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, text),
    };
    if number.is_empty() {
        return Some((0.0, exclusive));
    }
    let s = std::str::from_utf8(number).ok()?;
    // C's isspace: space, \t, \n, \v, \f, \r.
    let s = s.trim_start_matches([' ', '\t', '\n', '\u{b}', '\u{c}', '\r']);
    let x: f64 = s.parse().ok()?;
    (!x.is_nan()).then_some((x, exclusive))
}

/// The text Redis 7.2 replies for a double (`d2string`; see the module docs), for
/// `Reply::Double` and the scores in `ZSCAN`.
pub(crate) fn reply_text(x: f64) -> Bytes {
    Bytes::from(reply_string(x))
}

fn reply_string(x: f64) -> String {
    /// Redis prints integral doubles up to `LLONG_MAX / 2` as integers.
    const INTEGRAL_ABS_MAX: f64 = 4_611_686_018_427_387_904.0; // 2^62
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    if x.fract() == 0.0 && x.abs() <= INTEGRAL_ABS_MAX {
        // Exact: |x| <= 2^62 fits an i64, and an integral f64 converts without rounding.
        return format!("{}", x as i64);
    }
    let (negative, digits, k) = shortest_digits(x);
    let sign = if negative { "-" } else { "" };
    format!("{sign}{}", fpconv_layout(&digits, k))
}

/// The text `HINCRBYFLOAT` and `INCRBYFLOAT` store: the shortest digits that read back as
/// `x`, never an exponent, `0` for either zero.
pub(crate) fn value_text(x: f64) -> Bytes {
    let x = if x == 0.0 { 0.0 } else { x };
    Bytes::from(format!("{x}"))
}

/// `x` (finite, nonzero) as sign, the shortest round-trip decimal digits, and `k` such that
/// |x| = digits × 10^k.
fn shortest_digits(x: f64) -> (bool, String, i32) {
    // `{:e}` prints the shortest round-trip digits as d.ddde±x.
    let text = format!("{:e}", x.abs());
    let (mantissa, exponent) = text.split_once('e').expect("{:e} always has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} prints a decimal exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = exponent - (digits.len() as i32 - 1);
    (x < 0.0, digits, k)
}

/// Lay out `digits × 10^k` as fpconv_dtoa's `emit_digits` does: a plain integer while the
/// exponent is small, a plain decimal for moderately small numbers, else d.ddde±x.
fn fpconv_layout(digits: &str, k: i32) -> String {
    let n = digits.len() as i32;
    let exponent = k + n - 1;
    if k >= 0 && exponent.abs() < n + 7 {
        return format!("{digits}{}", "0".repeat(k.unsigned_abs() as usize));
    }
    if k < 0 && (k > -7 || exponent.abs() < 4) {
        let point = n + k;
        return if point <= 0 {
            let zeros = "0".repeat(point.unsigned_abs() as usize);
            format!("0.{zeros}{digits}")
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
    }
    let (first, rest) = digits.split_at(1);
    let point = if rest.is_empty() { "" } else { "." };
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{first}{point}{rest}e{sign}{}", exponent.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(x: f64) -> String {
        String::from_utf8(reply_text(x).to_vec()).unwrap()
    }

    #[test]
    fn replies_print_doubles_as_redis_7_2_does() {
        // Expected texts: Redis 7.2's d2string (integers via ll2string, else fpconv_dtoa).
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (10.0, "10"),
            (-3.0, "-3"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (3e-5, "0.00003"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.2345e-7, "1.2345e-7"),
            (123.456, "123.456"),
            (1_500_000_000.0, "1500000000"),
            (4_611_686_018_427_387_904.0, "4611686018427387904"),
            (9_223_372_036_854_775_808.0, "9223372036854776000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (-2.5e-300, "-2.5e-300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, want) in cases {
            assert_eq!(reply(*x), *want, "{x:e}");
        }
    }

    #[test]
    fn every_printed_double_reads_back_as_itself() {
        for x in [
            0.1,
            1.0 / 3.0,
            2.5e-8,
            1e22,
            -7.25,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            assert_eq!(parse_float(&reply_text(x)), Some(x), "{x:e}");
            assert_eq!(parse_float(&value_text(x)), Some(x), "{x:e}");
        }
    }

    #[test]
    fn stored_values_never_use_an_exponent() {
        assert_eq!(value_text(1e20), Bytes::from("100000000000000000000"));
        assert_eq!(value_text(10.5), Bytes::from("10.5"));
        assert_eq!(value_text(-0.0), Bytes::from("0"));
        assert_eq!(value_text(3.0), Bytes::from("3"));
        assert_eq!(value_text(17179869185.5), Bytes::from("17179869185.5"));
        assert_eq!(value_text(1e-7), Bytes::from("0.0000001"));
        for x in [0.1 + 0.2, 1.0 / 41.0, -5e-300, f64::MAX] {
            assert_eq!(parse_float(&value_text(x)), Some(x), "{x} reads back");
        }
    }

    #[test]
    fn floats_parse_strictly_as_redis_does() {
        let ok: &[(&[u8], f64)] = &[
            (b"1.5", 1.5),
            (b"-2e3", -2000.0),
            (b"1.", 1.0),
            (b".5", 0.5),
            (b"+inf", f64::INFINITY),
            (b"-Infinity", f64::NEG_INFINITY),
            (b"1e-310", 1e-310),
            (b"0e-500", 0.0),
        ];
        for (text, want) in ok {
            assert_eq!(parse_float(text), Some(*want), "{text:?}");
        }
        for bad in [
            &b""[..],
            b"nan",
            b"NaN",
            b" 1",
            b"1 ",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"abc",
            b"1e",
            b"0x10",
            b"\xff",
        ] {
            assert_eq!(parse_float(bad), None, "{bad:?}");
        }
        assert_eq!(float(b"x"), Err(not_a_float()));
        assert_eq!(parse_float(b"0e-400"), Some(0.0), "zero is no underflow");
    }

    #[test]
    fn incrbyfloat_reads_at_most_5_kib_and_scores_any_length() {
        let mut seven = vec![b'0'; LONG_FLOAT_TEXT_BYTES_MAX];
        seven.push(b'7');
        assert_eq!(parse_long_float(&seven), None, "one byte too long");
        assert_eq!(parse_long_float(&seven[1..]), Some(7.0));
        assert_eq!(parse_float(&seven), Some(7.0), "a score may be longer");
        assert_eq!(long_float(b"1.5"), Ok(1.5));
    }

    #[test]
    fn range_bounds_read_like_strtod_with_an_optional_parenthesis() {
        assert_eq!(parse_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_bound(b"(+inf"), Some((f64::INFINITY, true)));
        assert_eq!(parse_bound(b""), Some((0.0, false)));
        assert_eq!(parse_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_bound(b"  2"), Some((2.0, false)));
        assert_eq!(parse_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_bound(b"nan"), None);
        assert_eq!(parse_bound(b"  "), None);
        assert_eq!(parse_bound(b"1x"), None);
    }
}
