//! Discord's mention syntax in message content (`<@id>`, `<@!id>`, `<@&id>`, `@everyone`,
//! `@here`): found once when a message is created or edited, so the message rules
//! (`world::message_ops`) can decide who is mentioned without knowing any wire format.

/// What a message's content mentions, in order of first appearance, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// `<@id>` and `<@!id>`.
    pub users: Vec<u64>,
    /// `<@&id>`.
    pub roles: Vec<u64>,
    /// `@everyone` or `@here` appears (it only counts if the author may mention everyone).
    pub everyone: bool,
}

/// Finds Discord's mention syntax in `content`. Malformed tags are plain text.
///
/// ```
/// use engine::world::message::parse_mentions;
/// let found = parse_mentions("hi <@12> and <@!12>, <@&7> @here <@x>");
/// assert_eq!((found.users, found.roles, found.everyone), (vec![12], vec![7], true));
/// ```
pub fn parse_mentions(content: &str) -> Mentions {
    let mut found = Mentions {
        everyone: content.contains("@everyone") || content.contains("@here"),
        ..Mentions::default()
    };
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        let (list, digits) = match tag.as_bytes().first() {
            Some(b'&') => (&mut found.roles, &tag[1..]),
            Some(b'!') => (&mut found.users, &tag[1..]),
            _ => (&mut found.users, tag),
        };
        if let Ok(id) = snowflake::Snowflake::parse_ascii(digits.as_bytes()).map(|id| id.get()) {
            if !list.contains(&id) {
                list.push(id);
            }
            rest = &rest[end + 1..];
        }
    }
    found
}
