//! Who is connected to this node, for `CLIENT LIST` / `CLIENT INFO`, and the `CLIENT` and
//! `HELLO` replies built from a connection's own entry.
//!
//! ```text
//!   accept ──► Registry::join(id, addr, laddr) ──► Arc<Mutex<ClientInfo>> (the connection's)
//!   every command ──► the reader updates its entry: last command, time, proto, subs, multi
//!   CLIENT LIST ──► one line per entry:  id=7 addr=127.0.0.1:50100 laddr=127.0.0.1:6379
//!                   name=app age=3 idle=0 flags=N db=0 sub=1 psub=0 ssub=0 multi=-1 … resp=2
//!   close ──► Registry::leave(id)
//!   CLIENT UNBLOCK id [TIMEOUT|ERROR] ──► parked.rs: wakes that client if a blocking command
//!                   parked it (1) or not (0); CLIENT LIST flags `b` while it is blocked
//! ```
//!
//! `id` is the connection's number on this node (what `CLIENT ID` and `HELLO` answer), stable
//! for the connection's life; the kv session id its writes carry may change (a fresh session
//! after `NOSESSION`, see `connection.rs`), so it is not the one shown.
//!
//! Bound: one entry per open connection, removed when it closes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;

use crate::clients::parked::{Parked, Wake};
use crate::clients::resp::{Frame, Proto};

/// What `CLIENT LIST` shows of one connection.
#[derive(Clone, Debug)]
pub struct ClientInfo {
    /// The connection's number on this node.
    pub id: u64,
    /// The client's address.
    pub addr: SocketAddr,
    /// This node's address the client connected to.
    pub laddr: SocketAddr,
    /// The socket's file descriptor in this process.
    pub fd: i32,
    /// Bytes read from the socket and not yet parsed into a command (`qbuf`: a partial
    /// frame), and the room left in that buffer (`qbuf-free`), before the next read.
    pub qbuf: (usize, usize),
    /// Replies owed to the client and not yet handed to the socket (`oll`): commands read
    /// whose answers are still awaited or queued, as of the last command.
    pub oll: u64,
    /// When it connected (`age`).
    pub created: Instant,
    /// When its last command arrived (`idle`).
    pub last_at: Instant,
    /// Its last command's name (`cmd`).
    pub last_command: &'static str,
    /// `CLIENT SETNAME` / `HELLO SETNAME`.
    pub name: Option<Bytes>,
    /// `CLIENT SETINFO LIB-NAME`.
    pub lib_name: Option<Bytes>,
    /// `CLIENT SETINFO LIB-VER`.
    pub lib_ver: Option<Bytes>,
    /// The RESP version it speaks.
    pub proto: Proto,
    /// Channels subscribed.
    pub sub: usize,
    /// Patterns subscribed.
    pub psub: usize,
    /// Commands queued, while in MULTI.
    pub multi: Option<usize>,
    /// After READONLY.
    pub readonly: bool,
}

impl ClientInfo {
    /// The `CLIENT LIST` line, Redis 7's fields in Redis' order. Those this server does not
    /// measure are 0 (`argv-mem multi-mem rbs rbp obl omem tot-mem`: Redis' own buffer
    /// accounting) rather than left out, since clients parse them (redis-py's `client_list`).
    pub fn line(&self, now: Instant, blocked: bool) -> String {
        let text = |b: &Option<Bytes>| {
            b.as_ref()
                .map_or(String::new(), |b| String::from_utf8_lossy(b).into_owned())
        };
        let mut flags = String::new();
        if blocked {
            flags.push('b');
        }
        if self.multi.is_some() {
            flags.push('x');
        }
        if self.sub + self.psub > 0 {
            flags.push('P');
        }
        if self.readonly {
            flags.push('r');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let multi = self.multi.map_or(-1, |n| n as i64);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db=0 sub={} \
             psub={} ssub=0 multi={multi} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=0 \
             rbp=0 obl=0 oll={} omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 \
             resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            text(&self.name),
            now.duration_since(self.created).as_secs(),
            now.duration_since(self.last_at).as_secs(),
            self.sub,
            self.psub,
            self.qbuf.0,
            self.qbuf.1,
            self.oll,
            self.last_command,
            self.proto.number(),
            text(&self.lib_name),
            text(&self.lib_ver),
        )
    }
}

/// Every open connection of this node.
#[derive(Debug, Default)]
pub struct Registry {
    /// By connection id.
    conns: Mutex<BTreeMap<u64, Arc<Mutex<ClientInfo>>>>,
    /// The clients parked by blocking commands: CLIENT UNBLOCK, and flag `b` in CLIENT LIST.
    parked: Arc<Parked>,
}

/// One connection's entry, shared by its reader and the registry.
pub type Entry = Arc<Mutex<ClientInfo>>;

impl Registry {
    /// No connections yet; `parked` is the node's blocked clients.
    pub fn new(parked: Arc<Parked>) -> Registry {
        Registry {
            conns: Mutex::default(),
            parked,
        }
    }

    /// A connection opened.
    pub fn join(&self, id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i32) -> Entry {
        let now = Instant::now();
        let info = ClientInfo {
            id,
            addr,
            laddr,
            fd,
            qbuf: (0, 0),
            oll: 0,
            created: now,
            last_at: now,
            last_command: "NULL",
            name: None,
            lib_name: None,
            lib_ver: None,
            proto: Proto::Resp2,
            sub: 0,
            psub: 0,
            multi: None,
            readonly: false,
        };
        let entry = Arc::new(Mutex::new(info));
        self.lock().insert(id, Arc::clone(&entry));
        entry
    }

    /// A connection closed.
    pub fn leave(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Entry>> {
        self.conns.lock().expect("no registry lock holder panics")
    }

    /// The reply to `CLIENT args…` from the connection `me`.
    pub fn client(&self, me: &Entry, args: &[Bytes]) -> Frame {
        let sub = args[0].to_ascii_lowercase();
        let now = Instant::now();
        match (sub.as_slice(), &args[1..]) {
            (b"id", []) => Frame::Integer(lock(me).id as i64),
            (b"info", []) => Frame::bulk(self.line(me, now) + "\n"),
            (b"list", []) => {
                let all: Vec<Entry> = self.lock().values().cloned().collect();
                let lines: String = all.iter().map(|e| self.line(e, now) + "\n").collect();
                Frame::bulk(lines)
            }
            (b"unblock", [id, how @ ..]) if how.len() <= 1 => self.unblock(id, how.first()),
            (b"getname", []) => lock(me).name.clone().map_or(Frame::Null, Frame::Bulk),
            (b"setname", [name]) => match valid_name(name) {
                Ok(name) => {
                    lock(me).name = name;
                    Frame::ok()
                }
                Err(e) => e,
            },
            (b"setinfo", [attr, value]) => set_info(me, attr, value),
            _ => Frame::error(
                "ERR",
                format!(
                    "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                    String::from_utf8_lossy(&args[0])
                ),
            ),
        }
    }
}

impl Registry {
    fn line(&self, entry: &Entry, now: Instant) -> String {
        let info = lock(entry);
        info.line(now, self.parked.is_blocked(info.id))
    }

    /// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: 1 if that client was parked (it answers as if
    /// timed out, or `-UNBLOCKED`), 0 if not.
    fn unblock(&self, id: &Bytes, how: Option<&Bytes>) -> Frame {
        let id = std::str::from_utf8(id)
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        let Some(id) = id else {
            return Frame::error("ERR", "value is not an integer or out of range");
        };
        let how = match how.map(|h| h.to_ascii_lowercase()).as_deref() {
            None | Some(b"timeout") => Wake::Timeout,
            Some(b"error") => Wake::Error,
            Some(_) => {
                let why = "CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
                return Frame::error("ERR", why);
            }
        };
        Frame::Integer(i64::from(self.parked.unblock(id, how)))
    }
}

/// Lock one connection's entry.
pub fn lock(entry: &Entry) -> std::sync::MutexGuard<'_, ClientInfo> {
    entry.lock().expect("no client entry lock holder panics")
}

/// A client name as Redis accepts it: printable ASCII without spaces; empty unsets it.
pub fn valid_name(name: &Bytes) -> Result<Option<Bytes>, Frame> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Frame::error(
            "ERR",
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok((!name.is_empty()).then(|| name.clone()))
}

/// `CLIENT SETINFO LIB-NAME|LIB-VER value` (what redis-py 5 sends on connect).
fn set_info(me: &Entry, attr: &Bytes, value: &Bytes) -> Frame {
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Frame::error(
            "ERR",
            format!(
                "{} cannot contain spaces, newlines or special characters.",
                String::from_utf8_lossy(attr)
            ),
        );
    }
    let mut info = lock(me);
    match attr.to_ascii_lowercase().as_slice() {
        b"lib-name" => info.lib_name = Some(value.clone()),
        b"lib-ver" => info.lib_ver = Some(value.clone()),
        _ => {
            return Frame::error(
                "ERR",
                format!("Unrecognized option '{}'", String::from_utf8_lossy(attr)),
            )
        }
    }
    Frame::ok()
}

/// The `HELLO` reply: the server's facts as a map (RESP3) or a flat array (RESP2).
pub fn hello_reply(id: u64, proto: Proto, leader: bool) -> Frame {
    let text = |k: &'static str, v: &'static str| (Frame::bulk(k), Frame::bulk(v));
    Frame::Map(vec![
        text("server", "distributed"),
        // The Redis version whose commands and replies this server follows: clients gate
        // features on it. The project's own version is in INFO.
        text("version", "7.0.0"),
        (Frame::bulk("proto"), Frame::Integer(proto.number())),
        (Frame::bulk("id"), Frame::Integer(id as i64)),
        text("mode", "standalone"),
        text("role", if leader { "master" } else { "replica" }),
        (Frame::bulk("modules"), Frame::Array(Vec::new())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn run(registry: &Registry, me: &Entry, words: &[&str]) -> Frame {
        let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
        registry.client(me, &args)
    }

    #[test]
    fn client_id_name_and_list_show_real_connections() {
        let registry = Registry::default();
        let me = registry.join(7, addr(50_000), addr(6379), 11);
        let other = registry.join(8, addr(50_001), addr(6379), 12);
        assert_eq!(run(&registry, &me, &["ID"]), Frame::Integer(7));
        assert_eq!(run(&registry, &me, &["GETNAME"]), Frame::Null);
        assert_eq!(run(&registry, &me, &["SETNAME", "app"]), Frame::ok());
        assert_eq!(run(&registry, &me, &["GETNAME"]), Frame::bulk("app"));
        assert!(run(&registry, &me, &["SETNAME", "a b"]).is_error());
        lock(&other).sub = 2;
        let Frame::Bulk(list) = run(&registry, &me, &["LIST"]) else {
            panic!("a bulk")
        };
        let list = String::from_utf8_lossy(&list).into_owned();
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with("id=7 addr=127.0.0.1:50000 laddr=127.0.0.1:6379 fd=11 name=app "),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(" flags=P db=0 sub=2 psub=0 ")
                && lines[1].ends_with("resp=2 lib-name= lib-ver="),
            "{}",
            lines[1]
        );
        registry.leave(8);
        let Frame::Bulk(list) = run(&registry, &me, &["LIST"]) else {
            panic!("a bulk")
        };
        assert_eq!(String::from_utf8_lossy(&list).lines().count(), 1);
        assert!(run(&registry, &me, &["KILL", "x"]).is_error());
    }

    #[test]
    fn hello_answers_redis_fields_as_a_map() {
        let Frame::Map(fields) = hello_reply(9, Proto::Resp3, true) else {
            panic!("a map")
        };
        let keys: Vec<String> = fields.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys.len(), 7);
        assert!(fields.contains(&(Frame::bulk("proto"), Frame::Integer(3))));
        assert!(fields.contains(&(Frame::bulk("role"), Frame::bulk("master"))));
        assert!(fields.contains(&(Frame::bulk("id"), Frame::Integer(9))));
    }
}
