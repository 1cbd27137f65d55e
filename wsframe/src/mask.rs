//! Applies the 4-byte masking key (RFC 6455 §5.3) to a payload, a word at a time.
//!
//! Masking XORs payload byte `i` with `key[i % 4]`, so applying it twice restores the input
//! and unmasking is the same operation as masking. Because a frame's payload can arrive in
//! pieces, every function takes `offset`: the position of `payload[0]` within the frame's
//! payload, which decides where in the key the piece starts.
//!
//! [`apply_mask`] rotates the key by `offset`, replicates it into a `u64`, and XORs 32-byte
//! blocks as four words (the compiler turns these into vector instructions), then single words,
//! then the last few bytes. [`apply_mask_bytewise`] is the textbook loop; it stays public as
//! the reference that property tests and the `wsframe` benchmark compare against.
//!
//! Invariant: `apply_mask(p, k, o)` and `apply_mask_bytewise(p, k, o)` produce identical bytes
//! for every payload, key and offset (proptest below).

/// XORs `payload` with `key`, as if `payload` started at byte `offset` of the frame payload.
///
/// ```
/// use wsframe::mask::apply_mask;
///
/// let key = [1, 2, 3, 4];
/// let mut payload = *b"Hello, WebSocket";
/// apply_mask(&mut payload, key, 0);
/// assert_ne!(&payload, b"Hello, WebSocket");
/// // Unmask in two pieces, the second starting at payload offset 5.
/// let (head, tail) = payload.split_at_mut(5);
/// apply_mask(head, key, 0);
/// apply_mask(tail, key, 5);
/// assert_eq!(&payload, b"Hello, WebSocket");
/// ```
pub fn apply_mask(payload: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate_key(key, offset);
    let key_word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);

    let mut blocks = payload.chunks_exact_mut(32);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(8) {
            xor_word(word, key_word);
        }
    }
    let mut words = blocks.into_remainder().chunks_exact_mut(8);
    for word in &mut words {
        xor_word(word, key_word);
    }
    // Blocks and words both cover multiples of 4 bytes, so the tail starts at key index 0.
    for (index, byte) in words.into_remainder().iter_mut().enumerate() {
        *byte ^= key[index & 3];
    }
}

/// The reference implementation: one byte per iteration. Slow; for tests and benchmarks.
///
/// ```
/// use wsframe::mask::{apply_mask, apply_mask_bytewise};
///
/// let mut fast = [0xAAu8; 37];
/// let mut slow = fast;
/// apply_mask(&mut fast, [9, 8, 7, 6], 3);
/// apply_mask_bytewise(&mut slow, [9, 8, 7, 6], 3);
/// assert_eq!(fast, slow);
/// ```
pub fn apply_mask_bytewise(payload: &mut [u8], key: [u8; 4], offset: usize) {
    for (index, byte) in payload.iter_mut().enumerate() {
        *byte ^= key[(offset + index) % 4];
    }
}

/// The key as seen from payload position `offset`: `rotated[i] == key[(offset + i) % 4]`.
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut rotated = key;
    rotated.rotate_left(offset % 4);
    rotated
}

fn xor_word(word: &mut [u8], key_word: u64) {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(word); // `word` comes from chunks_exact_mut(8): always 8 bytes.
    word.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ key_word).to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rotation_matches_definition() {
        let key = [10, 20, 30, 40];
        for offset in 0..9 {
            let rotated = rotate_key(key, offset);
            for (i, byte) in rotated.iter().enumerate() {
                assert_eq!(*byte, key[(offset + i) % 4]);
            }
        }
    }

    #[test]
    fn lengths_around_block_edges_match_bytewise() {
        for len in [0, 1, 3, 4, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 128, 129] {
            for offset in 0..4 {
                let original: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let mut fast = original.clone();
                let mut slow = original.clone();
                apply_mask(&mut fast, [0xDE, 0xAD, 0xBE, 0xEF], offset);
                apply_mask_bytewise(&mut slow, [0xDE, 0xAD, 0xBE, 0xEF], offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
                apply_mask(&mut fast, [0xDE, 0xAD, 0xBE, 0xEF], offset);
                assert_eq!(fast, original, "masking twice restores the input");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn word_at_a_time_equals_byte_loop(
            payload in proptest::collection::vec(any::<u8>(), 0..600),
            key in any::<[u8; 4]>(),
            offset in 0usize..64,
        ) {
            let mut fast = payload.clone();
            let mut slow = payload;
            apply_mask(&mut fast, key, offset);
            apply_mask_bytewise(&mut slow, key, offset);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn pieces_with_offsets_equal_the_whole(
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            key in any::<[u8; 4]>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut whole = payload.clone();
            apply_mask(&mut whole, key, 0);

            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(payload.len() + 1)).collect();
            points.push(0);
            points.push(payload.len());
            points.sort_unstable();
            let mut pieces = payload;
            for pair in points.windows(2) {
                apply_mask(&mut pieces[pair[0]..pair[1]], key, pair[0]);
            }
            prop_assert_eq!(whole, pieces);
        }
    }
}
