//! `POST /auth/login`: the password checked on the receiving core, the name's failures
//! counted on the name's home core, the address's attempts on the receiving core.
//!
//! Two throttles stand in front of the hash (`login_throttle.rs` holds their logs):
//! - **Per name, across cores.** A name's failures are counted on one core whichever core
//!   receives the login: its home `name_core(name) = fnv1a(name) % cores`. The receiving
//!   core asks it first (`Call::LoginCheck`), which counts the attempt at once (so logins
//!   running at once on several cores cannot all pass) or refuses with 429; the
//!   receiving core then hashes (`Call::LoginAdmitted` back to it) and reports the outcome
//!   (`Call::LoginOutcome`): a right password forgets the name's failures, one never
//!   hashed (the core's hash budget was spent) is taken back, a wrong one stays counted.
//!   `NAME_FAILURES_MAX` (5) per minute, on one core, so 5 guesses a minute per account
//!   whatever the core count. Names that do not exist are counted alike, so the throttle
//!   does not tell which exist.
//! - **Per source address, on the receiving core.** Every login counts against the
//!   connection's address (`http::Request::peer_ip`) when it begins and is forgiven when
//!   its password was right or the core's hash budget was spent; one refused because its
//!   name is locked still counts (a guess at a locked account); every hashed registration
//!   counts too (`accounts.rs`). `Limits::password_attempts_per_address_max` (20 by default) per
//!   minute per core: one address cannot spread its guesses over many names, nor create
//!   accounts as fast as the hash budget allows. An address's connections are spread over
//!   the cores by the kernel, so one address gets at most `cores ×` that.
//!
//! ```text
//! receiving core R                              name's home core N
//! parse, address begin ── LoginCheck ──────────► name begin: 429 Answer, or
//!                       ◄── LoginAdmitted ─────┘
//! hash budget, verify, answer
//!                       ── LoginOutcome ───────► forget / forgive / keep
//! ```
//!
//! The account itself is read from R's own copy (every core holds every account), so a
//! login never waits on the account's home core; it waits on the name's home core only
//! for the check, one mesh round trip when that is another core.
//!
//! Known gap: the address's count is per core (see above), and clients behind one proxy
//! share its address (`Limits::password_attempts_per_address_max` says to raise it there).

use std::net::IpAddr;

use super::accounts::{too_many_hashes, unix_s};
use super::answers::{error_response, json_response, unix_ms};
use super::login_throttle::name_core;
use super::mesh::{Call, Caller};
use super::{FluxApp, FluxMesh};
use crate::http::HeaderName;
use crate::http::Request;
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::auth::{self, Login};
use crate::world::encode;
use crate::world::password::verify_password;

/// A login on its way between the receiving core and the name's home core.
pub struct LoginCall {
    pub(super) caller: Caller,
    login: Login,
    peer_ip: IpAddr,
}

impl std::fmt::Debug for LoginCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password, not even in a debug log.
        f.debug_struct("LoginCall")
            .field("caller", &self.caller)
            .field("login", &self.login.login)
            .field("peer_ip", &self.peer_ip)
            .finish_non_exhaustive()
    }
}

/// How a login the name's home core admitted ended, for that core's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The right password: the name's failures are forgotten.
    Succeeded,
    /// A wrong password or an unknown name: the attempt stays counted.
    Failed,
    /// Never hashed (the receiving core's hash budget was spent): taken back.
    NotTried,
}

impl FluxApp {
    /// Receiving core: parse the login, count it against its address, and ask the
    /// name's home core whether the name may try.
    pub(super) fn receive_login(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
        headers: Vec<(HeaderName, String)>,
    ) -> HttpAnswer {
        let now_ms = self.now(out).0 / 1000;
        let login = match auth::parse_login(&request.body) {
            Ok(login) => login,
            Err(error) => return HttpAnswer::Respond(error_response(&headers, &error)),
        };
        // Longer than any accepted password: no need to spend a hash on it (the length
        // says nothing about the account).
        if login.password.chars().count() > auth::PASSWORD_CHARS_MAX {
            return HttpAnswer::Respond(error_response(&headers, &auth::invalid_login()));
        }
        let address = request.peer_ip;
        if let Err(wait_ms) = self.accounts.address_attempts.begin(&address, now_ms) {
            return HttpAnswer::Respond(too_many_hashes(&headers, wait_ms));
        }
        let call = LoginCall {
            caller: Caller {
                user_id: 0,
                reply_core: self.core,
                conn,
                headers,
            },
            login,
            peer_ip: address,
        };
        let home = name_core(&call.login.login, self.cores);
        if home == self.core {
            return self.check_login_name(out, call, true);
        }
        out.send_mesh(home, FluxMesh::Call(Box::new(Call::LoginCheck(call))));
        HttpAnswer::Later
    }

    /// The name's home core: count the attempt, or refuse it while the name is locked.
    pub(super) fn check_login_name(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: LoginCall,
        in_http: bool,
    ) -> HttpAnswer {
        debug_assert_eq!(name_core(&call.login.login, self.cores), self.core);
        let now_ms = self.now(out).0 / 1000;
        if let Err(wait_ms) = self.accounts.name_attempts.begin(&call.login.login, now_ms) {
            let response = too_many_hashes(&call.caller.headers, wait_ms);
            return self.answer(out, call.caller.reply(), response, in_http);
        }
        if call.caller.reply_core == self.core {
            return self.login_admitted(out, call, in_http);
        }
        let reply_core = call.caller.reply_core;
        out.send_mesh(
            reply_core,
            FluxMesh::Call(Box::new(Call::LoginAdmitted(call))),
        );
        HttpAnswer::Later
    }

    /// Receiving core, once the name may try: hash, answer, and report the outcome to
    /// the name's home core.
    pub(super) fn login_admitted(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: LoginCall,
        in_http: bool,
    ) -> HttpAnswer {
        debug_assert_eq!(call.caller.reply_core, self.core);
        let now_ms = self.now(out).0 / 1000;
        let headers = &call.caller.headers;
        let (outcome, response) = match self.verify_login(&call.login, now_ms) {
            Ok(body) => (LoginOutcome::Succeeded, json_response(headers, 200, body)),
            Err(LoginRefusal::Wrong) => (
                LoginOutcome::Failed,
                error_response(headers, &auth::invalid_login()),
            ),
            Err(LoginRefusal::Busy { wait_ms }) => {
                (LoginOutcome::NotTried, too_many_hashes(headers, wait_ms))
            }
        };
        if outcome != LoginOutcome::Failed {
            self.accounts.address_attempts.forgive(&call.peer_ip);
        }
        let reply = call.caller.reply();
        let login = call.login.login;
        let home = name_core(&login, self.cores);
        if home == self.core {
            self.login_outcome(&login, outcome);
        } else {
            let report = Call::LoginOutcome { login, outcome };
            out.send_mesh(home, FluxMesh::Call(Box::new(report)));
        }
        self.answer(out, reply, response, in_http)
    }

    /// The name's home core: how an attempt it admitted ended.
    pub(super) fn login_outcome(&mut self, login: &str, outcome: LoginOutcome) {
        debug_assert_eq!(name_core(login, self.cores), self.core);
        match outcome {
            LoginOutcome::Succeeded => self.accounts.name_attempts.forget(&login.to_string()),
            LoginOutcome::NotTried => self.accounts.name_attempts.forgive(&login.to_string()),
            LoginOutcome::Failed => {}
        }
    }

    /// Check the password against this core's copy of the account; the body of a 200.
    fn verify_login(&mut self, login: &Login, now_ms: u64) -> Result<Vec<u8>, LoginRefusal> {
        self.accounts
            .hash_budget
            .try_take(now_ms)
            .map_err(|wait_ms| LoginRefusal::Busy { wait_ms })?;
        let account = self.accounts.by_name(&login.login);
        let Some((account, hash)) =
            account.and_then(|account| Some((account, account.password_hash.as_deref()?)))
        else {
            // No such user (or no password): hash anyway, against a stand-in, so the
            // answer takes as long and costs the same budget as a wrong password; timing
            // does not tell which usernames exist.
            let _ = verify_password(&login.password, dummy_password_hash());
            return Err(LoginRefusal::Wrong);
        };
        match verify_password(&login.password, hash) {
            Ok(true) => {}
            Ok(false) => return Err(LoginRefusal::Wrong),
            Err(error) => {
                eprintln!(
                    "flux: core {}: user {}: {error}",
                    self.core, account.user.id
                );
                return Err(LoginRefusal::Wrong);
            }
        }
        let user_id = account.user.id;
        let token = self
            .directory
            .mint_current_token(user_id, unix_s(unix_ms()))
            .ok_or(LoginRefusal::Wrong)?;
        let body = serde_json::json!({
            "token": token,
            "user_id": user_id.to_string(),
            "user_settings": { "locale": "en-US", "theme": "dark" },
        });
        Ok(encode(&body))
    }
}

/// Why a hashed login got no token.
enum LoginRefusal {
    /// A wrong password, an unknown name, or an account without a password.
    Wrong,
    /// This core's password-hash budget is spent for `wait_ms` more.
    Busy { wait_ms: u64 },
}

/// An argon2id hash of nothing anyone knows, to verify a login of an unknown username
/// against (made once per process).
fn dummy_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        crate::world::password::hash_with_salt("no account has this password", b"flux-dummy-salt")
            .expect("a fixed password and a 15-byte salt hash")
    })
}
