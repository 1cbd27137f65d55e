//! Any bytes read as a table data block: never a panic, whatever the offsets say.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lsm::sstable::block::Block;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode(data) {
        for i in 0..=block.len() {
            let _ = block.entry(i);
        }
        let _ = block.seek(data.get(..4).unwrap_or(&[]), false);
    }
});
