//! A violation report as one self-contained HTML page: a timeline of the failing partition.
//!
//! ```text
//!   c1  [#1 put(k1,"x") ●]                                  ● = linearization point (witness)
//!   c2            [!! get(k1) -> "y" ]                      red  = could not be placed next
//!   c3                 [ put(k1,"y") ·························► ?   open end = no return
//!        ──┼────┼──────┼───┼────┼──── time (ranks: only order matters)        ┆ stuck here
//! ```
//!
//! Layout: one lane per client (a client with overlapping operations gets extra rows in its
//! lane), bars from invoke to return, open-ended bars for no return. The longest linearizable
//! prefix is green, numbered in linearization order, with a dot at a witness point for each
//! (the earliest instant consistent with the order) joined by a dashed line; the operations
//! that could not be placed next are red. A slider replays the prefix step by step and shows
//! the model state after each step. Without JavaScript everything is still drawn.
//!
//! The time axis is compressed to ranks (each distinct time gets one slot), as Porcupine does:
//! histories from real runs span nanoseconds to seconds, and only the order is meaningful.
//!
//! Invariants: no network fetches (inline CSS, JS and SVG, system fonts), and every string
//! from the history goes through [`esc`], since keys and values are arbitrary user data.

use std::fmt::Write as _;

use crate::model::Time;
use crate::report::{Report, ReportOp};

/// Left margin for lane labels.
pub(crate) const LEFT_PX: f64 = 70.0;
/// Space above the first lane.
pub(crate) const TOP_PX: f64 = 24.0;
/// Height of one row of a lane.
pub(crate) const ROW_HEIGHT_PX: f64 = 34.0;
/// Height of a bar inside its row.
pub(crate) const BAR_HEIGHT_PX: f64 = 22.0;
/// Space under the lanes for the axis labels.
const AXIS_HEIGHT_PX: f64 = 40.0;
/// How far past the last time an open-ended (no return) bar runs.
const OPEN_TAIL_PX: f64 = 90.0;
/// Target width of the plotted area; the slot width is derived from it within bounds.
const PLOT_WIDTH_PX: f64 = 1100.0;
/// Narrowest and widest slot for one distinct time.
const SLOT_PX_MIN: f64 = 14.0;
const SLOT_PX_MAX: f64 = 90.0;
/// Most time labels drawn on the axis; beyond it, every k-th is labelled.
const AXIS_LABELS_MAX: usize = 40;

/// Where everything goes on the timeline (shared with the weaker models' page).
pub(crate) struct Layout {
    /// Distinct finite times, sorted: a time's index is its slot.
    pub times: Vec<Time>,
    /// Width of one slot.
    slot_px: f64,
    /// Row of each operation (index into the ops laid out).
    pub row_of: Vec<usize>,
    /// (client, first row, row count) per lane, in client order.
    pub lanes: Vec<(u64, usize, usize)>,
    /// Total rows over all lanes.
    pub rows: usize,
}

impl Layout {
    pub fn new(ops: &[ReportOp]) -> Layout {
        let mut times: Vec<Time> = ops
            .iter()
            .flat_map(|o| [Some(o.invoke), o.ret])
            .flatten()
            .collect();
        times.sort_unstable();
        times.dedup();
        let slot_px = (PLOT_WIDTH_PX / times.len().max(1) as f64).clamp(SLOT_PX_MIN, SLOT_PX_MAX);

        let mut clients: Vec<u64> = ops.iter().map(|o| o.client).collect();
        clients.sort_unstable();
        clients.dedup();
        let mut row_of = vec![0; ops.len()];
        let (mut lanes, mut rows) = (Vec::new(), 0);
        for client in clients {
            // Greedy interval packing: first row whose last bar ended before this one starts.
            let mut row_ends: Vec<Option<Time>> = Vec::new();
            for (i, op) in ops.iter().enumerate().filter(|(_, o)| o.client == client) {
                let free = row_ends
                    .iter()
                    .position(|end| matches!(end, Some(e) if *e < op.invoke));
                let r = free.unwrap_or_else(|| {
                    row_ends.push(None);
                    row_ends.len() - 1
                });
                row_ends[r] = op.ret;
                row_of[i] = rows + r;
            }
            lanes.push((client, rows, row_ends.len()));
            rows += row_ends.len();
        }
        Layout {
            times,
            slot_px,
            row_of,
            lanes,
            rows,
        }
    }

    pub fn slot(&self, t: Time) -> usize {
        self.times.partition_point(|&x| x < t)
    }

    pub fn x(&self, t: Time) -> f64 {
        LEFT_PX + self.slot_px * (self.slot(t) as f64 + 0.5)
    }

    pub fn x_open_end(&self) -> f64 {
        LEFT_PX + self.slot_px * self.times.len() as f64 + OPEN_TAIL_PX
    }

    pub fn width(&self) -> f64 {
        self.x_open_end() + 30.0
    }

    pub fn height(&self) -> f64 {
        TOP_PX + ROW_HEIGHT_PX * self.rows as f64 + AXIS_HEIGHT_PX
    }

    pub fn row_y(&self, row: usize) -> f64 {
        TOP_PX + ROW_HEIGHT_PX * row as f64
    }
}

/// Render `report` as a complete HTML document (open it in any browser; it fetches nothing).
pub fn render_html(report: &Report) -> String {
    let layout = Layout::new(&report.ops);
    let mut page = String::with_capacity(16 * 1024);
    let title = format!("Linearizability violation: partition {}", report.partition);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        page,
        "<p class=\"summary\">{} model · {} operations on this key · {} of {} partitions failed \
         (this is the smallest) · stuck after {} of {} operations, in state <code>{}</code></p>",
        esc(&report.model),
        report.ops.len(),
        report.partitions_failed,
        report.partitions_total,
        report.prefix.len(),
        report.ops.len(),
        esc(report.stuck_state())
    );
    page.push_str(LEGEND);
    page.push_str(&controls(report));
    page.push_str("<div class=\"scroll\">\n");
    page.push_str(&timeline_svg(report, &layout));
    page.push_str("</div>\n");
    page.push_str(&prefix_table(report));
    let _ = write!(
        page,
        "<h2>Report</h2>\n<pre>{}</pre>\n",
        esc(&report.to_string())
    );
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    page
}

fn timeline_svg(report: &Report, layout: &Layout) -> String {
    let (w, h) = (layout.width(), layout.height());
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n"
    );
    svg.push_str(FADES);
    lanes(&mut svg, layout);
    axis(&mut svg, layout);
    stuck_line(&mut svg, report, layout);
    for i in 0..report.ops.len() {
        bar(&mut svg, report, layout, i);
    }
    witness_points(&mut svg, report, layout);
    svg.push_str("</svg>\n");
    svg
}

/// One shaded band per client, labelled `c3`.
pub(crate) fn lanes(svg: &mut String, layout: &Layout) {
    let w = layout.width();
    for (k, &(client, first, count)) in layout.lanes.iter().enumerate() {
        let (y, lane_h) = (layout.row_y(first), ROW_HEIGHT_PX * count as f64);
        let class = if k % 2 == 0 { "lane even" } else { "lane odd" };
        let _ = writeln!(svg, "<rect class=\"{class}\" x=\"0\" y=\"{y:.1}\" width=\"{w:.0}\" height=\"{lane_h:.1}\"/>");
        let label_y = y + ROW_HEIGHT_PX / 2.0 + 4.0;
        let _ = writeln!(
            svg,
            "<text class=\"lane-label\" x=\"10\" y=\"{label_y:.1}\">c{client}</text>"
        );
    }
}

pub(crate) fn axis(svg: &mut String, layout: &Layout) {
    let y = layout.row_y(layout.rows) + 4.0;
    let every = layout.times.len().div_ceil(AXIS_LABELS_MAX).max(1);
    for (k, &t) in layout.times.iter().enumerate() {
        let x = layout.x(t);
        let _ = writeln!(
            svg,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{TOP_PX}\" x2=\"{x:.1}\" y2=\"{y:.1}\"/>"
        );
        if k % every == 0 {
            let ty = y + 14.0;
            let _ = writeln!(
                svg,
                "<text class=\"axis\" x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{t}</text>"
            );
        }
    }
    let x = layout.x_open_end() - OPEN_TAIL_PX / 2.0;
    let _ = writeln!(
        svg,
        "<text class=\"axis\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no return →</text>",
        y + 14.0
    );
}

/// The earliest remaining return after the prefix: some candidate had to be placed before it.
fn stuck_line(svg: &mut String, report: &Report, layout: &Layout) {
    let remaining = (0..report.ops.len()).filter(|&i| report.prefix_position(i).is_none());
    let x = match remaining.filter_map(|i| report.ops[i].ret).min() {
        Some(t) => layout.x(t),
        None => layout.x_open_end(),
    };
    let y2 = layout.row_y(layout.rows);
    let _ = writeln!(
        svg,
        "<line class=\"stuck-line\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{y2:.1}\"/>",
        TOP_PX - 14.0
    );
    let _ = writeln!(
        svg,
        "<text class=\"stuck-label\" x=\"{:.1}\" y=\"{:.1}\">stuck here</text>",
        x + 4.0,
        TOP_PX - 6.0
    );
}

fn bar(svg: &mut String, report: &Report, layout: &Layout, i: usize) {
    let op = &report.ops[i];
    let x1 = layout.x(op.invoke);
    let x2 = op
        .ret
        .map_or(layout.x_open_end(), |t| layout.x(t))
        .max(x1 + 4.0);
    let y = layout.row_y(layout.row_of[i]) + (ROW_HEIGHT_PX - BAR_HEIGHT_PX) / 2.0;
    let pos = report.prefix_position(i);
    let (kind, mark) = match pos {
        Some(p) => ("linearized", format!("#{} ", p + 1)),
        None if report.is_stuck(i) => ("stuck", "!! ".to_string()),
        None => ("unplaced", String::new()),
    };
    let open = if op.ret.is_none() { " open" } else { "" };
    let data_pos = pos.map_or(String::new(), |p| format!(" data-pos=\"{}\"", p + 1));
    let _ = writeln!(
        svg,
        "<g class=\"op {kind}{open}\"{data_pos}><title>{}</title>",
        esc(&op.to_string())
    );
    let fill = if op.ret.is_none() {
        format!("url(#fade-{kind})")
    } else {
        "currentColor".to_string()
    };
    let _ = writeln!(
        svg,
        "<rect x=\"{x1:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR_HEIGHT_PX}\" rx=\"4\" fill=\"{fill}\"/>",
        x2 - x1
    );
    if op.ret.is_none() {
        let (ty, tx) = (y + BAR_HEIGHT_PX / 2.0 + 4.0, x2 + 4.0);
        let _ = writeln!(
            svg,
            "<text class=\"open-mark\" x=\"{tx:.1}\" y=\"{ty:.1}\">?</text>"
        );
    }
    // Clip the label to the bar: 7 px per character at this font size, roughly.
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

/// Dots at the earliest instants consistent with the prefix order, joined in that order.
fn witness_points(svg: &mut String, report: &Report, layout: &Layout) {
    let mut points: Vec<(f64, f64)> = Vec::with_capacity(report.prefix.len());
    let mut at: Time = 0;
    let mut same_slot_count = 0.0;
    for (k, &i) in report.prefix.iter().enumerate() {
        let op = &report.ops[i];
        let t = at.max(op.invoke);
        same_slot_count = if k > 0 && layout.slot(t) == layout.slot(at) {
            same_slot_count + 1.0
        } else {
            0.0
        };
        at = t;
        let x = layout.x(t) + 9.0 * same_slot_count + 6.0;
        // On the bar's bottom edge, clear of its label.
        let y = layout.row_y(layout.row_of[i]) + (ROW_HEIGHT_PX + BAR_HEIGHT_PX) / 2.0;
        points.push((x, y));
    }
    // One segment per step (into point k+1), so the replay can hide the ones not yet taken.
    for (k, pair) in points.windows(2).enumerate() {
        let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
        let _ = writeln!(
            svg,
            "<line class=\"order\" data-pos=\"{}\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"/>",
            k + 2
        );
    }
    for (k, (x, y)) in points.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<g class=\"point\" data-pos=\"{}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.5\"/></g>",
            k + 1
        );
    }
}

fn controls(report: &Report) -> String {
    let n = report.prefix.len();
    format!(
        "<div class=\"controls\"><label for=\"step\">replay the linearized prefix: step</label> \
         <input type=\"range\" id=\"step\" min=\"0\" max=\"{n}\" value=\"{n}\"> \
         <span id=\"step-info\">{n} of {n} placed · state <code>{}</code></span></div>\n",
        esc(report.stuck_state())
    )
}

fn prefix_table(report: &Report) -> String {
    let mut t = String::from(
        "<h2>Longest linearizable prefix</h2>\n<table>\n<tr><th>#</th><th>operation</th>\
         <th>state after</th></tr>\n",
    );
    let _ = writeln!(
        t,
        "<tr class=\"prefix-row\" data-row=\"0\" data-state=\"{}\"><td>0</td><td><em>initial state</em></td><td><code>{}</code></td></tr>",
        esc(&report.states[0]),
        esc(&report.states[0])
    );
    for (k, &i) in report.prefix.iter().enumerate() {
        let state = esc(&report.states[k + 1]);
        let _ = writeln!(
            t,
            "<tr class=\"prefix-row\" data-row=\"{}\" data-state=\"{state}\"><td>{}</td><td><code>{}</code></td><td><code>{state}</code></td></tr>",
            k + 1,
            k + 1,
            esc(&report.ops[i].to_string())
        );
    }
    for s in &report.stuck {
        let why = if s.fits {
            "fits, but every way on from there fails"
        } else {
            "rejected in this state"
        };
        let _ = writeln!(
            t,
            "<tr class=\"stuck-row\"><td>!!</td><td><code>{}</code></td><td>{why}</td></tr>",
            esc(&report.ops[s.op].to_string())
        );
    }
    t.push_str("</table>\n");
    t
}

/// At most `chars_max` characters, with an ellipsis if cut.
pub(crate) fn clip(s: &str, chars_max: usize) -> String {
    if s.chars().count() <= chars_max {
        return s.to_string();
    }
    if chars_max < 2 {
        return String::new();
    }
    let mut out: String = s.chars().take(chars_max - 1).collect();
    out.push('…');
    out
}

/// Escape text for HTML element content and double- or single-quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Open-ended bars fade out to the right: the operation may have happened anywhere after invoke.
const FADES: &str = "<defs>\
<linearGradient id=\"fade-linearized\"><stop offset=\"0.5\" stop-color=\"#c8e6c9\"/><stop offset=\"1\" stop-color=\"#c8e6c9\" stop-opacity=\"0.1\"/></linearGradient>\
<linearGradient id=\"fade-stuck\"><stop offset=\"0.5\" stop-color=\"#ffcdd2\"/><stop offset=\"1\" stop-color=\"#ffcdd2\" stop-opacity=\"0.1\"/></linearGradient>\
<linearGradient id=\"fade-unplaced\"><stop offset=\"0.5\" stop-color=\"#d8d8d8\"/><stop offset=\"1\" stop-color=\"#d8d8d8\" stop-opacity=\"0.1\"/></linearGradient>\
</defs>\n";

const LEGEND: &str = "<div class=\"legend\">\
<span><svg width=\"28\" height=\"14\"><rect width=\"28\" height=\"14\" rx=\"3\" class=\"sw linearized\"/></svg> linearized, #n = its place in the order</span>\
<span><svg width=\"28\" height=\"14\"><rect width=\"28\" height=\"14\" rx=\"3\" class=\"sw stuck\"/></svg> !! could come next but cannot be placed</span>\
<span><svg width=\"28\" height=\"14\"><rect width=\"28\" height=\"14\" rx=\"3\" class=\"sw unplaced\"/></svg> not reached</span>\
<span><svg width=\"28\" height=\"14\"><rect width=\"28\" height=\"14\" rx=\"3\" class=\"sw open\"/></svg> ? no return (may or may not have happened)</span>\
<span><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"4.5\" class=\"sw dot\"/></svg> a witness point, joined in order</span>\
<span><svg width=\"14\" height=\"14\"><line x1=\"7\" y1=\"0\" x2=\"7\" y2=\"14\" class=\"sw line\"/></svg> stuck: an op returning here had to be placed by now</span>\
</div>\n";

pub(crate) const CSS: &str = "
body{font-family:system-ui,sans-serif;margin:20px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 6px} h2{font-size:16px;margin:22px 0 6px}
.summary{margin:0 0 10px;color:#444} code,pre{font-family:ui-monospace,monospace}
pre{background:#f6f6f6;padding:10px;border:1px solid #ddd;overflow-x:auto;font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:16px;margin:6px 0 10px;font-size:13px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.controls{margin:6px 0;font-size:13px} .scroll{overflow-x:auto;border:1px solid #ddd}
.lane.even{fill:#fafafa} .lane.odd{fill:#f0f2f5} .lane-label{font-weight:600;fill:#333}
.tick{stroke:#e2e2e2;stroke-width:1} .axis{fill:#666;font-size:10px}
.op{color:#d8d8d8} .op rect{stroke:#8a8a8a;stroke-width:1}
.op.linearized{color:#c8e6c9} .op.linearized rect{stroke:#2e7d32}
.op.stuck{color:#ffcdd2} .op.stuck rect{stroke:#c62828;stroke-width:2.5}
.op.open rect{stroke-dasharray:5 3} .op.later{opacity:.3}
.op-label{fill:#111;pointer-events:none} .open-mark{fill:#555;font-weight:700}
.order{fill:none;stroke:#1b5e20;stroke-width:1.5;stroke-dasharray:4 3} .order.later{opacity:0}
.point circle{fill:#1b5e20;stroke:#fff;stroke-width:1.5} .point.later{opacity:0}
.stuck-line{stroke:#c62828;stroke-width:2;stroke-dasharray:6 4} .stuck-label{fill:#c62828;font-weight:600}
.sw.linearized{fill:#c8e6c9;stroke:#2e7d32} .sw.stuck{fill:#ffcdd2;stroke:#c62828;stroke-width:2}
.sw.unplaced{fill:#d8d8d8;stroke:#8a8a8a} .sw.open{fill:#eee;stroke:#8a8a8a;stroke-dasharray:5 3}
.sw.dot{fill:#1b5e20} .sw.line{stroke:#c62828;stroke-width:2;stroke-dasharray:4 3}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
tr.prefix-row.later{color:#aaa} tr.stuck-row{background:#fff0f0}
";

/// Replay: at step k, prefix ops after k fade, and the state after step k is shown.
/// `page.html#step=3` opens at step 3 (links in bug reports, and the screenshot check).
const SCRIPT: &str = "
(function(){
  var slider=document.getElementById('step'); if(!slider) return;
  var info=document.getElementById('step-info'); var n=+slider.max;
  var rows=document.querySelectorAll('tr.prefix-row');
  function show(k){
    document.querySelectorAll('[data-pos]').forEach(function(e){e.classList.toggle('later',+e.dataset.pos>k);});
    var state='';
    rows.forEach(function(r){var i=+r.dataset.row; r.classList.toggle('later',i>k); if(i===k) state=r.dataset.state;});
    info.textContent=k+' of '+n+' placed \\u00b7 state '+state;
  }
  slider.addEventListener('input',function(){show(+slider.value);});
  var m=/step=(\\d+)/.exec(location.hash); var k=m?Math.min(+m[1],n):n;
  slider.value=k; show(k);
})();
";
