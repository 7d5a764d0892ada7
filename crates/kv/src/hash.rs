//! Two small checksums: FNV-1a 64 for the replica digest, CRC-32 for snapshot integrity.
//!
//! ```text
//!   digest   = FNV-1a-64( canonical state encoding )   compare replicas in one u64
//!   snapshot = body ‖ CRC-32(body)                     refuse a corrupt file with a clear error
//! ```
//!
//! Neither is cryptographic, and neither needs to be: the digest compares honest replicas in
//! tests and in the simulator, and the CRC catches torn writes and flipped bits, not attackers.
//! CRC-32 (IEEE 802.3, the zlib/PNG/Ethernet polynomial) detects every burst error up to 32 bits,
//! which FNV does not promise; FNV is simpler and streams one byte at a time.
//!
//! The CRC comes from `crc32fast`, a well-kept crate made for exactly this; the FNV digest is
//! written out here because it is ten lines and its byte-at-a-time shape is the lesson (and std's
//! `DefaultHasher` promises no stable output across releases).

use distributed_core::wire::Sink;

/// FNV-1a, 64-bit (Fowler–Noll–Vo). Deterministic on every platform: no per-process seed,
/// which is exactly what std's `DefaultHasher` does not promise.
#[derive(Clone, Debug)]
pub(crate) struct Fnv64 {
    /// The running hash. Starts at the FNV offset basis.
    state: u64,
}

impl Fnv64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub(crate) fn new() -> Self {
        Fnv64 {
            state: Self::OFFSET_BASIS,
        }
    }

    pub(crate) fn finish(&self) -> u64 {
        self.state
    }
}

/// The hasher is a `Sink`, like `Vec<u8>`: the digest streams the very bytes `snapshot()`
/// writes, through the same `write_body`, without building them, so the digest and the
/// snapshot can never disagree about what the state is.
impl Sink for Fnv64 {
    fn put_slice(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.state ^= u64::from(*b);
            self.state = self.state.wrapping_mul(Self::PRIME);
        }
    }
}

/// CRC-32/ISO-HDLC (the one zlib computes) of `data`, from the `crc32fast` crate (SIMD where the
/// CPU has it). The storage layer's WAL uses the same function, so one checksum covers the disk.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The check value every CRC catalogue lists for "123456789".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn fnv64_matches_the_published_test_vectors() {
        let mut h = Fnv64::new();
        assert_eq!(h.finish(), 0xcbf2_9ce4_8422_2325);
        h.put_slice(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn fnv64_streams_so_split_input_hashes_like_whole_input() {
        let mut whole = Fnv64::new();
        whole.put_slice(b"hello world");
        let mut split = Fnv64::new();
        split.put_slice(b"hello");
        split.put_slice(b" world");
        assert_eq!(whole.finish(), split.finish());
    }
}
