//! Who may connect: the read-mostly table of users and token generations every core holds.
//!
//! Every core authenticates REST requests and IDENTIFYs itself, so each holds a
//! `Directory`, typically behind an `Arc` that is swapped when an update arrives over the
//! mesh (never a lock on the hot path). `authenticate` verifies the token's signature
//! first (no lookup), then compares its generation with the account's current one: that
//! comparison is the whole revocation mechanism.
//!
//! It also records, per user, the guilds they belong to, so the core that accepted a
//! session can list them in READY without asking the owning cores.
//!
//! Invariants:
//! - An entry's `token_generation` only grows (revocation is one-way).
//! - A directory is built from a validated `World`.

use super::ids::{GuildId, UserId};
use super::model::{Account, Application, User, UserLookup, World};
use super::token::{decode_token, strip_bot_prefix, TokenError, TokenSecret};
use std::collections::HashMap;

/// One account as the cores see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The Discord-visible user.
    pub user: User,
    /// The only token generation that authenticates.
    pub token_generation: u32,
    /// Whether IDENTIFY may ask for privileged intents (else close 4014).
    pub privileged_intents_allowed: bool,
    /// The bot's application, for READY and `GET /oauth2/applications/@me`.
    pub application: Option<Application>,
    /// The guilds the user is a member of, for READY's `guilds`.
    pub guild_ids: Vec<GuildId>,
}

/// The users and token state every core holds a copy of.
///
/// ```
/// use engine::world::{demo_world, Directory};
/// let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
/// let directory = Directory::from_world(&demo.world, demo.secret.clone());
/// let token = &demo.bots[0].token;
/// let entry = directory.authenticate(&format!("Bot {token}")).unwrap();
/// assert_eq!(entry.user.id, demo.bots[0].user_id);
/// ```
#[derive(Debug, Clone)]
pub struct Directory {
    secret: TokenSecret,
    entries: HashMap<UserId, DirectoryEntry>,
}

impl Directory {
    /// Builds the directory of `world`, whose tokens are signed with `secret`.
    pub fn from_world(world: &World, secret: TokenSecret) -> Directory {
        let mut entries: HashMap<UserId, DirectoryEntry> = world
            .accounts
            .iter()
            .map(|account| {
                let entry = DirectoryEntry {
                    user: account.user.clone(),
                    token_generation: account.token_generation,
                    privileged_intents_allowed: account.privileged_intents_allowed,
                    application: world.application_of(account.user.id).cloned(),
                    guild_ids: Vec::new(),
                };
                (account.user.id, entry)
            })
            .collect();
        for guild in &world.guilds {
            for member in &guild.members {
                if let Some(entry) = entries.get_mut(&member.user_id) {
                    entry.guild_ids.push(guild.id);
                }
            }
        }
        Directory { secret, entries }
    }

    /// The entry a token authenticates. Accepts a bare token or `Bot <token>`.
    pub fn authenticate(&self, token: &str) -> Result<&DirectoryEntry, TokenError> {
        let claims = decode_token(&self.secret, strip_bot_prefix(token))?;
        let entry = self
            .entries
            .get(&claims.user_id)
            .ok_or(TokenError::Revoked)?;
        if entry.token_generation != claims.generation {
            return Err(TokenError::Revoked);
        }
        Ok(entry)
    }

    /// A fresh token for user `id` at its current generation, dated `issued_at_s`
    /// (`POST /auth/login`); `None` for an unknown user. Any token of the current
    /// generation authenticates, so minting one revokes nothing.
    pub fn mint_current_token(&self, id: UserId, issued_at_s: u32) -> Option<String> {
        let entry = self.entries.get(&id)?;
        let claims = super::token::TokenClaims {
            user_id: id,
            generation: entry.token_generation,
            issued_at_s,
        };
        Some(super::token::mint_token(&self.secret, claims))
    }

    /// The secret this directory's tokens are signed with.
    pub fn secret(&self) -> &TokenSecret {
        &self.secret
    }

    /// The entry of user `id`.
    pub fn entry(&self, id: UserId) -> Option<&DirectoryEntry> {
        self.entries.get(&id)
    }

    /// Applies a revocation decided elsewhere (replicated over the mesh): tokens older than
    /// `generation` stop working. A stale update (lower generation) is ignored.
    pub fn set_token_generation(&mut self, id: UserId, generation: u32) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.token_generation = entry.token_generation.max(generation);
        }
    }

    /// Adds or replaces `account` (a registration, a profile change or a revocation
    /// replicated over the mesh). The token generation never goes back, and the user's
    /// guild list is kept: guild membership is the guild owners' business.
    pub fn upsert(&mut self, account: &Account, application: Option<Application>) {
        let entry = self
            .entries
            .entry(account.user.id)
            .or_insert_with(|| DirectoryEntry {
                user: account.user.clone(),
                token_generation: account.token_generation,
                privileged_intents_allowed: account.privileged_intents_allowed,
                application: None,
                guild_ids: Vec::new(),
            });
        entry.user = account.user.clone();
        entry.token_generation = entry.token_generation.max(account.token_generation);
        entry.privileged_intents_allowed = account.privileged_intents_allowed;
        if application.is_some() {
            entry.application = application;
        }
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &DirectoryEntry> {
        self.entries.values()
    }

    /// How many users the directory knows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the directory knows no user.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl UserLookup for Directory {
    fn user(&self, id: UserId) -> Option<&User> {
        self.entries.get(&id).map(|entry| &entry.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::demo::demo_world;
    use crate::world::token::{mint_token, TokenClaims};

    #[test]
    fn demo_tokens_authenticate_bare_and_prefixed() {
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let directory = Directory::from_world(&demo.world, demo.secret.clone());
        assert_eq!(directory.len(), 2);
        for bot in &demo.bots {
            for token in [bot.token.clone(), format!("Bot {}", bot.token)] {
                let entry = directory.authenticate(&token).unwrap();
                assert_eq!(entry.user.id, bot.user_id);
                assert!(entry.privileged_intents_allowed);
                assert_eq!(entry.guild_ids, vec![demo.guild_id]);
                assert!(entry.application.is_some());
            }
        }
    }

    #[test]
    fn revoking_bumps_the_generation_and_old_tokens_fail() {
        let mut demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let bot = demo.bots[0].user_id;
        let old_token = demo.bots[0].token.clone();
        let generation = demo.world.revoke_tokens(bot, 1_700_000_100).unwrap();
        let directory = Directory::from_world(&demo.world, demo.secret.clone());
        assert_eq!(directory.authenticate(&old_token), Err(TokenError::Revoked));
        let claims = TokenClaims {
            user_id: bot,
            generation,
            issued_at_s: 1_700_000_100,
        };
        let new_token = mint_token(&demo.secret, claims);
        assert_eq!(directory.authenticate(&new_token).unwrap().user.id, bot);
        // The other bot is untouched.
        assert!(directory.authenticate(&demo.bots[1].token).is_ok());
    }

    #[test]
    fn replicated_revocation_never_goes_backwards() {
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let mut directory = Directory::from_world(&demo.world, demo.secret.clone());
        let bot = demo.bots[0].user_id;
        directory.set_token_generation(bot, 5);
        directory.set_token_generation(bot, 2);
        assert_eq!(directory.entry(bot).unwrap().token_generation, 5);
        assert_eq!(
            directory.authenticate(&demo.bots[0].token),
            Err(TokenError::Revoked)
        );
    }

    #[test]
    fn unknown_user_and_foreign_tokens_fail() {
        let demo = demo_world(1_700_000_000_000, [3; 32]).unwrap();
        let directory = Directory::from_world(&demo.world, demo.secret.clone());
        let stranger = TokenClaims {
            user_id: UserId(1),
            generation: 0,
            issued_at_s: 0,
        };
        let token = mint_token(&demo.secret, stranger);
        assert_eq!(directory.authenticate(&token), Err(TokenError::Revoked));
        let foreign = mint_token(&TokenSecret([4; 32]), stranger);
        assert_eq!(
            directory.authenticate(&foreign),
            Err(TokenError::BadSignature)
        );
        assert_eq!(directory.authenticate(""), Err(TokenError::Malformed));
        assert_eq!(directory.authenticate("Bot "), Err(TokenError::Malformed));
    }
}
