//! Fuzz the account routes' parsers: `POST /auth/register` and `POST /auth/login`
//! bodies, the username rules and the auth path matcher.
//!
//! Input: the whole input is tried as a register body, a login body, a username and a
//! path. Properties: no input panics; a register body that parses has a username the
//! rules accept and a password of 8–72 characters; a login that parses is lowercase.
#![no_main]

use engine::rest::auth::{
    auth_route, check_username, parse_login, parse_register, PASSWORD_CHARS_MAX,
    PASSWORD_CHARS_MIN,
};
use engine::rest::Method;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(register) = parse_register(data) {
        assert!(check_username(&register.username).is_ok());
        let chars = register.password.chars().count();
        assert!((PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&chars));
    }
    if let Ok(login) = parse_login(data) {
        assert_eq!(login.login, login.login.to_ascii_lowercase());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = check_username(text);
        let _ = auth_route(Method::Post, text);
    }
});
