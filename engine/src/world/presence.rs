//! Presence: what each gateway session says about its user (op 3, Identify's `presence`),
//! the one status other users see, and its JSON.
//!
//! A user may have many sessions (a bot's shards, a person's devices) on many cores. What
//! other members see is one aggregate: the most present status of any session wins
//! (online > dnd > idle > offline), `invisible` counts as offline, and the activities are
//! those of the winning session (the most recently updated one on a tie). When the user's
//! last session is gone the user is offline.
//!
//! Where it runs: a [`PresenceBook`] lives on each user's *home core*
//! `(user_id >> 22) % cores`, the only place that sees all of that user's sessions; it
//! decides when the aggregate changed. Every core keeps the announced aggregates of
//! online users for GUILD_CREATE `presences` and GUILD_MEMBERS_CHUNK (`app/presence.rs`).
//!
//! Implements: Discord Gateway v10 "Update Presence" (status types), "Presence Update"
//! (`user`, `guild_id`, `status`, `activities`, `client_status`), the Activity object.
//! Flux does not know a session's platform, so `client_status` names `web` for a user who
//! is not offline and is `{}` for one who is.
//!
//! Invariants:
//! - An announced `Presence` never has status `Invisible`, and an offline one has no
//!   activities (asserted in `aggregate`).
//! - A book holds at most `SESSIONS_PER_USER_MAX` sessions per user; past that the oldest
//!   entry is dropped (a user with that many sessions is still shown by the others).

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::gateway::{Activity, PresenceUpdate, SessionId, Status};

/// Sessions remembered per user on its home core.
pub const SESSIONS_PER_USER_MAX: usize = 256;

/// One session's presence, as its latest op 3 (or its Identify) set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPresence {
    pub status: Status,
    pub activities: Vec<Activity>,
    /// When the session set it (Unix ms): the activities' `created_at`, and the tie-break.
    pub updated_unix_ms: u64,
}

impl SessionPresence {
    /// The presence a session starts with: Identify's `presence`, or online without one.
    ///
    /// ```
    /// use engine::gateway::Status;
    /// use engine::world::presence::SessionPresence;
    /// assert_eq!(SessionPresence::from_update(None, 7).status, Status::Online);
    /// ```
    pub fn from_update(update: Option<&PresenceUpdate>, now_unix_ms: u64) -> SessionPresence {
        match update {
            Some(update) => SessionPresence {
                status: update.status,
                activities: update.activities.clone(),
                updated_unix_ms: now_unix_ms,
            },
            None => SessionPresence {
                status: Status::Online,
                activities: Vec::new(),
                updated_unix_ms: now_unix_ms,
            },
        }
    }
}

/// What other users see of a user: online, dnd, idle or offline, with activities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub status: Status,
    pub activities: Vec<Activity>,
    /// When the winning session set it (Unix ms); 0 when offline.
    pub updated_unix_ms: u64,
}

impl Presence {
    /// The presence of a user without sessions.
    pub fn offline() -> Presence {
        Presence {
            status: Status::Offline,
            activities: Vec::new(),
            updated_unix_ms: 0,
        }
    }

    /// Whether others see this user as offline.
    pub fn is_offline(&self) -> bool {
        self.status == Status::Offline
    }

    /// Same status and activities (the time stamp aside): nothing to announce.
    fn looks_like(&self, other: &Presence) -> bool {
        self.status == other.status && self.activities == other.activities
    }
}

/// The aggregate of a user's sessions (see the module doc for the rule).
///
/// ```
/// use engine::gateway::{SessionId, Status};
/// use engine::world::presence::{aggregate, SessionPresence};
/// let at = |status, t| SessionPresence { status, activities: vec![], updated_unix_ms: t };
/// let sessions = [
///     (SessionId::new(0, 1), at(Status::Idle, 5)),
///     (SessionId::new(1, 2), at(Status::Dnd, 1)),
///     (SessionId::new(1, 3), at(Status::Invisible, 9)),
/// ];
/// assert_eq!(aggregate(&sessions).status, Status::Dnd);
/// assert_eq!(aggregate(&[]).status, Status::Offline);
/// ```
pub fn aggregate(sessions: &[(SessionId, SessionPresence)]) -> Presence {
    let best = sessions
        .iter()
        .map(|(_, presence)| presence)
        .filter(|presence| rank(presence.status) > 0)
        .max_by_key(|presence| (rank(presence.status), presence.updated_unix_ms));
    let presence = match best {
        Some(best) => Presence {
            status: best.status,
            activities: best.activities.clone(),
            updated_unix_ms: best.updated_unix_ms,
        },
        None => Presence::offline(),
    };
    debug_assert_ne!(
        presence.status,
        Status::Invisible,
        "invisible is shown as offline"
    );
    debug_assert!(!presence.is_offline() || presence.activities.is_empty());
    presence
}

/// On a user's home core: the presence of each of the user's sessions, and the
/// aggregate last announced to every core.
///
/// ```
/// use engine::gateway::{SessionId, Status};
/// use engine::world::presence::{PresenceBook, SessionPresence};
/// let mut book = PresenceBook::default();
/// let session = SessionId::new(0, 1);
/// let online = SessionPresence::from_update(None, 1);
/// assert_eq!(book.report(5, session, Some(online.clone())).unwrap().status, Status::Online);
/// assert_eq!(book.report(5, session, Some(online)), None); // nothing new
/// assert_eq!(book.report(5, session, None).unwrap().status, Status::Offline);
/// assert!(book.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct PresenceBook {
    users: HashMap<u64, UserSessions>,
}

#[derive(Debug)]
struct UserSessions {
    sessions: Vec<(SessionId, SessionPresence)>,
    announced: Presence,
}

impl PresenceBook {
    /// Records `session`'s presence (`None`: the session is gone for good). Returns the
    /// user's new aggregate when it differs from the one last announced; the caller
    /// announces it.
    pub fn report(
        &mut self,
        user_id: u64,
        session: SessionId,
        presence: Option<SessionPresence>,
    ) -> Option<Presence> {
        let entry = self.users.entry(user_id).or_insert_with(|| UserSessions {
            sessions: Vec::new(),
            announced: Presence::offline(),
        });
        let index = entry.sessions.iter().position(|(id, _)| *id == session);
        match (index, presence) {
            (Some(index), Some(presence)) => entry.sessions[index].1 = presence,
            (Some(index), None) => {
                entry.sessions.remove(index);
            }
            (None, Some(presence)) => {
                if entry.sessions.len() == SESSIONS_PER_USER_MAX {
                    entry.sessions.remove(0); // The oldest; see the module invariants.
                }
                // Most users have one session: the first gets one slot, not the four
                // 80-byte slots a Vec starts with; a second grows it as usual.
                if entry.sessions.capacity() == 0 {
                    entry.sessions.reserve_exact(1);
                }
                entry.sessions.push((session, presence));
            }
            (None, None) => {}
        }
        debug_assert!(entry.sessions.len() <= SESSIONS_PER_USER_MAX);
        let now = aggregate(&entry.sessions);
        let changed = !now.looks_like(&entry.announced);
        if changed {
            entry.announced = now.clone();
        }
        if entry.sessions.is_empty() {
            debug_assert!(entry.announced.is_offline());
            self.users.remove(&user_id);
        }
        changed.then_some(now)
    }

    /// Whether no user has a session here.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// The presence object of `user_id` in `guild_id`: PRESENCE_UPDATE's `d`, and the entries
/// of GUILD_CREATE's and GUILD_MEMBERS_CHUNK's `presences` (Discord leaves `guild_id` out
/// there, but twilight's `Presence` requires it and the others ignore it). `user` carries
/// only `id`, which is what Discord sends and what discord.py accepts (CLIENTS.md §1.6).
pub fn presence_json(user_id: u64, presence: &Presence, guild_id: u64) -> Value {
    let status = presence.status.as_str();
    let client_status = if presence.is_offline() {
        json!({})
    } else {
        json!({ "web": status })
    };
    let activities: Vec<Value> = presence
        .activities
        .iter()
        .map(|activity| activity_json(activity, presence.updated_unix_ms))
        .collect();
    json!({
        "user": { "id": user_id.to_string() },
        "guild_id": guild_id.to_string(),
        "status": status,
        "activities": activities,
        "client_status": client_status,
    })
}

/// The Activity object. Unlike most objects, the optional parts Flux does not know
/// (`timestamps`, `application_id`, `party`, `assets`, `secrets`) are left out rather
/// than `null`: that is what Discord sends, and hikari reads `timestamps["start"]`,
/// `party["size"]` … whenever the key is present.
fn activity_json(activity: &Activity, created_at_unix_ms: u64) -> Value {
    json!({
        "name": activity.name,
        "type": activity.kind,
        "url": activity.url,
        "created_at": created_at_unix_ms,
        "details": null,
        "state": activity.state,
        "emoji": null,
        "instance": false,
        "flags": 0,
        "buttons": [],
    })
}

/// 0 for statuses others see as offline.
fn rank(status: Status) -> u8 {
    match status {
        Status::Online => 3,
        Status::Dnd => 2,
        Status::Idle => 1,
        Status::Invisible | Status::Offline => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(status: Status, t: u64) -> SessionPresence {
        SessionPresence {
            status,
            activities: vec![Activity {
                name: format!("{status:?}"),
                kind: 0,
                url: None,
                state: None,
            }],
            updated_unix_ms: t,
        }
    }

    #[test]
    fn most_present_status_wins_and_invisible_is_offline() {
        let s = |n| SessionId::new(0, n);
        for (statuses, want) in [
            (vec![Status::Idle, Status::Online], Status::Online),
            (vec![Status::Idle, Status::Dnd], Status::Dnd),
            (vec![Status::Invisible, Status::Idle], Status::Idle),
            (vec![Status::Invisible], Status::Offline),
            (vec![Status::Offline, Status::Invisible], Status::Offline),
        ] {
            let sessions: Vec<_> = statuses
                .iter()
                .enumerate()
                .map(|(i, status)| (s(i as u128), at(*status, i as u64)))
                .collect();
            let got = aggregate(&sessions);
            assert_eq!(got.status, want, "{statuses:?}");
            if want == Status::Offline {
                assert!(got.activities.is_empty(), "invisible hides activities");
            } else {
                assert_eq!(got.activities[0].name, format!("{want:?}"));
            }
        }
        // A tie goes to the session that changed last.
        let mut newer = at(Status::Online, 9);
        newer.activities[0].name = "newer".into();
        let got = aggregate(&[(s(1), at(Status::Online, 3)), (s(2), newer)]);
        assert_eq!(got.activities[0].name, "newer");
    }

    #[test]
    fn book_announces_changes_only_and_offline_when_the_last_session_goes() {
        let mut book = PresenceBook::default();
        let (a, b) = (SessionId::new(0, 1), SessionId::new(1, 2));
        assert_eq!(
            book.report(7, a, Some(at(Status::Idle, 1)))
                .map(|p| p.status),
            Some(Status::Idle)
        );
        assert_eq!(
            book.report(7, b, Some(at(Status::Online, 2)))
                .map(|p| p.status),
            Some(Status::Online)
        );
        // a goes idle again: the aggregate is still b's online.
        assert_eq!(book.report(7, a, Some(at(Status::Idle, 3))), None);
        assert_eq!(
            book.report(7, b, None).map(|p| p.status),
            Some(Status::Idle)
        );
        // Unknown session gone: nothing.
        assert_eq!(book.report(7, b, None), None);
        assert_eq!(
            book.report(7, a, None).map(|p| p.status),
            Some(Status::Offline)
        );
        assert!(book.is_empty());
        // An invisible session never announces anything.
        assert_eq!(book.report(8, a, Some(at(Status::Invisible, 1))), None);
        assert_eq!(book.report(8, a, None), None);
        assert!(book.is_empty());
    }

    #[test]
    fn a_users_first_session_takes_one_slot() {
        let mut book = PresenceBook::default();
        book.report(7, SessionId::new(0, 1), Some(at(Status::Online, 1)));
        assert_eq!(book.users[&7].sessions.capacity(), 1);
        book.report(7, SessionId::new(0, 2), Some(at(Status::Idle, 2)));
        assert_eq!(book.users[&7].sessions.len(), 2);
    }

    #[test]
    fn book_keeps_a_bounded_number_of_sessions_per_user() {
        let mut book = PresenceBook::default();
        for n in 0..(SESSIONS_PER_USER_MAX as u128 + 10) {
            book.report(1, SessionId::new(0, n), Some(at(Status::Idle, n as u64)));
        }
        assert_eq!(book.users[&1].sessions.len(), SESSIONS_PER_USER_MAX);
    }

    proptest::proptest! {
        /// Against a reference: after any sequence of reports, the book has announced
        /// exactly the aggregate of the sessions still present (offline when none), and
        /// it forgets users without sessions.
        #[test]
        fn book_announces_the_aggregate_of_live_sessions(
            steps in proptest::collection::vec((0u64..3, 0u128..4, proptest::option::of(0usize..5)), 0..60),
        ) {
            let statuses = [Status::Online, Status::Dnd, Status::Idle, Status::Invisible, Status::Offline];
            let mut book = PresenceBook::default();
            let mut model: HashMap<u64, Vec<(SessionId, SessionPresence)>> = HashMap::new();
            let mut announced: HashMap<u64, Presence> = HashMap::new();
            for (t, (user, session, status)) in steps.into_iter().enumerate() {
                let session = SessionId::new(0, session);
                let presence = status.map(|s| at(statuses[s], t as u64));
                let sessions = model.entry(user).or_default();
                sessions.retain(|(id, _)| *id != session);
                if let Some(p) = &presence {
                    sessions.push((session, p.clone()));
                }
                if let Some(now) = book.report(user, session, presence) {
                    announced.insert(user, now);
                }
                let want = aggregate(&model[&user]);
                let have = announced.get(&user).cloned().unwrap_or_else(Presence::offline);
                proptest::prop_assert!(have.looks_like(&want), "{have:?} vs {want:?}");
            }
            for (user, sessions) in &model {
                proptest::prop_assert_eq!(book.users.contains_key(user), !sessions.is_empty());
            }
        }
    }

    #[test]
    fn presence_json_has_what_clients_read() {
        let presence = aggregate(&[(SessionId::new(0, 1), at(Status::Dnd, 1_700))]);
        let value = presence_json(42, &presence, 9);
        assert_eq!(value["user"], json!({"id": "42"}));
        assert_eq!(value["guild_id"], "9");
        assert_eq!(value["status"], "dnd");
        assert_eq!(value["client_status"], json!({"web": "dnd"}));
        assert_eq!(value["activities"][0]["name"], "Dnd");
        assert_eq!(value["activities"][0]["type"], 0);
        assert_eq!(value["activities"][0]["created_at"], 1_700);
        for absent in ["timestamps", "application_id", "party", "assets", "secrets"] {
            assert!(value["activities"][0].get(absent).is_none(), "{absent}");
        }
        let offline = presence_json(42, &Presence::offline(), 9);
        assert_eq!(offline["status"], "offline");
        assert_eq!(offline["client_status"], json!({}));
        assert_eq!(offline["activities"], json!([]));
    }
}
