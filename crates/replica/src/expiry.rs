//! Active expiry: the leader turns its host's clock into `DISTRIBUTED.EXPIRE` entries, so a
//! key whose time ran out is deleted even when no client writes.
//!
//! ```text
//!   host, every tick: Input::Clock{now_ms} ──► on_clock
//!     not leader ─────────────────────────────────► nothing
//!     an expiry entry in flight (not applied yet) ─► nothing   (one at a time)
//!     machine.next_expiry_ms() > now_ms, or none ──► nothing   (O(log n): kv's expiry index)
//!     else machine.expiry_request(now_ms, expire_keys_per_entry_max)
//!          = DISTRIBUTED.EXPIRE k1 … kn stamped now_ms ──► raft Propose ──► Accepted{index}
//!          ──► expiry_in_flight = index
//!   Committed(index ≥ in flight) applied, or leadership lost ──► expiry_in_flight = None
//! ```
//!
//! Why the leader, and why through the log: expiry must happen at the same entry on every
//! replica (Raft §5.3), and only the log orders things. Each replica judges a key expired by
//! the log time of the entry it is applying (`kv::StateMachine`, `machine.rs`); the leader's
//! entry carries its clock into that log time and names the keys, and applying it re-checks
//! each one, so a key set again in the meantime survives. A follower never proposes: it may
//! be partitioned, and its clock is not the log's.
//!
//! Bounds: at most one expiry entry in flight per leader, so at most one per commit round,
//! and at most one attempt per `Input::Clock` (one per tick); each names at most
//! `expire_keys_per_entry_max` keys (and fits kv's request limits). A backlog of N due keys
//! takes N / keys_per_entry commit rounds. The entry is not a client request: it neither
//! counts against `pending_requests_max` nor is answered.
//!
//! What it costs in staleness: an expired key stays readable until the leader's next tick
//! after its expiry time plus one commit round (reads linearize at their read index, with the
//! log time of that index: README, "Reads"). The assumption: leaders' clocks are close to real
//! time (NTP). Skew between leaders can only delay expiry, never revive a key, because the
//! machine's clock is a max over the entries' times.
//!
//! The road not taken: a timer inside the replica. Sans-IO, the replica has no clock; the
//! host's ticks already drive it, so the host hands its clock in with them (the server reads
//! the system clock, the simulator its simulated time).

use distributed_core::{Effects, Protocol};
use raft::{Index, Role};

use crate::flow::Proposal;
use crate::KvReplica;

type Out = Effects<KvReplica>;

impl KvReplica {
    /// `Input::Clock`: the host's clock; propose an expiry entry if this leader has one due.
    pub(super) fn on_clock(&mut self, now_ms: u64, out: &mut Out) {
        self.host_clock_ms = Some(now_ms);
        if self.raft.role() != Role::Leader || self.expiry_in_flight.is_some() {
            return;
        }
        if self.machine.next_expiry_ms().is_none_or(|due| due > now_ms) {
            return;
        }
        let keys_max = self.config.expire_keys_per_entry_max;
        let Some(request) = self.machine.expiry_request(now_ms, keys_max) else {
            return;
        };
        let data = request.encode();
        out.note(format_args!(
            "active expiry at {now_ms} ms: proposing {}",
            request.body
        ));
        self.raft
            .input(raft::Input::Propose(data), &mut self.scratch);
        self.absorb(Some(Proposal::Expiry), out);
    }

    /// Raft accepted this leader's expiry entry at `index`.
    pub(super) fn on_expiry_accepted(&mut self, index: Index) {
        assert!(
            self.expiry_in_flight.is_none(),
            "a second expiry entry at {index} while one is in flight"
        );
        self.expiry_in_flight = Some(index);
    }

    /// The entry at `index` was applied: the expiry entry in flight, if it is at or before
    /// it, is done (applied, or overwritten by another term's entry: either way, over).
    pub(super) fn on_expiry_applied(&mut self, index: Index) {
        if self.expiry_in_flight.is_some_and(|i| i <= index) {
            self.expiry_in_flight = None;
        }
    }
}
