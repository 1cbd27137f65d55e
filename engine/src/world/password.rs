//! Password hashing for human accounts (`POST /auth/register`, `POST /auth/login`).
//!
//! argon2id (RFC 9106) in the PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`),
//! which carries its own parameters and salt: `verify_password` reads them from the
//! string, so stored hashes keep verifying after `PARAMS` change.
//!
//! Parameters: OWASP's first argon2id recommendation, m = 19 MiB, t = 2, p = 1. Hashing
//! runs inline on the reactor thread of the core that received the request (there is
//! no blocking pool), so its cost is a stall of that core's other connections. Measured
//! on the development machine (2 shared cores, release build): about 17 ms per hash or
//! verification (`cargo test --release -p engine --lib password::tests::hash_cost -- --ignored --nocapture`),
//! under the ~50 ms budget this module allows itself; registration and login are rare
//! next to messages. If that ever matters, the way out is a hashing thread answering
//! over the mesh, not weaker parameters.
//!
//! Salts are 16 bytes from `/dev/urandom`. A stored hash that does not parse (a corrupt
//! store, a hand-edited account) is an error value, never a panic.
//!
//! Elsewhere: which passwords are acceptable at all (`crate::rest::auth`), where the
//! hash lives (`Account::password_hash`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::fmt;

/// argon2id memory cost in KiB (19 MiB, OWASP).
pub const MEMORY_KIB: u32 = 19_456;
/// argon2id passes.
pub const ITERATIONS: u32 = 2;
/// argon2id lanes.
pub const PARALLELISM: u32 = 1;

/// Why a password could not be hashed or checked. A wrong password is not an error:
/// `verify_password` answers `Ok(false)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordError {
    /// `/dev/urandom` could not be read for a salt.
    Random(String),
    /// The stored hash is not a PHC string argon2 understands.
    CorruptHash(String),
    /// argon2 refused the input (e.g. a password over its length limit).
    Hashing(String),
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordError::Random(error) => write!(f, "no salt from /dev/urandom: {error}"),
            PasswordError::CorruptHash(error) => write!(f, "stored password hash: {error}"),
            PasswordError::Hashing(error) => write!(f, "argon2: {error}"),
        }
    }
}

impl std::error::Error for PasswordError {}

/// Hashes `password` with a fresh salt; returns the PHC string to store.
///
/// ```
/// use engine::world::password::{hash_password, verify_password};
/// let phc = hash_password("correct horse").unwrap();
/// assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// assert_eq!(verify_password("correct horse", &phc), Ok(true));
/// assert_eq!(verify_password("wrong horse", &phc), Ok(false));
/// ```
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let random = super::store::os_random_32().map_err(|e| PasswordError::Random(e.to_string()))?;
    hash_with_salt(password, &random[..16])
}

/// Hashes `password` with `salt` (at least 8 bytes). Deterministic: for tests and for
/// callers that bring their own randomness.
pub fn hash_with_salt(password: &str, salt: &[u8]) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Whether `password` matches the stored PHC string `phc`. `Ok(false)` for a wrong
/// password; `Err` only when `phc` itself is unusable.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::CorruptHash(e.to_string()))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::CorruptHash(format!(
            "algorithm {} is not argon2id",
            parsed.algorithm
        )));
    }
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(error) => Err(PasswordError::CorruptHash(error.to_string())),
    }
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("hunter22-hunter22").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(verify_password("hunter22-hunter22", &phc), Ok(true));
        assert_eq!(verify_password("hunter22-hunter23", &phc), Ok(false));
        assert_eq!(verify_password("", &phc), Ok(false));
    }

    #[test]
    fn salts_differ_so_equal_passwords_hash_differently() {
        let a = hash_password("same password").unwrap();
        let b = hash_password("same password").unwrap();
        assert_ne!(a, b);
        assert_eq!(verify_password("same password", &b), Ok(true));
    }

    #[test]
    fn a_fixed_salt_is_deterministic() {
        let a = hash_with_salt("pw-pw-pw-pw", &[7; 16]).unwrap();
        assert_eq!(a, hash_with_salt("pw-pw-pw-pw", &[7; 16]).unwrap());
        assert!(hash_with_salt("pw-pw-pw-pw", &[7; 2]).is_err(), "salt too short");
    }

    #[test]
    fn corrupt_hashes_are_errors_not_panics() {
        let good = hash_with_salt("pw-pw-pw-pw", &[1; 16]).unwrap();
        let cases = [
            String::new(),
            "plain text".into(),
            "$argon2id$".into(),
            "$argon2id$v=19$m=19456,t=2,p=1$$".into(),
            "$bcrypt$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
            good.replace("argon2id", "argon2i"),
            good[..good.len() / 2].to_string(),
        ];
        for case in cases {
            assert!(verify_password("pw-pw-pw-pw", &case).is_err(), "{case:?}");
        }
        // A truncated digest still parses as PHC but can never match.
        let truncated = &good[..good.len() - 4];
        assert_ne!(verify_password("pw-pw-pw-pw", truncated), Ok(true));
    }

    /// Not a speed test: prints the cost of one hash for the module doc.
    #[test]
    #[ignore = "measurement, run with --release --nocapture"]
    fn hash_cost() {
        let rounds = 10;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            hash_password("measure me please").unwrap();
        }
        println!("argon2id hash: {:?} each", start.elapsed() / rounds);
    }
}
