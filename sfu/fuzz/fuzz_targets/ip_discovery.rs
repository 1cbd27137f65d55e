//! Fuzz target: arbitrary bytes through the IP discovery parsers.
//!
//! Checked, besides "never panics": only 74-byte datagrams parse; a parsed request's SSRC
//! survives a response round trip; a parsed response re-encodes to a response that parses
//! to the same SSRC and address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfu::discovery::{
    encode_discovery_response, parse_discovery_request, parse_discovery_response, DISCOVERY_LEN,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(ssrc) = parse_discovery_request(data) {
        assert_eq!(data.len(), DISCOVERY_LEN);
        let observed = "192.0.2.1:5000".parse().expect("a literal address");
        let response = encode_discovery_response(ssrc, observed);
        assert_eq!(parse_discovery_response(&response), Ok((ssrc, observed)));
    }
    if let Ok((ssrc, address)) = parse_discovery_response(data) {
        assert_eq!(data.len(), DISCOVERY_LEN);
        let response = encode_discovery_response(ssrc, address);
        let (ssrc_again, address_again) =
            parse_discovery_response(&response).expect("our own response parses");
        assert_eq!(ssrc_again, ssrc);
        // An IPv4-mapped IPv6 address comes back as IPv4; compare in that form.
        let canonical = |a: std::net::SocketAddr| (a.ip().to_canonical(), a.port());
        assert_eq!(canonical(address_again), canonical(address));
    }
});
