//! One error type for every HTTP handler: a status and a reason the caller can act on,
//! as `{"error": "..."}`. Internal failures are logged once here and shown as a generic
//! message, never as a Rust error.

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::engine::{EngineError, Refusal};
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the warroom log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, e.to_string()),
            EngineError::Refused(Refusal::HumansOnly(_) | Refusal::HumansOnlyAction(_)) => {
                Self::new(StatusCode::FORBIDDEN, e.to_string())
            }
            EngineError::Refused(_) => Self::new(StatusCode::CONFLICT, e.to_string()),
            EngineError::Invalid(_) => Self::bad_request(e.to_string()),
            EngineError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, e.to_string()),
            EngineError::Store(e) => Self::internal(e),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large (see webhooks.max_body_kib)")
        } else {
            Self::new(e.status(), format!("could not read the request body: {e}"))
        }
    }
}
