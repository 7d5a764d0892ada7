//! A request's tag: the `u64` a replica echoes with its reply, which is all a simulated
//! client has to match replies to requests (`client.rs`).
//!
//! ```text
//!   bit 63 ………… 40 │ 39 ………… 16 │ 15 ………… 0
//!       client_id   │    seq      │  attempt
//! ```
//!
//! Invariant: every field fits its bits; the options' limits are checked against them at
//! compile time below.

use super::options::{CLIENTS_MAX, OPS_PER_CLIENT_LIMIT, OP_ATTEMPTS_LIMIT};

/// A request's tag: which session, which request, which attempt, packed into the `u64` the
/// replica echoes. `client_id < 2^24`, `seq < 2^24`, `attempt < 2^16` (options enforce these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag {
    /// The session; identifies the client (and, after a give-up, which of its sessions).
    pub(crate) client_id: u64,
    /// The request within the session.
    pub(crate) seq: u64,
    /// Which send of that request: only the latest send's refusals steer the client.
    pub(crate) attempt: u32,
}

/// Bits of a tag for the attempt, the seq, and (the rest) the client id.
const ATTEMPT_BITS: u32 = 16;
const SEQ_BITS: u32 = 24;
const CLIENT_SHIFT: u32 = ATTEMPT_BITS + SEQ_BITS;

/// The first `client_id` that no longer fits in a tag.
pub(crate) const CLIENT_IDS_END: u64 = 1 << (u64::BITS - CLIENT_SHIFT);

// The limits the options enforce must fit the fields they are packed into.
const _: () = assert!(OPS_PER_CLIENT_LIMIT < 1 << SEQ_BITS);
const _: () = assert!((OP_ATTEMPTS_LIMIT as u64) < 1 << ATTEMPT_BITS);
const _: () = assert!((CLIENTS_MAX as u64) < CLIENT_IDS_END);

impl Tag {
    pub(crate) fn encode(self) -> u64 {
        (self.client_id << CLIENT_SHIFT) | (self.seq << ATTEMPT_BITS) | u64::from(self.attempt)
    }

    pub(crate) fn decode(tag: u64) -> Tag {
        Tag {
            client_id: tag >> CLIENT_SHIFT,
            seq: (tag >> ATTEMPT_BITS) & ((1 << SEQ_BITS) - 1),
            attempt: (tag & ((1 << ATTEMPT_BITS) - 1)) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
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
}
