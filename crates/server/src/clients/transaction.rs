//! MULTI / EXEC / DISCARD / WATCH on one connection: the queue, the watch, and how EXEC's one
//! log entry becomes the reply the client expects.
//!
//! ```text
//!   MULTI ──► Multi{queue=[], aborted=false}                            +OK
//!   SET k v ──► checked as Redis checks at queue time (name, arity) ──► +QUEUED, queue += Kv
//!   PING ───► answered now, kept for its place in EXEC's array ───────► +QUEUED, queue += Local
//!   NOSUCH ─► the error, and aborted = true ──────────────────────────► -ERR unknown command …
//!   EXEC ──┬─ aborted ─────────────────────────────────────────────────► -EXECABORT …
//!          ├─ no kv command and no WATCH ─────────────────────────────► [the local answers]
//!          └─ Body::Exec{watched, since, kv commands} ──► ONE log entry on the leader
//!               the state machine: a watched key changed after `since` ──► *-1 (nothing ran)
//!                                  else every command, in order, at one index ──► [replies]
//!             Shape::Exec merges the local answers back in, in queue order
//!
//!   WATCH k… (outside MULTI) ──► DISTRIBUTED.INDEX through the linearizable read path
//!        ──► Watch{keys, since = the index that read saw}; EXEC carries both; EXEC, DISCARD,
//!            UNWATCH and RESET forget it
//! ```
//!
//! Nothing queued is applied outside its EXEC: the queue lives here, in the connection, and
//! only EXEC turns it into a request. A queued command that Redis would refuse at queue time
//! (unknown, wrong arity) aborts the transaction as in Redis, so EXEC applies nothing.
//!
//! WATCH is judged by the state machine against key versions (kv `db.rs`), at the index the
//! EXEC entry applies. A second WATCH before EXEC keeps the first one's `since` (one index per
//! EXEC): a key watched later is judged from the earlier index, so EXEC may abort where Redis
//! would not, never the other way round; the client retries, as after any WATCH conflict.
//!
//! Bounds: a transaction queues at most `commands_per_transaction_max` commands and about
//! `request_bytes_max` bytes of arguments (kv's limits: EXEC must fit one log entry); a
//! connection watches at most `args_per_command_max` keys of at most `key_bytes_max` bytes.

use bytes::Bytes;
use kv::{Body, Command, Limits};

use crate::clients::blocking::Reshape;
use crate::clients::pubsub::Hub;
use crate::clients::resp::Frame;

/// Room per command in the encoded request beyond its arguments: the word count and lengths.
const COMMAND_OVERHEAD_BYTES: usize = 64;

/// One queued command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Queued {
    /// A keyspace command: it runs in EXEC's log entry.
    Kv(Command),
    /// A connection command answered when it was queued (PING, ECHO, …): its answer takes its
    /// place in EXEC's array.
    Local(Frame),
    /// A blocking pop's non-blocking form (BLPOP's LMPOP): it runs in EXEC's log entry, never
    /// waits, and its reply takes the blocking command's shape (`blocking.rs`).
    Blocking(Command, Reshape),
}

/// An open transaction: what MULTI started.
#[derive(Debug, Default)]
pub struct Multi {
    /// The queue, in order.
    queued: Vec<Queued>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    aborted: bool,
    /// Bytes the kv commands' arguments will take in the log entry, roughly.
    bytes: usize,
}

impl Multi {
    /// How many commands are queued (what `CLIENT LIST` shows as `multi=`).
    pub fn len(&self) -> usize {
        self.queued.len()
    }

    /// True before the first queued command.
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    /// A command was refused inside MULTI: EXEC must fail (Redis' `flagTransaction`).
    pub fn abort(&mut self) {
        self.aborted = true;
    }

    /// Queue `item`: `+QUEUED`, or the error that refuses it (and aborts the transaction)
    /// when the transaction would no longer fit one log entry.
    pub fn queue(&mut self, item: Queued, limits: &Limits) -> Frame {
        let bytes = match &item {
            Queued::Kv(c) | Queued::Blocking(c, _) => {
                COMMAND_OVERHEAD_BYTES + c.args().iter().map(Bytes::len).sum::<usize>()
            }
            Queued::Local(_) => 0,
        };
        let max = limits.commands_per_transaction_max;
        if self.queued.len() >= max {
            self.abort();
            let why = format!(
                "transaction too long: at most {max} commands (kv commands_per_transaction_max)"
            );
            return Frame::error("ERR", why);
        }
        if self.bytes + bytes > limits.request_bytes_max {
            self.abort();
            let max = limits.request_bytes_max;
            let why = format!(
                "transaction too large: its commands exceed {max} bytes (kv request_bytes_max)"
            );
            return Frame::error("ERR", why);
        }
        self.bytes += bytes;
        self.queued.push(item);
        Frame::Simple("QUEUED".into())
    }

    /// EXEC: what to answer at once, or the one request to send and how to shape its reply.
    pub fn exec(self, watch: Option<Watch>) -> Plan {
        if self.aborted {
            return Plan::Answer(Frame::error(
                "EXECABORT",
                "Transaction discarded because of previous errors.",
            ));
        }
        let mut commands = Vec::new();
        let mut parts = Vec::with_capacity(self.queued.len());
        for item in self.queued {
            match item {
                Queued::Kv(c) => {
                    parts.push(Part::Kv(publish_channel(&c)));
                    commands.push(c);
                }
                Queued::Local(frame) => parts.push(Part::Local(frame)),
                Queued::Blocking(c, reshape) => {
                    parts.push(Part::Reshaped(reshape));
                    commands.push(c);
                }
            }
        }
        if commands.is_empty() && watch.is_none() {
            let answers = parts.into_iter().filter_map(Part::into_local).collect();
            return Plan::Answer(Frame::Array(answers));
        }
        let (watched, since) = watch.map_or((Vec::new(), 0), |w| (w.keys, w.since));
        let body = Body::Exec {
            watched,
            since,
            commands,
        };
        Plan::Send {
            body,
            shape: Shape::Exec(parts),
        }
    }
}

/// What WATCH remembers until EXEC, DISCARD, UNWATCH or RESET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    /// The watched keys, each once.
    pub keys: Vec<Bytes>,
    /// The applied index the first WATCH read (see the module docs).
    pub since: u64,
}

impl Watch {
    /// The watch after `WATCH keys` read `index`, on top of `earlier`; an error if a bound
    /// would be crossed (nothing is watched then, and the earlier watch stays as it was).
    pub fn add(
        earlier: Option<&Watch>,
        keys: &[Bytes],
        index: u64,
        limits: &Limits,
    ) -> Result<Watch, Frame> {
        if let Some(long) = keys.iter().find(|k| k.len() > limits.key_bytes_max) {
            let why = format!(
                "WATCH key of {} bytes exceeds key_bytes_max {}",
                long.len(),
                limits.key_bytes_max
            );
            return Err(Frame::error("ERR", why));
        }
        let mut watch = earlier.cloned().unwrap_or(Watch {
            keys: Vec::new(),
            since: index,
        });
        watch.since = watch.since.min(index);
        for k in keys {
            if !watch.keys.contains(k) {
                watch.keys.push(k.clone());
            }
        }
        let max = limits.args_per_command_max;
        if watch.keys.len() > max {
            let why = format!("too many watched keys: at most {max} (kv args_per_command_max)");
            return Err(Frame::error("ERR", why));
        }
        Ok(watch)
    }
}

/// EXEC's outcome, decided on the connection.
#[derive(Debug)]
pub enum Plan {
    /// Answer this at once: EXECABORT, or a transaction with nothing for the log.
    Answer(Frame),
    /// Send `body` as one request; shape the reply with `shape`.
    Send {
        /// `Body::Exec`.
        body: Body,
        /// How the state machine's array becomes the client's.
        shape: Shape,
    },
}

/// One queued command's place in EXEC's reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// The next reply of the state machine's array; a PUBLISH names its channel.
    Kv(Option<Bytes>),
    /// Answered when queued.
    Local(Frame),
    /// The next reply of the state machine's array, in a blocking command's shape.
    Reshaped(Reshape),
}

impl Part {
    fn into_local(self) -> Option<Frame> {
        match self {
            Part::Local(frame) => Some(frame),
            Part::Kv(_) | Part::Reshaped(_) => None,
        }
    }
}

/// How the node's answer to a request becomes the frame the client gets (in the writer, once
/// the answer arrives).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// As it is.
    Plain,
    /// A PUBLISH on this channel: its count becomes this node's receivers.
    Publish(Bytes),
    /// An EXEC: the local answers go back in their places.
    Exec(Vec<Part>),
}

impl Shape {
    /// The shape of a single command's reply.
    pub fn of(command: &Command) -> Shape {
        publish_channel(command).map_or(Shape::Plain, Shape::Publish)
    }

    /// The client's frame for the node's answer `frame`.
    pub fn finish(self, frame: Frame, hub: &Hub) -> Frame {
        let receivers = |channel: &Bytes| Frame::Integer(hub.receivers(channel) as i64);
        match (self, frame) {
            (Shape::Publish(channel), Frame::Integer(_)) => receivers(&channel),
            (Shape::Exec(parts), Frame::Array(replies)) => {
                let kv = parts
                    .iter()
                    .filter(|p| matches!(p, Part::Kv(_) | Part::Reshaped(_)))
                    .count();
                if kv != replies.len() {
                    let why = format!(
                        "EXEC got {} replies for {kv} queued commands",
                        replies.len()
                    );
                    return Frame::error("ERR", why);
                }
                let mut replies = replies.into_iter();
                let merged = parts.into_iter().map(|part| match part {
                    Part::Local(frame) => frame,
                    Part::Reshaped(reshape) => reshape.apply(replies.next().unwrap_or(Frame::Null)),
                    Part::Kv(channel) => match (replies.next(), channel) {
                        (Some(Frame::Integer(_)), Some(channel)) => receivers(&channel),
                        (reply, _) => reply.unwrap_or(Frame::Null),
                    },
                });
                Frame::Array(merged.collect())
            }
            (_, frame) => frame, // *-1 (a WATCH conflict), an error, or a plain reply
        }
    }
}

/// The channel of a PUBLISH command.
fn publish_channel(command: &Command) -> Option<Bytes> {
    (command.name() == "publish").then(|| command.args()[0].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::from(s.to_string())
    }

    fn queued() -> Frame {
        Frame::Simple("QUEUED".into())
    }

    #[test]
    fn exec_sends_the_kv_commands_as_one_body_and_merges_local_answers_in_order() {
        let limits = Limits::default();
        let mut multi = Multi::default();
        assert_eq!(
            multi.queue(Queued::Kv(Command::set("a", "1")), &limits),
            queued()
        );
        assert_eq!(
            multi.queue(Queued::Local(Frame::Simple("PONG".into())), &limits),
            queued()
        );
        assert_eq!(
            multi.queue(Queued::Kv(Command::get("a")), &limits),
            queued()
        );
        let Plan::Send { body, shape } = multi.exec(None) else {
            panic!("kv commands go to the log")
        };
        let Body::Exec {
            watched, commands, ..
        } = &body
        else {
            panic!("one Exec body")
        };
        assert!(watched.is_empty());
        assert_eq!(commands.len(), 2);
        let answer = Frame::Array(vec![Frame::ok(), Frame::bulk("1")]);
        let merged = shape.finish(answer, &Hub::default());
        assert_eq!(
            merged,
            Frame::Array(vec![
                Frame::ok(),
                Frame::Simple("PONG".into()),
                Frame::bulk("1")
            ])
        );
        assert_eq!(
            Shape::Exec(vec![Part::Kv(None)]).finish(Frame::NullArray, &Hub::default()),
            Frame::NullArray
        );
    }

    #[test]
    fn a_refused_command_aborts_and_exec_applies_nothing() {
        let mut multi = Multi::default();
        multi.queue(Queued::Kv(Command::set("a", "1")), &Limits::default());
        multi.abort();
        let Plan::Answer(frame) = multi.exec(None) else {
            panic!("nothing is sent")
        };
        assert_eq!(
            frame,
            Frame::Error("EXECABORT Transaction discarded because of previous errors.".into())
        );
    }

    #[test]
    fn a_transaction_that_would_not_fit_one_log_entry_is_refused_while_queueing() {
        let limits = Limits {
            commands_per_transaction_max: 2,
            ..Limits::default()
        };
        let mut multi = Multi::default();
        multi.queue(Queued::Kv(Command::get("a")), &limits);
        multi.queue(Queued::Kv(Command::get("b")), &limits);
        let refused = multi.queue(Queued::Kv(Command::get("c")), &limits);
        assert!(refused.is_error(), "{refused}");
        assert!(
            matches!(multi.exec(None), Plan::Answer(Frame::Error(e)) if e.starts_with("EXECABORT"))
        );
    }

    #[test]
    fn an_exec_with_a_watch_goes_to_the_log_even_without_kv_commands() {
        let watch = Watch::add(None, &[b("k")], 40, &Limits::default()).unwrap();
        let Plan::Send { body, .. } = Multi::default().exec(Some(watch)) else {
            panic!("the watch is judged by the state machine")
        };
        assert_eq!(
            body,
            Body::Exec {
                watched: vec![b("k")],
                since: 40,
                commands: vec![]
            }
        );
        assert_eq!(
            Multi::default().exec(None).answer(),
            Some(Frame::Array(vec![]))
        );
    }

    #[test]
    fn a_second_watch_keeps_the_earlier_index_and_each_key_once() {
        let limits = Limits::default();
        let first = Watch::add(None, &[b("a")], 10, &limits).unwrap();
        let both = Watch::add(Some(&first), &[b("b"), b("a")], 20, &limits).unwrap();
        assert_eq!(
            both,
            Watch {
                keys: vec![b("a"), b("b")],
                since: 10
            }
        );
        let small = Limits {
            args_per_command_max: 1,
            ..limits
        };
        assert!(Watch::add(Some(&first), &[b("b")], 30, &small).is_err());
    }

    impl Plan {
        fn answer(self) -> Option<Frame> {
            match self {
                Plan::Answer(frame) => Some(frame),
                Plan::Send { .. } => None,
            }
        }
    }
}
