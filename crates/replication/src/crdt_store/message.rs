//! The CRDT store's messages: one struct per message, each with its one-line `Display`, the
//! [`Message`] enum that carries any of them, and each one's size on the wire.
//!
//! ```text
//!   every gossip_interval_ticks, initiator A picks a peer B (gossip.rs):
//!     A ── Digest{range=[k0..k9) keys=[k0:h0 k3:h3 …]} ──► B     ≤ digest_keys_max pairs
//!     A ◄─ Sync{states=[B's states in the range that differ] wanted=[keys A's differ on]} ── B
//!          A merges B's states                                 ≤ sync_keys_max states
//!     A ── Push{states=[A's merged states of the wanted keys]} ──► B merges   ≤ sync_keys_max
//!   after a put at A:  A ── Push{states=[the key's new state]} ──► push_fanout peers
//! ```
//!
//! The sender's id is not a field: it travels in the `Envelope`. Nothing needs matching: every
//! state received is merged, and merging is idempotent, so a lost, duplicated or reordered
//! message costs a round, never a wrong state. The road not taken: Merkle trees (quorum/): a
//! flat digest of one chunk of keys costs 12 bytes + key per key, and a CRDT store's nodes all
//! hold every key, so there is no range ownership to descend by.
//!
//! Sizes ([`WireSize`], counted as the workspace's wire vocabulary would write them):
//!
//! ```text
//!   key, value [len u32][utf-8]      Option [flag u8][value]      list [count u32][items]
//!   dot [node u64][counter u64]      context [vv list of dots][cloud list of dots]
//!   Register  [kind u8] mv: [siblings: dot + value] [context]
//!                       lww: [flag u8] + if written [wall u64][logical u32][node u64][value]
//!   Session   [client u64][read context][seq u64][dots list]
//!   KeyState  [register][sessions list]
//!   Digest [kind][start opt][end opt][(key, hash u64) list]   Sync [kind][states][wanted]
//!   Push   [kind][(key, KeyState) list]
//! ```

use std::fmt;

use clocks::CausalContext;
use distributed_core::wire::{WireSize, KIND_BYTES, U32_BYTES, U64_BYTES, U8_BYTES};

use crate::client::Key;
use crate::crdt_store::register::Register;
use crate::crdt_store::state::{KeyState, Session};

/// Here are my hashes of my keys in `[start, end)`: send me what differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    /// The first key of the range (inclusive); `None` from the smallest key.
    pub start: Option<Key>,
    /// The end of the range (exclusive); `None` through the largest key.
    pub end: Option<Key>,
    /// `(key, KeyState::digest)` of every key the sender holds in the range, in key order.
    pub entries: Vec<(Key, u64)>,
}

/// The answer to a Digest: my states that differ, and the keys whose states I want.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sync {
    /// My state of each key in the range whose hash differs from yours or that you lack, in
    /// key order, at most `sync_keys_max`.
    pub states: Vec<(Key, KeyState)>,
    /// Keys of your digest whose state I lack or hold differently: send me yours.
    pub wanted: Vec<Key>,
}

/// Merge these states (wanted ones after a Sync, or a put's new state at once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    /// `(key, state)`, at most `sync_keys_max`.
    pub states: Vec<(Key, KeyState)>,
}

/// Any CRDT store message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Anti-entropy, first step: the initiator's hashes of one chunk of keys.
    Digest(Digest),
    /// Anti-entropy, second step: the peer's differing states and wanted keys.
    Sync(Sync),
    /// Anti-entropy, third step, or a put's delta: states to merge.
    Push(Push),
}

impl From<Digest> for Message {
    fn from(m: Digest) -> Message {
        Message::Digest(m)
    }
}

impl From<Sync> for Message {
    fn from(m: Sync) -> Message {
        Message::Sync(m)
    }
}

impl From<Push> for Message {
    fn from(m: Push) -> Message {
        Message::Push(m)
    }
}

fn states_line(states: &[(Key, KeyState)]) -> String {
    let items: Vec<String> = states.iter().map(|(k, s)| format!("{k}={s}")).collect();
    items.join(" ")
}

/// `Digest{range=[a..d) keys=[a:9a3c01f2 b:0042aa10]}` (a hash shows its top 32 bits).
impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self
            .entries
            .iter()
            .map(|(k, h)| format!("{k}:{:08x}", h >> 32))
            .collect();
        write!(
            f,
            "Digest{{range=[{}..{}) keys=[{}]}}",
            self.start.as_deref().unwrap_or(""),
            self.end.as_deref().unwrap_or(""),
            keys.join(" ")
        )
    }
}

/// `Sync{states=[x=[a@n1:1]{n1:1}] wanted=[y]}`.
impl fmt::Display for Sync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Sync{{states=[{}] wanted=[{}]}}",
            states_line(&self.states),
            self.wanted.join(" ")
        )
    }
}

/// `Push{states=[x=[a@n1:1]{n1:1} sessions=[c1(put=1@n1:1)]]}`.
impl fmt::Display for Push {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Push{{states=[{}]}}", states_line(&self.states))
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Digest(m) => m.fmt(f),
            Message::Sync(m) => m.fmt(f),
            Message::Push(m) => m.fmt(f),
        }
    }
}

/// Bytes of a string: its u32 length, then its UTF-8.
fn text(s: &str) -> usize {
    U32_BYTES + s.len()
}

/// Bytes of a dot: node and counter.
const DOT_BYTES: usize = 2 * U64_BYTES;

fn context_bytes(c: &CausalContext) -> usize {
    U32_BYTES + c.version().len() * DOT_BYTES + U32_BYTES + c.cloud().count() * DOT_BYTES
}

fn states_bytes(states: &[(Key, KeyState)]) -> usize {
    U32_BYTES
        + states
            .iter()
            .map(|(k, s)| text(k) + s.wire_bytes())
            .sum::<usize>()
}

/// The kind byte, then the message's fields.
impl WireSize for Message {
    fn wire_bytes(&self) -> usize {
        KIND_BYTES
            + match self {
                Message::Digest(m) => {
                    let bound = |b: &Option<Key>| U8_BYTES + b.as_deref().map_or(0, text);
                    let entries: usize = m.entries.iter().map(|(k, _)| text(k) + U64_BYTES).sum();
                    bound(&m.start) + bound(&m.end) + U32_BYTES + entries
                }
                Message::Sync(m) => {
                    let wanted: usize = m.wanted.iter().map(|k| text(k)).sum();
                    states_bytes(&m.states) + U32_BYTES + wanted
                }
                Message::Push(m) => states_bytes(&m.states),
            }
    }
}

/// The register, then the sessions.
impl WireSize for KeyState {
    fn wire_bytes(&self) -> usize {
        let register = KIND_BYTES
            + match self.register() {
                Register::Mv(s) => {
                    let siblings: usize = s.siblings().map(|(_, v)| DOT_BYTES + text(v)).sum();
                    U32_BYTES + siblings + context_bytes(s.context())
                }
                Register::Lww(r) => {
                    U8_BYTES
                        + match (r.stamp(), r.get()) {
                            (Some(_), Some(v)) => U64_BYTES + U32_BYTES + U64_BYTES + text(v),
                            _ => 0,
                        }
                }
            };
        let sessions: usize = self
            .sessions()
            .values()
            .map(|s: &Session| {
                U64_BYTES
                    + context_bytes(&s.read)
                    + U64_BYTES
                    + U32_BYTES
                    + s.last_put_dots.len() * DOT_BYTES
            })
            .sum();
        register + U32_BYTES + sessions
    }
}

#[cfg(test)]
mod tests {
    use clocks::CausalContext;
    use distributed_core::NodeId;

    use super::*;
    use crate::crdt_store::config::Resolution;

    fn written(value: &str) -> KeyState {
        let mut state = KeyState::new(Resolution::MultiValue);
        if let Register::Mv(s) = &mut state.register {
            s.put(&CausalContext::new(), value.into(), NodeId(1))
                .unwrap();
        }
        state
    }

    #[test]
    fn every_message_prints_as_one_compact_line() {
        let digest = Message::from(Digest {
            start: Some("a".into()),
            end: None,
            entries: vec![("a".into(), 0x9a3c_01f2_0000_0001)],
        });
        assert_eq!(digest.to_string(), "Digest{range=[a..) keys=[a:9a3c01f2]}");
        let sync = Message::from(Sync {
            states: vec![("x".into(), written("v"))],
            wanted: vec!["y".into(), "z".into()],
        });
        assert_eq!(
            sync.to_string(),
            "Sync{states=[x=[v@n1:1]{n1:1}] wanted=[y z]}"
        );
        let push = Message::from(Push { states: vec![] });
        assert_eq!(push.to_string(), "Push{states=[]}");
    }

    #[test]
    fn sizes_count_each_field() {
        let digest = Message::from(Digest {
            start: None,
            end: Some("b".into()),
            entries: vec![("a".into(), 1)],
        });
        assert_eq!(digest.wire_bytes(), 1 + 1 + (1 + 5) + 4 + (5 + 8));
        // [kind][siblings: count, dot, "ab"][context: vv count + 1 dot, cloud count][sessions]
        let state = written("ab");
        assert_eq!(state.wire_bytes(), 1 + 4 + (16 + 6) + (4 + 16 + 4) + 4);
        let push = Message::from(Push {
            states: vec![("x".into(), state.clone())],
        });
        assert_eq!(push.wire_bytes(), 1 + 4 + 5 + state.wire_bytes());
    }
}
