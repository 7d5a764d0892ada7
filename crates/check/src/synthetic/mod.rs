//! Histories that are linearizable by construction, for tests, benchmarks and demos.
//!
//! Closed-loop clients each send one operation at a time. Every operation gets a secret
//! linearization point inside its interval; applying the operations to a plain single-copy
//! store (`store.rs`) in that order gives each one its output. The result is linearizable (the points are a witness),
//! and how hard it is to *prove* that grows with the overlap: more clients, longer operations.
//!
//! ```text
//!   c1  [──put──●───]   [──get─●──]            ● = secret linearization point
//!   c2     [────●─cas──────]  [●─incr─]        outputs = replay of the ●s in time order
//!   c3   [─get─●]  [────────●─put──────── no return (took effect)
//! ```
//!
//! An operation picked to have no return either took effect at its point (and its output is
//! thrown away) or never took effect at all; both are legal readings the checker must allow.
//! Values are unique per write (`v17`), so tests can inject reads that no write explains.
//!
//! [`Spec`] shapes the load (clients, keys, overlap); [`Mix`] adds the Redis-like vocabulary:
//! transactions (some aborted), hashes, lists, sets and sorted sets, commands aimed at a key of
//! another type (`WRONGTYPE`), `exists`, and deadlines (`put px`, `pexpire`, `persist`,
//! `pttl`, `ttl`), stamped as
//! `kv/expiry.rs` assumes. `Mix::default()` adds nothing, and then the history is exactly
//! what it was before `Mix` existed (the benchmark's figures stay comparable).
//! [`register_history`] draws get and put only, with each replica's final state: the workload
//! of the weaker models (`weak/`).
//!
//! The random source is SplitMix64 seeded from [`Spec::seed`]: same spec, same history.

use crate::history::{FinalValue, History, KvOperation};
use crate::kv::{Command, ModelKind, Outcome};
use crate::model::{ClientId, Operation, Time};

mod store;

use store::Store;

/// What kind of history to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Same seed, same history.
    pub seed: u64,
    /// Concurrent clients: the main knob for overlap.
    pub clients: u64,
    /// Distinct keys; every tenth is a counter (`incr`/`get`), the rest strings (or, with
    /// [`Mix::typed`], the first four of every ten are a hash, a list, a set, a sorted set).
    pub keys: u64,
    /// Operations in total.
    pub ops: usize,
    /// Longest operation in ticks; longer operations overlap more.
    pub op_ticks_max: u64,
    /// Chance in a thousand that an operation gets no return.
    pub no_return_permille: u64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            seed: 1,
            clients: 5,
            keys: 3,
            ops: 100,
            op_ticks_max: 20,
            no_return_permille: 20,
        }
    }
}

/// Which Redis-like operations join the plain string mix; the default adds none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mix {
    /// Chance in a thousand that an operation is a transaction of 2 to 4 commands on keys of
    /// one group of five neighbours (which joins their partitions); one in eight returned
    /// transactions is aborted.
    pub multi_permille: u64,
    /// Give keys types: of every ten keys, a hash, a list, a set and a sorted set.
    pub typed: bool,
    /// Chance in a thousand that a command is one of a random type aimed at its key,
    /// whatever that key holds (`WRONGTYPE` when they differ).
    pub wrongtype_permille: u64,
    /// Chance in a thousand that a put carries `px`, and half that of a `pexpire` or `pttl`.
    pub expiry_permille: u64,
}

/// SplitMix64: tiny, fast, and good enough to shape test histories.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (`n > 0`); the modulo bias is irrelevant here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `permille / 1000`; draws nothing when `permille` is 0, so a mix
    /// that is off leaves the random sequence as it was.
    fn chance(&mut self, permille: u64) -> bool {
        permille > 0 && self.below(1000) < permille
    }
}

/// One generated operation before outputs are known.
struct Draft {
    /// Who sends it.
    client: ClientId,
    /// What it asks.
    command: Command,
    /// When it is sent.
    invoke: Time,
    /// When it would return.
    ret: Time,
    /// Its secret linearization point, in `[invoke, ret]`.
    point: Time,
    /// The client never hears back.
    no_return: bool,
    /// With no return: whether it took effect anyway.
    applied: bool,
    /// A returned transaction answered "aborted": it applied nothing.
    aborted: bool,
}

/// Generate a linearizable `kv` history of plain string and counter operations.
pub fn linearizable_history(spec: &Spec) -> History {
    linearizable_history_with(spec, &Mix::default())
}

/// Generate a linearizable `kv` history with `mix`'s operations too (see the module docs).
pub fn linearizable_history_with(spec: &Spec, mix: &Mix) -> History {
    let mut rng = SplitMix(spec.seed);
    let drafts = draft_operations(spec, &mut rng, |rng, j| random_command(spec, mix, rng, j));
    History::new(ModelKind::Kv, finish(&drafts)).expect("generated operations are well formed")
}

/// Generate a `register` history: get and put only, a unique value per put (`v17`), and
/// closed-loop clients: the workload of the weaker models (`weak/`). Linearizable by
/// construction, so every weaker model holds too. It carries each of three replicas' final
/// state: the last put, in linearization order, that took effect on each key.
pub fn register_history(spec: &Spec) -> History {
    let mut rng = SplitMix(spec.seed);
    let keys = spec.keys.max(1);
    let drafts = draft_operations(spec, &mut rng, |rng, j| {
        let key = format!("k{}", rng.below(keys));
        match rng.below(100) {
            0..=49 => Command::Get { key },
            _ => Command::put(&key, &format!("v{j}")),
        }
    });
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by_key(|&i| (drafts[i].point, i));
    let mut last: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for d in order.iter().map(|&i| &drafts[i]).filter(|d| d.applied) {
        if let Command::Put { key, value } = &d.command {
            last.insert(key, value);
        }
    }
    let finals = (1..=3)
        .flat_map(|r| last.iter().map(move |(k, v)| FinalValue::new(r, k, &[*v])))
        .collect();
    History::new(ModelKind::Register, finish(&drafts))
        .and_then(|h| h.with_finals(finals))
        .expect("generated operations are well formed")
}

/// The drafts as operations, with the outputs a replay in point order gives them.
fn finish(drafts: &[Draft]) -> Vec<KvOperation> {
    let outputs = replay(drafts);
    drafts
        .iter()
        .zip(outputs)
        .map(|(d, out)| match (d.no_return, out) {
            (false, Some(out)) => {
                Operation::returned(d.client, d.command.clone(), d.invoke, d.ret, out)
            }
            _ => Operation::no_return(d.client, d.command.clone(), d.invoke),
        })
        .collect()
}

/// Closed-loop clients drawing commands with `draw(rng, op index)`.
fn draft_operations(
    spec: &Spec,
    rng: &mut SplitMix,
    mut draw: impl FnMut(&mut SplitMix, usize) -> Command,
) -> Vec<Draft> {
    let clients = spec.clients.max(1);
    let mut free_at: Vec<Time> = (0..clients).map(|_| rng.below(3)).collect();
    let mut drafts = Vec::with_capacity(spec.ops);
    for j in 0..spec.ops {
        // The client free soonest goes next (lowest id on ties): closed-loop clients.
        let (c, &invoke) = free_at
            .iter()
            .enumerate()
            .min_by_key(|&(c, t)| (*t, c))
            .expect("clients >= 1");
        let length = 1 + rng.below(spec.op_ticks_max.max(1));
        let ret = invoke + length;
        let point = invoke + rng.below(length + 1);
        let no_return = rng.below(1000) < spec.no_return_permille;
        let applied = !no_return || rng.below(2) == 0;
        let command = draw(rng, j);
        let aborted = matches!(command, Command::Multi(_)) && !no_return && rng.below(8) == 0;
        free_at[c] = ret + 1 + rng.below(3);
        drafts.push(Draft {
            client: c as ClientId,
            command,
            invoke,
            ret,
            point,
            no_return,
            applied,
            aborted,
        });
    }
    drafts
}

fn random_command(spec: &Spec, mix: &Mix, rng: &mut SplitMix, j: usize) -> Command {
    let keys = spec.keys.max(1);
    if rng.chance(mix.multi_permille) {
        // Keys of one group of MULTI_GROUP_KEYS, as a workload's transactions touch related
        // keys (an account and its log): partitions join within a group, not across all.
        let group = rng.below(keys.div_ceil(MULTI_GROUP_KEYS)) * MULTI_GROUP_KEYS;
        let n = 2 + rng.below(3);
        let subs = (0..n).map(|s| {
            let k = (group + rng.below(MULTI_GROUP_KEYS)) % keys;
            random_single(spec, mix, rng, (j, k), &format!("v{j}.{s}"))
        });
        return Command::Multi(subs.collect());
    }
    let k = rng.below(keys);
    random_single(spec, mix, rng, (j, k), &format!("v{j}"))
}

/// How many neighbouring keys one generated transaction draws its keys from.
const MULTI_GROUP_KEYS: u64 = 5;

/// One command on key `k`; `value` is unique to it, `j` names recent values for cas.
fn random_single(
    spec: &Spec,
    mix: &Mix,
    rng: &mut SplitMix,
    (j, k): (usize, u64),
    value: &str,
) -> Command {
    let key = key_name(mix, k);
    if rng.chance(mix.wrongtype_permille) {
        let family = rng.below(4);
        return typed_command(rng, family, &key, value);
    }
    if rng.chance(mix.expiry_permille / 2) {
        return match rng.below(5) {
            0 => Command::PExpire {
                key,
                ttl_ms: 1 + rng.below(spec.op_ticks_max.max(1) * 4),
            },
            1 => Command::PTtl { key },
            2 => Command::Ttl { key },
            3 => Command::Persist { key },
            _ => Command::Exists { key },
        };
    }
    if mix.typed && k % 10 < 4 {
        return typed_command(rng, k % 10, &key, value);
    }
    if k % 10 == 9 {
        return if rng.below(2) == 0 {
            Command::Get { key }
        } else {
            Command::incr(&key, 1 + rng.below(3) as i64)
        };
    }
    let value = value.to_string();
    match rng.below(100) {
        0..=44 => Command::Get { key },
        45..=69 if rng.chance(mix.expiry_permille) => Command::PutPx {
            key,
            value,
            ttl_ms: 1 + rng.below(spec.op_ticks_max.max(1) * 4),
        },
        45..=69 => Command::Put { key, value },
        70..=79 => Command::Append { key, value },
        80..=91 => {
            // Half the swaps name a recent value, so some succeed and some fail.
            let expected = match rng.below(3) {
                0 => None,
                _ => Some(format!("v{}", j.saturating_sub(1 + rng.below(8) as usize))),
            };
            Command::Cas {
                key,
                expected,
                new: value,
            }
        }
        _ => Command::Delete { key },
    }
}

/// Key `k`'s name: `h`, `l`, `s`, `z` for typed keys, `n` for counters, `k` for strings.
fn key_name(mix: &Mix, k: u64) -> String {
    let prefix = match k % 10 {
        0 if mix.typed => "h",
        1 if mix.typed => "l",
        2 if mix.typed => "s",
        3 if mix.typed => "z",
        9 => "n",
        _ => "k",
    };
    format!("{prefix}{k}")
}

/// A command of type `family` (0 hash, 1 list, 2 set, 3 sorted set) on `key`; fields and
/// members come from small pools so reads find them, and one in twenty deletes the key.
fn typed_command(rng: &mut SplitMix, family: u64, key: &str, value: &str) -> Command {
    let key = key.to_string();
    if rng.below(20) == 0 {
        return Command::Delete { key };
    }
    let (roll, pick) = (rng.below(100), rng.below(4));
    let (field, member) = (format!("f{pick}"), format!("m{pick}"));
    let value = value.to_string();
    match (family, roll) {
        (0, 0..=39) => Command::HSet { key, field, value },
        (0, 40..=69) => Command::HGet { key, field },
        (0, 70..=84) => Command::HDel { key, field },
        (0, _) => Command::HLen { key },
        (1, 0..=24) => Command::LPush { key, value },
        (1, 25..=49) => Command::RPush { key, value },
        (1, 50..=69) => Command::LPop { key },
        (1, 70..=84) => Command::RPop { key },
        (1, _) => Command::LLen { key },
        (2, 0..=39) => Command::SAdd { key, member },
        (2, 40..=64) => Command::SRem { key, member },
        (2, 65..=84) => Command::SIsMember { key, member },
        (2, _) => Command::SCard { key },
        (_, 0..=39) => Command::ZAdd {
            key,
            score: roll as i64,
            member,
        },
        (_, 40..=69) => Command::ZScore { key, member },
        (_, 70..=84) => Command::ZRem { key, member },
        (_, _) => Command::ZCard { key },
    }
}

/// Apply the drafts in linearization-point order to the reference store; each applied
/// draft's output (an aborted transaction's is `Aborted`, and it applies nothing).
fn replay(drafts: &[Draft]) -> Vec<Option<Outcome>> {
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by_key(|&i| (drafts[i].point, i));
    let mut store = Store::default();
    let mut outputs = vec![None; drafts.len()];
    for i in order {
        let d = &drafts[i];
        outputs[i] = match (d.applied, d.aborted) {
            (_, true) => Some(Outcome::Aborted),
            (true, false) => Some(store.apply(&d.command, d.point)),
            (false, false) => None,
        };
    }
    outputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_register_history_holds_under_every_model() {
        let spec = Spec {
            ops: 2_000,
            clients: 10,
            keys: 10,
            ..Spec::default()
        };
        let h = register_history(&spec);
        assert!(h
            .ops()
            .iter()
            .all(|o| matches!(o.input.name(), "get" | "put")));
        assert_eq!(h.check(), crate::CheckResult::Linearizable);
        let all = crate::check_all_weak(&h, crate::WeakBudget::default()).unwrap();
        assert_eq!(all.len(), 7, "eventual too: the history has final values");
        for (model, v) in all {
            assert!(v.holds(), "{model}: {v}");
        }
    }

    #[test]
    fn the_same_spec_gives_the_same_history() {
        let spec = Spec {
            seed: 7,
            ..Spec::default()
        };
        assert_eq!(linearizable_history(&spec), linearizable_history(&spec));
        assert_ne!(
            linearizable_history(&spec),
            linearizable_history(&Spec { seed: 8, ..spec })
        );
    }

    #[test]
    fn every_operation_returns_no_earlier_than_it_was_invoked_and_the_mix_is_varied() {
        let h = linearizable_history(&Spec {
            ops: 500,
            keys: 10,
            ..Spec::default()
        });
        assert_eq!(h.ops().len(), 500);
        assert!(h
            .ops()
            .iter()
            .all(|o| o.ret().into_iter().all(|r| r >= o.invoke)));
        for name in ["get", "put", "append", "cas", "delete", "incr"] {
            assert!(
                h.ops().iter().any(|o| o.input.name() == name),
                "no {name} generated"
            );
        }
        assert!(
            h.ops().iter().any(|o| o.ret().is_none()),
            "no operation without a return"
        );
    }
}
