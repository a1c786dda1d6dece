//! A fake Discord on 127.0.0.1: the REST API under `/api/v10` (axum) and the gateway
//! WebSocket (tokio-tungstenite), speaking the real wire protocol so the real serenity
//! client runs against it unmodified (platform-facts §0).
//!
//! It keeps channels, messages and threads like Discord does (including `nonce` with
//! `enforce_nonce`: a repeat returns the message already made), records every REST call
//! and every gateway frame the bot sends, and injects faults: 429 with `retry_after`
//! and `Retry-After`, 5xx, errors with a Discord JSON code, slow answers, answers lost
//! after the request was carried out, op 7 RECONNECT, op 9 INVALID SESSION, a close
//! code instead of READY, and dropped connections. Gateway events are numbered per
//! session and replayed on RESUME.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;

/// The bot user the fake authenticates `test-token` as.
pub const BOT_ID: &str = "100";
pub const APPLICATION_ID: &str = "700";
pub const GUILD_ID: &str = "500";

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Path below `/api/v10`, without the query.
    pub path: String,
    pub query: String,
    pub body: Value,
    pub authorization: String,
    pub at: Instant,
}

impl Call {
    /// `"POST /channels/600/messages"`.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What an injected fault answers.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 429 with `retry_after` (seconds) in the body and `Retry-After` header.
    RateLimited(f64),
    /// An HTTP status with a Discord error body.
    Status(u16),
    /// An HTTP status with this Discord JSON error code (`50035`, `50024`, …).
    Code(u16, u64),
    /// Answer normally, this many milliseconds late.
    Delay(u64),
    /// Do what was asked, then answer with this status anyway: the answer got lost.
    LoseAnswer(u16),
}

struct Injected {
    method: String,
    pattern: String,
    remaining: usize,
    fault: Fault,
}

/// An interaction the fake dispatched, and when it was answered.
#[derive(Debug, Clone)]
pub struct Dispatched {
    pub id: String,
    pub token: String,
    pub at: Instant,
    pub answered: Option<(Instant, Value)>,
}

enum Out {
    Frame(Value),
    /// Close the TCP connection without a close frame.
    Drop,
    /// Close the WebSocket with this close code (4004 authentication failed, …).
    Close(u16),
}

struct Session {
    id: String,
    seq: u64,
    /// Every dispatch of the session, for replay on RESUME.
    log: Vec<(u64, Value)>,
    valid: bool,
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Out>,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<Call>,
    faults: Vec<Injected>,
    next_id: u64,
    /// Channel id → its messages, oldest first.
    messages: BTreeMap<String, Vec<Value>>,
    /// Threads and channels the fake knows (`GET /channels/{id}`).
    channels: HashMap<String, Value>,
    /// Messages that have a thread.
    threaded: HashSet<String>,
    interactions: Vec<Dispatched>,
    // Gateway.
    received: Vec<Value>,
    session: Option<Session>,
    live: Option<Conn>,
    connections: u64,
    resume_overlap: u64,
    heartbeat_ms: u64,
    /// Answer the next IDENTIFY with this close code instead of READY.
    refuse_identify: Option<u16>,
    /// (author id, nonce) → the message created with it.
    nonces: HashMap<(String, String), Value>,
}

/// A running fake Discord.
#[derive(Clone)]
pub struct FakeDiscord {
    /// What `discord.api_url` is set to (`http://127.0.0.1:P`).
    pub api_url: String,
    /// The gateway URL `GET /gateway` hands out.
    pub ws_url: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeDiscord {
    /// Starts REST and gateway on ephemeral ports.
    pub async fn start() -> FakeDiscord {
        let rest = TcpListener::bind("127.0.0.1:0").await.expect("bind REST");
        let ws = TcpListener::bind("127.0.0.1:0").await.expect("bind gateway");
        let api_url = format!("http://{}", rest.local_addr().expect("addr"));
        let ws_url = format!("ws://{}", ws.local_addr().expect("addr"));
        let state = FakeState { next_id: 10_000, heartbeat_ms: 1_000, ..Default::default() };
        let fake = FakeDiscord { api_url, ws_url, state: Arc::new(Mutex::new(state)) };
        let app = Router::new().fallback(rest_call).with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(rest, app).await;
        });
        let gateway = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                tokio::spawn(gateway.clone().serve_gateway(stream));
            }
        });
        fake
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `[discord]` config section pointing at this fake.
    pub fn config(&self, extra: &str) -> String {
        format!(
            "[discord]\ntoken = \"test-token\"\napplication_id = \"{APPLICATION_ID}\"\napi_url = \"{}\"\n{extra}\n",
            self.api_url
        )
    }

    fn next_id(&self) -> String {
        let mut s = self.lock();
        s.next_id += 1;
        s.next_id.to_string()
    }

    // ----------------------------------------------------------------- recording

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Calls whose `route()` matches `pattern` (`*` = any one path segment).
    pub fn calls_to(&self, pattern: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| matches(pattern, &c.route())).collect()
    }

    /// Messages of a channel or thread as Discord holds them, oldest first.
    pub fn messages(&self, channel: &str) -> Vec<Value> {
        self.lock().messages.get(channel).cloned().unwrap_or_default()
    }

    /// A message by id, wherever it is.
    pub fn message(&self, id: &str) -> Option<Value> {
        self.lock().messages.values().flatten().find(|m| m["id"] == id).cloned()
    }

    /// The thread started on `message`, if any.
    pub fn thread(&self, message: &str) -> Option<Value> {
        let s = self.lock();
        s.threaded.contains(message).then(|| s.channels.get(message).cloned()).flatten()
    }

    /// Every gateway frame the bot sent.
    pub fn received(&self) -> Vec<Value> {
        self.lock().received.clone()
    }

    /// Gateway frames the bot sent with opcode `op`.
    pub fn received_op(&self, op: u64) -> Vec<Value> {
        self.received().into_iter().filter(|f| f["op"] == op).collect()
    }

    /// Interactions dispatched so far.
    pub fn interactions(&self) -> Vec<Dispatched> {
        self.lock().interactions.clone()
    }

    pub fn connections(&self) -> u64 {
        self.lock().connections
    }

    /// Whether a bot is connected with a ready (or resumed) session.
    pub fn is_live(&self) -> bool {
        let s = self.lock();
        s.live.is_some() && s.session.as_ref().is_some_and(|x| x.valid)
    }

    // ----------------------------------------------------------------- faults

    /// The next `times` calls matching `"METHOD /path/*/pattern"` get `fault`.
    pub fn fail_next(&self, route: &str, times: usize, fault: Fault) {
        let (method, pattern) = route.split_once(' ').expect("METHOD /path");
        self.lock().faults.push(Injected {
            method: method.to_string(),
            pattern: pattern.to_string(),
            remaining: times,
            fault,
        });
    }

    /// On RESUME, also replay this many events the bot already got (Discord's delivery
    /// is at least once).
    pub fn set_resume_overlap(&self, events: u64) {
        self.lock().resume_overlap = events;
    }

    /// Sends op 7 RECONNECT: the bot should reconnect and RESUME. Events dispatched
    /// until then are kept for the replay.
    pub fn reconnect(&self) {
        let mut s = self.lock();
        if let Some(conn) = s.live.take() {
            let _ = conn.tx.send(Out::Frame(json!({"op": 7, "d": null})));
        }
    }

    /// Sends op 9 INVALID SESSION (not resumable): the bot must IDENTIFY again.
    pub fn invalidate_session(&self) {
        let mut s = self.lock();
        if let Some(session) = s.session.as_mut() {
            session.valid = false;
        }
        if let Some(conn) = s.live.take() {
            let _ = conn.tx.send(Out::Frame(json!({"op": 9, "d": false})));
        }
    }

    /// Answers the next IDENTIFY by closing the connection with `code`: 4004 when the
    /// token is wrong, 4014 when a privileged intent is not enabled in the portal.
    /// <https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes>
    pub fn refuse_identify(&self, code: u16) {
        self.lock().refuse_identify = Some(code);
    }

    /// Drops the TCP connection without a close frame (a network blip).
    pub fn drop_connection(&self) {
        if let Some(conn) = self.lock().live.take() {
            let _ = conn.tx.send(Out::Drop);
        }
    }

    // ----------------------------------------------------------------- gateway

    /// Sends a dispatch (op 0) in the current session; while the bot is away it is
    /// only logged, and replayed when the bot resumes.
    pub fn dispatch(&self, event: &str, data: Value) {
        let mut guard = self.lock();
        let s = &mut *guard;
        let Some(session) = s.session.as_mut() else {
            panic!("no gateway session yet: wait for the bot first")
        };
        session.seq += 1;
        let frame = json!({"op": 0, "s": session.seq, "t": event, "d": data});
        session.log.push((session.seq, frame.clone()));
        if let Some(conn) = &s.live {
            let _ = conn.tx.send(Out::Frame(frame));
        }
    }

    async fn serve_gateway(self, stream: TcpStream) {
        let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
        let (mut write, mut read) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
        let conn = {
            let mut s = self.lock();
            s.connections += 1;
            s.connections
        };
        let hello = json!({"op": 10, "d": {"heartbeat_interval": self.lock().heartbeat_ms}});
        if write.send(Frame::Text(hello.to_string().into())).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(Out::Frame(frame)) => {
                        if write.send(Frame::Text(frame.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                    Some(Out::Close(code)) => {
                        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
                            code: code.into(),
                            reason: "refused".into(),
                        };
                        let _ = write.send(Frame::Close(Some(frame))).await;
                        break;
                    }
                    Some(Out::Drop) | None => break,
                },
                incoming = read.next() => match incoming {
                    Some(Ok(Frame::Text(text))) => {
                        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                        self.on_frame(conn, &tx, frame);
                    }
                    Some(Ok(Frame::Close(_))) => {
                        // Completes the closing handshake the client waits for.
                        let _ = write.close().await;
                        break;
                    }
                    None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        let mut s = self.lock();
        if s.live.as_ref().is_some_and(|l| l.id == conn) {
            s.live = None;
        }
    }

    /// The bot's side of the exchange: IDENTIFY → READY, RESUME → replay + RESUMED,
    /// heartbeat → ACK.
    fn on_frame(&self, conn: u64, tx: &mpsc::UnboundedSender<Out>, frame: Value) {
        let mut guard = self.lock();
        let s = &mut *guard;
        s.received.push(frame.clone());
        match frame["op"].as_u64() {
            Some(1) => {
                let _ = tx.send(Out::Frame(json!({"op": 11})));
            }
            Some(2) if s.refuse_identify.is_some() => {
                let code = s.refuse_identify.take().unwrap_or(4004);
                let _ = tx.send(Out::Close(code));
            }
            Some(2) => {
                let id = format!("session-{conn}");
                let ready = json!({
                    "v": 10,
                    "user": {"id": BOT_ID, "username": "warroom", "discriminator": "0", "avatar": null, "bot": true},
                    "guilds": [{"id": GUILD_ID, "unavailable": true}],
                    "session_id": id,
                    "resume_gateway_url": "ws://127.0.0.1:9/unused",
                    "shard": [0, 1],
                    "application": {"id": APPLICATION_ID, "flags": 0},
                });
                let frame = json!({"op": 0, "s": 1, "t": "READY", "d": ready});
                s.session = Some(Session { id, seq: 1, log: vec![(1, frame.clone())], valid: true });
                s.live = Some(Conn { id: conn, tx: tx.clone() });
                let _ = tx.send(Out::Frame(frame));
            }
            Some(6) => {
                let overlap = s.resume_overlap;
                let asked = frame["d"]["session_id"].as_str().unwrap_or_default().to_string();
                let from = frame["d"]["seq"].as_u64().unwrap_or(0).saturating_sub(overlap);
                let Some(session) = s.session.as_mut().filter(|x| x.valid && x.id == asked) else {
                    let _ = tx.send(Out::Frame(json!({"op": 9, "d": false})));
                    return;
                };
                for (seq, frame) in &session.log {
                    if *seq > from && frame["t"] != "READY" {
                        let _ = tx.send(Out::Frame(frame.clone()));
                    }
                }
                session.seq += 1;
                let resumed = json!({"op": 0, "s": session.seq, "t": "RESUMED", "d": {}});
                session.log.push((session.seq, resumed.clone()));
                let _ = tx.send(Out::Frame(resumed));
                s.live = Some(Conn { id: conn, tx: tx.clone() });
            }
            _ => {}
        }
    }

    // ----------------------------------------------------------------- fixtures

    /// A MESSAGE_CREATE payload with every field serenity needs.
    pub fn message_json(&self, channel: &str, author: &Value, content: &str) -> Value {
        let mentions: Vec<Value> = if content.contains(&format!("<@{BOT_ID}>")) {
            vec![json!({"id": BOT_ID, "username": "warroom", "bot": true})]
        } else {
            Vec::new()
        };
        json!({
            "id": self.next_id(), "channel_id": channel, "guild_id": GUILD_ID,
            "author": author, "content": content,
            "timestamp": chrono::Utc::now().to_rfc3339(), "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": mentions, "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": false, "type": 0,
        })
    }

    /// Someone posts `message` (from [`Self::message_json`], maybe edited): Discord
    /// stores it and dispatches MESSAGE_CREATE.
    pub fn post(&self, message: Value) -> Value {
        let channel = message["channel_id"].as_str().expect("channel_id").to_string();
        self.lock().messages.entry(channel).or_default().push(message.clone());
        self.dispatch("MESSAGE_CREATE", message.clone());
        message
    }

    /// `author` writes `content` in `channel`.
    pub fn say(&self, channel: &str, author: &Value, content: &str) -> Value {
        self.post(self.message_json(channel, author, content))
    }

    /// A thread people started themselves (not on a message of the bot's).
    pub fn add_thread(&self, thread: &str, parent: &str) {
        let channel = json!({"id": thread, "type": 11, "guild_id": GUILD_ID, "parent_id": parent, "name": "side thread"});
        self.lock().channels.insert(thread.to_string(), channel);
    }

    fn interaction_base(&self, kind: u8, channel: &str, user: &Value) -> Value {
        let id = self.next_id();
        let mut base = json!({
            "id": id, "application_id": APPLICATION_ID, "type": kind, "token": format!("token-{id}"),
            "version": 1, "guild_id": GUILD_ID, "channel_id": channel, "locale": "en-US",
            "entitlements": [], "attachment_size_limit": 10_485_760,
            "member": {"user": user, "roles": [], "deaf": false, "mute": false, "flags": 0,
                       "joined_at": "2026-01-01T00:00:00+00:00"},
        });
        let parent =
            self.lock().channels.get(channel).and_then(|c| c["parent_id"].as_str().map(str::to_string));
        if let Some(parent) = parent {
            base["channel"] = json!({"id": channel, "type": 11, "parent_id": parent, "name": "thread"});
        }
        base
    }

    /// INTERACTION_CREATE for `user` pressing the button `custom_id` on `message`.
    pub fn button_json(&self, message: &Value, custom_id: &str, user: &Value) -> Value {
        let channel = message["channel_id"].as_str().expect("channel_id");
        let mut i = self.interaction_base(3, channel, user);
        i["data"] = json!({"custom_id": custom_id, "component_type": 2});
        i["message"] = message.clone();
        i
    }

    /// INTERACTION_CREATE for `/incident <sub>` with `options` (`[{name,type,value}]`).
    pub fn slash_json(&self, channel: &str, user: &Value, sub: &str, options: Value) -> Value {
        let mut i = self.interaction_base(2, channel, user);
        i["data"] = json!({"id": "800", "name": "incident", "type": 1,
                           "options": [{"name": sub, "type": 1, "options": options}]});
        i
    }

    /// Dispatches an interaction over the gateway; returns it.
    pub fn interact(&self, interaction: Value) -> Value {
        self.lock().interactions.push(Dispatched {
            id: interaction["id"].as_str().unwrap_or_default().to_string(),
            token: interaction["token"].as_str().unwrap_or_default().to_string(),
            at: Instant::now(),
            answered: None,
        });
        self.dispatch("INTERACTION_CREATE", interaction.clone());
        interaction
    }

    /// `user` presses `custom_id` on `message`, over the gateway.
    pub fn press(&self, message: &Value, custom_id: &str, user: &Value) -> Value {
        self.interact(self.button_json(message, custom_id, user))
    }

    /// `user` runs `/incident <sub>` in `channel`, over the gateway.
    pub fn slash(&self, channel: &str, user: &Value, sub: &str, options: Value) -> Value {
        self.interact(self.slash_json(channel, user, sub, options))
    }

    /// The follow-up messages sent for an interaction token.
    pub fn followups(&self, token: &str) -> Vec<Value> {
        self.calls_to(&format!("POST /webhooks/{APPLICATION_ID}/{token}"))
            .into_iter()
            .map(|c| c.body)
            .collect()
    }

    /// How long after dispatch the interaction was answered, and with what.
    pub fn answer(&self, interaction_id: &str) -> Option<(Duration, Value)> {
        let s = self.lock();
        let i = s.interactions.iter().find(|i| i.id == interaction_id)?;
        let (at, body) = i.answered.clone()?;
        Some((at.duration_since(i.at), body))
    }

    // ----------------------------------------------------------------- REST

    fn fault_for(&self, method: &str, path: &str) -> Option<Fault> {
        let mut s = self.lock();
        let injected = s
            .faults
            .iter_mut()
            .find(|f| f.remaining > 0 && f.method == method && matches(&f.pattern, path))?;
        injected.remaining -= 1;
        Some(injected.fault)
    }

    fn create_message(&self, channel: &str, body: &Value, author: Value) -> Value {
        // Discord: with `enforce_nonce`, a nonce the author used in the last minutes
        // returns that message and creates none.
        let nonce = body["nonce"].as_str().filter(|_| body["enforce_nonce"] == true).map(str::to_string);
        let author_id = author["id"].as_str().unwrap_or_default().to_string();
        if let Some(nonce) = &nonce {
            if let Some(existing) = self.lock().nonces.get(&(author_id.clone(), nonce.clone())) {
                return existing.clone();
            }
        }
        let mut message = json!({
            "id": self.next_id(), "channel_id": channel, "author": author,
            "content": body["content"].as_str().unwrap_or_default(),
            "embeds": body["embeds"].clone(), "components": body["components"].clone(),
            "timestamp": chrono::Utc::now().to_rfc3339(), "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "pinned": false, "type": 0,
        });
        if body["flags"].is_number() {
            message["flags"] = body["flags"].clone();
        }
        if let Some(nonce) = nonce {
            message["nonce"] = json!(nonce);
            self.lock().nonces.insert((author_id, nonce), message.clone());
        }
        self.lock().messages.entry(channel.to_string()).or_default().push(message.clone());
        // Discord echoes the bot's own channel messages on the gateway, like anyone's.
        let live = self.lock().session.is_some();
        if live && !channel.starts_with("webhook:") {
            let mut echo = message.clone();
            echo["guild_id"] = json!(GUILD_ID);
            self.dispatch("MESSAGE_CREATE", echo);
        }
        message
    }

    fn route(&self, method: &Method, segments: &[&str], query: &str, body: &Value) -> (StatusCode, Value) {
        let bot =
            json!({"id": BOT_ID, "username": "warroom", "discriminator": "0", "avatar": null, "bot": true});
        match (method.as_str(), segments) {
            ("GET", ["gateway"]) => (StatusCode::OK, json!({"url": self.ws_url})),
            ("GET", ["gateway", "bot"]) => (
                StatusCode::OK,
                json!({"url": self.ws_url, "shards": 1, "session_start_limit":
                       {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}),
            ),
            ("GET", ["users", "@me"]) => (StatusCode::OK, bot),
            ("GET", ["channels", channel]) => {
                let known = self.lock().channels.get(*channel).cloned();
                let found = known.unwrap_or_else(
                    || json!({"id": channel, "type": 0, "guild_id": GUILD_ID, "name": "general"}),
                );
                (StatusCode::OK, found)
            }
            ("POST", ["channels", channel, "messages"]) => {
                (StatusCode::OK, self.create_message(channel, body, bot))
            }
            ("GET", ["channels", channel, "messages"]) => {
                let limit: usize = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("limit="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(50);
                let mut all = self.messages(channel);
                all.reverse();
                all.truncate(limit);
                (StatusCode::OK, Value::Array(all))
            }
            ("PATCH", ["channels", channel, "messages", id]) => {
                let mut s = self.lock();
                let Some(message) =
                    s.messages.get_mut(*channel).and_then(|all| all.iter_mut().find(|m| m["id"] == *id))
                else {
                    return not_found("Unknown Message", 10008);
                };
                for key in ["content", "embeds", "components"] {
                    if !body[key].is_null() {
                        message[key] = body[key].clone();
                    }
                }
                message["edited_timestamp"] = json!(chrono::Utc::now().to_rfc3339());
                (StatusCode::OK, message.clone())
            }
            ("POST", ["channels", channel, "messages", id, "threads"]) => {
                let mut s = self.lock();
                if s.threaded.contains(*id) {
                    return (
                        StatusCode::BAD_REQUEST,
                        json!({"message": "A thread has already been created for this message", "code": 160004}),
                    );
                }
                let exists = s.messages.get(*channel).is_some_and(|all| all.iter().any(|m| m["id"] == *id));
                if !exists {
                    return not_found("Unknown Message", 10008);
                }
                let thread = json!({
                    "id": id, "type": 11, "guild_id": GUILD_ID, "parent_id": channel,
                    "name": body["name"], "owner_id": BOT_ID,
                    "thread_metadata": {"archived": false, "locked": false,
                                        "auto_archive_duration": body["auto_archive_duration"],
                                        "archive_timestamp": chrono::Utc::now().to_rfc3339()},
                });
                s.threaded.insert(id.to_string());
                s.channels.insert(id.to_string(), thread.clone());
                (StatusCode::CREATED, thread)
            }
            ("PUT", ["applications", _, "commands"])
            | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
                let mut commands = body.as_array().cloned().unwrap_or_default();
                for c in &mut commands {
                    c["id"] = json!(self.next_id());
                    c["application_id"] = json!(APPLICATION_ID);
                }
                (StatusCode::OK, Value::Array(commands))
            }
            ("POST", ["interactions", id, _token, "callback"]) => {
                let mut s = self.lock();
                let Some(dispatched) = s.interactions.iter_mut().find(|i| i.id == *id) else {
                    return not_found("Unknown interaction", 10062);
                };
                if dispatched.answered.is_some() {
                    return (
                        StatusCode::BAD_REQUEST,
                        json!({"message": "Interaction has already been acknowledged.", "code": 40060}),
                    );
                }
                dispatched.answered = Some((Instant::now(), body.clone()));
                (StatusCode::NO_CONTENT, Value::Null)
            }
            ("POST", ["webhooks", _app, token]) => {
                // Discord knows no webhook for an interaction it has not seen answered.
                let unanswered =
                    self.lock().interactions.iter().any(|i| i.token == *token && i.answered.is_none());
                if unanswered {
                    return not_found("Unknown Webhook", 10015);
                }
                (StatusCode::OK, self.create_message(&format!("webhook:{token}"), body, bot))
            }
            _ => not_found("404: Not Found", 0),
        }
    }
}

fn not_found(message: &str, code: u64) -> (StatusCode, Value) {
    (StatusCode::NOT_FOUND, json!({"message": message, "code": code}))
}

/// `pattern` against a route or path; `*` matches one segment.
fn matches(pattern: &str, route: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let r: Vec<&str> = route.split('/').collect();
    p.len() == r.len() && p.iter().zip(&r).all(|(p, r)| *p == "*" || p == r)
}

async fn rest_call(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().strip_prefix("/api/v10").unwrap_or(uri.path()).to_string();
    let query = uri.query().unwrap_or_default().trim_start_matches('&').to_string();
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.lock().calls.push(Call {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: json_body.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        at: Instant::now(),
    });
    let fault = fake.fault_for(method.as_str(), &path);
    let mut lose_answer = None;
    match fault {
        Some(Fault::RateLimited(secs)) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"message": "You are being rate limited.", "retry_after": secs, "global": false})),
            )
                .into_response();
            let h = response.headers_mut();
            h.insert(
                "retry-after",
                HeaderValue::from_str(&format!("{}", secs.ceil() as u64)).expect("header"),
            );
            h.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
            h.insert("x-ratelimit-global", HeaderValue::from_static("false"));
            return response;
        }
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, Json(json!({"message": "injected failure", "code": 0}))).into_response();
        }
        Some(Fault::Code(status, code)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            return (status, Json(json!({"message": "injected refusal", "code": code}))).into_response();
        }
        Some(Fault::Delay(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::LoseAnswer(status)) => lose_answer = StatusCode::from_u16(status).ok(),
        None => {}
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (status, answer) = fake.route(&method, &segments, &query, &json_body);
    if let Some(lost) = lose_answer {
        return (lost, Json(json!({"message": "upstream connect error", "code": 0}))).into_response();
    }
    if status == StatusCode::NO_CONTENT {
        return status.into_response();
    }
    (status, Json(answer)).into_response()
}

/// A person, as Discord sends users.
pub fn user(id: &str, name: &str) -> Value {
    json!({"id": id, "username": name, "global_name": name, "discriminator": "0", "avatar": null})
}

pub fn alice() -> Value {
    user("42", "alice")
}

pub fn bob() -> Value {
    user("43", "bob")
}

/// A monitoring integration posting through a channel webhook.
pub fn grafana_webhook() -> Value {
    json!({"id": "777", "username": "Grafana", "discriminator": "0000", "avatar": null, "bot": true})
}
