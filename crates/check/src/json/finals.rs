//! Final-state lines (format version 3): each replica's value of a key after a quiet period.
//!
//! ```text
//!   {"final":{"replica":1,"key":"k","value":"x"}}          a register's value
//!   {"final":{"replica":2,"key":"k","value":null}}         the key is absent
//!   {"final":{"replica":3,"key":"k","value":["x","y"]}}    siblings (a store that keeps them)
//! ```
//!
//! A replica's keys that no line names read as absent, so a recorder dumps each replica's whole
//! store. Only eventual convergence reads these lines (`weak/convergence.rs`); the other
//! checkers ignore them. The road not taken: final values as fields of the header line, which
//! would make one huge line of a large store's dump.

use serde_json::{Map, Value};

use super::{kind_of, text, unsigned};
use crate::history::{FinalValue, SIBLINGS_MAX};

/// The fields of a final value's object.
const FINAL_FIELDS: [&str; 3] = ["replica", "key", "value"];

/// The final value a `{"final":{...}}` line describes; `map` is the whole line.
pub(super) fn parse_final(map: &Map<String, Value>) -> Result<FinalValue, String> {
    if map.len() != 1 {
        return Err("a final-state line holds only \"final\"".to_string());
    }
    let inner = match &map["final"] {
        Value::Object(inner) => inner,
        other => {
            return Err(format!(
                "\"final\" must be an object {{\"replica\":..,\"key\":..,\"value\":..}}, found {}",
                kind_of(other)
            ))
        }
    };
    if let Some(name) = inner.keys().find(|k| !FINAL_FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field {name:?} in \"final\""));
    }
    let replica = unsigned(inner, "replica")?;
    let key = text(inner, "key")?;
    let values = match inner.get("value") {
        None => return Err("missing field \"value\" in \"final\" (null for absent)".to_string()),
        Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => siblings(items)?,
        Some(_) => vec![text(inner, "value")?],
    };
    Ok(FinalValue {
        replica,
        key,
        values,
    })
}

/// A list of sibling values: strings (or integers), at most [`SIBLINGS_MAX`].
fn siblings(items: &[Value]) -> Result<Vec<String>, String> {
    if items.len() > SIBLINGS_MAX {
        return Err(format!(
            "\"value\" lists {} siblings, at most {SIBLINGS_MAX}",
            items.len()
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            other => Err(format!(
                "\"value\"[{i}] must be a string, found {}",
                kind_of(other)
            )),
        })
        .collect()
}

/// A final value as its line, without the newline.
pub(super) fn final_line(f: &FinalValue) -> String {
    let value = match f.values.as_slice() {
        [] => Value::Null,
        [one] => Value::from(one.as_str()),
        many => Value::from(many.to_vec()),
    };
    let line = serde_json::json!({"final": {"replica": f.replica, "key": f.key, "value": value}});
    line.to_string()
}
