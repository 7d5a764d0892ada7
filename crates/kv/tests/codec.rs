//! The request codec: round trips, canonical form, bounds, and no panics on hostile bytes.

mod common;

use common::{arb_command, b, put};
use kv::{Command, Limits, Request, REQUEST_VERSION};
use proptest::prelude::*;

fn arb_any_request() -> impl Strategy<Value = Request> {
    (any::<u64>(), any::<u64>(), arb_command()).prop_map(|(client_id, seq, command)| Request {
        client_id,
        seq,
        command,
    })
}

/// Bytes that get past the header often, so the field decoders are exercised too.
fn arb_plausible_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<[u8; 16]>(),
        0u8..12,
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(ids, tag, tail)| {
            let mut v = vec![REQUEST_VERSION];
            v.extend_from_slice(&ids);
            v.push(tag);
            v.extend(tail);
            v
        })
}

fn tight() -> Limits {
    Limits {
        key_bytes_max: 3,
        value_bytes_max: 5,
        keys_per_command_max: 2,
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
    let mut data = Request::once(Command::Noop).encode().to_vec();
    data[0] = 9;
    let err = Request::decode(&data, &Limits::default()).unwrap_err();
    assert_eq!(err.offset, 0);
    assert_eq!(err.message, "version: 9 is not the supported 1");
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
fn a_value_over_value_bytes_max_is_refused_at_its_offset() {
    let data = Request::once(put("k", "123456")).encode();
    let err = Request::decode(&data, &tight()).unwrap_err();
    // version(1) client(8) seq(8) tag(1) key(4+1): the value's length prefix starts at 23.
    assert_eq!(err.offset, 23);
    assert!(err.message.contains("value_bytes_max 5"), "{err}");
}

#[test]
fn too_many_keys_and_no_keys_are_both_refused() {
    let three = Request::once(Command::Delete {
        keys: vec![b("a"), b("b"), b("c")],
    });
    let err = Request::decode(&three.encode(), &tight()).unwrap_err();
    assert!(err.message.contains("keys_per_command_max"), "{err}");
    let none = Request::once(Command::MultiGet { keys: vec![] });
    assert!(Request::decode(&none.encode(), &Limits::default()).is_err());
}

#[test]
fn a_huge_length_prefix_on_a_short_input_is_refused_without_allocating() {
    let mut data = vec![REQUEST_VERSION];
    data.extend_from_slice(&[0; 16]);
    data.push(1); // Get
    data.extend_from_slice(&u32::MAX.to_le_bytes());
    let generous = Limits {
        key_bytes_max: u32::MAX as usize,
        ..Limits::default()
    };
    let err = Request::decode(&data, &generous).unwrap_err();
    assert!(err.message.contains("only 0 left"), "{err}");
}

#[test]
fn unknown_command_tags_and_trailing_bytes_are_refused() {
    let mut data = Request::once(Command::Noop).encode().to_vec();
    data[17] = 200;
    let err = Request::decode(&data, &Limits::default()).unwrap_err();
    assert!(err.message.contains("command tag: 200"), "{err}");
    let mut data = Request::once(Command::Noop).encode().to_vec();
    data.push(0);
    let err = Request::decode(&data, &Limits::default()).unwrap_err();
    assert!(err.message.contains("trailing"), "{err}");
}
