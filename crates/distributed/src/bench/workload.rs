//! What each client sends: keys from a fixed key space, one fixed value, and the read/write mix.
//!
//! ```text
//!   key i  = i in decimal, zero-padded to --key-size bytes   ("00000042" for 8 bytes)
//!   value  = --val-size bytes of 'v'
//!   each request: GET with probability --read-ratio, else SET; key uniform over 0..--keys
//! ```
//!
//! Each client draws from its own SplitMix64 stream seeded by (--seed, client index), so two
//! runs with one seed send the same sequence per client. The road not taken: `rand`'s
//! generators; SplitMix64 is six lines and fast enough not to show in the generator's profile.

/// One request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Read the key with this index.
    Get(u64),
    /// Write the value to the key with this index.
    Set(u64),
}

/// Turns key indexes into key bytes.
#[derive(Clone, Debug)]
pub struct KeySpace {
    /// Bytes per key; at least the digits of the largest index (checked by `plan`).
    pub key_size: usize,
}

impl KeySpace {
    /// Key `index` as zero-padded decimal, written into `out` (cleared first).
    pub fn key_into(&self, index: u64, out: &mut Vec<u8>) {
        out.clear();
        let digits = index.to_string();
        assert!(
            digits.len() <= self.key_size,
            "key index {index} does not fit {} bytes",
            self.key_size
        );
        out.resize(self.key_size - digits.len(), b'0');
        out.extend_from_slice(digits.as_bytes());
    }
}

/// A client's stream of ops.
#[derive(Clone, Debug)]
pub struct Chooser {
    /// SplitMix64 state.
    state: u64,
    /// P(read) scaled to 0..=2^53, compared against 53 random bits so 1.0 is "always".
    read_threshold: u64,
    /// Key space size (≥ 1).
    keys: u64,
}

/// 2^53: the resolution of the read/write draw.
const DRAW_SCALE: u64 = 1 << 53;

impl Chooser {
    /// The op stream of client `client` in a run seeded with `seed`.
    pub fn new(seed: u64, client: u64, read_ratio: f64, keys: u64) -> Chooser {
        assert!(keys >= 1, "an empty key space");
        assert!((0.0..=1.0).contains(&read_ratio), "read ratio {read_ratio}");
        Chooser {
            state: seed ^ client.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            read_threshold: (read_ratio * DRAW_SCALE as f64) as u64,
            keys,
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next request.
    pub fn next_op(&mut self) -> Op {
        let read = (self.next_u64() >> 11) < self.read_threshold;
        // Modulo bias is below keys / 2^64: invisible for any key space we accept.
        let key = self.next_u64() % self.keys;
        if read {
            Op::Get(key)
        } else {
            Op::Set(key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_zero_padded_to_the_key_size() {
        let space = KeySpace { key_size: 8 };
        let mut out = Vec::new();
        space.key_into(42, &mut out);
        assert_eq!(out, b"00000042");
        space.key_into(99_999_999, &mut out);
        assert_eq!(out, b"99999999");
    }

    #[test]
    fn read_ratio_zero_only_writes_and_one_only_reads() {
        let mut writes = Chooser::new(7, 0, 0.0, 100);
        let mut reads = Chooser::new(7, 0, 1.0, 100);
        for _ in 0..1000 {
            assert!(matches!(writes.next_op(), Op::Set(k) if k < 100));
            assert!(matches!(reads.next_op(), Op::Get(k) if k < 100));
        }
    }

    #[test]
    fn a_half_mix_is_roughly_half_reads_and_covers_the_key_space() {
        let mut mix = Chooser::new(1, 3, 0.5, 10);
        let mut seen = [0u32; 10];
        let mut reads = 0;
        for _ in 0..10_000 {
            match mix.next_op() {
                Op::Get(k) => {
                    reads += 1;
                    seen[k as usize] += 1;
                }
                Op::Set(k) => seen[k as usize] += 1,
            }
        }
        assert!((4_500..=5_500).contains(&reads), "{reads} reads of 10000");
        assert!(seen.iter().all(|&n| n > 500), "{seen:?}");
    }

    #[test]
    fn one_seed_and_client_draw_the_same_sequence_and_clients_differ() {
        let draw = |seed, client| {
            let mut c = Chooser::new(seed, client, 0.5, 1000);
            (0..50).map(|_| c.next_op()).collect::<Vec<_>>()
        };
        assert_eq!(draw(5, 1), draw(5, 1));
        assert_ne!(draw(5, 1), draw(5, 2));
    }
}
