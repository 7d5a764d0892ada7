//! What a quorum node persists, and the writes that build it: the host's side of "persist,
//! then send".
//!
//! ```text
//!   Replicate ──► merge into the key's version ──► Write::Store{key version}  1. persist
//!                                              ──► Replicated{op key}         2. send
//!   Replicate{hint=n2} ──► Write::Hint{owner=n2 key id version}   ──► Replicated
//!   HandedOff{hint=id} ──► Write::HintDone{owner key}
//!   an LWW put's stamp ──► Write::Clock{physical stamp}  before the Replicate that carries it
//! ```
//!
//! Every stored version is durable before anyone hears of it: a `Replicated` or `HandedOff`
//! promises the version survives a crash, and W of those are what a put's `Ok` stands on. A
//! hint is as durable as a stored version (Dynamo keeps hinted replicas "in a separate local
//! database"), since a stand-in's ack counted towards W. What is *not* durable: requests in
//! flight (a restarted coordinator forgets them; its clients time out, outcome unknown), the
//! Merkle trees (rebuilt from the store) and the recent-answers cache.
//!
//! Invariants: a hint id is never reused, across restarts too (`hint_ids_issued` only grows),
//! so a late `HandedOff` cannot drop a newer hint.

use std::collections::BTreeMap;
use std::fmt;

use distributed_core::NodeId;

use crate::client::Key;
use crate::quorum::clock::ClockState;
use crate::quorum::version::Version;

/// A version held for another node, under an id the holder renews on every change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// Names this state of the hint: a `HandedOff` for an older id does not drop it.
    pub id: u64,
    /// The version held for the owner: every hinted put for (owner, key), merged.
    pub version: Version,
}

/// A node's disk as the host stores it. An empty (default) disk is a brand new node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    /// Every key this node is a home node of and has heard of, with its version.
    pub store: BTreeMap<Key, Version>,
    /// Hints held for other nodes, by (owner, key).
    pub hints: BTreeMap<(NodeId, Key), Hint>,
    /// The largest hint id ever written.
    pub hint_ids_issued: u64,
    /// The clock's state after the last stamp.
    pub clock: ClockState,
}

/// One durable write. The host completes every write of an event before sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Replace the key's version (it only grows, by merges).
    Store {
        /// The key.
        key: Key,
        /// Its version after the merge.
        version: Version,
    },
    /// Replace the hint for (owner, key).
    Hint {
        /// The node the version is meant for.
        owner: NodeId,
        /// The key.
        key: Key,
        /// The hint, with a fresh id.
        hint: Hint,
    },
    /// Drop the hint for (owner, key): the owner has it.
    HintDone {
        /// The owner.
        owner: NodeId,
        /// The key.
        key: Key,
    },
    /// The clock after issuing a stamp.
    Clock(ClockState),
}

/// Apply one write to a disk image: what "persist" means in the simulator and the tests.
pub fn persist(disk: &mut Disk, write: &Write) {
    match write {
        Write::Store { key, version } => {
            disk.store.insert(key.clone(), version.clone());
        }
        Write::Hint { owner, key, hint } => {
            assert!(hint.id > disk.hint_ids_issued, "hint ids only grow");
            disk.hint_ids_issued = hint.id;
            disk.hints.insert((*owner, key.clone()), hint.clone());
        }
        Write::HintDone { owner, key } => {
            disk.hints.remove(&(*owner, key.clone()));
        }
        Write::Clock(state) => disk.clock = *state,
    }
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Store { key, version } => write!(f, "Store{{key={key} version={version}}}"),
            Write::Hint { owner, key, hint } => write!(
                f,
                "Hint{{owner={owner} key={key} id={} version={}}}",
                hint.id, hint.version
            ),
            Write::HintDone { owner, key } => write!(f, "HintDone{{owner={owner} key={key}}}"),
            Write::Clock(state) => write!(
                f,
                "Clock{{physical={} stamp={}}}",
                state.physical_ticks, state.last_stamp
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_build_the_disk_a_restart_reads() {
        let v = Version::dvv_put(None, "a".into(), NodeId(1)).unwrap();
        let mut disk = Disk::default();
        let hint = Hint {
            id: 1,
            version: v.clone(),
        };
        for w in [
            Write::Store {
                key: "x".into(),
                version: v.clone(),
            },
            Write::Hint {
                owner: NodeId(2),
                key: "y".into(),
                hint,
            },
        ] {
            persist(&mut disk, &w);
        }
        assert_eq!(disk.store.get("x"), Some(&v));
        assert_eq!(disk.hint_ids_issued, 1);
        persist(
            &mut disk,
            &Write::HintDone {
                owner: NodeId(2),
                key: "y".into(),
            },
        );
        assert!(disk.hints.is_empty());
        assert_eq!(disk.hint_ids_issued, 1, "a dropped hint's id is not reused");
        assert_eq!(
            Write::Store {
                key: "x".into(),
                version: v
            }
            .to_string(),
            "Store{key=x version=[a@n1:1]{n1:1}}"
        );
    }
}
