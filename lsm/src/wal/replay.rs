//! Replay at open: reads every WAL segment in order, hands each batch newer than the
//! manifest's `seq_flushed` to the caller, and cuts off a torn tail.
//!
//! A torn tail is what a crash leaves when it interrupts a group commit: a partial record,
//! or a whole one whose bytes never all reached the disk. Such a record was never
//! acknowledged (acknowledgement waits for its fdatasync), so truncating it loses nothing
//! that was promised, and truncating it durably means the next segment cannot end up after
//! garbage.
//!
//! Invariants:
//! - Sequence numbers across all segments increase by exactly one. A gap after
//!   `seq_flushed` would mean an acknowledged batch is missing: that is `Error::Corrupt`,
//!   never silently skipped.
//! - A batch is applied whole or not at all.

use std::path::Path;

use crate::batch::Op;
use crate::fs::Fs;
use crate::wal::record::{decode_record, Decoded};
use crate::wal::{segment_id, segment_path};
use crate::Error;

/// What replay found.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// `(segment id, last seq in it)` for each segment, in order; `0` for an empty one.
    pub segments: Vec<(u64, u64)>,
    /// The highest sequence number seen, or `seq_flushed` if higher.
    pub seq_last: u64,
    /// Batches applied (newer than `seq_flushed`).
    pub batches_applied: u64,
    /// Bytes cut off torn tails.
    pub bytes_truncated: u64,
}

/// Replays the segments in `dir`, calling `apply(seq, ops)` for each batch after
/// `seq_flushed`, in order.
pub(crate) fn replay(
    fs: &Fs,
    dir: &Path,
    seq_flushed: u64,
    mut apply: impl FnMut(u64, Vec<Op>),
) -> Result<Replayed, Error> {
    let mut ids: Vec<u64> = fs.list(dir)?.iter().filter_map(|n| segment_id(n)).collect();
    ids.sort_unstable();
    let mut out = Replayed {
        seq_last: seq_flushed,
        ..Replayed::default()
    };
    let mut seq_prev: Option<u64> = None;
    for id in ids {
        let path = segment_path(dir, id);
        let bytes = fs.read_all(&path)?;
        let mut offset = 0;
        let mut seq_in_segment = 0;
        while offset < bytes.len() {
            match decode_record(&bytes[offset..]) {
                Decoded::Record { seq, ops, len } => {
                    check_sequence(&path, offset, seq_prev, seq, seq_flushed)?;
                    seq_prev = Some(seq);
                    seq_in_segment = seq;
                    if seq > seq_flushed {
                        apply(seq, ops);
                        out.batches_applied += 1;
                    }
                    out.seq_last = out.seq_last.max(seq);
                    offset += len;
                }
                Decoded::Torn => {
                    let cut = (bytes.len() - offset) as u64;
                    fs.open_rw(&path)?.truncate(offset as u64)?;
                    out.bytes_truncated += cut;
                    break;
                }
                Decoded::Corrupt(what) => return Err(Error::corrupt(&path, offset as u64, what)),
            }
        }
        out.segments.push((id, seq_in_segment));
    }
    Ok(out)
}

fn check_sequence(
    path: &Path,
    offset: usize,
    seq_prev: Option<u64>,
    seq: u64,
    seq_flushed: u64,
) -> Result<(), Error> {
    let expected_ok = match seq_prev {
        Some(prev) => seq == prev + 1,
        // The oldest surviving record may be anywhere up to the first unflushed batch.
        None => seq <= seq_flushed + 1,
    };
    if expected_ok {
        Ok(())
    } else {
        Err(Error::corrupt(
            path,
            offset as u64,
            "WAL sequence gap: an acknowledged batch is missing",
        ))
    }
}
