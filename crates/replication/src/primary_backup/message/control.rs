//! The view service's traffic: pings, and the replies that carry the current view and the
//! primary's lease. Handled in view_service.rs (Ping) and server.rs (PingReply).
//!
//! ```text
//!   server ── Ping{view inc tick ready} ──────────► view service
//!   server ◄─ PingReply{view… inc tick lease} ───── view service
//!             the current view, always; lease=true only for the primary of that view:
//!             it may read until tick + lease_ticks of its own clock
//! ```
//!
//! `ready` is the primary's acknowledgement of its view: every backup holds its state and
//! everything it committed. The view service promotes a backup only out of an acknowledged
//! view (view_service.rs).

use std::fmt;

use distributed_core::Tick;

use crate::primary_backup::view::{View, ViewNum};

/// I am alive, and this is the view I know: a server to the view service, every
/// `ping_interval_ticks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    /// The newest view the server knows.
    pub view: ViewNum,
    /// The server's start count, echoed in the reply: a reply to an earlier life is no lease.
    pub incarnation: u64,
    /// The server's own tick when it sent this: a lease runs from here, so a slow network only
    /// shortens it.
    pub tick: Tick,
    /// From the primary of `view`: every backup is in its lineage and holds every committed
    /// put. The view service counts this as the primary's acknowledgement of the view.
    pub ready: bool,
}

/// The view service's answer to a ping: its current view, and for the primary of the view the
/// ping named, a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingReply {
    /// The view service's current view.
    pub view: View,
    /// The ping's incarnation.
    pub incarnation: u64,
    /// The ping's tick.
    pub tick: Tick,
    /// The sender is primary of `view` and the ping named the view current when it arrived:
    /// no other server becomes primary before `tick + lease_ticks` on the sender's clock.
    pub lease: bool,
}

impl fmt::Display for Ping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ping {
            view,
            incarnation,
            tick,
            ready,
        } = self;
        write!(
            f,
            "Ping{{view={view} inc={incarnation} tick={tick} ready={ready}}}"
        )
    }
}

impl fmt::Display for PingReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PingReply {
            view,
            incarnation,
            tick,
            lease,
        } = self;
        write!(
            f,
            "PingReply{{{view} inc={incarnation} tick={tick} lease={lease}}}"
        )
    }
}
