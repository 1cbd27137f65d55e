//! Replay protection for nonce counters: a 64-wide sliding window, as in SRTP (RFC 3711
//! §3.3.2).
//!
//! Each sender's rtpsize nonce is a 32-bit counter that starts anywhere and increases by
//! one per packet. The window remembers the highest counter accepted and which of the 63
//! below it were seen; a counter at or below `highest - 64`, or one already seen, is a
//! replay. Reordering within 64 packets (over a second of 20 ms audio) is accepted.
//!
//! Check before decrypting (cheap rejection), and `accept` only after the tag verified, so
//! forged packets cannot move the window.
//!
//! The counter is not extended past 32 bits: at 50 packets a second it wraps after 2.7
//! years of one session, and after a wrap the window refuses everything until the client
//! gets a new key (a new voice session).

/// Width of the window in packets.
pub const REPLAY_WINDOW_LEN: u32 = 64;

/// The window for one sender and one packet kind (RTP and RTCP have separate ones).
///
/// ```
/// use sfu::ReplayWindow;
/// let mut window = ReplayWindow::default();
/// assert!(window.check(10));
/// window.accept(10);
/// assert!(!window.check(10)); // the same counter again
/// assert!(window.check(9)); // late, but inside the window
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// The highest counter accepted, or `None` before the first packet.
    highest: Option<u32>,
    /// Bit `i` set: `highest - i` was accepted. Bit 0 is `highest` itself.
    seen: u64,
}

impl ReplayWindow {
    /// Would `counter` be accepted? Does not change the window.
    pub fn check(&self, counter: u32) -> bool {
        let Some(highest) = self.highest else {
            return true;
        };
        if counter > highest {
            return true;
        }
        let behind = highest - counter;
        behind < REPLAY_WINDOW_LEN && self.seen & (1 << behind) == 0
    }

    /// Records `counter` as seen. Call only after `check` passed and the tag verified.
    pub fn accept(&mut self, counter: u32) {
        debug_assert!(self.check(counter), "accept without check");
        match self.highest {
            Some(highest) if counter <= highest => self.seen |= 1 << (highest - counter),
            Some(highest) => {
                let ahead = counter - highest;
                self.seen = if ahead >= REPLAY_WINDOW_LEN {
                    0
                } else {
                    self.seen << ahead
                };
                self.seen |= 1;
                self.highest = Some(counter);
            }
            None => {
                self.seen = 1;
                self.highest = Some(counter);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn window_edges() {
        let mut window = ReplayWindow::default();
        window.accept(100);
        assert!(window.check(100 - 63));
        assert!(!window.check(100 - 64), "just outside the window");
        window.accept(37);
        assert!(!window.check(37));
        window.accept(164); // Slides by 64: everything old is forgotten and too old.
        assert!(!window.check(100));
        assert!(window.check(101));
        assert!(!window.check(u32::MIN));
        window.accept(u32::MAX);
        assert!(!window.check(u32::MAX));
    }

    proptest! {
        /// Against a model that remembers every counter: accepted iff never seen and
        /// within 64 of the highest so far.
        #[test]
        fn matches_a_model(counters in proptest::collection::vec(0u32..300, 1..200)) {
            let mut window = ReplayWindow::default();
            let mut seen = std::collections::BTreeSet::new();
            for counter in counters {
                let highest = seen.iter().next_back().copied();
                let expected = !seen.contains(&counter)
                    && highest.is_none_or(|h: u32| counter > h || h - counter < REPLAY_WINDOW_LEN);
                prop_assert_eq!(window.check(counter), expected, "{}", counter);
                if expected {
                    window.accept(counter);
                    seen.insert(counter);
                }
            }
        }
    }
}
