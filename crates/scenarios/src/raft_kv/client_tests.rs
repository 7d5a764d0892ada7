//! Tests of `client.rs`, kept apart so the module stays within its size budget.

use super::*;

#[test]
fn a_tag_decodes_to_the_session_request_and_attempt_it_encodes() {
    let t = Tag {
        client_id: (1 << 24) - 1,
        seq: (1 << 24) - 1,
        attempt: 0xffff,
    };
    assert_eq!(Tag::decode(t.encode()), t);
    let small = Tag {
        client_id: 3,
        seq: 9,
        attempt: 2,
    };
    assert_eq!(Tag::decode(small.encode()), small);
}

#[test]
fn backoff_doubles_every_eight_attempts_and_then_stops_growing() {
    let mut op = Op {
        seq: 1,
        spec: ops::OpSpec {
            kv: kv::Command::noop(),
            check: check::Command::get("k"),
        },
        id: HistoryBuilder::new().invoke(1, check::Command::get("k"), 0),
        attempt: 0,
        waiting: None,
        pause: 40,
    };
    let at = |op: &mut Op, a| {
        op.attempt = a;
        op.backoff()
    };
    assert_eq!(at(&mut op, 0), 80);
    assert_eq!(at(&mut op, 8), 160);
    assert_eq!(at(&mut op, 24), 640);
    assert_eq!(at(&mut op, 90), 640);
}
