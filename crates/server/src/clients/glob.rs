//! Redis' glob patterns (`stringmatchlen` in Redis' util.c), for PSUBSCRIBE, PUBSUB CHANNELS,
//! CONFIG GET and COMMAND LIST.
//!
//! ```text
//!   *        any run of bytes, the empty one included     h*llo   hello, hllo, heeeello
//!   ?        exactly one byte                             h?llo   hello, hallo
//!   [ae]     one of the listed bytes                      h[ae]llo  hello, hallo
//!   [^e]     one byte not listed                          h[^e]llo  hallo, not hello
//!   [a-c]    one byte in the range (ends in either order)
//!   \x       the byte x itself (to match *, ?, [ literally)
//! ```
//!
//! Redis' quirks are kept, so a pattern matches here exactly what it matches there: an
//! unterminated `[` runs to the end of the pattern, `[a-]` is the range `a` to `]`, and an empty
//! string is matched only by the empty pattern (not even by `*`).
//!
//! Iterative, not recursive as Redis' is: on a mismatch the match resumes after the last `*`,
//! one byte further into the string. That is enough, because a longer match for an earlier
//! `*` can only start the rest of the pattern later in the string, which the last `*` already
//! tried (the argument behind Redis' `skipLongerMatches`). Work is at most
//! `pattern.len() × string.len()` byte comparisons, and no stack grows with the pattern.

/// True if `string` matches the glob `pattern`; `nocase` compares ASCII letters without case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    if string.is_empty() {
        return pattern.is_empty();
    }
    let (mut p, mut s) = (0, 0);
    // After the last `*`: where the rest of the pattern starts, and where it was last tried.
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if s == string.len() {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            return p == pattern.len();
        }
        if pattern.get(p) == Some(&b'*') {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            resume = Some((p, s));
            continue;
        }
        if let Some(next) = atom(pattern, p, string[s], nocase) {
            p = next;
            s += 1;
            continue;
        }
        match resume {
            Some((rp, rs)) => {
                resume = Some((rp, rs + 1));
                (p, s) = (rp, rs + 1);
            }
            None => return false,
        }
    }
}

/// If the pattern element at `p` matches byte `c`, where the next element starts.
fn atom(pattern: &[u8], p: usize, c: u8, nocase: bool) -> Option<usize> {
    let eq = |a: u8, b: u8| a == b || (nocase && a.eq_ignore_ascii_case(&b));
    match *pattern.get(p)? {
        b'?' => Some(p + 1),
        b'[' => {
            let (matched, next) = class(pattern, p + 1, c, nocase);
            matched.then_some(next)
        }
        b'\\' if p + 1 < pattern.len() => eq(pattern[p + 1], c).then_some(p + 2),
        literal => eq(literal, c).then_some(p + 1),
    }
}

/// A `[...]` class starting at `q` (after the `[`): whether `c` is in it, and where it ends.
fn class(pattern: &[u8], mut q: usize, c: u8, nocase: bool) -> (bool, usize) {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let not = pattern.get(q) == Some(&b'^');
    if not {
        q += 1;
    }
    let mut matched = false;
    // An unterminated class runs to the end of the pattern (as Redis').
    while let Some(&b) = pattern.get(q) {
        if b == b'\\' && q + 1 < pattern.len() {
            matched |= pattern[q + 1] == c;
            q += 2;
        } else if b == b']' {
            q += 1;
            break;
        } else if q + 2 < pattern.len() && pattern[q + 1] == b'-' {
            let (a, z) = (fold(b), fold(pattern[q + 2]));
            let (lo, hi) = (a.min(z), a.max(z));
            matched |= (lo..=hi).contains(&fold(c));
            q += 3;
        } else {
            matched |= fold(b) == fold(c);
            q += 1;
        }
    }
    (matched != not, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn stars_and_question_marks_match_as_in_redis() {
        assert!(m("*", "anything"));
        assert!(m("foo.*", "foo.1") && !m("foo.*", "foo1") && !m("foo.*", "barfoo.1"));
        assert!(m("h?llo", "hello") && !m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo") && m("h*llo", "heeeello"));
        assert!(m("a*b*c", "aXbYbZc") && !m("a*b*c", "aXbYbZ"));
        assert!(m("**x", "yx"));
        assert!(
            !m("*", ""),
            "Redis: only the empty pattern matches the empty string"
        );
        assert!(m("", ""));
    }

    #[test]
    fn classes_ranges_negation_and_escapes_match_as_in_redis() {
        assert!(m("h[ae]llo", "hallo") && !m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo") && !m("h[^e]llo", "hello"));
        assert!(
            m("h[a-b]llo", "hbllo") && m("h[b-a]llo", "hallo"),
            "either order"
        );
        assert!(m("\\*", "*") && !m("\\*", "x"));
        assert!(m("[\\]]", "]"));
        assert!(m("x[ab", "xb"), "an unterminated class runs to the end");
        assert!(m("[a-]", "]"), "[a-] is the range a..]");
    }

    #[test]
    fn nocase_folds_ascii_letters_for_config_and_command_patterns() {
        assert!(glob_match(
            b"*MAX-ZIPLIST*",
            b"hash-max-ziplist-value",
            true
        ));
        assert!(glob_match(b"[A-C]x", b"bx", true));
        assert!(!glob_match(b"GET", b"get", false));
    }

    #[test]
    fn a_pathological_pattern_finishes_without_recursion() {
        let pattern = "a*".repeat(500) + "b";
        let string = "a".repeat(4000);
        assert!(!m(&pattern, &string));
    }
}
