//! The CLI entry point end to end: files in, verdict text and exit code out.

use std::path::{Path, PathBuf};

use check::{run_cli, run_cli_with_budget, Budget};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// A path in the temp dir unique to this test process and `name`.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("check-cli-{}-{name}", std::process::id()))
}

fn run(path: &Path, html: Option<&Path>) -> (i32, String) {
    let mut out = Vec::new();
    let code = run_cli(path, html, &mut out);
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn a_linearizable_history_prints_linearizable_and_exits_zero() {
    let (code, out) = run(&testdata("linearizable.jsonl"), None);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().next(), Some("linearizable"));
    assert!(out.contains("16 operations, 3 partitions"), "{out}");
}

#[test]
fn a_violation_prints_the_failing_partition_and_exits_one() {
    let (code, out) = run(&testdata("violation.jsonl"), None);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.lines().next(), Some("violation"));
    assert!(out.contains("partition x has no linearization"), "{out}");
    assert!(out.contains("[!] c2 get(x) -> \"1\" [t=20..t=25]"), "{out}");
    assert!(
        out.contains("c1 put(x, \"3\") [t=18..?] (no return)"),
        "{out}"
    );
    assert!(
        !out.contains("get(y)"),
        "only the failing partition is shown: {out}"
    );
}

#[test]
fn a_violation_with_html_requested_writes_a_self_contained_page() {
    let page = scratch("violation.html");
    let (code, out) = run(&testdata("violation.jsonl"), Some(&page));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("html: wrote"), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::remove_file(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<svg") && html.contains("<script>"));
}

#[test]
fn no_page_is_written_when_there_is_no_violation_and_the_output_says_so() {
    let page = scratch("never.html");
    let (code, out) = run(&testdata("linearizable.jsonl"), Some(&page));
    assert_eq!(code, 0);
    assert!(out.contains("not written (no violation to show)"), "{out}");
    assert!(!page.exists());
}

#[test]
fn malformed_input_prints_the_error_with_its_line_and_exits_two() {
    let path = scratch("malformed.jsonl");
    std::fs::write(&path, "{\"model\":\"kv\"}\n{\"client\":1,\"op\":\"get\"\n").unwrap();
    let (code, out) = run(&path, None);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 2);
    assert!(
        out.starts_with("error: ") && out.contains("malformed.jsonl: line 2: not valid JSON"),
        "{out}"
    );
}

#[test]
fn a_missing_file_or_binary_junk_is_an_error_not_a_crash() {
    let (code, out) = run(Path::new("/nonexistent/history.jsonl"), None);
    assert_eq!(code, 2);
    assert!(
        out.starts_with("error: /nonexistent/history.jsonl: cannot open"),
        "{out}"
    );
    let path = scratch("junk.jsonl");
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let (code, out) = run(&path, None);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 2);
    assert!(out.contains("not UTF-8"), "{out}");
}

#[test]
fn an_unwritable_page_path_is_an_error() {
    let (code, out) = run(
        &testdata("violation.jsonl"),
        Some(Path::new("/nonexistent/dir/page.html")),
    );
    assert_eq!(code, 2);
    assert!(out.contains("cannot write the HTML page"), "{out}");
}

#[test]
fn running_out_of_budget_prints_unknown_with_the_partitions_and_exits_three() {
    let mut out = Vec::new();
    let code = run_cli_with_budget(
        &testdata("linearizable.jsonl"),
        None,
        Budget::steps(2),
        &mut out,
    );
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 3, "{out}");
    assert_eq!(out.lines().next(), Some("unknown"));
    assert!(
        out.contains("out of budget (2 steps per partition, time limit none) in: hits, log, x"),
        "{out}"
    );
}
