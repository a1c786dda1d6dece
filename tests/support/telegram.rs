//! A fake Telegram Bot API on 127.0.0.1, for the real teloxide client
//! (`../shared/platform-facts.md` §0 and §3).
//!
//! - Routes `/bot<token>/<method>` case-insensitively (teloxide sends `SendMessage`), JSON
//!   in, `{"ok":true,"result":…}` out with `Content-Type: application/json`; a wrong token
//!   gets 401 `Unauthorized`.
//! - Serves `getMe`, `getUpdates` (confirming by `offset` like Telegram, and holding an
//!   empty poll for at most a second), `sendMessage`, `editMessageText`,
//!   `editMessageReplyMarkup`, `answerCallbackQuery`, `setMyCommands`, `deleteWebhook`,
//!   `getWebhookInfo`.
//! - Checks what Telegram checks: HTML must parse (only Telegram's tags, balanced), at
//!   most 4096 characters after parsing, `callback_data` of 1–64 bytes, the replied-to
//!   message must exist unless `allow_sending_without_reply`, an edit must change
//!   something, a callback query is answered at most once.
//! - Records every call (method and JSON parameters) and keeps each chat as a person
//!   sees it ([`ChatMessage`]), so tests assert on what people read.
//! - Injects faults: 429 with `retry_after` or any HTTP status for the next calls of a
//!   method ([`FakeTelegram::fail_next`]) or of a method in one chat
//!   ([`FakeTelegram::fail_next_in`], Telegram's flood limits are per chat), and
//!   re-delivery of an update ([`FakeTelegram::deliver_again`]).
//! - Builds updates: messages (commands and @mentions get their entities), replies,
//!   forum-topic messages, button presses.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

/// The token in every test config.
pub const TOKEN: &str = "123456:TEST";
/// The bot's own user.
pub const BOT_ID: i64 = 999;
pub const BOT_USERNAME: &str = "warroom_bot";

/// Longest text after entity parsing (<https://core.telegram.org/bots/api#sendmessage>).
const MAX_TEXT: usize = 4096;
/// Telegram's wording when an edit changes nothing (teloxide matches it exactly).
const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

/// A person in the chats.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub username: String,
}

impl User {
    pub fn new(id: i64, first_name: &str, username: &str) -> Self {
        Self { id, first_name: first_name.into(), username: username.into() }
    }

    fn json(&self) -> Value {
        json!({"id": self.id, "is_bot": false, "first_name": self.first_name, "username": self.username})
    }
}

pub fn alice() -> User {
    User::new(42, "Alice", "alice")
}

pub fn bob() -> User {
    User::new(43, "Bob", "bob")
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "warroom", "username": BOT_USERNAME})
}

/// A chat the bot is in.
#[derive(Debug, Clone)]
pub struct Chat {
    pub id: i64,
    json: Value,
}

impl Chat {
    /// A supergroup (negative id, as Telegram gives them).
    pub fn group(id: i64, title: &str) -> Self {
        Self { id, json: json!({"id": id, "type": "supergroup", "title": title}) }
    }

    /// A supergroup with forum topics.
    pub fn forum(id: i64, title: &str) -> Self {
        Self { id, json: json!({"id": id, "type": "supergroup", "title": title, "is_forum": true}) }
    }

    /// The private chat with `user` (its id is the user's).
    pub fn private(user: &User) -> Self {
        Self {
            id: user.id,
            json: json!({"id": user.id, "type": "private", "first_name": user.first_name, "username": user.username}),
        }
    }
}

/// One recorded Bot API call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Canonical spelling (`sendMessage`), whatever case the client used.
    pub method: String,
    pub params: Value,
    pub at: Instant,
    /// The HTTP status the fake answered.
    pub status: u16,
}

/// A message as people in the chat see it now.
#[derive(Debug, Clone)]
pub struct ChatMessage {
    pub chat: i64,
    pub id: i64,
    pub from_bot: bool,
    /// The text as sent (HTML for the bot's messages).
    pub html: String,
    /// What is displayed: tags removed, entities decoded.
    pub text: String,
    /// (label, callback_data), row by row flattened.
    pub buttons: Vec<(String, String)>,
    pub reply_to: Option<i64>,
    pub topic: Option<i64>,
    pub edits: u32,
}

/// A fault to answer the next call of a method with.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// 429 with `parameters.retry_after` in seconds.
    RetryAfter(u32),
    /// Any HTTP status (502, 500, …) with a Telegram-style error body.
    Status(u16),
    /// 400 with this `description` (Telegram's wording matters: clients match on it).
    BadRequest(&'static str),
}

/// What Telegram says when a callback query is answered too late (or twice).
pub const QUERY_TOO_OLD: &str =
    "Bad Request: query is too old and response timeout expired or query id is invalid";

#[derive(Default)]
struct Inner {
    /// Updates not yet confirmed by an offset, in order.
    pending: Vec<Value>,
    /// Re-deliveries: sent once regardless of the offset.
    again: Vec<Value>,
    /// Every update ever delivered, by id.
    history: HashMap<i64, Value>,
    next_update_id: i64,
    /// The highest `offset` a `getUpdates` call sent (everything below is confirmed).
    confirmed: i64,
    calls: Vec<Call>,
    faults: HashMap<String, VecDeque<Fault>>,
    /// (method, chat) → faults for calls of that method with that `chat_id`.
    chat_faults: HashMap<(String, i64), VecDeque<Fault>>,
    /// Raw message objects (users' and the bot's), to quote in replies and presses.
    raw: HashMap<(i64, i64), Value>,
    messages: BTreeMap<(i64, i64), ChatMessage>,
    /// Insertion order of `messages`.
    order: Vec<(i64, i64)>,
    next_message_id: HashMap<i64, i64>,
    chats: HashMap<i64, Value>,
    next_callback: u64,
    answered: HashMap<String, u32>,
}

struct Shared {
    inner: Mutex<Inner>,
    updates_ready: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeTelegram {
    /// Base URL for `telegram.api_url`.
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The methods the fake knows, in their canonical spelling.
const METHODS: &[&str] = &[
    "getMe",
    "getUpdates",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "setMyCommands",
    "deleteWebhook",
    "getWebhookInfo",
];

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner { next_update_id: 100, ..Default::default() }),
            updates_ready: Notify::new(),
        });
        let app = Router::new().route("/{bot}/{method}", post(handle)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake Telegram");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram { url, shared, server }
    }

    /// A config with a `[telegram]` table pointing here; `extra` lines go in that table.
    pub fn config(&self, extra: &str) -> String {
        format!(
            "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\npoll_timeout_secs = 5\n{extra}\n",
            self.url
        )
    }

    // ---------------------------------------------------------------------
    // Faults
    // ---------------------------------------------------------------------

    /// Answers the next `count` calls of `method` (any spelling) with `fault`.
    pub fn fail_next(&self, method: &str, count: usize, fault: Fault) {
        let mut inner = self.shared.lock();
        let queue = inner.faults.entry(method.to_ascii_lowercase()).or_default();
        queue.extend(std::iter::repeat_n(fault, count));
    }

    /// Answers the next `count` calls of `method` for `chat` with `fault`; other chats
    /// are served as usual.
    pub fn fail_next_in(&self, method: &str, chat: i64, count: usize, fault: Fault) {
        let mut inner = self.shared.lock();
        let queue = inner.chat_faults.entry((method.to_ascii_lowercase(), chat)).or_default();
        queue.extend(std::iter::repeat_n(fault, count));
    }

    // ---------------------------------------------------------------------
    // What people do
    // ---------------------------------------------------------------------

    /// The update for an anonymous admin of `chat` writing `text`: Telegram sends it
    /// from `GroupAnonymousBot` with the group itself as `sender_chat`.
    pub fn anonymous_admin_update(&self, chat: &Chat, text: &str) -> Value {
        let anonymous = User::new(1087968824, "Group", "GroupAnonymousBot");
        let mut message = self.message_json(chat, &anonymous, text, None, None);
        message["from"]["is_bot"] = json!(true);
        message["sender_chat"] = chat.json.clone();
        self.wrap("message", message)
    }

    fn message_json(
        &self,
        chat: &Chat,
        from: &User,
        text: &str,
        reply_to: Option<i64>,
        topic: Option<i64>,
    ) -> Value {
        let mut inner = self.shared.lock();
        inner.chats.insert(chat.id, chat.json.clone());
        let id = next_message_id(&mut inner, chat.id);
        let mut message = json!({
            "message_id": id,
            "date": chrono::Utc::now().timestamp(),
            "chat": chat.json,
            "from": from.json(),
            "text": text,
        });
        let entities = entities(text);
        if !entities.is_empty() {
            message["entities"] = Value::Array(entities);
        }
        if let Some(to) = reply_to {
            let quoted = inner.raw.get(&(chat.id, to)).cloned().unwrap_or_else(|| json!({}));
            message["reply_to_message"] = quoted;
        }
        if let Some(topic) = topic {
            message["message_thread_id"] = json!(topic);
            message["is_topic_message"] = json!(true);
        }
        inner.raw.insert((chat.id, id), strip_reply(&message));
        inner.messages.insert(
            (chat.id, id),
            ChatMessage {
                chat: chat.id,
                id,
                from_bot: false,
                html: text.into(),
                text: text.into(),
                buttons: Vec::new(),
                reply_to,
                topic,
                edits: 0,
            },
        );
        inner.order.push((chat.id, id));
        message
    }

    /// The update for `from` writing `text` in `chat` (not yet delivered).
    pub fn message_update(&self, chat: &Chat, from: &User, text: &str) -> Value {
        let message = self.message_json(chat, from, text, None, None);
        self.wrap("message", message)
    }

    /// The update for a reply to message `to`.
    pub fn reply_update(&self, chat: &Chat, from: &User, to: i64, text: &str) -> Value {
        let message = self.message_json(chat, from, text, Some(to), None);
        self.wrap("message", message)
    }

    /// The update for a button press on message `on` (the id of the query is `cbq-N`).
    pub fn press_update(&self, chat: &Chat, from: &User, on: i64, data: &str) -> Value {
        let (id, message) = {
            let mut inner = self.shared.lock();
            inner.next_callback += 1;
            let message = inner.raw.get(&(chat.id, on)).cloned().unwrap_or_else(
                || json!({"message_id": on, "date": 0, "chat": chat.json, "from": bot_user(), "text": "?"}),
            );
            (format!("cbq-{}", inner.next_callback), message)
        };
        let query = json!({
            "id": id, "from": from.json(), "message": message,
            "chat_instance": format!("ci{}", chat.id), "data": data,
        });
        self.wrap("callback_query", query)
    }

    fn wrap(&self, kind: &str, body: Value) -> Value {
        let mut inner = self.shared.lock();
        let id = inner.next_update_id;
        inner.next_update_id += 1;
        json!({"update_id": id, kind: body})
    }

    /// Queues an update for `getUpdates`.
    pub fn deliver(&self, update: Value) {
        let mut inner = self.shared.lock();
        let id = update_id(&update);
        inner.history.insert(id, update.clone());
        inner.pending.push(update);
        drop(inner);
        self.shared.updates_ready.notify_waiters();
    }

    /// Delivers update `id` once more, even though it was confirmed: what Telegram does
    /// when a confirmation is lost.
    pub fn deliver_again(&self, id: i64) {
        let mut inner = self.shared.lock();
        let update = inner.history.get(&id).cloned().expect("an update delivered before");
        inner.again.push(update);
        drop(inner);
        self.shared.updates_ready.notify_waiters();
    }

    /// `from` writes `text` in `chat`; returns the message id.
    pub fn say(&self, chat: &Chat, from: &User, text: &str) -> i64 {
        let update = self.message_update(chat, from, text);
        let id = update["message"]["message_id"].as_i64().expect("message id");
        self.deliver(update);
        id
    }

    /// `from` replies to message `to`; returns the message id.
    pub fn reply(&self, chat: &Chat, from: &User, to: i64, text: &str) -> i64 {
        let update = self.reply_update(chat, from, to, text);
        let id = update["message"]["message_id"].as_i64().expect("message id");
        self.deliver(update);
        id
    }

    /// `from` writes in forum topic `topic` (not replying to anything in it).
    pub fn say_in_topic(&self, chat: &Chat, from: &User, topic: i64, text: &str) -> i64 {
        let message = self.message_json(chat, from, text, None, Some(topic));
        let update = self.wrap("message", message);
        let id = update["message"]["message_id"].as_i64().expect("message id");
        self.deliver(update);
        id
    }

    /// `from` presses the button with `data` on message `on`; returns the callback query id.
    pub fn press(&self, chat: &Chat, from: &User, on: i64, data: &str) -> String {
        let update = self.press_update(chat, from, on, data);
        let id = update["callback_query"]["id"].as_str().expect("callback id").to_string();
        self.deliver(update);
        id
    }

    // ---------------------------------------------------------------------
    // What the bot did
    // ---------------------------------------------------------------------

    /// Every call of `method` (canonical spelling), oldest first.
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.shared.lock().calls.iter().filter(|c| c.method == method).cloned().collect()
    }

    /// The successful calls of `method`.
    pub fn ok_calls(&self, method: &str) -> Vec<Call> {
        self.calls(method).into_iter().filter(|c| c.status == 200).collect()
    }

    /// The chat as people see it, oldest message first.
    pub fn chat(&self, chat: i64) -> Vec<ChatMessage> {
        let inner = self.shared.lock();
        inner
            .order
            .iter()
            .filter(|(c, _)| *c == chat)
            .filter_map(|k| inner.messages.get(k).cloned())
            .collect()
    }

    /// The bot's messages in a chat, oldest first.
    pub fn bot_messages(&self, chat: i64) -> Vec<ChatMessage> {
        self.chat(chat).into_iter().filter(|m| m.from_bot).collect()
    }

    pub fn message(&self, chat: i64, id: i64) -> Option<ChatMessage> {
        self.shared.lock().messages.get(&(chat, id)).cloned()
    }

    /// Answers the bot gave to callback query `id` (the `answerCallbackQuery` params).
    pub fn answers(&self, id: &str) -> Vec<Value> {
        self.calls("answerCallbackQuery")
            .into_iter()
            .filter(|c| c.params["callback_query_id"] == id)
            .map(|c| c.params)
            .collect()
    }

    /// The highest offset the bot confirmed.
    pub fn confirmed(&self) -> i64 {
        self.shared.lock().confirmed
    }

    /// Waits until the bot made its startup calls (it is polling or ready for webhooks).
    pub async fn wait_started(&self) {
        super::eventually(Duration::from_secs(10), "the bot's startup calls", || async {
            (!self.ok_calls("setMyCommands").is_empty()).then_some(())
        })
        .await
    }

    /// Waits for a bot message in `chat` that `matches`.
    pub async fn wait_bot_message(
        &self,
        chat: i64,
        what: &str,
        matches: impl Fn(&ChatMessage) -> bool,
    ) -> ChatMessage {
        super::eventually(Duration::from_secs(10), what, || async {
            self.bot_messages(chat).into_iter().find(|m| matches(m))
        })
        .await
    }

    /// Waits until the bot confirmed update `id` (the offset went past it).
    pub async fn wait_confirmed(&self, id: i64) {
        super::eventually(Duration::from_secs(10), &format!("update {id} to be confirmed"), || async {
            (self.confirmed() > id).then_some(())
        })
        .await
    }
}

fn next_message_id(inner: &mut Inner, chat: i64) -> i64 {
    let next = inner.next_message_id.entry(chat).or_insert(1);
    let id = *next;
    *next += 1;
    id
}

fn update_id(update: &Value) -> i64 {
    update["update_id"].as_i64().expect("update_id")
}

/// Telegram does not nest replies in quoted messages.
fn strip_reply(message: &Value) -> Value {
    let mut m = message.clone();
    if let Some(o) = m.as_object_mut() {
        o.remove("reply_to_message");
    }
    m
}

/// `bot_command` and `mention` entities, with offsets in UTF-16 units like Telegram's.
fn entities(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, word) in split_keep_offsets(text) {
        let units = |s: &str| s.encode_utf16().count();
        let start = units(&text[..i]);
        if i == 0 && word.starts_with('/') && word.len() > 1 {
            out.push(json!({"type": "bot_command", "offset": 0, "length": units(word)}));
        } else if word.starts_with('@') && word.len() > 1 {
            let name: String =
                word.chars().take_while(|c| *c == '@' || c.is_alphanumeric() || *c == '_').collect();
            out.push(json!({"type": "mention", "offset": start, "length": units(&name)}));
        }
    }
    out
}

fn split_keep_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// Parses Telegram HTML (<https://core.telegram.org/bots/api#html-style>) into the
/// displayed text, or the error Telegram gives.
pub fn parse_html(html: &str) -> Result<String, String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
        "tg-emoji",
    ];
    let mut out = String::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    let mut at = 0;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let Some(end) = rest.find('>') else {
                    return Err(format!(
                        "Bad Request: can't parse entities: Unclosed start tag at byte offset {at}"
                    ));
                };
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    match stack.pop() {
                        Some(open) if open == name.trim() => {}
                        open => {
                            return Err(format!(
                                "Bad Request: can't parse entities: Unmatched end tag at byte offset {at}, expected \"</{}>\", found \"</{name}>\"",
                                open.unwrap_or_default()
                            ))
                        }
                    }
                } else {
                    let name = tag.split_whitespace().next().unwrap_or("");
                    if !TAGS.contains(&name) {
                        return Err(format!(
                            "Bad Request: can't parse entities: Unsupported start tag \"{name}\" at byte offset {at}"
                        ));
                    }
                    stack.push(name.to_string());
                }
                at += end + 1;
                rest = &rest[end + 1..];
            }
            '&' => {
                let entity = rest.find(';').filter(|e| *e <= 10).map(|e| &rest[1..e]);
                let decoded = match entity {
                    Some("lt") => Some('<'),
                    Some("gt") => Some('>'),
                    Some("amp") => Some('&'),
                    Some("quot") => Some('"'),
                    Some(n) if n.starts_with('#') => n[1..].parse::<u32>().ok().and_then(char::from_u32),
                    _ => None,
                };
                match (decoded, entity) {
                    (Some(ch), Some(e)) => {
                        out.push(ch);
                        at += e.len() + 2;
                        rest = &rest[e.len() + 2..];
                    }
                    // Telegram shows an `&` that starts no entity as it is.
                    _ => {
                        out.push('&');
                        at += 1;
                        rest = &rest[1..];
                    }
                }
            }
            c => {
                out.push(c);
                at += c.len_utf8();
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{open}\""
        ));
    }
    Ok(out)
}

fn ok(result: Value) -> Response {
    (StatusCode::OK, Json(json!({"ok": true, "result": result}))).into_response()
}

fn error(status: u16, description: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (code, Json(json!({"ok": false, "error_code": status, "description": description}))).into_response()
}

fn bad_request(description: &str) -> Response {
    error(400, description)
}

/// (label, data) of an `InlineKeyboardMarkup`, checking Telegram's `callback_data` rule.
fn buttons(markup: &Value) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for row in markup["inline_keyboard"].as_array().into_iter().flatten() {
        for button in row.as_array().into_iter().flatten() {
            let data = button["callback_data"].as_str().unwrap_or("");
            if data.is_empty() || data.len() > 64 {
                return Err("Bad Request: BUTTON_DATA_INVALID".into());
            }
            out.push((button["text"].as_str().unwrap_or("").to_string(), data.to_string()));
        }
    }
    Ok(out)
}

fn check_text(html: &str) -> Result<String, String> {
    let text = parse_html(html)?;
    if text.trim().is_empty() {
        return Err("Bad Request: message text is empty".into());
    }
    if text.encode_utf16().count() > MAX_TEXT {
        return Err("Bad Request: message is too long".into());
    }
    Ok(text)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let params: Value =
        if body.is_empty() { json!({}) } else { serde_json::from_slice(&body).unwrap_or(json!({})) };
    let canonical = METHODS.iter().find(|m| m.eq_ignore_ascii_case(&method)).map(|m| m.to_string());
    let record = |status: u16| {
        shared.lock().calls.push(Call {
            method: canonical.clone().unwrap_or_else(|| method.clone()),
            params: params.clone(),
            at: Instant::now(),
            status,
        });
    };
    if bot != format!("bot{TOKEN}") {
        record(401);
        return error(401, "Unauthorized");
    }
    let Some(canonical) = canonical.clone() else {
        record(404);
        return error(404, "Not Found: method not found");
    };
    let fault = {
        let mut inner = shared.lock();
        let method = canonical.to_ascii_lowercase();
        let in_chat = params["chat_id"]
            .as_i64()
            .and_then(|chat| inner.chat_faults.get_mut(&(method.clone(), chat)))
            .and_then(VecDeque::pop_front);
        in_chat.or_else(|| inner.faults.get_mut(&method).and_then(VecDeque::pop_front))
    };
    match fault {
        Some(Fault::RetryAfter(secs)) => {
            record(429);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({
                    "ok": false, "error_code": 429,
                    "description": format!("Too Many Requests: retry after {secs}"),
                    "parameters": {"retry_after": secs},
                })),
            )
                .into_response();
        }
        Some(Fault::Status(status)) => {
            record(status);
            let description = match status {
                500 => "Internal Server Error",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                504 => "Gateway Timeout",
                _ => "Fault injected",
            };
            return error(status, description);
        }
        Some(Fault::BadRequest(description)) => {
            record(400);
            return bad_request(description);
        }
        None => {}
    }
    let response = match canonical.as_str() {
        "getMe" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "warroom", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false,
        })),
        "getUpdates" => get_updates(&shared, &params).await,
        "sendMessage" => send_message(&shared, &params),
        "editMessageText" | "editMessageReplyMarkup" => edit_message(&shared, &canonical, &params),
        "answerCallbackQuery" => {
            let id = params["callback_query_id"].as_str().unwrap_or("").to_string();
            let mut inner = shared.lock();
            let count = inner.answered.entry(id).or_insert(0);
            *count += 1;
            if *count > 1 {
                bad_request(
                    "Bad Request: query is too old and response timeout expired or query id is invalid",
                )
            } else if params["text"].as_str().is_some_and(|t| t.chars().count() > 200) {
                bad_request("Bad Request: MESSAGE_TOO_LONG")
            } else {
                ok(json!(true))
            }
        }
        "setMyCommands" | "deleteWebhook" => ok(json!(true)),
        "getWebhookInfo" => {
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        _ => error(404, "Not Found: method not found"),
    };
    record(response.status().as_u16());
    response
}

/// Long poll: confirms everything below `offset`, returns what is pending from it, and
/// holds an empty answer for at most a second (the tests never wait out a real timeout).
async fn get_updates(shared: &Shared, params: &Value) -> Response {
    let offset = params["offset"].as_i64();
    let limit = params["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
    let hold = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0).min(1));
    let until = tokio::time::Instant::now() + hold;
    loop {
        let notified = shared.updates_ready.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut inner = shared.lock();
            if let Some(offset) = offset {
                inner.confirmed = inner.confirmed.max(offset);
                inner.pending.retain(|u| update_id(u) >= offset);
            }
            let mut ready: Vec<Value> = std::mem::take(&mut inner.again);
            ready.extend(inner.pending.iter().take(limit).cloned());
            if !ready.is_empty() {
                return ok(Value::Array(ready));
            }
        }
        if tokio::time::timeout_at(until, notified).await.is_err() {
            return ok(json!([]));
        }
    }
}

fn send_message(shared: &Shared, params: &Value) -> Response {
    let Some(chat) = params["chat_id"].as_i64() else { return bad_request("Bad Request: chat not found") };
    let html = params["text"].as_str().unwrap_or("");
    if params["parse_mode"] != "HTML" {
        return bad_request("warroom must send HTML parse mode (fake Telegram's own check)");
    }
    let text = match check_text(html) {
        Ok(t) => t,
        Err(e) => return bad_request(&e),
    };
    let markup = params.get("reply_markup").cloned();
    let buttons = match markup.as_ref().map(buttons).transpose() {
        Ok(b) => b.unwrap_or_default(),
        Err(e) => return bad_request(&e),
    };
    let mut inner = shared.lock();
    let reply_to = params["reply_parameters"]["message_id"].as_i64();
    if let Some(to) = reply_to {
        let exists = inner.messages.contains_key(&(chat, to));
        if !exists && params["reply_parameters"]["allow_sending_without_reply"] != true {
            return bad_request("Bad Request: message to be replied not found");
        }
    }
    let chat_json = inner.chats.get(&chat).cloned().unwrap_or_else(|| {
        if chat < 0 {
            json!({"id": chat, "type": "supergroup", "title": format!("chat {chat}")})
        } else {
            json!({"id": chat, "type": "private", "first_name": "someone"})
        }
    });
    let id = next_message_id(&mut inner, chat);
    let topic = params["message_thread_id"].as_i64();
    let mut message = json!({
        "message_id": id, "date": chrono::Utc::now().timestamp(), "chat": chat_json,
        "from": bot_user(), "text": text,
    });
    if let Some(markup) = &markup {
        message["reply_markup"] = markup.clone();
    }
    if let Some(topic) = topic {
        message["message_thread_id"] = json!(topic);
        message["is_topic_message"] = json!(true);
    }
    inner.raw.insert((chat, id), message.clone());
    inner.messages.insert(
        (chat, id),
        ChatMessage {
            chat,
            id,
            from_bot: true,
            html: html.to_string(),
            text,
            buttons,
            reply_to,
            topic,
            edits: 0,
        },
    );
    inner.order.push((chat, id));
    ok(message)
}

fn edit_message(shared: &Shared, method: &str, params: &Value) -> Response {
    let (Some(chat), Some(id)) = (params["chat_id"].as_i64(), params["message_id"].as_i64()) else {
        return bad_request("Bad Request: message to edit not found");
    };
    let markup = params.get("reply_markup").cloned();
    let buttons = match markup.as_ref().map(buttons).transpose() {
        Ok(b) => b.unwrap_or_default(),
        Err(e) => return bad_request(&e),
    };
    let mut inner = shared.lock();
    let Some(current) = inner.messages.get(&(chat, id)).cloned().filter(|m| m.from_bot) else {
        return bad_request("Bad Request: message to edit not found");
    };
    let (html, text) = if method == "editMessageText" {
        if params["parse_mode"] != "HTML" {
            return bad_request("warroom must send HTML parse mode (fake Telegram's own check)");
        }
        let html = params["text"].as_str().unwrap_or("").to_string();
        match check_text(&html) {
            Ok(text) => (html, text),
            Err(e) => return bad_request(&e),
        }
    } else {
        (current.html.clone(), current.text.clone())
    };
    if html == current.html && buttons == current.buttons {
        return bad_request(NOT_MODIFIED);
    }
    let updated = ChatMessage { html, text: text.clone(), buttons, edits: current.edits + 1, ..current };
    inner.messages.insert((chat, id), updated);
    let raw = inner.raw.entry((chat, id)).or_insert_with(|| json!({}));
    raw["text"] = json!(text);
    match markup {
        Some(m) => raw["reply_markup"] = m,
        None => {
            if let Some(o) = raw.as_object_mut() {
                o.remove("reply_markup");
            }
        }
    }
    let raw = raw.clone();
    ok(raw)
}

/// POSTs `update` to warroom's webhook with `secret` in the header (if any).
pub async fn post_webhook(url: &str, secret: Option<&str>, update: &Value) -> (u16, Value) {
    post_webhook_raw(url, secret, &update.to_string()).await
}

/// POSTs `body` as it is (JSON or not) to warroom's webhook.
pub async fn post_webhook_raw(url: &str, secret: Option<&str>, body: &str) -> (u16, Value) {
    let client =
        reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().expect("client");
    let mut request = client.post(url).header("content-type", "application/json").body(body.to_string());
    if let Some(secret) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    let response = request.send().await.expect("webhook request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
