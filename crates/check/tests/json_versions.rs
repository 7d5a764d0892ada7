//! The history file's format versions: files written before versions existed still read, a
//! history using version 2's ops is written as version 2 and reads back equal, one with final
//! values as version 3, and a version this checker does not know is refused with a message
//! that says so.

use check::synthetic::{linearizable_history, linearizable_history_with, Mix, Spec};
use check::{CheckResult, Command, FinalValue, History, HistoryBuilder, Outcome};

/// Both sample files in `testdata/` predate format versions.
#[test]
fn the_files_written_before_versions_existed_still_read() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/");
    for (file, want_violation) in [("linearizable.jsonl", false), ("violation.jsonl", true)] {
        let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
        assert!(!text.contains("version"), "{file} is a version 1 file");
        let result = History::parse_json_lines(&text).unwrap().check();
        assert_eq!(
            matches!(result, CheckResult::Violation(_)),
            want_violation,
            "{file}"
        );
    }
}

#[test]
fn a_plain_history_is_written_as_before_and_a_new_one_as_version_2() {
    let plain = linearizable_history(&Spec::default()).to_json_lines();
    assert!(plain.starts_with("{\"model\":\"kv\"}\n"));
    let mix = Mix {
        multi_permille: 200,
        typed: true,
        wrongtype_permille: 20,
        expiry_permille: 100,
    };
    let h = linearizable_history_with(&Spec::default(), &mix);
    let text = h.to_json_lines();
    assert!(
        text.starts_with("{\"model\":\"kv\",\"version\":2}\n"),
        "{}",
        &text[..40]
    );
    assert_eq!(History::parse_json_lines(&text).unwrap(), h);
}

#[test]
fn a_version_1_header_refuses_a_version_2_op_and_a_later_version_is_refused() {
    let multi =
        r#"{"client":1,"op":"multi","ops":[{"op":"get","key":"a"}],"invoke":0,"return":null}"#;
    let v1 = format!("{{\"model\":\"kv\",\"version\":1}}\n{multi}\n");
    let err = History::parse_json_lines(&v1).unwrap_err().to_string();
    assert!(
        err.contains("line 2") && err.contains("needs format version 2"),
        "{err}"
    );
    let v9 = "{\"model\":\"kv\",\"version\":9}\n";
    let err = History::parse_json_lines(v9).unwrap_err().to_string();
    assert!(
        err.contains("format version 9") && err.contains("newer checker"),
        "{err}"
    );
    let unversioned = format!("{{\"model\":\"kv\"}}\n{multi}\n");
    assert!(History::parse_json_lines(&unversioned).is_ok());
}

#[test]
fn final_values_are_written_as_version_3_and_read_back_equal() {
    let mut b = HistoryBuilder::new();
    b.returned(1, Command::put("k", "x"), 0, 5, Outcome::Done)
        .unwrap();
    b.final_value(1, "k", &["x"]);
    b.final_value(2, "k", &[]);
    b.final_value(3, "k", &["y", "x"]);
    let h = b.build().unwrap();
    let text = h.to_json_lines();
    assert!(
        text.starts_with("{\"model\":\"kv\",\"version\":3}\n"),
        "{text}"
    );
    assert!(
        text.contains(r#"{"final":{"key":"k","replica":2,"value":null}}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""value":["x","y"]"#),
        "siblings sorted: {text}"
    );
    let back = History::parse_json_lines(&text).unwrap();
    assert_eq!(back, h);
    assert_eq!(back.finals()[2], FinalValue::new(3, "k", &["x", "y"]));
}

#[test]
fn a_final_line_needs_version_3_and_is_checked_field_by_field() {
    let line = r#"{"final":{"replica":1,"key":"k","value":"x"}}"#;
    let v2 = format!("{{\"model\":\"kv\",\"version\":2}}\n{line}\n");
    let err = History::parse_json_lines(&v2).unwrap_err().to_string();
    assert!(
        err.contains("line 2") && err.contains("needs format version 3"),
        "{err}"
    );
    assert!(
        History::parse_json_lines(&format!("{line}\n")).is_ok(),
        "unversioned reads all"
    );
    for (bad, says) in [
        (
            r#"{"final":{"replica":1,"key":"k"}}"#,
            "missing field \"value\"",
        ),
        (
            r#"{"final":{"replica":1,"key":"k","value":true}}"#,
            "\"value\" must be a string",
        ),
        (
            r#"{"final":{"replica":1,"key":"k","value":["a",{}]}}"#,
            "\"value\"[1] must be a string",
        ),
        (
            r#"{"final":{"replica":1,"key":"k","value":"x","ttl":3}}"#,
            "unknown field \"ttl\"",
        ),
        (
            r#"{"final":{"replica":1,"key":"k","value":"x"},"client":1}"#,
            "holds only \"final\"",
        ),
        (r#"{"final":[1]}"#, "\"final\" must be an object"),
        (
            r#"{"final":{"replica":1,"key":"k","value":["a","a"]}}"#,
            "lists \"a\" twice",
        ),
    ] {
        let err = History::parse_json_lines(bad).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
    let twice = format!("{line}\n\n{line}\n");
    let err = History::parse_json_lines(&twice).unwrap_err().to_string();
    assert!(
        err.contains("line 3") && err.contains("again (first on line 1)"),
        "{err}"
    );
}
