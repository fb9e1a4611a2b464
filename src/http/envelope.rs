//! The Passerelle JSON envelope (`{"err": 0, "data": ...}`) and the one error type of the HTTP
//! layer, mapped once to DESIGN §4's status and `err_class` table.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::bbb::BbbError;
use crate::store::StoreError;

/// A successful answer: `{"err": 0, "data": ...}`.
pub struct Envelope<T>(pub T);

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(json!({"err": 0, "data": self.0})).into_response()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidPayload(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("a rendezvous with this idempotent_id exists with different parameters")]
    IdempotencyConflict,
    #[error("request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    #[error(transparent)]
    Bbb(#[from] BbbError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidPayload(_) => StatusCode::BAD_REQUEST,
            Self::AccessDenied(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::IdempotencyConflict => StatusCode::OK,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Bbb(BbbError::Api { .. }) => StatusCode::OK,
            Self::Bbb(err) if err.is_timeout() => StatusCode::GATEWAY_TIMEOUT,
            Self::Bbb(_) => StatusCode::BAD_GATEWAY,
            Self::Store(StoreError::InvalidData(_)) => StatusCode::BAD_REQUEST,
            Self::Store(StoreError::Corrupt(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable identifier clients may branch on.
    pub fn err_class(&self) -> &'static str {
        match self {
            Self::InvalidPayload(_) => "invalid-payload",
            Self::AccessDenied(_) => "access-denied",
            Self::NotFound(_) => "not-found",
            Self::IdempotencyConflict => "idempotency-conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Bbb(BbbError::Api { .. }) => "bbb-error",
            Self::Bbb(_) => "bbb-unavailable",
            Self::Store(StoreError::InvalidData(_)) => "invalid-payload",
            Self::Store(StoreError::Corrupt(_)) => "internal-error",
            Self::Store(_) => "service-unavailable",
        }
    }

    /// The sentence shown to the caller; internal details stay in the log.
    pub fn description(&self) -> String {
        match self {
            Self::Store(StoreError::InvalidData(_)) => "the payload holds a value that cannot be stored".to_owned(),
            Self::Store(StoreError::Corrupt(_)) => "internal error".to_owned(),
            Self::Store(_) => "the database is unavailable, retry later".to_owned(),
            other => other.to_string(),
        }
    }

    /// The error object of the envelope.
    pub fn body(&self) -> Value {
        let mut body = json!({"err": 1, "err_class": self.err_class(), "err_desc": self.description(), "data": null});
        if let Self::Bbb(BbbError::Api { message_key, message }) = self {
            body["data"] = json!({"message_key": message_key, "message": message});
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(err_class = self.err_class(), error = %self, "request failed");
        } else {
            tracing::info!(err_class = self.err_class(), error = %self, "request refused");
        }
        (status, Json(self.body())).into_response()
    }
}
