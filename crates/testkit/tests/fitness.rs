//! Fitness tests: the architecture's rules, checked on the sources, so a change that breaks one
//! fails CI with the file and the rule instead of slowly eroding the design.
//!
//! ```text
//!   crates/*/Cargo.toml ──► which crate may depend on which (the layering of DESIGN.md)
//!   crates/*/src/**.rs  ──► protocol crates: no clock, tokio, thread RNG or std HashMap
//!                       ──► #![forbid(unsafe_code)] wherever there is no unsafe
//!                       ──► files ≤ 600 lines, production functions ≤ 70 lines
//! ```
//!
//! The layering (DESIGN.md, "Workspace layout"):
//!
//! ```text
//!   protocol crates (core, raft, kv, replica, …) ── depend on core and each other only
//!   sim ──────────────── core only: a new protocol never adds a line to the engine
//!   scenarios ────────── sim + protocols + replica + kv + check; no server, storage, tokio
//!   check ────────────── neither sim, scenarios nor server
//!   storage, testkit ─── core only          server, distributed ─── anything below them
//! ```
//!
//! A crate that is not in [`CRATES`] fails the test until someone says where it stands.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Where each crate stands. Add every new crate here (a protocol crate as `Protocol`).
const CRATES: &[(&str, Layer)] = &[
    ("distributed-core", Layer::Protocol),
    ("raft", Layer::Protocol),
    ("paxos", Layer::Protocol),
    ("pbft", Layer::Protocol),
    ("clocks", Layer::Protocol),
    ("replication", Layer::Protocol),
    ("kv", Layer::Protocol),
    ("replica", Layer::Protocol),
    ("sim", Layer::Engine),
    ("scenarios", Layer::Adapters),
    ("check", Layer::Checker),
    ("storage", Layer::Storage),
    ("testkit", Layer::TestKit),
    ("server", Layer::Runtime),
    ("distributed", Layer::Binary),
];

/// The layers of the design, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    Protocol,
    Engine,
    Adapters,
    Checker,
    Storage,
    TestKit,
    Runtime,
    Binary,
}

/// External crates that do I/O or read the clock: never below the runtime.
const IO_CRATES: &[&str] = &["tokio", "hyper", "hyper-util", "mio", "async-std", "libc"];

/// Most lines in one source file (the house's "small rooms").
const FILE_LINES_MAX: usize = 600;
/// Most lines in one production function.
const FUNCTION_LINES_MAX: usize = 70;

fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    fs::canonicalize(&root).unwrap_or(root)
}

/// One crate's manifest, as far as these rules read it.
struct Manifest {
    name: String,
    dir: PathBuf,
    /// `[dependencies]` and `[build-dependencies]` names.
    deps: BTreeSet<String>,
    /// `[dev-dependencies]` names.
    dev_deps: BTreeSet<String>,
}

fn manifests() -> Vec<Manifest> {
    let crates = workspace_root().join("crates");
    let mut out = Vec::new();
    for entry in fs::read_dir(&crates)
        .expect("crates/ is readable")
        .flatten()
    {
        let path = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let doc: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let names = |key: &str| -> BTreeSet<String> {
            doc.get(key)
                .and_then(|t| t.as_table())
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default()
        };
        let mut deps = names("dependencies");
        deps.extend(names("build-dependencies"));
        out.push(Manifest {
            name: doc["package"]["name"]
                .as_str()
                .expect("package.name")
                .to_string(),
            dir: entry.path(),
            deps,
            dev_deps: names("dev-dependencies"),
        });
    }
    assert!(out.len() >= CRATES.len(), "found the workspace's crates");
    out
}

fn layer_of(name: &str) -> Option<Layer> {
    CRATES.iter().find(|(n, _)| *n == name).map(|&(_, l)| l)
}

/// Why `from` (in `layer`) may not depend on `to`, or None if it may.
fn forbidden(layer: Layer, to: &str, dev: bool) -> Option<&'static str> {
    let to_layer = layer_of(to);
    let io = IO_CRATES.contains(&to);
    match layer {
        Layer::Protocol => match to_layer {
            Some(Layer::Protocol) => None,
            Some(Layer::TestKit) if dev => None,
            Some(_) => Some("a protocol crate depends on core and other protocols only"),
            None if io => Some("protocol code does no I/O; the runtime drives it"),
            None => None,
        },
        Layer::Engine | Layer::TestKit | Layer::Storage if !dev => match to {
            "distributed-core" => None,
            _ if to_layer.is_some() => Some("this crate depends on distributed-core alone"),
            _ if io && layer != Layer::Storage => Some("no I/O here"),
            _ => None,
        },
        Layer::Adapters => match to_layer {
            Some(Layer::Runtime | Layer::Binary | Layer::Storage) => {
                Some("adapters drive the simulator, not the real server or disk")
            }
            None if io => Some("simulated runs do no I/O"),
            _ => None,
        },
        Layer::Checker => match to_layer {
            Some(Layer::Engine | Layer::Adapters | Layer::Runtime | Layer::Binary) => {
                Some("the checker reads histories from anywhere and depends on no producer")
            }
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let mut broken = Vec::new();
    for m in manifests() {
        let Some(layer) = layer_of(&m.name) else {
            broken.push(format!(
                "{}: crate `{}` is not in fitness.rs CRATES: say which layer it is",
                m.dir.display(),
                m.name
            ));
            continue;
        };
        let all = m.deps.iter().map(|d| (d, false));
        for (dep, dev) in all.chain(m.dev_deps.iter().map(|d| (d, true))) {
            if let Some(why) = forbidden(layer, dep, dev) {
                let table = if dev {
                    "dev-dependencies"
                } else {
                    "dependencies"
                };
                broken.push(format!("{} → {dep} ({table}): {why}", m.name));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn kv_and_sim_depend_on_core_alone_among_the_workspace_crates() {
    for m in manifests()
        .iter()
        .filter(|m| m.name == "kv" || m.name == "sim")
    {
        let inside: Vec<&String> = m.deps.iter().filter(|d| layer_of(d).is_some()).collect();
        assert_eq!(
            inside,
            ["distributed-core"],
            "{} depends on {inside:?}",
            m.name
        );
    }
}

#[test]
fn the_layering_rules_refuse_what_the_design_forbids() {
    // The rules themselves, so an edit that loosens them is seen.
    assert!(forbidden(Layer::Protocol, "sim", false).is_some());
    assert!(forbidden(Layer::Protocol, "tokio", false).is_some());
    assert!(forbidden(Layer::Protocol, "storage", false).is_some());
    assert!(forbidden(Layer::Protocol, "testkit", true).is_none());
    assert!(forbidden(Layer::Engine, "raft", false).is_some());
    assert!(forbidden(Layer::Checker, "sim", false).is_some());
    assert!(forbidden(Layer::Checker, "server", false).is_some());
    assert!(forbidden(Layer::Adapters, "server", false).is_some());
    assert!(forbidden(Layer::Runtime, "tokio", false).is_none());
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A line of code without its `//` comment and with string and char literals emptied, so
/// braces and keywords inside them are not counted. Good enough for this workspace's style.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match (in_str, c) {
            (true, '\\') => {
                chars.next();
            }
            (true, '"') => in_str = false,
            (true, _) => {}
            (false, '"') => in_str = true,
            (false, '/') if chars.peek() == Some(&'/') => break,
            (false, '\'') => {
                // A char literal ('{', '\n') or a lifetime ('a): skip a literal only.
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') {
                    chars.nth(2);
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.nth(1);
                }
            }
            (false, _) => out.push(c),
        }
    }
    out
}

#[test]
fn protocol_crates_use_no_clock_no_tokio_no_thread_rng_and_no_hash_map() {
    const FORBIDDEN: &[(&str, &str)] = &[
        ("tokio", "protocol code does no I/O; the runtime drives it"),
        ("std::time::Instant", "time arrives as ticks"),
        ("SystemTime", "time arrives as ticks"),
        ("Instant::now", "time arrives as ticks"),
        ("thread_rng", "randomness comes from the injected SeededRng"),
        (
            "rand::random",
            "randomness comes from the injected SeededRng",
        ),
        (
            "HashMap",
            "iteration order differs between runs: use BTreeMap",
        ),
        (
            "HashSet",
            "iteration order differs between runs: use BTreeSet",
        ),
    ];
    let mut broken = Vec::new();
    let mut files = Vec::new();
    for m in manifests()
        .iter()
        .filter(|m| layer_of(&m.name) == Some(Layer::Protocol))
    {
        rust_files(&m.dir.join("src"), &mut files);
    }
    assert!(files.len() > 20, "found the protocol sources");
    for file in &files {
        let text = fs::read_to_string(file).expect("source is readable");
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            for (needle, why) in FORBIDDEN {
                if code.contains(needle) {
                    broken.push(format!("{}:{}: `{needle}`: {why}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "determinism rule broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_crate_without_unsafe_code_forbids_it() {
    let mut broken = Vec::new();
    for m in manifests() {
        let mut files = Vec::new();
        rust_files(&m.dir.join("src"), &mut files);
        let uses_unsafe = files.iter().any(|f| {
            let text = fs::read_to_string(f).expect("source is readable");
            text.lines()
                .map(code_of)
                .any(|l| l.contains("unsafe {") || l.contains("unsafe fn"))
        });
        let root = ["src/lib.rs", "src/main.rs"]
            .iter()
            .map(|r| m.dir.join(r))
            .find(|p| p.exists())
            .expect("a crate root");
        let forbids = fs::read_to_string(&root)
            .expect("root is readable")
            .contains("#![forbid(unsafe_code)]");
        if !uses_unsafe && !forbids {
            broken.push(format!("{}: add #![forbid(unsafe_code)]", root.display()));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Every source file of every crate: src, tests, benches, examples.
fn all_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for m in manifests() {
        for sub in ["src", "tests", "benches", "examples"] {
            rust_files(&m.dir.join(sub), &mut files);
        }
    }
    files
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = all_sources()
        .iter()
        .filter_map(|f| {
            let n = fs::read_to_string(f).expect("readable").lines().count();
            (n > FILE_LINES_MAX).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by role:\n{}", long.join("\n"));
}

/// Functions longer than the limit in one production file: (line, name, length). Skips
/// `#[cfg(test)]` items. A function is its signature line through its closing brace.
fn long_functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<String> = text.lines().map(code_of).collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < lines.len() {
        let trimmed = lines[k].trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            k = item_end(&lines, k + 1) + 1;
            continue;
        }
        if let Some(name) = fn_name(trimmed) {
            let end = item_end(&lines, k);
            if end - k + 1 > FUNCTION_LINES_MAX {
                out.push((k + 1, name, end - k + 1));
            }
        }
        k += 1;
    }
    out
}

/// The name of the function a line declares, if it declares one.
fn fn_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace().peekable();
    while let Some(w) = words.peek() {
        let modifier = w.starts_with("pub") || ["const", "async", "unsafe", "extern"].contains(w);
        if !modifier {
            break;
        }
        words.next();
    }
    if words.next()? != "fn" {
        return None;
    }
    let name: String = words
        .next()?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    Some(name)
}

/// The last line of the item starting at `start`: where its braces balance again, or the
/// line ending in `;` for an item without a body.
fn item_end(lines: &[String], start: usize) -> usize {
    let mut depth = 0i64;
    let mut opened = false;
    for (k, line) in lines.iter().enumerate().skip(start) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if (opened && depth <= 0) || (!opened && line.trim_end().ends_with(';')) {
            return k;
        }
    }
    lines.len() - 1
}

#[test]
fn no_production_function_is_over_70_lines() {
    let mut long = Vec::new();
    for m in manifests() {
        let mut files = Vec::new();
        rust_files(&m.dir.join("src"), &mut files);
        for f in files
            .iter()
            .filter(|f| !f.to_string_lossy().ends_with("_tests.rs"))
        {
            let text = fs::read_to_string(f).expect("readable");
            for (line, name, n) in long_functions(&text) {
                long.push(format!("{}:{line}: fn {name} is {n} lines", f.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}

#[test]
fn the_function_scanner_sees_bodies_and_skips_tests_and_literals() {
    let body = "    let x = 1;\n".repeat(FUNCTION_LINES_MAX);
    let text = format!(
        "pub(crate) fn long() {{\n{body}}}\nfn short() {{ \"{{\"; '{{'; }}\n#[cfg(test)]\nmod tests {{\n    fn long_test() {{\n{body}    }}\n}}\n"
    );
    let found = long_functions(&text);
    assert_eq!(found, vec![(1, "long".to_string(), FUNCTION_LINES_MAX + 2)]);
}
