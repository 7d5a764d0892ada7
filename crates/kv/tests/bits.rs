//! Strings as bits (SETBIT GETBIT BITCOUNT BITPOS BITOP) and LCS, one rule per test, as seen
//! through `apply` and `read` (Redis 7 semantics and texts).

mod common;

use common::{err, ints, reply_changing_nothing, value, wrong_type, Log};
use kv::Reply;

/// The reply for the bytes `bytes`.
fn raw(bytes: &[u8]) -> Reply {
    Reply::Bulk(bytes::Bytes::copy_from_slice(bytes))
}

#[test]
fn setbit_answers_the_old_bit_and_pads_a_missing_key_with_zero_bytes() {
    let mut log = Log::new();
    assert_eq!(log.cmd(&["setbit", "k", "1", "1"]), Reply::Int(0));
    assert_eq!(log.cmd(&["get", "k"]), raw(&[0b0100_0000]));
    assert_eq!(log.cmd(&["setbit", "k", "1", "0"]), Reply::Int(1));
    assert_eq!(log.cmd(&["setbit", "k", "17", "1"]), Reply::Int(0));
    assert_eq!(log.cmd(&["get", "k"]), raw(&[0, 0, 0b0100_0000]));
}

#[test]
fn setbit_keeps_the_ttl_of_an_existing_string() {
    let mut log = Log::new();
    log.cmd(&["set", "k", "@", "EX", "100"]);
    log.cmd(&["setbit", "k", "2", "1"]);
    assert_eq!(log.cmd(&["get", "k"]), value("`"));
    assert_eq!(log.cmd(&["ttl", "k"]), Reply::Int(100));
}

#[test]
fn setbit_refuses_bad_offsets_and_bits_with_redis_texts_and_changes_nothing() {
    let offset = err("bit offset is not an integer or out of range");
    let bit = err("bit is not an integer or out of range");
    for (words, want) in [
        (&["setbit", "k", "-1", "1"][..], &offset),
        (&["setbit", "k", "4294967296", "1"], &offset),
        (&["setbit", "k", "x", "1"], &offset),
        (&["setbit", "k", "0", "2"], &bit),
        (&["setbit", "k", "0", "-1"], &bit),
    ] {
        assert_eq!(&reply_changing_nothing(&[], words), want, "{words:?}");
    }
    let list: &[&[&str]] = &[&["rpush", "k", "a"]];
    assert_eq!(
        reply_changing_nothing(list, &["setbit", "k", "0", "1"]),
        wrong_type()
    );
}

#[test]
fn setbit_refuses_to_grow_a_string_past_value_bytes_max() {
    let reply = reply_changing_nothing(&[], &["setbit", "k", "100000000", "1"]);
    assert!(
        matches!(&reply, Reply::Error(e) if e.to_string().contains("value_bytes_max")),
        "{reply:?}"
    );
}

#[test]
fn getbit_reads_bits_most_significant_first_and_zero_past_the_end() {
    let mut log = Log::new();
    log.cmd(&["set", "k", "`"]); // 0110_0000
    let bits: Vec<Reply> = ["0", "1", "2", "3", "8", "10000"]
        .iter()
        .map(|o| log.read(&["getbit", "k", o]))
        .collect();
    assert_eq!(Reply::Array(bits), ints(&[0, 1, 1, 0, 0, 0]));
    assert_eq!(log.read(&["getbit", "missing", "5"]), Reply::Int(0));
}

#[test]
fn bitcount_counts_in_byte_or_bit_ranges_counted_from_either_end() {
    let mut log = Log::new();
    log.cmd(&["set", "k", "foobar"]);
    assert_eq!(log.read(&["bitcount", "k"]), Reply::Int(26));
    assert_eq!(log.read(&["bitcount", "k", "0", "0"]), Reply::Int(4));
    assert_eq!(log.read(&["bitcount", "k", "1", "1"]), Reply::Int(6));
    assert_eq!(
        log.read(&["bitcount", "k", "1", "1", "BYTE"]),
        Reply::Int(6)
    );
    assert_eq!(
        log.read(&["bitcount", "k", "5", "30", "BIT"]),
        Reply::Int(17)
    );
    assert_eq!(log.read(&["bitcount", "k", "-2", "-1"]), Reply::Int(7));
    assert_eq!(log.read(&["bitcount", "k", "-1", "-2"]), Reply::Int(0));
    assert_eq!(log.read(&["bitcount", "missing", "0", "x"]), Reply::Int(0));
}

#[test]
fn bitcount_with_a_bad_range_or_unit_is_an_error() {
    let mut log = Log::new();
    log.cmd(&["set", "k", "foobar"]);
    assert_eq!(log.read(&["bitcount", "k", "0"]), err("syntax error"));
    assert_eq!(
        log.read(&["bitcount", "k", "0", "1", "NIBBLE"]),
        err("syntax error")
    );
    let not_int = err("value is not an integer or out of range");
    assert_eq!(log.read(&["bitcount", "k", "a", "1"]), not_int);
}

#[test]
fn bitpos_finds_the_first_set_or_clear_bit_in_a_range() {
    let mut log = Log::new();
    log.run(kv::Command::set(
        bytes::Bytes::from_static(b"k"),
        bytes::Bytes::from_static(&[0xff, 0xf0, 0x00]),
    ));
    assert_eq!(log.read(&["bitpos", "k", "0"]), Reply::Int(12));
    assert_eq!(log.read(&["bitpos", "k", "1", "2"]), Reply::Int(-1));
    assert_eq!(
        log.read(&["bitpos", "k", "1", "7", "15", "BIT"]),
        Reply::Int(7)
    );
    assert_eq!(log.read(&["bitpos", "k", "0", "1", "1"]), Reply::Int(12));
}

#[test]
fn bitpos_sees_zero_bits_past_the_string_unless_the_range_has_an_end() {
    let mut log = Log::new();
    log.run(kv::Command::set(
        bytes::Bytes::from_static(b"k"),
        bytes::Bytes::from_static(&[0xff, 0xff]),
    ));
    assert_eq!(log.read(&["bitpos", "k", "0"]), Reply::Int(16));
    assert_eq!(log.read(&["bitpos", "k", "0", "0"]), Reply::Int(16));
    assert_eq!(log.read(&["bitpos", "k", "0", "0", "-1"]), Reply::Int(-1));
    assert_eq!(log.read(&["bitpos", "missing", "0"]), Reply::Int(0));
    assert_eq!(log.read(&["bitpos", "missing", "1"]), Reply::Int(-1));
    assert_eq!(
        log.read(&["bitpos", "k", "2"]),
        err("The bit argument must be 1 or 0.")
    );
}

#[test]
fn bitop_combines_sources_padded_with_zeros_and_replaces_the_destination() {
    let mut log = Log::new();
    log.cmd(&["set", "a", "abc"]);
    log.cmd(&["set", "b", "a"]);
    log.cmd(&["rpush", "dest", "x"]);
    assert_eq!(log.cmd(&["bitop", "and", "dest", "a", "b"]), Reply::Int(3));
    assert_eq!(log.cmd(&["get", "dest"]), raw(b"a\0\0"));
    assert_eq!(
        log.cmd(&["bitop", "OR", "dest", "a", "missing"]),
        Reply::Int(3)
    );
    assert_eq!(log.cmd(&["get", "dest"]), value("abc"));
    log.cmd(&["bitop", "xor", "dest", "a", "a"]);
    assert_eq!(log.cmd(&["get", "dest"]), raw(b"\0\0\0"));
    log.cmd(&["bitop", "not", "dest", "b"]);
    assert_eq!(log.cmd(&["get", "dest"]), raw(&[!b'a']));
}

#[test]
fn bitop_of_only_missing_keys_deletes_the_destination() {
    let mut log = Log::new();
    log.cmd(&["set", "dest", "x"]);
    assert_eq!(log.cmd(&["bitop", "or", "dest", "nope"]), Reply::Int(0));
    assert_eq!(log.cmd(&["exists", "dest"]), Reply::Int(0));
}

#[test]
fn bitop_refuses_a_bad_operation_a_multi_key_not_and_other_types() {
    let not = err("BITOP NOT must be called with a single source key.");
    assert_eq!(
        reply_changing_nothing(&[], &["bitop", "not", "d", "a", "b"]),
        not
    );
    assert_eq!(
        reply_changing_nothing(&[], &["bitop", "nand", "d", "a"]),
        err("syntax error")
    );
    let list: &[&[&str]] = &[&["rpush", "l", "a"]];
    assert_eq!(
        reply_changing_nothing(list, &["bitop", "or", "d", "l"]),
        wrong_type()
    );
}

#[test]
fn lcs_answers_the_subsequence_its_length_or_the_matching_ranges() {
    let mut log = Log::new();
    log.cmd(&["mset", "a", "ohmytext", "b", "mynewtext"]);
    assert_eq!(log.read(&["lcs", "a", "b"]), value("mytext"));
    assert_eq!(log.read(&["lcs", "a", "b", "LEN"]), Reply::Int(6));
    let range = |from, to| ints(&[from, to]);
    let matches = Reply::Array(vec![
        Reply::Array(vec![range(4, 7), range(5, 8), Reply::Int(4)]),
        Reply::Array(vec![range(2, 3), range(0, 1), Reply::Int(2)]),
    ]);
    let want = Reply::Map(vec![
        (value("matches"), matches),
        (value("len"), Reply::Int(6)),
    ]);
    assert_eq!(log.read(&["lcs", "a", "b", "IDX", "WITHMATCHLEN"]), want);
    let long_only = log.read(&["lcs", "a", "b", "IDX", "MINMATCHLEN", "3"]);
    let only = Reply::Array(vec![Reply::Array(vec![range(4, 7), range(5, 8)])]);
    let want = Reply::Map(vec![
        (value("matches"), only),
        (value("len"), Reply::Int(6)),
    ]);
    assert_eq!(long_only, want);
}

#[test]
fn lcs_treats_a_missing_key_as_empty_and_refuses_other_types_and_len_with_idx() {
    let mut log = Log::new();
    log.cmd(&["set", "a", "abc"]);
    log.cmd(&["rpush", "l", "x"]);
    assert_eq!(log.read(&["lcs", "a", "missing"]), value(""));
    let not_strings = err("The specified keys must contain string values");
    assert_eq!(log.read(&["lcs", "a", "l"]), not_strings);
    let both = err("If you want both the length and indexes, please just use IDX.");
    assert_eq!(log.read(&["lcs", "a", "a", "LEN", "IDX"]), both);
}

#[test]
fn lcs_refuses_strings_whose_table_would_exceed_its_bound() {
    let mut log = Log::new();
    let long = "x".repeat(4_000);
    log.cmd(&["mset", "a", &long, "b", &long]);
    let reply = log.read(&["lcs", "a", "b", "LEN"]);
    assert!(
        matches!(&reply, Reply::Error(e) if e.to_string().contains("lcs_table_bytes_max")),
        "{reply:?}"
    );
}
