//! History files come from other tools and from people: a sample history with one field of
//! one line replaced by an edge value (a number past u64, a negative time, a huge exponent,
//! the wrong type, deep nesting, …) parses to a history that writes and reads back equal, or
//! is refused naming the line. The stable twin of the `history` fuzz target in `fuzz/`.

use check::History;
use proptest::prelude::*;

const SAMPLE: &str = include_str!("../testdata/linearizable.jsonl");

fn edge_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("18446744073709551615".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("9223372036854775807".to_string()),
        Just("1e400".to_string()),
        Just("0.5".to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("\"\"".to_string()),
        Just("[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]".to_string()),
        Just("{\"model\":\"kv\"}".to_string()),
        "\"[a-z\\\\\"\\u{1F600}]{0,8}\"",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_history_with_an_edge_value_in_one_field_round_trips_or_names_the_line(
        line in 1usize..17,
        field in 0usize..8,
        value in edge_value(),
    ) {
        let mut lines: Vec<String> = SAMPLE.lines().map(String::from).collect();
        let n = line % lines.len();
        // Replace the value of the `field`-th `"key":value` pair of line `n`.
        let text = &lines[n];
        let colons: Vec<usize> = text.match_indices("\":").map(|(i, _)| i + 2).collect();
        if let Some(&start) = colons.get(field % colons.len().max(1)) {
            let end = text[start..]
                .find([',', '}'])
                .map_or(text.len(), |k| start + k);
            lines[n] = format!("{}{}{}", &text[..start], value, &text[end..]);
        }
        let edited = lines.join("\n");
        match History::parse_json_lines(&edited) {
            Ok(history) => {
                let again = History::parse_json_lines(&history.to_json_lines());
                prop_assert_eq!(again.as_ref(), Ok(&history));
            }
            Err(e) => {
                let named = e.line.is_some() || e.message.starts_with("operation #");
                prop_assert!(named, "{}", e);
            }
        }
    }
}
