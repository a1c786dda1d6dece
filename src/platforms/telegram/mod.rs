//! Telegram: commands, incident threads and inline buttons, over long polling or a
//! webhook (<https://core.telegram.org/bots/api>).
//!
//! | file | what it holds |
//! |---|---|
//! | `wire.rs` | updates → [`Inbound`](crate::model::Inbound): commands, mentions, threads, button presses (pure) |
//! | `render.rs` | [`RichMessage`] → HTML + inline keyboard, split at 4096 characters (pure) |
//! | `poll.rs` | the `getUpdates` loop (default mode) |
//! | `webhook.rs` | `POST /telegram/webhook` (`telegram.mode = "webhook"`) |
//! | this file | the adapter: startup calls, sending, error mapping |
//!
//! The transport is teloxide's [`Bot`] wrapped in its [`Throttle`] adaptor, which keeps
//! sends under Telegram's limits (about 1 message/s per chat, 20/min per group, 30/s
//! overall), so the outbox does not pace this platform. teloxide's dispatcher is not
//! used: updates go through our own loop into [`Intake`], and a 429 is handed to the
//! outbox as [`SendError::RateLimited`] (the throttle's own retry is off) so the wait is
//! durable and the message is sent exactly once.
//!
//! Threads are reply chains. Two things are remembered in memory only, and both degrade
//! gracefully after a restart:
//! - which thread roots are forum topics (learned from incoming `is_topic_message`), so
//!   posts there also carry `message_thread_id`; without it a reply still lands in the
//!   replied-to message's topic;
//! - which thread each bot message was posted in, so a reply to the bot's "not opening
//!   an incident" hint counts as a reply in the original thread (and `investigate` works
//!   there). Incident messages do not need this: the store links every message posted
//!   for an incident to it.

mod poll;
pub mod render;
mod webhook;
pub mod wire;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::Utc;
use teloxide::adaptors::throttle::{Limits, Settings};
use teloxide::adaptors::Throttle;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, CallbackQueryId, InlineKeyboardMarkup, LinkPreviewOptions, MessageId, ParseMode,
    ReplyParameters, ThreadId, Update,
};
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;

use self::wire::{BotIdentity, Topic, Translated};
use super::{AlertRoute, ChatPlatform, InboundContext, ReplyTarget, SendError};
use crate::config::{Secret, TelegramConfig, TelegramMode};
use crate::intake::{Intake, IntakeError};
use crate::model::{truncate_chars, MessageRef, Platform, RichMessage};

/// Bot messages whose thread root is remembered (oldest forgotten first).
const REMEMBERED_ROOTS: usize = 10_000;

/// What the adapter remembers about threads (see the module docs).
#[derive(Default)]
struct Threads {
    topics: HashSet<Topic>,
    /// (chat, bot message) → the thread root it was posted in.
    roots: HashMap<(i64, i32), i32>,
    order: VecDeque<(i64, i32)>,
}

/// The Telegram adapter.
pub struct Telegram {
    bot: Throttle<Bot>,
    mode: TelegramMode,
    /// Checked on every webhook call (`X-Telegram-Bot-Api-Secret-Token`).
    webhook_secret: Secret,
    /// Long-poll `timeout`, below teloxide's 17 s client timeout (checked by config).
    poll_timeout_secs: u32,
    /// `telegram.allowed_chats`, parsed (validated by config); empty = every chat.
    allowed_chats: Vec<i64>,
    alert_route: Option<AlertRoute>,
    /// Learned from `getMe` at start: the username in `/cmd@botname` and mentions.
    me: Mutex<Option<BotIdentity>>,
    threads: Mutex<Threads>,
}

impl Telegram {
    /// Builds the client from a config whose token is set. Must run inside the tokio
    /// runtime (the throttle spawns its worker).
    pub fn new(config: &TelegramConfig) -> anyhow::Result<Self> {
        let api_url: url::Url = config
            .api_url
            .parse()
            .with_context(|| format!("telegram.api_url: `{}` is not a URL", config.api_url))?;
        // teloxide's settings (17 s timeout, 5 s connect timeout). reqwest honours
        // HTTP(S)_PROXY; a proxy cannot reach our loopback, so a local Bot API server
        // (or the tests' fake) is always reached directly.
        let mut client = teloxide::net::default_reqwest_settings();
        let loopback = match api_url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        if loopback {
            client = client.no_proxy();
        }
        let client = client.build().context("cannot build the HTTP client for Telegram")?;
        let bot = Bot::with_client(config.token.expose(), client).set_api_url(api_url);
        // https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
        let limits = Limits {
            messages_per_sec_chat: 1,
            messages_per_min_chat: 20,
            messages_per_min_channel_or_supergroup: 20,
            messages_per_sec_overall: 30,
        };
        let bot = Throttle::spawn_with_settings(bot, Settings::default().limits(limits).no_retry());
        let alert_route =
            (!config.alert_chat.trim().is_empty() || !config.severity_chats.is_empty()).then(|| AlertRoute {
                default: config.alert_chat.trim().to_string(),
                by_severity: config.severity_chats.clone(),
            });
        Ok(Self {
            bot,
            mode: config.mode,
            webhook_secret: config.webhook_secret.clone(),
            poll_timeout_secs: config.poll_timeout_secs,
            allowed_chats: allowed_chats(config),
            alert_route,
            me: Mutex::new(None),
            threads: Mutex::new(Threads::default()),
        })
    }

    fn threads(&self) -> std::sync::MutexGuard<'_, Threads> {
        // Only plain maps behind it: a panic elsewhere cannot leave them inconsistent.
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Who the bot is: cached after the first successful `getMe`.
    async fn identity(&self) -> Result<BotIdentity, SendError> {
        if let Some(me) = self.me.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(me);
        }
        let me = self.bot.get_me().await.map_err(|e| send_error(&e))?;
        let identity =
            BotIdentity { id: me.user.id.0, username: me.user.username.clone().unwrap_or_default() };
        *self.me.lock().unwrap_or_else(|p| p.into_inner()) = Some(identity.clone());
        Ok(identity)
    }

    /// The startup calls: `deleteWebhook` when polling (`getUpdates` fails while a
    /// webhook is set), `getMe`, `setMyCommands` (the client's command menu).
    async fn connect(&self, polling: bool) -> Result<BotIdentity, SendError> {
        if polling {
            self.bot.delete_webhook().await.map_err(|e| send_error(&e))?;
        }
        let me = self.identity().await?;
        let commands = wire::COMMANDS
            .iter()
            .filter_map(|a| a.menu.map(|description| BotCommand::new(a.name, description)));
        if let Err(e) = self.bot.set_my_commands(commands).await {
            // The menu is a convenience: typed commands work without it.
            tracing::warn!(error = %send_error(&e), "telegram: could not register the command menu");
        }
        Ok(me)
    }

    /// Runs [`Self::connect`] until it succeeds (backing off) or shutdown (`None`).
    async fn start_up(&self, shutdown: &CancellationToken, polling: bool) -> Option<BotIdentity> {
        let mut backoff = poll::Backoff::default();
        loop {
            match self.connect(polling).await {
                Ok(me) => {
                    let mode = if polling { "polling" } else { "webhook" };
                    tracing::info!(bot = %me.username, mode, "telegram: connected");
                    return Some(me);
                }
                Err(e) => {
                    let wait = backoff.next(&e);
                    tracing::warn!(error = %e, "telegram: startup call failed; retrying in {wait:?}");
                    if !poll::sleep(wait, shutdown).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Does what one update asks: store it, answer a stale button, or nothing.
    /// `Err` means it was not stored, so it must not be confirmed.
    async fn take(&self, update: &Update, me: &BotIdentity, out: &Intake) -> Result<(), IntakeError> {
        let ctx = wire::Context { me, allowed_chats: &self.allowed_chats, now: Utc::now() };
        match wire::translate(update, &ctx) {
            Translated::Event { mut event, dedup_keys, topic } => {
                {
                    let mut threads = self.threads();
                    if let Some(topic) = topic {
                        threads.topics.insert(topic);
                    }
                    // A reply to a bot message continues the thread that message is in.
                    let root = match (
                        event.channel.parse::<i64>(),
                        event.thread.as_deref().map(str::parse::<i32>),
                    ) {
                        (Ok(chat), Some(Ok(thread))) => threads.roots.get(&(chat, thread)).copied(),
                        _ => None,
                    };
                    if let Some(root) = root {
                        event.thread = Some(root.to_string());
                    }
                }
                out.submit(*event, dedup_keys).await?;
            }
            Translated::Answer { callback_query_id, text } => {
                let mut request = self.bot.answer_callback_query(CallbackQueryId(callback_query_id));
                if let Some(text) = text {
                    request = request.text(text);
                }
                if let Err(e) = request.await {
                    tracing::warn!(error = %send_error(&e), "telegram: could not answer a button press");
                }
            }
            Translated::Ignore(why) => tracing::debug!(update = update.id.0, why, "telegram: update ignored"),
        }
        Ok(())
    }

    /// Sends `parts` as consecutive messages (inside `thread` when given). Returns the
    /// first, and the keyboard goes on the first too: edits replace that one message
    /// (`editMessageText` edits one message), so its status line and its buttons must be
    /// the same message, or an edit would leave a second, stale keyboard further down.
    /// A reply to any later part continues the thread the first part is in.
    ///
    /// If a later part fails, the outbox retries the whole post and the earlier parts
    /// appear twice: repeating text is better than losing the end of it.
    async fn send_parts(
        &self,
        channel: &str,
        thread: Option<&str>,
        parts: Vec<String>,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Result<MessageRef, SendError> {
        let chat = chat_id(channel)?;
        let root = thread.map(message_id).transpose()?;
        let topic = root.filter(|r| self.threads().topics.contains(&Topic { chat: chat.0, thread: r.0 }));
        let mut first: Option<MessageRef> = None;
        for (i, text) in parts.into_iter().enumerate() {
            let mut request = self
                .bot
                .send_message(chat, text)
                .parse_mode(ParseMode::Html)
                .link_preview_options(no_preview());
            if let Some(root) = root {
                // https://core.telegram.org/bots/api#replyparameters
                request = request.reply_parameters(ReplyParameters::new(root).allow_sending_without_reply());
            }
            if let Some(topic) = topic {
                request = request.message_thread_id(ThreadId(topic));
            }
            if i == 0 {
                if let Some(keyboard) = &keyboard {
                    request = request.reply_markup(keyboard.clone());
                }
            }
            let sent = request.await.map_err(|e| send_error(&e))?;
            // The thread a reply to this part belongs to: the root it was posted under,
            // else (a post at the top of the chat) where the message began.
            let thread_root =
                root.map(|r| r.0).or_else(|| first.as_ref().and_then(|f: &MessageRef| f.id.parse().ok()));
            if let Some(root) = thread_root {
                let mut threads = self.threads();
                threads.roots.insert((chat.0, sent.id.0), root);
                threads.order.push_back((chat.0, sent.id.0));
                while threads.order.len() > REMEMBERED_ROOTS {
                    if let Some(old) = threads.order.pop_front() {
                        threads.roots.remove(&old);
                    }
                }
            }
            first.get_or_insert(MessageRef {
                platform: Platform::Telegram,
                channel: chat.0.to_string(),
                id: sent.id.0.to_string(),
            });
        }
        first.ok_or_else(|| SendError::Rejected { reason: "nothing to send".into() })
    }
}

#[async_trait]
impl ChatPlatform for Telegram {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }

    /// Polling: the `getUpdates` loop until shutdown. Webhook: only the startup calls
    /// (updates arrive on the HTTP server), then it waits for shutdown all the same, so
    /// it never looks like an input that ran dry (`Running::inbound_done`).
    async fn run(self: Arc<Self>, ctx: InboundContext) -> anyhow::Result<()> {
        match self.mode {
            TelegramMode::Polling => poll::run(self, ctx).await,
            TelegramMode::Webhook => {
                if self.start_up(&ctx.shutdown, false).await.is_some() {
                    ctx.shutdown.cancelled().await;
                }
                Ok(())
            }
        }
    }

    /// `sendMessage` in HTML with the inline keyboard, replying to the thread root.
    /// Messages over 4096 characters go out as several (see [`Self::send_parts`]).
    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError> {
        let rendered = render::render(message);
        self.send_parts(channel, thread, rendered.parts, rendered.keyboard).await
    }

    /// `editMessageText` with the new keyboard; "message is not modified" is success
    /// (the card already shows this).
    async fn update(&self, target: &MessageRef, message: &RichMessage) -> Result<(), SendError> {
        let (text, keyboard) = render::render_single(message);
        let mut request = self
            .bot
            .edit_message_text(chat_id(&target.channel)?, message_id(&target.id)?, text)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview());
        if let Some(keyboard) = keyboard {
            request = request.reply_markup(keyboard);
        }
        match request.await {
            Ok(_) => Ok(()),
            Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            Err(RequestError::Api(ApiError::Unknown(d))) if d.contains("message is not modified") => Ok(()),
            Err(e) => Err(send_error(&e)),
        }
    }

    /// A button press is answered with `answerCallbackQuery` (a toast, or an alert the
    /// person must dismiss when the press was refused); everything else is a message in
    /// the chat, replying to the thread root. Quiet confirmations of commands are not
    /// sent: the card already shows what happened.
    async fn reply(&self, to: &ReplyTarget, text: &str) -> Result<(), SendError> {
        let text = &wire::in_telegram_words(text);
        if let Some(id) = &to.handle.token {
            // https://core.telegram.org/bots/api#answercallbackquery
            let mut request = self
                .bot
                .answer_callback_query(CallbackQueryId(id.clone()))
                .text(truncate_chars(text, render::MAX_CALLBACK_TEXT));
            if !to.quiet {
                request = request.show_alert(true);
            }
            return match request.await {
                Ok(_) => Ok(()),
                // Too late to answer the press (handled long after it, e.g. across a
                // restart): a confirmation can go unsaid, a refusal is said in the chat.
                Err(RequestError::Api(ApiError::InvalidQueryId)) if to.quiet => Ok(()),
                Err(RequestError::Api(ApiError::InvalidQueryId)) => {
                    let parts = render::render_text(text);
                    self.send_parts(&to.channel, to.thread.as_deref(), parts, None).await.map(|_| ())
                }
                Err(e) => Err(send_error(&e)),
            };
        }
        if to.quiet {
            return Ok(());
        }
        self.send_parts(&to.channel, to.thread.as_deref(), render::render_text(text), None).await.map(|_| ())
    }

    // No `history`: Telegram gives bots no way to read a chat's history (only updates
    // as they arrive), so the trait's empty default is the truth here.

    /// The throttle paces sends.
    fn needs_pacing(&self) -> bool {
        false
    }

    /// Telegram's flood control is per chat (about 1 message/s, 20/min in a group).
    /// <https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this>
    fn rate_limit_scope(&self) -> super::RateLimitScope {
        super::RateLimitScope::Channel
    }

    /// Callback answers (the handle carries the callback query id) are not throttled by
    /// Telegram like messages are, and expire: they do not queue behind posts.
    fn answers_apart(&self, handle: &crate::model::ReplyHandle) -> bool {
        handle.token.is_some()
    }

    fn alert_route(&self) -> Option<AlertRoute> {
        self.alert_route.clone()
    }

    fn http_routes(self: Arc<Self>, out: Intake) -> Option<axum::Router> {
        (self.mode == TelegramMode::Webhook).then(|| webhook::router(self, out))
    }
}

/// `telegram.allowed_chats`, plus the chats alerts are posted to: a card the bot posts
/// in `alert_chat` or a `severity_chats` chat must take its button presses and replies,
/// so configuring a chat for alerts allows it. Empty = every chat (ids checked by config).
fn allowed_chats(config: &TelegramConfig) -> Vec<i64> {
    let mut allowed: Vec<i64> = config.allowed_chats.iter().filter_map(|c| c.trim().parse().ok()).collect();
    if allowed.is_empty() {
        return allowed;
    }
    let alert_chats = std::iter::once(&config.alert_chat).chain(config.severity_chats.values());
    allowed.extend(alert_chats.filter_map(|c| c.trim().parse::<i64>().ok()));
    allowed.sort_unstable();
    allowed.dedup();
    allowed
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

fn chat_id(channel: &str) -> Result<ChatId, SendError> {
    channel
        .trim()
        .parse()
        .map(ChatId)
        .map_err(|_| SendError::Rejected { reason: format!("`{channel}` is not a Telegram chat id") })
}

fn message_id(id: &str) -> Result<MessageId, SendError> {
    id.trim()
        .parse()
        .map(MessageId)
        .map_err(|_| SendError::Rejected { reason: format!("`{id}` is not a Telegram message id") })
}

/// Maps teloxide's errors onto what the outbox should do (platforms/mod.rs, "Errors").
///
/// teloxide keeps the Bot API's `description` but not its HTTP status, so 5xx answers
/// are recognised by their description, and a body that is not JSON (a proxy's error
/// page) counts as transport trouble. Refusals tied to one chat (bot blocked or kicked,
/// chat not found) are `Rejected`: retrying cannot help, while a bad token
/// (`Unauthorized`) is kept and retried until an operator fixes it. Texts never contain
/// the request URL, which holds the token.
pub fn send_error(error: &RequestError) -> SendError {
    match error {
        RequestError::RetryAfter(wait) => SendError::RateLimited(wait.duration()),
        RequestError::Api(ApiError::InvalidToken) => SendError::Unauthorized,
        RequestError::Api(ApiError::Unknown(description)) if is_server_error(description) => {
            SendError::Transport(format!("Bot API: {description}"))
        }
        RequestError::Api(api) => SendError::Rejected { reason: api.to_string() },
        RequestError::MigrateToChatId(to) => SendError::Rejected {
            reason: format!(
                "the group was upgraded to a supergroup; its chat id is now {to} (update the config)"
            ),
        },
        RequestError::Network(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "network error"
            };
            let cause = std::error::Error::source(&**e).map(|s| format!(": {s}")).unwrap_or_default();
            SendError::Transport(format!("Bot API {what}{cause}"))
        }
        RequestError::InvalidJson { .. } => SendError::Transport(
            "the Bot API answered with something that is not JSON (a proxy error page?)".into(),
        ),
        RequestError::Io(e) => SendError::Transport(format!("I/O error: {e}")),
    }
}

fn is_server_error(description: &str) -> bool {
    ["Internal Server Error", "Bad Gateway", "Service Unavailable", "Gateway Timeout"]
        .iter()
        .any(|s| description.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn errors_say_what_to_do() {
        let api = |description: &str| -> RequestError {
            let body = serde_json::json!({ "description": description });
            RequestError::Api(serde_json::from_value(body["description"].clone()).unwrap())
        };
        assert_eq!(
            send_error(&RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(3))),
            SendError::RateLimited(Duration::from_secs(3))
        );
        assert_eq!(send_error(&api("Unauthorized")), SendError::Unauthorized);
        assert!(matches!(send_error(&api("Bad Gateway")), SendError::Transport(_)));
        assert!(matches!(send_error(&api("Internal Server Error")), SendError::Transport(_)));
        assert!(matches!(send_error(&api("Bad Request: chat not found")), SendError::Rejected { .. }));
        assert!(matches!(
            send_error(&api("Forbidden: bot was blocked by the user")),
            SendError::Rejected { .. }
        ));
        assert!(matches!(
            send_error(&RequestError::MigrateToChatId(ChatId(-100123))),
            SendError::Rejected { reason } if reason.contains("-100123")
        ));
    }

    #[test]
    fn chats_that_get_alerts_are_allowed() {
        let config = |allowed: &[&str]| TelegramConfig {
            allowed_chats: allowed.iter().map(|c| c.to_string()).collect(),
            alert_chat: "-1002".into(),
            severity_chats: [(crate::model::Severity::Critical, "-1003".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(allowed_chats(&config(&["-1001"])), [-1003, -1002, -1001]);
        assert_eq!(allowed_chats(&config(&["-1002"])), [-1003, -1002]);
        assert!(allowed_chats(&config(&[])).is_empty(), "no allowlist: every chat");
    }

    #[test]
    fn ids_are_checked_before_anything_is_sent() {
        assert_eq!(chat_id("-1001").unwrap(), ChatId(-1001));
        assert!(matches!(chat_id("#ops"), Err(SendError::Rejected { .. })));
        assert_eq!(message_id("7").unwrap(), MessageId(7));
        assert!(matches!(message_id("1.2"), Err(SendError::Rejected { .. })));
    }
}
