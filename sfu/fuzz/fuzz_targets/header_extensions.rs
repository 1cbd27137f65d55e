//! Fuzz target: arbitrary extension bodies in both RFC 8285 forms (and unknown profiles).
//!
//! Input layout: bytes 0–1 are the profile, byte 2 the audio-level id, the rest the body.
//! Checked, besides "never panics": the elements' data never add up to more than the
//! body, ids are in the form's range, nothing follows an error, and `find_audio_level`
//! agrees with a walk over the elements.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfu::extension::{find_audio_level, Extensions, ONE_BYTE_PROFILE};

fuzz_target!(|data: &[u8]| {
    let [p0, p1, id, ref body @ ..] = *data else {
        return;
    };
    let profile = u16::from_be_bytes([p0, p1]);
    let mut total = 0usize;
    let mut errored = false;
    let mut expected = Ok(None);
    let mut found = false;
    for element in Extensions::new(profile, body) {
        assert!(!errored, "nothing after an error");
        match element {
            Ok(element) => {
                assert_ne!(element.id, 0);
                if profile == ONE_BYTE_PROFILE {
                    assert!(element.id <= 14);
                    assert!((1..=16).contains(&element.data.len()));
                }
                total += element.data.len();
                if element.id == id && !found {
                    found = true;
                    expected = Ok(match element.data {
                        [byte] => Some((byte >> 7 == 1, byte & 0x7F)),
                        _ => None,
                    });
                }
            }
            Err(error) => {
                errored = true;
                if !found {
                    expected = Err(error);
                }
            }
        }
    }
    assert!(total <= body.len());
    let got =
        find_audio_level(profile, body, id).map(|level| level.map(|l| (l.voice_activity, l.level)));
    assert_eq!(got, expected);
});
