//! Who listens to each guild on this core: the live sessions subscribed to it, with the
//! intents each identified with, and how many of them hold each intent.
//!
//! Why the counts: an event none of a guild's sessions may see should cost nothing per
//! session. PRESENCE_UPDATE needs GUILD_PRESENCES, a privileged intent most bots never ask
//! for, yet every IDENTIFY announces its user's presence in each of the user's guilds.
//! Handing that announcement to every session of the guild, each of which then drops it,
//! made a connect storm quadratic: at 19,000 sessions in one guild an IDENTIFY cost about
//! 0.37 ms, nearly all of it visiting the other sessions, and while 9,000 sessions
//! connected the core's loop turns grew to 0.77 s, long enough that heartbeats read late
//! closed sessions with 4009. With the counts, an event whose intents no subscriber holds
//! is skipped in one lookup (`may_reach`).
//!
//! Why the intents are kept per connection: a session's intents are fixed from IDENTIFY
//! on, but by the time its connection is unsubscribed the session may have ended and no
//! longer say them; the counts must come down by exactly what went up.
//!
//! Invariant (the property test below checks it after every change): each guild's count
//! for an intent bit is the number of its subscribers whose intents hold that bit, and a
//! guild with no subscribers has no entry.

use crate::gateway::Intents;
use crate::id_hash::IdHashMap;
use crate::reactor::ConnId;

/// Intent bits Discord defines stop at 25 (`Intents::KNOWN`).
const INTENT_BITS: usize = 26;

/// Live sessions per guild, for dispatch fan-out.
#[derive(Debug, Default)]
pub(super) struct GuildAudiences {
    guilds: IdHashMap<u64, Audience>,
}

#[derive(Debug, Default)]
struct Audience {
    conns: IdHashMap<ConnId, Intents>,
    /// `holding[b]`: how many of `conns` hold intent bit `b`.
    holding: [u32; INTENT_BITS],
}

impl Audience {
    /// Whether one of these subscribers holds one of `needed` (empty: always).
    fn may_see(&self, needed: Intents) -> bool {
        needed.is_empty()
            || (0..INTENT_BITS).any(|bit| needed.bits() & (1 << bit) != 0 && self.holding[bit] > 0)
    }

    fn count(&mut self, intents: Intents, up: bool) {
        debug_assert!(intents.bits() < 1 << INTENT_BITS, "{intents:?}");
        for (bit, held) in self.holding.iter_mut().enumerate() {
            if intents.bits() & (1 << bit) != 0 {
                *held = if up { *held + 1 } else { *held - 1 };
            }
        }
    }

    #[cfg(test)]
    fn consistent(&self) -> bool {
        (0..INTENT_BITS).all(|bit| {
            let holders = self
                .conns
                .values()
                .filter(|intents| intents.bits() & (1 << bit) != 0)
                .count();
            holders == self.holding[bit] as usize
        })
    }
}

impl GuildAudiences {
    /// Subscribes `conn`, whose session identified with `intents`, to `guild_id`. A
    /// connection already subscribed keeps the intents it was subscribed with.
    pub(super) fn insert(&mut self, guild_id: u64, conn: ConnId, intents: Intents) {
        let audience = self.guilds.entry(guild_id).or_default();
        if audience.conns.contains_key(&conn) {
            return;
        }
        audience.conns.insert(conn, intents);
        audience.count(intents, true);
    }

    /// Unsubscribes `conn` from `guild_id`, if it was subscribed.
    pub(super) fn remove(&mut self, guild_id: u64, conn: ConnId) {
        let Some(audience) = self.guilds.get_mut(&guild_id) else {
            return;
        };
        let Some(intents) = audience.conns.remove(&conn) else {
            return;
        };
        audience.count(intents, false);
        if audience.conns.is_empty() {
            debug_assert!(audience.holding.iter().all(|&held| held == 0));
            self.guilds.remove(&guild_id);
        }
    }

    /// The connections subscribed to `guild_id`, in no particular order.
    pub(super) fn conns(&self, guild_id: u64) -> impl Iterator<Item = ConnId> + '_ {
        self.guilds
            .get(&guild_id)
            .into_iter()
            .flat_map(|audience| audience.conns.keys().copied())
    }

    /// The connections subscribed to `guild_id` whose intents let them see an event gated
    /// by `needed` (the shard check is still the session's); none, without a visit to
    /// any, when no subscriber holds one of `needed` (`may_reach`).
    pub(super) fn conns_holding(
        &self,
        guild_id: u64,
        needed: Intents,
    ) -> impl Iterator<Item = ConnId> + '_ {
        self.guilds
            .get(&guild_id)
            .filter(|audience| audience.may_see(needed))
            .into_iter()
            .flat_map(move |audience| {
                audience.conns.iter().filter_map(move |(&conn, &held)| {
                    (needed.is_empty() || held.intersects(needed)).then_some(conn)
                })
            })
    }

    /// Whether some subscriber of `guild_id` holds one of `needed` (an event's intents;
    /// empty: the event is not gated by intents). `false` means no subscriber can see an
    /// event gated by `needed`.
    pub(super) fn may_reach(&self, guild_id: u64, needed: Intents) -> bool {
        self.guilds
            .get(&guild_id)
            .is_some_and(|audience| audience.may_see(needed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn conn(index: u32) -> ConnId {
        ConnId {
            index,
            generation: 0,
        }
    }

    #[test]
    fn an_event_reaches_a_guild_only_through_an_intent_some_subscriber_holds() {
        let mut audiences = GuildAudiences::default();
        let bot = Intents::GUILDS | Intents::GUILD_MESSAGES;
        audiences.insert(7, conn(1), bot);
        audiences.insert(7, conn(2), bot);
        assert!(audiences.may_reach(7, Intents::GUILD_MESSAGES));
        assert!(audiences.may_reach(7, Intents::empty()));
        assert!(!audiences.may_reach(7, Intents::GUILD_PRESENCES));
        assert!(!audiences.may_reach(8, Intents::empty()), "no subscribers");
        assert_eq!(
            audiences.conns_holding(7, Intents::GUILD_PRESENCES).count(),
            0
        );
        assert_eq!(audiences.conns_holding(7, Intents::empty()).count(), 2);

        audiences.insert(7, conn(3), bot | Intents::GUILD_PRESENCES);
        assert!(audiences.may_reach(7, Intents::GUILD_PRESENCES));
        let holders: Vec<ConnId> = audiences
            .conns_holding(7, Intents::GUILD_PRESENCES)
            .collect();
        assert_eq!(holders, [conn(3)]);
        audiences.remove(7, conn(3));
        assert!(!audiences.may_reach(7, Intents::GUILD_PRESENCES));

        audiences.remove(7, conn(1));
        audiences.remove(7, conn(2));
        assert!(!audiences.guilds.contains_key(&7));
    }

    #[test]
    fn a_second_subscription_of_one_connection_counts_once() {
        let mut audiences = GuildAudiences::default();
        audiences.insert(7, conn(1), Intents::GUILD_PRESENCES);
        audiences.insert(7, conn(1), Intents::GUILD_PRESENCES);
        assert_eq!(audiences.conns(7).count(), 1);
        audiences.remove(7, conn(1));
        assert!(!audiences.may_reach(7, Intents::GUILD_PRESENCES));
        assert!(!audiences.guilds.contains_key(&7));
    }

    proptest! {
        /// Whatever the order of subscriptions and removals (removals of connections never
        /// subscribed included), the counts match the subscribers and `may_reach` says
        /// exactly whether one of them holds a needed bit.
        #[test]
        fn the_counts_follow_the_subscribers(
            steps in proptest::collection::vec(
                (any::<bool>(), 0u64..3, 0u32..6, 0u64..(1 << INTENT_BITS)),
                1..200,
            ),
            needed in 0u64..(1 << INTENT_BITS),
        ) {
            let mut audiences = GuildAudiences::default();
            for (subscribe, guild_id, index, bits) in steps {
                if subscribe {
                    audiences.insert(guild_id, conn(index), Intents::from_bits_truncate(bits));
                } else {
                    audiences.remove(guild_id, conn(index));
                }
                for audience in audiences.guilds.values() {
                    prop_assert!(audience.consistent());
                    prop_assert!(!audience.conns.is_empty());
                }
            }
            let needed = Intents::from_bits_truncate(needed);
            for guild_id in 0..3 {
                let expected = audiences.guilds.get(&guild_id).is_some_and(|audience| {
                    needed.is_empty() || audience.conns.values().any(|held| held.intersects(needed))
                });
                prop_assert_eq!(audiences.may_reach(guild_id, needed), expected);
                let mut holding: Vec<u32> =
                    audiences.conns_holding(guild_id, needed).map(|c| c.index).collect();
                holding.sort_unstable();
                let mut wanted: Vec<u32> = audiences
                    .guilds
                    .get(&guild_id)
                    .into_iter()
                    .flat_map(|audience| audience.conns.iter())
                    .filter(|(_, held)| needed.is_empty() || held.intersects(needed))
                    .map(|(c, _)| c.index)
                    .collect();
                wanted.sort_unstable();
                prop_assert_eq!(holding, wanted);
            }
        }
    }
}
