//! The master's traffic (OSDI '04 §3): heartbeats and their leases, configurations; and a
//! joining tail's state transfer from its predecessor. Handled in master.rs (Heartbeat),
//! replica.rs (HeartbeatAck, Configure) and transfer.rs (StateChunk, ChunkAck).
//!
//! ```text
//!   replica ── Heartbeat{epoch inc tick ready} ──► master
//!   replica ◄─ HeartbeatAck{epoch inc tick} ────── master   reads allowed until tick + lease
//!   replica ◄─ Configure{epoch chain joining} ──── master   on a new epoch, or a stale heartbeat
//!
//!   predecessor ── StateChunk{index=i …} ──► joining tail ── ChunkAck{next=i+1} ──► predecessor
//! ```

use std::fmt;

use crate::chain::configuration::{Configuration, Epoch};
use crate::chain::store::{entries_line, Entry, Seq};
use distributed_core::Tick;

/// I am alive, in this epoch: a replica to the master, every `heartbeat_interval_ticks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The replica's epoch: an older one gets the current configuration back.
    pub epoch: Epoch,
    /// The replica's start count, echoed in the ack: an ack for an earlier life is no lease.
    pub incarnation: u64,
    /// The replica's own tick when it sent this: its lease runs from here, so a slow network
    /// only shortens it.
    pub tick: Tick,
    /// False only for a joining tail whose state transfer is not complete.
    pub ready: bool,
}

/// The master heard the heartbeat sent at `tick` and still counts the sender a member: a
/// read lease until `tick + read_lease_ticks` on the replica's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatAck {
    /// The master's epoch (the heartbeat's).
    pub epoch: Epoch,
    /// The heartbeat's incarnation.
    pub incarnation: u64,
    /// The heartbeat's tick.
    pub tick: Tick,
}

/// The current chain: the master to every member of a new configuration, and to any replica
/// whose heartbeat shows an older one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configure {
    /// The configuration.
    pub configuration: Configuration,
}

/// Part of the state a joining tail needs: one clean version per key, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChunk {
    /// The sender's epoch (the one that made the receiver join).
    pub epoch: Epoch,
    /// Which chunk: chunk 0 makes the receiver drop whatever it held.
    pub index: u32,
    /// The sender's last update: the receiver's history once every chunk is in.
    pub through: Seq,
    /// At most `chunk_keys_max` keys.
    pub entries: Vec<Entry>,
    /// True for the final chunk.
    pub last: bool,
}

/// The joining tail wants chunk `next` (it has every chunk before it): stop-and-wait, so the
/// sender holds one chunk in flight, and a receiver that lost its place asks for 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkAck {
    /// The joining tail's epoch.
    pub epoch: Epoch,
    /// The next chunk wanted; past the last means the transfer is done.
    pub next: u32,
}

impl fmt::Display for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Heartbeat {
            epoch,
            incarnation,
            tick,
            ready,
        } = self;
        write!(
            f,
            "Heartbeat{{epoch={epoch} inc={incarnation} tick={tick} ready={ready}}}"
        )
    }
}

impl fmt::Display for HeartbeatAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let HeartbeatAck {
            epoch,
            incarnation,
            tick,
        } = self;
        write!(
            f,
            "HeartbeatAck{{epoch={epoch} inc={incarnation} tick={tick}}}"
        )
    }
}

impl fmt::Display for Configure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Configure{{{}}}", self.configuration)
    }
}

impl fmt::Display for StateChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let StateChunk {
            epoch,
            index,
            through,
            entries,
            last,
        } = self;
        write!(
            f,
            "StateChunk{{epoch={epoch} index={index} through={through} last={last} {}}}",
            entries_line(entries)
        )
    }
}

impl fmt::Display for ChunkAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkAck{{epoch={} next={}}}", self.epoch, self.next)
    }
}
