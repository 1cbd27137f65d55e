//! Discord's transport encryption, the two rtpsize AEAD modes.
//!
//! An encrypted datagram is the cleartext header, the ciphertext with its 16-byte tag,
//! then the sender's 32-bit big-endian nonce counter:
//!
//! ```text
//! +---------------------------+--------------------------------+------+---------+
//! | AAD: cleartext header     | ciphertext                     | tag  | counter |
//! | RTP: 12 + 4·CC (+4 if X)  | RTP: extension body + payload  | 16 B | 4 B, BE |
//! | RTCP: the first 8 bytes   | RTCP: the rest of the compound |      |         |
//! +---------------------------+--------------------------------+------+---------+
//! ```
//!
//! The AEAD nonce is the 4 counter bytes followed by zeros: 24 bytes for
//! `aead_xchacha20_poly1305_rtpsize` (XChaCha20-Poly1305), 12 for `aead_aes256_gcm_rtpsize`
//! (AES-256-GCM). This is what discord.py's `_encrypt_aead_xchacha20_poly1305_rtpsize`
//! builds (`nonce = bytearray(24); nonce[:4] = pack('>I', n)`, AAD = the 12-byte header,
//! counter appended) and what discord-ext-voice-recv's decryptor undoes, moving the
//! extension preamble into the AAD when X is set.
//!
//! A `VoiceCipher` holds one member's key schedule; it is built once per
//! SESSION_DESCRIPTION, never per packet. Elsewhere: replay protection (`replay.rs`),
//! choosing whose key and whose counter (`Sfu`).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::Aes256Gcm;
use chacha20poly1305::XChaCha20Poly1305;

use crate::Error;

/// Length of the Poly1305 or GCM tag.
pub const TAG_LEN: usize = 16;
/// Length of the nonce counter carried at the end of each datagram.
pub const COUNTER_LEN: usize = 4;
/// Bytes an encrypted datagram adds to its cleartext form.
pub const OVERHEAD_LEN: usize = TAG_LEN + COUNTER_LEN;

/// A transport encryption mode, as negotiated in SELECT_PROTOCOL.
///
/// ```
/// use sfu::Mode;
/// let mode = Mode::from_name("aead_aes256_gcm_rtpsize").unwrap();
/// assert_eq!(mode, Mode::AeadAes256GcmRtpSize);
/// assert_eq!(mode.name(), "aead_aes256_gcm_rtpsize");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `aead_xchacha20_poly1305_rtpsize`: the one every client supports.
    AeadXChaCha20Poly1305RtpSize,
    /// `aead_aes256_gcm_rtpsize`: preferred by Discord's own clients; discord.py lacks it.
    AeadAes256GcmRtpSize,
}

impl Mode {
    /// Every mode, in the order a server should list them in READY's `modes`.
    pub const ALL: [Mode; 2] = [
        Mode::AeadXChaCha20Poly1305RtpSize,
        Mode::AeadAes256GcmRtpSize,
    ];

    /// The mode's name on the voice gateway.
    pub fn name(self) -> &'static str {
        match self {
            Mode::AeadXChaCha20Poly1305RtpSize => "aead_xchacha20_poly1305_rtpsize",
            Mode::AeadAes256GcmRtpSize => "aead_aes256_gcm_rtpsize",
        }
    }

    /// The mode a gateway name stands for, if this crate implements it.
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.name() == name)
    }
}

/// One member's key, ready to seal and open datagrams.
///
/// ```
/// use sfu::{Mode, VoiceCipher};
/// let cipher = VoiceCipher::new(Mode::AeadXChaCha20Poly1305RtpSize, &[7; 32]);
/// let header = [0x80, 0x78, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9];
/// let mut datagram = Vec::new();
/// cipher.seal(&header, b"opus", 41, &mut datagram);
/// assert_eq!(datagram.len(), 12 + 4 + 16 + 4);
/// assert_eq!(&datagram[datagram.len() - 4..], &41u32.to_be_bytes());
///
/// let mut plaintext = Vec::new();
/// assert_eq!(cipher.open(&datagram, 12, &mut plaintext), Ok(41));
/// assert_eq!(plaintext, b"opus");
/// ```
#[derive(Clone)]
pub struct VoiceCipher {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    XChaCha(XChaCha20Poly1305),
    Aes(Box<Aes256Gcm>),
}

impl std::fmt::Debug for VoiceCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("VoiceCipher")
            .field("mode", &self.mode())
            .finish()
    }
}

impl VoiceCipher {
    /// Expands `secret_key` for `mode`.
    pub fn new(mode: Mode, secret_key: &[u8; 32]) -> VoiceCipher {
        let inner = match mode {
            Mode::AeadXChaCha20Poly1305RtpSize => {
                Inner::XChaCha(XChaCha20Poly1305::new(secret_key.into()))
            }
            Mode::AeadAes256GcmRtpSize => Inner::Aes(Box::new(Aes256Gcm::new(secret_key.into()))),
        };
        VoiceCipher { inner }
    }

    /// Which mode this cipher implements.
    pub fn mode(&self) -> Mode {
        match self.inner {
            Inner::XChaCha(_) => Mode::AeadXChaCha20Poly1305RtpSize,
            Inner::Aes(_) => Mode::AeadAes256GcmRtpSize,
        }
    }

    /// Appends `aad ‖ AEAD(plaintext) ‖ tag ‖ counter` to `out`.
    ///
    /// The caller owns the counter and must never repeat one under this key.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8], counter: u32, out: &mut Vec<u8>) {
        out.reserve(aad.len() + plaintext.len() + OVERHEAD_LEN);
        out.extend_from_slice(aad);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let counter_bytes = counter.to_be_bytes();
        let buffer = &mut out[start..];
        // The AEADs refuse only buffers beyond 2^36 bytes (GCM) or 2^38 (XChaCha); a UDP
        // datagram is under 64 KiB, so an error here is a bug.
        let tag: [u8; TAG_LEN] = match &self.inner {
            Inner::XChaCha(cipher) => cipher
                .encrypt_in_place_detached(&padded_nonce::<24>(counter_bytes).into(), aad, buffer)
                .expect("datagram-sized plaintext")
                .into(),
            Inner::Aes(cipher) => cipher
                .encrypt_in_place_detached(&padded_nonce::<12>(counter_bytes).into(), aad, buffer)
                .expect("datagram-sized plaintext")
                .into(),
        };
        out.extend_from_slice(&tag);
        out.extend_from_slice(&counter_bytes);
    }

    /// Opens `datagram`, whose first `aad_len` bytes are the cleartext header: checks the
    /// tag and appends the plaintext to `plaintext`. Returns the nonce counter.
    ///
    /// On failure `plaintext` is left as it was.
    pub fn open(
        &self,
        datagram: &[u8],
        aad_len: usize,
        plaintext: &mut Vec<u8>,
    ) -> Result<u32, Error> {
        if datagram.len() < aad_len + OVERHEAD_LEN {
            return Err(Error::Truncated);
        }
        let (rest, counter) = datagram.split_at(datagram.len() - COUNTER_LEN);
        let (rest, tag) = rest.split_at(rest.len() - TAG_LEN);
        let (aad, ciphertext) = rest.split_at(aad_len);
        let counter: [u8; COUNTER_LEN] = counter.try_into().expect("split at COUNTER_LEN");
        let start = plaintext.len();
        plaintext.extend_from_slice(ciphertext);
        let buffer = &mut plaintext[start..];
        let result = match &self.inner {
            Inner::XChaCha(cipher) => {
                let nonce = padded_nonce::<24>(counter);
                cipher.decrypt_in_place_detached(&nonce.into(), aad, buffer, tag.into())
            }
            Inner::Aes(cipher) => {
                let nonce = padded_nonce::<12>(counter);
                cipher.decrypt_in_place_detached(&nonce.into(), aad, buffer, tag.into())
            }
        };
        match result {
            Ok(()) => Ok(u32::from_be_bytes(counter)),
            Err(_) => {
                plaintext.truncate(start);
                Err(Error::AuthenticationFailed)
            }
        }
    }
}

/// The AEAD nonce: the 4 counter bytes, then zeros.
fn padded_nonce<const N: usize>(counter: [u8; COUNTER_LEN]) -> [u8; N] {
    let mut nonce = [0u8; N];
    nonce[..COUNTER_LEN].copy_from_slice(&counter);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = {
        let mut key = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            key[i] = i as u8;
            i += 1;
        }
        key
    };
    /// discord.py's header: `0x80 0x78`, sequence 1234, timestamp 5·960, SSRC 0xC0FFEE.
    const HEADER: [u8; 12] = [
        0x80, 0x78, 0x04, 0xD2, 0, 0, 0x12, 0xC0, 0, 0xC0, 0xFF, 0xEE,
    ];
    const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Known answers computed outside Rust: Python's `cryptography` package (AES-GCM, and
    /// IETF ChaCha20-Poly1305 under an HChaCha20 subkey for XChaCha, the HChaCha20 checked
    /// against the XChaCha draft's test vector), building the packet as discord.py does:
    /// `header + AEAD(key, nonce = pack('>I', 7) ‖ zeros, aad = header) + pack('>I', 7)`.
    #[test]
    fn known_answers_match_discord_py_layout() {
        let cases = [
            (
                Mode::AeadXChaCha20Poly1305RtpSize,
                "807804d2000012c000c0ffee4e48a31e1816bd478709d9e422b2d1adc0129600000007",
            ),
            (
                Mode::AeadAes256GcmRtpSize,
                "807804d2000012c000c0ffeea7182a24b41dbbd153f7e37eb215737978369f00000007",
            ),
        ];
        for (mode, expected) in cases {
            let cipher = VoiceCipher::new(mode, &KEY);
            let mut sealed = Vec::new();
            cipher.seal(&HEADER, &OPUS_SILENCE, 7, &mut sealed);
            assert_eq!(sealed, hex(expected), "{mode:?}");
            let mut plaintext = vec![0xAA]; // open appends
            assert_eq!(cipher.open(&hex(expected), 12, &mut plaintext), Ok(7));
            assert_eq!(plaintext, [0xAA, 0xF8, 0xFF, 0xFE]);
        }
    }

    #[test]
    fn round_trip_tamper_and_wrong_key() {
        for mode in Mode::ALL {
            let cipher = VoiceCipher::new(mode, &KEY);
            let other = VoiceCipher::new(mode, &[9; 32]);
            for payload_len in [0usize, 1, 60, 160, 1200] {
                let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
                let mut sealed = Vec::new();
                cipher.seal(&HEADER, &payload, u32::MAX, &mut sealed);
                let mut plaintext = Vec::new();
                assert_eq!(cipher.open(&sealed, 12, &mut plaintext), Ok(u32::MAX));
                assert_eq!(plaintext, payload);
                // Flip one bit anywhere but the counter: header (AAD), ciphertext or tag.
                for at in [0, 11, 12, sealed.len() - 5] {
                    if at >= sealed.len() - COUNTER_LEN {
                        continue;
                    }
                    let mut bad = sealed.clone();
                    bad[at] ^= 1;
                    let mut out = Vec::new();
                    assert_eq!(
                        cipher.open(&bad, 12, &mut out),
                        Err(Error::AuthenticationFailed)
                    );
                    assert!(out.is_empty(), "nothing appended on failure");
                }
                // A different counter changes the nonce: also rejected.
                let mut counter = sealed.clone();
                *counter.last_mut().unwrap() ^= 1;
                assert_eq!(
                    cipher.open(&counter, 12, &mut Vec::new()),
                    Err(Error::AuthenticationFailed)
                );
                assert_eq!(
                    other.open(&sealed, 12, &mut Vec::new()),
                    Err(Error::AuthenticationFailed)
                );
                // Too short to hold tag and counter.
                assert_eq!(
                    cipher.open(&sealed[..12 + 19], 12, &mut Vec::new()),
                    Err(Error::Truncated)
                );
            }
        }
    }

    #[test]
    fn modes_do_not_open_each_other() {
        let xchacha = VoiceCipher::new(Mode::AeadXChaCha20Poly1305RtpSize, &KEY);
        let gcm = VoiceCipher::new(Mode::AeadAes256GcmRtpSize, &KEY);
        let mut sealed = Vec::new();
        xchacha.seal(&HEADER, b"abc", 1, &mut sealed);
        assert_eq!(
            gcm.open(&sealed, 12, &mut Vec::new()),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(
            format!("{gcm:?}"),
            "VoiceCipher { mode: AeadAes256GcmRtpSize }"
        );
    }
}
