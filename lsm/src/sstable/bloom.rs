//! The per-table Bloom filter, aware of channel prefixes.
//!
//! For every key the filter holds the key itself; for a message key it also holds the
//! 9-byte channel prefix. A point read asks for the key, a channel scan asks for the prefix,
//! and a "no" from either skips the table without touching its blocks.
//!
//! ```text
//! | bit array (m bits, m = 8 * nbytes) | k u8 | crc32c u32 |
//! ```
//!
//! Probes use double hashing (Kirsch and Mitzenmacher): bit_i = (h1 + i * h2) mod m, from
//! one 64-bit hash. With 10 bits per key and k = 7 the false-positive rate is about 1%.
//!
//! Invariants:
//! - No false negatives: everything added answers "maybe" (property-tested).
//! - `may_contain` never panics on any filter bytes.

/// Hashes bytes to 64 bits: a multiply-rotate over 8-byte words, then the murmur3 finalizer.
pub fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = K ^ (bytes.len() as u64).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        h = (h ^ word).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// Collects hashes, then lays out the filter.
#[derive(Debug, Default)]
pub struct BloomBuilder {
    hashes: Vec<u64>,
}

impl BloomBuilder {
    /// Adds bytes (a key or a channel prefix).
    pub fn add(&mut self, bytes: &[u8]) {
        self.hashes.push(hash(bytes));
    }

    /// The filter bytes (bit array and `k`, without the CRC).
    pub fn finish(&self, bits_per_key: usize) -> Vec<u8> {
        let bits = (self.hashes.len() * bits_per_key).max(64);
        let bytes = bits.div_ceil(8);
        let m = (bytes * 8) as u64;
        // k = ln 2 * bits per key, the optimum for a given size.
        let k = ((bits_per_key as f64 * 0.69) as u8).clamp(1, 30);
        let mut out = vec![0u8; bytes + 1];
        for &h in &self.hashes {
            let (mut probe, delta) = (h, h.rotate_left(31) | 1);
            for _ in 0..k {
                let bit = probe % m;
                out[(bit / 8) as usize] |= 1 << (bit % 8);
                probe = probe.wrapping_add(delta);
            }
        }
        out[bytes] = k;
        out
    }
}

/// True if `filter` may contain the bytes whose hash is `h`.
pub fn may_contain(filter: &[u8], h: u64) -> bool {
    let Some((&k, bits)) = filter.split_last() else {
        return true;
    };
    if bits.is_empty() || k == 0 || k > 30 {
        return true; // An unusable filter must not hide data.
    }
    let m = (bits.len() * 8) as u64;
    let (mut probe, delta) = (h, h.rotate_left(31) | 1);
    for _ in 0..k {
        let bit = probe % m;
        if bits[(bit / 8) as usize] & (1 << (bit % 8)) == 0 {
            return false;
        }
        probe = probe.wrapping_add(delta);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn false_positive_rate_is_near_one_percent() {
        let mut builder = BloomBuilder::default();
        for i in 0u64..10_000 {
            builder.add(&i.to_be_bytes());
        }
        let filter = builder.finish(10);
        let false_positives = (10_000u64..110_000)
            .filter(|i| may_contain(&filter, hash(&i.to_be_bytes())))
            .count();
        assert!(false_positives < 2_000, "{false_positives} of 100000");
    }

    proptest! {
        #[test]
        fn no_false_negatives(keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..30), 0..200)) {
            let mut builder = BloomBuilder::default();
            for k in &keys {
                builder.add(k);
            }
            let filter = builder.finish(10);
            for k in &keys {
                prop_assert!(may_contain(&filter, hash(k)));
            }
        }

        #[test]
        fn garbage_filters_never_panic(filter in proptest::collection::vec(any::<u8>(), 0..40), h: u64) {
            let _ = may_contain(&filter, h);
        }
    }
}
