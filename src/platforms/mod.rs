//! Chat platforms: connect, verify, parse, render, send.
//!
//! Each adapter translates its wire payloads into [`Inbound`] at the edge (a pure
//! `wire.rs`), renders [`RichMessage`] into its own dialect (a pure `render.rs`), and
//! implements [`ChatPlatform`] for the rest of the daemon. Nothing outside this module
//! imports slack-morphism, serenity or teloxide.
//!
//! ## Conventions every adapter follows
//!
//! - **Threads.** `Inbound::channel` is the channel (Slack channel, Discord parent
//!   channel, Telegram chat); `thread` is the root of the conversation the message is
//!   in (Slack `thread_ts`, Discord thread id (= id of the message it was started
//!   on), Telegram `reply_to_message.message_id` or forum topic); `message_id` is the
//!   message's own id. A new incident's thread is `(channel, thread or message_id)`.
//!   `post(channel, Some(thread), …)` posts inside that thread, creating it if the
//!   platform needs that (Discord).
//! - **What is a mention.** Messages addressed to the bot (or, on Discord, any message
//!   in an alert channel) are `Mention`; other human messages inside threads are
//!   `ThreadReply` (the router ignores threads that are not ours); `/incident …` and the
//!   platform's command aliases are `Command { text }` with the words after `/incident`
//!   (Telegram's `/oncall high x` becomes `open high x`); button presses are `Action`,
//!   decoded with [`ActionKind::decode`](crate::model::ActionKind::decode). The bot's
//!   own messages are dropped at the edge.
//! - **Acknowledge after storing.** Call `out.submit(event, dedup_keys)` and only
//!   then acknowledge to the platform (socket-mode ack, getUpdates offset, HTTP 200).
//!   Dedup keys name the delivery (`slack:event:Ev1`) and, where one message can arrive
//!   as several events, the message (`slack:msg:C1:1700000000.000100`).
//! - **Replies.** [`ChatPlatform::reply`] answers the person behind an event:
//!   ephemeral where possible; `quiet` replies are confirmations only delivered where
//!   the platform insists on an answer (Telegram callback queries).
//! - **Errors.** Map HTTP 429 to `RateLimited(retry_after)`, 401/403 to
//!   `Unauthorized`, other 4xx / `ok:false` to `Rejected`, 5xx and network errors to
//!   `Transport`; the outbox does the rest.

pub mod console;
pub mod discord;
pub mod slack;
pub mod telegram;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

pub use crate::intake::{Intake, IntakeError};

use crate::config::Config;
use crate::model::{MessageRef, Platform, ReplyHandle, RichMessage, Severity};

/// Why a send failed, phrased as what the caller should do.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SendError {
    /// Wait this long, then try again (HTTP 429 `Retry-After`).
    #[error("rate limited, retry after {0:?}")]
    RateLimited(Duration),
    /// The platform refused our credentials; retrying will not help until they change.
    #[error("unauthorized: the platform refused the bot's token")]
    Unauthorized,
    /// The platform refused this message for good (unknown channel, too long, …).
    #[error("rejected: {reason}")]
    Rejected { reason: String },
    /// Network trouble or a 5xx: try again later.
    #[error("transport: {0}")]
    Transport(String),
}

/// Who to answer privately, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTarget {
    pub channel: String,
    pub thread: Option<String>,
    pub user: String,
    pub handle: ReplyHandle,
    /// A confirmation nobody needs to read: deliver it only where the platform requires
    /// an answer (Telegram's callback queries).
    pub quiet: bool,
}

/// A message from a channel's recent history (the `channel_history` context source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    pub user: String,
    pub text: String,
    /// Platform timestamp / id, for ordering.
    pub at: String,
}

/// What a platform's inbound loop gets: when to stop, and where events go.
#[derive(Clone)]
pub struct InboundContext {
    pub shutdown: CancellationToken,
    /// Persists an event and queues it for the router; acknowledge to the platform only
    /// after this returned.
    pub out: Intake,
}

/// One chat platform, as the rest of the daemon sees it.
#[async_trait]
pub trait ChatPlatform: Send + Sync + 'static {
    fn platform(&self) -> Platform;

    /// Receives events until `ctx.shutdown` is cancelled. Platforms that only receive
    /// through the HTTP server (HTTP mode) return at once.
    async fn run(self: Arc<Self>, ctx: InboundContext) -> anyhow::Result<()>;

    /// Posts a message in a channel, or inside a thread of it.
    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError>;

    /// [`Self::post`] for the outbox entry with idempotency `key`. Platforms that can
    /// make the platform itself drop a repeat (Discord's `nonce` with `enforce_nonce`)
    /// use the key, so a post whose answer was lost is not shown twice when retried.
    async fn post_once(
        &self,
        _key: &str,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError> {
        self.post(channel, thread, message).await
    }

    /// Edits a message the bot posted.
    async fn update(&self, target: &MessageRef, message: &RichMessage) -> Result<(), SendError>;

    /// Answers the person behind an event (ephemeral where the platform can).
    async fn reply(&self, to: &ReplyTarget, text: &str) -> Result<(), SendError>;

    /// Recent messages of a channel or thread, oldest first. Empty where the platform
    /// cannot tell (Telegram bots cannot read history; the console keeps none).
    async fn history(
        &self,
        _channel: &str,
        _thread: Option<&str>,
        _limit: usize,
    ) -> Result<Vec<ChatLine>, SendError> {
        Ok(Vec::new())
    }

    /// Whether the outbox should pace messages per channel for this platform (false
    /// where the client library already does: serenity, teloxide's throttle).
    fn needs_pacing(&self) -> bool {
        true
    }

    /// What a 429 from this platform holds up. Slack's limits are per method and
    /// workspace, so everything waits; Telegram's flood limits are per chat, so a busy
    /// group must not hold back a page to another chat.
    fn rate_limit_scope(&self) -> RateLimitScope {
        RateLimitScope::Platform
    }

    /// What the operator should know beyond the logs (for `/readyz` and `/metrics`).
    fn health(&self) -> Health {
        Health::default()
    }

    /// Whether a reply with this handle answers an interaction that expires soon and must
    /// not wait behind posts (Telegram callback queries: the client spins until answered,
    /// and Telegram refuses answers after a short window). The outbox sends those from a
    /// queue of their own, which a throttled post or a 429 on posts does not hold up.
    fn answers_apart(&self, _handle: &ReplyHandle) -> bool {
        false
    }

    /// Where webhook alerts are posted on this platform, if anywhere.
    fn alert_route(&self) -> Option<AlertRoute> {
        None
    }

    /// Routes this platform serves on the HTTP server (Slack HTTP mode, Discord
    /// interactions, Telegram webhook); events they receive go to `out`.
    fn http_routes(self: Arc<Self>, _out: Intake) -> Option<axum::Router> {
        None
    }
}

/// Builds the platforms that have credentials; each one without logs one line.
pub fn from_config(config: &Config) -> anyhow::Result<Vec<Arc<dyn ChatPlatform>>> {
    let mut platforms: Vec<Arc<dyn ChatPlatform>> = Vec::new();
    match config.slack.as_ref().filter(|s| s.bot_token.is_set()) {
        Some(slack) => platforms.push(slack::Slack::new(slack)?),
        None => tracing::info!("slack: disabled (no slack.bot_token configured)"),
    }
    match config.discord.as_ref().filter(|d| d.token.is_set()) {
        Some(discord) => {
            platforms.push(Arc::new(discord::Discord::new(discord)?));
            tracing::info!(
                gateway = discord.gateway,
                interactions_endpoint = !discord.public_key.is_empty(),
                "discord: enabled"
            );
        }
        None => tracing::info!("discord: disabled (no discord.token configured)"),
    }
    match config.telegram.as_ref().filter(|t| t.token.is_set()) {
        Some(t) => platforms.push(Arc::new(telegram::Telegram::new(t)?)),
        None => tracing::info!("telegram: disabled (no telegram.token configured)"),
    }
    Ok(platforms)
}

/// See [`ChatPlatform::rate_limit_scope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitScope {
    /// A 429 pauses every post to the platform.
    Platform,
    /// A 429 pauses posts to that channel (chat) only.
    Channel,
}

/// A platform's state as an operator needs to see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Set when the platform stopped receiving for a reason only the operator can fix
    /// (a refused token, intents not enabled), saying what to do; it stays set until a
    /// restart.
    pub failed: Option<String>,
    /// Events received but not stored, so lost (the platform will not send them again).
    pub lost_events: u64,
}

/// Where a platform posts webhook alerts: a default channel and per-severity overrides.
#[derive(Debug, Clone, Default)]
pub struct AlertRoute {
    pub default: String,
    pub by_severity: BTreeMap<Severity, String>,
}

/// The enabled platforms, by name.
#[derive(Clone, Default)]
pub struct Platforms {
    list: Vec<Arc<dyn ChatPlatform>>,
}

impl Platforms {
    pub fn add(&mut self, platform: Arc<dyn ChatPlatform>) {
        self.list.retain(|p| p.platform() != platform.platform());
        self.list.push(platform);
    }

    pub fn get(&self, platform: Platform) -> Option<Arc<dyn ChatPlatform>> {
        self.list.iter().find(|p| p.platform() == platform).cloned()
    }

    pub fn all(&self) -> &[Arc<dyn ChatPlatform>] {
        &self.list
    }

    /// The platforms that stopped for a reason only the operator can fix, and why:
    /// a daemon with one of these is not ready.
    pub fn failures(&self) -> Vec<(Platform, String)> {
        self.list.iter().filter_map(|p| p.health().failed.map(|why| (p.platform(), why))).collect()
    }
}
