//! Any bytes given to the WAL record decoder: never a panic, and a decoded record
//! re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lsm::wal::record::{decode_record, encode_record, Decoded};

fuzz_target!(|data: &[u8]| {
    if let Decoded::Record { seq, ops, len } = decode_record(data) {
        let mut again = Vec::new();
        encode_record(seq, &ops, &mut again);
        assert_eq!(&again[..], &data[..len]);
    }
});
