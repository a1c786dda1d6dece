//! Telegram updates → [`Inbound`], with no I/O (STYLE rule 2).
//!
//! The rules, in the order they are applied to a `message` update
//! (<https://core.telegram.org/bots/api#message>):
//!
//! 1. No sender (a channel post) or a sender that is a bot (`from.is_bot`, including
//!    ourselves) → ignored, so the bot never answers itself. The exception is an
//!    anonymous group admin: Telegram shows them as `GroupAnonymousBot` (a bot) with
//!    `sender_chat` = the group itself; that is a person, named after the group and
//!    known by the group's id (<https://core.telegram.org/bots/api#message>, `sender_chat`).
//! 2. `telegram.allowed_chats` non-empty and the chat not in it → ignored.
//! 3. A text starting with `/cmd` or `/cmd@botname` is a command. One addressed to
//!    another bot (`/ack@otherbot`) is ignored; ours are rewritten into the words of
//!    the `/incident` grammar by [`COMMANDS`] (`/oncall high x` → `open high x`,
//!    `/status` → `list`, …). An unknown command is answered with the usage in private
//!    chats or when addressed to us by name (`/frob@botname`); in groups, one that
//!    @mentions the bot further on (`/data full on db-01 @botname`) is a mention like
//!    any other, and the rest is ignored (it may belong to another bot).
//! 4. Private chat: every text is a `Mention` (nobody @mentions a bot in a DM).
//! 5. Group: a `mention` entity of `@botname` (or a `text_mention` of the bot) → `Mention`;
//!    otherwise a message inside a thread (a reply, or a forum-topic message) →
//!    `ThreadReply` (the router keeps those of incident threads and ignores the rest);
//!    anything else → ignored. In privacy mode Telegram only delivers commands,
//!    mentions and replies to the bot anyway
//!    (<https://core.telegram.org/bots/features#privacy-mode>).
//!
//! Threads: `thread` is `reply_to_message.message_id` when the message replies to
//! something, else `message_thread_id` (forum topic), else none; `message_id` is the
//! message's own id. Telegram threads are reply chains, so the engine links every
//! message the bot posts for an incident to it (`store::delivered`).
//!
//! A `callback_query` (a button press) becomes an `Action` when its `data` decodes with
//! [`ActionKind::decode`]; the id it names is only a pointer, the engine re-checks it.
//! A press we cannot turn into an event is answered at once ([`Translated::Answer`])
//! because every callback query must be answered or the client keeps spinning
//! (<https://core.telegram.org/bots/api#answercallbackquery>).

use chrono::{DateTime, Utc};
use teloxide::types::{CallbackQuery, Message, MessageEntityKind, Update, UpdateKind, User};

use crate::model::{ActionKind, Inbound, InboundKind, Person, Platform, ReplyHandle, Severity};

/// Shown when a button press carries data we cannot decode (an old keyboard, a forgery).
pub const INVALID_BUTTON: &str = "This button is no longer valid.";

/// Who the bot is (from `getMe`): needed to recognise `/cmd@botname` and `@botname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub id: u64,
    /// Without the `@`.
    pub username: String,
}

/// What [`translate`] needs besides the update.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub me: &'a BotIdentity,
    /// `telegram.allowed_chats`, parsed; empty = every chat.
    pub allowed_chats: &'a [i64],
    /// Stamped on the event as `received_at`.
    pub now: DateTime<Utc>,
}

/// A forum topic seen in a chat: posts into that thread must name it with
/// `message_thread_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic {
    pub chat: i64,
    pub thread: i32,
}

/// What to do with one update.
#[derive(Debug, Clone, PartialEq)]
pub enum Translated {
    /// Store it with these dedup keys, then confirm the update.
    Event { event: Box<Inbound>, dedup_keys: Vec<String>, topic: Option<Topic> },
    /// A button press that does not become an event: answer the callback query now
    /// (with this text, or silently) so the client stops its spinner.
    Answer { callback_query_id: String, text: Option<&'static str> },
    /// Nothing to do; the reason is logged at debug level.
    Ignore(&'static str),
}

/// The dedup key of a delivery: Telegram numbers updates sequentially and re-sends an
/// update until an offset past it is confirmed (or the webhook answered 2xx).
pub fn dedup_key(update_id: u32) -> String {
    format!("telegram:update:{update_id}")
}

/// How a Telegram command becomes words of the `/incident` grammar (`engine::commands`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// `/oncall [critical|high|medium|low] <title>` → `open <sev> <title>`.
    Open,
    /// `/status` → `list`; `/status N` → `status N`.
    Status,
    /// `/ack N` → `ack N`: the command's name is already the grammar's word.
    Same,
    /// `/incident …` → `…`, for people who know the Slack and Discord spelling.
    Verbatim,
    /// `/start` (sent when someone opens a private chat with the bot) → `help`.
    Help,
}

/// One command the bot understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alias {
    pub name: &'static str,
    /// Shown in the client's command menu (`setMyCommands`); `None` = accepted but not listed.
    pub menu: Option<&'static str>,
    /// Its line in the help, after `/name`; `None` = not in the help.
    pub usage: Option<&'static str>,
    pub rewrite: Rewrite,
}

/// Every command, in menu order. Names follow Telegram's rule (1–32 of `a-z0-9_`,
/// <https://core.telegram.org/bots/api#botcommand>).
pub const COMMANDS: &[Alias] = &[
    Alias {
        name: "oncall",
        menu: Some("Open an incident: /oncall [critical|high|medium|low] <title>"),
        usage: Some("[critical|high|medium|low] <title> — open an incident (default medium)"),
        rewrite: Rewrite::Open,
    },
    Alias {
        name: "status",
        menu: Some("List open incidents, or /status <id> for one"),
        usage: Some("[id] — list open incidents, or show one with its timeline (times in UTC)"),
        rewrite: Rewrite::Status,
    },
    Alias {
        name: "ack",
        menu: Some("Acknowledge an incident: /ack <id>"),
        usage: Some("<id> — acknowledge: you are on it"),
        rewrite: Rewrite::Same,
    },
    Alias {
        name: "escalate",
        menu: Some("Page the next escalation step: /escalate <id>"),
        usage: Some("<id> — page the next escalation step"),
        rewrite: Rewrite::Same,
    },
    Alias {
        name: "mitigate",
        menu: Some("Mark an incident mitigated: /mitigate <id>"),
        usage: Some("<id> — mark mitigated (humans only)"),
        rewrite: Rewrite::Same,
    },
    Alias {
        name: "resolve",
        menu: Some("Resolve an incident: /resolve <id>"),
        usage: Some("<id> — mark resolved (humans only)"),
        rewrite: Rewrite::Same,
    },
    Alias {
        name: "note",
        menu: Some("Add a note to the timeline: /note <id> <text>"),
        usage: Some("<id> <text> — add a note to the timeline (or reply to the incident message)"),
        rewrite: Rewrite::Same,
    },
    Alias {
        name: "help",
        menu: Some("What warroom understands"),
        usage: Some("— this help"),
        rewrite: Rewrite::Same,
    },
    Alias {
        name: "incident",
        menu: Some("Any /incident command, as on Slack and Discord"),
        usage: None,
        rewrite: Rewrite::Verbatim,
    },
    Alias {
        name: "reopen",
        menu: None,
        usage: Some("<id> — reopen a resolved incident"),
        rewrite: Rewrite::Same,
    },
    Alias {
        name: "severity",
        menu: None,
        usage: Some("<id> <critical|high|medium|low> — set and confirm the severity"),
        rewrite: Rewrite::Same,
    },
    Alias {
        name: "refresh", menu: None, usage: Some("<id> — gather context again"), rewrite: Rewrite::Same
    },
    Alias { name: "list", menu: None, usage: None, rewrite: Rewrite::Same },
    Alias { name: "start", menu: None, usage: None, rewrite: Rewrite::Help },
];

/// The help in Telegram's words, from [`COMMANDS`].
pub fn usage() -> String {
    let mut out = String::from("Usage:");
    for alias in COMMANDS {
        if let Some(line) = alias.usage {
            out.push_str(&format!("\n  /{} {line}", alias.name));
        }
    }
    out.push_str(
        "\nIn a group, mention the bot with what is wrong and it decides whether to open an incident; \
         replies to an incident message are notes.",
    );
    out
}

/// Puts the engine's answers in Telegram's words: the help and the usage after a
/// mistake speak of `/oncall`, `/status`, … as typed here, not of the `/incident`
/// grammar they were rewritten into.
pub fn in_telegram_words(text: &str) -> String {
    text.replace(crate::engine::commands::USAGE, &usage())
}

/// Rewrites a command we know (`name` lowercase, without `/`) into grammar words.
pub fn rewrite(name: &str, args: &str) -> Option<String> {
    let alias = COMMANDS.iter().find(|a| a.name == name)?;
    let args = args.trim();
    let words = match alias.rewrite {
        Rewrite::Open => {
            let (first, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
            match first.trim_matches(|c| c == '[' || c == ']').parse::<Severity>() {
                Ok(severity) => format!("open {severity} {}", rest.trim()),
                Err(_) => format!("open {args}"),
            }
        }
        Rewrite::Status if args.is_empty() => "list".to_string(),
        Rewrite::Status => format!("status {args}"),
        Rewrite::Same => format!("{} {args}", alias.name),
        Rewrite::Verbatim => args.to_string(),
        Rewrite::Help => "help".to_string(),
    };
    Some(words.trim().to_string())
}

/// A leading `/cmd[@bot] args`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CommandWords<'t> {
    NotACommand,
    /// `/cmd@otherbot`.
    ForAnotherBot,
    Ours {
        /// Lowercase, without `/` and `@bot`.
        name: String,
        /// Written as `/cmd@ourname`.
        addressed: bool,
        args: &'t str,
    },
}

/// Telegram marks `/cmd@bot` with a `bot_command` entity at offset 0; the text alone
/// says the same, so this reads the text (and also works for hand-written fixtures).
fn command_words<'t>(text: &'t str, me: &BotIdentity) -> CommandWords<'t> {
    let Some(rest) = text.strip_prefix('/') else { return CommandWords::NotACommand };
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, args) = rest.split_at(end);
    let (name, target) = match word.split_once('@') {
        Some((name, target)) => (name, Some(target)),
        None => (word, None),
    };
    let valid =
        !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return CommandWords::NotACommand;
    }
    match target {
        Some(target) if !target.eq_ignore_ascii_case(&me.username) => CommandWords::ForAnotherBot,
        _ => CommandWords::Ours {
            name: name.to_ascii_lowercase(),
            addressed: target.is_some(),
            args: args.trim(),
        },
    }
}

/// Whether the message @mentions the bot (a `mention` entity, or a `text_mention` for
/// users without a username; <https://core.telegram.org/bots/api#messageentity>).
fn mentions_bot(message: &Message, me: &BotIdentity) -> bool {
    let entities = message.parse_entities().or_else(|| message.parse_caption_entities()).unwrap_or_default();
    entities.iter().any(|e| match e.kind() {
        MessageEntityKind::Mention => {
            e.text().strip_prefix('@').is_some_and(|name| name.eq_ignore_ascii_case(&me.username))
        }
        MessageEntityKind::TextMention { user } => user.id.0 == me.id,
        _ => false,
    })
}

/// Command arguments without `@botname` words: `/ack 4 @warroom_bot` addresses the bot
/// the way groups do, and the mention is not part of the id or the title.
fn without_own_mention(args: &str, me: &BotIdentity) -> String {
    args.split(' ')
        .filter(|w| !w.strip_prefix('@').is_some_and(|name| name.eq_ignore_ascii_case(&me.username)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The thread a message is in: what it replies to, else its forum topic.
fn thread_of(message: &Message) -> Option<String> {
    message
        .reply_to_message()
        .map(|r| r.id.0.to_string())
        .or_else(|| message.thread_id.map(|t| t.0 .0.to_string()))
}

/// A Telegram user as warroom knows them: the numeric id (what `auth.responders`
/// lists as `telegram:<id>`) and the @username, else the full name, for display.
pub fn person(user: &User) -> Person {
    let name = user.username.clone().unwrap_or_else(|| user.full_name());
    Person::new(Platform::Telegram.as_str(), user.id.0.to_string(), Some(name))
}

fn allowed(ctx: &Context<'_>, chat: i64) -> bool {
    ctx.allowed_chats.is_empty() || ctx.allowed_chats.contains(&chat)
}

/// Translates one update (rules in the module docs).
pub fn translate(update: &Update, ctx: &Context<'_>) -> Translated {
    match &update.kind {
        UpdateKind::Message(message) => from_message(update.id.0, message, ctx),
        UpdateKind::CallbackQuery(query) => from_callback(update.id.0, query, ctx),
        _ => Translated::Ignore("update type warroom does not handle"),
    }
}

/// Who wrote a message, or why nobody the bot should listen to did (rule 1).
fn sender(message: &Message) -> Result<Person, &'static str> {
    let Some(from) = &message.from else { return Err("message without a sender") };
    if from.is_anonymous() {
        // An admin posting "as the group": the group speaks, so it is named.
        if let Some(group) = message.sender_chat.as_ref().filter(|c| c.id == message.chat.id) {
            let name = group.title().unwrap_or("anonymous admin").to_string();
            return Ok(Person::new(Platform::Telegram.as_str(), group.id.0.to_string(), Some(name)));
        }
    }
    if from.is_bot {
        return Err("message from a bot");
    }
    Ok(person(from))
}

fn from_message(update_id: u32, message: &Message, ctx: &Context<'_>) -> Translated {
    let user = match sender(message) {
        Ok(user) => user,
        Err(why) => return Translated::Ignore(why),
    };
    let chat = message.chat.id.0;
    if !allowed(ctx, chat) {
        return Translated::Ignore("chat is not in telegram.allowed_chats");
    }
    let Some(text) = message.text().or_else(|| message.caption()) else {
        return Translated::Ignore("message without text");
    };
    let private = message.chat.is_private();
    let thread = thread_of(message);
    let kind = match command_words(text, ctx.me) {
        CommandWords::ForAnotherBot => return Translated::Ignore("command addressed to another bot"),
        CommandWords::Ours { name, addressed, args } => {
            match rewrite(&name, &without_own_mention(args, ctx.me)) {
                Some(words) => InboundKind::Command { text: words },
                // The engine answers with the reason and the usage.
                None if private || addressed => {
                    InboundKind::Command { text: format!("{name} {args}").trim().to_string() }
                }
                // `/data full on prod-db-01 @warroom_bot`: someone telling the bot, not a command.
                None if mentions_bot(message, ctx.me) => InboundKind::Mention {
                    text: text.to_string(),
                    alert_channel: false,
                    from_integration: false,
                },
                None => return Translated::Ignore("unknown command, perhaps for another bot"),
            }
        }
        CommandWords::NotACommand if private || mentions_bot(message, ctx.me) => {
            InboundKind::Mention { text: text.to_string(), alert_channel: false, from_integration: false }
        }
        CommandWords::NotACommand if thread.is_some() => InboundKind::ThreadReply { text: text.to_string() },
        CommandWords::NotACommand => {
            return Translated::Ignore("group message that does not mention the bot")
        }
    };
    let topic = match (message.is_topic_message, message.thread_id) {
        (true, Some(t)) => Some(Topic { chat, thread: t.0 .0 }),
        _ => None,
    };
    let event = Inbound {
        platform: Platform::Telegram,
        event_id: update_id.to_string(),
        channel: chat.to_string(),
        thread,
        message_id: Some(message.id.0.to_string()),
        user,
        kind,
        reply: ReplyHandle::default(),
        received_at: ctx.now,
    };
    Translated::Event { event: Box::new(event), dedup_keys: vec![dedup_key(update_id)], topic }
}

fn from_callback(update_id: u32, query: &CallbackQuery, ctx: &Context<'_>) -> Translated {
    let answer = |text| Translated::Answer { callback_query_id: query.id.0.clone(), text };
    // Buttons on inline-mode messages carry no message; none of those are ours.
    let Some(message) = &query.message else { return answer(Some(INVALID_BUTTON)) };
    let chat = message.chat().id.0;
    if !allowed(ctx, chat) || query.from.is_bot {
        return answer(None);
    }
    let Some((action, incident)) = query.data.as_deref().and_then(ActionKind::decode) else {
        return answer(Some(INVALID_BUTTON));
    };
    let event = Inbound {
        platform: Platform::Telegram,
        event_id: update_id.to_string(),
        channel: chat.to_string(),
        thread: message.regular_message().and_then(thread_of),
        message_id: Some(message.id().0.to_string()),
        user: person(&query.from),
        kind: InboundKind::Action { action, incident },
        reply: ReplyHandle { token: Some(query.id.0.clone()), interaction_id: None },
        received_at: ctx.now,
    };
    Translated::Event { event: Box::new(event), dedup_keys: vec![dedup_key(update_id)], topic: None }
}

/// Parses an update body (webhook request or fixture).
pub fn parse_update(body: &[u8]) -> Result<Update, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn me() -> BotIdentity {
        BotIdentity { id: 999, username: "warroom_bot".into() }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    const ALICE: &str = r#"{"id":42,"is_bot":false,"first_name":"Alice","username":"alice"}"#;
    const GROUP: &str = r#"{"id":-1001,"type":"supergroup","title":"incidents"}"#;

    /// A message update as Telegram sends it (captured shape, platform-facts §0).
    fn message(extra: serde_json::Value) -> Update {
        let mut m = json!({
            "message_id": 7, "date": 1_700_000_000,
            "chat": serde_json::from_str::<serde_json::Value>(GROUP).unwrap(),
            "from": serde_json::from_str::<serde_json::Value>(ALICE).unwrap(),
        });
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        update(json!({"update_id": 10, "message": m}))
    }

    /// Through the bytes, as teloxide reads them (its `Update` cannot be read from a `Value`).
    fn update(json: serde_json::Value) -> Update {
        parse_update(&serde_json::to_vec(&json).unwrap()).unwrap()
    }

    fn text(t: &str) -> serde_json::Value {
        json!({ "text": t })
    }

    fn translate_with(update: &Update, allowed: &[i64]) -> Translated {
        translate(update, &Context { me: &me(), allowed_chats: allowed, now: now() })
    }

    /// What an update became: the event's kind and thread, or why it was ignored.
    type Outcome = Result<(InboundKind, Option<String>), &'static str>;

    fn kind(update: &Update) -> Outcome {
        match translate_with(update, &[]) {
            Translated::Event { event, .. } => Ok((event.kind, event.thread)),
            Translated::Ignore(why) => Err(why),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn command(t: &str) -> Outcome {
        Ok((InboundKind::Command { text: t.into() }, None))
    }

    fn mention(t: &str) -> InboundKind {
        InboundKind::Mention { text: t.into(), alert_channel: false, from_integration: false }
    }

    #[test]
    fn commands_become_incident_grammar() {
        let cases: Vec<(&str, Outcome)> = vec![
            ("/oncall [high] disk full on prod-db-01", command("open high disk full on prod-db-01")),
            ("/oncall critical db down", command("open critical db down")),
            ("/oncall checkout slow", command("open checkout slow")),
            ("/oncall", command("open")),
            ("/status", command("list")),
            ("/status 4", command("status 4")),
            ("/status@warroom_bot", command("list")),
            ("/STATUS@WarRoom_Bot #4", command("status #4")),
            ("/ack 4", command("ack 4")),
            ("/resolve 4", command("resolve 4")),
            ("/note 4 rolled back to v1.2", command("note 4 rolled back to v1.2")),
            ("/help", command("help")),
            ("/incident severity 4 critical", command("severity 4 critical")),
            ("/start", command("help")),
            ("/ack@otherbot 4", Err("command addressed to another bot")),
            ("/frobnicate 4", Err("unknown command, perhaps for another bot")),
            ("/frobnicate@warroom_bot 4", command("frobnicate 4")),
        ];
        for (t, expected) in cases {
            assert_eq!(kind(&message(text(t))), expected, "{t}");
        }
    }

    #[test]
    fn group_messages_need_a_mention_or_a_thread() {
        // @mention entity (offsets in UTF-16 units, as Telegram counts them).
        let m = message(json!({
            "text": "@warroom_bot checkout is throwing 500s",
            "entities": [{"type": "mention", "offset": 0, "length": 12}],
        }));
        assert_eq!(kind(&m), Ok((mention("@warroom_bot checkout is throwing 500s"), None)));

        // A mention of someone else is not ours.
        let m = message(
            json!({"text": "@bob lunch?", "entities": [{"type": "mention", "offset": 0, "length": 4}]}),
        );
        assert_eq!(kind(&m), Err("group message that does not mention the bot"));

        // A reply (to the bot's card, say) is a thread reply in the replied message's thread.
        let m = message(json!({
            "text": "rolled back, looks better",
            "reply_to_message": {"message_id": 5, "date": 1_700_000_000,
                "chat": serde_json::from_str::<serde_json::Value>(GROUP).unwrap(),
                "from": {"id": 999, "is_bot": true, "first_name": "warroom", "username": "warroom_bot"},
                "text": "#1 · disk full"},
        }));
        assert_eq!(
            kind(&m),
            Ok((InboundKind::ThreadReply { text: "rolled back, looks better".into() }, Some("5".into())))
        );

        // A forum-topic message without a reply is in the topic's thread.
        let m = message(json!({"text": "still failing", "message_thread_id": 77, "is_topic_message": true}));
        assert_eq!(
            kind(&m),
            Ok((InboundKind::ThreadReply { text: "still failing".into() }, Some("77".into())))
        );
        match translate_with(&m, &[]) {
            Translated::Event { topic, .. } => assert_eq!(topic, Some(Topic { chat: -1001, thread: 77 })),
            other => panic!("{other:?}"),
        }

        assert_eq!(kind(&message(text("lunch anyone?"))), Err("group message that does not mention the bot"));
    }

    #[test]
    fn an_unknown_command_that_mentions_the_bot_is_a_mention() {
        let t = "/data full on prod-db-01 @warroom_bot";
        let m = message(json!({
            "text": t,
            "entities": [{"type": "bot_command", "offset": 0, "length": 5},
                         {"type": "mention", "offset": 25, "length": 12}],
        }));
        assert_eq!(kind(&m), Ok((mention(t), None)));
        // A known command stays a command; the mention is not one of its words.
        let m = message(json!({
            "text": "/ack 4 @warroom_bot",
            "entities": [{"type": "bot_command", "offset": 0, "length": 4},
                         {"type": "mention", "offset": 7, "length": 12}],
        }));
        assert_eq!(kind(&m), command("ack 4"));
    }

    #[test]
    fn an_anonymous_group_admin_is_a_person_named_after_the_group() {
        let anonymous =
            json!({"id": 1087968824, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"});
        let m = message(json!({
            "from": anonymous,
            "sender_chat": serde_json::from_str::<serde_json::Value>(GROUP).unwrap(),
            "text": "/oncall high db down",
        }));
        let Translated::Event { event, .. } = translate_with(&m, &[]) else { panic!("an event") };
        assert_eq!(event.user, Person::new("telegram", "-1001", Some("incidents".into())));
        assert_eq!(event.kind, InboundKind::Command { text: "open high db down".into() });

        // A post forwarded from a linked channel is not someone in the group.
        let m = message(json!({
            "from": {"id": 136817688, "is_bot": true, "first_name": "Channel", "username": "Channel_Bot"},
            "sender_chat": {"id": -1009, "type": "channel", "title": "announcements"},
            "text": "/oncall high db down",
        }));
        assert_eq!(kind(&m), Err("message from a bot"));
        // Nor is an anonymous admin of another chat.
        let m = message(json!({
            "from": anonymous,
            "sender_chat": {"id": -1009, "type": "supergroup", "title": "elsewhere"},
            "text": "/oncall high db down",
        }));
        assert_eq!(kind(&m), Err("message from a bot"));
    }

    #[test]
    fn private_chats_are_all_mentions() {
        let m = message(json!({
            "chat": {"id": 42, "type": "private", "first_name": "Alice"},
            "text": "payments are failing",
        }));
        assert_eq!(kind(&m), Ok((mention("payments are failing"), None)));
    }

    #[test]
    fn bots_other_chats_and_textless_messages_are_dropped() {
        let m = message(json!({"from": {"id": 5, "is_bot": true, "first_name": "ci"}, "text": "/oncall x"}));
        assert_eq!(kind(&m), Err("message from a bot"));
        let m = message(json!({"text": "/oncall x"}));
        assert_eq!(translate_with(&m, &[-2002]), Translated::Ignore("chat is not in telegram.allowed_chats"));
        assert!(matches!(translate_with(&m, &[-1001]), Translated::Event { .. }));
        let m = message(json!({"sticker": null}));
        assert_eq!(kind(&m), Err("message without text"));
    }

    #[test]
    fn the_whole_event_for_a_command() {
        let m = message(
            json!({"text": "/oncall high db down", "entities": [{"type":"bot_command","offset":0,"length":7}]}),
        );
        let Translated::Event { event, dedup_keys, topic } = translate_with(&m, &[]) else { panic!() };
        assert_eq!(
            *event,
            Inbound {
                platform: Platform::Telegram,
                event_id: "10".into(),
                channel: "-1001".into(),
                thread: None,
                message_id: Some("7".into()),
                user: Person::new("telegram", "42", Some("alice".into())),
                kind: InboundKind::Command { text: "open high db down".into() },
                reply: ReplyHandle::default(),
                received_at: now(),
            }
        );
        assert_eq!(dedup_keys, vec!["telegram:update:10".to_string()]);
        assert_eq!(topic, None);
    }

    fn callback(data: Option<&str>, chat: i64) -> Update {
        let mut q = json!({
            "id": "cbq-1", "chat_instance": "ci-1",
            "from": serde_json::from_str::<serde_json::Value>(ALICE).unwrap(),
            "message": {"message_id": 8, "date": 1_700_000_000,
                "chat": {"id": chat, "type": "supergroup", "title": "incidents"},
                "from": {"id": 999, "is_bot": true, "first_name": "warroom", "username": "warroom_bot"},
                "text": "#1 · disk full"},
        });
        if let Some(d) = data {
            q["data"] = json!(d);
        }
        update(json!({"update_id": 11, "callback_query": q}))
    }

    #[test]
    fn button_presses_become_actions_or_are_answered_at_once() {
        let Translated::Event { event, dedup_keys, .. } =
            translate_with(&callback(Some("ack:1"), -1001), &[])
        else {
            panic!()
        };
        assert_eq!(event.kind, InboundKind::Action { action: ActionKind::Ack, incident: 1 });
        assert_eq!(event.reply.token.as_deref(), Some("cbq-1"));
        assert_eq!(event.channel, "-1001");
        assert_eq!(event.message_id.as_deref(), Some("8"));
        assert_eq!(dedup_keys, vec!["telegram:update:11".to_string()]);

        let invalid = Translated::Answer { callback_query_id: "cbq-1".into(), text: Some(INVALID_BUTTON) };
        assert_eq!(translate_with(&callback(Some("drop_tables:1"), -1001), &[]), invalid);
        assert_eq!(translate_with(&callback(None, -1001), &[]), invalid);
        assert_eq!(
            translate_with(&callback(Some("ack:1"), -2002), &[-1001]),
            Translated::Answer { callback_query_id: "cbq-1".into(), text: None }
        );
    }

    #[test]
    fn other_update_types_are_ignored() {
        let u = parse_update(br#"{"update_id":12,"edited_message":{"message_id":7,"date":1700000000,"chat":{"id":-1001,"type":"supergroup","title":"x"},"from":{"id":42,"is_bot":false,"first_name":"A"},"text":"x"}}"#).unwrap();
        assert_eq!(translate_with(&u, &[]), Translated::Ignore("update type warroom does not handle"));
    }

    #[test]
    fn help_and_mistakes_speak_telegram() {
        use crate::engine::commands::{parse, USAGE};
        let help = in_telegram_words(USAGE);
        assert!(help.starts_with("Usage:\n  /oncall [critical|high|medium|low] <title> — open"), "{help}");
        for line in
            ["/status [id]", "/ack <id>", "/resolve <id>", "/note <id> <text>", "/help", "times in UTC"]
        {
            assert!(help.contains(line), "{line} missing from:\n{help}");
        }
        assert!(!help.contains("/incident"), "{help}");
        // A mistake keeps its reason and gets the Telegram help.
        let Err(mistake) = parse(&rewrite("ack", "").unwrap()) else { panic!("ack needs an id") };
        let said = in_telegram_words(&mistake);
        assert!(said.ends_with(&help) && !said.contains("Usage: /incident"), "{said}");
        // Every line of the help is a command that is understood.
        for alias in COMMANDS.iter().filter(|a| a.usage.is_some()) {
            assert!(rewrite(alias.name, "").is_some(), "{}", alias.name);
        }
    }

    #[test]
    fn menu_commands_follow_telegram_rules() {
        for alias in COMMANDS {
            assert!(alias.name.len() <= 32 && alias.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            if let Some(menu) = alias.menu {
                assert!((1..=256).contains(&menu.len()), "{}", alias.name);
            }
        }
    }
}
