//! The register view of a history: who read from whom, and each client's session.
//!
//! The weaker models judge a read/write register workload: `get` and `put` on keys, from
//! sequential clients, with **unique written values per key**. Unique values make the
//! *reads-from* relation known rather than guessed: a read that saw `"v7"` read the one put of
//! `"v7"` to its key, and a read that saw nil read the initial state. Without them every model
//! here would need a search over possible writers (checking causal consistency is NP-complete
//! in general; Bouajjani et al. 2017 show it is polynomial for such *differentiated* histories).
//!
//! ```text
//!   History (any model header, get/put only)
//!     │  validate: register ops only · unique (key, value) per put · sequential clients
//!     ▼
//!   ops         kept ops in history order; a get with no return is dropped (it saw nothing)
//!   sessions    per client: its kept ops by (invoke, record order)
//!   reads-from  each read → Init | Put(op) | Nowhere (thin air: no put wrote that value)
//! ```
//!
//! Session order: a client is *sequential*: each operation it got an answer to returned at or
//! before its next invoke (a same-tick reply and next request are still in order). An
//! operation with no return is the exception: the client gave up waiting and moved on, so the
//! operation may still take effect later, and it is session-ordered after the client's earlier
//! operations but before none (see `order.rs`). A client with overlapping operations is
//! refused, naming both: the weaker models need session order, and guessing one would be a
//! wrong verdict waiting to happen.
//!
//! Invariants: every op of the view is a get or a put; `puts_by_key[k]` and `readers[w]` list
//! op indices in increasing order; `sessions[s].ops` is in session order and `ops[i].position`
//! is `i`'s place in it.

use std::collections::{BTreeMap, HashMap};

use crate::history::{History, HistoryError, KvOperation};
use crate::kv::{describe, Command, Outcome};
use crate::model::ClientId;
use crate::report::ReportOp;

/// Where a read's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadsFrom {
    /// It saw nil: the initial state, before any put to its key.
    Init,
    /// It saw the value this put (an index into [`Registers::ops`]) wrote.
    Put(usize),
    /// It saw a value no put wrote to its key (ThinAirRead).
    Nowhere,
}

/// What an op of the view does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// A put; its value is unique to its key.
    Put,
    /// A get that returned, and where its value came from.
    Get(ReadsFrom),
}

/// One kept operation of the view.
#[derive(Clone, Debug)]
pub(crate) struct RegOp {
    /// Its index in the history: errors and reports name it `#i`.
    pub history_index: usize,
    /// Its client's session (an index into [`Registers::sessions`]).
    pub session: usize,
    /// Its place in that session.
    pub position: usize,
    /// Its key (an index into [`Registers::keys`]).
    pub key: usize,
    /// Get or put.
    pub access: Access,
    /// Whether the client heard back: only then is it session-ordered before later ops.
    pub returned: bool,
}

/// One client's kept operations in session order.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// Its ops (indices into [`Registers::ops`]) by (invoke, record order).
    pub ops: Vec<usize>,
}

/// A validated register history, ready for the causal order and the checkers.
pub(crate) struct Registers<'h> {
    /// The history's operations, for descriptions in reports.
    history: &'h [KvOperation],
    /// The kept operations, in history order.
    pub ops: Vec<RegOp>,
    /// Key names, sorted: a key's id is its index.
    pub keys: Vec<String>,
    /// One session per client, in client order.
    pub sessions: Vec<Session>,
    /// Per key, its puts in op order.
    pub puts_by_key: Vec<Vec<usize>>,
    /// Per op, the reads that read from it (empty for gets).
    pub readers: Vec<Vec<usize>>,
    /// (key, value) → the put that wrote it: unique by validation.
    put_of: HashMap<(usize, &'h str), usize>,
}

impl<'h> Registers<'h> {
    /// The register view of `history`; errors name the operation and the rule it breaks.
    pub fn new(history: &'h History) -> Result<Self, HistoryError> {
        let ops = history.ops();
        let key_of = key_ids(history)?;
        let put_of = unique_puts(ops, &key_of)?;
        let (sessions, place) = kept_sessions(ops, sessions_of(ops)?);
        let mut view = Registers {
            history: ops,
            ops: Vec::new(),
            keys: key_of.keys().map(|k| k.to_string()).collect(),
            sessions,
            puts_by_key: vec![Vec::new(); key_of.len()],
            readers: Vec::new(),
            put_of: HashMap::new(),
        };
        // History index → view index.
        let mut view_of = vec![usize::MAX; ops.len()];
        for (h, op) in ops.iter().enumerate() {
            let Some((session, position)) = place[h] else {
                continue;
            };
            view_of[h] = view.ops.len();
            view.ops.push(RegOp {
                history_index: h,
                session,
                position,
                key: key_of[op.input.key()],
                access: Access::Put, // gets are resolved below
                returned: op.ret().is_some(),
            });
        }
        for session in &mut view.sessions {
            for h in &mut session.ops {
                *h = view_of[*h];
            }
        }
        view.put_of = put_of.into_iter().map(|(kv, h)| (kv, view_of[h])).collect();
        view.resolve_reads()?;
        Ok(view)
    }

    /// Fill in each get's reads-from, `puts_by_key` and `readers`.
    fn resolve_reads(&mut self) -> Result<(), HistoryError> {
        self.readers = vec![Vec::new(); self.ops.len()];
        for i in 0..self.ops.len() {
            let h = self.ops[i].history_index;
            let key = self.ops[i].key;
            let op = &self.history[h];
            match (&op.input, op.output()) {
                (Command::Put { .. }, _) => self.puts_by_key[key].push(i),
                (Command::Get { .. }, Some(Outcome::Value(seen))) => {
                    let from = match seen {
                        None => ReadsFrom::Init,
                        Some(v) => match self.put_of.get(&(key, v.as_str())) {
                            Some(&w) => ReadsFrom::Put(w),
                            None => ReadsFrom::Nowhere,
                        },
                    };
                    if let ReadsFrom::Put(w) = from {
                        self.readers[w].push(i);
                    }
                    self.ops[i].access = Access::Get(from);
                }
                (_, output) => {
                    return Err(HistoryError::new(format!(
                        "operation #{h}: a get answered {}, not a value: not a register read",
                        output.map_or("nothing".to_string(), |o| o.to_string())
                    )))
                }
            }
        }
        Ok(())
    }

    /// The op as a report line: client, description, interval.
    pub fn report_op(&self, i: usize) -> ReportOp {
        let op = &self.history[self.ops[i].history_index];
        ReportOp {
            client: op.client,
            invoke: op.invoke,
            ret: op.ret(),
            text: describe(&op.input, op.output()),
        }
    }

    /// The history's operation behind view op `i`.
    pub fn history_op(&self, i: usize) -> &'h KvOperation {
        &self.history[self.ops[i].history_index]
    }

    /// The op in a sentence: `c2 get(x) -> "1"`.
    pub fn name(&self, i: usize) -> String {
        let op = self.report_op(i);
        format!("c{} {}", op.client, op.text)
    }

    /// The put that wrote `value` to `key`, if any.
    pub fn put_of(&self, key: usize, value: &str) -> Option<usize> {
        self.put_of.get(&(key, value)).copied()
    }

    /// The key's id, if some op touches it.
    pub fn key_id(&self, key: &str) -> Option<usize> {
        self.keys.binary_search_by(|k| k.as_str().cmp(key)).ok()
    }

    /// The value `put` wrote.
    pub fn put_value(&self, put: usize) -> &'h str {
        match &self.history[self.ops[put].history_index].input {
            Command::Put { value, .. } => value,
            other => panic!("op {put} is a {}, not a put", other.name()),
        }
    }

    /// Where a get read from; `None` for a put.
    pub fn reads_from(&self, i: usize) -> Option<ReadsFrom> {
        match self.ops[i].access {
            Access::Get(from) => Some(from),
            Access::Put => None,
        }
    }

    /// Whether op `i` is a put.
    pub fn is_put(&self, i: usize) -> bool {
        self.ops[i].access == Access::Put
    }

    /// Whether a put took effect for sure: acknowledged, or some read saw its value.
    pub fn took_effect(&self, put: usize) -> bool {
        self.ops[put].returned || !self.readers[put].is_empty()
    }
}

/// Every key any op touches, sorted, with its id; refuses ops other than get and put.
fn key_ids(history: &History) -> Result<BTreeMap<&str, usize>, HistoryError> {
    let mut keys = BTreeMap::new();
    for (h, op) in history.ops().iter().enumerate() {
        if !matches!(op.input, Command::Get { .. } | Command::Put { .. }) {
            return Err(HistoryError::new(format!(
                "operation #{h}: the weaker models read get and put only (a register \
                 workload), not {}",
                op.input.name()
            )));
        }
        keys.insert(op.input.key(), 0);
    }
    for (id, slot) in keys.values_mut().enumerate() {
        *slot = id;
    }
    Ok(keys)
}

/// (key id, value) → the history index of the one put that wrote it; a second put of the same
/// value to the same key is an error naming both, never a guess about who a read read from.
fn unique_puts<'h>(
    ops: &'h [KvOperation],
    key_of: &BTreeMap<&str, usize>,
) -> Result<HashMap<(usize, &'h str), usize>, HistoryError> {
    let mut put_of = HashMap::new();
    for (h, op) in ops.iter().enumerate() {
        if let Command::Put { key, value } = &op.input {
            if let Some(first) = put_of.insert((key_of[key.as_str()], value.as_str()), h) {
                return Err(HistoryError::new(format!(
                    "operations #{first} and #{h} both put {value:?} to key {key}: the weaker \
                     models need unique written values per key, so that each read's writer is \
                     known"
                )));
            }
        }
    }
    Ok(put_of)
}

/// The sessions with gets that never returned left out (they saw nothing, so they constrain
/// nothing), still as history indices; and each kept op's (session, position).
type Kept = (Vec<Session>, Vec<Option<(usize, usize)>>);

fn kept_sessions(ops: &[KvOperation], raw: BTreeMap<ClientId, Vec<usize>>) -> Kept {
    let mut place = vec![None; ops.len()];
    let mut sessions = Vec::with_capacity(raw.len());
    for indices in raw.into_values() {
        let kept: Vec<usize> = indices
            .into_iter()
            .filter(|&h| ops[h].ret().is_some() || !matches!(ops[h].input, Command::Get { .. }))
            .collect();
        for (position, &h) in kept.iter().enumerate() {
            place[h] = Some((sessions.len(), position));
        }
        sessions.push(Session { ops: kept });
    }
    (sessions, place)
}

/// Each client's ops (history indices) by (invoke, record order); refuses a client that sent
/// an op before an earlier one returned.
fn sessions_of(ops: &[KvOperation]) -> Result<BTreeMap<ClientId, Vec<usize>>, HistoryError> {
    let mut sessions: BTreeMap<ClientId, Vec<usize>> = BTreeMap::new();
    for (h, op) in ops.iter().enumerate() {
        sessions.entry(op.client).or_default().push(h);
    }
    for (client, indices) in &mut sessions {
        indices.sort_by_key(|&h| (ops[h].invoke, h));
        for pair in indices.windows(2) {
            let (a, b) = (&ops[pair[0]], &ops[pair[1]]);
            if let Some(ret) = a.ret().filter(|&ret| ret > b.invoke) {
                return Err(HistoryError::new(format!(
                    "client {client} is not sequential: operation #{} ({} [t={}..t={ret}]) is \
                     still running when operation #{} ({} at t={}) starts; the weaker models \
                     need each client to wait for an answer before its next operation",
                    pair[0],
                    describe(&a.input, a.output()),
                    a.invoke,
                    pair[1],
                    describe(&b.input, b.output()),
                    b.invoke
                )));
            }
        }
    }
    Ok(sessions)
}
