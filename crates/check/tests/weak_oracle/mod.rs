//! Naive oracles for the weaker models, written from the definitions alone (the module docs
//! of `src/weak/` state them): a Floyd–Warshall closure of so ∪ wr, every quantifier spelled
//! out, and a brute-force search over interleavings for sequential consistency. Slow on
//! purpose; sharing no code with the library is the point.

use check::{Command, History, Outcome};

/// Most ops the brute-force sequential search is run on.
pub const BRUTE_FORCE_OPS_MAX: usize = 9;

#[derive(Clone, Copy, PartialEq, Eq)]
enum From {
    Init,
    Put(usize),
    Nowhere,
}

/// The history's ops (gets with no return left out), with so, reads-from and co.
pub struct Naive {
    key: Vec<String>,
    put: Vec<bool>,
    returned: Vec<bool>,
    from: Vec<Option<From>>,
    /// Session order, already transitive: same client, earlier, and the earlier one returned.
    so: Vec<Vec<bool>>,
    /// co = (so ∪ wr)+.
    co: Vec<Vec<bool>>,
    /// The history index of each op.
    pub index: Vec<usize>,
}

impl Naive {
    pub fn new(h: &History) -> Self {
        let all = h.ops();
        let index: Vec<usize> = (0..all.len())
            .filter(|&i| all[i].ret().is_some() || matches!(all[i].input, Command::Put { .. }))
            .collect();
        let n = index.len();
        let op = |i: usize| &all[index[i]];
        let key: Vec<String> = (0..n).map(|i| op(i).input.key().to_string()).collect();
        let put: Vec<bool> = (0..n)
            .map(|i| matches!(op(i).input, Command::Put { .. }))
            .collect();
        let returned: Vec<bool> = (0..n).map(|i| op(i).ret().is_some()).collect();
        let value = |i: usize| match &op(i).input {
            Command::Put { value, .. } => Some(value.clone()),
            _ => None,
        };
        let from: Vec<Option<From>> = (0..n)
            .map(|r| match op(r).output() {
                Some(Outcome::Value(None)) => Some(From::Init),
                Some(Outcome::Value(Some(v))) => Some(
                    (0..n)
                        .find(|&w| put[w] && key[w] == key[r] && value(w).as_deref() == Some(v))
                        .map_or(From::Nowhere, From::Put),
                ),
                _ => None,
            })
            .collect();
        let order = |i: usize| (op(i).invoke, index[i]);
        let so: Vec<Vec<bool>> = (0..n)
            .map(|a| {
                (0..n)
                    .map(|b| op(a).client == op(b).client && order(a) < order(b) && returned[a])
                    .collect()
            })
            .collect();
        let mut co = so.clone();
        for r in 0..n {
            if let Some(From::Put(w)) = from[r] {
                co[w][r] = true;
            }
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    if co[i][k] && co[k][j] {
                        co[i][j] = true;
                    }
                }
            }
        }
        Naive {
            key,
            put,
            returned,
            from,
            so,
            co,
            index,
        }
    }

    pub fn len(&self) -> usize {
        self.key.len()
    }

    fn gets(&self) -> impl Iterator<Item = (usize, From)> + '_ {
        (0..self.len()).filter_map(|r| self.from[r].map(|f| (r, f)))
    }

    fn puts_to(&self, key: &str) -> impl Iterator<Item = usize> + '_ {
        let key = key.to_string();
        (0..self.len()).filter(move |&w| self.put[w] && self.key[w] == key)
    }

    /// Bouajjani et al.: no CyclicCO, WriteCOInitRead, ThinAirRead or WriteCORead.
    pub fn causal(&self) -> bool {
        let cyclic = (0..self.len()).any(|i| self.co[i][i]);
        let bad_read = self.gets().any(|(r, f)| match f {
            From::Nowhere => true,
            From::Init => self.puts_to(&self.key[r]).any(|w| self.co[w][r]),
            From::Put(w1) => self
                .puts_to(&self.key[r])
                .any(|w2| w2 != w1 && self.co[w1][w2] && self.co[w2][r]),
        });
        !cyclic && !bad_read
    }

    /// w2 →so r (own put) and (r saw nil, or w_r →co w2).
    pub fn read_your_writes(&self) -> bool {
        !self.gets().any(|(r, f)| {
            self.puts_to(&self.key[r]).any(|w2| {
                self.so[w2][r]
                    && match f {
                        From::Init => true,
                        From::Put(w) => w != w2 && self.co[w][w2],
                        From::Nowhere => false,
                    }
            })
        })
    }

    /// w1 →wr r1 →so r and (r saw nil, or w_r →co w1).
    pub fn monotonic_reads(&self) -> bool {
        !self.gets().any(|(r, f)| {
            self.gets().any(|(r1, f1)| {
                let From::Put(w1) = f1 else { return false };
                self.key[r1] == self.key[r]
                    && self.so[r1][r]
                    && match f {
                        From::Init => true,
                        From::Put(w) => w != w1 && self.co[w][w1],
                        From::Nowhere => false,
                    }
            })
        })
    }

    /// w1 →so w2 →co r, r saw w1.
    pub fn monotonic_writes(&self) -> bool {
        !self.gets().any(|(r, f)| {
            let From::Put(w1) = f else { return false };
            self.puts_to(&self.key[r])
                .any(|w2| self.so[w1][w2] && self.co[w2][r])
        })
    }

    /// w1 →wr r1 →so w2 →co r, r saw w1.
    pub fn writes_follow_reads(&self) -> bool {
        !self.gets().any(|(r, f)| {
            let From::Put(w1) = f else { return false };
            self.gets().any(|(r1, f1)| {
                f1 == From::Put(w1)
                    && self
                        .puts_to(&self.key[r])
                        .any(|w2| self.so[r1][w2] && self.co[w2][r])
            })
        })
    }

    /// (read, w1) pairs where the read's own client put w2 to its key before it and
    /// w1 →co w2: redirecting the read to w1 makes a WriteCORead.
    pub fn overwritten_by_own_put(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (r, _) in self.gets() {
            for w2 in self.puts_to(&self.key[r]).filter(|&w2| self.so[w2][r]) {
                for w1 in self
                    .puts_to(&self.key[r])
                    .filter(|&w1| w1 != w2 && self.co[w1][w2])
                {
                    out.push((self.index[r], self.index[w1]));
                }
            }
        }
        out
    }

    /// Some interleaving of every returned op (and any of the puts with no return, once the
    /// client's earlier returned ops are placed) respecting so, in which each read sees the
    /// latest put to its key placed before it (or nil). Brute force.
    pub fn sequential(&self) -> bool {
        let mut placed = vec![false; self.len()];
        let mut writer: Vec<(String, usize)> = Vec::new();
        self.extend(&mut placed, &mut writer)
    }

    fn extend(&self, placed: &mut [bool], writer: &mut Vec<(String, usize)>) -> bool {
        if (0..self.len()).all(|i| placed[i] || !self.returned[i]) {
            return true;
        }
        for o in 0..self.len() {
            let ready = !placed[o] && (0..self.len()).all(|a| !self.so[a][o] || placed[a]);
            if !ready {
                continue;
            }
            let current = writer
                .iter()
                .rev()
                .find(|(k, _)| *k == self.key[o])
                .map(|w| w.1);
            let fits = match self.from[o] {
                None => true,
                Some(From::Init) => current.is_none(),
                Some(From::Put(w)) => current == Some(w),
                Some(From::Nowhere) => false,
            };
            if !fits {
                continue;
            }
            placed[o] = true;
            if self.put[o] {
                writer.push((self.key[o].clone(), o));
            }
            let done = self.extend(placed, writer);
            if self.put[o] {
                writer.pop();
            }
            placed[o] = false;
            if done {
                return true;
            }
        }
        false
    }
}
