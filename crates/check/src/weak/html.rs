//! The weaker models' reports as one self-contained HTML page: a timeline per report, with the
//! evidence highlighted and its so/wr edges drawn as arrows.
//!
//! ```text
//!   c1  [w1 put(x,"1")]──so──►[w2 put(x,"2")]─┐                red    = plays a part (w1, r)
//!   c2                                        └─wr─►[get(x)->"2"]─so─►[r get(x)->"1"]
//!   c3            [ put(x,"0") ]                               amber  = on the path between
//!        ──┼─────┼───────┼──────┼──── time (ranks)             grey   = other ops on the key
//! ```
//!
//! Same lanes, axis, colours and rules as the linearizability page (`html.rs`, whose layout
//! this reuses): one lane per client, bars from invoke to return, open-ended bars for no
//! return, time compressed to ranks. Below the timeline: the steps as a table, the report's
//! extra lines, and the plain-text report. A page may hold several reports (`--model session`
//! shows every guarantee that fails), one section each.
//!
//! Invariants: no network fetches, no script needed, and every string from the history goes
//! through `esc` (keys and values are arbitrary user data).

use std::fmt::Write as _;

use super::verdict::{Edge, WeakReport};
use crate::html::{axis, clip, esc, lanes, Layout, BAR_HEIGHT_PX, CSS, ROW_HEIGHT_PX};
use crate::report::ReportOp;

/// How each op is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A step with a role: part of the pattern.
    Evidence,
    /// A step without a role: on the so/wr path between them.
    Path,
    /// Another op on the key, for context.
    Context,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Evidence => "evidence",
            Kind::Path => "path",
            Kind::Context => "context",
        }
    }
}

/// Render `reports` (at least one) as a complete HTML document.
pub fn render_weak_html(reports: &[&WeakReport]) -> String {
    let title = match reports {
        [one] => format!("{} violated: {}", one.model, one.pattern),
        many => {
            let names: Vec<String> = many.iter().map(|r| r.model.to_string()).collect();
            format!("{} violations: {}", many.len(), names.join(", "))
        }
    };
    let mut page = String::with_capacity(16 * 1024);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{CSS}{WEAK_CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    page.push_str(LEGEND);
    for report in reports {
        section(&mut page, report);
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// One report: heading, headline, timeline, steps table, lines, text.
fn section(page: &mut String, report: &WeakReport) {
    let _ = write!(
        page,
        "<section>\n<h2>{}: {} <span class=\"source\">({})</span></h2>\n\
         <p class=\"summary\">{}</p>\n",
        esc(report.model.name()),
        esc(&report.pattern),
        esc(report.model.source()),
        esc(&report.headline)
    );
    let mut ops: Vec<ReportOp> = report.steps.iter().map(|s| s.op.clone()).collect();
    let mut kinds: Vec<Kind> = report
        .steps
        .iter()
        // On a cycle every op is part of the pattern; on a chain, the ops with a role are.
        .map(|s| {
            if s.role.is_empty() && !report.closes_cycle {
                Kind::Path
            } else {
                Kind::Evidence
            }
        })
        .collect();
    ops.extend(report.context.iter().cloned());
    kinds.extend(report.context.iter().map(|_| Kind::Context));
    if !ops.is_empty() {
        let layout = Layout::new(&ops);
        page.push_str("<div class=\"scroll\">\n");
        page.push_str(&timeline(report, &ops, &kinds, &layout));
        page.push_str("</div>\n");
    }
    page.push_str(&steps_table(report));
    if !report.lines.is_empty() {
        page.push_str("<ul class=\"lines\">\n");
        for line in &report.lines {
            let _ = writeln!(page, "<li><code>{}</code></li>", esc(line.trim_start()));
        }
        page.push_str("</ul>\n");
    }
    let _ = write!(
        page,
        "<h3>Report</h3>\n<pre>{}</pre>\n</section>\n",
        esc(&report.to_string())
    );
}

fn timeline(report: &WeakReport, ops: &[ReportOp], kinds: &[Kind], layout: &Layout) -> String {
    let (w, h) = (layout.width(), layout.height());
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n"
    );
    svg.push_str(ARROW_HEADS);
    lanes(&mut svg, layout);
    axis(&mut svg, layout);
    for (i, op) in ops.iter().enumerate() {
        let role = report.steps.get(i).map_or("", |s| s.role.as_str());
        bar(&mut svg, layout, i, op, kinds[i], role);
    }
    let n = report.steps.len();
    for (k, step) in report.steps.iter().enumerate() {
        let Some(edge) = step.then else { continue };
        let to = if k + 1 < n {
            k + 1
        } else if report.closes_cycle {
            0
        } else {
            continue;
        };
        arrow(&mut svg, layout, ops, k, to, edge);
    }
    svg.push_str("</svg>\n");
    svg
}

/// Where op `i`'s bar starts and ends, and its top.
fn bar_box(layout: &Layout, i: usize, op: &ReportOp) -> (f64, f64, f64) {
    let x1 = layout.x(op.invoke);
    let x2 = op
        .ret
        .map_or(layout.x_open_end(), |t| layout.x(t))
        .max(x1 + 4.0);
    let y = layout.row_y(layout.row_of[i]) + (ROW_HEIGHT_PX - BAR_HEIGHT_PX) / 2.0;
    (x1, x2, y)
}

fn bar(svg: &mut String, layout: &Layout, i: usize, op: &ReportOp, kind: Kind, role: &str) {
    let (x1, x2, y) = bar_box(layout, i, op);
    let open = if op.ret.is_none() { " open" } else { "" };
    let _ = writeln!(
        svg,
        "<g class=\"op {}{open}\"><title>{}</title>",
        kind.class(),
        esc(&op.to_string())
    );
    let _ = writeln!(
        svg,
        "<rect x=\"{x1:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR_HEIGHT_PX}\" rx=\"4\" fill=\"currentColor\"/>",
        x2 - x1
    );
    let mark = if role.is_empty() {
        String::new()
    } else {
        format!("{role}: ")
    };
    let chars_max = (((x2 - x1) - 8.0) / 7.0).max(0.0) as usize;
    let label = clip(&format!("{mark}{}", op.text), chars_max);
    if !label.is_empty() {
        let (tx, ty) = (x1 + 4.0, y + BAR_HEIGHT_PX / 2.0 + 4.0);
        let _ = writeln!(
            svg,
            "<text class=\"op-label\" x=\"{tx:.1}\" y=\"{ty:.1}\">{}</text>",
            esc(&label)
        );
    }
    svg.push_str("</g>\n");
}

/// A curved arrow from the end of bar `from` to the start of bar `to`, labelled with its
/// edge; one that runs backwards in time (closing a cycle) loops below the bars instead.
fn arrow(svg: &mut String, layout: &Layout, ops: &[ReportOp], from: usize, to: usize, edge: Edge) {
    let (ax1, ax2, ay) = bar_box(layout, from, &ops[from]);
    let (bx1, bx2, by) = bar_box(layout, to, &ops[to]);
    let ax2 = ax2.min(layout.x_open_end());
    let (path, (mx, my)) = if bx1 >= ax2 - 2.0 {
        let (sx, sy) = (ax2 - 2.0, ay + BAR_HEIGHT_PX / 2.0);
        let (ex, ey) = (bx1 + 2.0, by + BAR_HEIGHT_PX / 2.0);
        let lift = if (ey - sy).abs() < 1.0 {
            -BAR_HEIGHT_PX
        } else {
            0.0
        };
        let path = format!(
            "M{sx:.1},{sy:.1} C{:.1},{:.1} {:.1},{:.1} {ex:.1},{ey:.1}",
            sx + 30.0,
            sy + lift,
            ex - 30.0,
            ey + lift
        );
        (path, ((sx + ex) / 2.0, (sy + ey) / 2.0 + lift * 0.75 - 3.0))
    } else {
        // From under the source bar's middle to under the target's, through a loop below.
        let (sx, sy) = ((ax1 + ax2) / 2.0, ay + BAR_HEIGHT_PX);
        let (ex, ey) = ((bx1 + bx2) / 2.0, by + BAR_HEIGHT_PX);
        let low = sy.max(ey) + ROW_HEIGHT_PX * 0.9;
        let path = format!("M{sx:.1},{sy:.1} C{sx:.1},{low:.1} {ex:.1},{low:.1} {ex:.1},{ey:.1}");
        (path, ((sx + ex) / 2.0, low - 4.0))
    };
    let _ = writeln!(
        svg,
        "<path class=\"edge {edge}\" d=\"{path}\" marker-end=\"url(#head-{edge})\"/>\
         <text class=\"edge-label {edge}\" x=\"{mx:.1}\" y=\"{my:.1}\" text-anchor=\"middle\">{edge}</text>"
    );
}

fn steps_table(report: &WeakReport) -> String {
    if report.steps.is_empty() {
        return String::new();
    }
    let mut t =
        String::from("<table>\n<tr><th>#</th><th>role</th><th>operation</th><th>then</th></tr>\n");
    for (k, step) in report.steps.iter().enumerate() {
        let then = match step.then {
            Some(Edge::So) => "so: same client, later",
            Some(Edge::Wr) => "wr: the next op read this put's value",
            Some(Edge::Before) => "before: in any sequential order (see below why)",
            None => "",
        };
        let class = if step.role.is_empty() {
            "path"
        } else {
            "evidence"
        };
        let _ = writeln!(
            t,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td><code>{}</code></td><td>{then}</td></tr>",
            k + 1,
            esc(&step.role),
            esc(&step.op.to_string())
        );
    }
    t.push_str("</table>\n");
    t
}

/// Arrow heads for the two edge kinds.
const ARROW_HEADS: &str = "<defs>\
<marker id=\"head-so\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1565c0\"/></marker>\
<marker id=\"head-before\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#2e7d32\"/></marker>\
<marker id=\"head-wr\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#6a1b9a\"/></marker>\
</defs>\n";

const LEGEND: &str = "<div class=\"legend\">\
<span><svg width=\"28\" height=\"14\"><rect width=\"28\" height=\"14\" rx=\"3\" class=\"sw evidence\"/></svg> part of the pattern (its role before the colon)</span>\
<span><svg width=\"28\" height=\"14\"><rect width=\"28\" height=\"14\" rx=\"3\" class=\"sw path\"/></svg> on the causal path between them</span>\
<span><svg width=\"28\" height=\"14\"><rect width=\"28\" height=\"14\" rx=\"3\" class=\"sw unplaced\"/></svg> another op on the key</span>\
<span><svg width=\"28\" height=\"14\"><rect width=\"28\" height=\"14\" rx=\"3\" class=\"sw open\"/></svg> no return (may or may not have happened)</span>\
<span><svg width=\"28\" height=\"14\"><line x1=\"0\" y1=\"7\" x2=\"28\" y2=\"7\" class=\"edge so\"/></svg> so: same client, later</span>\
<span><svg width=\"28\" height=\"14\"><line x1=\"0\" y1=\"7\" x2=\"28\" y2=\"7\" class=\"edge wr\"/></svg> wr: read the value this put wrote</span>\
<span><svg width=\"28\" height=\"14\"><line x1=\"0\" y1=\"7\" x2=\"28\" y2=\"7\" class=\"edge before\"/></svg> before: forced by what a read saw (sequential only)</span>\
</div>\n";

/// What the weaker models' page adds to the linearizability page's style.
const WEAK_CSS: &str = "
.op.evidence{color:#ffcdd2} .op.evidence rect{stroke:#c62828;stroke-width:2.5}
.op.path{color:#ffe0b2} .op.path rect{stroke:#ef6c00;stroke-width:1.5}
.op.context{color:#e4e4e4} .op.context rect{stroke:#9a9a9a}
.sw.evidence{fill:#ffcdd2;stroke:#c62828;stroke-width:2} .sw.path{fill:#ffe0b2;stroke:#ef6c00}
.edge{fill:none;stroke-width:2} .edge.so{stroke:#1565c0} .edge.wr{stroke:#6a1b9a;stroke-dasharray:5 3}
.edge.before{stroke:#2e7d32;stroke-dasharray:2 3}
.edge-label{font-size:11px;font-weight:700} .edge-label.so{fill:#1565c0} .edge-label.wr{fill:#6a1b9a}
.edge-label.before{fill:#2e7d32}
.source{font-weight:400;color:#666;font-size:13px} section{margin-bottom:28px}
tr.evidence{background:#fff0f0} tr.path{background:#fff8ee} ul.lines{font-size:13px}
";
