//! The primary's traffic with its backups: forwarded puts and their acks (primary.rs,
//! backup.rs), and bringing a backup into the primary's lineage (transfer.rs): a probe, and a
//! state transfer in chunks when the probe shows the backup is not in it.
//!
//! ```text
//!   primary ── Probe{view} ─────────────────────────► backup
//!   primary ◄─ Probed{view through=7 | through=none} ─ backup  (in the lineage, or not)
//!   primary ── StateChunk{view index=i …} ──────────► backup   (only when not)
//!   primary ◄─ ChunkAck{view next=i+1} ────────────── backup
//!   primary ── Forward{view seq=8 key value op committed} ──► backup  (stores, then acks)
//!   primary ◄─ Forwarded{view through=8} ──────────── backup
//! ```
//!
//! Every message carries the sender's view; a receiver refuses one from another view.

use std::fmt;

use crate::client::{Key, OpId, Value};
use crate::primary_backup::store::{items_line, Item, Seq};
use crate::primary_backup::view::ViewNum;

/// Store this put and say so: the primary to each backup in its lineage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    /// The sender's view.
    pub view: ViewNum,
    /// Its place in the history; a backup stores only `last_seq + 1`.
    pub seq: Seq,
    /// The key written.
    pub key: Key,
    /// The value written.
    pub value: Value,
    /// The client request, for the backup's sessions.
    pub op: OpId,
    /// The primary's commit point, so the backup's log stays bounded.
    pub committed: Seq,
}

/// I have your history through `through`: a backup to its primary. Cumulative, so a lost one
/// is repaired by any later one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarded {
    /// The backup's view.
    pub view: ViewNum,
    /// Every put through this seq is stored at the backup.
    pub through: Seq,
}

/// Is your store in my lineage, and how far? The primary to a backup whose state it does not
/// know (a new backup, or every backup after the primary restarted or took its tenure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The primary's view; its `since` names the lineage.
    pub view: ViewNum,
}

/// The backup's answer to a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probed {
    /// The backup's view.
    pub view: ViewNum,
    /// `Some(last_seq)` if the backup's store is in the view's lineage, None if it needs the
    /// whole state.
    pub through: Option<Seq>,
}

/// Part of the primary's store, for a backup outside its lineage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChunk {
    /// The primary's view.
    pub view: ViewNum,
    /// Which chunk: chunk 0 makes the receiver start over with an empty staging copy.
    pub index: u32,
    /// The primary's last put: the receiver's history once every chunk is in.
    pub through: Seq,
    /// The primary's commit point: the receiver's once every chunk is in.
    pub committed: Seq,
    /// At most `chunk_items_max` items.
    pub items: Vec<Item>,
    /// True for the final chunk.
    pub last: bool,
}

/// The backup wants chunk `next` (it has every chunk before it): one chunk in flight, and a
/// receiver that lost its place asks for 0 again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkAck {
    /// The backup's view.
    pub view: ViewNum,
    /// The next chunk wanted; past the last means the transfer is done.
    pub next: u32,
}

impl fmt::Display for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Forward {
            view,
            seq,
            key,
            value,
            op,
            committed,
        } = self;
        write!(
            f,
            "Forward{{view={view} seq={seq} key={key} value={value} op={op} committed={committed}}}"
        )
    }
}

impl fmt::Display for Forwarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Forwarded{{view={} through={}}}",
            self.view, self.through
        )
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Probe{{view={}}}", self.view)
    }
}

impl fmt::Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.through {
            Some(t) => write!(f, "Probed{{view={} through={t}}}", self.view),
            None => write!(f, "Probed{{view={} through=none}}", self.view),
        }
    }
}

impl fmt::Display for StateChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let StateChunk {
            view,
            index,
            through,
            committed,
            items,
            last,
        } = self;
        write!(
            f,
            "StateChunk{{view={view} index={index} through={through} committed={committed} \
             last={last} {}}}",
            items_line(items)
        )
    }
}

impl fmt::Display for ChunkAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkAck{{view={} next={}}}", self.view, self.next)
    }
}
