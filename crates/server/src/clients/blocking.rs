//! Blocking pops (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP): a client
//! waits on this node until one of its keys holds something, while every pop stays an ordinary
//! write through the log.
//!
//! ```text
//!   BLPOP k1 k2 5 ──► try: LMPOP 2 k1 k2 LEFT, a write in the session ──► the log
//!        │ an element ──► [k1, e] (reshaped to BLPOP's reply) ──► answered
//!        │ nil: every key empty
//!        ▼
//!   park on {k1, k2} (parked.rs, this node) ◄──────────────────────────────────────┐
//!        │ the node task applies entries (anyone's, from any node: every node        │
//!        │ applies every entry) ──► wake: k1 or k2 now holds a list? oldest first,   │
//!        │ one client per key at a time (a claim) ──► Wake::Ready                    │
//!        ▼                                                                           │
//!   retry: LMPOP 2 k1 k2 LEFT ──► the log ──► an element ──► answered                │
//!                                         └─► nil (a client elsewhere won) ──────────┘
//!   meanwhile: the timeout passes ──► nil (*-1, or _ in RESP3; $-1 for BLMOVE)
//!              CLIENT UNBLOCK id [TIMEOUT|ERROR] ──► nil / -UNBLOCKED
//!              the client closes its socket ──► forgotten (the reader keeps reading, so an
//!              EOF is seen while parked)
//!   inside MULTI: queued as the non-blocking form (LMPOP …), reshaped in EXEC's reply
//! ```
//!
//! What wakes a waiter is the state, not the command: after the node task applies entries it
//! asks its state machine `TYPE key` for each key someone waits on (`node/mod.rs`,
//! `wake_blocked`), so a key filled by LPUSH, by a MULTI, by RENAME or by LMOVE wakes alike,
//! on whichever node it was written. A key holding the wrong type does not wake its waiter,
//! as in Redis. The road not taken: having the state machine report the keys each entry wrote
//! (from the command table's key positions) and waking only those waiters. That is less work
//! per entry with many waiters, but needs a new output from kv through the replica to the
//! host, and a park that lands just after the write it waited for would need the state look
//! anyway; one rule (look at the keys waited on) serves both.
//!
//! Linearizability: a blocking command is never one operation the checker sees. Its tries are
//! plain LMPOP / LMOVE / ZMPOP writes, each its own log entry, linearized where it applies, and
//! a try that found nothing changed nothing. Parking is local to one node, outside the log:
//! the replicated state machine and the checker's model are unaffected.
//!
//! What differs from Redis: Redis pops for a waiter inside the command that filled its key,
//! before answering that command; here the push is answered when its entry applies and the
//! waiter's retry is a later entry, so a client that reads right after its push may still see
//! the element (the suite's "Circular BRPOPLPUSH" checks exactly that). Closing that gap means
//! parking through the log (the state machine would pop for its waiters in the push's own
//! entry), which puts every node's waiting clients into the replicated state; not done.
//! Past [`crate::clients::parked::PARKED_MAX`] clients parked on one node, a blocking command
//! that finds its keys empty answers an error at once instead of parking.
//!
//! Fairness and its limit: on one node, clients are woken oldest first and the next only once
//! the previous has popped (or lost, or gone), so an element goes to the client that waited
//! longest, as in Redis. Across nodes there is no order: two clients parked on different nodes
//! race through the log, and the loser parks again (keeping its place on its node).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kv::{Body, Command};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::oneshot;

use crate::clients::connection::{Clients, Conn};
use crate::clients::parked::{Kind, Wake};
use crate::clients::resp::Frame;
use crate::clients::session::{is_no_session, shutting_down, stopped, Session};
use crate::clients::writer::Slot;

/// Most bytes the reader takes from the socket while its client is blocked (what a client
/// pipelines behind a blocking command); past it the reader stops reading until it wakes.
const BLOCKED_READ_BYTES_MAX: usize = 1 << 20;

/// The commands of this module, as the connection table names them.
pub const NAMES: &[&str] = &[
    "blmove",
    "blmpop",
    "blpop",
    "brpop",
    "brpoplpush",
    "bzmpop",
    "bzpopmax",
    "bzpopmin",
];

/// A blocking command, parsed: what to try, what to wait on, how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocking {
    /// The non-blocking form tried through the log (LMPOP, LMOVE, ZMPOP).
    pub command: Command,
    /// The keys it waits on (the sources).
    pub keys: Vec<Bytes>,
    /// What those keys must hold.
    pub kind: Kind,
    /// How long to wait; `None` waits forever (a timeout of 0).
    pub timeout: Option<Duration>,
    /// How the non-blocking form's reply becomes the blocking command's.
    pub reshape: Reshape,
}

/// From the non-blocking form's reply to the blocking command's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reshape {
    /// As it is (BLMPOP, BZMPOP, BLMOVE, BRPOPLPUSH).
    Plain,
    /// `[key, [e]]` ──► `[key, e]` (BLPOP, BRPOP).
    KeyElement,
    /// `[key, [[m, s]]]` ──► `[key, m, s]` (BZPOPMIN, BZPOPMAX).
    KeyMemberScore,
}

impl Reshape {
    /// The blocking command's reply for the non-blocking form's `frame` (nils and errors as
    /// they are).
    pub fn apply(self, frame: Frame) -> Frame {
        let Frame::Array(mut outer) = frame else {
            return frame;
        };
        let inner = match (self, outer.as_mut_slice()) {
            (Reshape::Plain, _) => None,
            (_, [_, Frame::Array(items)]) if items.len() == 1 => items.pop(),
            _ => None,
        };
        match (self, inner) {
            (Reshape::KeyElement, Some(element)) => {
                outer.truncate(1);
                outer.push(element);
            }
            (Reshape::KeyMemberScore, Some(Frame::Array(pair))) => {
                outer.truncate(1);
                outer.extend(pair);
            }
            _ => {}
        }
        Frame::Array(outer)
    }
}

/// Parse blocking command `name` (a row of the connection table, arity checked) with `args`:
/// the `Blocking` to run, or the error frame to answer (Redis' texts, in Redis' order of
/// checks).
pub fn parse(name: &str, args: &[Bytes]) -> Result<Blocking, Frame> {
    let word = |s: &str| Bytes::from(s.to_string());
    let (last, init) = args
        .split_last()
        .expect("arity checked: at least two arguments");
    let (words, keys, kind, reshape, timeout) = match name {
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            let timeout = timeout(last)?;
            let (op, end, kind, reshape) = match name {
                "blpop" => ("lmpop", "LEFT", Kind::List, Reshape::KeyElement),
                "brpop" => ("lmpop", "RIGHT", Kind::List, Reshape::KeyElement),
                "bzpopmin" => ("zmpop", "MIN", Kind::ZSet, Reshape::KeyMemberScore),
                _ => ("zmpop", "MAX", Kind::ZSet, Reshape::KeyMemberScore),
            };
            let mut words = vec![word(op), word(&init.len().to_string())];
            words.extend(init.iter().cloned());
            words.push(word(end));
            (words, init.to_vec(), kind, reshape, timeout)
        }
        "blmpop" | "bzmpop" => {
            let timeout = timeout(&args[0])?;
            let (op, kind) = match name {
                "blmpop" => ("lmpop", Kind::List),
                _ => ("zmpop", Kind::ZSet),
            };
            let mut words = vec![word(op)];
            words.extend(args[1..].iter().cloned());
            // Wrong numkeys is the try's error to answer; only a good one can park.
            let numkeys = std::str::from_utf8(&args[1]).ok();
            let numkeys = numkeys.and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
            let keys = args[2..].iter().take(numkeys).cloned().collect();
            (words, keys, kind, Reshape::Plain, timeout)
        }
        "blmove" | "brpoplpush" => {
            let ends = match name {
                "blmove" => [end(&args[2])?, end(&args[3])?],
                _ => [word("RIGHT"), word("LEFT")],
            };
            let timeout = timeout(last)?;
            let words = vec![word("lmove"), args[0].clone(), args[1].clone()];
            let words = words.into_iter().chain(ends).collect();
            (
                words,
                vec![args[0].clone()],
                Kind::List,
                Reshape::Plain,
                timeout,
            )
        }
        other => unreachable!("'{other}' is not a blocking command"),
    };
    let command = Command::from_words(words).map_err(|e| Frame::error(e.code(), &e))?;
    Ok(Blocking {
        command,
        keys,
        kind,
        timeout,
        reshape,
    })
}

/// LEFT or RIGHT, as BLMOVE checks them before its timeout.
fn end(arg: &Bytes) -> Result<Bytes, Frame> {
    match arg.to_ascii_uppercase().as_slice() {
        b"LEFT" | b"RIGHT" => Ok(arg.clone()),
        _ => Err(Frame::error("ERR", "syntax error")),
    }
}

/// A timeout in seconds (a float; 0 is forever), with Redis' errors
/// (`getTimeoutFromObjectOrReply`): milliseconds rounded up, as Redis rounds them.
pub fn timeout(arg: &[u8]) -> Result<Option<Duration>, Frame> {
    let not_float = || Frame::error("ERR", "timeout is not a float or out of range");
    let text = std::str::from_utf8(arg).map_err(|_| not_float())?;
    let starts_clean = text.chars().next().is_some_and(|c| !c.is_whitespace());
    let seconds: f64 = text
        .parse()
        .ok()
        .filter(|s: &f64| starts_clean && !s.is_nan())
        .ok_or_else(not_float)?;
    let ms = (seconds * 1000.0).ceil();
    // Redis adds the timeout to its clock (milliseconds since 1970, far below i64::MAX / 2)
    // in a signed 64 bits and refuses what overflows: the same bound, give or take that clock.
    if ms >= i64::MAX as f64 / 2.0 {
        return Err(Frame::error("ERR", "timeout is out of range"));
    }
    if ms < 0.0 {
        return Err(Frame::error("ERR", "timeout is negative"));
    }
    Ok((ms > 0.0).then(|| Duration::from_millis(ms as u64)))
}

/// How a parked client's wait ended.
enum Waited {
    /// Woken: retry.
    Ready,
    /// The timeout passed, or CLIENT UNBLOCK [TIMEOUT].
    Timeout,
    /// CLIENT UNBLOCK ERROR.
    Unblocked,
    /// The client closed its socket.
    Gone,
}

impl Clients {
    /// A blocking command outside MULTI, as the reader runs it: it reads nothing else from the
    /// client until this answers (as Redis), but still sees the client close. `Slot::Close`
    /// when the client went while parked.
    pub(crate) async fn block_slot(
        &self,
        b: &Blocking,
        conn: &mut Conn,
        rd: &mut OwnedReadHalf,
        buf: &mut BytesMut,
    ) -> Slot {
        conn.order.before(false).await;
        let answer = self.block(b, conn.id, &conn.session, rd, buf).await;
        answer.map_or(Slot::Close(Frame::NullArray), Slot::Ready)
    }

    /// Run `b` for connection `conn` until it pops, times out, is unblocked, or the client goes
    /// (the module docs). `None` when the client has gone: the reader stops.
    pub(crate) async fn block(
        &self,
        b: &Blocking,
        conn: u64,
        session: &std::sync::Mutex<Session>,
        rd: &mut OwnedReadHalf,
        buf: &mut BytesMut,
    ) -> Option<Frame> {
        // A deadline past what the clock can hold is as good as none.
        let deadline = b
            .timeout
            .and_then(|t| tokio::time::Instant::now().checked_add(t));
        let mut age = None;
        let answer = loop {
            let frame = self.try_pop(&b.command, session).await;
            if !matches!(frame, Frame::Null | Frame::NullArray) {
                break Some(b.reshape.apply(frame));
            }
            let rx = match self.parked.park(conn, &b.keys, b.kind, age) {
                Ok((first, rx)) => {
                    age = Some(first);
                    rx
                }
                Err(refused) => break Some(refused),
            };
            match wait(rx, deadline, rd, buf).await {
                Waited::Ready => continue,
                Waited::Timeout => break Some(frame),
                Waited::Unblocked => {
                    let why = "client unblocked via CLIENT UNBLOCK";
                    break Some(Frame::error("UNBLOCKED", why));
                }
                Waited::Gone => break None,
            }
        };
        self.parked.done(conn);
        answer
    }

    /// One try of the non-blocking form, a write in the connection's session.
    async fn try_pop(&self, command: &Command, session: &std::sync::Mutex<Session>) -> Frame {
        let body = Body::One(command.clone());
        let (tx, rx) = oneshot::channel();
        if !self.send_in_session(session, body.clone(), false, tx).await {
            return shutting_down();
        }
        let frame = rx.await.unwrap_or_else(|_| stopped());
        if is_no_session(&frame) {
            return self.resend_in_fresh_session(session, body).await;
        }
        frame
    }
}

/// Wait for a wake-up, the deadline, or the client closing its socket (bytes it pipelines
/// meanwhile are kept in `buf` for after, up to `BLOCKED_READ_BYTES_MAX`).
async fn wait(
    mut rx: oneshot::Receiver<Wake>,
    deadline: Option<tokio::time::Instant>,
    rd: &mut OwnedReadHalf,
    buf: &mut BytesMut,
) -> Waited {
    let sleep = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            wake = &mut rx => return match wake {
                Ok(Wake::Ready) => Waited::Ready,
                Ok(Wake::Timeout) => Waited::Timeout,
                Ok(Wake::Error) => Waited::Unblocked,
                // Dropped unsent only if its waiter was replaced: look again.
                Err(_) => Waited::Ready,
            },
            _ = &mut sleep => return Waited::Timeout,
            read = rd.read_buf(buf), if buf.len() < BLOCKED_READ_BYTES_MAX => match read {
                Ok(0) | Err(_) => return Waited::Gone,
                Ok(_) => continue,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[&str]) -> Vec<Bytes> {
        ws.iter().map(|w| Bytes::from(w.to_string())).collect()
    }

    fn tried(name: &str, args: &[&str]) -> String {
        let b = parse(name, &words(args)).expect("parses");
        let mut out = vec![b.command.name().to_string()];
        out.extend(
            b.command
                .args()
                .iter()
                .map(|a| String::from_utf8_lossy(a).into()),
        );
        out.join(" ")
    }

    #[test]
    fn each_blocking_command_tries_its_non_blocking_form() {
        assert_eq!(tried("blpop", &["a", "b", "0"]), "lmpop 2 a b LEFT");
        assert_eq!(tried("brpop", &["a", "1.5"]), "lmpop 1 a RIGHT");
        assert_eq!(
            tried("brpoplpush", &["s", "d", "0"]),
            "lmove s d RIGHT LEFT"
        );
        assert_eq!(
            tried("blmove", &["s", "d", "left", "right", "0"]),
            "lmove s d left right"
        );
        assert_eq!(
            tried("blmpop", &["0", "2", "a", "b", "LEFT", "COUNT", "3"]),
            "lmpop 2 a b LEFT COUNT 3"
        );
        assert_eq!(tried("bzpopmax", &["z", "0"]), "zmpop 1 z MAX");
        assert_eq!(tried("bzmpop", &["1", "1", "z", "MIN"]), "zmpop 1 z MIN");
        let b = parse("blmpop", &words(&["0", "2", "a", "b", "LEFT"])).unwrap();
        assert_eq!(b.keys, words(&["a", "b"]));
        assert_eq!(b.timeout, None);
    }

    #[test]
    fn timeouts_are_seconds_rounded_up_to_milliseconds_with_redis_errors() {
        assert_eq!(timeout(b"0"), Ok(None));
        assert_eq!(timeout(b"0.0001"), Ok(Some(Duration::from_millis(1))));
        assert_eq!(timeout(b"1.5"), Ok(Some(Duration::from_millis(1500))));
        let error = |arg: &[u8]| match timeout(arg) {
            Err(Frame::Error(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(error(b"-1"), "ERR timeout is negative");
        assert_eq!(error(b"abc"), "ERR timeout is not a float or out of range");
        assert_eq!(error(b" 1"), "ERR timeout is not a float or out of range");
        assert_eq!(error(b"1e300"), "ERR timeout is out of range");
        let b = parse("blmove", &words(&["s", "d", "UP", "LEFT", "-1"])).unwrap_err();
        assert_eq!(
            b,
            Frame::error("ERR", "syntax error"),
            "ends before timeout"
        );
    }

    #[test]
    fn replies_take_the_blocking_command_s_shape_and_nils_stay_nil() {
        let b = |s: &str| Frame::bulk(s.to_string());
        let lmpop = Frame::Array(vec![b("k"), Frame::Array(vec![b("e")])]);
        assert_eq!(
            Reshape::KeyElement.apply(lmpop.clone()),
            Frame::Array(vec![b("k"), b("e")])
        );
        assert_eq!(Reshape::Plain.apply(lmpop.clone()), lmpop);
        let pair = Frame::Array(vec![b("m"), Frame::Double(Bytes::from("1.5"))]);
        let zmpop = Frame::Array(vec![b("z"), Frame::Array(vec![pair])]);
        assert_eq!(
            Reshape::KeyMemberScore.apply(zmpop),
            Frame::Array(vec![b("z"), b("m"), Frame::Double(Bytes::from("1.5"))])
        );
        assert_eq!(
            Reshape::KeyElement.apply(Frame::NullArray),
            Frame::NullArray
        );
    }
}
