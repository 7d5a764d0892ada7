//! Bytes a node did not write: peer frames, WAL records, snapshot files, RESP, the config file.
//! The fuzz targets in `fuzz/` (nightly) hunt for inputs that break these parsers; this file is
//! the stable guard run by every `cargo test`: the minimized inputs of what fuzzing found, and
//! properties ("never panics, errors name the field") over mutated valid encodings, where the
//! mutations write the edge values (`u64::MAX`, 0, …) that found the overflows.

use bytes::{Bytes, BytesMut};
use distributed_core::{NodeId, Protocol, SeededRng};
use proptest::prelude::*;
use raft::{
    AppendEntries, AppendEntriesResponse, Entry, HardState, InstallSnapshot,
    InstallSnapshotResponse, Message, Raft, Ready, RequestVote, Snapshot, SnapshotMeta, Write,
    INDEX_MAX,
};
use server::clients::resp::{encode, parse_frame, Frame, Limits};
use server::codec::{decode_snapshot_file, encode_snapshot_file};
use server::config_file::{merge, parse, NodeFlags};
use server::disk::replay::Replay;
use server::disk::wal_records::{decode_record, encode_snapshot_marker, encode_write};
use server::peers::frames::{decode_frame, encode_frame, PeerFrame};

fn snapshot_at(index: u64, term: u64) -> Snapshot {
    Snapshot {
        meta: SnapshotMeta {
            index,
            term,
            membership: raft::Membership::new([1, 2, 3].map(NodeId)),
        },
        data: Bytes::from_static(b"state"),
    }
}

fn records(writes: &[Write]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for w in writes {
        encode_write(w, 1 << 20, &mut out);
    }
    out
}

fn replay(base: Option<Snapshot>, records: &[Vec<u8>]) -> Result<raft::Disk, String> {
    Replay::new(base)
        .records(records.iter().map(Vec::as_slice))
        .map(Replay::finish)
        .map_err(|e| e.to_string())
}

fn entry(term: u64, index: u64) -> Entry {
    Entry::normal(term, index, Bytes::from_static(b"x"))
}

// ---- Regressions: the minimized inputs of what fuzzing found -------------------------------

#[test]
fn an_append_whose_entry_index_is_u64_max_is_refused_naming_the_record() {
    // Fuzz finding: Replay::append computed `index + 1` on an entry at u64::MAX.
    let recs = records(&[Write::Append(vec![entry(1, u64::MAX), entry(1, 0)])]);
    let err = replay(None, &recs).unwrap_err();
    assert!(
        err.starts_with("WAL record #0: Append entries jump"),
        "{err}"
    );
}

#[test]
fn appends_at_the_top_of_the_index_range_after_a_base_snapshot_are_refused_not_overflowed() {
    // With a base at u64::MAX - 1, an Append at u64::MAX fit "right after" it, and the next
    // Append computed the log's end + 1 = u64::MAX + 1.
    let recs = records(&[
        Write::Append(vec![entry(1, u64::MAX)]),
        Write::Append(vec![entry(1, u64::MAX)]),
    ]);
    let err = replay(Some(snapshot_at(u64::MAX - 1, 1)), &recs).unwrap_err();
    assert!(err.starts_with("WAL record #0:"), "{err}");
    assert!(err.contains("past the largest index Raft holds"), "{err}");
}

#[test]
fn a_snapshot_record_at_u64_max_is_refused_naming_the_record() {
    // Fuzz finding: a snapshot at u64::MAX replayed into the disk, and Raft::new then
    // overflowed in reload_membership (`snapshot_index + 1`). Refused here, by record.
    let recs = records(&[
        Write::HardState(HardState {
            term: 1,
            voted_for: None,
        }),
        Write::Snapshot(snapshot_at(u64::MAX, 1)),
    ]);
    let err = replay(None, &recs).unwrap_err();
    assert!(
        err.starts_with("WAL record #1: Snapshot at (1,18446744073709551615)"),
        "{err}"
    );
    let marker = vec![encode_snapshot_marker(&snapshot_at(INDEX_MAX + 1, 1).meta)];
    assert!(replay(None, &marker)
        .unwrap_err()
        .contains("past the largest index"));
}

#[test]
fn a_snapshot_file_past_index_max_is_set_aside_as_damaged() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut store = server::disk::snapshots::open_store(data.path()).expect("store");
    let file = encode_snapshot_file(&snapshot_at(u64::MAX, 1));
    store.save(u64::MAX, 1, &file).expect("save");
    let recovered = server::disk::snapshots::recover(&mut store, Vec::<&[u8]>::new)
        .expect("the WAL (empty) covers the gap");
    assert!(recovered.disk.snapshot.is_none());
    let warning = recovered.warnings.join("\n");
    assert!(
        warning.contains("past the largest index Raft holds"),
        "{warning}"
    );
    assert!(warning.contains("set aside"), "{warning}");
}

// ---- Mutations of valid encodings ----------------------------------------------------------

/// One change to a valid encoding.
#[derive(Clone, Debug)]
enum Mutation {
    /// Write an edge value (both byte orders are tried through the values) at `at`.
    Edge { at: usize, value: u64, width: u8 },
    /// Replace one byte.
    Byte { at: usize, value: u8 },
    /// Cut the input at `at`.
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let edge = prop_oneof![
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(u64::MAX.swap_bytes() - 1),
        Just(0),
        Just(1),
        Just(1u64.swap_bytes()),
        Just(u64::from(u32::MAX)),
        Just(INDEX_MAX),
        Just(INDEX_MAX + 1),
        Just((INDEX_MAX + 1).swap_bytes()),
    ];
    prop_oneof![
        4 => (any::<usize>(), edge, prop_oneof![Just(4u8), Just(8u8)])
            .prop_map(|(at, value, width)| Mutation::Edge { at, value, width }),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::Byte { at, value }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for m in mutations {
        if out.is_empty() {
            break;
        }
        match *m {
            Mutation::Edge { at, value, width } => {
                let at = at % out.len();
                // Little-endian, as every field of these formats is (core's `wire`).
                let bytes = value.to_le_bytes();
                let bytes = &bytes[..usize::from(width)];
                let end = (at + bytes.len()).min(out.len());
                out[at..end].copy_from_slice(&bytes[..end - at]);
            }
            Mutation::Byte { at, value } => {
                let at = at % out.len();
                out[at] = value;
            }
            Mutation::Truncate { at } => out.truncate(at % (out.len() + 1)),
        }
    }
    out
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..4)
}

fn peer_frames() -> Vec<PeerFrame> {
    let entries = vec![entry(2, 4), entry(3, 5)];
    vec![
        PeerFrame::Hello { from: NodeId(2) },
        PeerFrame::Raft(Message::AppendEntries(AppendEntries {
            term: 3,
            prev_log_index: 0,
            prev_log_term: 0,
            entries,
            leader_commit: 4,
            round: 1,
        })),
        PeerFrame::Raft(Message::RequestVote(RequestVote {
            term: 4,
            last_log_index: 9,
            last_log_term: 3,
            leader_transfer: true,
        })),
        PeerFrame::Raft(Message::InstallSnapshot(InstallSnapshot {
            term: 4,
            meta: snapshot_at(9, 3).meta,
            offset: 0,
            data: Bytes::from_static(b"chunk"),
            done: true,
            round: 2,
        })),
        PeerFrame::Raft(Message::AppendEntriesResponse(AppendEntriesResponse {
            term: 3,
            result: raft::AppendResult::Reject {
                prev_log_index: 4,
                conflict_term: 1,
                conflict_index: 2,
            },
            round: 0,
        })),
        PeerFrame::Raft(Message::InstallSnapshotResponse(InstallSnapshotResponse {
            term: 4,
            index: 9,
            received: 5,
            installed: false,
            round: 2,
        })),
        PeerFrame::Forward {
            id: 7,
            request: Bytes::from_static(b"req"),
        },
    ]
}

fn wal_seeds() -> Vec<Vec<u8>> {
    let mut out = records(&[
        Write::HardState(HardState {
            term: 3,
            voted_for: Some(NodeId(2)),
        }),
        Write::Append(vec![entry(1, 1), entry(2, 2), entry(3, 3)]),
        Write::Snapshot(snapshot_at(2, 2)),
    ]);
    out.push(encode_snapshot_marker(&snapshot_at(3, 3).meta));
    out
}

/// A follower of {1,2,3} with a short log: where decoded Raft messages land.
fn follower() -> Raft {
    let disk = raft::Disk {
        hard_state: HardState {
            term: 2,
            voted_for: None,
        },
        log: vec![entry(1, 1), entry(2, 2)],
        snapshot: None,
    };
    let config = raft::Config::new(NodeId(1), [1, 2, 3].map(NodeId).to_vec());
    Raft::new(config, &disk, SeededRng::new(3)).expect("a valid disk")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A peer frame decodes to one that survives the wire, or to an error naming the field and
    /// where; a decoded Raft message never panics the node it reaches.
    #[test]
    fn mutated_peer_frames_never_panic_and_errors_name_the_field(
        pick in 0usize..7,
        ms in mutations(),
        ticks in 0u8..40,
    ) {
        let mut wire = BytesMut::new();
        encode_frame(&peer_frames()[pick], &mut wire);
        let payload = mutate(&wire[8..], &ms);
        let mut framed = BytesMut::new();
        framed.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        framed.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        framed.extend_from_slice(&payload);
        match decode_frame(&mut framed, 1 << 20) {
            Ok(Some(frame)) => {
                let mut again = BytesMut::new();
                encode_frame(&frame, &mut again);
                prop_assert_eq!(decode_frame(&mut again, 1 << 20).expect("re-decodes"), Some(frame.clone()));
                if let PeerFrame::Raft(msg) = frame {
                    let mut node = follower();
                    let mut ready = Ready::new();
                    node.step(NodeId(2), msg, &mut ready);
                    for _ in 0..ticks {
                        node.tick(&mut ready);
                    }
                }
            }
            Ok(None) => prop_assert!(false, "a whole frame is never 'need more'"),
            Err(e) => prop_assert!(e.to_string().starts_with("at byte "), "{}", e),
        }
    }

    /// A WAL record decodes (and re-encodes to itself) or says where it is wrong; the replay
    /// names the record it refuses, and a node starts on whatever it accepts, or refuses.
    #[test]
    fn mutated_wal_records_never_panic_and_errors_name_the_record(
        pick in 0usize..4,
        ms in mutations(),
        base in any::<bool>(),
    ) {
        let mut recs = wal_seeds();
        recs[pick] = mutate(&recs[pick], &ms);
        if let Err(e) = decode_record(&recs[pick]) {
            prop_assert!(e.to_string().starts_with("at byte "), "{}", e);
        }
        let base = base.then(|| snapshot_at(1, 1));
        match replay(base, &recs) {
            Ok(disk) => {
                let config = raft::Config::new(NodeId(1), [1, 2, 3].map(NodeId).to_vec());
                let _ = Raft::new(config, &disk, SeededRng::new(1));
            }
            Err(e) => prop_assert!(e.starts_with("WAL record #"), "{}", e),
        }
    }

    /// A snapshot file's contents decode to a snapshot that survives re-encoding, or to an
    /// error saying where.
    #[test]
    fn mutated_snapshot_files_never_panic_and_errors_say_where(ms in mutations()) {
        let bytes = mutate(&encode_snapshot_file(&snapshot_at(9, 3)), &ms);
        match decode_snapshot_file(&bytes) {
            Ok(s) => prop_assert_eq!(decode_snapshot_file(&encode_snapshot_file(&s)).expect("again"), s),
            Err(e) => prop_assert!(e.to_string().starts_with("at byte "), "{}", e),
        }
    }

    /// RESP: every frame parsed from mutated commands re-encodes to one that parses back.
    #[test]
    fn mutated_resp_streams_never_panic_and_frames_round_trip(ms in mutations()) {
        let mut wire = BytesMut::new();
        for words in [&["SET", "k", "v"][..], &["MGET", "a", "b"][..]] {
            encode(&Frame::Array(words.iter().map(|w| Frame::bulk(w.to_string())).collect()), &mut wire);
        }
        wire.extend_from_slice(b"*2\r\n:12\r\n$-1\r\nPING\r\n");
        let mut buf = BytesMut::from(&mutate(&wire, &ms)[..]);
        loop {
            match parse_frame(&mut buf, &Limits::default()) {
                Ok(Some(frame)) => {
                    let mut again = BytesMut::new();
                    encode(&frame, &mut again);
                    let back = parse_frame(&mut again, &Limits::default());
                    prop_assert!(matches!(back, Ok(Some(_))), "{:?} -> {:?}", frame, back);
                }
                Ok(None) => break,
                Err(e) => {
                    prop_assert!(!e.message.is_empty());
                    break;
                }
            }
        }
    }

    /// The config file: a mutated example parses and merges into a valid config, or the
    /// error names the key or flag.
    #[test]
    fn mutated_config_files_never_panic_and_errors_name_the_key(
        ms in mutations(),
        value in prop_oneof![
            Just("18446744073709551615".to_string()),
            Just("-1".to_string()),
            Just("0".to_string()),
            Just("\"[::1]:0\"".to_string()),
            "[a-z0-9\"=:. ]{0,12}",
        ],
        line in 0usize..40,
    ) {
        let example = include_str!("../../../config/node.example.toml");
        // Replace the value of one `key = value` line, then mutate the bytes.
        let mut lines: Vec<String> = example.lines().map(String::from).collect();
        let setting: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains(" = ")).collect();
        let i = setting[line % setting.len()];
        let key = lines[i].split(" = ").next().unwrap_or("").to_string();
        lines[i] = format!("{key} = {value}");
        let text = mutate(lines.join("\n").as_bytes(), &ms);
        let Ok(text) = String::from_utf8(text) else { return Ok(()) };
        match parse(&text) {
            Ok(file) => match merge(NodeFlags::default(), file) {
                Ok(config) => prop_assert!(config.validate().is_ok()),
                Err(e) => prop_assert!(!e.is_empty()),
            },
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }
}
