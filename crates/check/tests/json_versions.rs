//! The history file's format versions: files written before versions existed still read, a
//! history using version 2's ops is written as version 2 and reads back equal, and a version
//! this checker does not know is refused with a message that says so.

use check::synthetic::{linearizable_history, linearizable_history_with, Mix, Spec};
use check::{CheckResult, History};

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
