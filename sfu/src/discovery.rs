//! Discord's IP discovery packet: how a client behind NAT learns its public address.
//!
//! 74 bytes each way, all big-endian:
//!
//! ```text
//!  0       2       4               8                                     72      74
//! +-------+-------+---------------+-------------------------------------+-------+
//! | type  | len=70| ssrc          | address: ASCII, NUL-terminated,     | port  |
//! | 1 / 2 |       |               | zero-filled (zeros in a request)    |       |
//! +-------+-------+---------------+-------------------------------------+-------+
//! ```
//!
//! The client sends type 1 with its SSRC and zeros; the server answers type 2 with the
//! address and port the request came from. discord.py checks that byte 1 is 2 and that the
//! response is exactly 74 bytes, reads the address from offset 8 to the first NUL, and the
//! port from the last two bytes.
//!
//! Elsewhere: which SSRCs may ask, and learning the member's address (`Sfu`).

use std::net::{IpAddr, SocketAddr};

use crate::{Error, Ssrc};

/// Size of a request and of a response.
pub const DISCOVERY_LEN: usize = 74;
/// The value of the length field: the bytes after it.
const DISCOVERY_LENGTH_FIELD: u16 = 70;
const REQUEST: u16 = 1;
const RESPONSE: u16 = 2;
const ADDRESS_START: usize = 8;
const ADDRESS_END: usize = 72;

/// Parses a request, returning the SSRC it asks for.
///
/// ```
/// use sfu::discovery::{encode_discovery_request, parse_discovery_request};
/// use sfu::Ssrc;
/// assert_eq!(parse_discovery_request(&encode_discovery_request(Ssrc(5))), Ok(Ssrc(5)));
/// ```
pub fn parse_discovery_request(datagram: &[u8]) -> Result<Ssrc, Error> {
    let (ssrc, _) = parse(datagram, REQUEST)?;
    Ok(ssrc)
}

/// Builds the response telling `ssrc` that its packets arrive from `observed`.
///
/// An IPv4-mapped IPv6 source is written as IPv4, the form discord.py's IPv4-only socket
/// expects; other IPv6 addresses are written in their text form (at most 39 bytes, which
/// fits).
pub fn encode_discovery_response(ssrc: Ssrc, observed: SocketAddr) -> [u8; DISCOVERY_LEN] {
    let mut out = header(RESPONSE, ssrc);
    let ip = match observed.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let mut text = [0u8; 48];
    let len = {
        use std::io::Write;
        let mut cursor = std::io::Cursor::new(&mut text[..]);
        // 48 bytes hold any IP address's text (IPv6 is at most 39), so the write fits.
        write!(cursor, "{ip}").expect("an IP address fits in 48 bytes");
        cursor.position() as usize
    };
    out[ADDRESS_START..ADDRESS_START + len].copy_from_slice(&text[..len]);
    out[ADDRESS_END..].copy_from_slice(&observed.port().to_be_bytes());
    out
}

/// Builds a request for `ssrc`, as a client does.
pub fn encode_discovery_request(ssrc: Ssrc) -> [u8; DISCOVERY_LEN] {
    header(REQUEST, ssrc)
}

/// Parses a response as discord.py does: the SSRC, and the address and port it names.
///
/// ```
/// use sfu::discovery::{encode_discovery_response, parse_discovery_response};
/// use sfu::Ssrc;
/// let observed = "203.0.113.9:50000".parse().unwrap();
/// let response = encode_discovery_response(Ssrc(5), observed);
/// assert_eq!(parse_discovery_response(&response), Ok((Ssrc(5), observed)));
/// ```
pub fn parse_discovery_response(datagram: &[u8]) -> Result<(Ssrc, SocketAddr), Error> {
    let (ssrc, body) = parse(datagram, RESPONSE)?;
    let text = &body[ADDRESS_START..ADDRESS_END];
    let end = text
        .iter()
        .position(|&b| b == 0)
        .ok_or(Error::BadDiscovery)?;
    let ip: IpAddr = std::str::from_utf8(&text[..end])
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(Error::BadDiscovery)?;
    let port = u16::from_be_bytes([body[ADDRESS_END], body[ADDRESS_END + 1]]);
    Ok((ssrc, SocketAddr::new(ip, port)))
}

fn header(kind: u16, ssrc: Ssrc) -> [u8; DISCOVERY_LEN] {
    let mut out = [0u8; DISCOVERY_LEN];
    out[0..2].copy_from_slice(&kind.to_be_bytes());
    out[2..4].copy_from_slice(&DISCOVERY_LENGTH_FIELD.to_be_bytes());
    out[4..8].copy_from_slice(&ssrc.0.to_be_bytes());
    out
}

fn parse(datagram: &[u8], kind: u16) -> Result<(Ssrc, &[u8; DISCOVERY_LEN]), Error> {
    let Ok(bytes) = <&[u8; DISCOVERY_LEN]>::try_from(datagram) else {
        return Err(Error::BadDiscovery);
    };
    let field = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
    if field(0) != kind || field(2) != DISCOVERY_LENGTH_FIELD {
        return Err(Error::BadDiscovery);
    }
    let ssrc = Ssrc(u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
    Ok((ssrc, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn response_bytes_are_what_discord_py_reads() {
        let response =
            encode_discovery_response(Ssrc(0x0102_0304), "10.0.0.2:5004".parse().unwrap());
        assert_eq!(response.len(), 74);
        assert_eq!(&response[..8], &[0, 2, 0, 70, 1, 2, 3, 4]);
        assert_eq!(&response[8..17], b"10.0.0.2\0");
        assert!(response[17..72].iter().all(|&b| b == 0));
        assert_eq!(&response[72..], &5004u16.to_be_bytes());
    }

    #[test]
    fn mapped_ipv6_is_written_as_ipv4() {
        let response = encode_discovery_response(Ssrc(1), "[::ffff:192.0.2.1]:9".parse().unwrap());
        assert_eq!(&response[8..18], b"192.0.2.1\0");
        let v6 = encode_discovery_response(Ssrc(1), "[2001:db8::1]:9".parse().unwrap());
        assert_eq!(
            parse_discovery_response(&v6).unwrap().1,
            "[2001:db8::1]:9".parse().unwrap()
        );
    }

    #[test]
    fn wrong_size_type_or_length_is_refused() {
        let request = encode_discovery_request(Ssrc(7));
        assert_eq!(
            parse_discovery_request(&request[..73]),
            Err(Error::BadDiscovery)
        );
        assert_eq!(
            parse_discovery_request(&[request.as_slice(), &[0]].concat()),
            Err(Error::BadDiscovery)
        );
        let mut kind = request;
        kind[1] = 2;
        assert_eq!(parse_discovery_request(&kind), Err(Error::BadDiscovery));
        let mut len = request;
        len[3] = 71;
        assert_eq!(parse_discovery_request(&len), Err(Error::BadDiscovery));
        // A response whose address never ends, or is not an address.
        let mut unterminated = encode_discovery_response(Ssrc(7), "1.2.3.4:5".parse().unwrap());
        unterminated[8..72].fill(b'1');
        assert_eq!(
            parse_discovery_response(&unterminated),
            Err(Error::BadDiscovery)
        );
        let mut garbage = encode_discovery_response(Ssrc(7), "1.2.3.4:5".parse().unwrap());
        garbage[8] = b'x';
        assert_eq!(parse_discovery_response(&garbage), Err(Error::BadDiscovery));
    }

    proptest! {
        #[test]
        fn round_trip(ssrc in any::<u32>(), ip in any::<[u8; 4]>(), port in any::<u16>()) {
            let observed = SocketAddr::from((ip, port));
            prop_assert_eq!(parse_discovery_request(&encode_discovery_request(Ssrc(ssrc))), Ok(Ssrc(ssrc)));
            let response = encode_discovery_response(Ssrc(ssrc), observed);
            prop_assert_eq!(parse_discovery_response(&response), Ok((Ssrc(ssrc), observed)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 70..78)) {
            let _ = parse_discovery_request(&bytes);
            let _ = parse_discovery_response(&bytes);
        }
    }
}
