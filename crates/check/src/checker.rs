//! The checker: split a history into partitions, search each, combine the answers.
//!
//! ```text
//!   history ──partition by key──► k1: [ops]  k2: [ops]  a+b: [ops] ...
//!                                   │         │          │        (worker threads pull
//!                                 search    search     search      the largest first)
//!                                   │         │          │
//!                                   ▼         ▼          ▼
//!                 any violation ─► Violation(report of the smallest violating partition)
//!                 else any out of budget ─► Unknown
//!                 else ─► Linearizable
//! ```
//!
//! P-compositionality (Horn & Kroening, *Faster linearizability checking via
//! P-compositionality*, 2015): a history of independent objects is linearizable iff each
//! object's sub-history is. Searching ten 100-operation partitions is exponentially cheaper
//! than one 1000-operation history, and the partitions share nothing, so they run in parallel.
//!
//! A transaction touches several keys, so it cannot be judged key by key: the partitions are
//! the connected components of "some operation touches both keys" (union-find over keys).
//!
//! ```text
//!   put(a) get(a) multi[put(a); incr(n)] incr(n) put(z)   ──►   a+n: 4 ops     z: 1 op
//! ```
//!
//! A partition is named by its keys, sorted (`a+n`; past [`PARTITION_NAME_KEYS_MAX`] keys the
//! rest are counted), and partitions are ordered by their smallest key. A history with no
//! transaction splits exactly as before: one partition per key, named by the key.
//!
//! Invariants:
//! - *Never a false `Linearizable`*: it needs every partition to have found a linearization.
//!   A partition that ran out of budget makes the whole answer `Unknown` (unless another
//!   partition has a proven violation, which stands on its own).
//! - *Deterministic answer*: every partition is searched to its end (no cancellation when one
//!   fails), and the reported one is chosen by (size, key), so the same history and budget
//!   give the same report whatever the thread timing. Only a wall-clock limit can differ
//!   between runs, and it can only turn an answer into `Unknown`.
//! - An operation that constrains nothing (a read with no return, an aborted transaction:
//!   `Model::is_no_op`) is dropped before searching, and joins no keys.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::history::History;
use crate::kv::{CounterModel, KvModel, ModelKind, RegisterModel};
use crate::model::{Model, Operation};
use crate::report::Report;
use crate::search::{search, Limits, Outcome, SearchStats};

/// How much work a check may do before answering `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Search steps allowed per partition. Deterministic: tests use this, never time.
    /// Also bounds memory, since each step caches at most one (set, state) pair.
    pub partition_steps_max: u64,
    /// Wall-clock limit for the whole check; `None` for steps only.
    pub time_max: Option<Duration>,
    /// Most operations one partition may hold. Transactions join the partitions of their
    /// keys, so a workload whose transactions span everything makes one partition of the
    /// whole history; past this bound it is not searched at all and the answer is `Unknown`,
    /// with the partition in [`Stats::too_large`], rather than a search that cannot finish.
    pub partition_ops_max: usize,
}

/// [`Budget::partition_ops_max`] unless told otherwise.
pub const PARTITION_OPS_MAX_DEFAULT: usize = 200_000;

impl Budget {
    /// A steps-only budget: the same history always gets the same answer.
    pub fn steps(partition_steps_max: u64) -> Self {
        Budget {
            partition_steps_max,
            time_max: None,
            partition_ops_max: PARTITION_OPS_MAX_DEFAULT,
        }
    }
}

impl Default for Budget {
    /// 5 million steps per partition and one minute. Each step caches at most one entry
    /// (~150 bytes), so a worker's cache stays under ~1 GB even at the limit.
    fn default() -> Self {
        Budget {
            partition_steps_max: 5_000_000,
            time_max: Some(Duration::from_secs(60)),
            partition_ops_max: PARTITION_OPS_MAX_DEFAULT,
        }
    }
}

/// The checker's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// Every partition has a linearization.
    Linearizable,
    /// Some partition has none; the report shows the smallest such partition.
    Violation(Report),
    /// The budget ran out before an answer: no claim either way.
    Unknown,
}

impl std::fmt::Display for CheckResult {
    /// `linearizable`, `unknown`, or `violation` followed by the report's lines.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckResult::Linearizable => f.write_str("linearizable"),
            CheckResult::Unknown => f.write_str("unknown"),
            CheckResult::Violation(report) => write!(f, "violation\n{report}"),
        }
    }
}

/// What a check cost and found, partition by partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Partitions searched.
    pub partitions: usize,
    /// Operations searched (after dropping reads with no return).
    pub ops: usize,
    /// Reads with no return that were dropped because they constrain nothing.
    pub dropped_reads: usize,
    /// Operations that returned yet constrain nothing (aborted transactions), dropped too.
    pub dropped_aborted: usize,
    /// Search steps over all partitions.
    pub steps: u64,
    /// The most steps any one partition took: compare with the budget.
    pub partition_steps_max: u64,
    /// The most cache entries any one partition held: its memory.
    pub cache_entries_max: usize,
    /// Partitions with no linearization, in key order.
    pub violating: Vec<String>,
    /// Partitions whose search ran out of budget, in key order.
    pub unknown: Vec<String>,
    /// Partitions not searched because they held more than [`Budget::partition_ops_max`]
    /// operations, each as `name (n ops)`; they are in `unknown` too.
    pub too_large: Vec<String>,
}

/// A configured checker; `Checker::default()` uses every core and [`Budget::default`].
#[derive(Clone, Debug)]
pub struct Checker {
    /// When to give up and answer `Unknown`.
    budget: Budget,
    /// Worker threads; partitions are independent, so more cores finish sooner.
    threads: usize,
}

impl Default for Checker {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Checker {
            budget: Budget::default(),
            threads,
        }
    }
}

/// One group of keys' operations, borrowed from the history.
struct Partition<'h, M: Model> {
    /// The partition's name (its keys, `+`-joined and truncated), used in reports and stats.
    key: String,
    /// Its keys, sorted: the model's initial state and the report name them.
    keys: Vec<String>,
    /// Its operations in history order.
    ops: OpRefs<'h, M>,
}

/// Borrowed operations of one model's history.
type OpRefs<'h, M> = Vec<&'h Operation<<M as Model>::Input, <M as Model>::Output>>;

/// An operation kept for searching, with the index of its first key.
type Kept<'h, M> = (
    &'h Operation<<M as Model>::Input, <M as Model>::Output>,
    usize,
);

impl Checker {
    /// Use `budget` instead of the default.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Use `threads` workers (at least 1); `with_threads(1)` checks on one core.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Check `ops` against `model`.
    pub fn check<M: Model>(
        &self,
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
    ) -> CheckResult {
        self.check_with_stats(model, ops).0
    }

    /// Check a parsed or recorded history against the model it names.
    pub fn check_history(&self, history: &History) -> CheckResult {
        self.check_history_with_stats(history).0
    }

    /// [`Checker::check_history`], plus what it cost.
    pub fn check_history_with_stats(&self, history: &History) -> (CheckResult, Stats) {
        match history.model() {
            ModelKind::Kv => self.check_with_stats(&KvModel, history.ops()),
            ModelKind::Register => self.check_with_stats(&RegisterModel, history.ops()),
            ModelKind::Counter => self.check_with_stats(&CounterModel, history.ops()),
        }
    }

    /// [`Checker::check`], plus what it cost.
    pub fn check_with_stats<M: Model>(
        &self,
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
    ) -> (CheckResult, Stats) {
        let (parts, dropped) = partition(model, ops);
        let deadline = self.budget.time_max.map(|d| Instant::now() + d);
        let limits = Limits {
            steps_max: self.budget.partition_steps_max,
            deadline,
        };
        let outcomes = self.search_all(model, &parts, &limits, self.budget.partition_ops_max);

        let mut stats = Stats {
            partitions: parts.len(),
            dropped_reads: dropped.reads,
            dropped_aborted: dropped.aborted,
            ..Stats::default()
        };
        let mut smallest_violation: Option<(usize, Vec<usize>)> = None;
        for (i, (part, (outcome, cost))) in parts.iter().zip(outcomes).enumerate() {
            stats.ops += part.ops.len();
            stats.steps += cost.steps;
            stats.partition_steps_max = stats.partition_steps_max.max(cost.steps);
            stats.cache_entries_max = stats.cache_entries_max.max(cost.cache_entries);
            match outcome {
                Outcome::Linearizable => {}
                Outcome::Unknown => {
                    if part.ops.len() > self.budget.partition_ops_max {
                        let n = part.ops.len();
                        stats.too_large.push(format!("{} ({n} ops)", part.key));
                    }
                    stats.unknown.push(part.key.clone());
                }
                Outcome::Violation { longest_prefix } => {
                    stats.violating.push(part.key.clone());
                    // Parts are in key order, so strict `<` keeps the first key among equals.
                    let smaller = match &smallest_violation {
                        None => true,
                        Some((j, _)) => part.ops.len() < parts[*j].ops.len(),
                    };
                    if smaller {
                        smallest_violation = Some((i, longest_prefix));
                    }
                }
            }
        }
        let result = match smallest_violation {
            Some((i, prefix)) => {
                let part = &parts[i];
                let mut report = Report::build(model, &part.key, &part.keys, &part.ops, &prefix);
                report.partitions_total = parts.len();
                report.partitions_failed = stats.violating.len();
                CheckResult::Violation(report)
            }
            None if !stats.unknown.is_empty() => CheckResult::Unknown,
            None => CheckResult::Linearizable,
        };
        (result, stats)
    }

    /// Search every partition, on up to `self.threads` threads; results in partition order.
    fn search_all<M: Model>(
        &self,
        model: &M,
        parts: &[Partition<'_, M>],
        limits: &Limits,
        ops_max: usize,
    ) -> Vec<(Outcome, SearchStats)> {
        // Largest first: the longest job starts earliest, so threads finish together.
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(parts[i].ops.len()));
        let threads = self.threads.min(parts.len()).max(1);
        let mut results: Vec<Option<(Outcome, SearchStats)>> = vec![None; parts.len()];
        if threads == 1 {
            for i in order {
                results[i] = Some(search_part(model, &parts[i], limits, ops_max));
            }
        } else {
            let next = AtomicUsize::new(0);
            let worker = || {
                let mut done = Vec::new();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(k) else { return done };
                    done.push((i, search_part(model, &parts[i], limits, ops_max)));
                }
            };
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
                for handle in handles {
                    let done = handle
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p));
                    for (i, r) in done {
                        results[i] = Some(r);
                    }
                }
            });
        }
        let searched = results
            .into_iter()
            .map(|r| r.expect("every partition is searched"));
        searched.collect()
    }
}

/// Search one partition from the model's initial state for its keys; a partition of more
/// than `ops_max` operations is not searched (unknown).
fn search_part<M: Model>(
    model: &M,
    part: &Partition<'_, M>,
    limits: &Limits,
    ops_max: usize,
) -> (Outcome, SearchStats) {
    if part.ops.len() > ops_max {
        return (Outcome::Unknown, SearchStats::default());
    }
    search(model, &part.ops, model.init_partition(&part.keys), limits)
}

/// Most keys a partition's name lists; the rest are counted (`a+b+…+9 more`).
pub const PARTITION_NAME_KEYS_MAX: usize = 6;

/// A partition's name: its one key, or its keys `+`-joined (`a+b+n`), truncated.
pub fn partition_name(keys: &[String]) -> String {
    let shown = keys.len().min(PARTITION_NAME_KEYS_MAX);
    let mut name = keys[..shown].join("+");
    if keys.len() > shown {
        name.push_str(&format!("+…+{} more", keys.len() - shown));
    }
    name
}

/// Operations dropped before searching because they constrain nothing.
#[derive(Default)]
struct Dropped {
    /// With no return (reads).
    reads: usize,
    /// With a return (aborted transactions).
    aborted: usize,
}

/// Union-find over key indices: `parent[i] == i` at a root.
struct KeyGroups {
    /// Each key's parent; path-halved on lookup.
    parent: Vec<usize>,
}

impl KeyGroups {
    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        self.parent[ra.max(rb)] = ra.min(rb);
    }
}

/// Group `ops` into partitions (keys shared by an operation share a partition), ordered by
/// their smallest key, dropping operations that constrain nothing.
fn partition<'h, M: Model>(
    model: &M,
    ops: &'h [Operation<M::Input, M::Output>],
) -> (Vec<Partition<'h, M>>, Dropped) {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut groups = KeyGroups { parent: Vec::new() };
    let mut kept: Vec<Kept<'h, M>> = Vec::with_capacity(ops.len());
    let mut dropped = Dropped::default();
    for op in ops {
        if model.is_no_op(&op.input, op.output()) {
            match op.ret() {
                None => dropped.reads += 1,
                Some(_) => dropped.aborted += 1,
            }
            continue;
        }
        let mut first = None;
        for key in model.keys(&op.input) {
            let i = *index.entry(key).or_insert_with_key(|key| {
                names.push(key.clone());
                groups.parent.push(names.len() - 1);
                names.len() - 1
            });
            match first {
                None => first = Some(i),
                Some(f) => groups.join(f, i),
            }
        }
        // A model that names no key puts the input in the partition named "".
        let first = first.unwrap_or_else(|| {
            *index.entry(String::new()).or_insert_with(|| {
                names.push(String::new());
                groups.parent.push(names.len() - 1);
                names.len() - 1
            })
        });
        kept.push((op, first));
    }
    let mut by_root: BTreeMap<usize, (Vec<String>, OpRefs<'h, M>)> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let root = groups.root(i);
        by_root.entry(root).or_default().0.push(name.clone());
    }
    for (op, first) in kept {
        let root = groups.root(first);
        by_root
            .get_mut(&root)
            .expect("every key has a group")
            .1
            .push(op);
    }
    let mut parts: Vec<Partition<'h, M>> = by_root
        .into_values()
        .map(|(mut keys, ops)| {
            keys.sort_unstable();
            Partition {
                key: partition_name(&keys),
                keys,
                ops,
            }
        })
        .collect();
    parts.sort_by(|a, b| a.keys[0].cmp(&b.keys[0]));
    (parts, dropped)
}

/// Check `ops` against `model` with the default checker (all cores, default budget).
pub fn check_operations<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
) -> CheckResult {
    Checker::default().check(model, ops)
}
