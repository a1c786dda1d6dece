//! LLM clients: the Anthropic Messages API and OpenAI-compatible chat completions
//! (OpenAI, Ollama, vLLM, llama.cpp server), over reqwest, behind one trait.
//!
//! Every call is redacted before it leaves ([`redact::Redactor`]), bounded by a
//! deadline that includes retries, retried on 429 (honouring `retry-after`), 529 and
//! 5xx, never on other 4xx, and returns token usage priced from the config. Callers
//! treat every [`LlmError`] as "fall back" — the classifier investigates, the
//! investigator writes a rule-based plan.

mod anthropic;
mod openai;
pub mod redact;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::{LlmConfig, LlmProvider};
use crate::model::Usage;

/// One completion request.
#[derive(Debug, Clone)]
pub struct LlmRequest {
    /// Instructions. Untrusted data never goes here.
    pub system: String,
    /// The data, inside delimiters the system prompt explains.
    pub user: String,
    pub max_tokens: u32,
    /// Ask for a single JSON object as the answer.
    pub json: bool,
    /// Overrides the configured timeout (retries included).
    pub timeout: Option<Duration>,
}

/// One completion.
#[derive(Debug, Clone)]
pub struct LlmResponse {
    pub text: String,
    pub usage: Usage,
    pub model: String,
    pub stop_reason: Option<String>,
}

/// Why a completion failed, as what a caller might do about it.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum LlmError {
    #[error("the LLM did not answer in time")]
    Timeout,
    #[error("the LLM is rate limiting us")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the LLM is overloaded")]
    Overloaded,
    /// The account's budget is spent (Anthropic's `enforced_spend_limit_reached`,
    /// OpenAI's `insufficient_quota`): no retry helps until it resets or is raised.
    #[error("the LLM spend limit is reached")]
    SpendLimit,
    #[error("the LLM refused the request: HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("cannot reach the LLM: {0}")]
    Transport(String),
    #[error("the LLM answered something unreadable: {0}")]
    BadResponse(String),
}

impl LlmError {
    /// A short stable name for timelines and verdict reasons.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Timeout => "llm_timeout",
            Self::RateLimited { .. } => "llm_rate_limited",
            Self::Overloaded => "llm_overloaded",
            Self::SpendLimit => "llm_spend_limit",
            Self::Http { .. } => "llm_http_error",
            Self::Transport(_) => "llm_unreachable",
            Self::BadResponse(_) => "llm_bad_response",
        }
    }
}

#[async_trait]
pub trait LlmClient: Send + Sync + 'static {
    fn model(&self) -> &str;
    async fn complete(&self, request: LlmRequest) -> Result<LlmResponse, LlmError>;
}

/// Builds the configured client; `None` when `llm.provider = "none"`.
pub fn from_config(config: &LlmConfig, redactor: redact::Redactor) -> Option<Arc<dyn LlmClient>> {
    let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().ok()?;
    let common = Common { config: config.clone(), redactor, http };
    match config.provider {
        LlmProvider::None => None,
        LlmProvider::Anthropic => Some(Arc::new(anthropic::Anthropic { common })),
        LlmProvider::Openai => Some(Arc::new(openai::OpenAi { common })),
    }
}

/// What both providers share: config, redaction, the HTTP client, retries, pricing.
struct Common {
    config: LlmConfig,
    redactor: redact::Redactor,
    http: reqwest::Client,
}

/// How one HTTP attempt went, classified by the provider.
enum Attempt {
    Done(LlmResponse),
    /// Worth another try after this long (or a backoff when `None`).
    Retry(LlmError, Option<Duration>),
    Fail(LlmError),
}

impl Common {
    fn base_url(&self, default: &str) -> String {
        let base = if self.config.base_url.trim().is_empty() { default } else { self.config.base_url.trim() };
        base.trim_end_matches('/').to_string()
    }

    fn cost(&self, input: u64, output: u64) -> Usage {
        let cost_usd = input as f64 * self.config.input_price_per_mtok / 1e6
            + output as f64 * self.config.output_price_per_mtok / 1e6;
        Usage { input_tokens: input, output_tokens: output, cost_usd }
    }

    fn redacted(&self, request: &LlmRequest) -> LlmRequest {
        LlmRequest {
            system: self.redactor.redact(&request.system).into_owned(),
            user: self.redactor.redact(&request.user).into_owned(),
            ..request.clone()
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, runs out of retries, or the
    /// deadline passes.
    async fn with_retries<F, Fut>(
        &self,
        timeout: Option<Duration>,
        mut attempt: F,
    ) -> Result<LlmResponse, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt>,
    {
        let budget = timeout.unwrap_or(Duration::from_secs(self.config.timeout_secs));
        let deadline = tokio::time::Instant::now() + budget;
        let mut tries = 0;
        let mut backoff = Duration::from_millis(250);
        loop {
            let outcome = match tokio::time::timeout_at(deadline, attempt()).await {
                Ok(outcome) => outcome,
                Err(_) => return Err(LlmError::Timeout),
            };
            match outcome {
                Attempt::Done(response) => return Ok(response),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e, wait) => {
                    if tries >= self.config.max_retries {
                        return Err(e);
                    }
                    tries += 1;
                    let jitter = 0.8 + fastrand::f64() * 0.4;
                    let wait = wait.unwrap_or(backoff).mul_f64(jitter);
                    backoff = (backoff * 2).min(Duration::from_secs(8));
                    // A wait past the deadline is pointless: say why we stopped (rate
                    // limited, overloaded…), not that the clock ran out.
                    if tokio::time::Instant::now() + wait >= deadline {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, wait_ms = wait.as_millis() as u64, "LLM call failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Sends one JSON POST and hands status, headers and body to `classify`.
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &serde_json::Value,
        classify: impl FnOnce(u16, &reqwest::header::HeaderMap, &str) -> Attempt,
    ) -> Attempt {
        let mut request = self.http.post(url).json(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let error = LlmError::Transport(without_url(&e));
                // Refused connections and resets are worth one more try within the deadline.
                return Attempt::Retry(error, None);
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => return Attempt::Retry(LlmError::Transport(without_url(&e)), None),
        };
        classify(status, &headers, &text)
    }
}

/// reqwest errors print the URL; keep them short and free of query strings.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_decode() {
        "bad body"
    } else {
        "request failed"
    };
    kind.to_string()
}

/// `retry-after` in seconds (fractions allowed).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
}

/// Status codes common to both APIs: what to do with a non-2xx answer.
fn classify_failure(status: u16, headers: &reqwest::header::HeaderMap, message: String) -> Attempt {
    match status {
        429 => {
            Attempt::Retry(LlmError::RateLimited { retry_after: retry_after(headers) }, retry_after(headers))
        }
        529 => Attempt::Retry(LlmError::Overloaded, None),
        500..=599 => Attempt::Retry(LlmError::Http { status, message }, None),
        _ => Attempt::Fail(LlmError::Http { status, message }),
    }
}

/// Pulls the first JSON object out of a model's answer (models like to add prose or
/// code fences around it). Lenient on purpose, for the investigation plan, whose every
/// section is validated after; the classifier uses [`parse_json_answer`].
pub fn extract_json(text: &str) -> Option<serde_json::Value> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    if end <= start {
        return None;
    }
    serde_json::from_str(&text[start..=end]).ok()
}

/// A model's answer that must be one JSON object and nothing else: the whole text,
/// or the whole text inside one Markdown code fence (```` ```json ```` or ```` ``` ````),
/// which some models add even in JSON mode. Prose around it, two objects, or an
/// unterminated fence are refused: the caller treats that as "no answer".
///
/// The object is read straight into `T`, never through a generic `Value`: a derived
/// struct refuses a key given twice (`{"class":"alert",…,"class":"chatter"}`), where
/// a `Value` would silently keep the last one.
pub fn parse_json_answer<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    let mut body = text.trim();
    if let Some(fenced) = body.strip_prefix("```") {
        let fenced = fenced.strip_prefix("json").or_else(|| fenced.strip_prefix("JSON")).unwrap_or(fenced);
        // The fence's info string ends the line; the closing fence ends the text.
        let fenced = fenced.strip_prefix('\n').or_else(|| fenced.strip_prefix("\r\n"))?;
        body = fenced.trim_end().strip_suffix("```")?.trim();
    }
    // An object only: a derived struct would also accept a JSON array.
    if !body.starts_with('{') {
        return None;
    }
    serde_json::from_str(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strict_answer_is_one_object_optionally_fenced() {
        let ok = ["{\"a\":1}", "  {\"a\":1}\n", "```json\n{\"a\":1}\n```", "```\n{\"a\":1}\n```\n"];
        for text in ok {
            assert_eq!(
                parse_json_answer::<serde_json::Value>(text).map(|v| v["a"].clone()),
                Some(serde_json::json!(1)),
                "{text:?}"
            );
        }
        let refused = [
            "Sure! {\"a\":1}",
            "{\"a\":1} hope this helps",
            "{\"a\":1}{\"b\":2}",
            "```json\n{\"a\":1}",
            "```json {\"a\":1}```",
            "text\n```json\n{\"a\":1}\n```",
            "[1, 2]",
            "",
        ];
        for text in refused {
            assert!(parse_json_answer::<serde_json::Value>(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn json_is_found_inside_prose_and_fences() {
        assert_eq!(extract_json("```json\n{\"class\":\"alert\"}\n```").unwrap()["class"], "alert");
        assert_eq!(extract_json("Sure! {\"a\":1} hope this helps").unwrap()["a"], 1);
        assert!(extract_json("no json here").is_none());
        assert!(extract_json("} {").is_none());
    }

    #[test]
    fn prices_are_per_million_tokens() {
        let common = Common {
            config: LlmConfig {
                input_price_per_mtok: 0.10,
                output_price_per_mtok: 0.50,
                ..Default::default()
            },
            redactor: redact::Redactor::default(),
            http: reqwest::Client::new(),
        };
        let usage = common.cost(2_000_000, 100_000);
        assert!((usage.cost_usd - 0.25).abs() < 1e-9, "{usage:?}");
    }
}
