//! A fast hasher for maps keyed by our own ids (connections, guilds, users).
//!
//! The fan-out path looks up a session's connection and its guild's subscribers for
//! every delivery; std's SipHash costs more there than the rest of the lookup. SipHash
//! exists to resist keys chosen by an attacker who wants collisions. The keys hashed
//! here are not chosen by peers: `ConnId`s come from the reactor's slab, and guild,
//! channel and user ids are Snowflakes this server minted and checked against its own
//! world before they are used as keys. So a multiply-rotate hash (the one rustc uses
//! for its own tables) with MurmurHash3's finaliser is enough; the finaliser matters,
//! because Snowflakes minted in different milliseconds can share their low 22 bits.
//!
//! Do not use it for keys a client controls (header names, tokens, query strings).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hasher for integer keys, with a final mix.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        for &byte in chunks.remainder() {
            self.add(u64::from(byte));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// A product's low bits depend only on the input's low bits, and tables index by
    /// the low bits: without a final mix, Snowflakes minted in different milliseconds
    /// with the same low 22 bits would share a bucket. MurmurHash3's 64-bit finaliser
    /// folds every bit into every other.
    #[inline]
    fn finish(&self) -> u64 {
        let mut hash = self.hash;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^ (hash >> 33)
    }
}

/// A `HashMap` keyed by our own ids.
pub type IdHashMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
/// A `HashSet` of our own ids.
pub type IdHashSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash<T: Hash>(value: T) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(value)
    }

    /// Buckets used by `keys` in a 4096-bucket table (tables index by the low bits; the
    /// top 7 bits tag entries within a group). 4096 random hashes fill about 2,589
    /// buckets (1 - 1/e); a hash that ignores the bits that differ fills a handful.
    fn buckets(keys: impl Iterator<Item = u64>) -> (usize, usize) {
        let hashes: Vec<u64> = keys.map(hash).collect();
        let low: HashSet<u64> = hashes.iter().map(|h| h & 4095).collect();
        let top: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        (low.len(), top.len())
    }

    #[test]
    fn snowflakes_spread_over_buckets_whichever_bits_differ() {
        let base = 1_300_000_000_000_000_000u64;
        // Minted in one millisecond: only the sequence (low 12 bits) differs.
        let (low, top) = buckets((0..4096).map(|seq| base + seq));
        assert!(
            low > 2000 && top > 100,
            "sequence ids: {low} buckets, {top} tags"
        );
        // Minted in different milliseconds with the same worker, process and sequence:
        // the low 22 bits are equal and only the timestamp differs.
        let (low, top) = buckets((0..4096).map(|ms| base + (ms << 22)));
        assert!(
            low > 2000 && top > 100,
            "timestamp ids: {low} buckets, {top} tags"
        );
        // Connection ids: (slot, generation) pairs.
        let (low, _) = buckets((0..4096u64).map(|slot| (slot << 32) | 7));
        assert!(low > 2000, "connection ids: {low} buckets");
    }

    #[test]
    fn maps_work_with_composite_keys() {
        let mut map: IdHashMap<(u32, u32), usize> = IdHashMap::default();
        for i in 0..1000u32 {
            map.insert((i, i.wrapping_mul(7)), i as usize);
        }
        assert_eq!(map.len(), 1000);
        assert_eq!(map.get(&(10, 70)), Some(&10));
        assert_eq!(map.get(&(10, 71)), None);
    }
}
