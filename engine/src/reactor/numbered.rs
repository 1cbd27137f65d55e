//! A run of frames that differ only in one decimal number, shared by every connection of a
//! core and queued once per connection.
//!
//! Why: a fan-out gives a run of k gateway dispatches to N sessions, and a session's frames
//! are the same bytes as every other session's except its own sequence number `s`. Queued
//! frame by frame, each delivery costs a command, a queue entry, a reference count, a
//! prefix built and copied twice, and a WebSocket header: with the fan-out loop around
//! them, about a third of a busy core's time (docs/BENCHMARKS.md, "fanout"). Queued as one
//! [`NumberedRun`] plus the connection's first number, a session's share of the run is one
//! entry, and each frame (its header, its number and all) is written straight into the
//! core's send buffer when the connection is serviced.
//!
//! Frame `i` of a run, for a connection whose first number is `first`, is a WebSocket data
//! frame whose payload is its [`Lead`] (nothing, or a deflate stored-block header covering
//! what follows up to the body), then `head`, then `first + i` in decimal, then frame
//! `i`'s `infix`, then its `body`. The reactor knows nothing more about it; the gateway
//! builds the run (`{"op":0,"s":` as the head, `,"t":"NAME","d":` as an infix, the event's
//! shared `d}` as the body, or for zlib-stream sessions its deflated form after a stored
//! block: `gateway/compress.rs`, "spliced").

use std::sync::Arc;

use super::app::FrameKind;
use super::outq::{copy_parts, PREFIX_BYTES_MAX};
use super::ws::data_header_len;

/// Decimal digits of the largest `u64`.
const DIGITS_MAX: usize = 20;
/// The longest [`Lead`].
const LEAD_MAX: usize = 5;
/// A frame's bytes before its rest: the WebSocket header, the lead, the head, the number.
const FRONT_MAX: usize = wsframe::HEADER_LEN_MAX + LEAD_MAX + PREFIX_BYTES_MAX;

/// What each frame's payload starts with, before the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lead {
    /// Nothing.
    None,
    /// The header of a deflate stored (uncompressed) block holding the head, the number
    /// and the infix ([`deflate_stored_header`]): inside a zlib stream they travel as they
    /// are, and the body that follows is a raw-deflate piece.
    DeflateStored,
}

impl Lead {
    fn len(self) -> usize {
        match self {
            Lead::None => 0,
            Lead::DeflateStored => LEAD_MAX,
        }
    }
}

/// The header of a deflate stored block of `len` bytes that is not the stream's last:
/// BFINAL=0 and BTYPE=00 padded to the byte boundary (one zero byte, valid where the
/// stream is byte-aligned, as after a sync flush), then LEN and NLEN, little-endian.
pub fn deflate_stored_header(len: u16) -> [u8; LEAD_MAX] {
    let [len_lo, len_hi] = len.to_le_bytes();
    let [nlen_lo, nlen_hi] = (!len).to_le_bytes();
    [0x00, len_lo, len_hi, nlen_lo, nlen_hi]
}

/// Frames that differ only in one decimal number. See the module documentation.
#[derive(Debug)]
pub struct NumberedRun {
    kind: FrameKind,
    lead: Lead,
    head: Box<[u8]>,
    frames: Box<[NumberedFrame]>,
    /// Indexed by a digit count d: (payload bytes, wire bytes) of the whole run when every
    /// frame's number has d digits, which is nearly always so. Every session on the core
    /// asks for these once per run, so they are summed once, here.
    totals: [(usize, usize); DIGITS_MAX + 1],
}

/// Frame `i`'s bytes after its number: the infix and the body, copied together once per
/// run so that a frame is written in four pieces (header, head, number, rest), not five
/// plus a staging copy.
#[derive(Debug)]
struct NumberedFrame {
    rest: Box<[u8]>,
    /// How much of `rest` is the infix (what a `Lead::DeflateStored` block covers).
    infix_len: u8,
}

impl NumberedRun {
    /// A run of data frames of `kind`, each payload starting with `lead`; `frames` gives
    /// each frame's infix and body. `None` when a frame's head, number and infix would not
    /// fit [`PREFIX_BYTES_MAX`] bytes (the caller then sends frame by frame).
    pub fn new<'a>(
        kind: FrameKind,
        lead: Lead,
        head: &[u8],
        frames: impl IntoIterator<Item = (&'a [u8], Arc<[u8]>)>,
    ) -> Option<NumberedRun> {
        let frames: Box<[NumberedFrame]> = frames
            .into_iter()
            .map(|(infix, body)| (infix.len(), [infix, &body[..]].concat()))
            .map(|(infix_len, rest)| {
                (head.len() + DIGITS_MAX + infix_len <= PREFIX_BYTES_MAX).then(|| NumberedFrame {
                    rest: rest.into(),
                    infix_len: u8::try_from(infix_len).expect("PREFIX_BYTES_MAX < 256"),
                })
            })
            .collect::<Option<_>>()?;
        if frames.is_empty() {
            return None;
        }
        let mut totals = [(0, 0); DIGITS_MAX + 1];
        for (digits, total) in totals.iter_mut().enumerate().skip(1) {
            for frame in frames.iter() {
                let len = lead.len() + head.len() + digits + frame.rest.len();
                total.0 += len;
                total.1 += data_header_len(len) + len;
            }
        }
        Some(NumberedRun {
            kind,
            lead,
            head: head.into(),
            frames,
            totals,
        })
    }

    /// The precomputed totals when all of the run's numbers from `first` have as many
    /// digits.
    fn totals_from(&self, first: u64) -> Option<(usize, usize)> {
        let last = first.checked_add(self.frames.len() as u64 - 1)?;
        let digits = decimal_len(first);
        (digits == decimal_len(last)).then(|| self.totals[digits])
    }

    /// Frames in the run.
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// The payload of frame `i` when its number is `number` (copies; for tests and
    /// cold paths).
    pub fn payload(&self, i: usize, number: u64) -> Vec<u8> {
        let mut digits = [0; DIGITS_MAX];
        let digits = decimal(number, &mut digits);
        let lead = self.lead_bytes(i, digits.len());
        [
            &lead[..self.lead.len()],
            &self.head[..],
            digits,
            &self.frames[i].rest,
        ]
        .concat()
    }

    /// Frame `i`'s lead when its number has `digits` digits (the first `lead.len()` bytes).
    fn lead_bytes(&self, i: usize, digits: usize) -> [u8; LEAD_MAX] {
        match self.lead {
            Lead::None => [0; LEAD_MAX],
            Lead::DeflateStored => {
                let covered = self.head.len() + digits + usize::from(self.frames[i].infix_len);
                deflate_stored_header(u16::try_from(covered).expect("a prefix of under 256 bytes"))
            }
        }
    }

    /// Payload bytes of the whole run (without WebSocket headers) when its first number is
    /// `first`.
    pub fn payload_bytes(&self, first: u64) -> usize {
        if let Some((payload, _)) = self.totals_from(first) {
            return payload;
        }
        (0..self.frames.len())
            .map(|i| self.payload_len(i, first + i as u64))
            .sum()
    }

    /// Payload bytes of the run's last frame when the run's first number is `first`.
    pub fn last_payload_bytes(&self, first: u64) -> usize {
        let last = self.frames.len() - 1;
        self.payload_len(last, first + last as u64)
    }

    /// Bytes on the wire of the whole run, WebSocket headers included.
    pub(crate) fn wire_bytes(&self, first: u64) -> usize {
        if let Some((_, wire)) = self.totals_from(first) {
            return wire;
        }
        (0..self.frames.len())
            .map(|i| {
                let len = self.payload_len(i, first + i as u64);
                data_header_len(len) + len
            })
            .sum()
    }

    fn payload_len(&self, i: usize, number: u64) -> usize {
        self.lead.len() + self.head.len() + decimal_len(number) + self.frames[i].rest.len()
    }

    /// Appends the run's wire bytes from `offset` to `out`, at most `room` of them, when
    /// its first number is `first`; returns the room left.
    pub(crate) fn write(&self, first: u64, offset: usize, room: usize, out: &mut Vec<u8>) -> usize {
        if offset == 0 {
            if let Some((_, wire)) = self.totals_from(first) {
                if wire <= room {
                    self.write_whole(first, wire, out);
                    return room - wire;
                }
            }
        }
        let mut room = room;
        let mut skip = offset;
        for (i, frame) in self.frames.iter().enumerate() {
            if room == 0 {
                break;
            }
            let number = first + i as u64;
            let payload_len = self.payload_len(i, number);
            let frame_len = data_header_len(payload_len) + payload_len;
            if skip >= frame_len {
                skip -= frame_len;
                continue;
            }
            let header = super::ws::data_header(self.kind, payload_len);
            let mut digits = [0; DIGITS_MAX];
            let number = decimal(number, &mut digits);
            let lead = self.lead_bytes(i, number.len());
            let pieces = [
                &header[..],
                &lead[..self.lead.len()],
                &self.head[..],
                number,
                &frame.rest[..],
            ];
            if skip == 0 && room >= frame_len {
                // The common case: the whole frame, piece by piece.
                for piece in pieces {
                    out.extend_from_slice(piece);
                }
                room -= frame_len;
                continue;
            }
            let [header, lead, head, number, rest] = pieces;
            let mut front = [0u8; FRONT_MAX];
            let mut at = 0;
            for piece in [header, lead, head, number] {
                front[at..at + piece.len()].copy_from_slice(piece);
                at += piece.len();
            }
            room = copy_parts(out, [&front[..at], rest], &mut skip, room);
        }
        room
    }

    /// `write`'s common case: the whole run, when every number in it has as many digits
    /// (`totals_from`), `wire` bytes in all. Each frame is two copies: its front (header,
    /// lead, head and number, kept side by side in one small buffer, the number counted up
    /// in place) and its rest.
    fn write_whole(&self, first: u64, wire: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(wire);
        // `front[LEAD_AT - header length..]` is a frame's front: its header is written
        // just before the lead, which is followed by the head and the number.
        const LEAD_AT: usize = wsframe::HEADER_LEN_MAX;
        let mut front = [0u8; FRONT_MAX];
        let head_at = LEAD_AT + self.lead.len();
        let head_len = self.head.len();
        front[head_at..head_at + head_len].copy_from_slice(&self.head);
        let mut digits = [0; DIGITS_MAX];
        let number = decimal(first, &mut digits);
        let digits_at = head_at + head_len;
        let digits_end = digits_at + number.len();
        front[digits_at..digits_end].copy_from_slice(number);
        for (i, frame) in self.frames.iter().enumerate() {
            if i > 0 {
                count_up(&mut front[digits_at..digits_end]);
            }
            if self.lead != Lead::None {
                let lead = self.lead_bytes(i, digits_end - digits_at);
                front[LEAD_AT..head_at].copy_from_slice(&lead[..self.lead.len()]);
            }
            let payload_len = digits_end - LEAD_AT + frame.rest.len();
            let header = super::ws::data_header(self.kind, payload_len);
            let header = header.as_slice();
            front[LEAD_AT - header.len()..LEAD_AT].copy_from_slice(header);
            out.extend_from_slice(&front[LEAD_AT - header.len()..digits_end]);
            out.extend_from_slice(&frame.rest);
        }
        debug_assert_eq!(out.len() - start, wire);
    }
}

/// Adds one to a decimal number in place; the caller knows it keeps its digit count.
fn count_up(digits: &mut [u8]) {
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return;
        }
    }
    unreachable!("the number kept its digit count");
}

fn decimal_len(number: u64) -> usize {
    number.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// `number` in decimal, written at the end of `digits` (by hand rather than `write!`: a
/// fan-out writes one per frame).
pub(crate) fn decimal(number: u64, digits: &mut [u8; DIGITS_MAX]) -> &[u8] {
    let mut start = DIGITS_MAX;
    let mut rest = number;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &digits[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(bodies: &[usize]) -> NumberedRun {
        run_with(Lead::None, bodies)
    }

    fn run_with(lead: Lead, bodies: &[usize]) -> NumberedRun {
        NumberedRun::new(
            FrameKind::Text,
            lead,
            b"<s=",
            bodies.iter().map(|&len| {
                let body: Arc<[u8]> = vec![b'b'; len].into();
                (&b">"[..], body)
            }),
        )
        .expect("fits")
    }

    /// The frames one by one, each header built by the frame encoder.
    fn expected(run: &NumberedRun, first: u64) -> Vec<u8> {
        (0..run.frames())
            .flat_map(|i| {
                let payload = run.payload(i, first + i as u64);
                let mut frame =
                    super::super::ws::data_header(FrameKind::Text, payload.len()).to_vec();
                frame.extend_from_slice(&payload);
                frame
            })
            .collect()
    }

    #[test]
    fn a_run_is_its_frames_back_to_back() {
        let run = run(&[3, 200, 70_000]);
        let first = 9;
        let mut out = Vec::new();
        assert_eq!(
            run.write(first, 0, usize::MAX, &mut out),
            usize::MAX - out.len()
        );
        assert_eq!(out, expected(&run, first));
        assert_eq!(out.len(), run.wire_bytes(first));
        assert_eq!(&out[2..9], b"<s=9>bb");
        // The number gains a digit inside the run: 9, then 10.
        assert_eq!(&out[10 + 4..10 + 4 + 6], b"<s=10>");
        assert_eq!(
            run.payload_bytes(first),
            (0..3)
                .map(|i| run.payload(i, first + i as u64).len())
                .sum::<usize>()
        );
    }

    #[test]
    fn the_totals_are_the_frames_summed_across_digit_boundaries() {
        let run = run(&[3, 120, 121, 70_000]);
        for first in [0, 7, 9, 96, 98, 999, 1_000, 12_345, u64::MAX - 3] {
            let frames = (0..run.frames()).map(|i| {
                let payload = run.payload(i, first + i as u64).len();
                (payload, data_header_len(payload) + payload)
            });
            let (payload, wire) = frames.fold((0, 0), |(p, w), (fp, fw)| (p + fp, w + fw));
            assert_eq!(run.payload_bytes(first), payload, "first {first}");
            assert_eq!(run.wire_bytes(first), wire, "first {first}");
        }
    }

    /// A stored-block lead covers the head, the number and the infix, whatever the
    /// number's digit count; the body follows it uncovered.
    #[test]
    fn a_stored_lead_covers_the_head_the_number_and_the_infix() {
        let run = run_with(Lead::DeflateStored, &[2, 3]);
        assert_eq!(run.payload(0, 9), b"\x00\x05\x00\xfa\xff<s=9>bb");
        assert_eq!(run.payload(1, 10), b"\x00\x06\x00\xf9\xff<s=10>bbb");
        let mut out = Vec::new();
        run.write(9, 0, usize::MAX, &mut out);
        assert_eq!(out, expected(&run, 9));
        assert_eq!(out.len(), run.wire_bytes(9));
        assert_eq!(run.payload_bytes(9), 5 + 7 + 5 + 9);
    }

    #[test]
    fn too_long_a_front_is_refused() {
        let body: Arc<[u8]> = Arc::from(&b"x"[..]);
        let infix = [b'i'; PREFIX_BYTES_MAX];
        assert!(
            NumberedRun::new(FrameKind::Text, Lead::None, b"h", [(&infix[..], body)]).is_none()
        );
    }

    #[test]
    fn a_whole_run_counts_up_across_carries() {
        let run = run(&[3, 200, 70_000, 0, 5]);
        for first in [1, 5, 1_097, 99_990, 4_999_999_997, u64::MAX - 4] {
            let mut out = Vec::new();
            let room = run.wire_bytes(first);
            assert_eq!(run.write(first, 0, room, &mut out), 0, "first {first}");
            assert_eq!(out, expected(&run, first), "first {first}");
        }
    }

    proptest! {
        /// Written whole, a run's bytes are its frames', whatever its numbers.
        #[test]
        fn a_whole_run_is_its_frames(
            bodies in proptest::collection::vec(0usize..300, 1..12),
            first in prop_oneof![0u64..2_000, 99_990u64..100_000, Just(u64::MAX - 11)],
            spare in 0usize..3,
            stored: bool,
        ) {
            let run = run_with(if stored { Lead::DeflateStored } else { Lead::None }, &bodies);
            let whole = expected(&run, first);
            let mut got = Vec::new();
            let left = run.write(first, 0, whole.len() + spare, &mut got);
            prop_assert_eq!(left, spare);
            prop_assert_eq!(got, whole);
        }

        /// Written in pieces of any size, from any offset, a run's bytes are its frames'.
        #[test]
        fn pieces_make_the_whole(
            bodies in proptest::collection::vec(0usize..300, 1..8),
            first in prop_oneof![0u64..20, Just(u64::MAX - 10)],
            pieces in proptest::collection::vec(1usize..200, 1..64),
            stored: bool,
        ) {
            let run = run_with(if stored { Lead::DeflateStored } else { Lead::None }, &bodies);
            let whole = expected(&run, first);
            let mut got = Vec::new();
            let mut pieces = pieces.into_iter().cycle();
            while got.len() < whole.len() {
                let room = pieces.next().expect("cycles");
                let before = got.len();
                let left = run.write(first, before, room, &mut got);
                prop_assert_eq!(got.len() - before, room - left);
                prop_assert!(got.len() > before);
            }
            prop_assert_eq!(got, whole);
        }
    }
}
