//! Redis' glob patterns (`KEYS`, `SCAN … MATCH`), as `stringmatchlen` reads them, matched
//! without recursion.
//!
//! ```text
//!   *        any run of bytes            h*llo   hello heeeello hllo
//!   ?        any one byte                h?llo   hello hallo
//!   [ae]     one of the bytes listed     h[ae]llo  hello hallo, not hillo
//!   [^e]     any byte but those          h[^e]llo  hallo hbllo, not hello
//!   [a-c]    a range (reversed: swapped) [c-a] is [a-c]
//!   \x       x itself                    \*  \?  \[  and inside a class \]
//! ```
//!
//! Redis' edges, kept: an unterminated class runs to the end of the pattern; in a class
//! `a-` followed by any byte is a range (`[a-]` is the range `]`..`a`, unterminated); a lone
//! `\` at the end is a literal backslash; the empty key matches only the empty pattern (KEYS
//! and SCAN treat the pattern `*` alone as "everything", the empty key included, before any
//! matching). Bytes compare unsigned (Redis compares C `char`, signed on x86, so a range
//! across 0x7f/0x80 differs there).
//!
//! The road not taken: Redis' recursive matcher, which caps its nesting at 1000 and can take
//! exponential time on `a*a*a*…b`. Here the pattern is parsed once into tokens and matched
//! with the classic two-pointer walk (only `*` backtracks, to the last star): at most
//! O(tokens × key) steps per key, and a pattern with more non-star tokens than the key has
//! bytes is refused at once.
//!
//! One matcher for every walk: KEYS, SCAN, HSCAN, SSCAN, ZSCAN (`scan.rs` reads their MATCH).

/// One step of a parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// Any run of bytes, empty included (consecutive stars are one).
    Star,
    /// Any one byte.
    Any,
    /// Exactly this byte.
    Byte(u8),
    /// One byte among `items` (or not among them when `negated`).
    Class {
        /// `[^…]`.
        negated: bool,
        /// Single bytes and inclusive ranges, `(low, high)` with low <= high.
        items: Vec<(u8, u8)>,
    },
}

impl Token {
    fn matches(&self, b: u8) -> bool {
        match self {
            Token::Star | Token::Any => true,
            Token::Byte(x) => *x == b,
            Token::Class { negated, items } => {
                items.iter().any(|&(lo, hi)| lo <= b && b <= hi) != *negated
            }
        }
    }
}

/// A parsed glob, reusable across keys.
#[derive(Clone, Debug)]
pub(crate) struct Glob {
    /// The pattern's steps.
    tokens: Vec<Token>,
    /// How many tokens are not stars: a key shorter than this cannot match.
    fixed: usize,
}

impl Glob {
    /// Parse `pattern` (any bytes: every pattern is valid, as in Redis).
    pub(crate) fn new(pattern: &[u8]) -> Glob {
        let mut tokens = Vec::new();
        let mut p = 0;
        while p < pattern.len() {
            let (token, next) = match pattern[p] {
                b'*' => (Token::Star, p + 1),
                b'?' => (Token::Any, p + 1),
                b'[' => class(pattern, p + 1),
                b'\\' if p + 1 < pattern.len() => (Token::Byte(pattern[p + 1]), p + 2),
                b => (Token::Byte(b), p + 1),
            };
            if !(token == Token::Star && tokens.last() == Some(&Token::Star)) {
                tokens.push(token);
            }
            p = next;
        }
        let fixed = tokens.iter().filter(|t| **t != Token::Star).count();
        Glob { tokens, fixed }
    }

    /// True if `key` matches, by Redis' rules (see the module docs).
    pub(crate) fn matches(&self, key: &[u8]) -> bool {
        if key.is_empty() {
            return self.tokens.is_empty();
        }
        if key.len() < self.fixed {
            return false;
        }
        let (mut p, mut s) = (0, 0);
        // The last star seen, and where in the key its run would end next if retried.
        let mut star: Option<(usize, usize)> = None;
        // Each turn advances `s`, or moves `p` past a star, or retries the last star one byte
        // later: at most tokens × (key + 1) turns.
        while s < key.len() {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    star = Some((p, s));
                    p += 1;
                }
                Some(t) if t.matches(key[s]) => {
                    p += 1;
                    s += 1;
                }
                _ => match star {
                    Some((star_p, star_s)) => {
                        star = Some((star_p, star_s + 1));
                        p = star_p + 1;
                        s = star_s + 1;
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p.min(self.tokens.len())..]
            .iter()
            .all(|t| *t == Token::Star)
    }
}

/// The class starting after its `[` at `p`: the token and where the pattern goes on.
fn class(pattern: &[u8], mut p: usize) -> (Token, usize) {
    let negated = pattern.get(p) == Some(&b'^');
    if negated {
        p += 1;
    }
    let mut items = Vec::new();
    while p < pattern.len() {
        let rest = &pattern[p..];
        match rest {
            [b'\\', escaped, ..] => {
                items.push((*escaped, *escaped));
                p += 2;
            }
            [b']', ..] => return (Token::Class { negated, items }, p + 1),
            [a, b'-', b, ..] => {
                items.push(((*a).min(*b), (*a).max(*b)));
                p += 3;
            }
            [b, ..] => {
                items.push((*b, *b));
                p += 1;
            }
            [] => unreachable!("p < len"),
        }
    }
    (Token::Class { negated, items }, p) // unterminated: the class ran to the end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, key: &str) -> bool {
        Glob::new(pattern.as_bytes()).matches(key.as_bytes())
    }

    #[test]
    fn stars_questions_classes_and_escapes_match_as_in_redis() {
        assert!(m("h*llo", "hello") && m("h*llo", "hllo") && m("h*llo", "heeeello"));
        assert!(m("h?llo", "hallo") && !m("h?llo", "hllo"));
        assert!(m("h[ae]llo", "hello") && !m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo") && !m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo") && m("h[b-a]llo", "hallo") && !m("h[a-b]llo", "hcllo"));
        assert!(m("\\*", "*") && !m("\\*", "a"));
        assert!(m("[\\]]", "]") && m("a\\", "a\\"));
        assert!(m("*", "anything") && m("a*", "a") && m("a**", "a") && m("*a*b", "xxaxxb"));
        assert!(!m("a*b", "ab_") && m("*.txt", "x.txt") && !m("*.txt", "x.txtx"));
    }

    #[test]
    fn redis_edges_unterminated_classes_and_the_empty_key() {
        assert!(m("[abc", "b"), "an unterminated class runs to the end");
        assert!(!m("[", "a"), "an empty class matches nothing");
        assert!(m("[a-]", "_") && !m("[a-]", "b"), "a-] is the range ]..a");
        assert!(
            m("", "") && !m("*", "") && !m("?", ""),
            "only the empty pattern"
        );
        assert!(!m("", "a"));
    }

    #[test]
    fn a_pathological_pattern_takes_polynomial_time() {
        // Exponential for a naive recursive matcher; a few thousand steps here.
        let pattern = "a*".repeat(30) + "b";
        let key = "a".repeat(200);
        assert!(!m(&pattern, &key));
        assert!(
            !m(&"a".repeat(300), "aaa"),
            "longer than the key: refused at once"
        );
    }
}
