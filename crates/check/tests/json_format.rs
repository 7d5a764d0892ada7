//! The JSON-lines history format: what it accepts, and how it rejects what it does not.

use check::{CheckResult, Command, Completion, History, ModelKind, Outcome};
use proptest::prelude::*;

/// The example from the crate docs, verbatim.
const DOC_EXAMPLE: &str = r#"{"model":"kv"}
{"client":1,"op":"put","key":"k1","value":"x","invoke":0,"return":10}
{"client":3,"op":"put","key":"k1","value":"y","invoke":12,"return":15}
{"client":2,"op":"get","key":"k1","invoke":20,"return":25,"output":"x"}
{"client":4,"op":"cas","key":"k2","expected":null,"value":"a","invoke":1,"return":4,"output":true}
{"client":4,"op":"incr","key":"n","delta":2,"invoke":5,"return":9,"output":2}
{"client":5,"op":"append","key":"k2","value":"b","invoke":6,"return":null}
"#;

fn error_of(text: &str) -> String {
    History::parse_json_lines(text)
        .expect_err("should be rejected")
        .to_string()
}

#[test]
fn the_documented_example_parses_and_shows_its_stale_read() {
    let h = History::parse_json_lines(DOC_EXAMPLE).unwrap();
    assert_eq!(h.model(), ModelKind::Kv);
    assert_eq!(h.ops().len(), 6);
    assert_eq!(h.ops()[3].input, Command::cas("k2", None, "a"));
    assert_eq!(h.ops()[4].output(), Some(&Outcome::Counter(2)));
    assert_eq!(h.ops()[5].completion, Completion::NoReturn);
    assert!(matches!(h.check(), CheckResult::Violation(r) if r.partition == "k1"));
}

#[test]
fn without_a_header_the_model_is_kv_and_blank_lines_and_crlf_are_fine() {
    let text =
        "\r\n{\"client\":1,\"op\":\"delete\",\"key\":\"a\",\"invoke\":0,\"return\":1}\r\n\r\n";
    let h = History::parse_json_lines(text).unwrap();
    assert_eq!(h.model(), ModelKind::Kv);
    assert_eq!(h.ops().len(), 1);
}

#[test]
fn integers_are_read_as_their_decimal_text_where_a_value_is_expected() {
    let text = r#"{"model":"counter"}
{"client":1,"op":"incr","key":"n","invoke":0,"return":1,"output":1}
{"client":1,"op":"get","key":"n","invoke":2,"return":3,"output":1}"#;
    let h = History::parse_json_lines(text).unwrap();
    assert_eq!(
        h.ops()[0].input,
        Command::incr("n", 1),
        "delta defaults to 1"
    );
    assert_eq!(h.ops()[1].output(), Some(&Outcome::value("1")));
    assert_eq!(h.check(), CheckResult::Linearizable);
}

#[test]
fn broken_json_is_reported_with_its_line_and_column() {
    let text = "{\"model\":\"kv\"}\n\n{\"client\":1,\"op\":\"get\" \"key\":\"a\"}\n";
    let e = error_of(text);
    assert!(
        e.starts_with("line 3: not valid JSON at column 24: expected `,` or `}`"),
        "{e}"
    );
    assert!(
        !e.contains("line 1"),
        "serde's own line number is dropped: {e}"
    );
}

#[test]
fn a_missing_return_is_an_error_not_a_silent_timeout() {
    let e = error_of(r#"{"client":1,"op":"put","key":"a","value":"x","invoke":0}"#);
    assert_eq!(
        e,
        "line 1: missing field \"return\" (use null for \"no return\")"
    );
}

#[test]
fn misspelled_or_misplaced_fields_are_rejected() {
    let e = error_of(r#"{"client":1,"op":"get","key":"a","invoke":0,"retrun":1}"#);
    assert_eq!(e, "line 1: unknown field \"retrun\" for op \"get\"");
    let e = error_of(
        r#"{"client":1,"op":"get","key":"a","value":"x","invoke":0,"return":1,"output":null}"#,
    );
    assert_eq!(e, "line 1: unknown field \"value\" for op \"get\"");
}

#[test]
fn each_field_says_what_type_it_wanted() {
    let cases = [
        (
            r#"{"client":-1,"op":"get","key":"a","invoke":0,"return":1,"output":null}"#,
            "\"client\" must be an integer from 0",
        ),
        (
            r#"{"client":1,"op":"get","key":["a"],"invoke":0,"return":1,"output":null}"#,
            "\"key\" must be a string, found an array",
        ),
        (
            r#"{"client":1,"op":"get","key":"a","invoke":"0","return":1,"output":null}"#,
            "\"invoke\" must be an integer, found a string",
        ),
        (
            r#"{"client":1,"op":"cas","key":"a","expected":"x","value":"y","invoke":0,"return":1,"output":"yes"}"#,
            "\"output\" of cas must be true or false",
        ),
        (
            r#"{"client":1,"op":"incr","key":"a","delta":1.5,"invoke":0,"return":1,"output":2}"#,
            "\"delta\" must be a 64-bit signed integer",
        ),
        (
            r#"{"client":1,"op":"put","key":"a","value":"x","invoke":0,"return":1,"output":"ok"}"#,
            "put has no output",
        ),
        (
            r#"{"client":1,"op":"get","key":"a","invoke":0,"return":1}"#,
            "missing field \"output\" (get returned)",
        ),
        (
            r#"{"client":1,"op":"cas","key":"a","value":"y","invoke":0,"return":1,"output":true}"#,
            "missing field \"expected\"",
        ),
        (
            r#"{"client":1,"op":"scan","key":"a","invoke":0,"return":1}"#,
            "unknown op \"scan\"",
        ),
        (
            r#"{"client":1,"key":"a","invoke":0,"return":1}"#,
            "missing field \"op\"",
        ),
        (r#"[1,2]"#, "expected a JSON object {...}, found an array"),
    ];
    for (line, wanted) in cases {
        let e = error_of(line);
        assert!(
            e.starts_with("line 1: ") && e.contains(wanted),
            "{line}\n  gave: {e}\n  wanted: {wanted}"
        );
    }
}

#[test]
fn returning_before_the_invoke_or_answering_with_no_return_is_rejected() {
    let e = error_of(r#"{"client":1,"op":"delete","key":"a","invoke":5,"return":4}"#);
    assert_eq!(e, "line 1: returns at t=4, before its invoke at t=5");
    let e = error_of(r#"{"client":1,"op":"get","key":"a","invoke":5,"return":null,"output":"x"}"#);
    assert_eq!(
        e,
        "line 1: an op with \"return\": null cannot have an output"
    );
}

#[test]
fn the_header_must_come_first_and_name_a_known_model() {
    let late = "{\"client\":1,\"op\":\"get\",\"key\":\"a\",\"invoke\":0,\"return\":null}\n{\"model\":\"kv\"}";
    assert_eq!(
        error_of(late),
        "line 2: the {\"model\": ...} header may only be the first line"
    );
    let e = error_of("{\"model\":\"queue\"}");
    assert_eq!(
        e,
        "line 1: unknown model \"queue\" (expected kv, register or counter)"
    );
    let e = error_of("{\"model\":\"register\"}\n{\"client\":1,\"op\":\"incr\",\"key\":\"n\",\"invoke\":0,\"return\":null}");
    assert_eq!(e, "line 2: the register model has no incr operation");
}

#[test]
fn the_sample_histories_in_testdata_check_as_their_readme_says() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
    let ok = History::parse_json_lines(
        &std::fs::read_to_string(format!("{dir}/linearizable.jsonl")).unwrap(),
    )
    .unwrap();
    assert_eq!(ok.check(), CheckResult::Linearizable);
    let bad = History::parse_json_lines(
        &std::fs::read_to_string(format!("{dir}/violation.jsonl")).unwrap(),
    )
    .unwrap();
    assert!(matches!(bad.check(), CheckResult::Violation(r) if r.partition == "x"));
}

/// Fragments of plausible and implausible lines, glued at random.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{",
        "}",
        "\"client\":",
        "\"op\":",
        "\"get\"",
        "\"cas\"",
        "\"incr\"",
        "\"key\":",
        "\"a\"",
        "\"invoke\":",
        "\"return\":",
        "null",
        "\"output\":",
        "true",
        "-1",
        "1e400",
        "18446744073709551616",
        "3",
        ",",
        "\n",
        "\"model\":",
        "\"kv\"",
        "\"expected\":",
        "\"delta\":",
        "[",
        "]",
        "\u{0}",
        "\"\\u",
    ])
}

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = History::parse_json_lines(&text);
    }

    #[test]
    fn parsing_glued_fragments_of_the_format_never_panics(parts in prop::collection::vec(fragment(), 0..40)) {
        let text: String = parts.concat();
        if let Err(e) = History::parse_json_lines(&text) {
            prop_assert!(e.line.is_some(), "a file error names its line: {}", e);
        }
    }
}
