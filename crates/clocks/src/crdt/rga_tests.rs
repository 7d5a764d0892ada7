//! RGA unit tests: the integration rule, tombstones, and refusals.

use super::*;

fn n(id: u64) -> NodeId {
    NodeId(id)
}

fn text(r: &Rga<char>) -> String {
    r.iter().collect()
}

fn typed(s: &str, node: u64) -> Rga<char> {
    let mut r = Rga::new();
    for (k, c) in s.chars().enumerate() {
        r.insert_at(k, c, n(node)).unwrap();
    }
    r
}

#[test]
fn local_inserts_and_deletes_behave_like_a_vec() {
    let mut r = typed("abc", 1);
    r.insert_at(1, 'X', n(1)).unwrap();
    assert_eq!(text(&r), "aXbc");
    r.delete_at(0).unwrap();
    assert_eq!(text(&r), "Xbc");
    assert_eq!((r.len(), r.tombstones()), (3, 1));
}

#[test]
fn concurrent_inserts_at_one_spot_line_up_by_descending_id_on_every_replica() {
    // Roh et al. 2011, RGA insert: skip the elements after the anchor with larger ids.
    let base = typed("ab", 1);
    let (mut r1, mut r2) = (base.clone(), base.clone());
    let a = base.ids().next().unwrap();
    r1.insert_after(Some(a), 'X', n(1)).unwrap();
    r2.insert_after(Some(a), 'Y', n(2)).unwrap();
    let snapshot = r1.clone();
    r1.merge(&r2).unwrap();
    r2.merge(&snapshot).unwrap();
    assert_eq!(text(&r1), "aYXb");
    assert_eq!(r1, r2);
}

#[test]
fn a_run_typed_concurrently_stays_in_one_piece() {
    // Descendants have larger ids than their anchors, so "XY" is not interleaved with "12".
    let base = typed("ab", 1);
    let (mut r1, mut r2) = (base.clone(), base.clone());
    r1.insert_at(1, 'X', n(1)).unwrap();
    r1.insert_at(2, 'Y', n(1)).unwrap();
    r2.insert_at(1, '1', n(2)).unwrap();
    r2.insert_at(2, '2', n(2)).unwrap();
    let snapshot = r1.clone();
    r1.merge(&r2).unwrap();
    r2.merge(&snapshot).unwrap();
    assert_eq!(text(&r1), "a12XYb");
    assert_eq!(r1, r2);
}

#[test]
fn an_insert_anchored_at_a_concurrently_deleted_element_still_finds_its_place() {
    let base = typed("abc", 1);
    let (mut r1, mut r2) = (base.clone(), base.clone());
    let b = base.ids().nth(1).unwrap();
    r1.delete(b).unwrap();
    r2.insert_after(Some(b), 'X', n(2)).unwrap();
    r1.merge(&r2).unwrap();
    assert_eq!(text(&r1), "aXc");
    assert_eq!(
        r1.tombstones(),
        1,
        "b stays as a tombstone: the anchor of X"
    );
}

#[test]
fn a_delete_merged_twice_or_from_both_sides_is_counted_once() {
    let mut r1 = typed("ab", 1);
    let mut r2 = r1.clone();
    r1.delete_at(0).unwrap();
    r2.delete_at(0).unwrap();
    r1.merge(&r2).unwrap();
    r1.merge(&r2).unwrap();
    assert_eq!((r1.len(), r1.tombstones()), (1, 1));
}

#[test]
fn an_unknown_anchor_or_index_is_an_error_that_changes_nothing() {
    let mut r = typed("a", 1);
    let ghost = RgaId {
        time: 99,
        node: n(7),
    };
    let err = r.insert_after(Some(ghost), 'x', n(1)).unwrap_err();
    assert_eq!(err.to_string(), "RGA anchor 99@n7 is not known here");
    assert_eq!(
        r.insert_at(5, 'x', n(1)).unwrap_err(),
        ClockError::IndexOutOfRange { index: 5, len: 1 }
    );
    assert!(r.delete(ghost).is_err());
    assert_eq!(text(&r), "a");
}

#[test]
fn two_replicas_that_reused_an_id_for_different_content_cannot_merge() {
    let mut r1 = typed("a", 1);
    let r2 = typed("b", 1);
    let before = r1.clone();
    assert!(matches!(
        r1.merge(&r2),
        Err(ClockError::ConflictingContent { .. })
    ));
    assert_eq!(r1, before);
}
