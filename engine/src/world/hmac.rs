//! HMAC (RFC 2104) over SHA-1, the signature on Flux tokens, and over SHA-256, the
//! signature on attachment URLs (`attachment_url.rs`).
//!
//! Hand-rolled in a few lines over the `sha1` crate that the WebSocket handshake already
//! needs, rather than another dependency. HMAC-SHA1 remains a sound MAC (RFC 6151 §3:
//! HMAC's security does not rest on SHA-1's collision resistance), and its 20-byte tag is
//! exactly the size of the third part of a Discord token, so Flux tokens look the same.
//!
//! Tested against every RFC 2202 vector, and RFC 4231's for SHA-256.

use sha1::{Digest, Sha1};
use sha2::Sha256;

const BLOCK_LEN: usize = 64;

/// The length of an HMAC-SHA1 tag in bytes.
pub const TAG_LEN: usize = 20;

/// The length of an HMAC-SHA256 tag in bytes.
pub const SHA256_TAG_LEN: usize = 32;

/// HMAC-SHA1 of the concatenation of `message_parts` under `key`.
pub fn hmac_sha1(key: &[u8], message_parts: &[&[u8]]) -> [u8; TAG_LEN] {
    hmac::<Sha1>(key, message_parts).into()
}

/// HMAC-SHA256 of the concatenation of `message_parts` under `key`.
pub fn hmac_sha256(key: &[u8], message_parts: &[&[u8]]) -> [u8; SHA256_TAG_LEN] {
    hmac::<Sha256>(key, message_parts).into()
}

/// HMAC over a hash with a 64-byte block (SHA-1 and SHA-256 both have one).
fn hmac<D: Digest>(key: &[u8], message_parts: &[&[u8]]) -> sha1::digest::Output<D> {
    debug_assert!(<D as Digest>::output_size() <= BLOCK_LEN);
    let mut block = [0u8; BLOCK_LEN];
    if key.len() > BLOCK_LEN {
        let digest = D::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = D::new();
    inner.update(block.map(|byte| byte ^ 0x36));
    for part in message_parts {
        inner.update(part);
    }
    let mut outer = D::new();
    outer.update(block.map(|byte| byte ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize()
}

/// Compares two tags in time that depends only on their length, so a forger learns
/// nothing from how long a rejection took.
pub fn tags_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn rfc2202_test_vectors() {
        let key_4: Vec<u8> = (1..=25).collect();
        let cases: [(&[u8], &[u8], &str); 7] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                &[0xaa; 20],
                &[0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                &key_4,
                &[0xcd; 50],
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
            ),
            (
                &[0x0c; 20],
                b"Test With Truncation",
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ),
        ];
        for (index, (key, data, want)) in cases.iter().enumerate() {
            assert_eq!(
                hex(&hmac_sha1(key, &[data])),
                *want,
                "RFC 2202 case {}",
                index + 1
            );
        }
    }

    #[test]
    fn rfc4231_test_vectors() {
        let cases: [(&[u8], &[u8], &str); 4] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                &[0xaa; 20],
                &[0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
        ];
        for (index, (key, data, want)) in cases.iter().enumerate() {
            assert_eq!(hex(&hmac_sha256(key, &[data])), *want, "case {}", index + 1);
        }
    }

    #[test]
    fn message_parts_are_concatenated() {
        let whole = hmac_sha1(b"key", &[b"header.payload"]);
        assert_eq!(hmac_sha1(b"key", &[b"header", b".", b"payload"]), whole);
    }

    #[test]
    fn tag_comparison() {
        assert!(tags_equal(b"abc", b"abc"));
        assert!(!tags_equal(b"abc", b"abd"));
        assert!(!tags_equal(b"abc", b"ab"));
    }
}
