//! `POST /discord/interactions`: Discord's HTTP alternative to receiving interactions
//! over the gateway (the application's "Interactions Endpoint URL").
//!
//! Every request is verified (Ed25519 over `timestamp ‖ raw body`, timestamp within
//! five minutes) before anything is parsed; failures get 401, which Discord checks by
//! sending bad signatures on purpose. A PING gets a PONG; anything else is stored
//! first and then answered in the response body with the same deferred types as on
//! the gateway.
//! <https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint>

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use ed25519_dalek::VerifyingKey;
use serde_json::{json, Value};
use serenity::model::application::Interaction;

use super::Discord;
use crate::intake::Intake;

#[derive(Clone)]
struct Endpoint {
    discord: Arc<Discord>,
    key: VerifyingKey,
    out: Intake,
}

/// The route, verified with the application's public key.
pub fn router(discord: Arc<Discord>, key: VerifyingKey, out: Intake) -> Router {
    Router::new().route("/discord/interactions", post(receive)).with_state(Endpoint { discord, key, out })
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn receive(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(denied) = crate::verify::discord(
        &endpoint.key,
        header("x-signature-timestamp"),
        header("x-signature-ed25519"),
        &body,
        Utc::now(),
    ) {
        tracing::debug!(reason = denied.0, "discord: interaction with a bad signature refused");
        return refuse(StatusCode::UNAUTHORIZED, denied.0);
    }
    let Ok(raw) = serde_json::from_slice::<Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    if raw.get("type").and_then(Value::as_u64) == Some(1) {
        return Json(json!({"type": 1})).into_response();
    }
    let interaction: Interaction = match serde_json::from_value(raw) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "discord: unreadable interaction");
            return refuse(StatusCode::BAD_REQUEST, "not an interaction warroom can read");
        }
    };
    match endpoint.discord.receive(&interaction, &endpoint.out).await {
        Ok((answer, stored)) => {
            endpoint.discord.answered(&interaction.id().to_string());
            if let Some(stored) = stored {
                // Stored: answer now, and let the queue take its time (a full one must
                // not make the answer miss Discord's three seconds).
                let out = endpoint.out.clone();
                tokio::spawn(async move {
                    if let Err(e) = out.queue(stored).await {
                        tracing::debug!(error = %e, "discord: interaction stored; it is handled after the next start");
                    }
                });
            }
            Json(answer.body()).into_response()
        }
        Err(e) => {
            // Not stored, so not acknowledged: Discord tells the user it failed.
            tracing::error!(error = %e, "discord: could not store an interaction");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "warroom could not take this interaction in")
        }
    }
}
