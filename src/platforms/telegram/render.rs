//! [`RichMessage`] → Telegram HTML and an inline keyboard, with no I/O.
//!
//! HTML parse mode because its escaping is the simplest and safest for untrusted text:
//! only `<`, `>` and `&` are replaced (<https://core.telegram.org/bots/api#html-style>).
//! Every emitted line opens and closes its own tags, so a message can be split between
//! any two lines without breaking the markup.
//!
//! Telegram refuses texts over 4096 characters (counted after entity parsing). Long
//! messages are split into parts: between blocks (title and fields, each section, the
//! footer) where possible, else between lines, else inside an over-long line at a space.
//! Lengths are measured on the HTML itself in UTF-16 units, which is never less than
//! what Telegram counts, so a part is never refused for its length.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::model::{ActionKind, Button, RichMessage};

/// Longest text of one message (<https://core.telegram.org/bots/api#sendmessage>).
pub const MAX_TEXT: usize = 4096;
/// Longest `callback_data`, in bytes (<https://core.telegram.org/bots/api#inlinekeyboardbutton>).
pub const MAX_CALLBACK_DATA: usize = 64;
/// Longest text of a callback answer (<https://core.telegram.org/bots/api#answercallbackquery>).
pub const MAX_CALLBACK_TEXT: usize = 200;
/// Buttons per keyboard row: two keeps the labels readable on a phone.
const BUTTONS_PER_ROW: usize = 2;

/// A message ready to send: one or more texts, the keyboard goes on the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub parts: Vec<String>,
    pub keyboard: Option<InlineKeyboardMarkup>,
}

/// Escapes text for HTML parse mode: `<`, `>` and `&`, nothing else.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// One output line: `open` and `close` are markup, `text` is raw and escaped on output.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    open: String,
    text: String,
    close: String,
}

impl Line {
    fn plain(text: &str) -> Self {
        Self { open: String::new(), text: text.to_string(), close: String::new() }
    }

    fn html(&self) -> String {
        format!("{}{}{}", self.open, escape(&self.text), self.close)
    }

    /// The line as one or more HTML lines of at most `limit` units each, cut at spaces
    /// where possible; each piece repeats the line's tags so the markup stays valid.
    fn pieces(&self, limit: usize) -> Vec<String> {
        let whole = self.html();
        if units(&whole) <= limit {
            return vec![whole];
        }
        let budget = limit.saturating_sub(units(&self.open) + units(&self.close)).max(1);
        chunk(&self.text, budget)
            .into_iter()
            .map(|c| format!("{}{}{}", self.open, escape(c), self.close))
            .collect()
    }
}

/// Length as Telegram measures strings (UTF-16 code units).
fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Length of one character once escaped.
fn escaped_units(c: char) -> usize {
    match c {
        '<' | '>' => 4,
        '&' => 5,
        c => c.len_utf16(),
    }
}

/// Cuts raw `text` into pieces whose escaped length fits `budget`, at whitespace when
/// there is any in the piece.
fn chunk(text: &str, budget: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.chars().map(escaped_units).sum::<usize>() > budget {
        let mut used = 0;
        let mut end = 0;
        let mut space = None;
        for (i, c) in rest.char_indices() {
            let cost = escaped_units(c);
            if used + cost > budget {
                break;
            }
            used += cost;
            end = i + c.len_utf8();
            if c.is_whitespace() && i > 0 {
                space = Some(i);
            }
        }
        let cut = match space {
            Some(s) => s,
            // Always make progress, even with a budget smaller than one character.
            None if end == 0 => rest.chars().next().map_or(rest.len(), char::len_utf8),
            None => end,
        };
        out.push(&rest[..cut]);
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The message's blocks of lines: title and fields, each section, the footer.
fn blocks(message: &RichMessage) -> Vec<Vec<Line>> {
    let mut blocks = Vec::new();
    let mut head = Vec::new();
    // Mentions come from the operator's config and go in as written (`@alice`, or
    // `<a href="tg://user?id=42">Alice</a>` for people without a username).
    let mentions = crate::model::mentions_for(&message.mentions, crate::model::Platform::Telegram);
    if !mentions.is_empty() {
        head.push(Line { open: mentions.join(" "), text: String::new(), close: String::new() });
    }
    if !message.title.is_empty() {
        let open = match message.severity {
            Some(sev) => format!("{} <b>", sev.emoji()),
            None => "<b>".to_string(),
        };
        let close = match message.status {
            Some(status) => format!("</b> [{}]", escape(status.label())),
            None => "</b>".to_string(),
        };
        head.push(Line { open, text: message.title.clone(), close });
    }
    for (name, value) in &message.fields {
        head.push(Line {
            open: format!("<b>{}:</b> ", escape(name)),
            text: value.clone(),
            close: String::new(),
        });
    }
    if !head.is_empty() {
        blocks.push(head);
    }
    for section in &message.sections {
        let mut block = Vec::new();
        if let Some(heading) = &section.heading {
            block.push(Line { open: "<b>".into(), text: heading.clone(), close: "</b>".into() });
        }
        block.extend(section.body.trim_end().lines().map(Line::plain));
        if !block.is_empty() {
            blocks.push(block);
        }
    }
    if let Some(footer) = &message.footer {
        blocks.push(
            footer
                .lines()
                .map(|l| Line { open: "<i>".into(), text: l.into(), close: "</i>".into() })
                .collect(),
        );
    }
    blocks
}

/// Packs blocks into parts of at most `limit` units: blocks stay whole when they fit in
/// a part, lines when they fit at all.
fn pack(blocks: Vec<Vec<Line>>, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let push = |current: &mut String, piece: &str, sep: &str, parts: &mut Vec<String>| {
        if current.is_empty() {
            current.push_str(piece);
        } else if units(current) + units(sep) + units(piece) <= limit {
            current.push_str(sep);
            current.push_str(piece);
        } else {
            parts.push(std::mem::take(current));
            current.push_str(piece);
        }
    };
    for block in blocks {
        let html = block.iter().map(Line::html).collect::<Vec<_>>().join("\n");
        if units(&html) <= limit {
            push(&mut current, &html, "\n\n", &mut parts);
            continue;
        }
        let mut first = true;
        for line in &block {
            for piece in line.pieces(limit) {
                push(&mut current, &piece, if first { "\n\n" } else { "\n" }, &mut parts);
                first = false;
            }
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    if parts.is_empty() {
        // Telegram refuses an empty text.
        parts.push("…".to_string());
    }
    parts
}

/// The inline keyboard for a message's buttons (`ack:42`, … as `callback_data`).
pub fn keyboard(buttons: &[Button]) -> Option<InlineKeyboardMarkup> {
    let buttons: Vec<InlineKeyboardButton> = buttons
        .iter()
        .map(|b| (b.action, b.action.encode(b.incident)))
        // An encoded payload is a short word and a number; the filter only documents the limit.
        .filter(|(_, data)| data.len() <= MAX_CALLBACK_DATA)
        .map(|(action, data): (ActionKind, String)| InlineKeyboardButton::callback(action.label(), data))
        .collect();
    if buttons.is_empty() {
        return None;
    }
    Some(InlineKeyboardMarkup::new(buttons.chunks(BUTTONS_PER_ROW).map(<[_]>::to_vec)))
}

/// Renders a message for `sendMessage`, split into parts when it is too long.
pub fn render(message: &RichMessage) -> Rendered {
    Rendered { parts: pack(blocks(message), MAX_TEXT), keyboard: keyboard(&message.buttons) }
}

/// Renders a message for `editMessageText`, which edits one message: when it no longer
/// fits, the first part is kept and marked as cut.
pub fn render_single(message: &RichMessage) -> (String, Option<InlineKeyboardMarkup>) {
    let marker = "\n…";
    let mut parts = pack(blocks(message), MAX_TEXT - units(marker));
    let mut text = parts.remove(0);
    if !parts.is_empty() {
        text.push_str(marker);
    }
    (text, keyboard(&message.buttons))
}

/// Renders a plain-text answer (command output), split when too long.
pub fn render_text(text: &str) -> Vec<String> {
    pack(vec![text.trim_end().lines().map(Line::plain).collect()], MAX_TEXT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Section, Severity, Status};

    fn card() -> RichMessage {
        RichMessage {
            title: "#42 · checkout <b>502s</b> & more".into(),
            severity: Some(Severity::High),
            status: Some(Status::Open),
            sections: vec![
                Section { heading: None, body: "p99 latency 9s, 30% 502\nif x < 3 && y > 2".into() },
                Section { heading: Some("Labels".into()), body: "service=checkout".into() },
            ],
            fields: vec![("Severity".into(), "🟠 high".into()), ("Reported by".into(), "<alice>".into())],
            buttons: Button::lifecycle(42),
            footer: Some("only a human can resolve".into()),
            mentions: vec![],
        }
    }

    #[test]
    fn a_card_renders_as_escaped_html_with_a_two_by_two_keyboard() {
        let rendered = render(&card());
        assert_eq!(
            rendered.parts,
            vec!["🟠 <b>#42 · checkout &lt;b&gt;502s&lt;/b&gt; &amp; more</b> [OPEN]\n\
                  <b>Severity:</b> 🟠 high\n\
                  <b>Reported by:</b> &lt;alice&gt;\n\
                  \n\
                  p99 latency 9s, 30% 502\n\
                  if x &lt; 3 &amp;&amp; y &gt; 2\n\
                  \n\
                  <b>Labels</b>\n\
                  service=checkout\n\
                  \n\
                  <i>only a human can resolve</i>"
                .to_string()]
        );
        let keyboard = serde_json::to_value(rendered.keyboard.unwrap()).unwrap();
        assert_eq!(
            keyboard,
            serde_json::json!({"inline_keyboard": [
                [{"text": "Acknowledge", "callback_data": "ack:42"}, {"text": "Escalate", "callback_data": "escalate:42"}],
                [{"text": "Mitigated", "callback_data": "mitigate:42"}, {"text": "Resolve", "callback_data": "resolve:42"}],
            ]})
        );
    }

    #[test]
    fn plain_text_is_only_escaped() {
        assert_eq!(render(&RichMessage::text("a <b> & c")).parts, vec!["a &lt;b&gt; &amp; c"]);
        assert_eq!(render(&RichMessage::text("x")).keyboard, None);
        assert_eq!(render(&RichMessage::default()).parts, vec!["…"]);
        assert_eq!(escape("Tom & \"Jerry\" <3"), "Tom &amp; \"Jerry\" &lt;3");
    }

    #[test]
    fn long_messages_split_between_blocks_then_lines_and_stay_balanced() {
        // Three sections of ~2400 units: no two fit in one part, so one per part.
        let line = "x".repeat(59);
        let body = vec![line.as_str(); 40].join("\n");
        let message = RichMessage {
            title: "runbook".into(),
            sections: (0..3)
                .map(|i| Section { heading: Some(format!("step {i}")), body: body.clone() })
                .collect(),
            buttons: Button::lifecycle(1),
            ..Default::default()
        };
        let parts = render(&message).parts;
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| units(p) <= MAX_TEXT));
        assert!(parts[0].starts_with("<b>runbook</b>\n\n<b>step 0</b>\n"));
        assert!(parts[1].starts_with("<b>step 1</b>\n") && parts[2].starts_with("<b>step 2</b>\n"));

        // One block far over the limit: split between its lines.
        let huge = vec![line.as_str(); 200].join("\n");
        let parts = render_text(&huge);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| units(p) <= MAX_TEXT && p.split('\n').all(|l| l == line)));
        assert_eq!(parts.iter().map(|p| p.split('\n').count()).sum::<usize>(), 200);
    }

    #[test]
    fn an_over_long_line_is_cut_at_spaces_and_never_inside_an_escape() {
        let words = "a&b ".repeat(3000);
        let parts = render_text(&words);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(units(part) <= MAX_TEXT);
            assert!(part.starts_with("a&amp;b") && part.ends_with("a&amp;b"), "{}", &part[part.len() - 20..]);
        }
        let no_spaces = "€".repeat(5000);
        let parts = render_text(&no_spaces);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts.concat(), no_spaces);
        // A title over the limit keeps its bold tags on every piece.
        let message = RichMessage { title: "t".repeat(5000), ..Default::default() };
        let parts = render(&message).parts;
        assert!(parts.iter().all(|p| p.starts_with("<b>") && p.ends_with("</b>") && units(p) <= MAX_TEXT));
    }

    #[test]
    fn an_edit_keeps_the_first_part_and_says_it_was_cut() {
        let message = RichMessage {
            title: "t".into(),
            sections: vec![Section { heading: None, body: "y\n".repeat(3000) }],
            buttons: Button::lifecycle(3),
            ..Default::default()
        };
        let (text, keyboard) = render_single(&message);
        assert!(units(&text) <= MAX_TEXT && text.ends_with("\n…"));
        assert!(keyboard.is_some());
        assert_eq!(render_single(&RichMessage::text("short")).0, "short");
    }

    #[test]
    fn configured_mentions_are_written_as_they_are() {
        let page = RichMessage {
            mentions: vec!["telegram:@oncall_alice".into(), "slack:<@U1>".into()],
            ..RichMessage::text("📣 #3 escalated <b>")
        };
        let rendered = render(&page);
        assert!(rendered.parts[0].starts_with("@oncall_alice\n"), "{}", rendered.parts[0]);
        assert!(
            rendered.parts[0].contains("&lt;b&gt;") && !rendered.parts[0].contains("U1"),
            "{}",
            rendered.parts[0]
        );
    }
}
