//! Histories that are linearizable by construction, for tests, benchmarks and demos.
//!
//! Closed-loop clients each send one operation at a time. Every operation gets a secret
//! linearization point inside its interval; applying the operations to a plain map in that
//! order gives each one its output. The result is linearizable (the points are a witness),
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
//! The random source is SplitMix64 seeded from [`Spec::seed`]: same spec, same history.

use std::collections::BTreeMap;

use crate::history::{History, KvOperation};
use crate::kv::{Command, ModelKind, Outcome};
use crate::model::{ClientId, Operation, Time};

/// What kind of history to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Same seed, same history.
    pub seed: u64,
    /// Concurrent clients: the main knob for overlap.
    pub clients: u64,
    /// Distinct keys (partitions); every tenth is a counter (`incr`/`get`), the rest strings.
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
}

/// Generate a linearizable `kv` history (see the module docs).
pub fn linearizable_history(spec: &Spec) -> History {
    let mut rng = SplitMix(spec.seed);
    let drafts = draft_operations(spec, &mut rng);
    let outputs = replay(&drafts);
    let ops: Vec<KvOperation> = drafts
        .into_iter()
        .zip(outputs)
        .map(|(d, out)| match (d.no_return, out) {
            (false, Some(out)) => Operation::returned(d.client, d.command, d.invoke, d.ret, out),
            _ => Operation::no_return(d.client, d.command, d.invoke),
        })
        .collect();
    History::new(ModelKind::Kv, ops).expect("generated operations are well formed")
}

fn draft_operations(spec: &Spec, rng: &mut SplitMix) -> Vec<Draft> {
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
        let command = random_command(spec, rng, j);
        free_at[c] = ret + 1 + rng.below(3);
        drafts.push(Draft {
            client: c as ClientId,
            command,
            invoke,
            ret,
            point,
            no_return,
            applied,
        });
    }
    drafts
}

fn random_command(spec: &Spec, rng: &mut SplitMix, j: usize) -> Command {
    let k = rng.below(spec.keys.max(1));
    if k % 10 == 9 {
        let key = format!("n{k}");
        return if rng.below(2) == 0 {
            Command::get(&key)
        } else {
            Command::incr(&key, 1 + rng.below(3) as i64)
        };
    }
    let key = format!("k{k}");
    let value = format!("v{j}");
    match rng.below(100) {
        0..=44 => Command::get(&key),
        45..=69 => Command::put(&key, &value),
        70..=79 => Command::append(&key, &value),
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
        _ => Command::delete(&key),
    }
}

/// Apply the drafts in linearization-point order to a plain map; each applied draft's output.
fn replay(drafts: &[Draft]) -> Vec<Option<Outcome>> {
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by_key(|&i| (drafts[i].point, i));
    let mut store: BTreeMap<String, String> = BTreeMap::new();
    let mut outputs = vec![None; drafts.len()];
    for i in order {
        if drafts[i].applied {
            outputs[i] = Some(apply(&mut store, &drafts[i].command));
        }
    }
    outputs
}

/// The store's behaviour, written independently of `KvModel` so each checks the other.
fn apply(store: &mut BTreeMap<String, String>, command: &Command) -> Outcome {
    match command {
        Command::Get { key } => Outcome::Value(store.get(key).cloned()),
        Command::Put { key, value } => {
            store.insert(key.clone(), value.clone());
            Outcome::Done
        }
        Command::Append { key, value } => {
            store.entry(key.clone()).or_default().push_str(value);
            Outcome::Done
        }
        Command::Cas { key, expected, new } => {
            let swapped = store.get(key) == expected.as_ref();
            if swapped {
                store.insert(key.clone(), new.clone());
            }
            Outcome::Swapped(swapped)
        }
        Command::Delete { key } => {
            store.remove(key);
            Outcome::Done
        }
        Command::Incr { key, delta } => {
            let now: i64 = store
                .get(key)
                .map_or(0, |v| v.parse().expect("counter keys hold integers"));
            store.insert(key.clone(), (now + delta).to_string());
            Outcome::Counter(now + delta)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
