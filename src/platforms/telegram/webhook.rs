//! Webhook mode: Telegram POSTs each update to `/telegram/webhook`
//! (<https://core.telegram.org/bots/api#setwebhook>).
//!
//! The request must carry the `secret_token` given to `setWebhook` in
//! `X-Telegram-Bot-Api-Secret-Token` (compared in constant time); otherwise 401 and
//! nothing is stored. A stored update is answered 200; when it cannot be stored the
//! answer is 503, and Telegram retries any non-2xx answer. Registering the URL is the
//! operator's job (README, "Connect Telegram").
//!
//! A body we cannot read as an update is logged and answered 200 all the same: Telegram
//! retries every non-2xx answer, and with few `max_connections` a retried update it will
//! never be able to send differently holds up every update behind it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

use super::{wire, Telegram};
use crate::http::ApiError;
use crate::intake::Intake;

/// The header Telegram sends the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Clone)]
struct WebhookState {
    telegram: Arc<Telegram>,
    out: Intake,
}

pub(super) fn router(telegram: Arc<Telegram>, out: Intake) -> Router {
    Router::new().route("/telegram/webhook", post(receive)).with_state(WebhookState { telegram, out })
}

async fn receive(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let secret = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok());
    crate::verify::telegram(state.telegram.webhook_secret.expose(), secret)
        .map_err(|denied| ApiError::unauthorized(denied.0))?;
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, "telegram: unreadable webhook body dropped (answered 200 so Telegram moves on)");
            return Ok(StatusCode::OK);
        }
    };
    let update = match wire::parse_update(&body) {
        Ok(update) => update,
        Err(e) => {
            tracing::warn!(error = %e, bytes = body.len(), "telegram: webhook body is not an update we can read; dropped (answered 200 so Telegram moves on)");
            return Ok(StatusCode::OK);
        }
    };
    let me = state.telegram.identity().await.map_err(|e| {
        tracing::warn!(error = %e, "telegram: getMe failed; asking Telegram to retry the update");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "warroom cannot reach the Bot API yet; retry later")
    })?;
    state.telegram.take(&update, &me, &state.out).await.map_err(|e| {
        tracing::error!(update = update.id.0, error = %e, "telegram: could not store a webhook update");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "could not store the update; retry later")
    })?;
    Ok(StatusCode::OK)
}
