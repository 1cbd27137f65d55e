//! A fast hasher for maps keyed by our own ids (connections, guilds, users).
//!
//! The fan-out path looks up a session's connection and its guild's subscribers for
//! every delivery; std's SipHash costs more there than the rest of the lookup. SipHash
//! exists to resist keys chosen by an attacker who wants collisions. The keys hashed
//! here are not chosen by peers: `ConnId`s come from the reactor's slab, and guild,
//! channel and user ids are Snowflakes this server minted and checked against its own
//! world before they are used as keys. So a multiply-rotate hash (the one rustc uses
//! for its own tables) is enough, and spreads Snowflakes, whose low bits are a sequence
//! number, as well as it needs to.
//!
//! Do not use it for keys a client controls (header names, tokens, query strings).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hasher for integer keys.
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

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
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

    #[test]
    fn snowflakes_one_sequence_apart_land_in_different_buckets() {
        // Ids minted in one millisecond differ only in their low 12 bits; a table's
        // bucket comes from the hash's top bits, so those must differ too.
        let base = 1_300_000_000_000_000_000u64;
        let buckets: HashSet<u64> = (0..4096).map(|seq| hash(base + seq) >> 52).collect();
        assert!(buckets.len() > 3000, "only {} of 4096 buckets", buckets.len());
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
