//! The account routes' untrusted input: which path is an auth route, and the bodies of
//! `POST /auth/register` and `POST /auth/login`, checked against Discord's rules.
//!
//! Paths: `/auth/{register,login,logout}` unversioned (what a human client posts to) and
//! under `/api`, `/api/v9`, `/api/v10`.
//!
//! Rules (Discord's post-2023 unique usernames):
//! - `username`: 2–32 characters, only `a-z`, `0-9`, `_` and `.`, never two periods in a
//!   row. Uppercase is refused rather than folded, so a stored name is what the user typed.
//! - `password`: 8–72 characters (72 is where bcrypt-era clients stop; argon2 has no
//!   such limit, but a bound keeps hashing cost bounded).
//! - `global_name`: absent, `null`, or 1–32 characters.
//!
//! Every broken rule is reported at once, as Discord does: 400 code 50035 with
//! `errors.{field}._errors[{code, message}]`. The body is read by `parse_object`: not JSON
//! is 50109, and no body counts as `{}` (so each required field is reported missing).
//!
//! Elsewhere: hashing (`world::password`), the name registry and the write path
//! (`app::accounts`).

use serde_json::{json, Map, Value};

use super::router::strip_version_prefix;
use super::Method;
use crate::rest::parse_object;
use crate::world::Refusal;

/// Shortest username.
pub const USERNAME_CHARS_MIN: usize = 2;
/// Longest username.
pub const USERNAME_CHARS_MAX: usize = 32;
/// Shortest password.
pub const PASSWORD_CHARS_MIN: usize = 8;
/// Longest password.
pub const PASSWORD_CHARS_MAX: usize = 72;
/// Longest display name.
pub const GLOBAL_NAME_CHARS_MAX: usize = 32;

/// An account route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRoute {
    /// `POST /auth/register`.
    Register,
    /// `POST /auth/login`.
    Login,
    /// `POST /auth/logout` (authenticated).
    Logout,
    /// `PATCH /users/@me` (authenticated): the caller's username and display name. Not
    /// returned by `auth_route` (the app recognises the path itself).
    Profile,
}

/// The auth route `path` names, if any, and whether `method` is the one it takes
/// (`Err(())`: right path, wrong method → 405).
///
/// ```
/// use engine::rest::auth::{auth_route, AuthRoute};
/// use engine::rest::Method;
/// assert_eq!(auth_route(Method::Post, "/api/v10/auth/login"), Some(Ok(AuthRoute::Login)));
/// assert_eq!(auth_route(Method::Post, "/auth/register"), Some(Ok(AuthRoute::Register)));
/// assert_eq!(auth_route(Method::Get, "/auth/logout"), Some(Err(())));
/// assert_eq!(auth_route(Method::Post, "/api/v10/users/@me"), None);
/// ```
#[allow(clippy::result_unit_err)]
pub fn auth_route(method: Method, path: &str) -> Option<Result<AuthRoute, ()>> {
    let rest = strip_version_prefix(path).or_else(|| path.strip_prefix('/'))?;
    let route = match rest.trim_end_matches('/') {
        "auth/register" => AuthRoute::Register,
        "auth/login" => AuthRoute::Login,
        "auth/logout" => AuthRoute::Logout,
        _ => return None,
    };
    Some(if method == Method::Post {
        Ok(route)
    } else {
        Err(())
    })
}

/// A parsed `POST /auth/register` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    /// The unique handle; satisfies `check_username`.
    pub username: String,
    /// The password in clear; 8–72 characters.
    pub password: String,
    /// The display name, if given.
    pub global_name: Option<String>,
}

/// A parsed `POST /auth/login` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The username (`login`, or `username` as a convenience), lowercased.
    pub login: String,
    /// The password in clear (any length; a long one simply never matches).
    pub password: String,
}

/// One field's broken rule: Discord's code string and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// e.g. `BASE_TYPE_BAD_LENGTH`.
    pub code: &'static str,
    /// For humans.
    pub message: String,
}

/// Checks `name` against the username rules.
///
/// ```
/// use engine::rest::auth::check_username;
/// assert!(check_username("flux_user.1").is_ok());
/// assert_eq!(check_username("Flux").unwrap_err().code, "USERNAME_INVALID_CHARACTERS");
/// assert_eq!(check_username("a").unwrap_err().code, "BASE_TYPE_BAD_LENGTH");
/// ```
pub fn check_username(name: &str) -> Result<(), FieldError> {
    let chars = name.chars().count();
    if !(USERNAME_CHARS_MIN..=USERNAME_CHARS_MAX).contains(&chars) {
        return Err(bad_length(USERNAME_CHARS_MIN, USERNAME_CHARS_MAX));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    {
        return Err(FieldError {
            code: "USERNAME_INVALID_CHARACTERS",
            message: "Username can only include lowercase letters, numbers, underscores _ \
                      or periods ."
                .into(),
        });
    }
    if name.contains("..") {
        return Err(FieldError {
            code: "USERNAME_INVALID_CONTAINS",
            message: "Username cannot contain two periods in a row.".into(),
        });
    }
    Ok(())
}

/// Parses and checks a register body.
pub fn parse_register(body: &[u8]) -> Result<Register, Refusal> {
    let object = parse_object(body)?;
    let mut errors = Map::new();
    let username = required_string(&object, "username", &mut errors);
    if let Some(name) = &username {
        if let Err(error) = check_username(name) {
            add(&mut errors, "username", error);
        }
    }
    let password = required_string(&object, "password", &mut errors);
    if let Some(password) = &password {
        let chars = password.chars().count();
        if !(PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&chars) {
            add(
                &mut errors,
                "password",
                bad_length(PASSWORD_CHARS_MIN, PASSWORD_CHARS_MAX),
            );
        }
    }
    let global_name = match object.get("global_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => {
            let chars = name.chars().count();
            if chars == 0 || chars > GLOBAL_NAME_CHARS_MAX {
                add(
                    &mut errors,
                    "global_name",
                    bad_length(1, GLOBAL_NAME_CHARS_MAX),
                );
            }
            Some(name.clone())
        }
        Some(_) => {
            add(&mut errors, "global_name", not_a_string());
            None
        }
    };
    match (username, password) {
        (Some(username), Some(password)) if errors.is_empty() => Ok(Register {
            username,
            password,
            global_name,
        }),
        _ => Err(Refusal::InvalidForm(Value::Object(errors))),
    }
}

/// `PATCH /users/@me`: what the caller changes about their profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEdit {
    /// A new username (checked by `check_username`).
    pub username: Option<String>,
    /// A new display name; `Some(None)` clears it.
    pub global_name: Option<Option<String>>,
}

/// Parses a `PATCH /users/@me` body: `username`, `global_name` (null clears it);
/// `avatar` and `banner` may only be null (Flux stores no images). Every fault is
/// reported in one 50035.
///
/// ```
/// use engine::rest::auth::parse_profile;
/// let edit = parse_profile(br#"{"global_name": "Bot A", "avatar": null}"#).unwrap();
/// assert_eq!(edit.global_name, Some(Some("Bot A".to_string())));
/// assert!(parse_profile(br#"{"username": "No Caps"}"#).is_err());
/// ```
pub fn parse_profile(body: &[u8]) -> Result<ProfileEdit, Refusal> {
    let object = parse_object(body)?;
    let mut errors = Map::new();
    let username = match object.get("username") {
        None => None,
        Some(Value::String(name)) => {
            if let Err(error) = check_username(name) {
                add(&mut errors, "username", error);
            }
            Some(name.clone())
        }
        Some(_) => {
            add(&mut errors, "username", not_a_string());
            None
        }
    };
    let global_name = match object.get("global_name") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(name)) => {
            let chars = name.chars().count();
            if chars == 0 || chars > GLOBAL_NAME_CHARS_MAX {
                add(
                    &mut errors,
                    "global_name",
                    bad_length(1, GLOBAL_NAME_CHARS_MAX),
                );
            }
            Some(Some(name.clone()))
        }
        Some(_) => {
            add(&mut errors, "global_name", not_a_string());
            None
        }
    };
    for image in ["avatar", "banner"] {
        if object.get(image).is_some_and(|value| !value.is_null()) {
            add(
                &mut errors,
                image,
                FieldError {
                    code: "IMAGE_INVALID",
                    message: "Flux stores no images; send null.".into(),
                },
            );
        }
    }
    if errors.is_empty() {
        Ok(ProfileEdit {
            username,
            global_name,
        })
    } else {
        Err(Refusal::InvalidForm(Value::Object(errors)))
    }
}

/// Parses a login body: `login` (or `username`) and `password`.
pub fn parse_login(body: &[u8]) -> Result<Login, Refusal> {
    let object = parse_object(body)?;
    let mut errors = Map::new();
    let field = if object.contains_key("login") || !object.contains_key("username") {
        "login"
    } else {
        "username"
    };
    let login = required_string(&object, field, &mut errors);
    let password = required_string(&object, "password", &mut errors);
    match (login, password) {
        (Some(login), Some(password)) if errors.is_empty() => Ok(Login {
            login: login.to_ascii_lowercase(),
            password,
        }),
        _ => Err(Refusal::InvalidForm(Value::Object(errors))),
    }
}

/// 400 50035: the username is taken.
pub fn username_taken() -> Refusal {
    form_error(json!({ "username": { "_errors": [{
            "code": "USERNAME_ALREADY_TAKEN",
            "message": "Username is unavailable. Try adding numbers, letters, underscores _ , or periods."
        }] } }))
}

/// 400 50035: unknown login or wrong password (one answer for both, as Discord gives,
/// so the route does not tell which usernames exist).
pub fn invalid_login() -> Refusal {
    let error = json!({ "_errors": [{
        "code": "INVALID_LOGIN",
        "message": "Login or password is invalid."
    }] });
    form_error(json!({ "login": error.clone(), "password": error }))
}

fn form_error(errors: Value) -> Refusal {
    Refusal::InvalidForm(errors)
}

fn required_string(
    object: &Map<String, Value>,
    field: &'static str,
    errors: &mut Map<String, Value>,
) -> Option<String> {
    match object.get(field) {
        Some(Value::String(value)) => Some(value.clone()),
        None | Some(Value::Null) => {
            add(
                errors,
                field,
                FieldError {
                    code: "BASE_TYPE_REQUIRED",
                    message: "This field is required".into(),
                },
            );
            None
        }
        Some(_) => {
            add(errors, field, not_a_string());
            None
        }
    }
}

fn add(errors: &mut Map<String, Value>, field: &str, error: FieldError) {
    errors.insert(
        field.to_string(),
        json!({ "_errors": [{ "code": error.code, "message": error.message }] }),
    );
}

fn bad_length(min: usize, max: usize) -> FieldError {
    FieldError {
        code: "BASE_TYPE_BAD_LENGTH",
        message: format!("Must be between {min} and {max} in length."),
    }
}

fn not_a_string() -> FieldError {
    FieldError {
        code: "BASE_TYPE_STRING",
        message: "Must be a string.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn errors_of(error: Refusal) -> Value {
        match error {
            Refusal::InvalidForm(errors) => errors,
            other => panic!("not a form error: {other:?}"),
        }
    }

    fn code_at(errors: &Value, field: &str) -> String {
        errors[field]["_errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn a_good_register_body_parses() {
        let body = br#"{"username":"ada.l_1","password":"12345678","global_name":"Ada"}"#;
        assert_eq!(
            parse_register(body).unwrap(),
            Register {
                username: "ada.l_1".into(),
                password: "12345678".into(),
                global_name: Some("Ada".into()),
            }
        );
        let body = br#"{"username":"ada","password":"12345678","global_name":null}"#;
        assert_eq!(parse_register(body).unwrap().global_name, None);
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let errors = errors_of(
            parse_register(br#"{"username":"A","password":"short","global_name":5}"#).unwrap_err(),
        );
        assert_eq!(code_at(&errors, "username"), "BASE_TYPE_BAD_LENGTH");
        assert_eq!(code_at(&errors, "password"), "BASE_TYPE_BAD_LENGTH");
        assert_eq!(code_at(&errors, "global_name"), "BASE_TYPE_STRING");
        let errors = errors_of(parse_register(b"{}").unwrap_err());
        assert_eq!(code_at(&errors, "username"), "BASE_TYPE_REQUIRED");
        assert_eq!(code_at(&errors, "password"), "BASE_TYPE_REQUIRED");
        let long = "x".repeat(73);
        let body = format!(r#"{{"username":"Bad Name","password":"{long}"}}"#);
        let errors = errors_of(parse_register(body.as_bytes()).unwrap_err());
        assert_eq!(code_at(&errors, "username"), "USERNAME_INVALID_CHARACTERS");
        assert_eq!(code_at(&errors, "password"), "BASE_TYPE_BAD_LENGTH");
    }

    #[test]
    fn non_objects_and_non_json() {
        assert_eq!(parse_register(b"not json"), Err(Refusal::InvalidJson));
        let errors = errors_of(parse_register(b"[1,2]").unwrap_err());
        assert_eq!(errors["_errors"][0]["code"], "DICT_TYPE_CONVERT");
        // No body is `{}`, as on Discord: every required field is missing.
        let errors = errors_of(parse_login(b"").unwrap_err());
        assert_eq!(code_at(&errors, "login"), "BASE_TYPE_REQUIRED");
        assert_eq!(code_at(&errors, "password"), "BASE_TYPE_REQUIRED");
    }

    #[test]
    fn login_takes_login_or_username_and_lowercases() {
        let login = parse_login(br#"{"login":"Ada","password":"x"}"#).unwrap();
        assert_eq!(login.login, "ada");
        let login = parse_login(br#"{"username":"bob","password":"pw"}"#).unwrap();
        assert_eq!(login.login, "bob");
        let errors = errors_of(parse_login(br#"{"password":"pw"}"#).unwrap_err());
        assert_eq!(code_at(&errors, "login"), "BASE_TYPE_REQUIRED");
        let errors = errors_of(parse_login(br#"{"login":"a","password":1}"#).unwrap_err());
        assert_eq!(code_at(&errors, "password"), "BASE_TYPE_STRING");
    }

    #[test]
    fn username_rules() {
        for good in [
            "ab",
            "a.b",
            "a_b",
            "0123456789",
            "x".repeat(32).as_str(),
            "._",
        ] {
            assert!(check_username(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "A",
            "ab c",
            "a..b",
            "ä",
            "a-b",
            "x".repeat(33).as_str(),
        ] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn taken_and_invalid_login_have_discords_shape() {
        let body: Value = serde_json::from_slice(&username_taken().body()).unwrap();
        assert_eq!(body["code"], 50035);
        assert_eq!(
            body["errors"]["username"]["_errors"][0]["code"],
            "USERNAME_ALREADY_TAKEN"
        );
        let body: Value = serde_json::from_slice(&invalid_login().body()).unwrap();
        assert_eq!(invalid_login().status(), 400);
        assert_eq!(
            body["errors"]["login"]["_errors"][0]["code"],
            "INVALID_LOGIN"
        );
    }

    /// The reference: the rules as a character-by-character scan.
    fn reference_ok(name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        (2..=32).contains(&chars.len())
            && chars
                .iter()
                .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.'))
            && !chars.windows(2).any(|w| w == ['.', '.'])
    }

    proptest! {
        #[test]
        fn validator_matches_the_reference(name in "[a-z0-9_.A-Z -]{0,40}") {
            prop_assert_eq!(check_username(&name).is_ok(), reference_ok(&name));
        }

        #[test]
        fn validator_never_panics_on_any_text(name in ".{0,64}") {
            prop_assert_eq!(check_username(&name).is_ok(), reference_ok(&name));
        }

        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_register(&body);
            let _ = parse_login(&body);
        }

        #[test]
        fn a_valid_name_and_password_always_register(
            name in "[a-z0-9_]{2,32}", password in "[ -~]{8,72}"
        ) {
            let body = json!({ "username": name, "password": password });
            let parsed = parse_register(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(parsed.username, name);
            prop_assert_eq!(parsed.password, password);
        }
    }
}
