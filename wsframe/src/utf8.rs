//! Incremental UTF-8 validation for text messages that arrive in pieces (RFC 6455 §8.1).
//!
//! A text message may be split across fragments, and a fragment across reads, at any byte,
//! including inside a code point. The server must fail the connection as soon as the bytes
//! seen so far cannot be the start of valid UTF-8 (Autobahn 6.4.x), not only at the end of
//! the message. [`Utf8Validator`] keeps the at most 3 bytes of an unfinished code point
//! between calls and validates everything else with `std::str::from_utf8`, whose error tells
//! an invalid sequence (`error_len() == Some(_)`) apart from one cut short by the end of the
//! input (`error_len() == None`).
//!
//! Invariants:
//! - `pending` holds a proper prefix (1–3 bytes) of a valid code point's encoding, or nothing.
//! - After `feed` returns `Ok`, the bytes fed so far are a prefix of some valid UTF-8 string.
//!   After it returns `Err`, they are not; the validator must be `reset` before reuse.

/// The error [`Utf8Validator`] reports: the bytes so far can never become valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

/// Checks a byte stream for UTF-8 validity, piece by piece, failing on the first piece that
/// makes the stream invalid.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Validator {
    pending: [u8; 4],
    pending_len: u8,
}

impl Utf8Validator {
    /// A validator that has seen nothing yet.
    #[cfg(any(test, fuzzing))]
    pub const fn new() -> Utf8Validator {
        Utf8Validator {
            pending: [0; 4],
            pending_len: 0,
        }
    }

    /// Checks the next piece of the stream. `Err` when the stream so far is not a prefix of
    /// valid UTF-8.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), InvalidUtf8> {
        let rest = self.finish_pending(bytes)?;
        if rest.is_empty() {
            return Ok(());
        }
        debug_assert_eq!(self.pending_len, 0);
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(error) if error.error_len().is_some() => Err(InvalidUtf8),
            Err(error) => {
                // The input ended inside a code point whose bytes so far are valid: keep them.
                let tail = &rest[error.valid_up_to()..];
                debug_assert!((1..=3).contains(&tail.len()));
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Whether the stream may end here: `true` unless it stops inside a code point.
    #[cfg(any(test, fuzzing))]
    pub fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Forgets everything, ready for the next message.
    pub fn reset(&mut self) {
        self.pending_len = 0;
    }

    /// Completes a code point left unfinished by the previous piece, one byte at a time, and
    /// returns the bytes after it. Returns an empty slice while the code point stays unfinished.
    fn finish_pending<'b>(&mut self, mut bytes: &'b [u8]) -> Result<&'b [u8], InvalidUtf8> {
        while self.pending_len > 0 {
            let Some((&byte, rest)) = bytes.split_first() else {
                return Ok(bytes);
            };
            bytes = rest;
            debug_assert!(self.pending_len < 4);
            self.pending[usize::from(self.pending_len)] = byte;
            self.pending_len += 1;
            match std::str::from_utf8(&self.pending[..usize::from(self.pending_len)]) {
                Ok(_) => self.pending_len = 0,
                Err(error) if error.error_len().is_some() => return Err(InvalidUtf8),
                Err(_) => {} // Still a valid, unfinished code point.
            }
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The oracle: a byte string is a valid prefix when std either accepts it or only
    /// complains that it ends too early.
    fn is_valid_prefix(bytes: &[u8]) -> bool {
        match std::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(error) => error.error_len().is_none(),
        }
    }

    /// Feeds `bytes` cut at `cuts`; returns the index of the piece that failed, if any, and
    /// whether the stream was complete at the end.
    fn run(bytes: &[u8], cuts: &[usize]) -> (Option<usize>, bool) {
        let mut validator = Utf8Validator::new();
        let mut start = 0;
        for (piece, &end) in cuts.iter().chain(std::iter::once(&bytes.len())).enumerate() {
            if validator.feed(&bytes[start..end]).is_err() {
                return (Some(piece), false);
            }
            start = end;
        }
        (None, validator.is_complete())
    }

    #[test]
    fn fails_on_the_byte_that_breaks_the_prefix() {
        // "κόσμε" then F4 90: F4 may start a code point, 0x90 cannot follow it.
        let bytes = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited";
        let mut validator = Utf8Validator::new();
        for (index, byte) in bytes.iter().enumerate() {
            let result = validator.feed(std::slice::from_ref(byte));
            assert_eq!(result.is_err(), index == 12, "byte {index}");
            if result.is_err() {
                break;
            }
        }
    }

    #[test]
    fn code_point_split_across_every_boundary() {
        for text in [
            "\u{7f}",
            "\u{80}",
            "\u{7ff}",
            "\u{800}",
            "\u{ffff}",
            "\u{10000}",
            "\u{10ffff}",
        ] {
            let bytes = format!("a{text}b").into_bytes();
            for cut in 0..=bytes.len() {
                assert_eq!(run(&bytes, &[cut]), (None, true), "{text:?} cut {cut}");
            }
            // Stopping inside the code point is a valid prefix but not complete.
            for end in 2..bytes.len() - 1 {
                assert_eq!(run(&bytes[..end], &[]), (None, false), "{text:?} end {end}");
            }
        }
    }

    #[test]
    fn invalid_sequences_are_rejected() {
        let table: &[&[u8]] = &[
            b"\x80",
            b"\xc0\xaf",
            b"\xe0\x80\xaf",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xf5",
            b"\xfe",
            b"\xff",
            b"\xc2\x41",
        ];
        for bytes in table {
            for cut in 0..=bytes.len() {
                assert!(run(bytes, &[cut]).0.is_some(), "{bytes:x?} cut {cut}");
            }
        }
    }

    fn utf8_heavy_bytes() -> impl Strategy<Value = Vec<u8>> {
        // Mostly real text (so splits land inside code points), sprinkled with raw bytes.
        proptest::collection::vec(
            prop_oneof![
                3 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
                1 => proptest::collection::vec(any::<u8>(), 1..3),
            ],
            0..40,
        )
        .prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn agrees_with_std_at_every_split(
            bytes in utf8_heavy_bytes(),
            raw_cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut cuts: Vec<usize> = raw_cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let (failed, complete) = run(&bytes, &cuts);

            // Fail fast: the failing piece is the first one whose end makes the prefix invalid.
            let ends: Vec<usize> = cuts.iter().copied().chain(std::iter::once(bytes.len())).collect();
            let expected_fail = ends.iter().position(|&end| !is_valid_prefix(&bytes[..end]));
            prop_assert_eq!(failed, expected_fail);
            if failed.is_none() {
                prop_assert_eq!(complete, std::str::from_utf8(&bytes).is_ok());
            }
        }

        #[test]
        fn byte_at_a_time_fails_exactly_where_std_says(bytes in utf8_heavy_bytes()) {
            let cuts: Vec<usize> = (1..bytes.len()).collect();
            let (failed, complete) = run(&bytes, &cuts);
            let expected = (1..=bytes.len()).find(|&end| !is_valid_prefix(&bytes[..end]));
            // Piece k holds byte k (the last piece holds the last byte).
            prop_assert_eq!(failed, expected.map(|end| end - 1));
            if failed.is_none() {
                prop_assert_eq!(complete, std::str::from_utf8(&bytes).is_ok());
            }
        }
    }
}
