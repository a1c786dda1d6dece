//! The HTTP server (axum): alert webhooks, the incident API, health and metrics, plus
//! whatever routes the chat platforms add (Slack HTTP mode, Discord interactions,
//! Telegram webhook). [`router`] builds the whole thing so tests can call it directly.

mod api;
mod error;
mod webhooks;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

pub use error::ApiError;

use crate::engine::Engine;

/// What every handler can reach.
#[derive(Clone)]
pub struct HttpState {
    pub engine: Arc<Engine>,
    /// False until every component started, and again once shutdown begins.
    pub ready: Arc<AtomicBool>,
    pub health: Arc<crate::app::PlatformHealth>,
}

/// All routes. `extra` are the platforms' own routers (each with its own state).
pub fn router(state: HttpState, extra: Vec<Router>) -> Router {
    let max_body = state.engine.config.webhooks.max_body_kib * 1024;
    let mut app = Router::new()
        .route("/webhooks/alertmanager", post(webhooks::alertmanager))
        .route("/webhooks/grafana", post(webhooks::grafana))
        .route("/webhooks/generic", post(webhooks::generic))
        .route("/api/incidents", get(api::list).post(api::create))
        .route("/api/incidents/{id}", get(api::show))
        .route("/api/incidents/{id}/status", post(api::set_status))
        .route("/api/incidents/{id}/notes", post(api::add_note))
        .route("/api/outbox", get(api::outbox))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    for routes in extra {
        app = app.merge(routes);
    }
    app.fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not allowed on this endpoint"))
        })
        .layer(DefaultBodyLimit::max(max_body))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 while warroom takes alerts (started, not stopping), with each chat platform's
/// state. A failed platform does not make warroom unready: webhooks and the other
/// platforms still work, and a load balancer that stopped sending alerts would only
/// make things worse. Alert on `warroom_platform_up == 0` instead.
async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    let ready = state.ready.load(Ordering::SeqCst);
    let platforms: serde_json::Map<String, serde_json::Value> = state
        .health
        .snapshot()
        .into_iter()
        .filter(|s| s.platform != crate::model::Platform::Console)
        .map(|s| (s.platform.to_string(), serde_json::Value::from(s.failed.unwrap_or_else(|| "up".into()))))
        .collect();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(serde_json::json!({ "ready": ready, "platforms": platforms })))
}

/// Prometheus text exposition: incidents by status, queue depths.
async fn metrics(State(state): State<HttpState>) -> Result<String, ApiError> {
    let store = &state.engine.store;
    let incidents = store.incidents()?;
    let mut out =
        String::from("# HELP warroom_incidents Incidents by status.\n# TYPE warroom_incidents gauge\n");
    for status in crate::model::Status::ALL {
        let n = incidents.iter().filter(|i| i.status == status).count();
        out.push_str(&format!("warroom_incidents{{status=\"{status}\"}} {n}\n"));
    }
    out.push_str("# HELP warroom_outbox_pending Outbound messages waiting to be sent.\n# TYPE warroom_outbox_pending gauge\n");
    let outbox = store.outbox()?;
    for platform in crate::model::Platform::ALL {
        let pending = outbox.iter().filter(|i| i.platform == platform && !i.dead).count();
        let dead = outbox.iter().filter(|i| i.platform == platform && i.dead).count();
        out.push_str(&format!("warroom_outbox_pending{{platform=\"{platform}\"}} {pending}\n"));
        out.push_str(&format!("warroom_outbox_dead{{platform=\"{platform}\"}} {dead}\n"));
    }
    out.push_str("# HELP warroom_platform_up Whether a chat platform's connection is running (0: failed, see /readyz).\n# TYPE warroom_platform_up gauge\n");
    let platforms = state.health.snapshot();
    for s in &platforms {
        let up = u8::from(s.failed.is_none());
        out.push_str(&format!("warroom_platform_up{{platform=\"{}\"}} {up}\n", s.platform));
    }
    out.push_str("# HELP warroom_platform_lost_events_total Events a platform delivered that could not be stored (lost).\n# TYPE warroom_platform_lost_events_total counter\n");
    for s in &platforms {
        out.push_str(&format!(
            "warroom_platform_lost_events_total{{platform=\"{}\"}} {}\n",
            s.platform, s.lost_events
        ));
    }
    out.push_str(&format!(
        "# HELP warroom_inbox_pending Inbound events stored but not yet handled.\n# TYPE warroom_inbox_pending gauge\nwarroom_inbox_pending {}\n",
        store.inbox()?.len()
    ));
    Ok(out)
}
