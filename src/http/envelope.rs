//! The Passerelle JSON envelope (`{"err": 0, "data": ...}`) and the one error type of the HTTP
//! layer, mapped once to DESIGN §4's status and `err_class` table.

use axum::http::header::{CACHE_CONTROL, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::bbb::BbbError;
use crate::rendezvous::RendezvousError;
use crate::store::StoreError;

/// A successful answer: `{"err": 0, "data": ...}`.
pub struct Envelope<T>(pub T);

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(Success { err: 0, data: self.0 }).into_response()
    }
}

/// The body of a successful answer, as sent and as /openapi.json describes it.
#[derive(Serialize, ToSchema)]
pub struct Success<T> {
    /// Always 0.
    #[schema(minimum = 0, maximum = 0)]
    pub err: u8,
    pub data: T,
}

/// The body of a refusal or a failure: `ApiError::body` writes it.
#[derive(Serialize, ToSchema)]
pub struct Failure {
    /// Always 1.
    #[schema(minimum = 1, maximum = 1)]
    pub err: u8,
    pub err_class: ErrClass,
    /// A sentence for people; not to be parsed.
    pub err_desc: String,
    /// `null`, or BBB's `message_key` and `message` with `bbb-error`.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// The stable identifiers of the errors, which clients may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrClass {
    /// 400: malformed JSON, a missing or invalid field, a reserved parameter.
    InvalidPayload,
    /// 403: no or bad credentials on a protected endpoint.
    AccessDenied,
    /// 404: unknown slug, guid, or wrong join key.
    NotFound,
    /// 200 with err 1: the same idempotent_id with different parameters; do not retry.
    IdempotencyConflict,
    /// 413: a body over 64 KiB.
    PayloadTooLarge,
    /// 405.
    MethodNotAllowed,
    /// 400: a Host header not in `allowed_hosts`.
    InvalidHost,
    /// 429, with `Retry-After`.
    RateLimited,
    /// 408: the request head or body was not received in time.
    RequestTimeout,
    /// 200 with err 1 (502 on join links): BBB answered FAILED.
    BbbError,
    /// 502, or 504 on a timeout: BBB could not be reached or answered garbage.
    BbbUnavailable,
    /// 503: the database is down or did not answer.
    ServiceUnavailable,
    /// 500: stored data that cannot be read back.
    InternalError,
}

impl ErrClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidPayload => "invalid-payload",
            Self::AccessDenied => "access-denied",
            Self::NotFound => "not-found",
            Self::IdempotencyConflict => "idempotency-conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::InvalidHost => "invalid-host",
            Self::RateLimited => "rate-limited",
            Self::RequestTimeout => "request-timeout",
            Self::BbbError => "bbb-error",
            Self::BbbUnavailable => "bbb-unavailable",
            Self::ServiceUnavailable => "service-unavailable",
            Self::InternalError => "internal-error",
        }
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
    /// A join or page link that leads nowhere: unknown connector or rendezvous, or wrong key.
    #[error("no such rendezvous or wrong key")]
    UnknownLink,
    /// A callback whose token (end) or signature (recording ready) is not the service's.
    #[error("access denied: invalid callback token")]
    ForgedCallback,
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
            RendezvousError::InvalidToken => Self::ForgedCallback,
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
            Self::AccessDenied(_) | Self::ForgedCallback => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::UnknownLink => StatusCode::NOT_FOUND,
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
        self.class().as_str()
    }

    fn class(&self) -> ErrClass {
        match self {
            Self::InvalidPayload(_) => ErrClass::InvalidPayload,
            Self::AccessDenied(_) | Self::ForgedCallback => ErrClass::AccessDenied,
            Self::NotFound(_) | Self::UnknownLink => ErrClass::NotFound,
            Self::IdempotencyConflict(_) => ErrClass::IdempotencyConflict,
            Self::PayloadTooLarge => ErrClass::PayloadTooLarge,
            Self::MethodNotAllowed => ErrClass::MethodNotAllowed,
            Self::InvalidHost => ErrClass::InvalidHost,
            Self::RateLimited { .. } => ErrClass::RateLimited,
            Self::RequestTimeout => ErrClass::RequestTimeout,
            Self::Bbb(BbbError::Api { .. }) => ErrClass::BbbError,
            Self::Bbb(_) => ErrClass::BbbUnavailable,
            Self::Store(StoreError::InvalidData(_)) => ErrClass::InvalidPayload,
            Self::Store(StoreError::Corrupt(_)) => ErrClass::InternalError,
            Self::Store(_) => ErrClass::ServiceUnavailable,
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
        let data = match self {
            Self::Bbb(BbbError::Api { message_key, message }) => {
                Some(json!({"message_key": message_key, "message": message}))
            }
            _ => None,
        };
        let failure = Failure { err: 1, err_class: self.class(), err_desc: self.description(), data };
        serde_json::to_value(failure).unwrap_or_else(|_| json!({"err": 1}))
    }

    /// What the request line logs of this error: its class, its cause and whose fault it is.
    pub fn report(&self) -> ErrorReport {
        let fault = match self {
            Self::RateLimited { .. } | Self::UnknownLink | Self::ForgedCallback => Fault::Flood,
            Self::Bbb(error) if error.is_configuration_error() => Fault::Configuration,
            Self::Bbb(_) => Fault::Service,
            _ if self.status().is_server_error() => Fault::Service,
            _ => Fault::Caller,
        };
        ErrorReport { err_class: self.err_class(), cause: cause_chain(self), fault }
    }

    /// `response` carrying this error's report, for the request line to log it.
    pub fn reported(&self, mut response: Response) -> Response {
        response.extensions_mut().insert(self.report());
        response
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
        let mut response = (self.status(), Json(self.body())).into_response();
        self.add_headers(&mut response);
        self.reported(response)
    }
}

/// Whose fault an error answer is, which sets the level of its request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller's (4xx, a conflict): WARN.
    Caller,
    /// A refusal that floods repeat (rate limit, link leading nowhere, forged callback, unknown
    /// path): WARN once a minute per client address, DEBUG otherwise.
    Flood,
    /// Ours or BBB's (5xx, any BBB failure): ERROR.
    Service,
    /// BBB refused our checksum: the shared secret or the algorithm is wrong: ERROR.
    Configuration,
}

/// An error answer as its request line logs it (the answer's extension).
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub err_class: &'static str,
    /// The message and its sources; it may quote the caller, so it is logged escaped.
    pub cause: String,
    pub fault: Fault,
}

/// The error's message followed by those of its sources that it does not already say.
fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut cause = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        let text = next.to_string();
        if !cause.contains(&text) {
            cause.push_str(": ");
            cause.push_str(&text);
        }
        source = next.source();
    }
    cause
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_err_class_is_written_as_its_schema_says() {
        let all = [
            ErrClass::InvalidPayload,
            ErrClass::AccessDenied,
            ErrClass::NotFound,
            ErrClass::IdempotencyConflict,
            ErrClass::PayloadTooLarge,
            ErrClass::MethodNotAllowed,
            ErrClass::InvalidHost,
            ErrClass::RateLimited,
            ErrClass::RequestTimeout,
            ErrClass::BbbError,
            ErrClass::BbbUnavailable,
            ErrClass::ServiceUnavailable,
            ErrClass::InternalError,
        ];
        for class in all {
            assert_eq!(serde_json::to_value(class).unwrap(), json!(class.as_str()), "{class:?}");
        }
    }

    #[test]
    fn a_failure_has_the_four_keys_of_the_envelope() {
        let body = ApiError::NotFound("no such rendezvous".to_owned()).body();

        assert_eq!(body, json!({"err": 1, "err_class": "not-found", "err_desc": "no such rendezvous", "data": null}));
    }
}
