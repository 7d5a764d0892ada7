//! Golden-trace scripts: a scenario as a text file of commands, each followed by the exact
//! effects it must print, in the house's one-line `Display` (after etcd's raft `testdata/`,
//! which uses cockroachdb's datadriven format).
//!
//! ```text
//!   # What this script shows, in a paragraph: the rule, the paper section.   ◄ comments
//!
//!   campaign 1                                          ◄ a directive: command, args, key=value
//!   ----
//!   n1 persist HardState{term=1 vote=n1}                ◄ what it must print, line for line
//!   n1→n2 RequestVote{term=1 last=(0,0)}
//!                                                       ◄ a blank line ends the block
//!   stabilize
//!   ----
//!   ...
//! ```
//!
//! [`run_file`] feeds every directive to a handler (the protocol's driver) and compares what
//! it returns with the block under `----`; any difference fails with a line diff naming the
//! file, the line and the command. `GOLDEN_REWRITE=1 cargo test ...` writes the actual output
//! back into the file instead, for a reviewer to read in `git diff` before committing.
//!
//! Invariants: a script is parsed completely before anything runs, so a malformed file fails
//! naming its line; an expected block never contains a blank line (a handler that has nothing
//! to print returns an empty string, shown as `ok`).
//!
//! The road not taken: expectations as Rust string literals in test functions. A text file
//! reads like the paper's figure, diffs well in review, and is regenerated in one command.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// The environment variable that turns comparing into rewriting.
pub const REWRITE_ENV: &str = "GOLDEN_REWRITE";

/// What an empty output is shown as, so every block has at least one line.
const EMPTY_OUTPUT: &str = "ok";

/// Most lines in one script: a file past it is refused, not parsed.
const SCRIPT_LINES_MAX: usize = 100_000;

/// One command of a script: `name pos1 pos2 key=value ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The command's name (the first word).
    pub name: String,
    /// Words without `=`, in order.
    pub positional: Vec<String>,
    /// `key=value` words, in order.
    pub named: Vec<(String, String)>,
    /// 1-based line of the command in its file, for error messages.
    pub line: usize,
}

impl Directive {
    /// Parse one command line; `None` for a blank line.
    pub fn parse(text: &str, line: usize) -> Option<Directive> {
        let mut words = text.split_whitespace();
        let name = words.next()?.to_string();
        let (mut positional, mut named) = (Vec::new(), Vec::new());
        for w in words {
            match w.split_once('=') {
                Some((k, v)) => named.push((k.to_string(), v.to_string())),
                None => positional.push(w.to_string()),
            }
        }
        Some(Directive {
            name,
            positional,
            named,
            line,
        })
    }

    /// The value of `key=...`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.named
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `key=N` as a number, or `default` when absent; an error names the key and the text.
    pub fn get_u64(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| format!("{}: {key}={v} is not a number: {e}", self.name)),
        }
    }

    /// The `k`-th positional word as a number.
    pub fn pos_u64(&self, k: usize) -> Result<u64, String> {
        let w = self
            .positional
            .get(k)
            .ok_or_else(|| format!("{}: argument {} is missing", self.name, k + 1))?;
        w.parse()
            .map_err(|e| format!("{}: argument `{w}` is not a number: {e}", self.name))
    }

    /// Every positional word as a number.
    pub fn all_u64(&self) -> Result<Vec<u64>, String> {
        (0..self.positional.len())
            .map(|k| self.pos_u64(k))
            .collect()
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.positional {
            write!(f, " {p}")?;
        }
        for (k, v) in &self.named {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// One piece of a parsed script: text kept as is (comments, blank lines), or a directive
/// with its expected block.
#[derive(Clone, Debug)]
enum Item {
    Text(String),
    Case {
        /// The command line exactly as written.
        text: String,
        directive: Directive,
        expected: Vec<String>,
    },
}

/// Parse a script; an error names the line.
fn parse(source: &str) -> Result<Vec<Item>, String> {
    let lines: Vec<&str> = source.lines().collect();
    if lines.len() > SCRIPT_LINES_MAX {
        return Err(format!(
            "{} lines, over the {SCRIPT_LINES_MAX} a script may have",
            lines.len()
        ));
    }
    let mut items = Vec::new();
    let mut k = 0;
    while k < lines.len() {
        let line = lines[k];
        if line.trim().is_empty() || line.starts_with('#') {
            items.push(Item::Text(line.to_string()));
            k += 1;
            continue;
        }
        let directive = Directive::parse(line, k + 1).expect("a non-blank line has a word");
        if lines.get(k + 1).map(|l| l.trim_end()) != Some("----") {
            return Err(format!(
                "line {}: `{line}` must be followed by a `----` line",
                k + 1
            ));
        }
        let mut expected = Vec::new();
        k += 2;
        while k < lines.len() && !lines[k].trim().is_empty() {
            expected.push(lines[k].to_string());
            k += 1;
        }
        items.push(Item::Case {
            text: line.to_string(),
            directive,
            expected,
        });
    }
    Ok(items)
}

/// The output as block lines: trailing spaces trimmed, empty output shown as `ok`. A blank
/// line inside would end the block early, so it is a driver bug.
fn block_of(output: &str, d: &Directive) -> Result<Vec<String>, String> {
    let lines: Vec<String> = output.lines().map(|l| l.trim_end().to_string()).collect();
    if lines.is_empty() {
        return Ok(vec![EMPTY_OUTPUT.to_string()]);
    }
    if lines.iter().any(|l| l.is_empty()) {
        return Err(format!(
            "line {}: `{d}` printed a blank line, which would end its block",
            d.line
        ));
    }
    Ok(lines)
}

/// Run every directive of the script at `path` through `handler` and compare (or, with
/// `GOLDEN_REWRITE` set, rewrite). `Err` holds a report naming the file: a parse error, a
/// handler error, or a diff for every block that differs.
pub fn run_file(
    path: &Path,
    handler: impl FnMut(&Directive) -> Result<String, String>,
) -> Result<(), String> {
    let source =
        fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let rewrite = std::env::var_os(REWRITE_ENV).is_some();
    let (report, rewritten) =
        run_source(&source, handler, rewrite).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(text) = rewritten {
        fs::write(path, text).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        return Ok(());
    }
    match report {
        None => Ok(()),
        Some(diffs) => Err(format!("{}:\n{diffs}", path.display())),
    }
}

/// `run_file` on text: returns the diff report (None when every block matched) and, when
/// rewriting, the new text.
pub fn run_source(
    source: &str,
    mut handler: impl FnMut(&Directive) -> Result<String, String>,
    rewrite: bool,
) -> Result<(Option<String>, Option<String>), String> {
    let items = parse(source)?;
    let mut report = String::new();
    let mut out = String::new();
    for item in items {
        match item {
            Item::Text(t) => {
                out.push_str(&t);
                out.push('\n');
            }
            Item::Case {
                text,
                directive,
                expected,
            } => {
                let output = handler(&directive)
                    .map_err(|e| format!("line {}: `{directive}`: {e}", directive.line))?;
                let actual = block_of(&output, &directive)?;
                if actual != expected {
                    report += &format!("line {}: {text}\n", directive.line);
                    report += &diff(&expected, &actual);
                }
                out += &format!("{text}\n----\n");
                for l in &actual {
                    out += &format!("{l}\n");
                }
            }
        }
    }
    let report = (!report.is_empty()).then_some(report);
    Ok((report, rewrite.then_some(out)))
}

/// Every `*.txt` script in `dir`, sorted by name. Panics if there is none: a test that runs
/// no script would pass without checking anything.
pub fn scripts_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: cannot list: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.txt scripts in {}", dir.display());
    files
}

/// A line diff of two blocks: `-` expected only, `+` actual only, ` ` both (longest common
/// subsequence; blocks are small).
pub fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            out += &format!("    {}\n", expected[i]);
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out += &format!("  - {}\n", expected[i]);
            i += 1;
        } else {
            out += &format!("  + {}\n", actual[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy driver: `echo a b` prints its words one per line; `sum 1 2` prints the sum.
    fn toy(d: &Directive) -> Result<String, String> {
        match d.name.as_str() {
            "echo" => Ok(d.positional.join("\n")),
            "sum" => Ok(d.all_u64()?.iter().sum::<u64>().to_string()),
            "quiet" => Ok(String::new()),
            other => Err(format!("unknown command {other}")),
        }
    }

    const SCRIPT: &str =
        "# A toy script.\n\necho a b\n----\na\nb\n\nsum 1 2\n----\n3\n\nquiet\n----\nok\n";

    #[test]
    fn a_script_whose_blocks_match_passes() {
        let (report, rewritten) = run_source(SCRIPT, toy, false).unwrap();
        assert_eq!(report, None);
        assert_eq!(rewritten, None);
    }

    #[test]
    fn changing_one_expected_line_fails_with_a_diff_naming_the_line() {
        let broken = SCRIPT.replace("----\n3\n", "----\n4\n");
        let (report, _) = run_source(&broken, toy, false).unwrap();
        let report = report.expect("the changed line is caught");
        assert_eq!(report, "line 8: sum 1 2\n  - 4\n  + 3\n");
    }

    #[test]
    fn rewriting_restores_the_actual_output_and_keeps_the_comments() {
        let broken = SCRIPT.replace("----\na\nb\n", "----\nz\n");
        let (_, rewritten) = run_source(&broken, toy, true).unwrap();
        assert_eq!(rewritten.as_deref(), Some(SCRIPT));
    }

    #[test]
    fn a_command_without_its_separator_is_refused_naming_the_line() {
        let err = run_source("echo a\nnot a separator\n", toy, false).unwrap_err();
        assert_eq!(err, "line 1: `echo a` must be followed by a `----` line");
    }

    #[test]
    fn a_handler_error_names_the_line_and_the_command() {
        let err = run_source("sum 1 x\n----\n1\n", toy, false).unwrap_err();
        assert!(
            err.starts_with("line 1: `sum 1 x`: sum: argument `x`"),
            "{err}"
        );
    }

    #[test]
    fn directives_split_positional_and_named_words() {
        let d = Directive::parse("partition 1 2,3 seed=7", 4).unwrap();
        assert_eq!(d.positional, ["1", "2,3"]);
        assert_eq!(d.get("seed"), Some("7"));
        assert_eq!(d.get_u64("seed", 0), Ok(7));
        assert_eq!(d.get_u64("missing", 9), Ok(9));
        assert_eq!(d.to_string(), "partition 1 2,3 seed=7");
    }

    #[test]
    fn the_diff_marks_removed_added_and_common_lines() {
        let e: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let a: Vec<String> = ["a", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(diff(&e, &a), "    a\n  - b\n    c\n  + d\n");
    }
}
