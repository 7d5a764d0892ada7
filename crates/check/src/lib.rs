//! # check: is this history linearizable?
//!
//! Clients of a replicated store see operations as intervals: sent at *invoke*, answered at
//! *return*. The store is **linearizable** (Herlihy & Wing 1990) if every operation can be given
//! one instant inside its interval such that, run one at a time in that order, a single copy of
//! the store (the *model*) gives every answer the clients saw. This crate decides that for a
//! recorded history, in the Wing & Gong / Lowe / Porcupine line:
//!
//! ```text
//!  history (JSON lines or HistoryBuilder)
//!     │  validate
//!     ▼
//!  partition by key (P-compositionality) ──► one search per group of keys, on worker threads
//!  (a transaction joins its keys' groups)    (a group past Budget::partition_ops_max: unknown)
//!     │                                       Wing & Gong DFS + cache of (linearized set, state)
//!     ▼                                       step/time budget: out of budget ⇒ Unknown
//!  Linearizable │ Violation(Report) │ Unknown
//!                       │
//!                       ├─► Display: the failing key's ops, one line each, and where it got stuck
//!                       └─► render_html: one self-contained page with a timeline
//! ```
//!
//! The weaker models (`weak/`) judge the same kind of file, restricted to a register workload
//! (get and put, unique values per key, sequential clients), each with the same verdict,
//! report and page: sequential consistency, causal consistency, the four session guarantees
//! and eventual convergence of the replicas' final values. One workload, every model, one
//! table of which store keeps which (`check_all_weak`; `distributed check --model ...`).
//!
//! ## Layout
//!
//! ```text
//! lib.rs        this map, the file format and an example
//! model.rs      the Model trait (sequential spec), Operation and Completion (intervals)
//! kv/           Command and Outcome, and the kv, register and counter models: strings,
//!               hashes, lists, sets, sorted sets, deadlines, transactions (kv/mod.rs maps
//!               it); kv/request.rs reads the store's own kv::Body and kv::Reply
//! history.rs    History (validated), HistoryBuilder (record as it happens), HistoryError
//! json/         the JSON-lines file format (versioned): parse with line-numbered errors, write
//! cache.rs      bitset with Zobrist hash + the (linearized set, state) cache
//! search.rs     one partition's search: event list, lift/unlift, backtracking, budget
//! checker.rs    Checker and Budget: partition, search in parallel, combine; CheckResult, Stats
//! report.rs     Report: the minimal failing partition and where the search got stuck
//! html.rs       render_html: the report as one self-contained HTML page
//! cli.rs        run_cli_model: read a file, judge it against --model, print the verdict,
//!               exit code 0/1/2/3
//! weak/         the weaker models: sequential, causal, session guarantees, eventual
//!               convergence, over the causal order so ∪ wr (weak/mod.rs maps it)
//! synthetic/    generate linearizable-by-construction histories (tests, benchmarks, demos),
//!               with a reference store of its own for the newer kinds; register histories
//!               with final states for the weaker models
//!
//! tests/        models, search classics, JSON format, CLI, HTML, proptest properties;
//!               weak_*.rs: the weaker models (testdata table, corners, properties against
//!               naive oracles in weak_oracle/, HTML); screenshot.sh renders the sample
//!               violation page with headless Chromium
//! benches/      checker.rs: 10,000 ops, 50 clients, 100 keys, plain and with transactions;
//!               causal and session on 10,000 register ops (`cargo bench -p check`)
//! examples/     check_history.rs: the CLI as a standalone program
//! testdata/     hand-written sample histories (README.md says what each shows)
//! ```
//!
//! ## The history file
//!
//! JSON lines, one operation per line; an optional first line names the model (`kv` when
//! absent: every command; `register`: get/put; `counter`: get/incr). Format version 3 adds
//! each replica's final values, `{"final":{"replica":1,"key":"k1","value":"x"}}`, read after a
//! quiet period, for eventual convergence (`json/finals.rs`). `return: null` means the
//! client never heard back: the operation may or may not have taken effect. Field by field
//! rules are in `json.rs`. Example (a stale read: c2 reads "x" after c3's put of "y" returned):
//!
//! ```text
//! {"model":"kv"}
//! {"client":1,"op":"put","key":"k1","value":"x","invoke":0,"return":10}
//! {"client":3,"op":"put","key":"k1","value":"y","invoke":12,"return":15}
//! {"client":2,"op":"get","key":"k1","invoke":20,"return":25,"output":"x"}
//! {"client":4,"op":"cas","key":"k2","expected":null,"value":"a","invoke":1,"return":4,"output":true}
//! {"client":4,"op":"incr","key":"n","delta":2,"invoke":5,"return":9,"output":2}
//! {"client":5,"op":"append","key":"k2","value":"b","invoke":6,"return":null}
//! ```
//!
//! Transactions, deadlines and typed values need format version 2 (`json/mod.rs`):
//!
//! ```text
//! {"model":"kv","version":2}
//! {"client":1,"op":"multi","ops":[{"op":"put","key":"a","value":"1"},{"op":"incr","key":"n"}],"invoke":0,"return":9,"output":["ok",1]}
//! {"client":2,"op":"put","key":"s","value":"x","px":100,"invoke":3,"return":5}
//! {"client":3,"op":"hget","key":"s","field":"f","invoke":6,"return":8,"output":{"error":"wrongtype"}}
//! ```
//!
//! ## Recording from a workload
//!
//! A workload that speaks the store's types records them directly: `invoke_kv(client,
//! &kv::Body, t)` when it sends, `complete_kv(id, &kv::Reply, t)` when it hears back (times in
//! simulated milliseconds, as the store's `time_ms` stamps are). An `EXEC` is one operation
//! over all its keys; `DEL a b`, `MSET`, `MGET` are too.
//!
//! Intervals are closed: if one operation returns at the same time another is invoked, they
//! count as concurrent (the safe reading for coarse clocks; see `search.rs`).
//!
//! ## Example
//!
//! ```
//! use check::{CheckResult, Command, HistoryBuilder, Outcome};
//!
//! let mut b = HistoryBuilder::new();
//! b.returned(1, Command::put("k1", "x"), 0, 10, Outcome::Done).unwrap();
//! b.returned(3, Command::put("k1", "y"), 12, 15, Outcome::Done).unwrap();
//! b.returned(2, Command::get("k1"), 20, 25, Outcome::value("x")).unwrap();
//! let history = b.build().unwrap();
//! match history.check() {
//!     CheckResult::Violation(report) => {
//!         assert_eq!(report.partition, "k1");
//!         println!("{report}"); // one line per op, then where the search got stuck
//!     }
//!     other => panic!("a stale read must be a violation, got {other:?}"),
//! }
//! ```

#![forbid(unsafe_code)]

mod cache;
mod checker;
mod cli;
mod history;
mod html;
mod json;
mod kv;
mod model;
mod report;
mod search;
pub mod synthetic;
mod weak;

pub use checker::{
    check_operations, partition_name, Budget, CheckResult, Checker, Stats, PARTITION_NAME_KEYS_MAX,
    PARTITION_OPS_MAX_DEFAULT,
};
pub use cli::{
    run_cli, run_cli_model, run_cli_with_budget, ConsistencyModel, EXIT_ERROR, EXIT_LINEARIZABLE,
    EXIT_UNKNOWN, EXIT_VIOLATION, HISTORY_FILE_BYTES_MAX,
};
pub use history::{
    FinalValue, History, HistoryBuilder, HistoryError, KvOperation, OpId, SIBLINGS_MAX,
};
pub use html::render_html;
pub use json::{FORMAT_VERSION, HISTORY_OPS_MAX};
pub use kv::{
    command_from_kv, outcome_from_kv, Command, CounterModel, KvModel, KvState, ModelKind, Outcome,
    RegisterModel, MULTI_OPS_MAX, WORLDS_MAX,
};
pub use model::{ClientId, Completion, Interval, Model, Operation, Time};
pub use report::{Report, ReportOp, StuckOp};
pub use weak::{
    check_all_weak, check_session, check_weak, check_weak_with, render_weak_html, Edge, Step,
    Verdict, WeakBudget, WeakModel, WeakReport, CAUSAL_OPS_MAX, SEQUENTIAL_STEPS_MAX_DEFAULT,
};
