//! Helpers shared by the integration tests: a tiny log driver, reply builders, and (in
//! `arb.rs`) the proptest strategies.
#![allow(dead_code)] // each test binary uses a different subset

mod arb;
#[allow(unused_imports)] // not every test binary generates commands
pub use arb::*;

use bytes::Bytes;
use kv::{Command, Config, Reply, Request, StateMachine};

/// Bytes from a string literal, for readable tests.
pub fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// A state machine plus the next log index, so tests read as a sequence of commits.
pub struct Log {
    pub sm: StateMachine,
    pub next_index: u64,
}

impl Log {
    pub fn new() -> Self {
        Self::with(Config::default())
    }

    pub fn with(config: Config) -> Self {
        Log {
            sm: StateMachine::new(config).expect("valid config"),
            next_index: 1,
        }
    }

    /// Commit raw entry bytes at the next index.
    pub fn commit(&mut self, data: &[u8]) -> Reply {
        let index = self.next_index;
        self.next_index += 1;
        self.sm.apply(index, data)
    }

    /// Commit a request at the next index.
    pub fn request(&mut self, client_id: u64, seq: u64, command: Command) -> Reply {
        self.commit(&Request::in_session(client_id, seq, command).encode())
    }

    /// Commit a command with no session.
    pub fn run(&mut self, command: Command) -> Reply {
        self.commit(&Request::once(command).encode())
    }

    /// Commit a command with no session, stamped with log time `time_ms`.
    pub fn run_at(&mut self, time_ms: u64, command: Command) -> Reply {
        let mut request = Request::once(command);
        request.time_ms = time_ms;
        self.commit(&request.encode())
    }
}

/// A status reply (`+string`).
pub fn status(s: &str) -> Reply {
    Reply::Status(b(s))
}

/// An array of bulk strings.
pub fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| value(s)).collect())
}

/// A command from its words: `cmd(&["set", "k", "v", "NX"])`.
pub fn cmd(words: &[&str]) -> Command {
    Command::from_words(words.iter().map(|w| b(w)).collect()).expect("a valid command")
}

pub fn get(key: &str) -> Command {
    Command::get(b(key))
}

pub fn put(key: &str, value: &str) -> Command {
    Command::set(b(key), b(value))
}

pub fn incr(key: &str, by: i64) -> Command {
    Command::incr_by(b(key), by)
}

pub fn value(s: &str) -> Reply {
    Reply::Bulk(b(s))
}

/// An array of bulk strings.
pub fn array(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| value(s)).collect())
}

/// A RESP3 set of bulk strings (members in byte order).
pub fn set_of(items: &[&str]) -> Reply {
    Reply::Set(items.iter().map(|s| value(s)).collect())
}

/// An array of integers.
pub fn ints(items: &[i64]) -> Reply {
    Reply::Array(items.iter().map(|n| Reply::Int(*n)).collect())
}

/// A double, as the text Redis prints for it.
pub fn double(text: &str) -> Reply {
    Reply::Double(b(text))
}

/// An error reply with Redis' `ERR` code.
pub fn err(message: &str) -> Reply {
    Reply::error("ERR", message)
}

/// `WRONGTYPE`, as `Log::cmd` shows it.
pub fn wrong_type() -> Reply {
    let e = kv::KvError::WrongType;
    Reply::error(e.code(), e.to_string())
}

/// `reply` with an error shown as its code and text, as a client sees it, so tests compare
/// errors with `err("…")` whichever variant carries them.
pub fn as_seen(reply: Reply) -> Reply {
    match reply {
        Reply::Error(e) => Reply::error(e.code(), e.to_string()),
        other => other,
    }
}

impl Log {
    /// Commit the command whose words are `words`; errors as a client sees them.
    pub fn cmd(&mut self, words: &[&str]) -> Reply {
        as_seen(self.run(cmd(words)))
    }

    /// Commit the command whose words are `words`, stamped with log time `time_ms`; errors as
    /// a client sees them.
    pub fn cmd_at(&mut self, time_ms: u64, words: &[&str]) -> Reply {
        as_seen(self.run_at(time_ms, cmd(words)))
    }

    /// Answer the command whose words are `words` on the read path, without the log, with
    /// random seed 0 (a test's reads pick alike on every run).
    pub fn read(&self, words: &[&str]) -> Reply {
        self.read_seeded(0, words)
    }

    /// The same, with the random picks (SRANDMEMBER…) starting from `random_seed`.
    pub fn read_seeded(&self, random_seed: u64, words: &[&str]) -> Reply {
        as_seen(self.sm.read(&cmd(words), random_seed))
    }
}

/// The reply of `words` after `setup`, checking that it changed nothing: a machine that ran
/// it ends with the digest of one that ran `DISTRIBUTED.NOOP` in its place.
pub fn reply_changing_nothing(setup: &[&[&str]], words: &[&str]) -> Reply {
    let (mut tried, mut idle) = (Log::new(), Log::new());
    for s in setup {
        tried.cmd(s);
        idle.cmd(s);
    }
    let reply = tried.cmd(words);
    idle.cmd(&["distributed.noop"]);
    assert_eq!(
        tried.sm.digest(),
        idle.sm.digest(),
        "{words:?} changed nothing"
    );
    reply
}

/// The `[1|0, current]` reply of `CAS`.
pub fn cas_reply(ok: bool, current: Option<&str>) -> Reply {
    Reply::Array(vec![
        Reply::Int(i64::from(ok)),
        Reply::bulk_or_null(current.map(b)),
    ])
}
