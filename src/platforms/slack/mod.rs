//! Slack: socket mode (default) or HTTP mode in, Web API out, via slack-morphism.
//!
//! - `wire.rs`: payloads → `Inbound` (pure).
//! - `render.rs`: `RichMessage` → Block Kit (pure).
//! - `http.rs`: `/slack/events`, `/slack/commands`, `/slack/interactivity` (HTTP mode).
//! - this file: the client, the socket-mode listener, sending.
//!
//! Every envelope is acknowledged only after `Intake::submit` stored its event; a
//! failed submit leaves it unacknowledged, so Slack delivers it again.

mod http;
pub mod render;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::{AlertRoute, ChatLine, ChatPlatform, InboundContext, ReplyTarget, SendError};
use crate::config::{SlackConfig, SlackMode};
use crate::intake::Intake;
use crate::model::{MessageRef, Platform, RichMessage};

pub use wire::Me;

/// slack-morphism's callback error type (its own alias is crate-private).
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The Slack adapter.
pub struct Slack {
    client: Arc<SlackHyperClient>,
    bot_token: SlackApiToken,
    app_token: SlackApiToken,
    config: SlackConfig,
    /// Learned from `auth.test` at start: who "we" are in mentions and bot posts.
    me: Arc<RwLock<Me>>,
    /// For `response_url` answers (outside the Web API).
    http: reqwest::Client,
    /// Display names by user id (`users.info`), so cards say "alice", not "U024BE7LH".
    names: Mutex<HashMap<String, String>>,
    /// Outbox keys whose last post may have reached Slack although we never heard back
    /// (a timeout, a dropped connection): before posting one again, its thread is
    /// searched for the message carrying that key in its metadata.
    in_doubt: Mutex<std::collections::HashSet<String>>,
    /// Channel names the config uses (`#alerts`) and the ids Slack answered with: the
    /// lookup for an earlier post needs the id.
    channel_ids: Mutex<HashMap<String, String>>,
}

/// The `event_type` of the metadata warroom puts on every post it makes.
const POST_METADATA: &str = "warroom_outbox";

/// slack-morphism's hyper connector has no request timeout, and the Slack outbox sends
/// one entry at a time: without a bound, one hung request would hold every message.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A Web API call, bounded by [`CALL_TIMEOUT`], its error as what the outbox should do.
async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, SlackClientError>>,
) -> Result<T, SendError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result.map_err(map_error),
        Err(_) => Err(SendError::Transport(format!("Slack did not answer within {CALL_TIMEOUT:?}"))),
    }
}

fn token(value: &str) -> SlackApiToken {
    SlackApiToken::new(SlackApiTokenValue(value.to_string()))
}

impl Slack {
    /// Builds the client; nothing is contacted until [`ChatPlatform::run`].
    pub fn new(config: &SlackConfig) -> anyhow::Result<Arc<Self>> {
        // One connector type for production and tests: HTTPS with the system's roots,
        // plain HTTP allowed so tests can point `api_url` at a loopback fake.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| anyhow::anyhow!("slack: cannot load the system's TLS root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let connector =
            SlackClientHyperConnector::with_connector(connector).with_slack_api_url(&config.api_url);
        Ok(Arc::new(Self {
            client: Arc::new(SlackClient::new(connector)),
            bot_token: token(config.bot_token.expose()),
            app_token: token(config.app_token.expose()),
            config: config.clone(),
            me: Arc::new(RwLock::new(Me::default())),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| anyhow::anyhow!("slack: cannot build the HTTP client: {e}"))?,
            names: Mutex::new(HashMap::new()),
            in_doubt: Mutex::new(Default::default()),
            channel_ids: Mutex::new(HashMap::new()),
        }))
    }

    /// The person's display name, from the cache or `users.info`. Bounded to a second:
    /// the event must still be acknowledged within Slack's three; without a name the
    /// card shows the user id.
    async fn display_name(&self, user: &str) -> Option<String> {
        if let Some(name) = self.names.lock().unwrap_or_else(|p| p.into_inner()).get(user) {
            return Some(name.clone());
        }
        let request = SlackApiUsersInfoRequest::new(SlackUserId(user.to_string()));
        let session = self.client.open_session(&self.bot_token);
        let answer = tokio::time::timeout(Duration::from_secs(1), session.users_info(&request)).await;
        let found = match answer {
            Ok(Ok(info)) => info
                .user
                .profile
                .as_ref()
                .and_then(|p| {
                    p.display_name.clone().filter(|n| !n.is_empty()).or_else(|| p.real_name.clone())
                })
                .or(info.user.name)
                .filter(|n| !n.is_empty()),
            Ok(Err(e)) => {
                tracing::debug!(user, error = %e, "slack: users.info failed");
                None
            }
            Err(_) => None,
        }?;
        self.names.lock().unwrap_or_else(|p| p.into_inner()).insert(user.to_string(), found.clone());
        Some(found)
    }

    /// Names the sender (when Slack did not) and stores the event.
    async fn submit(
        &self,
        out: &Intake,
        mut incoming: wire::Incoming,
    ) -> Result<(), crate::intake::IntakeError> {
        if incoming.event.user.name.is_none() {
            incoming.event.user.name = self.display_name(&incoming.event.user.id).await;
        }
        out.submit(incoming.event, incoming.dedup_keys).await.map(|_| ())
    }

    fn me(&self) -> Me {
        self.me.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `auth.test`: who we are. Retried on network trouble; a refused token is fatal.
    async fn learn_identity(&self, ctx: &InboundContext) -> anyhow::Result<()> {
        let mut delay = Duration::from_millis(500);
        loop {
            match bounded(self.client.open_session(&self.bot_token).auth_test()).await {
                Ok(me) => {
                    let mut guard = self.me.write().unwrap_or_else(|p| p.into_inner());
                    guard.user_id = Some(me.user_id.to_string());
                    guard.bot_id = me.bot_id.map(|b| b.to_string());
                    tracing::info!(team = %me.team, user = %me.user_id, mode = ?self.config.mode, "slack: connected");
                    return Ok(());
                }
                Err(e) => match e {
                    SendError::Unauthorized | SendError::Rejected { .. } => {
                        anyhow::bail!("slack: auth.test refused the bot token; check slack.bot_token")
                    }
                    other => {
                        tracing::warn!(error = %other, "slack: auth.test failed; retrying in {delay:?}");
                        tokio::select! {
                            _ = ctx.shutdown.cancelled() => return Ok(()),
                            _ = tokio::time::sleep(delay) => {}
                        }
                        delay = (delay * 2).min(Duration::from_secs(60));
                    }
                },
            }
        }
    }
}

/// What the socket-mode callbacks (plain `fn`s) need, kept in slack-morphism's user state.
#[derive(Clone)]
struct SocketState {
    out: Intake,
    slack: Arc<Slack>,
}

async fn socket_state(states: &SlackClientEventsUserState) -> Result<SocketState, BoxError> {
    states
        .read()
        .await
        .get_user_state::<SocketState>()
        .cloned()
        .ok_or_else(|| "slack: socket state missing".into())
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = socket_state(&states).await?;
    if let Some(incoming) = wire::push_event(&event, &state.slack.me(), Utc::now()) {
        state.slack.submit(&state.out, incoming).await.map_err(|e| Box::new(e) as BoxError)?;
    }
    Ok(())
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let state = socket_state(&states).await?;
    match wire::command(&event, Utc::now()) {
        Some(incoming) => {
            state
                .out
                .submit(incoming.event, incoming.dedup_keys)
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
            // The answer follows as an ephemeral message once the command ran.
            Ok(SlackCommandEventResponse::new(SlackMessageContent::new()))
        }
        None => Ok(SlackCommandEventResponse::new(
            SlackMessageContent::new()
                .with_text("warroom only answers /incident. Try `/incident help`.".into()),
        )),
    }
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = socket_state(&states).await?;
    match wire::interaction(&event, Utc::now()) {
        Ok(incoming) => {
            state
                .out
                .submit(incoming.event, incoming.dedup_keys)
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
        }
        Err(wire::NotAnAction::Invalid) => {
            tracing::info!("slack: ignored a button press that points at no incident")
        }
        Err(wire::NotAnAction::Ignored) => {}
    }
    Ok(())
}

/// A failed callback leaves the envelope unacknowledged (Slack redelivers it).
fn on_error(
    err: BoxError,
    _client: Arc<SlackHyperClient>,
    _states: SlackClientEventsUserState,
) -> HttpStatusCode {
    tracing::warn!(error = %err, "slack: event not stored; leaving it unacknowledged so Slack redelivers it");
    HttpStatusCode::INTERNAL_SERVER_ERROR
}

#[async_trait]
impl ChatPlatform for Slack {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn run(self: Arc<Self>, ctx: InboundContext) -> anyhow::Result<()> {
        self.learn_identity(&ctx).await?;
        if self.config.mode == SlackMode::Http || ctx.shutdown.is_cancelled() {
            return Ok(()); // events arrive through the HTTP routes
        }
        let callbacks = SlackSocketModeListenerCallbacks::new()
            .with_push_events(on_push)
            .with_command_events(on_command)
            .with_interaction_events(on_interaction);
        let environment = Arc::new(
            SlackClientEventsListenerEnvironment::new(self.client.clone())
                .with_error_handler(on_error)
                .with_user_state(SocketState { out: ctx.out.clone(), slack: self.clone() }),
        );
        let listener = SlackClientSocketModeListener::new(
            &SlackClientSocketModeConfig::new().with_max_connections_count(self.config.socket_connections),
            environment,
            callbacks,
        );
        listener.listen_for(&self.app_token).await.map_err(|e| {
            anyhow::anyhow!("slack: cannot open a socket-mode connection (apps.connections.open): {e}")
        })?;
        listener.start().await;
        ctx.shutdown.cancelled().await;
        listener.shutdown().await;
        Ok(())
    }

    async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError> {
        self.post_with(None, channel, thread, message).await
    }

    /// Posts with the outbox `key` in the message's metadata. When an earlier attempt
    /// ended without an answer, the message may be there already: found, it is not
    /// posted a second time. <https://docs.slack.dev/messaging/message-metadata>
    async fn post_once(
        &self,
        key: &str,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError> {
        let doubtful = self.in_doubt.lock().unwrap_or_else(|p| p.into_inner()).contains(key);
        if doubtful {
            if let Some(found) = self.find_posted(key, channel, thread).await? {
                tracing::info!(key, "slack: an earlier attempt was posted after all; not posting again");
                self.in_doubt.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
                return Ok(found);
            }
        }
        let answer = self.post_with(Some(key), channel, thread, message).await;
        let mut in_doubt = self.in_doubt.lock().unwrap_or_else(|p| p.into_inner());
        match &answer {
            Ok(_) => {
                in_doubt.remove(key);
            }
            Err(SendError::Transport(_)) => {
                in_doubt.insert(key.to_string());
            }
            Err(_) => {}
        }
        answer
    }

    async fn update(&self, target: &MessageRef, message: &RichMessage) -> Result<(), SendError> {
        let request = SlackApiChatUpdateRequest::new(
            SlackChannelId(target.channel.clone()),
            render::content(message),
            SlackTs(target.id.clone()),
        );
        bounded(self.client.open_session(&self.bot_token).chat_update(&request)).await?;
        Ok(())
    }

    async fn reply(&self, to: &ReplyTarget, text: &str) -> Result<(), SendError> {
        if to.quiet {
            return Ok(()); // the card update and thread line already say it
        }
        let mut request = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId(to.channel.clone()),
            SlackUserId(to.user.clone()),
            SlackMessageContent::new().with_text(render::reply_text(text)),
        );
        if let Some(thread) = &to.thread {
            request = request.with_thread_ts(SlackTs(thread.clone()));
        }
        match bounded(self.client.open_session(&self.bot_token).chat_post_ephemeral(&request)).await {
            Ok(_) => Ok(()),
            // Not in the channel (a DM, a private channel): the response_url still works.
            Err(SendError::Rejected { reason }) => match &to.handle.token {
                Some(url) if url.starts_with("http") => self.respond(url, text).await,
                _ => Err(SendError::Rejected { reason }),
            },
            Err(e) => Err(e),
        }
    }

    async fn history(
        &self,
        channel: &str,
        thread: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ChatLine>, SendError> {
        let limit = limit.clamp(1, 200) as u16;
        let session = self.client.open_session(&self.bot_token);
        let messages = match thread {
            // Replies come oldest first, a page at a time: keep the report that started
            // the thread and the newest messages, which say where things stand.
            Some(ts) => {
                let mut request = SlackApiConversationsRepliesRequest::new(
                    SlackChannelId(channel.to_string()),
                    SlackTs(ts.to_string()),
                )
                .with_limit(200);
                let mut all = Vec::new();
                for _ in 0..MAX_HISTORY_PAGES {
                    let page = bounded(session.conversations_replies(&request)).await?;
                    all.extend(page.messages);
                    let next = page.response_metadata.and_then(|m| m.next_cursor).filter(|c| !c.0.is_empty());
                    match next {
                        Some(cursor) if page.has_more != Some(false) => request = request.with_cursor(cursor),
                        _ => break,
                    }
                }
                newest_with_first(all, limit as usize)
            }
            None => {
                let request = SlackApiConversationsHistoryRequest::new()
                    .with_channel(SlackChannelId(channel.to_string()))
                    .with_limit(limit);
                let mut messages = bounded(session.conversations_history(&request)).await?.messages;
                messages.truncate(limit as usize);
                messages.reverse(); // history is newest first
                messages
            }
        };
        Ok(messages
            .into_iter()
            .map(|m| ChatLine {
                user: m
                    .sender
                    .user
                    .map(|u| u.to_string())
                    .or(m.sender.username)
                    .unwrap_or_else(|| "bot".into()),
                text: m.content.text.unwrap_or_default(),
                at: m.origin.ts.to_string(),
            })
            .collect())
    }

    fn alert_route(&self) -> Option<AlertRoute> {
        let route = AlertRoute {
            default: self.config.alert_channel.clone(),
            by_severity: self.config.severity_channels.clone(),
        };
        (!route.default.is_empty() || !route.by_severity.is_empty()).then_some(route)
    }

    fn http_routes(self: Arc<Self>, out: Intake) -> Option<axum::Router> {
        (self.config.mode == SlackMode::Http).then(|| http::routes(self.clone(), out))
    }
}

impl Slack {
    /// `chat.postMessage`, with outbox `key` in the metadata when there is one. Learns
    /// the id of a channel the config names (`#alerts`) from Slack's answer.
    async fn post_with(
        &self,
        key: Option<&str>,
        channel: &str,
        thread: Option<&str>,
        message: &RichMessage,
    ) -> Result<MessageRef, SendError> {
        let mut content = render::content(message);
        if let Some(key) = key {
            content = content.with_metadata(SlackMessageMetadata {
                event_type: POST_METADATA.to_string(),
                event_payload: Some([("key".to_string(), key.to_string())].into()),
            });
        }
        let mut request = SlackApiChatPostMessageRequest::new(SlackChannelId(channel.to_string()), content);
        if let Some(thread) = thread {
            request = request.with_thread_ts(SlackTs(thread.to_string()));
        }
        let response = bounded(self.client.open_session(&self.bot_token).chat_post_message(&request)).await?;
        if response.channel.0 != channel {
            self.channel_ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(channel.to_string(), response.channel.to_string());
        }
        Ok(MessageRef {
            platform: Platform::Slack,
            channel: response.channel.to_string(),
            id: response.ts.to_string(),
        })
    }

    /// The bot's message that carries outbox `key` in its metadata, in the thread (or
    /// among the channel's latest messages). slack-morphism's `conversations.replies`
    /// cannot ask for metadata, so this one call goes over plain HTTP. A lookup Slack
    /// refuses finds nothing: posting twice is better than not posting a page.
    async fn find_posted(
        &self,
        key: &str,
        channel: &str,
        thread: Option<&str>,
    ) -> Result<Option<MessageRef>, SendError> {
        // The API wants the channel's id; a name is known once a post there answered.
        let known = self.channel_ids.lock().unwrap_or_else(|p| p.into_inner()).get(channel).cloned();
        let channel = match known {
            Some(id) => id,
            None if channel.starts_with('#') => {
                tracing::debug!(
                    channel,
                    "slack: no id known for this channel name; cannot look for an earlier post"
                );
                return Ok(None);
            }
            None => channel.to_string(),
        };
        let (method, base) = match thread {
            // Replies come oldest first: read on to the newest, where a retry's post is.
            Some(ts) => ("conversations.replies", vec![("ts", ts.to_string()), ("limit", "200".to_string())]),
            None => ("conversations.history", vec![("limit", "50".to_string())]),
        };
        let pages = if thread.is_some() { MAX_HISTORY_PAGES } else { 1 };
        let mut cursor: Option<String> = None;
        for _ in 0..pages {
            let mut form = base.clone();
            form.extend([("channel", channel.clone()), ("include_all_metadata", "true".into())]);
            if let Some(c) = &cursor {
                form.push(("cursor", c.clone()));
            }
            let body = self.web_api(method, &form).await?;
            if body["ok"] != true {
                tracing::warn!(method, error = %body["error"], "slack: cannot look for an earlier post; posting again");
                return Ok(None);
            }
            let found = body["messages"].as_array().into_iter().flatten().find(|m| {
                m["metadata"]["event_type"] == POST_METADATA && m["metadata"]["event_payload"]["key"] == key
            });
            if let Some(ts) = found.and_then(|m| m["ts"].as_str()) {
                return Ok(Some(MessageRef { platform: Platform::Slack, channel, id: ts.to_string() }));
            }
            cursor = body["response_metadata"]["next_cursor"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            if cursor.is_none() || body["has_more"] == false {
                break;
            }
        }
        Ok(None)
    }

    /// One Web API call over plain HTTP (for what slack-morphism cannot ask), bounded.
    async fn web_api(&self, method: &str, form: &[(&str, String)]) -> Result<serde_json::Value, SendError> {
        let url = format!("{}/{method}", self.config.api_url.trim_end_matches('/'));
        let answer = self
            .http
            .post(url)
            .bearer_auth(self.config.bot_token.expose())
            .form(form)
            .send()
            .await
            .map_err(|e| SendError::Transport(format!("{method}: {}", e.without_url())))?;
        if answer.status().is_server_error() || answer.status().as_u16() == 429 {
            return Err(SendError::Transport(format!("{method} answered {}", answer.status())));
        }
        Ok(answer.json().await.unwrap_or_default())
    }

    /// Answers through a `response_url` (ephemeral), for channels the bot is not in.
    async fn respond(&self, url: &str, text: &str) -> Result<(), SendError> {
        let body = serde_json::json!({"response_type": "ephemeral", "replace_original": false, "text": render::reply_text(text)});
        let response =
            self.http.post(url).json(&body).send().await.map_err(|e| SendError::Transport(e.to_string()))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            429 => Err(SendError::RateLimited(Duration::from_secs(1))),
            s if s >= 500 => Err(SendError::Transport(format!("response_url answered {s}"))),
            s => Err(SendError::Rejected { reason: format!("response_url answered {s}") }),
        }
    }
}

/// How many pages of 200 replies a thread's history reads at most.
const MAX_HISTORY_PAGES: usize = 5;

/// The first message (the report that opened the thread) and the newest `limit - 1`.
fn newest_with_first<T>(mut messages: Vec<T>, limit: usize) -> Vec<T> {
    if messages.len() <= limit.max(1) {
        return messages;
    }
    let tail = messages.split_off(messages.len() - (limit.max(1) - 1));
    messages.truncate(1);
    messages.extend(tail);
    messages
}

/// Slack's errors, as what the outbox should do about them.
fn map_error(error: SlackClientError) -> SendError {
    match error {
        SlackClientError::RateLimitError(e) => {
            SendError::RateLimited(e.retry_after.unwrap_or(Duration::from_secs(1)))
        }
        SlackClientError::ApiError(e) => match e.code.as_str() {
            "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" | "token_expired"
            | "no_permission" => SendError::Unauthorized,
            "ratelimited" => SendError::RateLimited(Duration::from_secs(1)),
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                SendError::Transport(e.code)
            }
            _ => SendError::Rejected { reason: e.code },
        },
        SlackClientError::HttpError(e) => match e.status_code.as_u16() {
            429 => SendError::RateLimited(Duration::from_secs(1)),
            401 | 403 => SendError::Unauthorized,
            s if s >= 500 => SendError::Transport(format!("HTTP {s}")),
            s => SendError::Rejected { reason: format!("HTTP {s}") },
        },
        other => SendError::Transport(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::newest_with_first;

    #[test]
    fn a_long_thread_keeps_its_report_and_its_newest_messages() {
        let thread: Vec<u32> = (1..=10).collect();
        assert_eq!(newest_with_first(thread.clone(), 4), vec![1, 8, 9, 10]);
        assert_eq!(newest_with_first(thread.clone(), 10), thread);
        assert_eq!(newest_with_first(thread, 1), vec![1]);
    }
}
