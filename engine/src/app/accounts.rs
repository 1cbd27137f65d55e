//! Human accounts: `POST /auth/register`, `POST /auth/login`, `POST /auth/logout`, on the
//! cores.
//!
//! Who decides what:
//! - **The receiving core** parses the body (`rest::auth`) and hashes the password
//!   (`world::password`, argon2id, ~tens of ms inline: registration is rare), or, for a
//!   login, verifies it against its own copy of the accounts. Every core holds every
//!   account (`AccountState::accounts`), kept current by `AccountUpdate`, so a login
//!   never leaves the core it arrived on.
//! - **Core 0** alone decides whether a username is free: its `by_username` is the
//!   registry (built from the stores at start, then updated the moment it reserves a
//!   name), so two registrations of one name on two cores cannot both win, with no lock.
//!   It also takes the new user's id from its Snowflake generator.
//! - **The user's home core** `(id >> 22) % cores` stores the account (`persist::
//!   put_account` in its lsm group commit) and is the only core that changes it later
//!   (logout bumps `token_generation`).
//!
//! ```text
//! receiving core R            core 0                      home core H            every core
//! parse, hash ── AccountRegister ──► name free? reserve,
//!                                    id = next Snowflake ── AccountWrite ──►
//!                                                          append, durable
//!                                                          (poll_store) ── AccountUpdate ──►
//!                                                                             directory.upsert
//!                                                          ◄── AccountUpdated ─────────┘
//!   ◄──────────────────────── MessageAnswer (201 {token, user}) ─┘ once every core acked
//! ```
//!
//! The answer waits for every core's acknowledgement, so the token it carries works on
//! every core (REST and IDENTIFY) the moment the client has it, and after logout the
//! old token fails everywhere before the 204 arrives. A restart reads the account
//! back from H's store (`persist::load_from_stores`).
//!
//! Cost control: each argon2 run stalls the core's other connections, and register and
//! login are unauthenticated, so each core spends at most
//! `password::HASHES_PER_SECOND_MAX` hashes per second and answers 429 (with
//! `retry_after`, `Retry-After` and `Via`, like every Flux 429) past that. Unknown users
//! and over-long passwords are refused without hashing.
//!
//! Known limit: a name core 0 reserved for a registration whose write then fails (a
//! broken store on H) stays reserved until the next start.

use std::collections::HashMap;
use std::sync::Arc;

use super::{FluxApp, FluxMesh};
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::auth::{self, AuthRoute};
use crate::rest::ratelimit::classify;
use crate::rest::{Method, RestError};
use crate::world::password::{hash_password, verify_password, HashBudget};
use crate::world::{encode, home_core, user_json, Account, Application, User, UserId, World};

/// The core that holds the username registry.
const REGISTRY_CORE: usize = 0;

/// Every account as one core knows it, and (on core 0) the username registry.
#[derive(Debug, Default)]
pub(super) struct AccountState {
    accounts: HashMap<u64, Account>,
    by_username: HashMap<String, u64>,
    /// Durable account changes whose answer waits for every core's `AccountUpdated`.
    awaiting: HashMap<u64, Awaiting>,
    next_ack: u64,
    /// Password hashes this core still allows itself this second.
    hash_budget: HashBudget,
}

#[derive(Debug)]
struct Awaiting {
    remaining: usize,
    reply_core: usize,
    conn: ConnId,
    response: Response,
}

/// An account as its home core stored it, with its application (bots).
#[derive(Debug)]
pub struct AccountSync {
    /// The account's new value.
    pub account: Account,
    /// The bot's application, if any.
    pub application: Option<Application>,
    /// Whether the public profile changed: the user's sessions get USER_UPDATE.
    pub profile_changed: bool,
}

/// A registration on its way to core 0: everything but the id is decided.
#[derive(Debug)]
pub struct RegisterCall {
    reply_core: usize,
    conn: ConnId,
    username: String,
    global_name: Option<String>,
    password_hash: String,
    headers: Vec<(String, String)>,
}

/// A change for an account's home core.
#[derive(Debug)]
pub struct AccountWrite {
    reply_core: usize,
    conn: ConnId,
    change: AccountChange,
    headers: Vec<(String, String)>,
}

/// What `AccountWrite` does.
#[derive(Debug)]
pub enum AccountChange {
    /// Store a new account (its id and name already reserved by core 0).
    Create(Box<Account>),
    /// Revoke every token of this user (`POST /auth/logout`).
    Revoke(UserId),
    /// Change this user's profile (`PATCH /users/@me`); a new username was reserved by
    /// core 0 on the way.
    Profile(UserId, auth::ProfileEdit),
}

impl AccountState {
    /// Core-local account state from the world loaded at start; core 0's registry holds
    /// every stored username.
    pub(super) fn from_world(world: &World) -> AccountState {
        let mut state = AccountState::default();
        for account in &world.accounts {
            state.insert(account.clone());
        }
        state
    }

    /// The greatest user id known (core 0 resumes its generator after it).
    pub(super) fn max_user_id(&self) -> Option<u64> {
        self.accounts.keys().copied().max()
    }

    fn insert(&mut self, account: Account) {
        let id = account.user.id.0;
        if let Some(old) = self.accounts.get(&id) {
            if old.user.username != account.user.username {
                self.by_username.remove(&old.user.username);
            }
        }
        self.by_username.insert(account.user.username.clone(), id);
        self.accounts.insert(id, account);
    }
}

impl FluxApp {
    /// `route_http`'s hook for `/auth/*`; `None` for every other path.
    pub(super) fn try_account_route(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
    ) -> Option<HttpAnswer> {
        let method = Method::parse(&request.method);
        let path = request.path();
        let profile = method == Method::Patch
            && crate::rest::router::strip_version_prefix(path)
                .is_some_and(|rest| rest.trim_end_matches('/') == "users/@me");
        let route = if profile {
            Ok(AuthRoute::Profile)
        } else {
            auth::auth_route(method, path)?
        };
        super::Metrics::bump(&self.shared.metrics.rest_requests_total);
        let now_unix_ms = super::http_routes::unix_ms();
        let now_ms = self.now(out).0 / 1000;
        let headers = super::http_routes::unmetered_headers(classify(method, path), now_unix_ms);
        let respond = |error: RestError| super::messages::error_response(&headers, &error);
        let Ok(route) = route else {
            return Some(HttpAnswer::Respond(respond(RestError::MethodNotAllowed)));
        };
        let answer = match route {
            AuthRoute::Register => self.register(out, conn, &request.body, headers, now_ms),
            AuthRoute::Login => {
                let response = match self.login(&request.body, now_unix_ms, now_ms) {
                    Ok(body) => super::messages::json_response(&headers, 200, body),
                    Err(Refusal::Rest(error)) => respond(error),
                    Err(Refusal::Busy { wait_ms }) => too_many_hashes(&headers, wait_ms),
                };
                HttpAnswer::Respond(response)
            }
            AuthRoute::Profile => {
                let user = request
                    .header_str("authorization")
                    .and_then(|token| self.directory.authenticate(token).ok())
                    .map(|entry| entry.user.id);
                let Some(user) = user else {
                    return Some(HttpAnswer::Respond(respond(RestError::Unauthorized)));
                };
                let edit = match auth::parse_profile(&request.body) {
                    Ok(edit) => edit,
                    Err(error) => return Some(HttpAnswer::Respond(respond(error))),
                };
                let renames = edit.username.as_ref().is_some_and(|name| {
                    self.accounts
                        .by_username
                        .get(name)
                        .is_none_or(|owner| *owner != user.0)
                });
                let write = AccountWrite {
                    reply_core: self.core,
                    conn,
                    change: AccountChange::Profile(user, edit),
                    headers,
                };
                if !renames {
                    self.send_account_write(out, write)
                } else if self.core == REGISTRY_CORE {
                    self.handle_rename(out, write)
                        .map_or(HttpAnswer::Later, HttpAnswer::Respond)
                } else {
                    out.send_mesh(REGISTRY_CORE, FluxMesh::AccountRename(Box::new(write)));
                    HttpAnswer::Later
                }
            }
            AuthRoute::Logout => {
                let user = request
                    .header_str("authorization")
                    .and_then(|token| self.directory.authenticate(token).ok())
                    .map(|entry| entry.user.id);
                match user {
                    Some(user) => {
                        let write = AccountWrite {
                            reply_core: self.core,
                            conn,
                            change: AccountChange::Revoke(user),
                            headers,
                        };
                        self.send_account_write(out, write)
                    }
                    None => HttpAnswer::Respond(respond(RestError::Unauthorized)),
                }
            }
        };
        Some(answer)
    }

    /// Receiving core: parse, hash, and hand the registration to core 0.
    fn register(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        body: &[u8],
        headers: Vec<(String, String)>,
        now_ms: u64,
    ) -> HttpAnswer {
        let parsed = match auth::parse_register(body) {
            Ok(parsed) => parsed,
            Err(error) => {
                return HttpAnswer::Respond(super::messages::error_response(&headers, &error))
            }
        };
        // Cheap early refusal; core 0 decides for real.
        if self.accounts.by_username.contains_key(&parsed.username) {
            let error = auth::username_taken();
            return HttpAnswer::Respond(super::messages::error_response(&headers, &error));
        }
        if let Err(wait_ms) = self.accounts.hash_budget.try_take(now_ms) {
            return HttpAnswer::Respond(too_many_hashes(&headers, wait_ms));
        }
        let password_hash = match hash_password(&parsed.password) {
            Ok(hash) => hash,
            Err(error) => {
                eprintln!("flux: core {}: register: {error}", self.core);
                let error = RestError::StoreFailed;
                return HttpAnswer::Respond(super::messages::error_response(&headers, &error));
            }
        };
        let call = RegisterCall {
            reply_core: self.core,
            conn,
            username: parsed.username,
            global_name: parsed.global_name,
            password_hash,
            headers,
        };
        if self.core == REGISTRY_CORE {
            self.handle_register(out, call)
                .map_or(HttpAnswer::Later, HttpAnswer::Respond)
        } else {
            out.send_mesh(REGISTRY_CORE, FluxMesh::AccountRegister(Box::new(call)));
            HttpAnswer::Later
        }
    }

    /// Core 0: reserve the name, choose the id, send the account to its home core.
    /// `Some`: the answer for a call that started here and ends now.
    pub(super) fn handle_register(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: RegisterCall,
    ) -> Option<Response> {
        debug_assert_eq!(self.core, REGISTRY_CORE);
        let now_unix_ms = super::http_routes::unix_ms();
        let refuse = |this: &mut FluxApp, out: &mut Outbox<FluxMesh>, error: RestError| {
            let response = super::messages::error_response(&call.headers, &error);
            if call.reply_core == this.core {
                Some(response)
            } else {
                this.send_answer(out, call.reply_core, call.conn, response);
                None
            }
        };
        if self.accounts.by_username.contains_key(&call.username) {
            return refuse(self, out, auth::username_taken());
        }
        let id = match self.messages.next_id(now_unix_ms) {
            Ok(id) => id,
            Err(error) => return refuse(self, out, error),
        };
        self.accounts.by_username.insert(call.username.clone(), id);
        let account = Account {
            user: User {
                id: UserId(id),
                username: call.username,
                global_name: call.global_name,
                bot: false,
                public_flags: 0,
                mfa_enabled: false,
            },
            token_generation: 0,
            token_issued_at_s: unix_s(now_unix_ms),
            privileged_intents_allowed: false,
            password_hash: Some(call.password_hash),
        };
        let write = AccountWrite {
            reply_core: call.reply_core,
            conn: call.conn,
            change: AccountChange::Create(Box::new(account)),
            headers: call.headers,
        };
        match self.send_account_write(out, write) {
            HttpAnswer::Respond(response) => Some(response),
            _ => None,
        }
    }

    /// Core 0: reserve a profile edit's new username, then send the edit to the home
    /// core. `Some`: a refusal for a call that started here.
    pub(super) fn handle_rename(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        write: AccountWrite,
    ) -> Option<Response> {
        debug_assert_eq!(self.core, REGISTRY_CORE);
        if let AccountChange::Profile(user, edit) = &write.change {
            if let Some(name) = &edit.username {
                match self.accounts.by_username.get(name) {
                    Some(owner) if *owner != user.0 => {
                        let error = auth::username_taken();
                        return self.refuse_write(
                            out,
                            write.reply_core,
                            write.conn,
                            &write.headers,
                            error,
                        );
                    }
                    _ => {
                        self.accounts.by_username.insert(name.clone(), user.0);
                    }
                }
            }
        }
        match self.send_account_write(out, write) {
            HttpAnswer::Respond(response) => Some(response),
            _ => None,
        }
    }

    /// Sends `write` to its account's home core, or runs it here.
    fn send_account_write(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        write: AccountWrite,
    ) -> HttpAnswer {
        let user = match &write.change {
            AccountChange::Create(account) => account.user.id,
            AccountChange::Revoke(user) | AccountChange::Profile(user, _) => *user,
        };
        let home = home_core(user, self.cores);
        if home != self.core {
            out.send_mesh(home, FluxMesh::AccountWrite(Box::new(write)));
            return HttpAnswer::Later;
        }
        // `Some` only for a refusal whose reply core is this one.
        self.handle_account_write(out, write)
            .map_or(HttpAnswer::Later, HttpAnswer::Respond)
    }

    /// Home core: apply the change to the account and append it to the store; the answer
    /// follows durability and every core's acknowledgement. `Some`: an immediate refusal
    /// for a call whose reply core is this one (others are sent over the mesh here).
    pub(super) fn handle_account_write(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        write: AccountWrite,
    ) -> Option<Response> {
        let now_unix_ms = super::http_routes::unix_ms();
        let mut profile_changed = false;
        let (account, response) = match write.change {
            AccountChange::Profile(user, edit) => {
                let Some(current) = self.accounts.accounts.get(&user.0) else {
                    let error = RestError::Unauthorized;
                    return self.refuse_write(
                        out,
                        write.reply_core,
                        write.conn,
                        &write.headers,
                        error,
                    );
                };
                let mut account = current.clone();
                if let Some(username) = edit.username {
                    account.user.username = username;
                }
                if let Some(global_name) = edit.global_name {
                    account.user.global_name = global_name;
                }
                let body = crate::world::ready_user_json(&account.user);
                let response = super::messages::json_response(&write.headers, 200, encode(&body));
                if account == *current {
                    // Nothing to store or announce.
                    return self.refuse_or_answer(out, write.reply_core, write.conn, response);
                }
                profile_changed = true;
                (account, response)
            }
            AccountChange::Create(account) => {
                let account = *account;
                let token = crate::world::account_token(self.directory.secret(), &account);
                let body = serde_json::json!({ "token": token, "user": user_json(&account.user) });
                let response = super::messages::json_response(&write.headers, 201, encode(&body));
                (account, response)
            }
            AccountChange::Revoke(user) => {
                let Some(current) = self.accounts.accounts.get(&user.0) else {
                    let error = RestError::Unauthorized;
                    return self.refuse_write(
                        out,
                        write.reply_core,
                        write.conn,
                        &write.headers,
                        error,
                    );
                };
                let mut account = current.clone();
                account.token_generation = account.token_generation.saturating_add(1);
                account.token_issued_at_s = unix_s(now_unix_ms);
                let response = super::messages::json_response(&write.headers, 204, Vec::new());
                (account, response)
            }
        };
        // The home core's copy changes now, so a second logout in the same group commit
        // builds on this one.
        self.accounts.insert(account.clone());
        let application = self
            .directory
            .entry(account.user.id)
            .and_then(|entry| entry.application.clone());
        let sync = AccountSync {
            account,
            application,
            profile_changed,
        };
        match self
            .messages
            .append_account(sync, write.reply_core, write.conn, response)
        {
            Ok(()) => {
                out.wake_at(out.now() + super::messages::STORE_POLL_FALLBACK);
                None
            }
            Err(error) => {
                self.refuse_write(out, write.reply_core, write.conn, &write.headers, error)
            }
        }
    }

    /// An answer decided now: returned for a call that started here, sent otherwise.
    fn refuse_or_answer(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) -> Option<Response> {
        if reply_core == self.core {
            return Some(response);
        }
        self.send_answer(out, reply_core, conn, response);
        None
    }

    fn refuse_write(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        reply_core: usize,
        conn: ConnId,
        headers: &[(String, String)],
        error: RestError,
    ) -> Option<Response> {
        let response = super::messages::error_response(headers, &error);
        if reply_core == self.core {
            return Some(response);
        }
        self.send_answer(out, reply_core, conn, response);
        None
    }

    /// Home core, once the account is durable: every core takes it, then the answer goes.
    pub(super) fn broadcast_account(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        sync: Arc<AccountSync>,
        reply_core: usize,
        conn: ConnId,
        response: Response,
    ) {
        let number = self.accounts.next_ack;
        self.accounts.next_ack += 1;
        self.accounts.awaiting.insert(
            number,
            Awaiting {
                remaining: self.cores,
                reply_core,
                conn,
                response,
            },
        );
        for core in 0..self.cores {
            out.send_mesh(
                core,
                FluxMesh::AccountUpdate {
                    sync: Arc::clone(&sync),
                    ack_core: self.core,
                    ack: number,
                },
            );
        }
    }

    /// Every core: take the account, acknowledge.
    pub(super) fn apply_account_update(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        sync: &AccountSync,
        ack_core: usize,
        ack: u64,
    ) {
        self.directory
            .upsert(&sync.account, sync.application.clone());
        self.accounts.insert(sync.account.clone());
        if sync.profile_changed {
            self.announce_user_update(out, &sync.account.user);
        }
        out.send_mesh(ack_core, FluxMesh::AccountUpdated { ack });
    }

    /// USER_UPDATE to this core's sessions of `user` (their own profile changed).
    fn announce_user_update(&mut self, out: &mut Outbox<FluxMesh>, user: &User) {
        let d = encode(&crate::world::ready_user_json(user));
        let event = crate::gateway::Dispatch::new(
            "USER_UPDATE",
            d,
            crate::gateway::DispatchScope::User,
            crate::gateway::Intents::empty(),
        );
        for conn in self.live_conns_where(|id| id == user.id.0) {
            self.drive(out, conn, crate::gateway::Input::Dispatch(&event));
        }
        for parked in self.detached.values_mut() {
            if parked.state.user_id() == user.id.0 {
                parked.state.handle_dispatch(&event);
            }
        }
    }

    /// Home core: one more core has the account; answer when all have.
    pub(super) fn account_update_acked(&mut self, out: &mut Outbox<FluxMesh>, ack: u64) {
        let Some(awaiting) = self.accounts.awaiting.get_mut(&ack) else {
            debug_assert!(false, "an ack for an unknown account update");
            return;
        };
        awaiting.remaining -= 1;
        if awaiting.remaining > 0 {
            return;
        }
        let done = self.accounts.awaiting.remove(&ack).expect("present above");
        self.send_answer(out, done.reply_core, done.conn, done.response);
    }

    /// Receiving core: check the password against this core's copy of the account.
    fn login(&mut self, body: &[u8], now_unix_ms: u64, now_ms: u64) -> Result<Vec<u8>, Refusal> {
        let login = auth::parse_login(body)?;
        let account = self
            .accounts
            .by_username
            .get(&login.login)
            .and_then(|id| self.accounts.accounts.get(id))
            .ok_or_else(auth::invalid_login)?;
        let hash = account
            .password_hash
            .as_deref()
            .ok_or_else(auth::invalid_login)?;
        // Longer than any accepted password: no need to spend a hash on it.
        if login.password.chars().count() > auth::PASSWORD_CHARS_MAX {
            return Err(auth::invalid_login().into());
        }
        self.accounts
            .hash_budget
            .try_take(now_ms)
            .map_err(|wait_ms| Refusal::Busy { wait_ms })?;
        match verify_password(&login.password, hash) {
            Ok(true) => {}
            Ok(false) => return Err(auth::invalid_login().into()),
            Err(error) => {
                eprintln!(
                    "flux: core {}: user {}: {error}",
                    self.core, account.user.id
                );
                return Err(auth::invalid_login().into());
            }
        }
        let token = self
            .directory
            .mint_current_token(account.user.id, unix_s(now_unix_ms))
            .ok_or_else(auth::invalid_login)?;
        let body = serde_json::json!({
            "token": token,
            "user_id": account.user.id.to_string(),
            "user_settings": { "locale": "en-US", "theme": "dark" },
        });
        Ok(encode(&body))
    }
}

/// Why a login was refused.
enum Refusal {
    /// A Discord error (bad body, invalid login).
    Rest(RestError),
    /// This core's password-hash budget is spent for `wait_ms` more.
    Busy { wait_ms: u64 },
}

impl From<RestError> for Refusal {
    fn from(error: RestError) -> Refusal {
        Refusal::Rest(error)
    }
}

/// 429 for a spent hash budget, with what discord.py and friends read from any 429: the
/// JSON `retry_after` and `global`, `Retry-After`, and a `Via` header.
fn too_many_hashes(headers: &[(String, String)], wait_ms: u64) -> Response {
    let mut headers = headers.to_vec();
    headers.push(("Retry-After".into(), wait_ms.div_ceil(1000).to_string()));
    headers.push(("Via".into(), "1.1 flux".into()));
    let body = serde_json::json!({
        "message": crate::rest::ratelimit::RATE_LIMITED_MESSAGE,
        "retry_after": wait_ms as f64 / 1000.0,
        "global": false,
    });
    let body = encode(&body);
    super::messages::json_response(&headers, 429, body)
}

fn unix_s(unix_ms: u64) -> u32 {
    u32::try_from(unix_ms / 1000).unwrap_or(u32::MAX)
}
