//! Discord: a gateway bot (serenity) with alert channels, threads, buttons and the
//! `/incident` slash command, plus the HTTP interactions endpoint.
//!
//! | file | what it holds |
//! |---|---|
//! | [`wire`] | pure: serenity `Message` / `Interaction` → [`Inbound`](crate::model::Inbound) |
//! | [`render`] | pure: [`RichMessage`] → embed + buttons, escaping and limits |
//! | [`commands`] | the `/incident` command as data: registration body, options → words |
//! | [`gateway`] | serenity's `Client` and the `EventHandler` |
//! | [`interactions`] | `POST /discord/interactions` (Ed25519-verified) |
//! | [`rest`] | REST calls and error mapping |
//!
//! Threads: an incident lives in a Discord thread started on the message that raised it
//! (thread id = that message's id). [`Discord::post`] into `Some(thread)` starts the
//! thread first if needed; incoming messages from a thread report the parent channel
//! as `channel` and the thread as `thread`, so both sides agree on the incident's
//! `(channel, thread)` (platforms/mod.rs "Conventions").

pub mod commands;
pub mod gateway;
pub mod interactions;
pub mod render;
pub mod rest;
pub mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::Utc;
use serde_json::{json, Value};
use serenity::gateway::GatewayError;
use serenity::http::{LightMethod, Request, Route};
use serenity::model::application::Interaction;
use serenity::model::id::{ApplicationId, ChannelId, GuildId, MessageId};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{AlertRoute, ChatLine, ChatPlatform, Health, InboundContext, ReplyTarget, SendError};
use crate::config::DiscordConfig;
use crate::intake::{Intake, IntakeError, Stored};
use crate::model::{MessageRef, Platform, RichMessage};
use rest::{Rest, RestError};
use wire::{Answer, Place, Received};

/// Discord's JSON error codes we act on.
/// <https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes>
const THREAD_EXISTS: i64 = 160004;
const UNKNOWN_MESSAGE: i64 = 10008;
const ALREADY_ACKNOWLEDGED: i64 = 40060;
/// "Cannot execute action on a DM channel": no threads in DMs.
const CANNOT_IN_DM: i64 = 50003;
/// "Cannot execute action on this channel type" (a voice channel, a thread, a forum).
const WRONG_CHANNEL_TYPE: i64 = 50024;

/// What to tell the operator when Discord refuses the token.
const TOKEN_REFUSED: &str = "Discord refused the bot token: check discord.token (Developer Portal → Bot → Reset Token, then update DISCORD_TOKEN)";

/// Interaction tokens stay valid this long after the interaction.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Discord's deadline for the first answer; a follow-up waits at most this long for it.
const ANSWER_DEADLINE: Duration = Duration::from_secs(3);
/// A retry of the answer is only worth it with this much of the deadline left.
const ANSWER_RETRY_MARGIN: Duration = Duration::from_millis(500);
/// Registering `/incident` is retried with backoff from this up to [`REGISTER_MAX_BACKOFF`].
const REGISTER_FIRST_BACKOFF: Duration = Duration::from_secs(1);
const REGISTER_MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longest `nonce` Discord takes.
/// <https://discord.com/developers/docs/resources/message#create-message-jsonform-params>
const MAX_NONCE: usize = 25;
/// How long shutdown waits for gateway events in hand to be stored.
const GATEWAY_GRACE: Duration = Duration::from_secs(3);
/// Threads archive after a day without messages (the incident keeps its thread id).
const AUTO_ARCHIVE_MINUTES: u32 = 1440;

/// An interaction the bot received: follow-ups must wait until it was answered, and
/// quiet replies are skipped for buttons (the deferred update answered them).
struct Pending {
    command: bool,
    answered: watch::Sender<bool>,
    at: Instant,
}

#[derive(Default)]
struct State {
    /// Channel id → the parent channel when it is a thread, `None` when it is not.
    /// Filled from the threads the bot starts and from `GET /channels/{id}`.
    places: HashMap<u64, Option<u64>>,
    /// Interactions of the last 15 minutes, by id.
    interactions: HashMap<String, Pending>,
}

/// The Discord platform.
pub struct Discord {
    /// Alert channels, guild, notify channel, gateway switch, token.
    config: DiscordConfig,
    /// Slash commands are registered under it and follow-ups are sent as it.
    application_id: u64,
    rest: Rest,
    /// The application's public key, when the HTTP interactions endpoint is on.
    public_key: Option<ed25519_dalek::VerifyingKey>,
    /// The bot's user id (`/users/@me`, READY), to drop its own messages; 0 = unknown.
    bot_id: AtomicU64,
    /// What the bot learned while running; losing it on restart costs a lookup.
    state: Mutex<State>,
    /// Why the gateway stopped for good (token or intents refused), for the operator.
    failed: Mutex<Option<String>>,
    /// Gateway messages received but not stored: Discord does not send them again.
    lost: AtomicU64,
}

/// A snowflake from a string the engine hands us (ids are stored as text).
fn snowflake(id: &str) -> Result<u64, SendError> {
    id.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| SendError::Rejected { reason: format!("`{id}` is not a Discord id") })
}

fn json_body(value: &Value) -> Option<Vec<u8>> {
    serde_json::to_vec(value).ok()
}

/// A message `nonce` for an outbox idempotency key: the same key gives the same nonce,
/// within Discord's 25 characters. Discord enforces it only for a few minutes, so it
/// covers a retry soon after a lost answer; the outbox's sent records are the guard
/// beyond that.
fn nonce(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = hex::encode(digest);
    out.truncate(MAX_NONCE - 1);
    out
}

impl Discord {
    /// Builds the adapter from a validated config (token set).
    pub fn new(config: &DiscordConfig) -> anyhow::Result<Self> {
        let application_id: u64 = config
            .application_id
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .context("discord.application_id: not a Discord id")?;
        let public_key = match config.public_key.trim() {
            "" => None,
            hex_key => {
                let bytes: [u8; 32] = hex::decode(hex_key)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .context("discord.public_key: must be 64 hex digits")?;
                Some(
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                        .context("discord.public_key: not an Ed25519 public key")?,
                )
            }
        };
        let rest = Rest::new(config.token.expose(), &config.api_url, application_id)?;
        Ok(Self {
            config: config.clone(),
            application_id,
            rest,
            public_key,
            bot_id: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            failed: Mutex::new(None),
            lost: AtomicU64::new(0),
        })
    }

    /// Records why the platform stopped for good; the caller returns it as the error
    /// the daemon logs (one ERROR line naming what to fix).
    fn fail(&self, why: impl Into<String>) -> anyhow::Error {
        let why = why.into();
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
        anyhow::anyhow!(why)
    }

    /// What a gateway connection that ended with `error` means for the operator.
    /// serenity stops for good on the close codes only a person can fix, with one log
    /// line of its own; these become the platform's failure, saying what to do.
    /// <https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes>
    fn gateway_error(&self, error: serenity::Error) -> anyhow::Error {
        match error {
            serenity::Error::Gateway(GatewayError::InvalidAuthentication) => {
                self.fail(format!("{TOKEN_REFUSED} (gateway close code 4004)"))
            }
            serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents) => self.fail(
                "Discord refused the gateway intents (close code 4014): enable the Message Content Intent \
                 in the Developer Portal (Applications → your app → Bot → Privileged Gateway Intents), \
                 then restart warroom",
            ),
            serenity::Error::Gateway(GatewayError::InvalidGatewayIntents) => self.fail(
                "Discord called warroom's gateway intents invalid (close code 4013); \
                 this is a warroom bug, please report it",
            ),
            other => anyhow::Error::new(other).context("discord: gateway connection ended"),
        }
    }

    /// Counts and logs a gateway message that could not be stored.
    fn lost_message(&self, message: u64, why: &str) {
        let lost = self.lost.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::error!(
            message,
            lost,
            reason = why,
            "discord: a gateway message could not be stored and is lost (Discord does not send it again)"
        );
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Only maps live here; a panic elsewhere cannot leave them inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_bot_id(&self, id: u64) {
        self.bot_id.store(id, Ordering::SeqCst);
    }

    fn wire_ctx(&self) -> wire::Ctx {
        let bot = self.bot_id.load(Ordering::SeqCst);
        wire::Ctx {
            bot_id: (bot != 0).then_some(bot),
            application_id: Some(self.application_id),
            alert_channels: self.config.alert_channels.clone(),
        }
    }

    fn app(&self) -> ApplicationId {
        ApplicationId::new(self.application_id)
    }

    /// The parent of a thread the bot has seen (no network).
    fn known_parent(&self, channel: u64) -> Option<u64> {
        self.state().places.get(&channel).copied().flatten()
    }

    fn remember_thread(&self, thread: u64, parent: u64) {
        self.state().places.insert(thread, Some(parent));
    }

    /// Whether `channel` is a thread (and of which channel): remembered, else asked
    /// once with `GET /channels/{id}`. A failed lookup counts as "a channel" and is
    /// asked again next time.
    async fn place(&self, channel: u64) -> Place {
        if let Some(known) = self.state().places.get(&channel).copied() {
            return match known {
                Some(parent) => Place::Thread { parent: parent.to_string() },
                None => Place::Channel,
            };
        }
        let request = Request::new(Route::Channel { channel_id: ChannelId::new(channel) }, LightMethod::Get);
        match self.rest.call(request).await {
            Ok(found) => {
                // Thread types: 10 announcement, 11 public, 12 private.
                // <https://discord.com/developers/docs/resources/channel#channel-object-channel-types>
                let is_thread = matches!(found["type"].as_u64(), Some(10..=12));
                let parent = found["parent_id"].as_str().and_then(|p| p.parse::<u64>().ok());
                let parent = if is_thread { parent } else { None };
                self.state().places.insert(channel, parent);
                match parent {
                    Some(parent) => Place::Thread { parent: parent.to_string() },
                    None => Place::Channel,
                }
            }
            Err(e) => {
                tracing::warn!(channel, error = %e, "discord: could not look up a channel; treating it as a channel");
                Place::Channel
            }
        }
    }

    /// A gateway MESSAGE_CREATE: translate and store (nothing to acknowledge on the
    /// gateway; a replay after a resume is a duplicate for intake).
    /// Translates and stores a gateway message; the stored event is still to be queued
    /// (the gateway's drain does that in order, without holding up the next store).
    async fn on_message(&self, message: &serenity::model::channel::Message, out: &Intake) -> Option<Stored> {
        let ctx = self.wire_ctx();
        if !wire::is_candidate(message, &ctx) {
            return None;
        }
        let place = if wire::needs_place(message, &ctx) {
            self.place(message.channel_id.get()).await
        } else {
            Place::Channel
        };
        let (event, keys) = wire::message(message, &ctx, &place, Utc::now())?;
        match out.store(event, keys).await {
            Ok(stored) => Some(stored),
            Err(e) => {
                self.lost_message(message.id.get(), &e.to_string());
                None
            }
        }
    }

    /// Translates and stores an interaction; returns how to answer it and, when there
    /// is an event, the stored event still to be queued: the answer goes out first, so
    /// a full queue cannot make it miss Discord's three seconds. Shared by the gateway
    /// and the HTTP endpoint.
    async fn receive(
        &self,
        interaction: &Interaction,
        out: &Intake,
    ) -> Result<(Answer, Option<Stored>), IntakeError> {
        match wire::interaction(interaction, &|c| self.known_parent(c), Utc::now()) {
            Received::Answer(answer) => Ok((answer, None)),
            Received::Event { inbound, dedup, answer, command } => {
                let id = inbound.event_id.clone();
                self.pending(&id, command);
                match out.store(*inbound, dedup).await {
                    Ok(stored) => Ok((answer, Some(stored))),
                    Err(e) => {
                        self.answered(&id);
                        Err(e)
                    }
                }
            }
        }
    }

    fn pending(&self, id: &str, command: bool) {
        let mut state = self.state();
        state.interactions.retain(|_, p| p.at.elapsed() < TOKEN_LIFETIME);
        let (answered, _) = watch::channel(false);
        state.interactions.entry(id.to_string()).or_insert(Pending { command, answered, at: Instant::now() });
    }

    /// Marks an interaction answered: its follow-ups may go now.
    fn answered(&self, id: &str) {
        if let Some(p) = self.state().interactions.get(id) {
            p.answered.send_replace(true);
        }
    }

    /// A gateway INTERACTION_CREATE: store, answer within the 3 seconds, then queue.
    /// <https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction>
    /// Stores and answers a gateway interaction; the stored event is still to be queued.
    async fn on_gateway_interaction(&self, interaction: &Interaction, out: &Intake) -> Option<Stored> {
        let received = Instant::now();
        let id = interaction.id();
        let (answer, stored) = match self.receive(interaction, out).await {
            Ok(received) => received,
            Err(e) => {
                // Not stored, so not answered: Discord shows the person it failed.
                tracing::error!(interaction = %id, error = %e, "discord: could not store an interaction");
                return None;
            }
        };
        self.answer(interaction, &answer, received).await;
        self.answered(&id.to_string());
        stored
    }

    /// Sends the interaction's first answer; one failure that may be passing (a 5xx, a
    /// network error, a 429) is retried once if the deadline leaves room.
    async fn answer(&self, interaction: &Interaction, answer: &Answer, received: Instant) {
        let id = interaction.id();
        let body = json_body(&answer.body());
        for attempt in 1..=2 {
            let left = ANSWER_DEADLINE.saturating_sub(received.elapsed());
            let request = Request::new(
                Route::InteractionResponse { interaction_id: id, token: interaction.token() },
                LightMethod::Post,
            )
            .body(body.clone());
            // Past the deadline the answer is refused anyway: do not wait longer for it.
            let error =
                match tokio::time::timeout(left.max(ANSWER_RETRY_MARGIN), self.rest.call(request)).await {
                    Ok(Ok(_)) => return,
                    // Answered already: a replay after a resume, or a first try that got
                    // through although its answer did not.
                    Ok(Err(RestError { code: Some(ALREADY_ACKNOWLEDGED), .. })) => {
                        tracing::debug!(interaction = %id, "discord: interaction was already answered");
                        return;
                    }
                    Ok(Err(e)) => e,
                    Err(_) => RestError::timed_out(),
                };
            let wait = match error.send_error() {
                SendError::Transport(_) => Some(Duration::ZERO),
                SendError::RateLimited(wait) => Some(wait),
                _ => None,
            };
            let left = ANSWER_DEADLINE.saturating_sub(received.elapsed());
            match wait {
                Some(wait) if attempt == 1 && wait + ANSWER_RETRY_MARGIN < left => {
                    tracing::warn!(interaction = %id, error = %error, "discord: answering an interaction failed; trying once more");
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    tracing::warn!(interaction = %id, error = %error, attempt, "discord: could not answer an interaction");
                    return;
                }
            }
        }
    }

    /// Waits (up to Discord's deadline) until the interaction was answered; returns
    /// whether it was a command and how old it is, when this process received it.
    async fn wait_answered(&self, id: &str) -> Option<(bool, Duration)> {
        let (command, at, mut answered) = {
            let state = self.state();
            let p = state.interactions.get(id)?;
            (p.command, p.at, p.answered.subscribe())
        };
        let _ = tokio::time::timeout(ANSWER_DEADLINE, answered.wait_for(|done| *done)).await;
        Some((command, at.elapsed()))
    }

    /// Asks who the bot is before the gateway connects. READY says it too, but serenity
    /// runs each event handler in its own task, so the first messages could otherwise
    /// be read before READY was (the application id covers most bots meanwhile, see
    /// [`wire::Ctx`]). A refused token ends the platform: nothing else would work.
    async fn learn_bot_id(&self) -> anyhow::Result<()> {
        let request = Request::new(Route::UserMe, LightMethod::Get);
        match tokio::time::timeout(Duration::from_secs(30), self.rest.call(request)).await {
            Ok(Ok(me)) => match me["id"].as_str().and_then(|id| id.parse::<u64>().ok()) {
                Some(id) => self.set_bot_id(id),
                None => tracing::warn!("discord: /users/@me answered without an id"),
            },
            Ok(Err(e @ RestError { status: Some(401), .. })) => {
                return Err(self.fail(format!("{TOKEN_REFUSED} ({e})")));
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "discord: could not ask who the bot is; waiting for READY")
            }
            Err(_) => tracing::warn!("discord: asking who the bot is timed out; waiting for READY"),
        }
        Ok(())
    }

    /// Registers `/incident` (bulk overwrite, so a changed declaration replaces the
    /// old one): in the configured guild, available at once, else globally. With a
    /// guild, the global list is emptied too, or a `/incident` registered globally
    /// before would show twice. Each step is retried with backoff (honouring a 429's
    /// `retry_after`) until it succeeds, Discord refuses it for good, or `stop`.
    async fn register_commands(&self, stop: &CancellationToken) {
        let global = Route::Commands { application_id: self.app() };
        let steps = match self.config.guild_id.trim().parse::<u64>().ok().filter(|g| *g > 0) {
            Some(guild) => vec![
                (
                    "registering /incident in discord.guild_id",
                    Route::GuildCommands { application_id: self.app(), guild_id: GuildId::new(guild) },
                    commands::registration(),
                ),
                ("removing the global /incident (a guild is configured)", global, json!([])),
            ],
            None => vec![("registering /incident globally", global, commands::registration())],
        };
        for (what, route, body) in steps {
            let mut backoff = REGISTER_FIRST_BACKOFF;
            loop {
                let request = Request::new(route, LightMethod::Put).body(json_body(&body));
                let result = tokio::select! {
                    _ = stop.cancelled() => return,
                    result = tokio::time::timeout(Duration::from_secs(30), self.rest.call(request)) => result,
                };
                let error = match result {
                    Ok(Ok(_)) => {
                        tracing::info!("discord: done {what}");
                        break;
                    }
                    Ok(Err(e)) => e,
                    Err(_) => RestError::timed_out(),
                };
                let wait = match error.send_error() {
                    SendError::RateLimited(wait) => wait,
                    SendError::Transport(_) => backoff,
                    SendError::Unauthorized if error.status == Some(401) => {
                        tracing::error!(error = %error, "discord: {what} failed: {TOKEN_REFUSED}");
                        return;
                    }
                    _ => {
                        // 403 Missing Access: invited without the applications.commands scope.
                        tracing::error!(error = %error, "discord: {what} failed; slash commands stay as they were (is the bot invited with the applications.commands scope?)");
                        return;
                    }
                };
                tracing::warn!(error = %error, "discord: {what} failed; retrying in {wait:?}");
                backoff = (backoff * 2).min(REGISTER_MAX_BACKOFF);
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }

    /// Starts a thread on message `message` of `channel`. "Already exists" counts as
    /// success: one message has at most one thread, and its id is the message id.
    /// <https://discord.com/developers/docs/resources/channel#start-thread-from-message>
    async fn start_thread(&self, channel: u64, message: u64, name: &str) -> Result<(), RestError> {
        let request = Request::new(
            Route::ChannelMessageThreads {
                channel_id: ChannelId::new(channel),
                message_id: MessageId::new(message),
            },
            LightMethod::Post,
        )
        .body(json_body(&json!({"name": name, "auto_archive_duration": AUTO_ARCHIVE_MINUTES})));
        match self.rest.call(request).await {
            Ok(_) | Err(RestError { code: Some(THREAD_EXISTS), .. }) => {
                self.remember_thread(message, channel);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Makes sure thread `thread` exists in `channel`; returns where to post: the
    /// thread, or the channel itself where threads cannot be (DMs).
    async fn thread_for(&self, channel: u64, thread: u64, name: &str) -> Result<u64, SendError> {
        if self.known_parent(thread).is_some() {
            return Ok(thread);
        }
        match self.start_thread(channel, thread, name).await {
            Ok(()) => Ok(thread),
            // Not a message of this channel: maybe a thread started without one
            // (forum posts, "Create Thread" from the menu).
            Err(RestError { status: Some(404), .. }) | Err(RestError { code: Some(UNKNOWN_MESSAGE), .. }) => {
                match self.place(thread).await {
                    Place::Thread { .. } => Ok(thread),
                    Place::Channel => Err(SendError::Rejected {
                        reason: format!(
                            "message {thread} of channel {channel} is gone; cannot start its thread"
                        ),
                    }),
                }
            }
            // Only where Discord says threads cannot be (a DM, a channel type without
            // threads); any other refusal must not drop the card into the busy channel.
            Err(e @ RestError { code: Some(CANNOT_IN_DM | WRONG_CHANNEL_TYPE), .. }) => {
                tracing::info!(channel, error = %e, "discord: no thread possible here; posting in the channel");
                Ok(channel)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Posts `message`, in `thread` when given (starting it if needed). With a `nonce`
    /// Discord returns the message it already created for it instead of a second one.
    async fn post_with(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
        nonce: Option<String>,
    ) -> Result<MessageRef, SendError> {
        let channel_id = snowflake(channel)?;
        let name = render::thread_name(message);
        let target = match thread {
            Some(t) => self.thread_for(channel_id, snowflake(t)?, &name).await?,
            None => channel_id,
        };
        let mut body = render::message(message);
        if let Some(nonce) = nonce {
            body["nonce"] = json!(nonce);
            body["enforce_nonce"] = json!(true);
        }
        let id = self.create_message(target, &body).await?;
        if thread.is_none() && !message.title.trim().is_empty() {
            // A card at the top of a channel starts the incident's thread right away,
            // named after it (otherwise the first message in it would name it).
            if let Ok(message_id) = snowflake(&id) {
                if let Err(e) = self.start_thread(channel_id, message_id, &name).await {
                    tracing::warn!(channel, error = %e, "discord: could not start a thread on a card; the next post retries");
                }
            }
        }
        Ok(MessageRef { platform: Platform::Discord, channel: target.to_string(), id })
    }

    async fn create_message(&self, channel: u64, body: &Value) -> Result<String, SendError> {
        let request =
            Request::new(Route::ChannelMessages { channel_id: ChannelId::new(channel) }, LightMethod::Post)
                .body(json_body(body));
        let created = self.rest.call(request).await?;
        created["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::Transport("Discord answered without a message id".into()))
    }
}

#[async_trait]
impl ChatPlatform for Discord {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    /// Registers `/incident` (in the background, retrying), then holds the gateway
    /// connection until shutdown (returns once registration is done when
    /// `discord.gateway = false`). A refused token or refused intents end it with an
    /// error that says what to fix, and [`ChatPlatform::health`] reports it.
    async fn run(self: Arc<Self>, ctx: InboundContext) -> anyhow::Result<()> {
        if !self.config.gateway {
            tracing::info!("discord: gateway off; interactions arrive at /discord/interactions");
            self.register_commands(&ctx.shutdown).await;
            return Ok(());
        }
        // Registration retries alongside the gateway and stops when this returns.
        let registering = ctx.shutdown.child_token();
        let _stop_registering = registering.clone().drop_guard();
        let this = self.clone();
        tokio::spawn(async move { this.register_commands(&registering).await });

        self.learn_bot_id().await?;
        let http = rest::http(self.config.token.expose(), &self.config.api_url, self.application_id)?;
        let gate = gateway::Gate::open(self.clone(), ctx.out.clone());
        let handler = gateway::Handler { discord: self.clone(), gate: gate.clone() };
        let builder =
            serenity::all::ClientBuilder::new_with_http(http, gateway::intents()).event_handler(handler);
        let mut client = tokio::select! {
            _ = ctx.shutdown.cancelled() => return Ok(()),
            client = builder => client.context("discord: building the gateway client")?,
        };
        let shards = client.shard_manager.clone();
        let ended = tokio::select! {
            result = client.start() => match result {
                Ok(()) => Ok(()),
                Err(e) => Err(self.gateway_error(e)),
            },
            _ = ctx.shutdown.cancelled() => {
                shards.shutdown_all().await;
                Ok(())
            }
        };
        gate.close(GATEWAY_GRACE).await;
        ended
    }

    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError> {
        self.post_with(channel, thread, message, None).await
    }

    /// Posts with a `nonce` derived from the outbox key and `enforce_nonce`, so a
    /// retry after an answer that got lost returns the message Discord already made.
    async fn post_once(
        &self,
        key: &str,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError> {
        self.post_with(channel, thread, message, Some(nonce(key))).await
    }

    async fn update(&self, target: &MessageRef, message: &RichMessage) -> Result<(), SendError> {
        let request = Request::new(
            Route::ChannelMessage {
                channel_id: ChannelId::new(snowflake(&target.channel)?),
                message_id: MessageId::new(snowflake(&target.id)?),
            },
            LightMethod::Patch,
        )
        .body(json_body(&render::message(message)));
        self.rest.call(request).await?;
        Ok(())
    }

    /// Interactions get an ephemeral follow-up (`POST /webhooks/{app}/{token}`, flags
    /// 64) once the deferred answer went out; quiet replies to buttons are skipped (the
    /// deferred update was the answer) but commands always get one, or their
    /// "thinking…" never ends. Without an interaction, the reply is posted in place.
    /// <https://discord.com/developers/docs/interactions/receiving-and-responding#create-followup-message>
    async fn reply(&self, to: &ReplyTarget, text: &str) -> Result<(), SendError> {
        let (Some(token), Some(interaction)) = (&to.handle.token, &to.handle.interaction_id) else {
            if to.quiet {
                return Ok(());
            }
            let channel = snowflake(to.thread.as_deref().unwrap_or(&to.channel))?;
            self.create_message(channel, &render::plain(text)).await?;
            return Ok(());
        };
        let known = self.wait_answered(interaction).await;
        if to.quiet && matches!(known, Some((false, _))) {
            return Ok(());
        }
        let request = Request::new(
            Route::WebhookFollowupMessages { application_id: self.app(), token },
            LightMethod::Post,
        )
        .body(json_body(&render::ephemeral(text)));
        match self.rest.call(request).await {
            Ok(_) => Ok(()),
            // "Unknown Webhook" while the interaction is young: the answer is still on
            // its way to Discord; try again. Once the token expired, give up.
            Err(e @ RestError { status: Some(404), .. }) => match known {
                Some((_, age)) if age < TOKEN_LIFETIME => Err(SendError::Transport(e.to_string())),
                _ => Err(SendError::Rejected { reason: format!("interaction token expired: {e}") }),
            },
            Err(e @ RestError { status: Some(401), .. }) => {
                Err(SendError::Rejected { reason: format!("interaction token expired: {e}") })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn history(
        &self,
        channel: &str,
        thread: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChatLine>, SendError> {
        let id = snowflake(thread.unwrap_or(channel))?;
        let limit = limit.clamp(1, 100);
        let request =
            Request::new(Route::ChannelMessages { channel_id: ChannelId::new(id) }, LightMethod::Get)
                .params(Some(vec![("limit", limit.to_string())]));
        let messages = self.rest.call(request).await?;
        // Newest first from Discord; oldest first for the reader.
        let mut lines: Vec<ChatLine> = messages
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|m| ChatLine {
                        user: m["author"]["global_name"]
                            .as_str()
                            .or(m["author"]["username"].as_str())
                            .unwrap_or("?")
                            .to_string(),
                        text: m["content"].as_str().unwrap_or_default().to_string(),
                        at: m["id"].as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        lines.sort_by_key(|l| l.at.parse::<u64>().unwrap_or(0));
        Ok(lines)
    }

    fn needs_pacing(&self) -> bool {
        !self.rest.paced_by_serenity()
    }

    fn health(&self) -> Health {
        Health {
            failed: self.failed.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            lost_events: self.lost.load(Ordering::SeqCst),
        }
    }

    fn alert_route(&self) -> Option<AlertRoute> {
        let channel = self.config.notify_channel.trim();
        (!channel.is_empty())
            .then(|| AlertRoute { default: channel.to_string(), by_severity: Default::default() })
    }

    fn http_routes(self: Arc<Self>, out: Intake) -> Option<axum::Router> {
        let key = self.public_key?;
        Some(interactions::router(self, key, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_short_and_the_same_for_the_same_outbox_entry() {
        let key = "in:discord:1234567890123456789:0";
        assert_eq!(nonce(key), nonce(key));
        assert!(nonce(key).len() <= MAX_NONCE);
        assert_ne!(nonce(key), nonce("in:discord:1234567890123456789:1"));
    }
}
