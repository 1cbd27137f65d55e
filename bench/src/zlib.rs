//! zlib through `zlib-rs`, the implementation Flux's engine deflates with, for both sides
//! of a compressed benchmark: the peer's per-connection deflate and the load generator's
//! per-session inflate.
//!
//! Why not `flate2`'s default backend (`miniz_oxide`): at level 6 it deflated at about a
//! third of `zlib-rs`'s speed here, so a peer built on it lost to Flux on the library, not
//! on the design, and a load generator built on it ran out of CPU inflating before either
//! server did. The same library on both servers makes a compressed run compare designs.
//!
//! Both helpers append to a `Vec` into its spare capacity (as `flate2`'s `*_vec` do),
//! so a call neither zeroes nor over-allocates output it will not use.
#![allow(unsafe_code)]

pub use zlib_rs::{Deflate, DeflateFlush, Inflate, InflateFlush, Status};

/// Deflates as much of `input` as fits into `out`'s spare capacity; returns the status and
/// the bytes of `input` consumed.
pub fn deflate_vec(
    deflate: &mut Deflate,
    input: &[u8],
    out: &mut Vec<u8>,
    flush: DeflateFlush,
) -> Result<(Status, usize), String> {
    let (in_before, out_before) = (deflate.total_in(), deflate.total_out());
    let status = deflate
        .compress_uninit(input, out.spare_capacity_mut(), flush)
        .map_err(|error| format!("deflate: {}", error.as_str()))?;
    let written = (deflate.total_out() - out_before) as usize;
    grow_by(out, written);
    Ok((status, (deflate.total_in() - in_before) as usize))
}

/// Inflates as much of `input` as fits into `out`'s spare capacity; returns the status and
/// the bytes of `input` consumed.
pub fn inflate_vec(
    inflate: &mut Inflate,
    input: &[u8],
    out: &mut Vec<u8>,
    flush: InflateFlush,
) -> Result<(Status, usize), String> {
    let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
    let status = inflate
        .decompress_uninit(input, out.spare_capacity_mut(), flush)
        .map_err(|error| format!("inflate: {}", error.as_str()))?;
    let written = (inflate.total_out() - out_before) as usize;
    grow_by(out, written);
    Ok((status, (inflate.total_in() - in_before) as usize))
}

/// Takes `written` bytes the codec put at the start of `out`'s spare capacity into `out`.
fn grow_by(out: &mut Vec<u8>, written: usize) {
    let len = out.len() + written;
    assert!(
        len <= out.capacity(),
        "the codec wrote past the spare capacity"
    );
    // SAFETY: `compress_uninit`/`decompress_uninit` initialised exactly the first
    // `written` bytes (the growth of `total_out`) of the spare capacity they were given,
    // and `len` is within the capacity (asserted).
    unsafe { out.set_len(len) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each message deflated by `zlib-rs` with a sync flush inflates, by `flate2`'s
    /// independent `miniz_oxide`, to itself; and `miniz_oxide`'s stream inflates here.
    #[test]
    fn streams_round_trip_against_an_independent_implementation() {
        let messages: Vec<Vec<u8>> = (0..30)
            .map(|i| format!("{{\"s\":{i},\"d\":\"{}\"}}", "ab".repeat(i * 61)).into_bytes())
            .collect();
        let mut deflate = Deflate::new(6, true, 15);
        let mut reference_in = flate2::Decompress::new(true);
        let mut reference_out = flate2::Compress::new(flate2::Compression::new(6), true);
        let mut inflate = Inflate::new(true, 15);
        for message in &messages {
            let mut wire = Vec::with_capacity(message.len() + 64);
            let (_, consumed) =
                deflate_vec(&mut deflate, message, &mut wire, DeflateFlush::SyncFlush).unwrap();
            assert_eq!(consumed, message.len());
            assert!(wire.ends_with(&[0, 0, 0xff, 0xff]));
            let mut text = Vec::with_capacity(message.len() + 64);
            reference_in
                .decompress_vec(&wire, &mut text, flate2::FlushDecompress::Sync)
                .unwrap();
            assert_eq!(&text, message);

            let mut wire = Vec::with_capacity(message.len() + 64);
            reference_out
                .compress_vec(message, &mut wire, flate2::FlushCompress::Sync)
                .unwrap();
            let mut text = Vec::with_capacity(message.len() + 64);
            let (_, consumed) =
                inflate_vec(&mut inflate, &wire, &mut text, InflateFlush::SyncFlush).unwrap();
            assert_eq!(consumed, wire.len());
            assert_eq!(&text, message);
        }
    }

    #[test]
    fn a_full_output_stops_without_writing_past_it() {
        let mut deflate = Deflate::new(6, true, 15);
        let input = vec![7u8; 10_000];
        let mut out = Vec::with_capacity(4);
        let (_, consumed) =
            deflate_vec(&mut deflate, &input, &mut out, DeflateFlush::SyncFlush).unwrap();
        assert_eq!(out.len(), out.capacity());
        assert!(consumed <= input.len());
    }
}
