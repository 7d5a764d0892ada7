//! The README's "Clocks and CRDTs" example is the doctest of `src/lib.rs`, line for line: a
//! README code block is not compiled, so this test is what keeps the one a reader copies
//! from the README the one `cargo test` runs.
//!
//! ```text
//!   README.md  "## Clocks and CRDTs" ─► first ```rust block ─┐
//!   src/lib.rs "## Example"          ─► first ``` block,     ├─► equal, line for line
//!                                       `//! ` and hidden `# ` lines removed ─┘
//! ```

use std::fs;
use std::path::Path;

/// The lines of the first fenced block after `heading` in `text`.
fn first_block_after<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("{heading:?} is in the file"));
    let mut lines = text[start..].lines().skip_while(|l| !l.starts_with("```"));
    lines.next();
    lines.take_while(|l| !l.starts_with("```")).collect()
}

#[test]
fn the_readme_example_is_the_lib_doctest() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(dir.join("../../README.md")).expect("README.md is readable");
    let lib = fs::read_to_string(dir.join("src/lib.rs")).expect("src/lib.rs is readable");
    let doc: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let readme_block = first_block_after(&readme, "## Clocks and CRDTs");
    let doc_block: Vec<&str> = first_block_after(&doc, "## Example")
        .into_iter()
        .filter(|l| !l.starts_with("# "))
        .collect();
    assert!(doc_block.len() >= 5, "found the doctest: {doc_block:?}");
    assert_eq!(
        readme_block, doc_block,
        "README.md and src/lib.rs drifted apart"
    );
}
