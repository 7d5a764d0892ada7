//! Tests of `client.rs`, kept apart so the module stays within its size budget.

use super::*;

#[test]
fn backoff_doubles_every_eight_attempts_and_then_stops_growing() {
    let mut op = Op {
        seq: 1,
        spec: ops::OpSpec {
            body: kv::Body::One(kv::Command::noop()),
            kind: ops::OpKind::Plain,
        },
        watching: false,
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
