//! [`RichMessage`] → a Discord message body: an embed coloured by severity plus action
//! rows of buttons, or plain `content` for one-liners. Pure; tested with snapshots.
//!
//! Every limit Discord enforces is respected here, so a long alert is cut rather than
//! refused (<https://discord.com/developers/docs/resources/message#create-message>,
//! <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>):
//! content 2000, embed title 256, description 4096, ≤ 25 fields (name 256 / value 1024),
//! footer 2048, 6000 characters across the embed; ≤ 5 buttons per row, ≤ 5 rows, labels
//! ≤ 80 (<https://discord.com/developers/docs/components/reference#button>).
//!
//! User and alert text is untrusted: Discord markdown in it is backslash-escaped and
//! mass mentions are broken, and every body carries `allowed_mentions: {"parse": []}` so
//! nothing the bot posts can ping anyone
//! (<https://discord.com/developers/docs/resources/message#allowed-mentions-object>).

use serde_json::{json, Value};

use crate::model::{ActionKind, Button, RichMessage};

pub const CONTENT_CHARS: usize = 2000;
pub const TITLE_CHARS: usize = 256;
pub const DESCRIPTION_CHARS: usize = 4096;
pub const FIELDS: usize = 25;
pub const FIELD_NAME_CHARS: usize = 256;
pub const FIELD_VALUE_CHARS: usize = 1024;
pub const FOOTER_CHARS: usize = 2048;
pub const EMBED_TOTAL_CHARS: usize = 6000;
pub const BUTTONS_PER_ROW: usize = 5;
pub const ROWS: usize = 5;
pub const LABEL_CHARS: usize = 80;
/// Thread names are 1–100 characters
/// (<https://discord.com/developers/docs/resources/channel#start-thread-from-message>).
pub const THREAD_NAME_CHARS: usize = 100;

/// Characters Discord markdown gives a meaning to. Discord documents no escape
/// function; a backslash before any punctuation shows it literally (platform-facts §2).
/// `<` covers `<@user>`, `<@&role>`, `<#channel>` and `<t:…>`; `[` `]` masked links.
const MARKDOWN: &[char] = &['\\', '*', '_', '~', '`', '|', '>', '#', '<', '[', ']'];

/// Escapes untrusted text for Discord markdown, keeping URLs intact (an escaped URL
/// would no longer be a working link, and Discord does not format inside URLs anyway).
pub fn escape(text: &str) -> String {
    escape_units(text).concat()
}

/// [`escape`], then cut to at most `max` characters with a trailing `…`, never in the
/// middle of an escape (a lone trailing backslash would swallow the `…`).
pub fn escape_within(text: &str, max: usize) -> String {
    let units = escape_units(text);
    let total: usize = units.iter().map(|u| u.chars().count()).sum();
    if total <= max {
        return units.concat();
    }
    let mut out = String::new();
    let mut len = 0;
    for unit in units {
        let n = unit.chars().count();
        if len + n > max.saturating_sub(1) {
            break;
        }
        out.push_str(&unit);
        len += n;
    }
    out.push('…');
    out
}

/// The escaped text as indivisible pieces: one character, its escape, or a URL.
fn escape_units(text: &str) -> Vec<String> {
    let mut units = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("https://") || rest.starts_with("http://") {
            let end = rest.find(|c: char| c.is_whitespace() || c == '<').unwrap_or(rest.len());
            // Verbatim, one character per unit: a cut may end inside a URL, never
            // inside an escape.
            for ch in rest[..end].chars() {
                units.push(ch.to_string());
            }
            rest = &rest[end..];
            continue;
        }
        if c == '@' && (rest[1..].starts_with("everyone") || rest[1..].starts_with("here")) {
            // A zero-width space breaks the mass mention while reading the same.
            units.push("@\u{200B}".to_string());
        } else if MARKDOWN.contains(&c) {
            units.push(format!("\\{c}"));
        } else {
            units.push(c.to_string());
        }
        rest = &rest[c.len_utf8()..];
    }
    units
}

/// Cuts plain text (no markdown: footers, thread names, labels) to `max` characters.
fn cut(text: &str, max: usize) -> String {
    crate::model::truncate_chars(text, max)
}

/// Whether the message is a plain one-liner rather than a card.
fn is_plain(message: &RichMessage) -> bool {
    message.title.is_empty()
        && message.severity.is_none()
        && message.status.is_none()
        && message.fields.is_empty()
        && message.footer.is_none()
}

/// Sections as markdown: headings bold, bodies escaped, cut to `max` characters.
fn sections_markdown(message: &RichMessage, max: usize) -> String {
    let mut out = String::new();
    for section in &message.sections {
        let sep = if out.is_empty() { "" } else { "\n\n" };
        let heading = match &section.heading {
            Some(h) => format!("**{}**\n", escape_within(h, 200)),
            None => String::new(),
        };
        let used = out.chars().count() + sep.chars().count() + heading.chars().count();
        if used >= max {
            break;
        }
        let body = escape_within(&section.body, max - used);
        out.push_str(sep);
        out.push_str(&heading);
        out.push_str(&body);
    }
    out
}

/// The message body for `POST /channels/{id}/messages` and `PATCH …/messages/{id}`.
/// Edits send `content`, `embeds` and `components` every time so a card that loses its
/// buttons (resolved) really loses them.
pub fn message(message: &RichMessage) -> Value {
    let components = components(&message.buttons);
    let (mentions, allowed) = mentions(message);
    if is_plain(message) {
        let content = sections_markdown(message, usize::MAX);
        let content = if mentions.is_empty() { content } else { format!("{mentions} {content}") };
        if content.chars().count() <= CONTENT_CHARS {
            return json!({
                "content": content,
                "embeds": [],
                "components": components,
                "allowed_mentions": allowed,
            });
        }
    }
    json!({
        "content": mentions,
        "embeds": [embed(message)],
        "components": components,
        "allowed_mentions": allowed,
    })
}

/// The message's configured mentions (`<@123>` users, `<@&456>` roles), written as
/// they are, and the `allowed_mentions` that lets exactly those ping — nothing from
/// chat or alert text can.
fn mentions(message: &RichMessage) -> (String, Value) {
    let mentions = crate::model::mentions_for(&message.mentions, crate::model::Platform::Discord);
    let ids = |prefix: &str| -> Vec<String> {
        mentions
            .iter()
            .filter_map(|m| m.strip_prefix(prefix)?.strip_suffix('>'))
            .map(|id| id.trim_start_matches('!').to_string())
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
            .collect()
    };
    let roles = ids("<@&");
    let users: Vec<String> = ids("<@").into_iter().filter(|id| !roles.contains(id)).collect();
    let mut allowed = json!({"parse": []});
    if !users.is_empty() {
        allowed["users"] = json!(users);
    }
    if !roles.is_empty() {
        allowed["roles"] = json!(roles);
    }
    (cut(&mentions.join(" "), 500), allowed)
}

/// One embed within every per-part limit and the 6000-character total. Fields are
/// kept before the description, which gets whatever room is left.
pub fn embed(message: &RichMessage) -> Value {
    let title = escape_within(&message.title, TITLE_CHARS);
    let footer = message.footer.as_deref().map(|f| cut(f, FOOTER_CHARS));
    let mut used = title.chars().count() + footer.as_deref().map_or(0, |f| f.chars().count());
    // Leave the description at least this much room when fields are many.
    let reserve = 500.min(message.sections.iter().map(|s| s.body.chars().count()).sum::<usize>());
    let mut fields = Vec::new();
    for (name, value) in message.fields.iter().take(FIELDS) {
        let name = non_empty(escape_within(name, FIELD_NAME_CHARS));
        let value = non_empty(escape_within(value, FIELD_VALUE_CHARS));
        let n = name.chars().count() + value.chars().count();
        if used + n + reserve > EMBED_TOTAL_CHARS {
            break;
        }
        used += n;
        let inline = value.chars().count() <= 60;
        fields.push(json!({"name": name, "value": value, "inline": inline}));
    }
    let room = DESCRIPTION_CHARS.min(EMBED_TOTAL_CHARS.saturating_sub(used));
    let description = sections_markdown(message, room);
    let mut embed = json!({"title": title, "fields": fields});
    if !description.is_empty() {
        embed["description"] = json!(description);
    }
    if let Some(severity) = message.severity {
        embed["color"] = json!(severity.color());
    }
    if let Some(footer) = footer.filter(|f| !f.is_empty()) {
        embed["footer"] = json!({"text": footer});
    }
    embed
}

/// Discord refuses empty field names and values.
fn non_empty(text: String) -> String {
    if text.trim().is_empty() {
        "\u{200B}".to_string()
    } else {
        text
    }
}

/// Button style by what it does: primary for the first responder step, danger for
/// paging more people, success for the good news.
/// <https://discord.com/developers/docs/components/reference#button-button-styles>
fn style(action: ActionKind) -> u8 {
    match action {
        ActionKind::Ack => 1,
        ActionKind::Escalate => 4,
        ActionKind::Mitigate | ActionKind::Resolve => 3,
        ActionKind::Reopen | ActionKind::Refresh => 2,
    }
}

/// Action rows of buttons: ≤ 5 per row, ≤ 5 rows, `custom_id` = [`ActionKind::encode`]
/// (unique per message, so duplicates are dropped).
pub fn components(buttons: &[Button]) -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    let buttons: Vec<Value> = buttons
        .iter()
        .filter(|b| seen.insert(b.action.encode(b.incident)))
        .take(BUTTONS_PER_ROW * ROWS)
        .map(|b| {
            json!({
                "type": 2,
                "style": style(b.action),
                "label": cut(b.action.label(), LABEL_CHARS),
                "custom_id": b.action.encode(b.incident),
            })
        })
        .collect();
    buttons.chunks(BUTTONS_PER_ROW).map(|row| json!({"type": 1, "components": row})).collect()
}

/// A thread's name from the message that starts it: its title, else its first line.
pub fn thread_name(message: &RichMessage) -> String {
    let source = if message.title.trim().is_empty() { message.plain_text() } else { message.title.clone() };
    let line = source.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("incident");
    cut(line, THREAD_NAME_CHARS)
}

/// An ephemeral answer to the person behind an interaction (flags 64 = only they see it).
/// <https://discord.com/developers/docs/interactions/receiving-and-responding#create-followup-message>
pub fn ephemeral(text: &str) -> Value {
    json!({
        "content": escape_within(text, CONTENT_CHARS),
        "flags": 64,
        "allowed_mentions": {"parse": []},
    })
}

/// A plain message with `text` (replies where there is no interaction to answer).
pub fn plain(text: &str) -> Value {
    json!({"content": escape_within(text, CONTENT_CHARS), "allowed_mentions": {"parse": []}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Section, Severity, Status};

    fn card() -> RichMessage {
        RichMessage {
            title: "#3 · checkout 502s".into(),
            severity: Some(Severity::High),
            status: Some(Status::Open),
            sections: vec![Section { heading: None, body: "p99 9s on checkout-api".into() }],
            fields: vec![
                ("Severity".into(), "🟠 high (unconfirmed)".into()),
                ("Status".into(), "OPEN".into()),
            ],
            buttons: Button::lifecycle(3),
            footer: Some("opened 2026-11-23 02:00 UTC".into()),
            mentions: vec![],
        }
    }

    #[test]
    fn a_card_is_an_embed_coloured_by_severity_with_four_buttons() {
        assert_eq!(
            message(&card()),
            json!({
                "content": "",
                "embeds": [{
                    "title": "\\#3 · checkout 502s",
                    "description": "p99 9s on checkout-api",
                    "color": 0xF57C00,
                    "fields": [
                        {"name": "Severity", "value": "🟠 high (unconfirmed)", "inline": true},
                        {"name": "Status", "value": "OPEN", "inline": true},
                    ],
                    "footer": {"text": "opened 2026-11-23 02:00 UTC"},
                }],
                "components": [{"type": 1, "components": [
                    {"type": 2, "style": 1, "label": "Acknowledge", "custom_id": "ack:3"},
                    {"type": 2, "style": 4, "label": "Escalate", "custom_id": "escalate:3"},
                    {"type": 2, "style": 3, "label": "Mitigated", "custom_id": "mitigate:3"},
                    {"type": 2, "style": 3, "label": "Resolve", "custom_id": "resolve:3"},
                ]}],
                "allowed_mentions": {"parse": []},
            })
        );
    }

    #[test]
    fn a_one_liner_is_plain_content() {
        assert_eq!(
            message(&RichMessage::text("📟 Paging @oncall for #3.")),
            json!({
                "content": "📟 Paging @oncall for \\#3.",
                "embeds": [],
                "components": [],
                "allowed_mentions": {"parse": []},
            })
        );
        // Too long for content: it becomes an embed description instead of being refused.
        let long = message(&RichMessage::text("x".repeat(2500)));
        assert_eq!(long["content"], "");
        assert_eq!(long["embeds"][0]["description"].as_str().unwrap().len(), 2500);
    }

    #[test]
    fn hostile_text_is_escaped_and_mentions_are_broken() {
        let cases = [
            (
                "**bold** _it_ ~~s~~ `code` ||spoiler||",
                "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~ \\`code\\` \\|\\|spoiler\\|\\|",
            ),
            ("> quote\n# heading", "\\> quote\n\\# heading"),
            ("ping @everyone and @here", "ping @\u{200B}everyone and @\u{200B}here"),
            ("<@123> <@&456> <#789>", "\\<@123\\> \\<@&456\\> \\<\\#789\\>"),
            ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
            ("back\\slash", "back\\\\slash"),
            // URLs stay clickable: nothing is escaped inside them.
            (
                "see https://grafana.example/d/a_b?x=1#panel_2 now",
                "see https://grafana.example/d/a_b?x=1#panel_2 now",
            ),
            ("https://x.example/<@1>", "https://x.example/\\<@1\\>"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected, "{input}");
        }
    }

    #[test]
    fn cuts_never_split_an_escape() {
        assert_eq!(escape_within("abc", 3), "abc");
        assert_eq!(escape_within("abcd", 3), "ab…");
        // "a\*" is 3 characters; the escape does not fit in 2, so it is dropped whole.
        assert_eq!(escape_within("a*bc", 3), "a…");
        assert_eq!(escape_within("日本語のテキスト", 4), "日本語…");
    }

    #[test]
    fn every_limit_holds_for_an_enormous_message() {
        let huge = RichMessage {
            title: "t".repeat(1000),
            severity: Some(Severity::Critical),
            sections: vec![
                Section { heading: Some("Alert".into()), body: "d".repeat(5000) },
                Section { heading: Some("More".into()), body: "e".repeat(5000) },
            ],
            fields: (0..40).map(|i| (format!("field {i} {}", "n".repeat(300)), "v".repeat(2000))).collect(),
            buttons: (0..40).map(|i| Button { action: ActionKind::Ack, incident: i }).collect(),
            footer: Some("f".repeat(3000)),
            ..Default::default()
        };
        let body = message(&huge);
        let embed = &body["embeds"][0];
        let len = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
        assert_eq!(len(&embed["title"]), TITLE_CHARS);
        assert!(len(&embed["description"]) <= DESCRIPTION_CHARS);
        assert_eq!(len(&embed["footer"]["text"]), FOOTER_CHARS);
        let fields = embed["fields"].as_array().unwrap();
        assert!(fields.len() <= FIELDS);
        let mut total = len(&embed["title"]) + len(&embed["description"]) + len(&embed["footer"]["text"]);
        for f in fields {
            assert!(len(&f["name"]) <= FIELD_NAME_CHARS && len(&f["value"]) <= FIELD_VALUE_CHARS);
            total += len(&f["name"]) + len(&f["value"]);
        }
        assert!(total <= EMBED_TOTAL_CHARS, "{total}");
        assert!(len(&embed["description"]) > 0, "the description keeps some room");
        let rows = body["components"].as_array().unwrap();
        assert_eq!(rows.len(), ROWS);
        assert!(rows.iter().all(|r| r["components"].as_array().unwrap().len() <= BUTTONS_PER_ROW));
    }

    #[test]
    fn a_5000_character_description_is_cut_to_4096() {
        let alert = RichMessage {
            title: "disk full".into(),
            sections: vec![Section { heading: None, body: "x".repeat(5000) }],
            ..Default::default()
        };
        let description = message(&alert)["embeds"][0]["description"].as_str().unwrap().to_string();
        assert_eq!(description.chars().count(), DESCRIPTION_CHARS);
        assert!(description.ends_with('…'));
    }

    #[test]
    fn thread_names_come_from_the_title_and_fit() {
        assert_eq!(thread_name(&card()), "#3 · checkout 502s");
        assert_eq!(thread_name(&RichMessage::text("\n  first line\nsecond")), "first line");
        assert_eq!(thread_name(&RichMessage::default()), "incident");
        assert_eq!(
            thread_name(&RichMessage { title: "y".repeat(300), ..Default::default() }).chars().count(),
            100
        );
    }

    #[test]
    fn ephemeral_answers_are_flagged_and_cannot_ping() {
        assert_eq!(
            ephemeral("⚠️ you cannot resolve #3 @everyone"),
            json!({"content": "⚠️ you cannot resolve \\#3 @\u{200B}everyone", "flags": 64, "allowed_mentions": {"parse": []}})
        );
    }

    #[test]
    fn configured_mentions_ping_and_nothing_else_does() {
        let page = RichMessage {
            mentions: vec![
                "discord:<@80351110224678912>".into(),
                "discord:<@&555>".into(),
                "slack:<@U1>".into(),
            ],
            ..RichMessage::text("📣 #3 escalated (step 1). <@999> @everyone")
        };
        let body = message(&page);
        assert_eq!(
            body["allowed_mentions"],
            json!({"parse": [], "users": ["80351110224678912"], "roles": ["555"]})
        );
        let content = body["content"].as_str().unwrap();
        assert!(content.starts_with("<@80351110224678912> <@&555> "), "{content}");
        assert!(!content.contains("<@U1>") && !content.contains("<@999>"), "{content}");
    }
}
