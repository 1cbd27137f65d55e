//! The exactly-once checker: what the publishers got acknowledged, what each session
//! received, and the verdict that turns a run into a failure instead of a number.
//!
//! Rules checked while measuring (each breach is named in the verdict):
//! - Every session receives every *acknowledged* post of the window exactly once: no
//!   miss, no duplicate.
//! - The `s` of successive dispatches on a session rises by exactly 1 (from 1 after
//!   READY; after a resume, from the resumed `seq + 1`).
//! - A session that the server closed, or that dropped, fails the window.
//! - A post delivered but never acknowledged is allowed only if its POST was still
//!   unanswered when the answers were final (the 200 may have been lost); a delivered
//!   post whose POST was refused, or that was never sent, is a failure.
//!
//! Layout: [`AckBook`] holds three bitsets per publisher (sent, acknowledged, refused),
//! written by the publishers' threads with atomic ORs and read by every session's thread;
//! [`SessionLedger`] holds one plain bitset per publisher per session. A bit costs one bit
//! per (session, post): 1000 sessions × 100 000 posts is 12.5 MB.

use std::sync::atomic::{AtomicU64, Ordering};

use super::schedule::Schedule;

/// What the publishers of one window sent and what was answered, shared by all threads.
#[derive(Debug)]
pub struct AckBook {
    window: u32,
    publishers: Vec<PublisherBook>,
}

#[derive(Debug)]
struct PublisherBook {
    posts: u64,
    sent: Box<[AtomicU64]>,
    acked: Box<[AtomicU64]>,
    refused: Box<[AtomicU64]>,
}

impl AckBook {
    /// An empty book for window `window` of `schedule`.
    pub fn new(window: u32, schedule: &Schedule) -> AckBook {
        let publishers = (0..schedule.publishers)
            .map(|publisher| {
                let posts = schedule.posts_for(publisher);
                let words = words_for(posts);
                let zeroed = || (0..words).map(|_| AtomicU64::new(0)).collect();
                PublisherBook {
                    posts,
                    sent: zeroed(),
                    acked: zeroed(),
                    refused: zeroed(),
                }
            })
            .collect();
        AckBook { window, publishers }
    }

    /// The window this book is for.
    pub fn window(&self) -> u32 {
        self.window
    }

    /// Publishers in the window.
    pub fn publishers(&self) -> u32 {
        self.publishers.len() as u32
    }

    /// Posts publisher `publisher` sends in the window.
    pub fn posts(&self, publisher: u32) -> u64 {
        self.publishers
            .get(publisher as usize)
            .map_or(0, |book| book.posts)
    }

    /// The post left for the server.
    pub fn mark_sent(&self, publisher: u32, seq: u64) {
        set(&self.publishers[publisher as usize].sent, seq);
    }

    /// The server answered 200.
    pub fn mark_acked(&self, publisher: u32, seq: u64) {
        set(&self.publishers[publisher as usize].acked, seq);
    }

    /// The server answered something else.
    pub fn mark_refused(&self, publisher: u32, seq: u64) {
        set(&self.publishers[publisher as usize].refused, seq);
    }

    /// Whether the server answered 200 to this post.
    #[cfg(test)]
    pub fn is_acked(&self, publisher: u32, seq: u64) -> bool {
        get(&self.publishers[publisher as usize].acked, seq)
    }

    /// Acknowledged posts, all publishers.
    pub fn acked_count(&self) -> u64 {
        self.publishers.iter().map(|book| count(&book.acked)).sum()
    }

    /// Sent posts that got no answer (neither 200 nor a refusal).
    pub fn unanswered_count(&self) -> u64 {
        self.publishers
            .iter()
            .map(|book| {
                book.sent
                    .iter()
                    .zip(book.acked.iter().zip(book.refused.iter()))
                    .map(|(sent, (acked, refused))| {
                        let answered =
                            acked.load(Ordering::Acquire) | refused.load(Ordering::Acquire);
                        u64::from((sent.load(Ordering::Acquire) & !answered).count_ones())
                    })
                    .sum::<u64>()
            })
            .sum()
    }

    fn word(bits: &[AtomicU64], index: usize) -> u64 {
        bits.get(index)
            .map_or(0, |word| word.load(Ordering::Acquire))
    }
}

/// One session's receipts and sequence checks.
#[derive(Debug, Default)]
pub struct SessionLedger {
    window: Option<u32>,
    received: Vec<Vec<u64>>,
    received_count: u64,
    duplicates: u64,
    first_duplicate: Option<(u32, u64)>,
    stale: u64,
    first_stale: Option<(u32, u32, u64)>,
    foreign: u64,
    first_foreign: Option<String>,
    last_s: u64,
    first_s_gap: Option<(u64, u64)>,
    s_gaps: u64,
    closed: Option<String>,
}

/// What one receipt was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// First time this session saw the post.
    New,
    /// Seen before: a failure.
    Duplicate,
    /// Not a post of the open window (another window, or beyond its schedule): a failure.
    Stale,
}

/// A session's share of a successful window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionTally {
    /// Acknowledged posts received.
    pub delivered: u64,
    /// Posts received whose POST was still unanswered when answers were final.
    pub delivered_unanswered: u64,
    /// Sum over received posts of `seq + 1`: proof the work was done.
    pub checksum: u64,
}

impl SessionLedger {
    /// A ledger with no window open and no dispatch seen.
    pub fn new() -> SessionLedger {
        SessionLedger::default()
    }

    /// Starts counting receipts for `book`'s window; the `s` check carries on.
    pub fn open_window(&mut self, book: &AckBook) {
        self.window = Some(book.window());
        self.received
            .resize_with(book.publishers() as usize, Vec::new);
        self.received.truncate(book.publishers() as usize);
        for (publisher, bits) in self.received.iter_mut().enumerate() {
            bits.clear();
            bits.resize(words_for(book.posts(publisher as u32)), 0);
        }
        self.received_count = 0;
        self.duplicates = 0;
        self.first_duplicate = None;
        self.stale = 0;
        self.first_stale = None;
        self.foreign = 0;
        self.first_foreign = None;
        self.s_gaps = 0;
        self.first_s_gap = None;
    }

    /// A dispatch with sequence number `s` arrived; false if it broke the +1 rule.
    pub fn handle_seq(&mut self, s: u64) -> bool {
        let expected = self.last_s + 1;
        self.last_s = s;
        if s == expected {
            return true;
        }
        self.s_gaps += 1;
        self.first_s_gap.get_or_insert((expected, s));
        false
    }

    /// The session identified again (a new gateway session starts at `s` = 1).
    pub fn restart_seq(&mut self) {
        self.last_s = 0;
    }

    /// The last `s` seen: what a resume asks to continue from.
    pub fn last_s(&self) -> u64 {
        self.last_s
    }

    /// A measured post arrived.
    pub fn handle_post(&mut self, window: u32, publisher: u32, seq: u64) -> Receipt {
        let bits = match self.received.get_mut(publisher as usize) {
            Some(bits) if self.window == Some(window) && seq < bits.len() as u64 * 64 => bits,
            _ => {
                self.stale += 1;
                self.first_stale.get_or_insert((window, publisher, seq));
                return Receipt::Stale;
            }
        };
        let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
        if bits[word] & bit != 0 {
            self.duplicates += 1;
            self.first_duplicate.get_or_insert((publisher, seq));
            return Receipt::Duplicate;
        }
        bits[word] |= bit;
        self.received_count += 1;
        Receipt::New
    }

    /// A MESSAGE_CREATE whose content carries no marker of ours: someone else posts in
    /// the channel, or the content was mangled. Both spoil the measurement.
    pub fn handle_foreign(&mut self, content: &[u8]) {
        self.foreign += 1;
        self.first_foreign.get_or_insert_with(|| {
            String::from_utf8_lossy(&content[..content.len().min(80)]).into_owned()
        });
    }

    /// Posts of the open window received so far (each once).
    #[cfg(test)]
    pub fn received_count(&self) -> u64 {
        self.received_count
    }

    /// The connection ended while it should not have.
    pub fn handle_closed(&mut self, why: String) {
        self.closed.get_or_insert(why);
    }

    /// Clears a close (the session reconnected on purpose).
    pub fn clear_closed(&mut self) {
        self.closed = None;
    }

    /// Why the connection ended, if it did.
    pub fn closed(&self) -> Option<&str> {
        self.closed.as_deref()
    }

    /// Acknowledged posts this session has not received.
    pub fn missing(&self, book: &AckBook) -> u64 {
        (0..book.publishers())
            .map(|publisher| {
                let acked = &book.publishers[publisher as usize].acked;
                let received = self.received.get(publisher as usize);
                (0..acked.len())
                    .map(|index| {
                        let got = received
                            .and_then(|bits| bits.get(index))
                            .copied()
                            .unwrap_or(0);
                        u64::from((AckBook::word(acked, index) & !got).count_ones())
                    })
                    .sum::<u64>()
            })
            .sum()
    }

    /// The verdict on session `session` for the window, once answers are final.
    pub fn verdict(&self, session: usize, book: &AckBook) -> Result<SessionTally, String> {
        let mut problems = Vec::new();
        let mut tally = SessionTally::default();
        let mut missing = 0u64;
        let mut first_missing = None;
        let mut refused_delivered = 0u64;
        let mut first_refused = None;
        for publisher in 0..book.publishers() {
            let entry = &book.publishers[publisher as usize];
            let received = self.received.get(publisher as usize);
            for index in 0..entry.acked.len() {
                let got = received
                    .and_then(|bits| bits.get(index))
                    .copied()
                    .unwrap_or(0);
                let acked = AckBook::word(&entry.acked, index);
                let refused = AckBook::word(&entry.refused, index);
                let sent = AckBook::word(&entry.sent, index);
                let lost = acked & !got;
                if lost != 0 {
                    missing += u64::from(lost.count_ones());
                    first_missing.get_or_insert((
                        publisher,
                        index as u64 * 64 + u64::from(lost.trailing_zeros()),
                    ));
                }
                let delivered = got & acked;
                tally.delivered += u64::from(delivered.count_ones());
                let unanswered = got & !acked & sent & !refused;
                tally.delivered_unanswered += u64::from(unanswered.count_ones());
                let wrong = got & !acked & !unanswered;
                if wrong != 0 {
                    refused_delivered += u64::from(wrong.count_ones());
                    first_refused.get_or_insert((
                        publisher,
                        index as u64 * 64 + u64::from(wrong.trailing_zeros()),
                    ));
                }
                let mut bits = got;
                while bits != 0 {
                    let seq = index as u64 * 64 + u64::from(bits.trailing_zeros());
                    tally.checksum = tally.checksum.wrapping_add(seq + 1);
                    bits &= bits - 1;
                }
            }
        }
        if let Some((publisher, seq)) = first_missing {
            problems.push(format!(
                "missed {missing} acked message(s), first publisher {publisher} seq {seq}"
            ));
        }
        if let Some((publisher, seq)) = self.first_duplicate {
            problems.push(format!(
                "{} duplicate(s), first publisher {publisher} seq {seq}",
                self.duplicates
            ));
        }
        if let Some((expected, got)) = self.first_s_gap {
            problems.push(format!(
                "{} sequence break(s), first expected s={expected} got s={got}",
                self.s_gaps
            ));
        }
        if let Some((publisher, seq)) = first_refused {
            problems.push(format!(
                "received {refused_delivered} message(s) that were refused or never sent, \
                 first publisher {publisher} seq {seq}"
            ));
        }
        if let Some((window, publisher, seq)) = self.first_stale {
            problems.push(format!(
                "{} message(s) not of this window, first window {window} publisher {publisher} seq {seq}",
                self.stale
            ));
        }
        if let Some(content) = &self.first_foreign {
            problems.push(format!(
                "{} message(s) without a marker, first content {content:?}",
                self.foreign
            ));
        }
        if let Some(why) = &self.closed {
            problems.push(format!("closed: {why}"));
        }
        if problems.is_empty() {
            Ok(tally)
        } else {
            Err(format!("session {session}: {}", problems.join("; ")))
        }
    }
}

fn words_for(posts: u64) -> usize {
    posts.div_ceil(64) as usize
}

fn set(bits: &[AtomicU64], seq: u64) {
    let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
    // A seq beyond the schedule is a bug in the publisher, not something a server can cause.
    debug_assert!(word < bits.len(), "seq {seq} beyond the window's schedule");
    if let Some(word) = bits.get(word) {
        word.fetch_or(bit, Ordering::AcqRel);
    }
}

#[cfg(test)]
fn get(bits: &[AtomicU64], seq: u64) -> bool {
    let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
    bits.get(word)
        .is_some_and(|word| word.load(Ordering::Acquire) & bit != 0)
}

fn count(bits: &[AtomicU64]) -> u64 {
    bits.iter()
        .map(|word| u64::from(word.load(Ordering::Acquire).count_ones()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Two publishers, 100 posts each.
    fn book() -> AckBook {
        AckBook::new(1, &Schedule::new(2, 200.0, 0, Duration::from_secs(1)))
    }

    fn ack(book: &AckBook, publisher: u32, seqs: impl IntoIterator<Item = u64>) {
        for seq in seqs {
            book.mark_sent(publisher, seq);
            book.mark_acked(publisher, seq);
        }
    }

    fn receive(ledger: &mut SessionLedger, publisher: u32, seqs: impl IntoIterator<Item = u64>) {
        for seq in seqs {
            assert_eq!(ledger.handle_post(1, publisher, seq), Receipt::New);
        }
    }

    #[test]
    fn a_session_with_every_acked_post_passes() {
        let book = book();
        ack(&book, 0, 0..100);
        ack(&book, 1, 0..100);
        let mut ledger = SessionLedger::new();
        ledger.open_window(&book);
        receive(&mut ledger, 1, (0..100).rev());
        receive(&mut ledger, 0, 0..100);
        assert_eq!(ledger.missing(&book), 0);
        let tally = ledger.verdict(0, &book).unwrap();
        assert_eq!(tally.delivered, 200);
        assert_eq!(tally.delivered_unanswered, 0);
        assert_eq!(tally.checksum, 2 * (1..=100).sum::<u64>());
        assert_eq!(book.acked_count(), 200);
        assert_eq!(book.unanswered_count(), 0);
    }

    #[test]
    fn a_missing_post_names_the_first_one() {
        let book = book();
        ack(&book, 0, 0..10);
        ack(&book, 1, 0..100);
        let mut ledger = SessionLedger::new();
        ledger.open_window(&book);
        receive(&mut ledger, 0, 0..10);
        receive(
            &mut ledger,
            1,
            (0..100).filter(|seq| ![81, 88, 95].contains(seq)),
        );
        assert_eq!(ledger.missing(&book), 3);
        assert_eq!(
            ledger.verdict(17, &book).unwrap_err(),
            "session 17: missed 3 acked message(s), first publisher 1 seq 81"
        );
    }

    #[test]
    fn a_duplicate_fails_even_when_nothing_is_missing() {
        let book = book();
        ack(&book, 0, 0..3);
        let mut ledger = SessionLedger::new();
        ledger.open_window(&book);
        receive(&mut ledger, 0, 0..3);
        assert_eq!(ledger.handle_post(1, 0, 2), Receipt::Duplicate);
        assert_eq!(ledger.missing(&book), 0);
        let error = ledger.verdict(4, &book).unwrap_err();
        assert_eq!(error, "session 4: 1 duplicate(s), first publisher 0 seq 2");
    }

    #[test]
    fn sequence_numbers_must_rise_by_one() {
        let book = book();
        let mut ledger = SessionLedger::new();
        ledger.open_window(&book);
        assert!(ledger.handle_seq(1));
        assert!(ledger.handle_seq(2));
        assert!(!ledger.handle_seq(4));
        assert!(ledger.handle_seq(5));
        assert!(!ledger.handle_seq(5));
        assert_eq!(ledger.last_s(), 5);
        let error = ledger.verdict(0, &book).unwrap_err();
        assert_eq!(
            error,
            "session 0: 2 sequence break(s), first expected s=3 got s=4"
        );
        ledger.restart_seq();
        assert!(ledger.handle_seq(1));
    }

    #[test]
    fn unanswered_posts_may_arrive_but_refused_ones_may_not() {
        let book = book();
        ack(&book, 0, 0..5);
        book.mark_sent(0, 5); // Still outstanding when answers were final.
        book.mark_sent(0, 6);
        book.mark_refused(0, 6); // Answered 500.
        assert_eq!(book.unanswered_count(), 1);
        let mut ledger = SessionLedger::new();
        ledger.open_window(&book);
        receive(&mut ledger, 0, 0..6);
        let tally = ledger.verdict(0, &book).unwrap();
        assert_eq!((tally.delivered, tally.delivered_unanswered), (5, 1));

        receive(&mut ledger, 0, [6]);
        let error = ledger.verdict(3, &book).unwrap_err();
        assert!(
            error.contains(
                "received 1 message(s) that were refused or never sent, first publisher 0 seq 6"
            ),
            "{error}"
        );
        receive(&mut ledger, 0, [9]); // Never sent at all.
        assert!(ledger
            .verdict(3, &book)
            .unwrap_err()
            .contains("received 2 message(s)"));
    }

    #[test]
    fn posts_of_another_window_and_closes_fail_the_session() {
        let book = book();
        ack(&book, 0, 0..1);
        let mut ledger = SessionLedger::new();
        ledger.open_window(&book);
        receive(&mut ledger, 0, [0]);
        assert_eq!(ledger.handle_post(0, 0, 1), Receipt::Stale);
        assert_eq!(ledger.handle_post(1, 5, 1), Receipt::Stale);
        assert_eq!(ledger.handle_post(1, 0, 128), Receipt::Stale);
        ledger.handle_foreign(b"hello");
        ledger.handle_closed("close code 4000".into());
        let error = ledger.verdict(9, &book).unwrap_err();
        assert_eq!(
            error,
            "session 9: 3 message(s) not of this window, first window 0 publisher 0 seq 1; \
             1 message(s) without a marker, first content \"hello\"; closed: close code 4000"
        );
        ledger.open_window(&book);
        assert_eq!(ledger.received_count(), 0);
        assert_eq!(
            ledger.closed(),
            Some("close code 4000"),
            "a close outlives the window"
        );
        ledger.clear_closed();
        assert_eq!(ledger.closed(), None);
    }
}
