//! The console platform: the whole pipeline in a terminal (`warroom console`).
//!
//! You type as a user in the `#console` channel; the bot's messages are printed as
//! text with numbered buttons. Input:
//!
//! ```text
//! @warroom checkout is throwing 500s     a mention (starts a thread t<N>)
//! t3: investigate                         a reply in thread t3 (add @warroom to mention)
//! /incident open high db down             a slash command
//! 2                                       press button [2]
//! /quit                                   leave (so does end of input)
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{ChatPlatform, InboundContext, ReplyTarget, SendError};
use crate::model::{ActionKind, Inbound, InboundKind, IncidentId, MessageRef, Person, Platform, RichMessage};

/// The only channel of the console.
pub const CHANNEL: &str = "console";

/// What the user types, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Mention { thread: Option<String>, text: String },
    Reply { thread: String, text: String },
    Command(String),
    Press(usize),
    Quit,
    Empty,
}

/// Parses one input line (`bot` is the name people @mention).
pub fn parse_line(line: &str, bot: &str) -> Line {
    let line = line.trim();
    if line.is_empty() {
        return Line::Empty;
    }
    if line == "/quit" || line == "/exit" {
        return Line::Quit;
    }
    if let Some(rest) = line.strip_prefix("/incident") {
        return Line::Command(rest.trim().to_string());
    }
    if let Ok(n) = line.trim_start_matches('!').trim_start_matches('[').trim_end_matches(']').parse::<usize>()
    {
        return Line::Press(n);
    }
    let mention = format!("@{bot}");
    let (thread, text) = match line.split_once(':') {
        Some((t, rest))
            if t.starts_with('t') && t.len() > 1 && t[1..].chars().all(|c| c.is_ascii_digit()) =>
        {
            (Some(t[1..].to_string()), rest.trim())
        }
        _ => (None, line),
    };
    match thread {
        Some(thread) if text.contains(&mention) => {
            Line::Mention { thread: Some(thread), text: text.to_string() }
        }
        Some(thread) => Line::Reply { thread, text: text.to_string() },
        None => Line::Mention { thread: None, text: text.to_string() },
    }
}

/// Renders a message as console text; buttons get numbers from `buttons`.
pub fn render(message: &RichMessage, first_button: usize) -> String {
    let mut out = message.plain_text();
    if !message.buttons.is_empty() {
        out.push('\n');
        let labels: Vec<String> = message
            .buttons
            .iter()
            .enumerate()
            .map(|(i, b)| format!("[{}] {} #{}", first_button + i, b.action.label(), b.incident))
            .collect();
        out.push_str(&labels.join("  "));
    }
    out
}

struct State {
    /// Button number → what it does.
    buttons: HashMap<usize, (ActionKind, IncidentId)>,
    next_button: usize,
}

/// The console platform. Output goes to `out` (stdout in the CLI).
pub struct Console {
    bot: String,
    user: String,
    out: Mutex<Box<dyn Write + Send>>,
    next_id: AtomicU64,
    /// Where the id counter is kept between sessions on a persistent data directory:
    /// ids name threads and events, and a second session starting again at 1 would
    /// land in the first session's threads and be taken for its duplicates.
    ids_file: Option<std::path::PathBuf>,
    state: Mutex<State>,
}

impl Console {
    pub fn new(out: Box<dyn Write + Send>, user: &str) -> Self {
        Self {
            bot: "warroom".to_string(),
            user: user.to_string(),
            out: Mutex::new(out),
            next_id: AtomicU64::new(1),
            ids_file: None,
            state: Mutex::new(State { buttons: HashMap::new(), next_button: 1 }),
        }
    }

    /// Continues the ids of earlier sessions kept in `dir` (the `--data-dir`).
    pub fn keep_ids_in(mut self, dir: &std::path::Path) -> Self {
        let file = dir.join("console-ids");
        let next =
            std::fs::read_to_string(&file).ok().and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(1);
        self.next_id = AtomicU64::new(next.max(1));
        self.ids_file = Some(file);
        self
    }

    fn id(&self) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        if let Some(file) = &self.ids_file {
            if let Err(e) = std::fs::write(file, (id + 1).to_string()) {
                tracing::warn!(file = %file.display(), error = %e, "console: cannot keep the id counter");
            }
        }
        id
    }

    fn print(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn number_buttons(&self, message: &RichMessage) -> usize {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let first = state.next_button;
        for b in &message.buttons {
            let n = state.next_button;
            state.buttons.insert(n, (b.action, b.incident));
            state.next_button += 1;
        }
        first
    }

    /// Turns a typed line into an event (None = nothing to send).
    pub fn event(&self, line: Line) -> Option<Inbound> {
        let id = self.id().to_string();
        let (kind, thread, message_id) = match line {
            Line::Mention { thread, text } => (
                InboundKind::Mention { text, alert_channel: false, from_integration: false },
                thread,
                Some(id.clone()),
            ),
            Line::Reply { thread, text } => {
                (InboundKind::ThreadReply { text }, Some(thread), Some(id.clone()))
            }
            Line::Command(text) => (InboundKind::Command { text }, None, None),
            Line::Press(n) => {
                let pressed = self.state.lock().unwrap_or_else(|p| p.into_inner()).buttons.get(&n).copied();
                match pressed {
                    Some((action, incident)) => (InboundKind::Action { action, incident }, None, None),
                    None => {
                        self.print(&format!("(there is no button [{n}])"));
                        return None;
                    }
                }
            }
            Line::Quit | Line::Empty => return None,
        };
        Some(Inbound {
            platform: Platform::Console,
            event_id: id,
            channel: CHANNEL.to_string(),
            thread,
            message_id,
            user: Person::new("console", self.user.clone(), Some(self.user.clone())),
            kind,
            reply: Default::default(),
            received_at: Utc::now(),
        })
    }
}

#[async_trait]
impl ChatPlatform for Console {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    /// Reads stdin until `/quit` or end of input, then returns (the caller drains and stops).
    async fn run(self: Arc<Self>, ctx: InboundContext) -> anyhow::Result<()> {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        loop {
            let line = tokio::select! {
                _ = ctx.shutdown.cancelled() => return Ok(()),
                line = lines.next_line() => line?,
            };
            let Some(line) = line else { return Ok(()) };
            let parsed = parse_line(&line, &self.bot);
            if parsed == Line::Quit {
                return Ok(());
            }
            if let Some(event) = self.event(parsed) {
                ctx.out.submit(event, Vec::new()).await?;
                // Let the bot answer before the next line: scripted sessions then read
                // like a conversation, and button numbers exist before they are pressed.
                ctx.out.settle(Platform::Console, std::time::Duration::from_secs(30)).await;
            }
        }
    }

    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError> {
        let id = self.id().to_string();
        let first = self.number_buttons(message);
        let place = match thread {
            Some(t) => format!("thread t{t}"),
            None => format!("#{channel}, starts thread t{id}"),
        };
        self.print(&format!("── {} ({place}) ──\n{}", self.bot, render(message, first)));
        Ok(MessageRef { platform: Platform::Console, channel: channel.to_string(), id })
    }

    async fn update(&self, target: &MessageRef, message: &RichMessage) -> Result<(), SendError> {
        let first = self.number_buttons(message);
        self.print(&format!("── {} edited message m{} ──\n{}", self.bot, target.id, render(message, first)));
        Ok(())
    }

    async fn reply(&self, to: &ReplyTarget, text: &str) -> Result<(), SendError> {
        if !to.quiet {
            self.print(&format!("── {} (only visible to you) ──\n{text}", self.bot));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_lines() {
        assert_eq!(
            parse_line("@warroom db down", "warroom"),
            Line::Mention { thread: None, text: "@warroom db down".into() }
        );
        assert_eq!(
            parse_line("t3: investigate", "warroom"),
            Line::Reply { thread: "3".into(), text: "investigate".into() }
        );
        assert_eq!(
            parse_line("t3: @warroom still down", "warroom"),
            Line::Mention { thread: Some("3".into()), text: "@warroom still down".into() }
        );
        assert_eq!(parse_line("/incident list", "warroom"), Line::Command("list".into()));
        assert_eq!(parse_line(" 2 ", "warroom"), Line::Press(2));
        assert_eq!(parse_line("[4]", "warroom"), Line::Press(4));
        assert_eq!(parse_line("/quit", "warroom"), Line::Quit);
        assert_eq!(parse_line("   ", "warroom"), Line::Empty);
        assert_eq!(
            parse_line("time: 10:00 db down", "warroom"),
            Line::Mention { thread: None, text: "time: 10:00 db down".into() }
        );
    }

    #[test]
    fn buttons_are_numbered_for_pressing() {
        let console = Console::new(Box::new(std::io::sink()), "alice");
        let card = RichMessage { buttons: crate::model::Button::lifecycle(3), ..RichMessage::text("x") };
        let first = console.number_buttons(&card);
        assert_eq!(
            render(&card, first),
            "x\n[1] Acknowledge #3  [2] Escalate #3  [3] Mitigated #3  [4] Resolve #3"
        );
        let event = console.event(Line::Press(4)).unwrap();
        assert_eq!(event.kind, InboundKind::Action { action: ActionKind::Resolve, incident: 3 });
        assert!(console.event(Line::Press(9)).is_none());
    }

    #[test]
    fn a_second_session_on_the_same_data_continues_the_ids() {
        let dir = tempfile::tempdir().unwrap();
        let first = Console::new(Box::new(std::io::sink()), "alice").keep_ids_in(dir.path());
        assert_eq!((first.id(), first.id()), (1, 2));
        let second = Console::new(Box::new(std::io::sink()), "alice").keep_ids_in(dir.path());
        assert_eq!(second.id(), 3, "no thread or event id of the first session is reused");
    }
}
