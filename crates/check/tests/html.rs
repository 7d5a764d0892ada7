//! The HTML page: self-contained, escaped, and drawing what the report says.

use check::{render_html, CheckResult, Command, HistoryBuilder, Outcome, Report};

/// A stale read on a key full of markup, with a write that never returned.
fn hostile_report() -> Report {
    let key = "<script>alert('k')</script>";
    let mut b = HistoryBuilder::new();
    b.returned(1, Command::put(key, "a&b"), 0, 10, Outcome::Done)
        .unwrap();
    b.returned(2, Command::put(key, "\"quoted\""), 12, 15, Outcome::Done)
        .unwrap();
    b.no_return(3, Command::put(key, "later"), 13);
    b.returned(4, Command::get(key), 20, 25, Outcome::value("a&b"))
        .unwrap();
    match b.build().unwrap().check() {
        CheckResult::Violation(report) => report,
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[test]
fn the_page_fetches_nothing_from_the_network() {
    let html = render_html(&hostile_report());
    // The one URL allowed is the SVG namespace name, which browsers never fetch.
    let without_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in ["http://", "https://", "<link", "@import", " src="] {
        assert!(
            !without_namespace.contains(needle),
            "page references {needle}"
        );
    }
}

#[test]
fn user_data_is_escaped_everywhere() {
    let html = render_html(&hostile_report());
    assert!(
        !html.contains("<script>alert"),
        "raw markup from a key reached the page"
    );
    assert!(html.contains("&lt;script&gt;alert(&#39;k&#39;)&lt;/script&gt;"));
    assert!(
        !html.contains("a&b"),
        "a bare ampersand from a value reached the page"
    );
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
}

#[test]
fn there_is_one_lane_per_client_and_the_unreturned_write_is_open_ended() {
    let report = hostile_report();
    let html = render_html(&report);
    for client in 1..=4 {
        assert!(
            html.contains(&format!(">c{client}</text>")),
            "no lane for c{client}"
        );
    }
    assert_eq!(html.matches("class=\"op ").count(), report.ops.len());
    let open_bars = html
        .lines()
        .filter(|l| l.starts_with("<g class=\"op ") && l.contains(" open\""))
        .count();
    assert_eq!(open_bars, 1, "one open-ended bar");
    assert!(html.contains("url(#fade-"), "the open bar fades out");
}

#[test]
fn the_prefix_is_numbered_in_order_and_the_stuck_op_is_marked() {
    let report = hostile_report();
    let html = render_html(&report);
    for k in 1..=report.prefix.len() {
        assert!(
            html.contains(&format!("data-pos=\"{k}\"")),
            "prefix step {k} missing"
        );
    }
    assert_eq!(html.matches("class=\"op stuck").count(), report.stuck.len());
    assert!(html.contains("stuck here"));
    assert!(html.contains("class=\"legend\""));
}
