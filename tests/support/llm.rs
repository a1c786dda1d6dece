//! A fake LLM on 127.0.0.1 speaking both the Anthropic Messages API
//! (`POST /v1/messages`) and OpenAI-compatible chat completions
//! (`POST /v1/chat/completions`). Tests script its answers — valid JSON, garbage,
//! slow, 429 with retry-after, 529, 500 — and read back every request it received.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A normal completion whose text is this.
    Text(String),
    /// The same, after a delay.
    Slow(Duration, String),
    /// An HTTP error with a body (and a `retry-after` in seconds, if any).
    Status(u16, Value, Option<u64>),
}

impl Reply {
    /// A classifier answer.
    pub fn verdict(class: &str, confidence: f64) -> Reply {
        Reply::Text(json!({"class": class, "confidence": confidence, "reason": "fake says so"}).to_string())
    }

    pub fn rate_limited(retry_after: u64) -> Reply {
        Reply::Status(
            429,
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}),
            Some(retry_after),
        )
    }

    pub fn overloaded() -> Reply {
        Reply::Status(
            529,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            None,
        )
    }
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Seen {
    /// The user message only (where the data goes).
    pub fn user(&self) -> String {
        self.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str())
            .collect()
    }

    /// The instructions only.
    pub fn system(&self) -> String {
        match self.body["system"].as_str() {
            Some(s) => s.to_string(),
            None => self.body["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| m["role"] == "system")
                .filter_map(|m| m["content"].as_str())
                .collect(),
        }
    }

    /// Everything the model was shown (system + user), for assertions.
    pub fn prompt(&self) -> String {
        let mut out = String::new();
        if let Some(system) = self.body["system"].as_str() {
            out.push_str(system);
        }
        for m in self.body["messages"].as_array().into_iter().flatten() {
            out.push('\n');
            out.push_str(m["content"].as_str().unwrap_or(""));
        }
        out
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    fallback: Option<Reply>,
    seen: Vec<Seen>,
}

#[derive(Clone)]
pub struct FakeLlm {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl FakeLlm {
    pub async fn start() -> FakeLlm {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake =
            FakeLlm { inner: Arc::default(), url: format!("http://{}", listener.local_addr().unwrap()) };
        let app = Router::new()
            .route("/v1/messages", post(answer))
            .route("/v1/chat/completions", post(answer))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    /// Answers the next calls with these, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    /// Answers every call not covered by the script.
    pub fn always(&self, reply: Reply) {
        self.inner.lock().unwrap().fallback = Some(reply);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }

    /// An LLM config pointing at this fake.
    pub fn config(&self, provider: &str) -> warroom::config::LlmConfig {
        let provider = match provider {
            "anthropic" => warroom::config::LlmProvider::Anthropic,
            _ => warroom::config::LlmProvider::Openai,
        };
        warroom::config::LlmConfig {
            provider,
            base_url: self.url.clone(),
            model: "fake-model".into(),
            api_key: warroom::config::Secret::new("sk-ant-api03-TESTKEYTESTKEYTESTKEYTESTKEY"),
            timeout_secs: 10,
            max_tokens: 1024,
            input_price_per_mtok: 1.0,
            output_price_per_mtok: 5.0,
            max_retries: 2,
        }
    }
}

async fn answer(
    State(fake): State<FakeLlm>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    let reply = {
        let mut inner = fake.inner.lock().unwrap();
        inner.seen.push(Seen { path: path.clone(), headers, body: body.clone() });
        inner.script.pop_front().or_else(|| inner.fallback.clone()).unwrap_or(Reply::verdict("alert", 0.9))
    };
    let text = match reply {
        Reply::Text(t) => t,
        Reply::Slow(wait, t) => {
            tokio::time::sleep(wait).await;
            t
        }
        Reply::Status(status, body, retry_after) => {
            let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
            if let Some(secs) = retry_after {
                response.headers_mut().insert("retry-after", secs.to_string().parse().unwrap());
            }
            return response;
        }
    };
    let model = body["model"].as_str().unwrap_or("fake-model");
    if path == "/v1/messages" {
        axum::Json(json!({"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 120, "output_tokens": 30}}))
        .into_response()
    } else {
        axum::Json(json!({"id": "chatcmpl-fake", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 30}}))
        .into_response()
    }
}
