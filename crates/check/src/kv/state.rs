//! The kv model's state: the values of one partition's keys, in every world still possible.
//!
//! ```text
//!   keys   [a, b, n]                      the partition's keys, sorted, shared (Arc) by every
//!                                         state of one search: cloning a state never copies them
//!   slots  [a₀ b₀ n₀ | a₁ b₁ n₁ | ...]     one row per possible world, rows sorted and distinct
//!                │              └─ world 1: only when expiry left a doubt (kv/expiry.rs)
//!                └─ world 0
//! ```
//!
//! Almost always there is one world: values are deterministic until a key's deadline is in
//! doubt. Then the model keeps both readings (Porcupine's power-set construction for a
//! nondeterministic model) and later answers prune them. Rows are kept sorted and distinct so
//! that two states meaning the same thing compare equal: the search caches states.
//!
//! The road not taken: a `BTreeMap<String, Value>` per world. It names each key in every
//! state and allocates a node per clone; positions into a shared key list cost neither.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::types::{describe_value, Entry, Slot, Value};

/// The values of a partition's keys, in each world still possible (see the module docs).
#[derive(Clone, Debug)]
pub struct KvState {
    /// The keys, sorted and distinct; `slots` rows follow this order.
    pub(crate) keys: Arc<[String]>,
    /// `worlds` rows of `keys.len()` slots each.
    pub(crate) slots: Vec<Slot>,
    /// How many worlds (rows); at least 1 unless `lost`.
    pub(crate) worlds: usize,
    /// The model gave up: more than `WORLDS_MAX` worlds. The search never continues from
    /// such a state (see `Model::gave_up`).
    pub(crate) lost: bool,
}

impl KvState {
    /// A state over `keys` (sorted, distinct) with every key absent.
    pub(crate) fn empty(keys: Arc<[String]>) -> Self {
        KvState {
            slots: vec![None; keys.len()],
            keys,
            worlds: 1,
            lost: false,
        }
    }

    /// Where `key` sits in a row, if it is one of this state's keys.
    pub(crate) fn index(&self, key: &str) -> Option<usize> {
        self.keys.binary_search_by(|k| k.as_str().cmp(key)).ok()
    }

    /// World `w`'s row.
    pub(crate) fn world(&self, w: usize) -> &[Slot] {
        let k = self.keys.len();
        &self.slots[w * k..(w + 1) * k]
    }

    /// This state, with `keys` added (absent in every world) if it lacks them. A state made by
    /// `init_partition` already has every key its partition's operations name.
    pub(crate) fn with_keys(&self, keys: &[&str]) -> KvState {
        if keys.iter().all(|k| self.index(k).is_some()) {
            return self.clone();
        }
        let mut all: Vec<String> = self.keys.to_vec();
        all.extend(keys.iter().map(|k| k.to_string()));
        all.sort_unstable();
        all.dedup();
        let mut slots = Vec::with_capacity(all.len() * self.worlds);
        for w in 0..self.worlds {
            let row = self.world(w);
            for key in &all {
                slots.push(self.index(key).and_then(|i| row[i].clone()));
            }
        }
        KvState {
            keys: all.into(),
            slots,
            worlds: self.worlds,
            lost: self.lost,
        }
    }

    /// Sort the rows and drop repeats, so equal meanings compare equal.
    pub(crate) fn normalize(&mut self) {
        let k = self.keys.len();
        if self.worlds < 2 || k == 0 {
            self.worlds = self.worlds.min(1);
            return;
        }
        let mut rows: Vec<Vec<Slot>> = self.slots.chunks(k).map(<[Slot]>::to_vec).collect();
        rows.sort_unstable();
        rows.dedup();
        self.worlds = rows.len();
        self.slots = rows.concat();
    }

    /// The string `key` holds in the first possible world, if it is one of this state's keys
    /// and holds a string there: what tests and examples read back.
    pub fn string_value(&self, key: &str) -> Option<&str> {
        match self.world(0).get(self.index(key)?)? {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Some(s),
            _ => None,
        }
    }

    /// Whether any world holds a key with a deadline.
    pub(crate) fn has_deadlines(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.as_ref().is_some_and(|e| e.deadline.is_some()))
    }

    /// One line: `"x"` for a one-key partition (`nil` if absent), `{a="1" n="2"}` for
    /// several (absent keys left out), and `one of: ... | ...` when worlds differ.
    pub(crate) fn describe(&self) -> String {
        if self.lost {
            return format!("(more than {} possible states)", super::expiry::WORLDS_MAX);
        }
        let rows: Vec<String> = (0..self.worlds)
            .take(DESCRIBED_WORLDS_MAX)
            .map(|w| self.describe_world(w))
            .collect();
        match rows.as_slice() {
            [one] => one.clone(),
            _ => {
                let more = self.worlds.saturating_sub(DESCRIBED_WORLDS_MAX);
                let tail = if more > 0 {
                    format!(" | …+{more}")
                } else {
                    String::new()
                };
                format!("one of: {}{tail}", rows.join(" | "))
            }
        }
    }

    fn describe_world(&self, w: usize) -> String {
        let row = self.world(w);
        if let [slot] = row {
            return describe_slot(slot);
        }
        let mut out = String::from("{");
        let present: Vec<usize> = (0..row.len()).filter(|&i| row[i].is_some()).collect();
        for (n, &i) in present.iter().take(DESCRIBED_KEYS_MAX).enumerate() {
            let sep = if n == 0 { "" } else { " " };
            let _ = write!(out, "{sep}{}={}", self.keys[i], describe_slot(&row[i]));
        }
        if present.len() > DESCRIBED_KEYS_MAX {
            let _ = write!(out, " …+{} keys", present.len() - DESCRIBED_KEYS_MAX);
        }
        out.push('}');
        out
    }
}

/// Most worlds a state's description lists.
const DESCRIBED_WORLDS_MAX: usize = 4;
/// Most present keys a world's description lists.
const DESCRIBED_KEYS_MAX: usize = 12;

/// `nil`, or the value, with its deadline window if it has one: `"v" (expires t=110..120)`.
fn describe_slot(slot: &Slot) -> String {
    match slot {
        None => "nil".to_string(),
        Some(entry) => {
            let value = describe_value(&entry.value);
            match entry.deadline {
                None => value,
                Some(d) if d.hi == u64::MAX => format!("{value} (expires t>={})", d.lo),
                Some(d) => format!("{value} (expires t={}..{})", d.lo, d.hi),
            }
        }
    }
}

impl PartialEq for KvState {
    fn eq(&self, other: &Self) -> bool {
        // States of one search share their key list, so the pointer test almost always decides.
        (Arc::ptr_eq(&self.keys, &other.keys) || self.keys == other.keys)
            && self.worlds == other.worlds
            && self.lost == other.lost
            && self.slots == other.slots
    }
}

impl Eq for KvState {}

impl Hash for KvState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // Not the keys: equal states have equal slots, which is all `Hash` must respect.
        self.worlds.hash(h);
        self.lost.hash(h);
        self.slots.hash(h);
    }
}
