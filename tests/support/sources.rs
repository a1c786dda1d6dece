//! Fake context sources on 127.0.0.1 for the investigator: a health endpoint, a slow
//! one, a failing one, a huge one, a Prometheus API and a deployments API.

use std::time::Duration;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

static QUERIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The base URL of a freshly started fake.
pub async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/health", get(|Query(q): Query<std::collections::HashMap<String, String>>| async move {
            Json(json!({"status": {"indicator": "major", "host": q.get("host").cloned().unwrap_or_default()}}))
        }))
        .route("/slow", get(|| async {
            // Far past any source timeout the tests configure.
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }))
        .route("/fail", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded") }))
        .route("/huge", get(|| async { "LOG LINE ".repeat(20_000) }))
        .route("/api/v1/query", get(move |Query(q): Query<std::collections::HashMap<String, String>>| async move {
            // The error rate climbs a little with every query, so a refresh sees a change.
            let n = QUERIES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let query = q.get("query").cloned().unwrap_or_default();
            Json(json!({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"query": query}, "value": [1700000000, format!("0.{}", 137 + n)]}
            ]}}))
        }))
        .route("/deploys", get(|| async {
            let recent = (chrono::Utc::now() - chrono::Duration::minutes(9)).to_rfc3339();
            let old = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
            Json(json!([
                {"created_at": old, "ref": "v2.3.0", "environment": "prod", "creator": {"login": "bob"}},
                {"created_at": recent, "ref": "v2.3.1", "environment": "prod", "creator": {"login": "alice"}}
            ]))
        }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

/// `[investigate]` with every kind of source pointed at `base`.
pub fn config(base: &str, deadline_secs: u64) -> String {
    format!(
        r#"
[investigate]
enabled = true
source_timeout_secs = 1
deadline_secs = {deadline_secs}
max_source_chars = 500

[[investigate.sources]]
type = "runbooks"
dir = "{runbooks}"

[[investigate.sources]]
type = "past_incidents"

[[investigate.sources]]
type = "http"
name = "health"
url = "{base}/health?host={{{{instance}}}}"
json_path = "status.indicator"

[[investigate.sources]]
type = "http"
name = "slow"
url = "{base}/slow"

[[investigate.sources]]
type = "http"
name = "broken"
url = "{base}/fail"

[[investigate.sources]]
type = "http"
name = "huge"
url = "{base}/huge"

[[investigate.sources]]
type = "prometheus"
name = "metrics"
base_url = "{base}"
queries = {{ "error rate" = "sum(rate(http_requests_total{{instance=\"{{{{instance}}}}\"}}[5m]))" }}

[[investigate.sources]]
type = "deploys"
url = "{base}/deploys"
"#,
        runbooks = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks"),
    )
}

/// How many sources `config` configures.
pub const SOURCES: usize = 8;
