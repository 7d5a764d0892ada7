//! The weaker models' HTML page: self-contained, escaped, and drawing the evidence's edges.

use check::{
    check_session, check_weak, render_weak_html, Command, HistoryBuilder, ModelKind, Outcome,
    WeakBudget, WeakModel, WeakReport,
};

/// A WriteCORead whose key and values are markup.
fn hostile_report() -> WeakReport {
    let key = "<script>alert('k')</script>";
    let mut b = HistoryBuilder::with_model(ModelKind::Register);
    b.returned(1, Command::put(key, "a&b"), 0, 5, Outcome::Done)
        .unwrap();
    b.returned(1, Command::put(key, "\"q\""), 6, 9, Outcome::Done)
        .unwrap();
    b.returned(2, Command::get(key), 10, 12, Outcome::value("\"q\""))
        .unwrap();
    b.returned(2, Command::get(key), 13, 15, Outcome::value("a&b"))
        .unwrap();
    let h = b.build().unwrap();
    let v = check_weak(&h, WeakModel::Causal).unwrap();
    v.report().expect("a WriteCORead").clone()
}

#[test]
fn the_page_fetches_nothing_and_runs_no_script() {
    let html = render_weak_html(&[&hostile_report()]);
    let without_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in [
        "http://", "https://", "<link", "@import", " src=", "<script",
    ] {
        assert!(
            !without_namespace.contains(needle),
            "page contains {needle}"
        );
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
}

#[test]
fn user_data_is_escaped_everywhere() {
    let html = render_weak_html(&[&hostile_report()]);
    assert!(
        !html.contains("alert('k')"),
        "raw markup from a key reached the page"
    );
    assert!(html.contains("&lt;script&gt;alert(&#39;k&#39;)&lt;/script&gt;"));
    assert!(
        !html.contains("a&b"),
        "an unescaped ampersand reached the page"
    );
}

#[test]
fn the_timeline_draws_each_edge_of_the_chain_and_marks_the_roles() {
    let report = hostile_report();
    let html = render_weak_html(&[&report]);
    let edges = report.steps.iter().filter(|s| s.then.is_some()).count();
    assert_eq!(html.matches("<path class=\"edge ").count(), edges);
    assert!(html.contains("class=\"edge so\"") && html.contains("class=\"edge wr\""));
    assert_eq!(
        html.matches("<g class=\"op evidence\"").count(),
        3,
        "w1, w2 and r"
    );
    assert!(html.contains("WriteCORead"));
}

#[test]
fn a_session_page_has_one_section_per_failing_guarantee() {
    // c1 writes x twice and reads back the first: read-your-writes and monotonic writes fail.
    let mut b = HistoryBuilder::with_model(ModelKind::Register);
    b.returned(1, Command::put("x", "1"), 0, 1, Outcome::Done)
        .unwrap();
    b.returned(1, Command::put("x", "2"), 2, 3, Outcome::Done)
        .unwrap();
    b.returned(1, Command::get("x"), 4, 5, Outcome::value("1"))
        .unwrap();
    let verdicts = check_session(&b.build().unwrap(), WeakBudget::default()).unwrap();
    let reports: Vec<&WeakReport> = verdicts.iter().filter_map(|(_, v)| v.report()).collect();
    let failed: Vec<WeakModel> = reports.iter().map(|r| r.model).collect();
    assert_eq!(
        failed,
        [WeakModel::ReadYourWrites, WeakModel::MonotonicWrites]
    );
    let html = render_weak_html(&reports);
    assert_eq!(html.matches("<section>").count(), 2);
    assert!(html.contains("<title>2 violations: read-your-writes, monotonic writes</title>"));
}
