//! Signed, expiring attachment URLs, as Discord's CDN hands them out:
//! `…/attachments/{channel}/{attachment}/{name}?ex={expiry}&is={issued}&hm={mac}&`, the two
//! times as lowercase hex Unix seconds and `hm` the hex HMAC-SHA256 of
//! `{path}?ex={ex}&is={is}` under a key derived from the data dir's token secret.
//!
//! Why: files are served without a token (clients fetch them with plain GETs, as from
//! Discord's CDN), so the URL is the capability. Unsigned, anyone who learns or guesses a
//! path (ids are Snowflakes, names are often `image.png`) could read it forever; signed,
//! only someone who was shown the message recently can, and a URL that leaked stops
//! working after `URL_LIFETIME_S`.
//!
//! URLs are signed when a message is serialised (an answer, a dispatch, a history read),
//! never when it is stored, so a message stored long ago still yields working URLs; the
//! stored `url` stays the bare path. The issue time is rounded down to the hour, so one
//! attachment's URL is the same for an hour: an answer and the dispatch of one message
//! agree, and clients and caches keyed on the URL keep working. So a URL handed out is
//! valid for between 23 and 24 hours.
//!
//! Pure: the caller passes the time. Verifying compares tags in constant time.

use super::hmac::{hmac_sha256, tags_equal, SHA256_TAG_LEN};
use super::token::TokenSecret;

/// How long a signed URL is valid from its (hour-rounded) issue time: 24 hours, as
/// Discord's CDN.
pub const URL_LIFETIME_S: u64 = 24 * 60 * 60;
/// Issue times are rounded down to this many seconds (an hour).
const ISSUE_GRANULARITY_S: u64 = 60 * 60;
/// Where served files live in a URL's path.
const PATH_PREFIX: &str = "/attachments/";

/// What serialising a message needs to sign its attachment URLs: the key and the time.
#[derive(Debug, Clone, Copy)]
pub struct UrlSigning<'a> {
    /// The data dir's URL key.
    pub key: &'a UrlKey,
    /// Now, in Unix seconds.
    pub now_s: u64,
}

impl UrlSigning<'_> {
    /// `url` signed now ([`UrlKey::sign`]).
    pub fn sign(&self, url: &str) -> String {
        self.key.sign(url, self.now_s)
    }
}

/// The key attachment URLs are signed with: HMAC-SHA256 of a fixed label under the
/// data dir's token secret, so the token key itself never signs anything else.
#[derive(Clone)]
pub struct UrlKey([u8; SHA256_TAG_LEN]);

impl std::fmt::Debug for UrlKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlKey(..)") // Never print the key.
    }
}

impl UrlKey {
    /// The URL key of a data dir with token secret `secret`.
    pub fn from_secret(secret: &TokenSecret) -> UrlKey {
        UrlKey(hmac_sha256(&secret.0, &[b"flux attachment urls v1"]))
    }

    /// `url` (a stored attachment URL: origin and path, no query) signed at `now_s`.
    /// A URL without an attachment path is returned as it is.
    ///
    /// ```
    /// use engine::world::attachment_url::{UrlKey, URL_LIFETIME_S};
    /// use engine::world::TokenSecret;
    /// let key = UrlKey::from_secret(&TokenSecret([7; 32]));
    /// let url = key.sign("http://h/attachments/1/2/a.png", 1_700_000_000);
    /// let (path, query) = url.strip_prefix("http://h").unwrap().split_once('?').unwrap();
    /// assert!(key.verify(path, query, 1_700_000_000 + 3_600));
    /// assert!(!key.verify(path, query, 1_700_000_000 + URL_LIFETIME_S));
    /// ```
    pub fn sign(&self, url: &str, now_s: u64) -> String {
        let Some(at) = url.find(PATH_PREFIX) else {
            return url.to_string();
        };
        let path = &url[at..];
        let issued_s = now_s - now_s % ISSUE_GRANULARITY_S;
        let expires_s = issued_s + URL_LIFETIME_S;
        let times = format!("ex={expires_s:x}&is={issued_s:x}");
        let tag = self.tag(path, &times);
        let mut signed = String::with_capacity(url.len() + times.len() + 2 * tag.len() + 8);
        signed.push_str(url);
        signed.push('?');
        signed.push_str(&times);
        signed.push_str("&hm=");
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for byte in tag {
            signed.push(char::from(HEX[usize::from(byte >> 4)]));
            signed.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        signed.push('&');
        signed
    }

    /// Whether `query` (without the `?`) is a valid signature of `path` that has not
    /// expired at `now_s`. Parameters may come in any order; others are ignored.
    pub fn verify(&self, path: &str, query: &str, now_s: u64) -> bool {
        let (mut expires, mut issued, mut mac) = (None, None, None);
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("ex", value)) => expires = Some(value),
                Some(("is", value)) => issued = Some(value),
                Some(("hm", value)) => mac = Some(value),
                _ => {}
            }
        }
        let (Some(expires), Some(issued), Some(mac)) = (expires, issued, mac) else {
            return false;
        };
        let (Some(expires_s), Some(_)) = (parse_hex_time(expires), parse_hex_time(issued)) else {
            return false;
        };
        let Some(mac) = decode_hex_tag(mac) else {
            return false;
        };
        let tag = self.tag(path, &format!("ex={expires}&is={issued}"));
        tags_equal(&tag, &mac) && now_s < expires_s
    }

    /// `url` signed afresh at `now_s` if it carries this key's signature, expired or not
    /// (`POST /attachments/refresh-urls`); `None` for any other URL.
    pub fn refresh(&self, url: &str, now_s: u64) -> Option<String> {
        let (bare, query) = url.split_once('?')?;
        let path = &bare[bare.find(PATH_PREFIX)?..];
        // Verified as of time 0: the signature must be this key's, whatever its expiry.
        self.verify(path, query, 0).then(|| self.sign(bare, now_s))
    }

    fn tag(&self, path: &str, times: &str) -> [u8; SHA256_TAG_LEN] {
        hmac_sha256(&self.0, &[path.as_bytes(), b"?", times.as_bytes()])
    }
}

/// Lowercase hex seconds as `sign` writes them (at most 16 digits, no sign, no prefix).
fn parse_hex_time(text: &str) -> Option<u64> {
    let valid = !text.is_empty()
        && text.len() <= 16
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then(|| u64::from_str_radix(text, 16).ok()).flatten()
}

fn decode_hex_tag(text: &str) -> Option<[u8; SHA256_TAG_LEN]> {
    if text.len() != 2 * SHA256_TAG_LEN || !text.is_ascii() {
        return None;
    }
    let mut tag = [0u8; SHA256_TAG_LEN];
    for (index, byte) in tag.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16).ok()?;
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_765_000_000;

    fn key() -> UrlKey {
        UrlKey::from_secret(&TokenSecret([42; 32]))
    }

    fn split(url: &str) -> (String, String) {
        let path_at = url.find(PATH_PREFIX).unwrap();
        let (path, query) = url[path_at..].split_once('?').unwrap();
        (path.to_string(), query.to_string())
    }

    #[test]
    fn a_signed_url_has_discord_s_shape_and_verifies_until_it_expires() {
        let url = key().sign("http://127.0.0.1:8080/attachments/1/2/cat.png", NOW);
        let (path, query) = split(&url);
        assert_eq!(path, "/attachments/1/2/cat.png");
        let issued = NOW - NOW % 3600;
        let expires = issued + URL_LIFETIME_S;
        assert!(
            query.starts_with(&format!("ex={expires:x}&is={issued:x}&hm=")),
            "{query}"
        );
        assert!(query.ends_with('&'), "{query}");
        assert_eq!(
            query.len(),
            format!("ex={expires:x}&is={issued:x}&hm=&").len() + 64
        );
        for at in [NOW, NOW + 3600, expires - 1] {
            assert!(key().verify(&path, &query, at), "valid at {at}");
        }
        for at in [expires, expires + 7 * 86_400] {
            assert!(!key().verify(&path, &query, at), "expired at {at}");
        }
    }

    #[test]
    fn a_message_stored_a_week_ago_is_signed_afresh() {
        let stored = "http://h/attachments/1/2/a.txt";
        let week = 7 * 86_400;
        let (path, query) = split(&key().sign(stored, NOW + week));
        assert!(key().verify(&path, &query, NOW + week + 60));
    }

    #[test]
    fn one_url_for_an_hour() {
        let stored = "http://h/attachments/1/2/a.txt";
        let start = NOW - NOW % 3600;
        assert_eq!(key().sign(stored, start), key().sign(stored, start + 3599));
        assert_ne!(key().sign(stored, start), key().sign(stored, start + 3600));
    }

    #[test]
    fn tampering_fails() {
        let (path, query) = split(&key().sign("http://h/attachments/1/2/a.txt", NOW));
        assert!(!key().verify("/attachments/1/2/b.txt", &query, NOW), "path");
        assert!(!key().verify("/attachments/1/3/a.txt", &query, NOW), "id");
        let later = query.replacen("ex=", "ex=1", 1);
        assert!(!key().verify(&path, &later, NOW), "expiry");
        let other = UrlKey::from_secret(&TokenSecret([43; 32]));
        assert!(!other.verify(&path, &query, NOW), "another data dir's key");
        for bad in [
            "",
            "ex=&is=&hm=",
            "hm=00",
            "ex=ffffffffffffffff&is=0&hm=zz",
            "ex=1&is=1&hm=0000000000000000000000000000000000000000000000000000000000000000",
            "ex=+1&is=1&hm=é",
        ] {
            assert!(!key().verify(&path, bad, NOW), "{bad:?}");
        }
    }

    #[test]
    fn only_this_key_s_urls_are_refreshed_expired_or_not() {
        let stored = "http://h/attachments/1/2/a.txt";
        let old = key().sign(stored, NOW);
        let later = NOW + 30 * 86_400;
        let fresh = key()
            .refresh(&old, later)
            .expect("signed here, though expired");
        assert_eq!(fresh, key().sign(stored, later));
        let (path, query) = split(&fresh);
        assert!(key().verify(&path, &query, later));
        assert_eq!(key().refresh(stored, later), None, "never signed");
        let forged = old.replace("/2/a.txt", "/3/a.txt");
        assert_eq!(key().refresh(&forged, later), None);
        let other = UrlKey::from_secret(&TokenSecret([1; 32])).sign(stored, NOW);
        assert_eq!(key().refresh(&other, later), None);
    }

    #[test]
    fn a_url_without_an_attachment_path_is_left_alone() {
        assert_eq!(key().sign("http://h/other", NOW), "http://h/other");
    }

    #[test]
    fn the_key_is_never_printed() {
        assert_eq!(format!("{:?}", key()), "UrlKey(..)");
    }
}
