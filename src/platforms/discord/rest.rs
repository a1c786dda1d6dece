//! Discord REST through serenity's `Http`, `Route` and `Request`, with errors mapped to
//! what the outbox should do.
//!
//! Production talks to `https://discord.com` with serenity's rate limiter on: it waits
//! out per-route buckets and retries 429s itself
//! (<https://discord.com/developers/docs/topics/rate-limits>). Any other `api_url` (a
//! proxy, the test fake) turns the limiter off, because serenity ignores the proxy
//! while it is on (platform-facts §0); requests are then built by serenity and sent
//! with our client, so a 429's `retry_after` reaches the outbox instead of being lost
//! in serenity's error type (which keeps only `code` and `message`).

use std::time::Duration;

use serde_json::Value;
use serenity::http::{Http, HttpBuilder, HttpError, Request};
use serenity::model::id::ApplicationId;

use crate::platforms::SendError;

/// Production Discord; any other base URL is a proxy or a fake.
pub const DISCORD: &str = "https://discord.com";

/// Requests that hang are retried by the outbox rather than holding it forever.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A failed call, with what Discord said.
#[derive(Debug, Clone, PartialEq)]
pub struct RestError {
    /// HTTP status; `None` for network errors.
    pub status: Option<u16>,
    /// Discord's JSON error code (`160004` thread exists, `10008` unknown message, …).
    /// <https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes>
    pub code: Option<i64>,
    pub message: String,
    /// From a 429's body `retry_after` (seconds, float) or its `Retry-After` header.
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for RestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.status, self.code) {
            (Some(s), Some(c)) => write!(f, "HTTP {s}: {} (code {c})", self.message),
            (Some(s), None) => write!(f, "HTTP {s}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl RestError {
    fn network(message: impl Into<String>) -> Self {
        Self { status: None, code: None, message: message.into(), retry_after: None }
    }

    /// A call we stopped waiting for.
    pub fn timed_out() -> Self {
        Self::network("Discord did not answer in time")
    }

    /// What the outbox should do (platforms/mod.rs "Errors").
    pub fn send_error(&self) -> SendError {
        match self.status {
            Some(429) => SendError::RateLimited(self.retry_after.unwrap_or(Duration::from_secs(1))),
            Some(401 | 403) => SendError::Unauthorized,
            Some(s @ 400..=499) if s != 408 => SendError::Rejected { reason: self.to_string() },
            _ => SendError::Transport(self.to_string()),
        }
    }
}

impl From<RestError> for SendError {
    fn from(e: RestError) -> Self {
        e.send_error()
    }
}

/// Reads a non-2xx answer: Discord's `{"code","message"}` or a 429's `retry_after`.
pub fn error_from(status: u16, body: &[u8], retry_after_header: Option<&str>) -> RestError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let retry_after = json
        .get("retry_after")
        .and_then(Value::as_f64)
        .or_else(|| retry_after_header.and_then(|h| h.trim().parse::<f64>().ok()))
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    let message = json
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    RestError { status: Some(status), code: json.get("code").and_then(Value::as_i64), message, retry_after }
}

/// The Discord REST client of one bot.
pub struct Rest {
    http: Http,
    /// Set while serenity's limiter is off: requests go out through this client.
    direct: Option<reqwest::Client>,
}

/// Builds serenity's `Http` for `api_url` (also used for the gateway client, whose only
/// REST call is `GET /gateway`).
pub fn http(token: &str, api_url: &str, application_id: u64) -> anyhow::Result<Http> {
    let api_url = api_url.trim().trim_end_matches('/');
    let production = is_production(api_url);
    let mut client = reqwest::Client::builder().use_rustls_tls().timeout(TIMEOUT);
    if !production {
        // The fake or proxy is addressed directly; an HTTP(S)_PROXY from the
        // environment must not capture loopback calls.
        client = client.no_proxy();
    }
    let mut builder = HttpBuilder::new(token).client(client.build()?).ratelimiter_disabled(!production);
    if !production {
        builder = builder.proxy(api_url);
    }
    if let Some(id) = std::num::NonZeroU64::new(application_id) {
        builder = builder.application_id(ApplicationId::from(id));
    }
    Ok(builder.build())
}

/// Whether `api_url` is Discord itself (config checked it is a scheme and a host):
/// compared as a URL, so `https://Discord.com/` counts too.
fn is_production(api_url: &str) -> bool {
    let Ok(url) = url::Url::parse(api_url) else { return false };
    url.scheme() == "https"
        && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case("discord.com"))
        && url.port().is_none()
        && url.path() == "/"
}

impl Rest {
    pub fn new(token: &str, api_url: &str, application_id: u64) -> anyhow::Result<Self> {
        let http = http(token, api_url, application_id)?;
        let direct = match http.ratelimiter {
            Some(_) => None,
            None => Some(reqwest::Client::builder().use_rustls_tls().timeout(TIMEOUT).no_proxy().build()?),
        };
        Ok(Self { http, direct })
    }

    /// Whether serenity paces requests itself (production).
    pub fn paced_by_serenity(&self) -> bool {
        self.direct.is_none()
    }

    /// Sends one request; returns the JSON answer (`Null` for 204).
    pub async fn call(&self, request: Request<'_>) -> Result<Value, RestError> {
        let (status, body) = match &self.direct {
            Some(client) => {
                let built = request
                    .build(client, self.http.token(), self.http.proxy.as_deref())
                    .map_err(|e| RestError::network(format!("building the request: {e}")))?;
                let response = built.send().await.map_err(|e| RestError::network(e.to_string()))?;
                let status = response.status().as_u16();
                let retry_after =
                    response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
                let body = response.bytes().await.map_err(|e| RestError::network(e.to_string()))?;
                if !(200..300).contains(&status) {
                    return Err(error_from(status, &body, retry_after.as_deref()));
                }
                (status, body)
            }
            None => match self.http.request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    (status, response.bytes().await.map_err(|e| RestError::network(e.to_string()))?)
                }
                Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(e))) => {
                    return Err(RestError {
                        status: Some(e.status_code.as_u16()),
                        code: Some(e.error.code as i64),
                        message: e.error.message,
                        retry_after: None,
                    })
                }
                Err(e) => return Err(RestError::network(e.to_string())),
            },
        };
        if status == 204 || body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| RestError::network(format!("unreadable answer: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_discord_itself_keeps_the_rate_limiter() {
        for production in ["https://discord.com", "https://discord.com/", "https://DISCORD.com"] {
            assert!(is_production(production), "{production}");
        }
        for other in
            ["http://discord.com", "https://discord.com:8443", "http://127.0.0.1:9", "https://proxy.internal"]
        {
            assert!(!is_production(other), "{other}");
        }
    }

    #[test]
    fn errors_say_what_the_outbox_should_do() {
        let limited = br#"{"message":"You are being rate limited.","retry_after":0.75,"global":false}"#;
        let cases: Vec<(u16, &[u8], Option<&str>, SendError)> = vec![
            (429, limited, Some("1"), SendError::RateLimited(Duration::from_millis(750))),
            (429, b"", Some("2"), SendError::RateLimited(Duration::from_secs(2))),
            (429, b"", None, SendError::RateLimited(Duration::from_secs(1))),
            (401, br#"{"message":"401: Unauthorized","code":0}"#, None, SendError::Unauthorized),
            (403, br#"{"message":"Missing Permissions","code":50013}"#, None, SendError::Unauthorized),
            (
                404,
                br#"{"message":"Unknown Channel","code":10003}"#,
                None,
                SendError::Rejected { reason: "HTTP 404: Unknown Channel (code 10003)".into() },
            ),
            (
                502,
                b"<html>bad gateway</html>",
                None,
                SendError::Transport("HTTP 502: <html>bad gateway</html>".into()),
            ),
        ];
        for (status, body, header, expected) in cases {
            assert_eq!(error_from(status, body, header).send_error(), expected, "{status}");
        }
        let exists = error_from(
            400,
            br#"{"message":"A thread has already been created for this message","code":160004}"#,
            None,
        );
        assert_eq!(exists.code, Some(160004));
    }
}
