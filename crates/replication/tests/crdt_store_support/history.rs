//! A small history recorder and judge for the CRDT store's property tests: what clients did
//! and saw, the causal order it implies, and what the final registers keep.
//!
//! ```text
//!   ops in real-time order; each put's value is unique ("c2.7"), so a read's writer is known
//!   co = (session order ∪ reads-from)+        (every edge points forward in op order)
//!
//!   per key, F = a node's final values, K = their puts:
//!     thin air     a value in F no put wrote
//!     unexplained  an acknowledged put missing from F that is co-before no kept put
//!                  (an MV store with sessions never does this: a put is superseded only by a
//!                  put whose client had seen it)
//!     lost         the eventual checker's rule: missing, causally after a kept put, and
//!                  causally before none (LWW may drop a concurrent put; never a later one)
//!     stale        a kept put co-before another kept put (a sibling that should be gone)
//! ```
//!
//! The same rules as `crates/check`'s eventual-convergence check, restated here because the
//! replication crate does not depend on the checkers.

use std::collections::{BTreeMap, BTreeSet};

use replication::{Key, Response, Value};

/// One recorded operation.
#[derive(Clone, Debug)]
enum Kind {
    Put { key: Key, value: Value },
    Get,
}

/// What clients did, in real-time order, with the causal order they imply.
#[derive(Default)]
pub struct History {
    ops: Vec<(u64, Kind)>,
    /// Each op's causal past (indices of earlier ops).
    past: Vec<BTreeSet<usize>>,
    /// Each client's last op.
    last: BTreeMap<u64, usize>,
    /// The put of each (key, value).
    put_of: BTreeMap<(Key, Value), usize>,
}

/// What a node's final registers show against the history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judgement {
    pub thin_air: Vec<String>,
    pub unexplained: Vec<String>,
    pub lost: Vec<String>,
    pub stale: Vec<String>,
}

impl Judgement {
    /// Did the eventual checker's rules find anything (thin air, lost, stale)?
    pub fn checker_fails(&self) -> bool {
        !(self.thin_air.is_empty() && self.lost.is_empty() && self.stale.is_empty())
    }
}

/// The values a get's answer shows.
pub fn shown(response: &Response) -> Vec<Value> {
    match response {
        Response::Value(v) => v.iter().cloned().collect(),
        Response::Siblings(vs) => vs.clone(),
        _ => Vec::new(),
    }
}

impl History {
    /// `client`'s put of `key=value`, acknowledged.
    pub fn put(&mut self, client: u64, key: &str, value: &str) {
        let i = self.push(
            client,
            Kind::Put {
                key: key.into(),
                value: value.into(),
            },
            &[],
        );
        self.put_of.insert((key.into(), value.into()), i);
    }

    /// `client`'s get of `key`, which showed `values`.
    pub fn get(&mut self, client: u64, key: &str, values: &[Value]) {
        let writers: Vec<usize> = values
            .iter()
            .filter_map(|v| self.put_of.get(&(key.to_string(), v.clone())).copied())
            .collect();
        self.push(client, Kind::Get, &writers);
    }

    fn push(&mut self, client: u64, kind: Kind, reads_from: &[usize]) -> usize {
        let i = self.ops.len();
        let mut past = BTreeSet::new();
        for &p in self.last.get(&client).into_iter().chain(reads_from) {
            past.insert(p);
            past.extend(self.past[p].iter().copied());
        }
        self.ops.push((client, kind));
        self.past.push(past);
        self.last.insert(client, i);
        i
    }

    /// a →co b.
    fn before(&self, a: usize, b: usize) -> bool {
        self.past[b].contains(&a)
    }

    /// Judge one node's final registers.
    pub fn judge(&self, finals: &BTreeMap<Key, Vec<Value>>) -> Judgement {
        let mut j = Judgement::default();
        let keys: BTreeSet<&Key> = self
            .put_of
            .keys()
            .map(|(k, _)| k)
            .chain(finals.keys())
            .collect();
        for key in keys {
            let values = finals.get(key).cloned().unwrap_or_default();
            let mut kept = Vec::new();
            for v in &values {
                match self.put_of.get(&(key.clone(), v.clone())) {
                    Some(&p) => kept.push(p),
                    None => j.thin_air.push(format!("{key}={v}")),
                }
            }
            for &a in &kept {
                if let Some(&b) = kept.iter().find(|&&b| self.before(a, b)) {
                    j.stale
                        .push(format!("{key}: {} before {}", self.name(a), self.name(b)));
                }
            }
            self.judge_missing(key, &values, &kept, &mut j);
        }
        j
    }

    fn judge_missing(&self, key: &Key, values: &[Value], kept: &[usize], j: &mut Judgement) {
        for (i, (_, kind)) in self.ops.iter().enumerate() {
            let Kind::Put { key: k, value } = kind else {
                continue;
            };
            if k != key || values.contains(value) {
                continue;
            }
            if kept.iter().any(|&q| self.before(i, q)) {
                continue; // a put that saw it replaced it
            }
            j.unexplained.push(format!("{key}={value}"));
            if kept.is_empty() || kept.iter().any(|&q| self.before(q, i)) {
                j.lost.push(format!("{key}={value}"));
            }
        }
    }

    fn name(&self, i: usize) -> String {
        match &self.ops[i].1 {
            Kind::Put { key, value } => format!("put {key}={value}"),
            Kind::Get => format!("get #{i}"),
        }
    }
}
