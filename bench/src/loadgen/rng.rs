//! A cheap xorshift64* generator for WebSocket masking keys and `Sec-WebSocket-Key`s.
//!
//! RFC 6455 §5.3 asks for unpredictable masking keys so that a browser script cannot
//! steer the bytes on the wire; a load generator has no such adversary, so a fast
//! non-cryptographic generator is enough, and it keeps masking off the profile.

/// xorshift64* (Vigna), seeded per thread. The default is seeded with 0.
#[derive(Debug, Clone)]
pub struct XorShift64 {
    state: u64,
}

impl Default for XorShift64 {
    fn default() -> XorShift64 {
        XorShift64::new(0)
    }
}

impl XorShift64 {
    /// A generator from `seed`; any seed works (zero is replaced).
    pub fn new(seed: u64) -> XorShift64 {
        // splitmix64 once, so nearby seeds (thread indices) start far apart.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        XorShift64 {
            state: if z == 0 { 0x2545_f491_4f6c_dd1d } else { z },
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A masking key for one client frame.
    pub fn mask_key(&mut self) -> [u8; 4] {
        (self.next_u64() as u32).to_le_bytes()
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_vary_and_seeds_differ() {
        let mut a = XorShift64::new(0);
        let mut b = XorShift64::new(1);
        let keys: Vec<[u8; 4]> = (0..64).map(|_| a.mask_key()).collect();
        assert!(keys.windows(2).all(|pair| pair[0] != pair[1]));
        assert_ne!(a.next_u64(), b.next_u64());
        let mut bytes = [0u8; 13];
        a.fill(&mut bytes);
        assert!(bytes.iter().any(|&b| b != 0));
    }
}
