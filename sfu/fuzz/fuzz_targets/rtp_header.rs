//! Fuzz target: arbitrary bytes through the RTP header and packet parsers.
//!
//! Checked, besides "never panics":
//! - A parsed header's extension ends within the datagram; a parsed packet's CSRCs,
//!   extension body and payload are disjoint slices that fit in it, with the payload no
//!   longer than what follows the extension.
//! - Re-encoding the parsed header gives back the datagram's cleartext header bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfu::rtp::encode_rtp_header;
use sfu::{parse_rtp, parse_rtp_header};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = parse_rtp_header(data) else {
        return;
    };
    assert!(header.extension_end() <= data.len());
    assert!(header.aad_len() <= header.extension_end());
    let csrcs: Vec<u32> = data[12..header.fixed_len()]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut encoded = Vec::new();
    encode_rtp_header(&header, &csrcs, &mut encoded);
    assert_eq!(encoded, data[..header.aad_len()]);
    if let Ok(packet) = parse_rtp(data) {
        assert_eq!(packet.header, header);
        assert_eq!(packet.csrcs.len(), 4 * usize::from(header.csrc_count));
        assert_eq!(
            packet.extension_body.len(),
            header.extension.map_or(0, |e| e.body_len)
        );
        assert!(packet.payload.len() <= data.len() - header.extension_end());
    }
});
