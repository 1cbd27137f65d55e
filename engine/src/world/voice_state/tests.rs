//! The voice rules against the demo guild: joining, moving, leaving, the refusals, and
//! the tokens' single use and expiry.

use super::*;
use crate::world::model::{OverwriteTarget, PermissionOverwrite};
use crate::world::{demo_world, Demo};

const NOW: u64 = 1_700_000_000_000;

fn demo() -> Demo {
    demo_world(NOW, [3; 32]).unwrap()
}

fn voice_settings(guild: &mut Guild, channel: ChannelId) -> &mut super::super::model::Channel {
    guild.channels.iter_mut().find(|c| c.id == channel).unwrap()
}

#[test]
fn join_move_and_leave_are_announced_with_the_previous_channel() {
    let demo = demo();
    let mut guild = demo.world.guilds[0].clone();
    let second = {
        let mut channel = guild.channel(demo.voice_channel_id).unwrap().clone();
        channel.id = ChannelId(demo.voice_channel_id.0 + 1_000_000);
        guild.channels.push(channel.clone());
        channel.id
    };
    let bot = demo.bots[1].user_id;
    let mut book = VoiceBook::default();
    let join = book
        .request(
            &guild,
            bot,
            "s",
            Some(demo.voice_channel_id),
            (true, false),
            NOW,
        )
        .unwrap()
        .unwrap();
    assert_eq!((join.from, join.state.self_mute), (None, true));
    let moved = book
        .request(&guild, bot, "s", Some(second), (false, false), NOW)
        .unwrap()
        .unwrap();
    assert_eq!(moved.from, Some(demo.voice_channel_id));
    assert_eq!(book.occupants(guild.id, demo.voice_channel_id).count(), 0);
    assert_eq!(book.occupants(guild.id, second).count(), 1);
    let left = book
        .request(&guild, bot, "s", None, (false, false), NOW)
        .unwrap()
        .unwrap();
    assert_eq!((left.from, left.state.channel_id), (Some(second), None));
    assert!(book.state(guild.id, bot).is_none());
    // A second leave has nothing to announce.
    assert_eq!(
        book.request(&guild, bot, "s", None, (false, false), NOW),
        Ok(None)
    );
}

#[test]
fn refusals_leave_the_book_unchanged() {
    let demo = demo();
    let mut guild = demo.world.guilds[0].clone();
    let (owner, bot) = (demo.bots[0].user_id, demo.bots[1].user_id);
    let voice = demo.voice_channel_id;
    let mut book = VoiceBook::default();
    let refuse = |book: &mut VoiceBook, guild: &Guild, user, channel| {
        book.request(guild, user, "s", channel, (false, false), NOW)
    };
    assert_eq!(
        refuse(&mut book, &guild, UserId(1), Some(voice)),
        Err(VoiceRefusal::NotMember)
    );
    assert_eq!(
        refuse(&mut book, &guild, bot, Some(ChannelId(5))),
        Err(VoiceRefusal::UnknownChannel)
    );
    assert_eq!(
        refuse(&mut book, &guild, bot, Some(demo.text_channel_id)),
        Err(VoiceRefusal::NotVoice)
    );
    // @everyone denied CONNECT: the member is refused, the owner (every permission) is not.
    let everyone = guild.id.everyone_role();
    voice_settings(&mut guild, voice)
        .permission_overwrites
        .push(PermissionOverwrite {
            target: OverwriteTarget::Role(everyone),
            allow: 0,
            deny: Permissions::CONNECT.bits(),
        });
    assert_eq!(
        refuse(&mut book, &guild, bot, Some(voice)),
        Err(VoiceRefusal::MissingConnect)
    );
    assert!(book.state(guild.id, bot).is_none());
    assert!(refuse(&mut book, &guild, owner, Some(voice)).is_ok());
    // Another session of the same user cannot end the connection.
    assert_eq!(
        book.request(&guild, owner, "other", None, (false, false), NOW),
        Err(VoiceRefusal::OtherSession)
    );
    assert!(book.state(guild.id, owner).is_some());
}

#[test]
fn a_full_channel_takes_only_movers_and_those_already_in_it() {
    let demo = demo();
    let mut guild = demo.world.guilds[0].clone();
    let (owner, bot) = (demo.bots[0].user_id, demo.bots[1].user_id);
    let voice = demo.voice_channel_id;
    if let ChannelKind::Voice(settings) = &mut voice_settings(&mut guild, voice).kind {
        settings.user_limit = 1;
    }
    let mut book = VoiceBook::default();
    assert!(book
        .request(&guild, bot, "s", Some(voice), (false, false), NOW)
        .is_ok());
    // Already in it: changing self mute is not a new occupant.
    assert!(book
        .request(&guild, bot, "s", Some(voice), (true, false), NOW)
        .is_ok());
    // The owner holds MOVE_MEMBERS.
    assert!(book
        .request(&guild, owner, "s", Some(voice), (false, false), NOW)
        .is_ok());
    assert_eq!(book.occupants(guild.id, voice).count(), 2);
    book.leave(guild.id, bot);
    book.leave(guild.id, owner);
    assert!(book
        .request(&guild, owner, "s", Some(voice), (false, false), NOW)
        .is_ok());
    assert_eq!(
        book.request(&guild, bot, "s", Some(voice), (false, false), NOW),
        Err(VoiceRefusal::ChannelFull)
    );
}

#[test]
fn server_mute_and_deafen_come_from_the_member() {
    let demo = demo();
    let mut guild = demo.world.guilds[0].clone();
    let bot = demo.bots[1].user_id;
    let member = guild.members.iter_mut().find(|m| m.user_id == bot).unwrap();
    member.mute = true;
    let mut book = VoiceBook::default();
    let join = book
        .request(
            &guild,
            bot,
            "s",
            Some(demo.voice_channel_id),
            (false, false),
            NOW,
        )
        .unwrap()
        .unwrap();
    assert_eq!((join.state.mute, join.state.deaf), (true, false));
    assert_eq!(book.server_flags(guild.id, bot, true, false), None);
    let changed = book.server_flags(guild.id, bot, false, true).unwrap();
    assert_eq!((changed.mute, changed.deaf), (false, true));
    assert_eq!(book.server_flags(guild.id, UserId(9), true, true), None);
}

#[test]
fn a_token_admits_once_its_own_user_and_session_before_it_expires() {
    let demo = demo();
    let guild = demo.world.guilds[0].id;
    let bot = demo.bots[1].user_id;
    let ticket = |session: &str| VoiceTicket {
        guild_id: guild,
        user_id: bot,
        session_id: session.to_owned(),
        expires_unix_ms: NOW + VOICE_TOKEN_TTL_MS,
    };
    let mut book = VoiceBook::default();
    book.mint("a".into(), ticket("s"), NOW);
    assert!(book.redeem("a", guild, bot, "s", NOW).is_some());
    assert!(
        book.redeem("a", guild, bot, "s", NOW).is_none(),
        "single use"
    );
    book.mint("b".into(), ticket("s"), NOW);
    assert!(book.redeem("b", guild, bot, "other", NOW).is_none());
    assert!(
        book.redeem("b", guild, bot, "s", NOW).is_none(),
        "a miss uses it up"
    );
    book.mint("c".into(), ticket("s"), NOW);
    assert!(book
        .redeem("c", guild, bot, "s", NOW + VOICE_TOKEN_TTL_MS)
        .is_none());
    // Expired tokens are forgotten as new ones are minted, and the table is bounded.
    for i in 0..VOICE_TOKENS_MAX + 10 {
        book.mint(format!("t{i}"), ticket("s"), NOW + VOICE_TOKEN_TTL_MS + 1);
    }
    assert!(book.tokens.len() <= VOICE_TOKENS_MAX);
}

#[test]
fn the_json_carries_the_member_when_known() {
    let demo = demo();
    let guild = &demo.world.guilds[0];
    let bot = demo.bots[1].user_id;
    let user = &demo
        .world
        .accounts
        .iter()
        .find(|a| a.user.id == bot)
        .unwrap()
        .user;
    let mut book = VoiceBook::default();
    let change = book
        .request(
            guild,
            bot,
            "sess",
            Some(demo.voice_channel_id),
            (false, true),
            NOW,
        )
        .unwrap()
        .unwrap();
    let value = change.state.to_json(Some(guild), Some(user));
    assert_eq!(value["session_id"], "sess");
    assert_eq!(value["self_deaf"], true);
    assert_eq!(value["channel_id"], demo.voice_channel_id.0.to_string());
    assert_eq!(value["member"]["user"]["id"], bot.0.to_string());
    assert!(change.state.to_json(None, None).get("member").is_none());
}
