//! The request codec: round trips, canonical form, bounds, and no panics on hostile bytes.

mod common;

use common::{arb_command, b, cmd, put};
use kv::{Command, Limits, Request, REQUEST_VERSION};
use proptest::prelude::*;

fn arb_any_request() -> impl Strategy<Value = Request> {
    (any::<u64>(), any::<u64>(), any::<u64>(), arb_command()).prop_map(
        |(client_id, seq, time_ms, command)| {
            let mut r = Request::in_session(client_id, seq, command);
            r.time_ms = time_ms;
            r
        },
    )
}

/// Bytes that get past the header often, so the field decoders are exercised too.
fn arb_plausible_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<[u8; 24]>(),
        0u8..3,
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(ids, body, tail)| {
            let mut v = vec![REQUEST_VERSION];
            v.extend_from_slice(&ids);
            v.push(body);
            v.extend(tail);
            v
        })
}

fn tight() -> Limits {
    Limits {
        key_bytes_max: 3,
        value_bytes_max: 5,
        args_per_command_max: 2,
        commands_per_transaction_max: 2,
        request_bytes_max: 64,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encoding_then_decoding_gives_back_the_same_request(request in arb_any_request()) {
        let decoded = Request::decode(&request.encode(), &Limits::default());
        prop_assert_eq!(decoded, Ok(request));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(data in prop::collection::vec(any::<u8>(), 0..128)) {
        let _ = Request::decode(&data, &Limits::default());
        let _ = Request::decode(&data, &tight());
    }

    #[test]
    fn decoding_header_shaped_garbage_never_panics(data in arb_plausible_bytes()) {
        let _ = Request::decode(&data, &Limits::default());
        let _ = Request::decode(&data, &tight());
    }

    #[test]
    fn whatever_decodes_re_encodes_to_the_same_bytes(
        request in arb_any_request(),
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        // The format is canonical: one request, one encoding. Most single-byte changes land in
        // ids, keys or values and still decode; those must re-encode to exactly the input.
        let mut data = request.encode().to_vec();
        let i = position.index(data.len());
        data[i] = byte;
        if let Ok(decoded) = Request::decode(&data, &Limits::default()) {
            prop_assert_eq!(decoded.encode().to_vec(), data);
        }
    }

    #[test]
    fn corrupting_a_valid_encoding_gives_an_error_or_a_request_never_a_panic(
        request in arb_any_request(),
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut data = request.encode().to_vec();
        let i = position.index(data.len());
        data[i] = byte;
        let _ = Request::decode(&data, &Limits::default());
        let _ = Request::decode(&data[..cut.index(data.len())], &tight());
    }
}

#[test]
fn a_request_from_another_format_version_is_refused_and_the_version_is_named() {
    let mut data = Request::once(Command::noop()).encode().to_vec();
    data[0] = 9;
    let err = Request::decode(&data, &Limits::default()).unwrap_err();
    assert_eq!(err.offset, 0);
    assert_eq!(
        err.message,
        "version: 9 is not a supported request version (1, 2)"
    );
}

#[test]
fn an_oversized_request_is_refused_before_any_field_is_read() {
    let data = Request::once(put("k", "a long value")).encode();
    let limits = Limits {
        request_bytes_max: 8,
        ..Limits::default()
    };
    let err = Request::decode(&data, &limits).unwrap_err();
    assert!(err.message.contains("request_bytes_max 8"), "{err}");
}

#[test]
fn a_value_over_value_bytes_max_is_refused_naming_its_argument() {
    let data = Request::once(put("k", "123456")).encode();
    let err = Request::decode(&data, &tight()).unwrap_err();
    assert!(err.message.contains("value_bytes_max 5"), "{err}");
}

#[test]
fn too_many_arguments_and_none_are_both_refused() {
    let three = Request::once(Command::del(vec![b("a"), b("b"), b("c")]));
    let err = Request::decode(&three.encode(), &tight()).unwrap_err();
    assert!(err.message.contains("args_per_command_max"), "{err}");
    let mut none = vec![REQUEST_VERSION];
    none.extend_from_slice(&[0; 24]);
    none.push(0);
    none.extend_from_slice(&1u32.to_le_bytes());
    none.extend_from_slice(&4u32.to_le_bytes());
    none.extend_from_slice(b"mget");
    let err = Request::decode(&none, &Limits::default()).unwrap_err();
    assert!(
        err.message.contains("wrong number of arguments for 'mget'"),
        "{err}"
    );
}

#[test]
fn a_huge_length_prefix_on_a_short_input_is_refused_without_allocating() {
    let mut data = vec![REQUEST_VERSION];
    data.extend_from_slice(&[0; 24]);
    data.push(0); // one command
    data.extend_from_slice(&2u32.to_le_bytes());
    data.extend_from_slice(&3u32.to_le_bytes());
    data.extend_from_slice(b"get");
    data.extend_from_slice(&u32::MAX.to_le_bytes());
    let generous = Limits {
        key_bytes_max: u32::MAX as usize,
        value_bytes_max: u32::MAX as usize,
        ..Limits::default()
    };
    let err = Request::decode(&data, &generous).unwrap_err();
    assert!(err.message.contains("only 0 left"), "{err}");
}

#[test]
fn an_unknown_body_a_name_not_in_lower_case_and_trailing_bytes_are_refused() {
    let mut data = Request::once(Command::noop()).encode().to_vec();
    data[25] = 200;
    let err = Request::decode(&data, &Limits::default()).unwrap_err();
    assert!(err.message.contains("body: tag 200"), "{err}");
    let upper = Request::once(cmd(&["get", "k"])).encode().to_vec();
    let at = upper.windows(3).position(|w| w == b"get").unwrap();
    let mut data = upper.clone();
    data[at..at + 3].copy_from_slice(b"GET");
    let err = Request::decode(&data, &Limits::default()).unwrap_err();
    assert!(err.message.contains("not in lower case"), "{err}");
    let mut data = upper;
    data.push(0);
    let err = Request::decode(&data, &Limits::default()).unwrap_err();
    assert!(err.message.contains("trailing"), "{err}");
}
