//! Slack HTTP mode: `/slack/events`, `/slack/commands`, `/slack/interactivity`.
//!
//! Each request is verified on its raw body (v0 HMAC-SHA256 with the signing secret,
//! five-minute window, constant time) before anything is parsed; a failure is a 401
//! and nothing is stored. A verified event is stored, then answered 200 — well within
//! Slack's three seconds; the work happens after. A failed store answers 500 so Slack
//! retries. <https://docs.slack.dev/authentication/verifying-requests-from-slack>

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use slack_morphism::events::{SlackInteractionEvent, SlackPushEvent};
use slack_morphism::prelude::SlackCommandEvent;

use super::{wire, Slack};
use crate::intake::Intake;
use crate::verify;

#[derive(Clone)]
struct HttpMode {
    slack: Arc<Slack>,
    out: Intake,
}

pub fn routes(slack: Arc<Slack>, out: Intake) -> Router {
    Router::new()
        .route("/slack/events", post(events))
        .route("/slack/commands", post(commands))
        .route("/slack/interactivity", post(interactivity))
        .with_state(HttpMode { slack, out })
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

fn verified(state: &HttpMode, headers: &HeaderMap, body: &[u8]) -> Result<(), Box<Response>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    verify::slack(
        state.slack.config.signing_secret.expose(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        Utc::now(),
    )
    .map_err(|denied| Box::new(error(StatusCode::UNAUTHORIZED, denied.0)))
}

async fn submit(state: &HttpMode, incoming: wire::Incoming) -> Response {
    match state.slack.submit(&state.out, incoming).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "slack: could not store an event; Slack will retry");
            error(StatusCode::INTERNAL_SERVER_ERROR, "could not store the event; retry")
        }
    }
}

async fn events(State(state): State<HttpMode>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = verified(&state, &headers, &body) {
        return *denied;
    }
    let event: SlackPushEvent = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("not a Slack event: {e}")),
    };
    match event {
        SlackPushEvent::UrlVerification(v) => {
            Json(serde_json::json!({ "challenge": v.challenge })).into_response()
        }
        SlackPushEvent::EventCallback(callback) => {
            match wire::push_event(&callback, &state.slack.me(), Utc::now()) {
                Some(incoming) => submit(&state, incoming).await,
                None => StatusCode::OK.into_response(),
            }
        }
        SlackPushEvent::AppRateLimited(_) => {
            tracing::warn!("slack: Slack is rate-limiting event delivery to this app");
            StatusCode::OK.into_response()
        }
    }
}

async fn commands(State(state): State<HttpMode>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = verified(&state, &headers, &body) {
        return *denied;
    }
    let command: SlackCommandEvent = match serde_urlencoded::from_bytes(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("not a slash command: {e}")),
    };
    match wire::command(&command, Utc::now()) {
        Some(incoming) => submit(&state, incoming).await,
        None => Json(serde_json::json!({
            "response_type": "ephemeral",
            "text": "warroom only answers /incident. Try `/incident help`."
        }))
        .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct InteractionForm {
    payload: String,
}

async fn interactivity(State(state): State<HttpMode>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = verified(&state, &headers, &body) {
        return *denied;
    }
    let form: InteractionForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("not an interaction: {e}")),
    };
    let event: SlackInteractionEvent = match serde_json::from_str(&form.payload) {
        Ok(e) => e,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("not an interaction payload: {e}")),
    };
    match wire::interaction(&event, Utc::now()) {
        Ok(incoming) => submit(&state, incoming).await,
        Err(_) => StatusCode::OK.into_response(),
    }
}
