//! Discord wire payloads (serenity's `Message` and `Interaction`) → [`Inbound`]. Pure:
//! everything effectful (who the bot is, which channel a thread belongs to) is passed
//! in, so the rules are table-tested on captured JSON. Nothing past this file sees a
//! serenity type.
//!
//! The rules, from `platforms/mod.rs` "Conventions" and the Discord docs:
//! - the bot's own messages and system messages are dropped;
//! - in an alert channel every message is a `Mention` with `alert_channel`, and
//!   `from_integration` when a bot or webhook posted it (monitoring integrations);
//! - elsewhere only messages that mention the bot are a `Mention` (DMs always are);
//! - other human messages inside a thread are `ThreadReply`; the thread id is the
//!   channel id of the message and equals the id of the message it was started on
//!   (<https://discord.com/developers/docs/topics/threads>);
//! - a button press is an `Action` decoded from its `custom_id`; `/incident <sub>` is a
//!   `Command` with the grammar's words.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use serenity::model::application::{
    CommandDataOption, CommandDataOptionValue, CommandInteraction, ComponentInteraction, Interaction,
};
use serenity::model::channel::{ChannelType, Message, MessageType, PartialChannel};
use serenity::model::user::User;

use super::commands;
use crate::model::{ActionKind, Inbound, InboundKind, Person, Platform, ReplyHandle};

/// What the adapter knows about its surroundings when it reads an event.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// The bot's user id, from READY (None until then, or in HTTP-only mode).
    pub bot_id: Option<u64>,
    /// The application's id (`discord.application_id`). Known from the start, and for
    /// every bot created since 2019ish the bot user has the same id, so it also
    /// recognises the bot's own messages while `bot_id` is still unknown.
    pub application_id: Option<u64>,
    /// Channels whose every message is classified (`discord.alert_channels`).
    pub alert_channels: Vec<String>,
}

/// Where a message was posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A channel (or DM) itself.
    Channel,
    /// A thread of `parent`; the message's `channel_id` is the thread.
    Thread { parent: String },
}

/// Cheap checks that need no lookup: is this a message the bot could act on at all?
/// Lets the adapter skip the thread lookup for its own and system messages.
pub fn is_candidate(msg: &Message, ctx: &Ctx) -> bool {
    if !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply) {
        return false;
    }
    // Our own messages (cards, notes we echo) would loop back into the classifier.
    let author = Some(msg.author.id.get());
    author != ctx.bot_id && author != ctx.application_id
}

/// Whether the message's place matters (a channel that may be a thread). DMs and the
/// configured alert channels are known to be channels.
pub fn needs_place(msg: &Message, ctx: &Ctx) -> bool {
    msg.guild_id.is_some() && !ctx.alert_channels.iter().any(|c| *c == msg.channel_id.to_string())
}

/// Whether the message @mentions the bot (in `mentions`, or as `<@id>` / `<@!id>`).
pub fn mentions_bot(msg: &Message, ctx: &Ctx) -> bool {
    let Some(bot) = ctx.bot_id else { return false };
    msg.mentions.iter().any(|u| u.id.get() == bot)
        || msg.content.contains(&format!("<@{bot}>"))
        || msg.content.contains(&format!("<@!{bot}>"))
}

/// The text to classify: the content, then what integrations put in embeds (Grafana
/// and most monitoring tools post an embed with an empty `content`).
pub fn message_text(msg: &Message) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !msg.content.trim().is_empty() {
        parts.push(msg.content.clone());
    }
    for embed in &msg.embeds {
        parts.extend(embed.title.iter().cloned());
        parts.extend(embed.description.iter().cloned());
        parts.extend(embed.fields.iter().map(|f| format!("{}: {}", f.name, f.value)));
    }
    parts.join("\n")
}

fn person(user: &User, nick: Option<&str>) -> Person {
    let name =
        nick.map(str::to_string).or_else(|| user.global_name.clone()).or_else(|| Some(user.name.clone()));
    Person::new("discord", user.id.to_string(), name)
}

/// A gateway MESSAGE_CREATE → event and dedup keys, or `None` when the bot does not
/// care. The key names the message, so a MESSAGE_CREATE replayed after a resume is
/// dropped by intake.
pub fn message(
    msg: &Message,
    ctx: &Ctx,
    place: &Place,
    now: DateTime<Utc>,
) -> Option<(Inbound, Vec<String>)> {
    if !is_candidate(msg, ctx) {
        return None;
    }
    let from_integration = msg.author.bot || msg.webhook_id.is_some();
    let text = message_text(msg);
    let mentioned = mentions_bot(msg, ctx);
    let channel = msg.channel_id.to_string();
    let alert_channel = ctx.alert_channels.contains(&channel);
    let (channel, thread, kind) = match place {
        Place::Thread { parent } => {
            let kind = if mentioned {
                InboundKind::Mention { text, alert_channel: false, from_integration }
            } else if from_integration {
                // Bots chatting in a thread are not notes by a person.
                return None;
            } else {
                InboundKind::ThreadReply { text }
            };
            (parent.clone(), Some(channel), kind)
        }
        Place::Channel if alert_channel => {
            (channel, None, InboundKind::Mention { text, alert_channel: true, from_integration })
        }
        Place::Channel if mentioned || msg.guild_id.is_none() => {
            (channel, None, InboundKind::Mention { text, alert_channel: false, from_integration })
        }
        Place::Channel => return None,
    };
    if text_of(&kind).trim().is_empty() {
        return None;
    }
    let nick = msg.member.as_ref().and_then(|m| m.nick.as_deref());
    let inbound = Inbound {
        platform: Platform::Discord,
        event_id: msg.id.to_string(),
        channel,
        thread,
        message_id: Some(msg.id.to_string()),
        user: person(&msg.author, nick),
        kind,
        reply: ReplyHandle::default(),
        received_at: now,
    };
    Some((inbound, vec![format!("discord:msg:{}", msg.id)]))
}

fn text_of(kind: &InboundKind) -> &str {
    match kind {
        InboundKind::Mention { text, .. }
        | InboundKind::ThreadReply { text }
        | InboundKind::Command { text } => text,
        InboundKind::Action { .. } => "-",
    }
}

/// How an interaction is answered within Discord's 3 seconds.
/// <https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-type>
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Type 1: the HTTP endpoint's PING.
    Pong,
    /// Type 6 (components): "I got it"; the card is edited in place later.
    DeferredUpdate,
    /// Type 5 with flags 64 (commands): an ephemeral "thinking…" replaced by the follow-up.
    DeferredEphemeral,
    /// Type 4 ephemeral: an immediate answer for what we refuse without storing.
    Ephemeral(String),
}

impl Answer {
    /// The interaction response body (callback endpoint or HTTP response).
    pub fn body(&self) -> Value {
        match self {
            Self::Pong => json!({"type": 1}),
            Self::DeferredUpdate => json!({"type": 6}),
            Self::DeferredEphemeral => json!({"type": 5, "data": {"flags": 64}}),
            Self::Ephemeral(text) => json!({"type": 4, "data": super::render::ephemeral(text)}),
        }
    }
}

/// What the bot does with an interaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Store the event (with these dedup keys), then answer.
    Event { inbound: Box<Inbound>, dedup: Vec<String>, answer: Answer, command: bool },
    /// Answer only; nothing to store.
    Answer(Answer),
}

fn is_thread(kind: ChannelType) -> bool {
    matches!(kind, ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread)
}

/// The (channel, thread) an interaction happened in. Discord sends the partial
/// `channel` with `parent_id` for threads; `known_parent` covers older payloads with
/// threads the adapter has seen.
fn interaction_place(
    channel_id: u64,
    channel: Option<&PartialChannel>,
    known_parent: &dyn Fn(u64) -> Option<u64>,
) -> (String, Option<String>) {
    let parent = channel
        .filter(|c| is_thread(c.kind))
        .and_then(|c| c.parent_id)
        .map(|p| p.get())
        .or_else(|| known_parent(channel_id));
    match parent {
        Some(parent) => (parent.to_string(), Some(channel_id.to_string())),
        None => (channel_id.to_string(), None),
    }
}

/// The channel (or thread) an interaction happened in; `None` for a PING.
pub fn interaction_channel(interaction: &Interaction) -> Option<u64> {
    match interaction {
        Interaction::Command(i) | Interaction::Autocomplete(i) => Some(i.channel_id.get()),
        Interaction::Component(i) => Some(i.channel_id.get()),
        Interaction::Modal(i) => Some(i.channel_id.get()),
        _ => None,
    }
}

/// An INTERACTION_CREATE (gateway) or an HTTP interaction → what to store and answer.
/// The dedup key names the interaction: the gateway may replay it after a resume.
pub fn interaction(
    interaction: &Interaction,
    known_parent: &dyn Fn(u64) -> Option<u64>,
    now: DateTime<Utc>,
) -> Received {
    match interaction {
        Interaction::Ping(_) => Received::Answer(Answer::Pong),
        Interaction::Component(i) => component(i, known_parent, now),
        Interaction::Command(i) => command(i, known_parent, now),
        _ => Received::Answer(Answer::Ephemeral("warroom does not handle this kind of interaction.".into())),
    }
}

fn component(
    i: &ComponentInteraction,
    known_parent: &dyn Fn(u64) -> Option<u64>,
    now: DateTime<Utc>,
) -> Received {
    // custom_id is an untrusted pointer: the router re-checks incident and presser.
    let Some((action, incident)) = ActionKind::decode(&i.data.custom_id) else {
        return Received::Answer(Answer::Ephemeral("This button is not one of warroom's.".into()));
    };
    let (channel, thread) = interaction_place(i.channel_id.get(), i.channel.as_ref(), known_parent);
    let nick = i.member.as_ref().and_then(|m| m.nick.as_deref());
    Received::Event {
        inbound: Box::new(Inbound {
            platform: Platform::Discord,
            event_id: i.id.to_string(),
            channel,
            thread,
            message_id: None,
            user: person(&i.user, nick),
            kind: InboundKind::Action { action, incident },
            reply: ReplyHandle { token: Some(i.token.clone()), interaction_id: Some(i.id.to_string()) },
            received_at: now,
        }),
        dedup: vec![format!("discord:interaction:{}", i.id)],
        answer: Answer::DeferredUpdate,
        command: false,
    }
}

/// A value as the grammar spells it.
fn option_text(value: &CommandDataOptionValue) -> Option<String> {
    match value {
        CommandDataOptionValue::String(s) => Some(s.clone()),
        CommandDataOptionValue::Integer(n) => Some(n.to_string()),
        CommandDataOptionValue::Number(n) => Some(n.to_string()),
        CommandDataOptionValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `/incident <sub> [options]` → the grammar's words (`open high db down`).
pub fn command_words(options: &[CommandDataOption]) -> String {
    let Some(first) = options.first() else { return String::new() };
    match &first.value {
        CommandDataOptionValue::SubCommand(opts) => {
            let pairs: Vec<(String, String)> =
                opts.iter().filter_map(|o| Some((o.name.clone(), option_text(&o.value)?))).collect();
            commands::words(&first.name, &pairs)
        }
        _ => String::new(),
    }
}

fn command(
    i: &CommandInteraction,
    known_parent: &dyn Fn(u64) -> Option<u64>,
    now: DateTime<Utc>,
) -> Received {
    if i.data.name != commands::NAME {
        return Received::Answer(Answer::Ephemeral(format!(
            "warroom does not know /{}; try /{}.",
            i.data.name,
            commands::NAME
        )));
    }
    let (channel, thread) = interaction_place(i.channel_id.get(), i.channel.as_ref(), known_parent);
    let nick = i.member.as_ref().and_then(|m| m.nick.as_deref());
    Received::Event {
        inbound: Box::new(Inbound {
            platform: Platform::Discord,
            event_id: i.id.to_string(),
            channel,
            thread,
            message_id: None,
            user: person(&i.user, nick),
            kind: InboundKind::Command { text: command_words(&i.data.options) },
            reply: ReplyHandle { token: Some(i.token.clone()), interaction_id: Some(i.id.to_string()) },
            received_at: now,
        }),
        dedup: vec![format!("discord:interaction:{}", i.id)],
        answer: Answer::DeferredEphemeral,
        command: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: u64 = 100;

    fn ctx() -> Ctx {
        Ctx { bot_id: Some(BOT), application_id: Some(700), alert_channels: vec!["600".into()] }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    /// A MESSAGE_CREATE `d` as the gateway sends it (platform-facts §0), with `extra`
    /// fields merged over the defaults.
    fn msg(extra: Value) -> Message {
        let mut base = json!({
            "id": "900", "channel_id": "601", "guild_id": "500",
            "author": {"id": "42", "username": "alice", "global_name": "Alice"},
            "content": "hello", "timestamp": "2026-11-23T02:00:00.000000+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false,
            "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": false, "type": 0,
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).expect("captured message shape")
    }

    fn bot_user() -> Value {
        json!({"id": "100", "username": "warroom", "bot": true})
    }

    fn mention_user() -> Value {
        json!([{"id": "100", "username": "warroom", "bot": true}])
    }

    #[test]
    fn messages_table() {
        let thread = Place::Thread { parent: "600".into() };
        let grafana = json!({
            "channel_id": "600", "content": "", "webhook_id": "777",
            "author": {"id": "777", "username": "Grafana", "bot": true},
            "embeds": [{"type": "rich", "title": "[FIRING:1] HighErrorRate checkout",
                        "description": "5xx ratio 31%", "fields": [{"name": "severity", "value": "critical", "inline": true}]}],
        });
        /// (what, message, place) → expected (kind, channel, thread), or dropped.
        type Case<'a> = (&'a str, Message, Place, Option<(InboundKind, &'a str, Option<&'a str>)>);
        let cases: Vec<Case> = vec![
            (
                "a person in an alert channel",
                msg(json!({"channel_id": "600", "content": "checkout is down"})),
                Place::Channel,
                Some((
                    InboundKind::Mention {
                        text: "checkout is down".into(),
                        alert_channel: true,
                        from_integration: false,
                    },
                    "600",
                    None,
                )),
            ),
            (
                "a monitoring webhook in an alert channel, text from its embed",
                msg(grafana),
                Place::Channel,
                Some((
                    InboundKind::Mention {
                        text: "[FIRING:1] HighErrorRate checkout\n5xx ratio 31%\nseverity: critical".into(),
                        alert_channel: true,
                        from_integration: true,
                    },
                    "600",
                    None,
                )),
            ),
            (
                "another bot in an alert channel",
                msg(
                    json!({"channel_id": "600", "content": "disk 95%", "author": {"id": "55", "username": "zabbix", "bot": true}}),
                ),
                Place::Channel,
                Some((
                    InboundKind::Mention {
                        text: "disk 95%".into(),
                        alert_channel: true,
                        from_integration: true,
                    },
                    "600",
                    None,
                )),
            ),
            (
                "our own card in the alert channel",
                msg(json!({"channel_id": "600", "content": "card", "author": bot_user()})),
                Place::Channel,
                None,
            ),
            ("chatter elsewhere", msg(json!({})), Place::Channel, None),
            (
                "a mention elsewhere",
                msg(json!({"content": "<@100> db is slow", "mentions": mention_user()})),
                Place::Channel,
                Some((
                    InboundKind::Mention {
                        text: "<@100> db is slow".into(),
                        alert_channel: false,
                        from_integration: false,
                    },
                    "601",
                    None,
                )),
            ),
            (
                "a nickname mention without the mentions array",
                msg(json!({"content": "<@!100> help"})),
                Place::Channel,
                Some((
                    InboundKind::Mention {
                        text: "<@!100> help".into(),
                        alert_channel: false,
                        from_integration: false,
                    },
                    "601",
                    None,
                )),
            ),
            (
                "a reply in a thread: channel is the parent, thread the thread id",
                msg(json!({"channel_id": "901", "content": "rolled back"})),
                thread.clone(),
                Some((InboundKind::ThreadReply { text: "rolled back".into() }, "600", Some("901"))),
            ),
            (
                "a mention in a thread",
                msg(
                    json!({"channel_id": "901", "content": "<@100> investigate", "mentions": mention_user()}),
                ),
                thread.clone(),
                Some((
                    InboundKind::Mention {
                        text: "<@100> investigate".into(),
                        alert_channel: false,
                        from_integration: false,
                    },
                    "600",
                    Some("901"),
                )),
            ),
            (
                "a bot talking in a thread",
                msg(
                    json!({"channel_id": "901", "content": "build ok", "author": {"id": "55", "username": "ci", "bot": true}}),
                ),
                thread,
                None,
            ),
            (
                "a DM",
                msg(json!({"guild_id": null, "channel_id": "333", "content": "is prod ok?"})),
                Place::Channel,
                Some((
                    InboundKind::Mention {
                        text: "is prod ok?".into(),
                        alert_channel: false,
                        from_integration: false,
                    },
                    "333",
                    None,
                )),
            ),
            (
                "a system message (thread created)",
                msg(json!({"channel_id": "600", "type": 18, "content": "x"})),
                Place::Channel,
                None,
            ),
            ("an empty message", msg(json!({"channel_id": "600", "content": ""})), Place::Channel, None),
        ];
        for (what, m, place, expected) in cases {
            let got = message(&m, &ctx(), &place, now());
            match (got, expected) {
                (None, None) => {}
                (Some((inbound, keys)), Some((kind, channel, thread))) => {
                    assert_eq!(inbound.kind, kind, "{what}");
                    assert_eq!(inbound.channel, channel, "{what}");
                    assert_eq!(inbound.thread.as_deref(), thread, "{what}");
                    assert_eq!(inbound.message_id.as_deref(), Some("900"), "{what}");
                    assert_eq!(keys, vec!["discord:msg:900".to_string()], "{what}");
                    assert_eq!(inbound.platform, Platform::Discord);
                }
                (got, expected) => panic!("{what}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn the_author_is_named_by_nick_then_display_name() {
        let m = msg(
            json!({"channel_id": "600", "content": "down", "member": {"nick": "ali (oncall)", "roles": [], "joined_at": null, "deaf": false, "mute": false, "flags": 0}}),
        );
        let (inbound, _) = message(&m, &ctx(), &Place::Channel, now()).unwrap();
        assert_eq!(inbound.user, Person::new("discord", "42", Some("ali (oncall)".into())));
        let m = msg(json!({"channel_id": "600", "content": "down"}));
        assert_eq!(message(&m, &ctx(), &Place::Channel, now()).unwrap().0.user.display(), "Alice");
    }

    #[test]
    fn lookups_are_skipped_where_the_place_is_known() {
        assert!(!needs_place(&msg(json!({"channel_id": "600"})), &ctx()), "alert channel");
        assert!(!needs_place(&msg(json!({"guild_id": null})), &ctx()), "DM");
        assert!(needs_place(&msg(json!({"channel_id": "901"})), &ctx()), "maybe a thread");
        assert!(!is_candidate(&msg(json!({"author": bot_user()})), &ctx()));
    }

    #[test]
    fn own_cards_are_known_by_the_application_id_before_ready() {
        // /users/@me failed and READY has not been read yet: only the application id is
        // known, and the bot user shares it.
        let ctx = Ctx { bot_id: None, ..ctx() };
        let card = json!({"channel_id": "600", "content": "🔴 #1 · disk full [OPEN]",
                          "author": {"id": "700", "username": "warroom", "bot": true}});
        assert_eq!(message(&msg(card), &ctx, &Place::Channel, now()), None);
        let zabbix = json!({"channel_id": "600", "content": "disk 95%",
                            "author": {"id": "55", "username": "zabbix", "bot": true}});
        assert!(message(&msg(zabbix), &ctx, &Place::Channel, now()).is_some());
    }

    fn member() -> Value {
        json!({"user": {"id": "42", "username": "alice", "global_name": "Alice"},
               "roles": [], "deaf": false, "mute": false, "flags": 0, "joined_at": "2026-01-01T00:00:00+00:00"})
    }

    /// INTERACTION_CREATE for a button (platform-facts §0).
    fn button(custom_id: &str, channel: Value) -> Interaction {
        let mut i = json!({
            "id": "1200", "application_id": "700", "type": 3, "token": "tok-1200", "version": 1,
            "guild_id": "500", "channel_id": "901", "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 10485760, "member": member(),
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": serde_json::to_value(msg(json!({"id": "950", "channel_id": "901", "author": bot_user()}))).unwrap(),
        });
        if !channel.is_null() {
            i["channel"] = channel;
        }
        serde_json::from_value(i).expect("captured interaction shape")
    }

    fn slash(options: Value) -> Interaction {
        serde_json::from_value(json!({
            "id": "1300", "application_id": "700", "type": 2, "token": "tok-1300", "version": 1,
            "guild_id": "500", "channel_id": "601", "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 10485760, "member": member(),
            "data": {"id": "800", "name": "incident", "type": 1, "options": options},
        }))
        .expect("captured command shape")
    }

    #[test]
    fn a_button_press_is_an_action_answered_with_a_deferred_update() {
        let thread = json!({"id": "901", "type": 11, "parent_id": "600", "name": "#3 · db"});
        let Received::Event { inbound, dedup, answer, command } =
            interaction(&button("ack:3", thread), &|_| None, now())
        else {
            panic!("not an event")
        };
        assert_eq!(inbound.kind, InboundKind::Action { action: ActionKind::Ack, incident: 3 });
        assert_eq!((inbound.channel.as_str(), inbound.thread.as_deref()), ("600", Some("901")));
        assert_eq!(inbound.user, Person::new("discord", "42", Some("Alice".into())));
        assert_eq!(
            inbound.reply,
            ReplyHandle { token: Some("tok-1200".into()), interaction_id: Some("1200".into()) }
        );
        assert_eq!(dedup, vec!["discord:interaction:1200".to_string()]);
        assert_eq!((answer.body(), command), (json!({"type": 6}), false));

        // Without the partial channel, a thread the adapter knows still resolves.
        let Received::Event { inbound, .. } =
            interaction(&button("resolve:3", Value::Null), &|c| (c == 901).then_some(600), now())
        else {
            panic!()
        };
        assert_eq!((inbound.channel.as_str(), inbound.thread.as_deref()), ("600", Some("901")));

        assert_eq!(
            interaction(&button("drop_tables:1", Value::Null), &|_| None, now()),
            Received::Answer(Answer::Ephemeral("This button is not one of warroom's.".into()))
        );
    }

    #[test]
    fn slash_commands_become_grammar_words_answered_ephemerally() {
        let open = slash(json!([{"name": "open", "type": 1, "options": [
            {"name": "title", "type": 3, "value": "checkout 502s"},
            {"name": "severity", "type": 3, "value": "high"},
        ]}]));
        let Received::Event { inbound, dedup, answer, command } = interaction(&open, &|_| None, now()) else {
            panic!()
        };
        assert_eq!(inbound.kind, InboundKind::Command { text: "open high checkout 502s".into() });
        assert_eq!((inbound.channel.as_str(), inbound.thread.as_deref()), ("601", None));
        assert_eq!(dedup, vec!["discord:interaction:1300".to_string()]);
        assert_eq!(answer.body(), json!({"type": 5, "data": {"flags": 64}}));
        assert!(command);

        let cases = [
            (json!([{"name": "list", "type": 1, "options": []}]), "list"),
            (
                json!([{"name": "status", "type": 1, "options": [{"name": "id", "type": 4, "value": 3}]}]),
                "status 3",
            ),
            (
                json!([{"name": "ack", "type": 1, "options": [{"name": "id", "type": 4, "value": 3}]}]),
                "ack 3",
            ),
            (
                json!([{"name": "resolve", "type": 1, "options": [{"name": "id", "type": 4, "value": 3}]}]),
                "resolve 3",
            ),
            (
                json!([{"name": "note", "type": 1, "options": [
                    {"name": "text", "type": 3, "value": "cache flushed"}, {"name": "id", "type": 4, "value": 3}]}]),
                "note 3 cache flushed",
            ),
        ];
        for (options, words) in cases {
            let Received::Event { inbound, .. } = interaction(&slash(options), &|_| None, now()) else {
                panic!()
            };
            assert_eq!(inbound.kind, InboundKind::Command { text: words.into() });
        }
    }

    #[test]
    fn answers_have_discord_callback_types() {
        assert_eq!(Answer::Pong.body(), json!({"type": 1}));
        assert_eq!(
            Answer::Ephemeral("no".into()).body(),
            json!({"type": 4, "data": {"content": "no", "flags": 64, "allowed_mentions": {"parse": []}}})
        );
    }
}
