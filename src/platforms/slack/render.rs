//! [`RichMessage`] → Slack Block Kit + mrkdwn. Pure and snapshot-tested.
//!
//! Limits (platform-facts §1): ≤ 50 blocks, section text ≤ 3000 chars, ≤ 10 fields of
//! ≤ 2000 chars, ≤ 25 elements per actions block, button text ≤ 75, value ≤ 2000.
//! User text is escaped (`&`, `<`, `>` only), which also defuses `<!channel>`,
//! `<@U…>` and `<url|spoofed>` in untrusted content.

use slack_morphism::prelude::*;

use crate::model::{truncate_chars, ActionKind, RichMessage};

const MAX_BLOCKS: usize = 50;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;
const MAX_FIELDS: usize = 10;
/// Notification fallback text: short, it shows in push notifications.
const FALLBACK_CHARS: usize = 300;

/// Escapes text for mrkdwn: only `&`, `<` and `>` (Slack's documented rule).
/// <https://docs.slack.dev/messaging/formatting-message-text#escaping>
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes and cuts to `max` characters (cutting before escaping would break entities).
fn escaped(text: &str, max: usize) -> String {
    let mut out = escape(text);
    if out.chars().count() > max {
        // Cut the raw text until its escaped form fits.
        let mut keep = max.saturating_sub(1);
        loop {
            out = escape(&text.chars().take(keep).collect::<String>());
            if out.chars().count() < max || keep == 0 {
                break;
            }
            keep = keep.saturating_sub(16);
        }
        out.push('…');
    }
    out
}

/// The `text` of a message: what notifications and screen readers show.
pub fn fallback_text(message: &RichMessage) -> String {
    let plain = RichMessage { mentions: Vec::new(), ..message.clone() };
    let first = if message.title.is_empty() { plain.plain_text() } else { message.title.clone() };
    let prefix = message.severity.map(|s| format!("{} ", s.emoji())).unwrap_or_default();
    let text = escaped(&format!("{prefix}{first}"), FALLBACK_CHARS);
    match mentions(message) {
        Some(m) => format!("{m} {text}"),
        None => text,
    }
}

/// The message's mentions for Slack, as configured (`<@U123>`, `<!subteam^S1>`): not
/// escaped, so they notify.
fn mentions(message: &RichMessage) -> Option<String> {
    let mentions = crate::model::mentions_for(&message.mentions, crate::model::Platform::Slack);
    (!mentions.is_empty()).then(|| mentions.join(" "))
}

fn button_style(action: ActionKind) -> Option<SlackBlockButtonStyle> {
    match action {
        ActionKind::Ack => Some(SlackBlockButtonStyle::Primary),
        ActionKind::Escalate => Some(SlackBlockButtonStyle::Danger),
        _ => None,
    }
}

/// Block Kit blocks for a message.
pub fn blocks(message: &RichMessage) -> Vec<SlackBlock> {
    let mut blocks: Vec<SlackBlock> = Vec::new();
    if let Some(mentions) = mentions(message) {
        blocks.push(SlackSectionBlock::new().with_text(md!(mentions)).into());
    }
    if !message.title.is_empty() {
        let mut title = String::new();
        if let Some(sev) = message.severity {
            title.push_str(sev.emoji());
            title.push(' ');
        }
        title.push('*');
        title.push_str(&escaped(&message.title, SECTION_CHARS - 40));
        title.push('*');
        if let Some(status) = message.status {
            title.push_str(&format!("  `{}`", status.label()));
        }
        blocks.push(SlackSectionBlock::new().with_text(md!(title)).into());
    }
    if !message.fields.is_empty() {
        let fields: Vec<SlackBlockText> = message
            .fields
            .iter()
            .take(MAX_FIELDS)
            .map(|(name, value)| {
                md!(format!("*{}*\n{}", escaped(name, 100), escaped(value, FIELD_CHARS - 110)))
            })
            .collect();
        blocks.push(SlackSectionBlock::new().with_fields(fields).into());
    }
    // Leave room for the actions and context blocks.
    let room = MAX_BLOCKS - blocks.len() - 2;
    for section in message.sections.iter().take(room) {
        let mut text = String::new();
        if let Some(heading) = &section.heading {
            text.push_str(&format!("*{}*\n", escaped(heading, 200)));
        }
        let budget = SECTION_CHARS - text.chars().count();
        text.push_str(&escaped(&section.body, budget));
        if text.trim().is_empty() {
            continue;
        }
        blocks.push(SlackSectionBlock::new().with_text(md!(text)).into());
    }
    if !message.buttons.is_empty() {
        let elements: Vec<SlackActionBlockElement> = message
            .buttons
            .iter()
            .take(25)
            .map(|b| {
                let mut button = SlackBlockButtonElement::new(pt!(b.action.label()))
                    .with_action_id(SlackActionId(b.action.as_str().to_string()))
                    .with_value(b.action.encode(b.incident));
                if let Some(style) = button_style(b.action) {
                    button = button.with_style(style);
                }
                button.into()
            })
            .collect();
        blocks.push(SlackActionsBlock::new(elements).into());
    }
    if let Some(footer) = &message.footer {
        blocks.push(
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(
                escaped(footer, SECTION_CHARS),
            ))])
            .into(),
        );
    }
    blocks
}

/// Everything `chat.postMessage` / `chat.update` need.
pub fn content(message: &RichMessage) -> SlackMessageContent {
    SlackMessageContent::new().with_text(fallback_text(message)).with_blocks(blocks(message))
}

/// Plain text truncated for an ephemeral reply (its `text` is mrkdwn).
pub fn reply_text(text: &str) -> String {
    escaped(&truncate_chars(text, 3900), 3900)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Button, Severity, Status};
    use serde_json::json;

    #[test]
    fn escaping_defuses_mentions_links_and_entities() {
        assert_eq!(
            escape("<!channel> ping <@U1> & <https://evil|bank>"),
            "&lt;!channel&gt; ping &lt;@U1&gt; &amp; &lt;https://evil|bank&gt;"
        );
        assert_eq!(escape("*bold* _it_ ~s~"), "*bold* _it_ ~s~", "nothing else is encoded");
    }

    #[test]
    fn an_incident_card_snapshot() {
        let card = RichMessage {
            title: "#42 · checkout <500s>".into(),
            severity: Some(Severity::High),
            status: Some(Status::Open),
            fields: vec![
                ("Severity".into(), "🟠 high (unconfirmed)".into()),
                ("Reported by".into(), "alice".into()),
            ],
            sections: vec![crate::model::Section {
                heading: Some("Labels".into()),
                body: "service=checkout".into(),
            }],
            buttons: Button::lifecycle(42),
            footer: Some("opened 02:00 UTC".into()),
            mentions: vec![],
        };
        let rendered = serde_json::to_value(blocks(&card)).unwrap();
        assert_eq!(
            rendered,
            json!([
                {"type":"section","text":{"type":"mrkdwn","text":"🟠 *#42 · checkout &lt;500s&gt;*  `OPEN`"}},
                {"type":"section","fields":[
                    {"type":"mrkdwn","text":"*Severity*\n🟠 high (unconfirmed)"},
                    {"type":"mrkdwn","text":"*Reported by*\nalice"}]},
                {"type":"section","text":{"type":"mrkdwn","text":"*Labels*\nservice=checkout"}},
                {"type":"actions","elements":[
                    {"type":"button","action_id":"ack","text":{"type":"plain_text","text":"Acknowledge"},"value":"ack:42","style":"primary"},
                    {"type":"button","action_id":"escalate","text":{"type":"plain_text","text":"Escalate"},"value":"escalate:42","style":"danger"},
                    {"type":"button","action_id":"mitigate","text":{"type":"plain_text","text":"Mitigated"},"value":"mitigate:42"},
                    {"type":"button","action_id":"resolve","text":{"type":"plain_text","text":"Resolve"},"value":"resolve:42"}]},
                {"type":"context","elements":[{"type":"mrkdwn","text":"opened 02:00 UTC"}]}
            ])
        );
        assert_eq!(fallback_text(&card), "🟠 #42 · checkout &lt;500s&gt;");
    }

    #[test]
    fn limits_hold_for_huge_messages() {
        let mut message = RichMessage::text("x".repeat(10_000));
        for i in 0..80 {
            message = message.with_section(Some("h"), format!("<{i}>").repeat(2000));
            message = message.with_field(format!("f{i}"), "v".repeat(5000));
        }
        message.buttons = (0..40).map(|i| Button { action: ActionKind::Ack, incident: i }).collect();
        message.footer = Some("f".into());
        let blocks = serde_json::to_value(blocks(&message)).unwrap();
        let blocks = blocks.as_array().unwrap();
        assert!(blocks.len() <= MAX_BLOCKS, "{}", blocks.len());
        for block in blocks {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(text.chars().count() <= SECTION_CHARS, "{}", text.chars().count());
                assert!(!text.contains('<'), "escaped");
            }
            if let Some(fields) = block["fields"].as_array() {
                assert!(fields.len() <= MAX_FIELDS);
                assert!(fields.iter().all(|f| f["text"].as_str().unwrap().chars().count() <= FIELD_CHARS));
            }
            if let Some(elements) = block["elements"].as_array() {
                assert!(elements.len() <= 25);
            }
        }
    }
}
