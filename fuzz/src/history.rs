//! History files given to `distributed check` (`check::History::parse_json_lines`), then the
//! checker and its HTML report on what was parsed.
//!
//! ```text
//!   input = UTF-8 text (anything else is not a history file and is skipped)
//!   parse ──► Err naming the line (or the operation, for whole-history rules)
//!         ──► Ok(h): to_json_lines ──► parse ──► h again
//!                    small h: check (a step budget) and render a violation's report
//! ```

use check::{Budget, CheckResult, Checker, History};

use crate::Seed;

/// Histories the checker is run on: longer ones only exercise the parser.
const CHECKED_OPS_MAX: usize = 24;

/// Run one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let history = match History::parse_json_lines(text) {
        Ok(history) => history,
        Err(e) => {
            let named = e.line.is_some() || e.message.starts_with("operation #");
            assert!(named, "the error names a line or an operation: {e}");
            return;
        }
    };
    let written = history.to_json_lines();
    let again = History::parse_json_lines(&written)
        .unwrap_or_else(|e| panic!("a written history does not parse: {e}\n{written}"));
    assert_eq!(
        again, history,
        "to_json_lines + parse_json_lines round trip"
    );
    if history.ops().len() <= CHECKED_OPS_MAX {
        let checker = Checker::default()
            .with_budget(Budget::steps(20_000))
            .with_threads(1);
        if let CheckResult::Violation(report) = checker.check_history(&history) {
            let _ = check::render_html(&report);
        }
    }
}

/// The checker's own test histories, and one of each model.
pub fn seeds() -> Vec<Vec<u8>> {
    let files = [
        include_str!("../../crates/check/testdata/linearizable.jsonl"),
        include_str!("../../crates/check/testdata/violation.jsonl"),
        concat!(
            "{\"model\":\"counter\"}\n",
            "{\"client\":1,\"op\":\"incr\",\"key\":\"c\",\"delta\":5,\"invoke\":0,\"return\":3,\"output\":5}\n",
            "{\"client\":2,\"op\":\"incr\",\"key\":\"c\",\"invoke\":1,\"return\":null}\n",
            "{\"client\":3,\"op\":\"get\",\"key\":\"c\",\"invoke\":4,\"return\":6,\"output\":\"6\"}\n",
        ),
        concat!(
            "{\"model\":\"register\"}\n",
            "{\"client\":1,\"op\":\"put\",\"key\":\"r\",\"value\":7,\"invoke\":0,\"return\":2}\n",
            "{\"client\":2,\"op\":\"cas\",\"key\":\"r\",\"expected\":null,\"value\":\"x\",\"invoke\":1,\"return\":3,\"output\":false}\n",
            "{\"client\":3,\"op\":\"delete\",\"key\":\"r\",\"invoke\":4,\"return\":5}\n",
        ),
    ];
    files
        .iter()
        .map(|f| Seed::new().raw(f.as_bytes()).take())
        .collect()
}
