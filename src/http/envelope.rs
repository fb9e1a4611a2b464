//! The Passerelle JSON envelope (`{"err": 0, "data": ...}`) and the one error type of the HTTP
//! layer, mapped once to DESIGN §4's status and `err_class` table.

use axum::http::header::{CACHE_CONTROL, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::bbb::BbbError;
use crate::rendezvous::RendezvousError;
use crate::store::StoreError;

/// A successful answer: `{"err": 0, "data": ...}`.
pub struct Envelope<T>(pub T);

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(json!({"err": 0, "data": self.0})).into_response()
    }
}

/// An answer no cache may keep: it carries join links.
pub struct NoStore<T>(pub T);

impl<T: IntoResponse> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
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
    /// The service's sentence, said once by `RendezvousError`.
    #[error("{0}")]
    IdempotencyConflict(String),
    #[error("request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    #[error("the Host header is not one this service answers for")]
    InvalidHost,
    #[error("too many requests from this address: retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the request was not received in time")]
    RequestTimeout,
    #[error(transparent)]
    Bbb(#[from] BbbError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RendezvousError> for ApiError {
    fn from(error: RendezvousError) -> Self {
        match error {
            RendezvousError::NotFound => Self::NotFound(error.to_string()),
            RendezvousError::IdempotencyConflict => Self::IdempotencyConflict(error.to_string()),
            RendezvousError::InvalidToken => Self::AccessDenied(error.to_string()),
            RendezvousError::InvalidNotification(message) => Self::InvalidPayload(message),
            RendezvousError::Bbb(error) => Self::Bbb(error),
            RendezvousError::Store(error) => Self::Store(error),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidPayload(_) => StatusCode::BAD_REQUEST,
            Self::AccessDenied(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::IdempotencyConflict(_) => StatusCode::OK,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidHost => StatusCode::BAD_REQUEST,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
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
            Self::IdempotencyConflict(_) => "idempotency-conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::InvalidHost => "invalid-host",
            Self::RateLimited { .. } => "rate-limited",
            Self::RequestTimeout => "request-timeout",
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

    /// Logs the error once: server errors at ERROR, refusals at INFO. The message may quote
    /// what the caller sent, so it is logged quoted and escaped (no forged log lines).
    pub fn log(&self) {
        let message = self.to_string();
        if self.status().is_server_error() {
            tracing::error!(err_class = self.err_class(), error = ?message, "request failed");
        } else {
            tracing::info!(err_class = self.err_class(), error = ?message, "request refused");
        }
    }

    /// Headers the answer needs whatever its body: `Retry-After` of a rate limit.
    pub fn add_headers(&self, response: &mut Response) {
        if let Self::RateLimited { retry_after_seconds } = self {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status(), Json(self.body())).into_response();
        self.add_headers(&mut response);
        response
    }
}
