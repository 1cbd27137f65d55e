//! Any bytes read as a manifest: never a panic; a decoded manifest re-encodes identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lsm::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = Manifest::decode(data) {
        assert_eq!(manifest.encode(), data);
    }
});
