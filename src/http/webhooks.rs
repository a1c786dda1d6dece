//! `POST /webhooks/{alertmanager,grafana,generic}`: verify on the raw body, parse, hand
//! the alerts to the engine, and answer only after they are on disk.
//!
//! Alertmanager retries 5xx answers and drops 4xx ones (platform-facts §4), so a store
//! failure is a 500 (retry later) and bad input a 400 (fixing it needs a human).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;

use super::{ApiError, HttpState};
use crate::alerts::{self, Alert};
use crate::engine::IngestReport;
use crate::verify;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The optional bearer token of the Alertmanager and Grafana endpoints.
fn check_token(state: &HttpState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = &state.engine.config.webhooks.token;
    if token.is_set() {
        verify::bearer(header(headers, "authorization"), token.expose())
            .map_err(|d| ApiError::unauthorized(d.0))?;
    }
    Ok(())
}

async fn ingest(
    state: &HttpState,
    alerts: Vec<Alert>,
    dropped: usize,
    cause: String,
) -> Result<Json<IngestReport>, ApiError> {
    if dropped > 0 {
        tracing::warn!(
            dropped,
            kept = alerts.len(),
            "alert notification too large: {dropped} alerts left out (resolved ones first); lower max_alerts in the receiver"
        );
    }
    let engine = state.engine.clone();
    let report = tokio::task::spawn_blocking(move || -> Result<IngestReport, ApiError> {
        let mut report = engine.ingest(alerts, &cause, Utc::now())?;
        report.dropped = dropped;
        engine.store.flush()?;
        Ok(report)
    })
    .await
    .map_err(|e| {
        ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, format!("ingest task failed: {e}"))
    })??;
    if !report.opened.is_empty() || !report.cleared.is_empty() {
        tracing::info!(opened = ?report.opened, repeated = ?report.repeated, cleared = ?report.cleared, "alerts ingested");
    }
    Ok(Json(report))
}

fn cause(kind: &str, body: &[u8]) -> String {
    // Deterministic per payload: a retried delivery maps onto the same outbox keys.
    use sha2::{Digest, Sha256};
    format!("{kind}:{}", hex::encode(&Sha256::digest(body)[..8]))
}

pub async fn alertmanager(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReport>, ApiError> {
    let body = body?;
    check_token(&state, &headers)?;
    let parsed = alerts::parse_alertmanager(&body).map_err(|e| ApiError::bad_request(e.0))?;
    ingest(&state, parsed.alerts, parsed.dropped, cause("alertmanager", &body)).await
}

pub async fn grafana(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReport>, ApiError> {
    let body = body?;
    check_token(&state, &headers)?;
    let secret = &state.engine.config.webhooks.grafana_hmac_secret;
    if secret.is_set() {
        verify::grafana(
            secret.expose(),
            header(&headers, "x-grafana-alerting-timestamp"),
            header(&headers, "x-grafana-alerting-signature"),
            &body,
            Utc::now(),
        )
        .map_err(|d| ApiError::unauthorized(d.0))?;
    }
    let parsed = alerts::parse_grafana(&body).map_err(|e| ApiError::bad_request(e.0))?;
    ingest(&state, parsed.alerts, parsed.dropped, cause("grafana", &body)).await
}

pub async fn generic(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReport>, ApiError> {
    let body = body?;
    let secret = &state.engine.config.webhooks.generic_secret;
    if !secret.is_set() {
        return Err(ApiError::unauthorized("the generic webhook is disabled: set webhooks.generic_secret"));
    }
    verify::generic(
        secret.expose(),
        header(&headers, "x-warroom-timestamp"),
        header(&headers, "x-warroom-signature"),
        &body,
        Utc::now(),
    )
    .map_err(|d| ApiError::unauthorized(d.0))?;
    let alert = alerts::parse_generic(&body).map_err(|e| ApiError::bad_request(e.0))?;
    ingest(&state, vec![alert], 0, cause("generic", &body)).await
}
