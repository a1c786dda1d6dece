//! A fake Slack on 127.0.0.1: the Web API over HTTP and the socket-mode WebSocket.
//!
//! It speaks what slack-morphism expects (platform-facts §0): JSON answers with
//! `Content-Type: application/json`, `apps.connections.open` returning a `ws://` URL,
//! a `hello` frame on connect, acks read back from the socket. It keeps the channel as
//! a person would see it (messages, updated in place by `chat.update`, and
//! ephemerals), records every call, and injects faults: 429 with Retry-After, 500,
//! `disconnect` frames, redelivered envelopes, signed HTTP-mode requests.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The bot as the fake's `auth.test` describes it.
pub const BOT_USER: &str = "U0BOT";
pub const BOT_ID: &str = "B0BOT";

/// One Web API call as received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub auth: Option<String>,
    pub body: Value,
}

/// A message in a channel, as people see it now.
#[derive(Debug, Clone)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    pub blocks: Value,
    /// How many times `chat.update` rewrote it.
    pub edits: usize,
    /// The message's metadata, as posted.
    pub metadata: Value,
}

impl Posted {
    /// All visible text: fallback text plus every block's text.
    pub fn visible(&self) -> String {
        let mut out = self.text.clone();
        collect_text(&self.blocks, &mut out);
        out
    }

    /// The `value`s of the buttons on the message.
    pub fn buttons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(blocks) = self.blocks.as_array() {
            for block in blocks.iter().filter(|b| b["type"] == "actions") {
                for element in block["elements"].as_array().into_iter().flatten() {
                    if let Some(v) = element["value"].as_str() {
                        out.push(v.to_string());
                    }
                }
            }
        }
        out
    }
}

fn collect_text(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(t)) = map.get("text") {
                out.push('\n');
                out.push_str(t);
            }
            for (k, v) in map {
                if k != "text" || !v.is_string() {
                    collect_text(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_text(v, out)),
        _ => {}
    }
}

#[derive(Debug, Clone)]
pub struct Ephemeral {
    pub channel: String,
    pub user: String,
    pub thread_ts: Option<String>,
    pub text: String,
}

/// A fault to inject into the next call of a method.
#[derive(Debug, Clone)]
pub enum Fault {
    /// HTTP 429 with `Retry-After: secs`.
    RateLimited(u64),
    /// HTTP 500.
    ServerError,
    /// HTTP 200 with `{"ok": false, "error": code}`, as Slack reports most errors.
    Error(&'static str),
    /// The call takes effect (the message is posted) but the answer is lost: HTTP 500.
    AnswerLost,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    messages: Vec<Posted>,
    ephemerals: Vec<Ephemeral>,
    faults: HashMap<String, VecDeque<Fault>>,
    sockets: Vec<mpsc::UnboundedSender<WsMessage>>,
    acks: Vec<String>,
    connections: usize,
    next_ts: u64,
    ws_port: u16,
    /// Display names `users.info` knows.
    people: HashMap<String, String>,
    /// Channel names (`#alerts`) and the ids Slack answers with, as `chat.postMessage`
    /// resolves a name to the channel's id.
    channel_ids: HashMap<String, String>,
}

/// The fake. Cheap to clone.
#[derive(Clone)]
pub struct FakeSlack {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    pub api_url: String,
    pub base: String,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", http.local_addr().unwrap());
        let fake = FakeSlack {
            state: Arc::new(Mutex::new(State {
                ws_port: ws.local_addr().unwrap().port(),
                next_ts: 100,
                ..Default::default()
            })),
            changed: Arc::new(Notify::new()),
            api_url: format!("{base}/api"),
            base,
        };
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/response/{id}", any(response_url))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(http, app).await;
        });
        let accepting = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                let fake = accepting.clone();
                tokio::spawn(async move { fake.serve_socket(stream).await });
            }
        });
        fake
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.state.lock().unwrap());
        self.changed.notify_waiters();
        out
    }

    /// Waits (up to 10 s) until `check` finds something.
    pub async fn wait<T>(&self, what: &str, mut check: impl FnMut(&FakeView) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.changed.notified();
            if let Some(v) = check(&self.view()) {
                return v;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                if let Some(v) = check(&self.view()) {
                    return v;
                }
                panic!("fake Slack: timed out waiting for {what}; calls so far:\n{:#?}", self.view().calls);
            }
        }
    }

    /// A snapshot of what the fake saw.
    pub fn view(&self) -> FakeView {
        let s = self.state.lock().unwrap();
        FakeView {
            calls: s.calls.clone(),
            messages: s.messages.clone(),
            ephemerals: s.ephemerals.clone(),
            acks: s.acks.clone(),
            connections: s.connections,
        }
    }

    /// Makes `users.info` know a person.
    pub fn add_person(&self, id: &str, display_name: &str) {
        self.with(|s| s.people.insert(id.to_string(), display_name.to_string()));
    }

    /// Lets `chat.postMessage` take `name` (e.g. `#alerts`) for channel `id`.
    pub fn add_channel(&self, name: &str, id: &str) {
        self.with(|s| s.channel_ids.insert(name.to_string(), id.to_string()));
    }

    /// Puts a message into a thread as if a person had posted it (for history).
    pub fn seed_reply(&self, channel: &str, thread_ts: &str, user_text: &str) {
        self.with(|s| {
            s.next_ts += 1;
            let ts = format!("1700000050.{:06}", s.next_ts);
            s.messages.push(Posted {
                channel: channel.to_string(),
                ts,
                thread_ts: Some(thread_ts.to_string()),
                text: user_text.to_string(),
                blocks: Value::Null,
                edits: 0,
                metadata: Value::Null,
            });
        });
    }

    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.with(|s| s.faults.entry(method.to_string()).or_default().push_back(fault));
    }

    /// Waits until `n` socket-mode connections were opened in total.
    pub async fn wait_connections(&self, n: usize) {
        self.wait(&format!("{n} socket connection(s)"), |v| (v.connections >= n).then_some(())).await;
    }

    /// Sends a raw frame to the newest connection.
    pub fn send_frame(&self, frame: Value) {
        self.with(|s| {
            s.sockets.retain(|tx| !tx.is_closed());
            let tx = s.sockets.last().expect("a socket-mode connection is open");
            tx.send(WsMessage::Text(frame.to_string().into())).expect("socket open");
        });
    }

    /// Delivers an `events_api` envelope; returns its envelope id.
    pub fn deliver_event(&self, envelope_id: &str, event_id: &str, event: Value) -> String {
        self.send_frame(json!({
            "type": "events_api", "envelope_id": envelope_id, "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": "",
            "payload": {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
                        "event_time": 1700000000, "event": event}
        }));
        envelope_id.to_string()
    }

    pub fn deliver_slash_command(&self, envelope_id: &str, user: &str, channel: &str, text: &str) -> String {
        let payload = slash_command_fields(
            user,
            channel,
            text,
            &format!("{}/response/{envelope_id}", self.base),
            envelope_id,
        );
        self.send_frame(json!({"type": "slash_commands", "envelope_id": envelope_id, "accepts_response_payload": true, "payload": payload}));
        envelope_id.to_string()
    }

    /// Presses a button on a message as `user` (username `name`).
    pub fn press(&self, envelope_id: &str, user: &str, name: &str, message: &Posted, value: &str) -> String {
        let payload = block_action(
            user,
            name,
            message,
            value,
            &format!("{}/response/{envelope_id}", self.base),
            envelope_id,
        );
        self.send_frame(json!({"type": "interactive", "envelope_id": envelope_id, "accepts_response_payload": false, "payload": payload}));
        envelope_id.to_string()
    }

    /// Tells the client to reconnect, as Slack does every few hours.
    pub fn disconnect(&self) {
        self.send_frame(
            json!({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}}),
        );
    }

    pub async fn wait_ack(&self, envelope_id: &str) {
        self.wait(&format!("ack of {envelope_id}"), |v| {
            v.acks.iter().any(|a| a == envelope_id).then_some(())
        })
        .await;
    }

    async fn serve_socket(&self, stream: tokio::net::TcpStream) {
        let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
        let (mut sink, mut source) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
        let hello = json!({"type":"hello","num_connections":1,"debug_info":{"host":"fake"},"connection_info":{"app_id":"A1"}});
        let _ = sink.send(WsMessage::Text(hello.to_string().into())).await;
        self.with(|s| {
            s.connections += 1;
            s.sockets.push(tx);
        });
        let writer = tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                let closing = matches!(&frame, WsMessage::Text(t) if t.contains("\"disconnect\""));
                if sink.send(frame).await.is_err() {
                    break;
                }
                if closing {
                    // Slack closes the old connection shortly after `disconnect`.
                    let _ = sink.close().await;
                    break;
                }
            }
        });
        while let Some(Ok(frame)) = source.next().await {
            if let WsMessage::Text(text) = frame {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    if let Some(id) = v["envelope_id"].as_str() {
                        let id = id.to_string();
                        self.with(|s| s.acks.push(id));
                    }
                }
            }
        }
        writer.abort();
    }
}

/// What the fake has seen, for assertions.
#[derive(Debug, Clone)]
pub struct FakeView {
    pub calls: Vec<Call>,
    pub messages: Vec<Posted>,
    pub ephemerals: Vec<Ephemeral>,
    pub acks: Vec<String>,
    pub connections: usize,
}

impl FakeView {
    pub fn calls_to(&self, method: &str) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.method == method).collect()
    }

    /// Messages inside the thread rooted at `ts`.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<&Posted> {
        self.messages.iter().filter(|m| m.channel == channel && m.thread_ts.as_deref() == Some(ts)).collect()
    }

    /// The first message that has buttons in that thread (the incident card).
    pub fn card_in(&self, channel: &str, ts: &str) -> Option<&Posted> {
        self.thread(channel, ts)
            .into_iter()
            .find(|m| !m.buttons().is_empty() && m.visible().contains("Reported by"))
    }

    /// Top-level messages of a channel.
    pub fn top_level(&self, channel: &str) -> Vec<&Posted> {
        self.messages.iter().filter(|m| m.channel == channel && m.thread_ts.is_none()).collect()
    }
}

fn slack_json(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/json; charset=utf-8")], body.to_string()).into_response()
}

fn parse_body(body: &[u8], query: Option<String>) -> Value {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v;
    }
    let raw = if body.is_empty() { query.unwrap_or_default().into_bytes() } else { body.to_vec() };
    let pairs: HashMap<String, String> = url::form_urlencoded::parse(&raw).into_owned().collect();
    serde_json::to_value(pairs).unwrap_or(Value::Null)
}

async fn api(
    Shared(fake): Shared<FakeSlack>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse_body(&body, query);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let fault = fake.with(|s| {
        s.calls.push(Call { method: method.clone(), auth, body: body.clone() });
        s.faults.get_mut(&method).and_then(|q| q.pop_front())
    });
    match fault {
        Some(Fault::RateLimited(secs)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("content-type", "application/json"), ("retry-after", &secs.to_string())],
                json!({"ok": false, "error": "ratelimited"}).to_string(),
            )
                .into_response();
        }
        Some(Fault::ServerError) => {
            return slack_json(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false}))
        }
        Some(Fault::Error(code)) => return slack_json(StatusCode::OK, json!({"ok": false, "error": code})),
        Some(Fault::AnswerLost) | None => {}
    }
    let lost = matches!(fault, Some(Fault::AnswerLost));
    let ok = |v: Value| slack_json(StatusCode::OK, v);
    match method.as_str() {
        "auth.test" => {
            ok(json!({"ok": true, "url": "https://acme.slack.com/", "team": "acme", "user": "warroom",
                                 "team_id": "T1", "user_id": BOT_USER, "bot_id": BOT_ID}))
        }
        "apps.connections.open" => {
            let port = fake.with(|s| s.ws_port);
            ok(json!({"ok": true, "url": format!("ws://127.0.0.1:{port}/link")}))
        }
        "chat.postMessage" => {
            let channel = body["channel"].as_str().unwrap_or("").to_string();
            let channel = fake.with(|s| s.channel_ids.get(&channel).cloned()).unwrap_or(channel);
            let posted = fake.with(|s| {
                s.next_ts += 1;
                let posted = Posted {
                    channel: channel.clone(),
                    ts: format!("1700000100.{:06}", s.next_ts),
                    thread_ts: body["thread_ts"].as_str().map(str::to_string),
                    text: body["text"].as_str().unwrap_or("").to_string(),
                    blocks: body["blocks"].clone(),
                    edits: 0,
                    metadata: body["metadata"].clone(),
                };
                s.messages.push(posted.clone());
                posted
            });
            if lost {
                return slack_json(StatusCode::INTERNAL_SERVER_ERROR, json!({"ok": false}));
            }
            ok(json!({"ok": true, "channel": channel, "ts": posted.ts,
                      "message": {"type": "message", "ts": posted.ts, "text": posted.text, "bot_id": BOT_ID}}))
        }
        "chat.update" => {
            let channel = body["channel"].as_str().unwrap_or("").to_string();
            let ts = body["ts"].as_str().unwrap_or("").to_string();
            let found = fake.with(|s| {
                let m = s.messages.iter_mut().find(|m| m.channel == channel && m.ts == ts)?;
                m.text = body["text"].as_str().unwrap_or("").to_string();
                m.blocks = body["blocks"].clone();
                m.edits += 1;
                Some(())
            });
            match found {
                Some(()) => ok(json!({"ok": true, "channel": channel, "ts": ts, "text": body["text"],
                                      "message": {"text": body["text"], "blocks": body["blocks"]}})),
                None => ok(json!({"ok": false, "error": "message_not_found"})),
            }
        }
        "chat.postEphemeral" => {
            fake.with(|s| {
                s.ephemerals.push(Ephemeral {
                    channel: body["channel"].as_str().unwrap_or("").to_string(),
                    user: body["user"].as_str().unwrap_or("").to_string(),
                    thread_ts: body["thread_ts"].as_str().map(str::to_string),
                    text: body["text"].as_str().unwrap_or("").to_string(),
                })
            });
            ok(json!({"ok": true, "message_ts": "1700000200.000001"}))
        }
        "users.info" => {
            let user = body["user"].as_str().unwrap_or("").to_string();
            match fake.with(|s| s.people.get(&user).cloned()) {
                Some(name) => ok(json!({"ok": true, "user": {"id": user, "name": name.to_lowercase(),
                                        "profile": {"display_name": name, "real_name": name}}})),
                None => ok(json!({"ok": false, "error": "user_not_found"})),
            }
        }
        "conversations.replies" | "conversations.history" => {
            let channel = body["channel"].as_str().unwrap_or("").to_string();
            let thread = body["ts"].as_str().map(str::to_string);
            // Slack leaves metadata out unless asked for it.
            let metadata = body["include_all_metadata"] == true || body["include_all_metadata"] == "true";
            let number = |v: &Value| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            let mut messages: Vec<Value> = fake.with(|s| {
                s.messages
                    .iter()
                    .filter(|m| {
                        m.channel == channel
                            && (thread.is_none() || m.thread_ts == thread || Some(&m.ts) == thread.as_ref())
                    })
                    .map(|m| match m.blocks {
                        // What people posted (seeded) has no blocks; the bot's posts do.
                        Value::Null => json!({"type": "message", "ts": m.ts, "text": m.text, "user": "U1"}),
                        _ if metadata && !m.metadata.is_null() => json!({"type": "message", "ts": m.ts,
                            "text": m.text, "bot_id": BOT_ID, "metadata": m.metadata}),
                        _ => json!({"type": "message", "ts": m.ts, "text": m.text, "bot_id": BOT_ID}),
                    })
                    .collect()
            });
            if method == "conversations.history" {
                messages.reverse(); // newest first, as Slack answers
            }
            // Pages of `limit`, oldest first for replies; the cursor is the offset.
            let limit = number(&body["limit"]).unwrap_or(100) as usize;
            let offset = body["cursor"].as_str().and_then(|c| c.parse::<usize>().ok()).unwrap_or(0);
            let page: Vec<Value> = messages.iter().skip(offset).take(limit).cloned().collect();
            let more = offset + page.len() < messages.len();
            let next = if more { (offset + page.len()).to_string() } else { String::new() };
            ok(
                json!({"ok": true, "messages": page, "has_more": more, "response_metadata": {"next_cursor": next}}),
            )
        }
        _ => ok(json!({"ok": true})),
    }
}

/// `response_url` posts land here and show as ephemerals.
async fn response_url(Shared(fake): Shared<FakeSlack>, Path(id): Path<String>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.with(|s| {
        s.ephemerals.push(Ephemeral {
            channel: format!("response_url:{id}"),
            user: String::new(),
            thread_ts: None,
            text: body["text"].as_str().unwrap_or("").to_string(),
        })
    });
    slack_json(StatusCode::OK, json!({"ok": true}))
}

/// An `app_mention` event body.
pub fn app_mention(user: &str, channel: &str, ts: &str, thread_ts: Option<&str>, text: &str) -> Value {
    let mut event = json!({"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts});
    if let Some(t) = thread_ts {
        event["thread_ts"] = json!(t);
    }
    event
}

/// A plain `message` event in a thread.
pub fn thread_message(user: &str, channel: &str, ts: &str, thread_ts: &str, text: &str) -> Value {
    json!({"type": "message", "user": user, "text": text, "ts": ts, "thread_ts": thread_ts, "channel": channel, "channel_type": "channel"})
}

pub fn slash_command_fields(
    user: &str,
    channel: &str,
    text: &str,
    response_url: &str,
    trigger: &str,
) -> Value {
    json!({"token": "x", "team_id": "T1", "team_domain": "acme", "channel_id": channel, "channel_name": "ops",
           "user_id": user, "user_name": user, "command": "/incident", "text": text, "api_app_id": "A1",
           "response_url": response_url, "trigger_id": format!("trigger-{trigger}")})
}

pub fn block_action(
    user: &str,
    name: &str,
    message: &Posted,
    value: &str,
    response_url: &str,
    trigger: &str,
) -> Value {
    let action_id = value.split(':').next().unwrap_or("x");
    let mut msg = json!({"type": "message", "ts": message.ts, "text": message.text, "bot_id": BOT_ID});
    if let Some(t) = &message.thread_ts {
        msg["thread_ts"] = json!(t);
    }
    json!({"type": "block_actions", "user": {"id": user, "username": name, "name": name, "team_id": "T1"},
           "team": {"id": "T1", "domain": "acme"}, "api_app_id": "A1", "trigger_id": format!("trigger-{trigger}"),
           "response_url": response_url,
           "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel, "is_ephemeral": false},
           "channel": {"id": message.channel, "name": "ops"}, "message": msg,
           "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value, "action_ts": "1700000300.000001"}]})
}
