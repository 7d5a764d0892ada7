//! The history file format: JSON lines, one operation per line (see the crate docs for an
//! example).
//!
//! ```text
//!   line 1 (optional)  {"model":"kv","version":2}          kv | register | counter; default kv
//!                                                         version 1 | 2; see below
//!   each other line    {"client":3,"op":"put","key":"k1","value":"x","invoke":10,"return":14}
//!   blank lines        skipped
//! ```
//!
//! | field      | type                                   | on                                  |
//! |------------|----------------------------------------|-------------------------------------|
//! | `client`   | integer ≥ 0                            | every op                            |
//! | `op`       | `get` `put` `append` `cas` `delete` `incr` | every op                        |
//! | `key`      | string                                 | every op (the partition)            |
//! | `value`    | string                                 | put, append; cas (the new value)    |
//! | `expected` | string, or null for "key absent"       | cas                                 |
//! | `delta`    | integer (default 1)                    | incr                                |
//! | `invoke`   | integer ≥ 0                            | every op                            |
//! | `return`   | integer ≥ `invoke`, or null = no return | every op (required: a typo must not read as a timeout) |
//! | `output`   | get: string or null (absent); cas: bool; incr: integer; others: omit | ops that returned |
//!
//! Integers are accepted wherever a string value is (`"value":5` reads as `"5"`), since
//! counters are often logged as numbers. An op with `"return":null` must have no output.
//!
//! Versions: 1 is the first format (get put append cas delete incr); 2 adds transactions,
//! deadlines, `exists`, the typed commands and `{"error":"wrongtype"}` (their fields are in
//! `json/command.rs`). A header without `version` reads as any known version, so every file
//! written before versions existed still reads; a header naming version 1 refuses a version 2
//! op; a later version is refused as written by a newer checker. The writer names version 2
//! only when some op needs it, so a plain history is written exactly as it always was.
//!
//! Version 3 adds final-state lines, `{"final":{"replica":1,"key":"k","value":"x"}}`: each
//! replica's value of a key after a quiet period, for eventual convergence (`json/finals.rs`).
//! A header naming version 1 or 2 refuses them; the writer names version 3 only when a history
//! has final values.
//!
//! Invariant: parsing never panics. Every rejection is a [`HistoryError`] naming the line and
//! the field, because these files come from other tools and from people.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::history::{validate, History, HistoryError, KvOperation};
use crate::kv::{Command, ModelKind};
use crate::model::{Completion, Operation};

mod command;
mod finals;
mod write;

use command::{allowed_fields, parse_command, parse_output};
use finals::{final_line, parse_final};
use write::Line;

/// The most operations one history file may hold: bounds memory for untrusted input.
pub const HISTORY_OPS_MAX: usize = 10_000_000;

impl History {
    /// Parse a JSON-lines history (format in the module docs); errors name the line.
    pub fn parse_json_lines(text: &str) -> Result<History, HistoryError> {
        let mut model: Option<ModelKind> = None;
        let mut version: Option<u64> = None;
        let mut ops: Vec<KvOperation> = Vec::new();
        let mut finals = Vec::new();
        // (replica, key) → the line that reported it: a second report is an error naming both.
        let mut final_lines: BTreeMap<(u64, String), usize> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if ops.len() + finals.len() >= HISTORY_OPS_MAX {
                let m = format!("more than {HISTORY_OPS_MAX} operations and final values");
                return Err(HistoryError::at_line(n, m));
            }
            let map = parse_object(line).map_err(|m| HistoryError::at_line(n, m))?;
            if map.contains_key("model") {
                if model.is_some() || !ops.is_empty() {
                    let m = "the {\"model\": ...} header may only be the first line";
                    return Err(HistoryError::at_line(n, m));
                }
                let (kind, v) = parse_header(&map).map_err(|m| HistoryError::at_line(n, m))?;
                (model, version) = (Some(kind), v);
                continue;
            }
            if map.contains_key("final") {
                if let Some(v) = version.filter(|&v| v < 3) {
                    let m = format!(
                        "a final-state line needs format version 3; the header says version {v}"
                    );
                    return Err(HistoryError::at_line(n, m));
                }
                let f = parse_final(&map).map_err(|m| HistoryError::at_line(n, m))?;
                if let Some(first) = final_lines.insert((f.replica, f.key.clone()), n) {
                    let m = format!(
                        "replica {} reports key {:?} again (first on line {first})",
                        f.replica, f.key
                    );
                    return Err(HistoryError::at_line(n, m));
                }
                finals.push(f);
                continue;
            }
            let op = parse_op(&map).map_err(|m| HistoryError::at_line(n, m))?;
            if version == Some(1) && needs_version_2(&op.input) {
                let m = format!(
                    "op {:?} needs format version 2; the header says version 1",
                    op.input.name()
                );
                return Err(HistoryError::at_line(n, m));
            }
            validate(model.unwrap_or_default(), &op).map_err(|m| HistoryError::at_line(n, m))?;
            ops.push(op);
        }
        History::new(model.unwrap_or_default(), ops)?.with_finals(finals)
    }

    /// Write the history in the file format: a header line, then one line per operation.
    /// `History::parse_json_lines` reads it back to an equal history.
    pub fn to_json_lines(&self) -> String {
        let name = self.model().name();
        let mut out = if !self.finals().is_empty() {
            format!("{{\"model\":\"{name}\",\"version\":{FORMAT_VERSION}}}\n")
        } else if self.ops().iter().any(|op| needs_version_2(&op.input)) {
            format!("{{\"model\":\"{name}\",\"version\":2}}\n")
        } else {
            format!("{{\"model\":\"{name}\"}}\n")
        };
        for op in self.ops() {
            let line =
                serde_json::to_string(&Line::from(op)).expect("plain data always serialises");
            out.push_str(&line);
            out.push('\n');
        }
        for f in self.finals() {
            out.push_str(&final_line(f));
            out.push('\n');
        }
        out
    }
}

fn parse_object(line: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected a JSON object {{...}}, found {}",
            kind_of(&other)
        )),
        Err(e) => {
            // serde_json says "at line 1": true of the one line it saw, confusing in a file.
            let mut text = e.to_string();
            if let Some(cut) = text.rfind(" at line ") {
                text.truncate(cut);
            }
            Err(format!("not valid JSON at column {}: {text}", e.column()))
        }
    }
}

/// The newest format version this checker reads and writes.
pub const FORMAT_VERSION: u64 = 3;

/// The header's model and, if it names one, its format version.
fn parse_header(map: &Map<String, Value>) -> Result<(ModelKind, Option<u64>), String> {
    if map.keys().any(|k| k != "model" && k != "version") {
        return Err("the header line holds only \"model\" and \"version\"".to_string());
    }
    let version = match map.get("version") {
        None => None,
        Some(_) => Some(unsigned(map, "version")?),
    };
    if let Some(v) = version.filter(|v| !(1..=FORMAT_VERSION).contains(v)) {
        return Err(format!(
            "format version {v}: this checker reads versions 1 to {FORMAT_VERSION} \
             (a newer checker wrote it?)"
        ));
    }
    match &map["model"] {
        Value::String(name) => Ok((name.parse()?, version)),
        other => Err(format!(
            "\"model\" must be a string, found {}",
            kind_of(other)
        )),
    }
}

/// Whether a file needs format version 2 to hold `command`.
fn needs_version_2(command: &Command) -> bool {
    !matches!(
        command,
        Command::Get { .. }
            | Command::Put { .. }
            | Command::Append { .. }
            | Command::Cas { .. }
            | Command::Delete { .. }
            | Command::Incr { .. }
    )
}

/// Fields every op carries.
const COMMON_FIELDS: [&str; 6] = ["client", "op", "key", "invoke", "return", "output"];

fn parse_op(map: &Map<String, Value>) -> Result<KvOperation, String> {
    let op = match map.get("op") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(format!("\"op\" must be a string, found {}", kind_of(other))),
        None => return Err("missing field \"op\"".to_string()),
    };
    for name in map.keys() {
        if !COMMON_FIELDS.contains(&name.as_str()) && !allowed_fields(op).contains(&name.as_str()) {
            return Err(format!("unknown field {name:?} for op {op:?}"));
        }
    }
    let command = parse_command(op, map)?;
    let client = unsigned(map, "client")?;
    let invoke = unsigned(map, "invoke")?;
    let completion = match map.get("return") {
        None => return Err("missing field \"return\" (use null for \"no return\")".to_string()),
        Some(Value::Null) => match map.get("output") {
            None | Some(Value::Null) => Completion::NoReturn,
            Some(_) => return Err("an op with \"return\": null cannot have an output".to_string()),
        },
        Some(_) => {
            let at = unsigned(map, "return")?;
            Completion::Returned {
                at,
                output: parse_output(&command, map.get("output"), false)?,
            }
        }
    };
    Ok(Operation {
        client,
        input: command,
        invoke,
        completion,
    })
}

/// A required string field; integers are read as their decimal text.
fn text(map: &Map<String, Value>, name: &str) -> Result<String, String> {
    match map.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(other) => Err(format!(
            "{name:?} must be a string, found {}",
            kind_of(other)
        )),
        None => Err(format!("missing field {name:?}")),
    }
}

/// A required non-negative integer field (client ids and times).
fn unsigned(map: &Map<String, Value>, name: &str) -> Result<u64, String> {
    match map.get(name) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            format!(
                "{name:?} must be an integer from 0 to {}, found {n}",
                u64::MAX
            )
        }),
        Some(other) => Err(format!(
            "{name:?} must be an integer, found {}",
            kind_of(other)
        )),
        None => Err(format!("missing field {name:?}")),
    }
}

/// An optional signed integer field; absent and null are both `None`.
fn optional_i64(map: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{name:?} must be a 64-bit signed integer, found {n}")),
        Some(other) => Err(format!(
            "{name:?} must be an integer, found {}",
            kind_of(other)
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
