//! Human accounts: `POST /auth/register`, `POST /auth/login`, `POST /auth/logout` and
//! `PATCH /users/@me`, on the cores.
//!
//! Who decides what:
//! - **The receiving core** parses the body (`rest::auth`) and hashes the password
//!   (`world::password`, argon2id, ~tens of ms inline: registration is rare), or, for a
//!   login, verifies it against its own copy of the accounts (`logins.rs`). Every core
//!   holds every account (`AccountState::accounts`), kept current by `AccountUpdate`, so
//!   a login needs no other core's accounts (only the name's home core's count of
//!   failures, `logins.rs`). A registration that is hashed counts against its source
//!   address like a failed login.
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
//!                                                          ◄── Synced ─────────────────┘
//!   ◄──────────────────────── Answer (201 {token, user}) ─┘ once every core acked
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
//! Commit protocol (`writes.rs`): H computes a change from the account as its writes in
//! flight leave it (`AccountState::working`), so a second logout in the same group commit
//! builds on the first; every core's copy, H's included (`accounts`, which logins read),
//! changes only once the write is durable, and a failed write leaves no trace on H.
//!
//! A name core 0 reserved for a registration or rename whose write then fails is
//! released again (`Call::ReleaseName`), so a failed write leaves no trace there either.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::answers::{error_response, json_response, unix_ms};
use super::commit::{Answer, STORE_POLL_FALLBACK};
use super::login_throttle::{AttemptLog, NAME_FAILURES_MAX};
use super::mesh::{Call, Caller};
use super::writes::Change;
use super::{FluxApp, FluxMesh};
use crate::http::HeaderName;
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};
use crate::rest::auth::{self, AuthRoute};
use crate::world::password::{hash_password, HashBudget};
use crate::world::Refusal;
use crate::world::{encode, home_core, user_json, Account, Application, User, UserId, World};

/// The core that holds the username registry.
pub(super) const REGISTRY_CORE: usize = 0;

/// Every account as one core knows it, and (on core 0) the username registry.
#[derive(Debug)]
pub(super) struct AccountState {
    /// Every account as last made durable.
    accounts: HashMap<u64, Account>,
    by_username: HashMap<String, u64>,
    /// On a home core: accounts with writes in flight, as the last of them leaves each,
    /// and how many there are.
    working: HashMap<u64, (Account, usize)>,
    /// Password hashes this core still allows itself this second.
    pub(super) hash_budget: HashBudget,
    /// Login attempts of the names whose home this core is (`logins.rs`).
    pub(super) name_attempts: AttemptLog<String>,
    /// Failed logins and registrations by source address on this core (`logins.rs`).
    pub(super) address_attempts: AttemptLog<IpAddr>,
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
    /// Whether its tokens were revoked (a logout): every core ends the sessions of the
    /// old tokens.
    pub tokens_revoked: bool,
}

/// A registration on its way to core 0: everything but the id is decided.
#[derive(Debug)]
pub struct RegisterCall {
    pub(super) caller: Caller,
    username: String,
    global_name: Option<String>,
    password_hash: String,
}

/// A change for an account's home core.
#[derive(Debug)]
pub struct AccountWrite {
    pub(super) caller: Caller,
    change: AccountChange,
}

impl AccountWrite {
    /// The account it changes (its home core stores it).
    fn account_id(&self) -> UserId {
        match &self.change {
            AccountChange::Create(account) => account.user.id,
            AccountChange::Revoke(user) | AccountChange::Profile(user, _) => *user,
        }
    }
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
    pub(super) fn from_world(world: &World, address_attempts_max: usize) -> AccountState {
        let mut state = AccountState {
            accounts: HashMap::new(),
            by_username: HashMap::new(),
            working: HashMap::new(),
            hash_budget: HashBudget::default(),
            name_attempts: AttemptLog::new(NAME_FAILURES_MAX),
            address_attempts: AttemptLog::new(address_attempts_max),
        };
        for account in &world.accounts {
            state.insert(account.clone());
        }
        state
    }

    /// The durable account named `username` (lowercase), if any.
    pub(super) fn by_name(&self, username: &str) -> Option<&Account> {
        let id = self.by_username.get(username)?;
        self.accounts.get(id)
    }

    /// The greatest user id known (core 0 resumes its generator after it).
    pub(super) fn max_user_id(&self) -> Option<u64> {
        self.accounts.keys().copied().max()
    }

    /// Account `user_id` as the next change builds on it.
    fn current(&self, user_id: u64) -> Option<&Account> {
        self.working
            .get(&user_id)
            .map(|(account, _)| account)
            .or_else(|| self.accounts.get(&user_id))
    }

    /// A write of account `user_id` settled, durable or failed.
    fn settled(&mut self, user_id: u64) {
        let entry = self.working.get_mut(&user_id);
        let entry = entry.expect("a settled account write was in flight");
        entry.1 -= 1;
        if entry.1 == 0 {
            self.working.remove(&user_id);
        }
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
    /// An account route: register and login on this core (no token), logout and profile
    /// edits (`user`, authenticated) on to core 0 and the account's home core.
    pub(super) fn receive_account_request(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
        route: AuthRoute,
        user: Option<UserId>,
        headers: Vec<(HeaderName, String)>,
    ) -> HttpAnswer {
        let now_ms = self.now(out).0 / 1000;
        let route_class = crate::rest::ratelimit::classify(
            crate::rest::Method::parse(&request.method),
            request.path(),
        );
        let respond = |error: Refusal| error_response(&headers, &error);
        match route {
            AuthRoute::Register => self.register(out, conn, request, headers, now_ms),
            AuthRoute::Login => self.receive_login(out, conn, request, headers),
            AuthRoute::Profile => {
                let Some(user) = user else {
                    return HttpAnswer::Respond(respond(Refusal::Unauthorized));
                };
                let edit = match auth::parse_profile(&request.body) {
                    Ok(edit) => edit,
                    Err(error) => return HttpAnswer::Respond(respond(error)),
                };
                let renames = edit.username.as_ref().is_some_and(|name| {
                    self.accounts
                        .by_username
                        .get(name)
                        .is_none_or(|owner| *owner != user.0)
                });
                let write = AccountWrite {
                    caller: Caller {
                        user_id: user.0,
                        reply_core: self.core,
                        conn,
                        headers,
                    },
                    change: AccountChange::Profile(user, edit),
                };
                // Counted on the caller's home core like every authenticated route
                // (PATCH /users/@me: 2 per 10 s, as on Discord), then on to core 0 for a
                // new name or straight to the account's home core.
                let call = if renames {
                    Call::Rename(write)
                } else {
                    Call::Account(write)
                };
                self.meter(out, call, route_class)
            }
            AuthRoute::Logout => match user {
                Some(user) => {
                    let write = AccountWrite {
                        caller: Caller {
                            user_id: user.0,
                            reply_core: self.core,
                            conn,
                            headers,
                        },
                        change: AccountChange::Revoke(user),
                    };
                    self.meter(out, Call::Account(write), route_class)
                }
                None => HttpAnswer::Respond(respond(Refusal::Unauthorized)),
            },
        }
    }

    /// Receiving core: parse, hash, and hand the registration to core 0.
    fn register(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
        headers: Vec<(HeaderName, String)>,
        now_ms: u64,
    ) -> HttpAnswer {
        let parsed = match auth::parse_register(&request.body) {
            Ok(parsed) => parsed,
            Err(error) => return HttpAnswer::Respond(error_response(&headers, &error)),
        };
        // Cheap early refusal; core 0 decides for real.
        if self.accounts.by_username.contains_key(&parsed.username) {
            let error = auth::username_taken();
            return HttpAnswer::Respond(error_response(&headers, &error));
        }
        // Every registration that is hashed counts against its address (`logins.rs`).
        let address = request.peer_ip;
        if let Err(wait_ms) = self.accounts.address_attempts.begin(&address, now_ms) {
            return HttpAnswer::Respond(too_many_hashes(&headers, wait_ms));
        }
        if let Err(wait_ms) = self.accounts.hash_budget.try_take(now_ms) {
            self.accounts.address_attempts.forgive(&address);
            return HttpAnswer::Respond(too_many_hashes(&headers, wait_ms));
        }
        let password_hash = match hash_password(&parsed.password) {
            Ok(hash) => hash,
            Err(error) => {
                eprintln!("flux: core {}: register: {error}", self.core);
                let error = Refusal::StoreFailed;
                return HttpAnswer::Respond(error_response(&headers, &error));
            }
        };
        let call = RegisterCall {
            caller: Caller {
                user_id: 0,
                reply_core: self.core,
                conn,
                headers,
            },
            username: parsed.username,
            global_name: parsed.global_name,
            password_hash,
        };
        if self.core == REGISTRY_CORE {
            self.handle_register(out, call, true)
        } else {
            out.send_mesh(
                REGISTRY_CORE,
                FluxMesh::Call(Box::new(Call::Register(call))),
            );
            HttpAnswer::Later
        }
    }

    /// Core 0: reserve the name, choose the id, send the account to its home core.
    pub(super) fn handle_register(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        call: RegisterCall,
        in_http: bool,
    ) -> HttpAnswer {
        debug_assert_eq!(self.core, REGISTRY_CORE);
        let reply = (call.caller.reply_core, call.caller.conn);
        if self.accounts.by_username.contains_key(&call.username) {
            let response = error_response(&call.caller.headers, &auth::username_taken());
            return self.answer(out, reply, response, in_http);
        }
        let now_unix_ms = unix_ms();
        let id = match self.commits.next_id(now_unix_ms) {
            Ok(id) => id,
            Err(error) => {
                let response = error_response(&call.caller.headers, &error);
                return self.answer(out, reply, response, in_http);
            }
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
            caller: call.caller,
            change: AccountChange::Create(Box::new(account)),
        };
        self.send_account_write(out, write, in_http)
    }

    /// Core 0: reserve a profile edit's new username, then send the edit to the home
    /// core.
    pub(super) fn handle_rename(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        write: AccountWrite,
        in_http: bool,
    ) -> HttpAnswer {
        debug_assert_eq!(self.core, REGISTRY_CORE);
        if let AccountChange::Profile(user, edit) = &write.change {
            if let Some(name) = &edit.username {
                match self.accounts.by_username.get(name) {
                    Some(owner) if *owner != user.0 => {
                        let response =
                            error_response(&write.caller.headers, &auth::username_taken());
                        let reply = (write.caller.reply_core, write.caller.conn);
                        return self.answer(out, reply, response, in_http);
                    }
                    _ => {
                        self.accounts.by_username.insert(name.clone(), user.0);
                    }
                }
            }
        }
        self.send_account_write(out, write, in_http)
    }

    /// Sends `write` to its account's home core, or runs it here.
    pub(super) fn send_account_write(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        write: AccountWrite,
        in_http: bool,
    ) -> HttpAnswer {
        let home = home_core(write.account_id(), self.cores);
        if home != self.core {
            out.send_mesh(home, FluxMesh::Call(Box::new(Call::Account(write))));
            return HttpAnswer::Later;
        }
        let reply = (write.caller.reply_core, write.caller.conn);
        match self.handle_account_write(out, write) {
            Some(response) => self.answer(out, reply, response, in_http),
            None => HttpAnswer::Later,
        }
    }

    /// Home core: the change, built on the account as its writes in flight leave it,
    /// appended to the store; the answer follows durability and every core's
    /// acknowledgement (`None`). `Some`: an answer decided now.
    fn handle_account_write(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        write: AccountWrite,
    ) -> Option<Response> {
        let (account, response, profile_changed) =
            match self.account_change(write.change, &write.caller.headers) {
                Ok(AccountDecision::Change(account, response, profile_changed)) => {
                    (account, response, profile_changed)
                }
                Ok(AccountDecision::Answer(response)) => return Some(response),
                Err(error) => return Some(error_response(&write.caller.headers, &error)),
            };
        let application = self
            .directory
            .entry(account.user.id)
            .and_then(|entry| entry.application.clone());
        let tokens_revoked = self
            .accounts
            .current(account.user.id.0)
            .is_some_and(|before| before.token_generation != account.token_generation);
        let sync = Arc::new(AccountSync {
            account,
            application,
            profile_changed,
            tokens_revoked,
        });
        let answer = Answer {
            reply_core: write.caller.reply_core,
            conn: write.caller.conn,
            response,
        };
        let appended = self.commits.batch().and_then(|mut batch| {
            crate::world::persist::put_account(&mut batch, &sync.account);
            if let Some(application) = &sync.application {
                crate::world::persist::put_application(&mut batch, application);
            }
            self.commits
                .append(&mut batch, Change::Account(Arc::clone(&sync)), answer)
                .map_err(|refused| refused.0)
        });
        match appended {
            Ok(_) => {
                let id = sync.account.user.id.0;
                let in_flight = self.accounts.working.get(&id).map_or(0, |(_, n)| *n);
                self.accounts
                    .working
                    .insert(id, (sync.account.clone(), in_flight + 1));
                out.wake_at(out.now() + STORE_POLL_FALLBACK);
                None
            }
            Err(error) => {
                self.release_reserved_name(out, &sync.account);
                Some(error_response(&write.caller.headers, &error))
            }
        }
    }

    /// Home core: an account write failed (`writes.rs`). Nothing builds on it (every later
    /// write of it fails in the same poll, `commit.rs`), and a username core 0 reserved
    /// for it is released.
    pub(super) fn account_failed(&mut self, out: &mut Outbox<FluxMesh>, sync: &AccountSync) {
        self.accounts.settled(sync.account.user.id.0);
        self.release_reserved_name(out, &sync.account);
    }

    /// `account`'s write will never be durable: if its username is not the one the
    /// account has durably, core 0 reserved it for this write (a registration or a
    /// rename) and frees it again.
    fn release_reserved_name(&mut self, out: &mut Outbox<FluxMesh>, account: &Account) {
        let user_id = account.user.id.0;
        let username = &account.user.username;
        let durable = self.accounts.accounts.get(&user_id);
        if durable.is_some_and(|durable| durable.user.username == *username) {
            return;
        }
        let call = Call::ReleaseName {
            username: username.clone(),
            user_id,
        };
        if self.core == REGISTRY_CORE {
            self.run_call(out, call, false);
        } else {
            out.send_mesh(REGISTRY_CORE, FluxMesh::Call(Box::new(call)));
        }
    }

    /// Core 0: frees `username` if it is still reserved for `user_id` and no durable
    /// account of that user has it.
    pub(super) fn release_name(&mut self, username: &str, user_id: u64) {
        debug_assert_eq!(self.core, REGISTRY_CORE);
        let reserved = self.accounts.by_username.get(username) == Some(&user_id);
        let durable = self
            .accounts
            .accounts
            .get(&user_id)
            .is_some_and(|account| account.user.username == username);
        if reserved && !durable {
            self.accounts.by_username.remove(username);
        }
    }

    /// The account after `change` and the answer to send once it is durable, or an
    /// answer now (nothing changes).
    fn account_change(
        &self,
        change: AccountChange,
        headers: &[(HeaderName, String)],
    ) -> Result<AccountDecision, Refusal> {
        let user_json_body = |user: &User| encode(&crate::world::ready_user_json(user));
        match change {
            AccountChange::Profile(user, edit) => {
                let current = self.accounts.current(user.0).ok_or(Refusal::Unauthorized)?;
                let mut account = current.clone();
                if let Some(username) = edit.username {
                    account.user.username = username;
                }
                if let Some(global_name) = edit.global_name {
                    account.user.global_name = global_name;
                }
                let response = json_response(headers, 200, user_json_body(&account.user));
                if account == *current {
                    return Ok(AccountDecision::Answer(response));
                }
                Ok(AccountDecision::Change(account, response, true))
            }
            AccountChange::Create(account) => {
                let token = crate::world::account_token(self.directory.secret(), &account);
                let body = serde_json::json!({ "token": token, "user": user_json(&account.user) });
                let response = json_response(headers, 201, encode(&body));
                Ok(AccountDecision::Change(*account, response, false))
            }
            AccountChange::Revoke(user) => {
                let current = self.accounts.current(user.0).ok_or(Refusal::Unauthorized)?;
                let mut account = current.clone();
                account.token_generation = account.token_generation.saturating_add(1);
                account.token_issued_at_s = unix_s(unix_ms());
                let response = json_response(headers, 204, Vec::new());
                Ok(AccountDecision::Change(account, response, false))
            }
        }
    }

    /// Home core, once the account is durable: it is the home core's copy at once (the
    /// next change builds on it), then every core takes it and the answers go.
    pub(super) fn account_durable(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        sync: Arc<AccountSync>,
        answers: Vec<Answer>,
    ) {
        self.accounts.insert(sync.account.clone());
        self.accounts.settled(sync.account.user.id.0);
        let ack = self.held.hold(self.cores, answers);
        for core in 0..self.cores {
            out.send_mesh(
                core,
                FluxMesh::AccountUpdate {
                    sync: Arc::clone(&sync),
                    ack_core: self.core,
                    ack,
                },
            );
        }
    }

    /// Every core: take the account (the caller acknowledges).
    pub(super) fn apply_account_update(&mut self, out: &mut Outbox<FluxMesh>, sync: &AccountSync) {
        self.directory
            .upsert(&sync.account, sync.application.clone());
        self.accounts.insert(sync.account.clone());
        if sync.tokens_revoked {
            self.end_revoked_sessions(out, sync.account.user.id.0);
        }
        if sync.profile_changed {
            self.announce_user_update(out, &sync.account.user);
        }
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
        self.deliver(out, None, &event, |id| id == user.id.0);
    }
}

/// What an account call decided on the home core.
enum AccountDecision {
    /// Store this account, then send this answer.
    Change(Account, Response, bool),
    /// Nothing to store: this answer now.
    Answer(Response),
}

/// 429 for a spent hash budget, with what discord.py and friends read from any 429: the
/// JSON `retry_after` and `global`, `Retry-After`, and a `Via` header.
pub(super) fn too_many_hashes(headers: &[(HeaderName, String)], wait_ms: u64) -> Response {
    let mut headers = headers.to_vec();
    headers.push(("Retry-After".into(), wait_ms.div_ceil(1000).to_string()));
    headers.push(("Via".into(), "1.1 flux".into()));
    let body = serde_json::json!({
        "message": crate::rest::ratelimit::RATE_LIMITED_MESSAGE,
        "retry_after": wait_ms as f64 / 1000.0,
        "global": false,
    });
    let body = serde_json::to_vec(&body).expect("a JSON value serialises");
    json_response(&headers, 429, body)
}

pub(super) fn unix_s(unix_ms: u64) -> u32 {
    u32::try_from(unix_ms / 1000).unwrap_or(u32::MAX)
}
