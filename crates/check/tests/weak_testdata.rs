//! Every sample history in `testdata/` under every model, through the CLI entry point: the
//! table below is the consistency map in miniature (testdata/README.md says what each shows).

use std::path::Path;

use check::{run_cli_model, Budget, ConsistencyModel};

/// Exit codes: H holds (0), V violation (1), E bad input for this model (2).
const H: i32 = 0;
const V: i32 = 1;
const E: i32 = 2;

/// file → linearizable, sequential, causal, session, eventual; then the four session
/// guarantees one by one (read-your-writes, monotonic reads, writes-follow-reads, monotonic
/// writes), as `session` prints them.
#[rustfmt::skip]
const TABLE: &[(&str, [i32; 5], [i32; 4])] = &[
    //  file                         lin seq cc  ses ev     ryw mr  wfr mw
    ("stale_read.jsonl",            [V,  H,  H,  H,  H],   [H,  H,  H,  H]),
    ("non_monotonic_read.jsonl",    [V,  V,  V,  V,  H],   [H,  V,  H,  H]),
    ("lost_read_your_write.jsonl",  [V,  V,  V,  V,  H],   [V,  H,  H,  H]),
    ("monotonic_writes.jsonl",      [V,  V,  V,  V,  H],   [H,  H,  H,  V]),
    ("writes_follow_reads.jsonl",   [V,  V,  V,  V,  H],   [H,  H,  V,  H]),
    ("causal_reversal.jsonl",       [V,  V,  V,  H,  H],   [H,  H,  H,  H]),
    ("cyclic_co.jsonl",             [V,  V,  V,  H,  H],   [H,  H,  H,  H]),
    ("thin_air.jsonl",              [V,  V,  V,  H,  H],   [H,  H,  H,  H]),
    ("divergence.jsonl",            [V,  H,  H,  H,  V],   [H,  H,  H,  H]),
    ("lost_write.jsonl",            [H,  H,  H,  H,  V],   [H,  H,  H,  H]),
    ("causal_not_sequential.jsonl", [V,  V,  H,  H,  H],   [H,  H,  H,  H]),
    // The linearizability samples use cas, append and incr: not register histories.
    ("linearizable.jsonl",          [H,  E,  E,  E,  E],   [E,  E,  E,  E]),
    ("violation.jsonl",             [V,  E,  E,  E,  E],   [E,  E,  E,  E]),
];

fn run(file: &str, model: ConsistencyModel) -> (i32, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(file);
    let mut out = Vec::new();
    let code = run_cli_model(&path, model, None, Budget::default(), &mut out);
    (code, String::from_utf8(out).unwrap())
}

fn word(code: i32) -> &'static str {
    match code {
        H => "holds",
        V => "violation",
        _ => "error",
    }
}

#[test]
fn every_sample_gets_its_expected_verdict_under_every_model() {
    let mut wrong = Vec::new();
    for (file, codes, _) in TABLE {
        for (model, &want) in ConsistencyModel::ALL.iter().zip(codes) {
            let (code, out) = run(file, *model);
            if code != want {
                wrong.push(format!(
                    "{file} --model {model}: exit {code}, want {want}\n{out}"
                ));
                continue;
            }
            let first = out.lines().next().unwrap_or("");
            let expected_first = match (model, want) {
                (ConsistencyModel::Linearizable, H) => "linearizable",
                (_, E) => "error:",
                (_, c) => word(c),
            };
            if !first.starts_with(expected_first) {
                wrong.push(format!("{file} --model {model}: first line {first:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn the_session_model_prints_each_guarantee_with_its_own_verdict() {
    let names = [
        "read-your-writes",
        "monotonic reads",
        "writes-follow-reads",
        "monotonic writes",
    ];
    for (file, _, guarantees) in TABLE.iter().filter(|(_, c, _)| c[3] != E) {
        let (_, out) = run(file, ConsistencyModel::Session);
        for (name, &want) in names.iter().zip(guarantees) {
            let line = format!("{name}: {}", word(want));
            assert!(
                out.lines().any(|l| l == line),
                "{file}: no line {line:?} in\n{out}"
            );
        }
    }
}

#[test]
fn every_sample_file_is_described_in_the_readme() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/README.md"))
            .unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".jsonl") {
            assert!(
                readme.contains(&format!("`{name}`")),
                "README.md says nothing of {name}"
            );
            assert!(
                TABLE.iter().any(|(f, _, _)| *f == name),
                "{name} is not in the table"
            );
        }
    }
}

#[test]
fn a_causal_violation_names_the_pattern_and_shows_its_chain() {
    let (code, out) = run("causal_reversal.jsonl", ConsistencyModel::Causal);
    assert_eq!(code, V, "{out}");
    assert!(
        out.contains("causal consistency violated: WriteCORead"),
        "{out}"
    );
    // The chain: w1 ─so─ put(y) ─wr─ get(y) ─so─ w2 ─so─ put(z) ─wr─ get(z) ─so─ r.
    for line in [
        "[w1] c1 put(x, \"1\") [t=0..t=5]",
        "[w2] c2 put(x, \"2\") [t=13..t=15]",
        "[r]  c3 get(x) -> \"1\" [t=22..t=24]",
    ] {
        assert!(out.contains(line), "no {line:?} in\n{out}");
    }
    assert_eq!(out.matches("│ so").count(), 4, "{out}");
    assert_eq!(out.matches("│ wr").count(), 2, "{out}");
}

#[test]
fn a_lost_acknowledged_write_is_named_as_such() {
    let (code, out) = run("lost_write.jsonl", ConsistencyModel::Eventual);
    assert_eq!(code, V, "{out}");
    assert!(
        out.contains("acknowledged write lost: c2 put(x, \"2\") returned ok"),
        "{out}"
    );
    assert!(out.contains("[lost] c2 put(x, \"2\")"), "{out}");
    assert!(out.contains("replica 3: x = \"1\""), "{out}");
}

#[test]
fn the_store_buffer_shape_is_causal_but_has_no_sequential_order() {
    let (code, out) = run("causal_not_sequential.jsonl", ConsistencyModel::Sequential);
    assert_eq!(code, V, "{out}");
    assert!(out.contains("no sequential order"), "{out}");
    // The cycle: put(x) ─so─ get(y)->nil ─before─ put(y) ─so─ get(x)->nil ─before─ put(x).
    assert_eq!(out.matches("│ so").count(), 2, "{out}");
    assert_eq!(out.matches("│ before").count(), 2, "{out}");
    assert!(
        out.contains("c2 get(x) -> nil before c1 put(x, \"1\"): c2 get(x) -> nil read nil, so it precedes every put to its key"),
        "{out}"
    );
}

#[test]
fn html_is_written_for_a_weak_violation_and_not_for_a_verdict_that_holds() {
    let page = std::env::temp_dir().join(format!("check-weak-{}.html", std::process::id()));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut out = Vec::new();
    let code = run_cli_model(
        &path.join("monotonic_writes.jsonl"),
        ConsistencyModel::Session,
        Some(&page),
        Budget::default(),
        &mut out,
    );
    assert_eq!(code, V);
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::remove_file(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("monotonic writes"));
    let mut out = Vec::new();
    let code = run_cli_model(
        &path.join("stale_read.jsonl"),
        ConsistencyModel::Causal,
        Some(&page),
        Budget::default(),
        &mut out,
    );
    assert_eq!(code, H);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("not written (no violation to show)"));
    assert!(!page.exists());
}
