//! What a CRDT store node persists, and the writes that build it: the host's side of "persist,
//! then send".
//!
//! ```text
//!   put x at n1 ──► Write::Clock{..} (LWW: the stamp's clock)  ──► Write::Key{x state}
//!               ──► Push{x=state} to peers                      ──► Reply{ok}
//!   get x by c  ──► Write::Key{x state} (if c's session grew)   ──► Reply{value}
//!   Sync / Push ──► Write::Key{k state} for every key that changed ──► Push back (if asked)
//! ```
//!
//! Why everything is durable before it leaves: a dot (or an LWW stamp) that a peer or a client
//! heard of must survive its issuer's crash, or the restarted node would issue it again for
//! another value, and the two states would refuse to merge for ever (one dot, two values). A
//! session is durable before its get is answered, so a restarted node still knows what its
//! clients saw. Not durable: the gossip cursor and turn (a restart begins at the first key and
//! the first peer) and the counters.
//!
//! Invariant: after the host persists an event's writes, every key state in memory equals the
//! one on disk (each change writes the whole new state in the same event).

use std::collections::BTreeMap;
use std::fmt;

use crate::client::Key;
use crate::crdt_store::state::KeyState;
use crate::quorum::ClockState;

/// A node's disk as the host stores it. An empty (default) disk is a brand new node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    /// Every key's state.
    pub keys: BTreeMap<Key, KeyState>,
    /// The clock after the last LWW stamp this node issued.
    pub clock: ClockState,
}

/// One durable write. The host completes every write of an event before sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Replace the key's state (it only grows, by puts, gets and merges).
    Key {
        /// The key.
        key: Key,
        /// Its new state.
        state: KeyState,
    },
    /// The clock after issuing a stamp.
    Clock(ClockState),
}

/// Apply one write to a disk image: what "persist" means in the simulator and the tests.
pub fn persist(disk: &mut Disk, write: &Write) {
    match write {
        Write::Key { key, state } => {
            disk.keys.insert(key.clone(), state.clone());
        }
        Write::Clock(state) => disk.clock = *state,
    }
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Key { key, state } => write!(f, "Key{{{key}={state}}}"),
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
    use clocks::HlcTimestamp;

    use super::*;
    use crate::crdt_store::config::Resolution;

    #[test]
    fn writes_build_the_disk_a_restart_reads() {
        let mut disk = Disk::default();
        let state = KeyState::new(Resolution::Lww);
        let clock = ClockState {
            physical_ticks: 7,
            last_stamp: HlcTimestamp::new(9, 1),
        };
        let writes = [
            Write::Key {
                key: "x".into(),
                state: state.clone(),
            },
            Write::Clock(clock),
        ];
        for w in &writes {
            persist(&mut disk, w);
        }
        assert_eq!(disk.keys.get("x"), Some(&state));
        assert_eq!(disk.clock, clock);
        assert_eq!(writes[0].to_string(), "Key{x=[]}");
        assert_eq!(writes[1].to_string(), "Clock{physical=7 stamp=9,1}");
    }
}
