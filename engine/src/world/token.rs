//! Bot and user tokens in Discord's shape, signed so that checking one needs no lookup.
//!
//! A token is three base64url parts (no padding) joined by dots:
//!
//! ```text
//!   base64url(user id as decimal) . base64url(generation u32 BE ‖ issued-at u32 BE) . base64url(tag)
//!   "MTIzNDU2Nzg5"                 "AAAAAWVTxoA"                                       27 chars
//! ```
//!
//! The tag is HMAC-SHA1 under the installation's `TokenSecret` over the first two parts
//! and the dot between them, exactly as they appear in the token. hikari refuses to start
//! unless a token has this three-part form with the user id in the first part
//! (CLIENTS.md §0.8).
//!
//! Verification (`decode_token`) checks the shape and the tag and returns the claims. It
//! does no lookup: whether the claimed generation is still the user's current one is the
//! `Directory`'s question, and bumping an account's generation revokes every older token.
//!
//! Invariants:
//! - Only a holder of the secret can produce a token that decodes.
//! - A token never panics the decoder, whatever its bytes (fuzzed by property tests).

use super::hmac::{hmac_sha1, tags_equal, TAG_LEN};
use super::ids::UserId;
use super::model::Account;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;

/// The per-installation key that signs tokens; kept in `<data-dir>/token_secret`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(pub [u8; 32]);

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(..)") // Never print the key.
    }
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    /// The user the token authenticates.
    pub user_id: UserId,
    /// The account's token generation when it was minted.
    pub generation: u32,
    /// When it was minted (Unix seconds).
    pub issued_at_s: u32,
}

/// Why a token was refused. Every cause answers REST with 401 and the gateway with
/// close 4004 (authentication failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three non-empty base64url parts, or a part decodes to the wrong length or kind.
    Malformed,
    /// The signature does not match: forged, altered, or from another installation.
    BadSignature,
    /// Well signed, but the account's generation has moved on (revoked) or the user is gone.
    Revoked,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "the token is not in Discord's three-part shape",
            TokenError::BadSignature => "the token's signature does not match",
            TokenError::Revoked => "the token was revoked",
        })
    }
}

impl std::error::Error for TokenError {}

/// Mints the token for `claims`.
///
/// ```
/// use engine::world::{decode_token, mint_token, TokenClaims, TokenSecret, UserId};
/// let secret = TokenSecret([1; 32]);
/// let claims = TokenClaims { user_id: UserId(80351110224678912), generation: 0, issued_at_s: 1 };
/// let token = mint_token(&secret, claims);
/// assert!(token.starts_with("ODAzNTExMTAyMjQ2Nzg5MTI."));
/// assert_eq!(decode_token(&secret, &token), Ok(claims));
/// ```
pub fn mint_token(secret: &TokenSecret, claims: TokenClaims) -> String {
    let mut stamp = [0u8; 8];
    stamp[..4].copy_from_slice(&claims.generation.to_be_bytes());
    stamp[4..].copy_from_slice(&claims.issued_at_s.to_be_bytes());
    let mut token = URL_SAFE_NO_PAD.encode(claims.user_id.0.to_string());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(stamp, &mut token);
    let tag = hmac_sha1(&secret.0, &[token.as_bytes()]);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    token
}

/// The token that currently authenticates `account` (its generation and mint time).
pub fn account_token(secret: &TokenSecret, account: &Account) -> String {
    let claims = TokenClaims {
        user_id: account.user.id,
        generation: account.token_generation,
        issued_at_s: account.token_issued_at_s,
    };
    mint_token(secret, claims)
}

/// Checks `token`'s shape and signature and returns what it claims. No lookup.
pub fn decode_token(secret: &TokenSecret, token: &str) -> Result<TokenClaims, TokenError> {
    let mut parts = token.split('.');
    let (Some(id_part), Some(stamp_part), Some(tag_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let tag = decode_fixed::<TAG_LEN>(tag_part)?;
    let signed = &token[..id_part.len() + 1 + stamp_part.len()];
    if !tags_equal(&tag, &hmac_sha1(&secret.0, &[signed.as_bytes()])) {
        return Err(TokenError::BadSignature);
    }
    let stamp = decode_fixed::<8>(stamp_part)?;
    let user_id = decode_user_id(id_part).ok_or(TokenError::Malformed)?;
    Ok(TokenClaims {
        user_id,
        generation: u32::from_be_bytes([stamp[0], stamp[1], stamp[2], stamp[3]]),
        issued_at_s: u32::from_be_bytes([stamp[4], stamp[5], stamp[6], stamp[7]]),
    })
}

/// The user id a token's first part names, without checking the signature (what hikari
/// and Discord's own tooling read from a token). `None` if the part is not an id.
pub fn decode_user_id(id_part: &str) -> Option<UserId> {
    let digits = URL_SAFE_NO_PAD.decode(id_part).ok()?;
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(&digits).ok()?.parse().ok().map(UserId)
}

/// Removes the `Bot ` prefix REST always sends and twilight also sends on the gateway
/// (CLIENTS.md §0.7); a bare token is returned unchanged.
///
/// ```
/// use engine::world::strip_bot_prefix;
/// assert_eq!(strip_bot_prefix("Bot abc.def.ghi"), "abc.def.ghi");
/// assert_eq!(strip_bot_prefix("abc.def.ghi"), "abc.def.ghi");
/// ```
pub fn strip_bot_prefix(token: &str) -> &str {
    token.strip_prefix("Bot ").unwrap_or(token).trim()
}

fn decode_fixed<const N: usize>(part: &str) -> Result<[u8; N], TokenError> {
    let mut out = [0u8; N];
    match URL_SAFE_NO_PAD.decode_slice(part, &mut out) {
        Ok(len) if len == N => Ok(out),
        _ => Err(TokenError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: TokenSecret = TokenSecret([9; 32]);

    fn claims(user_id: u64, generation: u32) -> TokenClaims {
        TokenClaims {
            user_id: UserId(user_id),
            generation,
            issued_at_s: 1_700_000_000,
        }
    }

    /// hikari's check, as a hand-written matcher for `^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`.
    fn has_discord_shape(token: &str) -> bool {
        let parts: Vec<&str> = token.split('.').collect();
        parts.len() == 3
            && parts.iter().all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
    }

    #[test]
    fn tokens_have_discords_shape_and_name_the_user() {
        let token = mint_token(&SECRET, claims(1_234_567_890_123_456_789, 3));
        assert!(has_discord_shape(&token), "{token}");
        let first = token.split('.').next().unwrap();
        assert_eq!(
            decode_user_id(first),
            Some(UserId(1_234_567_890_123_456_789))
        );
        // The tag part is as long as Discord's (27 characters for 20 bytes).
        assert_eq!(token.split('.').nth(2).unwrap().len(), 27);
    }

    #[test]
    fn first_part_decodes_the_way_hikari_reads_it() {
        // hikari: pad with "=" * (len % 4), decode with the *standard* alphabet, int(bytes).
        // Decimal digits never produce the two characters where the alphabets differ.
        use base64::engine::general_purpose::STANDARD;
        for user_id in [
            1u64,
            12_345_678_901_234_567,
            123_456_789_012_345_678,
            u64::MAX,
        ] {
            let token = mint_token(&SECRET, claims(user_id, 0));
            let mut segment = token.split('.').next().unwrap().to_string();
            assert!(!segment.contains(['-', '_', '+', '/']), "{segment}");
            while segment.len() % 4 != 0 {
                segment.push('=');
            }
            let digits = STANDARD.decode(segment).unwrap();
            assert_eq!(String::from_utf8(digits).unwrap(), user_id.to_string());
        }
    }

    #[test]
    fn round_trip() {
        let want = claims(42, 7);
        assert_eq!(decode_token(&SECRET, &mint_token(&SECRET, want)), Ok(want));
    }

    #[test]
    fn another_installation_cannot_verify() {
        let token = mint_token(&SECRET, claims(42, 0));
        assert_eq!(
            decode_token(&TokenSecret([8; 32]), &token),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn any_altered_character_is_refused() {
        let token = mint_token(&SECRET, claims(80_351_110_224_678_912, 1));
        for index in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered != token {
                assert!(
                    decode_token(&SECRET, &altered).is_err(),
                    "index {index}: {altered}"
                );
            }
        }
    }

    #[test]
    fn malformed_shapes() {
        let token = mint_token(&SECRET, claims(42, 0));
        let cases = [
            String::new(),
            "a.b".into(),
            "a.b.c.d".into(),
            format!("{token}."),
            format!(".{token}"),
            token.replace('.', ".."),
            "Bot x.y.z".into(),
        ];
        for case in cases {
            assert_eq!(
                decode_token(&SECRET, &case),
                Err(TokenError::Malformed),
                "{case:?}"
            );
        }
    }

    #[test]
    fn user_id_part_must_be_decimal() {
        assert_eq!(decode_user_id(&URL_SAFE_NO_PAD.encode("+42")), None);
        assert_eq!(decode_user_id(&URL_SAFE_NO_PAD.encode("")), None);
        assert_eq!(
            decode_user_id(&URL_SAFE_NO_PAD.encode("99999999999999999999")),
            None
        );
        assert_eq!(
            decode_user_id(&URL_SAFE_NO_PAD.encode("42")),
            Some(UserId(42))
        );
        assert_eq!(decode_user_id("!!"), None);
    }

    #[test]
    fn bot_prefix_is_optional() {
        let token = mint_token(&SECRET, claims(42, 0));
        let header = format!("Bot {token}");
        assert_eq!(
            decode_token(&SECRET, strip_bot_prefix(&header)),
            Ok(claims(42, 0))
        );
    }

    proptest! {
        #[test]
        fn decoder_never_panics(input in ".{0,120}") {
            let _ = decode_token(&SECRET, &input);
        }

        #[test]
        fn decoder_never_panics_on_near_tokens(
            user_id in any::<u64>(), generation in any::<u32>(), cut in 0usize..80, byte in any::<u8>()
        ) {
            let mut token = mint_token(&SECRET, claims(user_id, generation)).into_bytes();
            let cut = cut.min(token.len().saturating_sub(1));
            token[cut] = byte;
            let altered = String::from_utf8_lossy(&token);
            let _ = decode_token(&SECRET, &altered);
        }

        #[test]
        fn every_minted_token_round_trips(user_id in any::<u64>(), generation in any::<u32>(), at in any::<u32>()) {
            let want = TokenClaims { user_id: UserId(user_id), generation, issued_at_s: at };
            let token = mint_token(&SECRET, want);
            prop_assert!(has_discord_shape(&token));
            prop_assert_eq!(decode_token(&SECRET, &token), Ok(want));
        }
    }
}
