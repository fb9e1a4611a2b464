//! The request layers: a request id (set, then propagated), one log line per request (which also
//! counts it for `/metrics`: one layer for both, the cheaper on the hot path), and a
//! panic guard that answers in the envelope. The line holds the matched route (never the raw
//! path, which holds join keys; an unmatched path quoted and cut), the client address, the
//! request id, the status and latency, what the handling recorded on the span (`slug`, `guid`,
//! `role`, `api_user`, `outcome`), and the cause of an error answer at the level of its fault.

use std::any::Any;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, Request, Response, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::{Json, Router};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tracing::{Instrument, Level, Span};

use super::client::client_address;
use super::envelope::{ErrorReport, Fault};
use super::guards::Guards;
use super::state::AppState;
use crate::config::Config;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest unmatched path logged, in characters.
const MAX_LOGGED_PATH_CHARS: usize = 200;

/// What the request line needs: the trusted proxies (client address), the refusal budget, and
/// whether requests are counted for `/metrics`.
#[derive(Clone)]
struct RequestLog {
    config: Arc<Config>,
    guards: Arc<Guards>,
}

pub fn layers(router: Router, state: &AppState) -> Router {
    let log = RequestLog { config: Arc::clone(&state.config()), guards: Arc::clone(&state.guards) };
    router.layer(
        ServiceBuilder::new()
            .map_request(drop_unfit_request_id)
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn_with_state(log, log_request))
            .layer(CatchPanicLayer::custom(panic_response)),
    )
}

/// Longest client-chosen request id kept (DESIGN §7).
const MAX_REQUEST_ID_CHARS: usize = 64;

/// A client's `X-Request-Id` is kept only when it is 1 to 64 of `[A-Za-z0-9._-]`; otherwise it
/// is dropped and one is generated, so it can neither forge log fields nor flood them.
fn drop_unfit_request_id<B>(mut request: Request<B>) -> Request<B> {
    let fit = |value: &[u8]| {
        (1..=MAX_REQUEST_ID_CHARS).contains(&value.len())
            && value.iter().all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(byte))
    };
    let headers = request.headers_mut();
    if headers.get_all(X_REQUEST_ID).iter().count() > 1
        || headers.get(X_REQUEST_ID).is_some_and(|value| !fit(value.as_bytes()))
    {
        headers.remove(X_REQUEST_ID);
    }
    request
}

/// Handles the request inside its span, then logs its one line.
async fn log_request(
    State(log): State<RequestLog>,
    request: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let client = client_address(&parts, &log.config.trusted_proxies);
    let matched = parts.extensions.get::<MatchedPath>().cloned();
    let unmatched = matched.is_none();
    let method = parts.method.clone();
    let span = request_span(&parts, client);
    let response = next.run(axum::extract::Request::from_parts(parts, body)).instrument(span.clone()).await;
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let route = matched.as_ref().map_or(super::metrics::UNMATCHED, MatchedPath::as_str);
    if log.config.metrics {
        super::metrics::record_request(route, &method, status, elapsed);
    }
    let latency_ms = (elapsed * 100_000.0).round() / 100.0;
    let report = response.extensions().get::<ErrorReport>();
    let flood = report.is_some_and(|report| {
        report.fault == Fault::Flood || (unmatched && response.status() == StatusCode::NOT_FOUND)
    });
    let (level, message) = grade(report, flood, || log.guards.first_refusal_this_minute(client));
    let err_class = report.map(|report| report.err_class);
    let error = report.map(|report| tracing::field::debug(&report.cause));
    if span.is_disabled() {
        // A filter above INFO turns the span off: the warnings and errors still logged say
        // what they are about themselves.
        match level {
            Level::ERROR => tracing::error!(%method, route, %client, status, latency_ms, err_class, error, "{message}"),
            Level::WARN => tracing::warn!(%method, route, %client, status, latency_ms, err_class, error, "{message}"),
            _ => {}
        }
        return response;
    }
    span.in_scope(|| match level {
        Level::ERROR => tracing::error!(status, latency_ms, err_class, error, "{message}"),
        Level::WARN => tracing::warn!(status, latency_ms, err_class, error, "{message}"),
        Level::INFO => tracing::info!(status, latency_ms, "{message}"),
        _ => tracing::debug!(status, latency_ms, err_class, error, "{message}"),
    });
    response
}

/// The level and message of a request line, by the fault of its error answer; a refusal that
/// floods repeat is at WARN only when it is its client's first this minute.
fn grade(report: Option<&ErrorReport>, flood: bool, first_this_minute: impl FnOnce() -> bool) -> (Level, &'static str) {
    match report.map(|report| report.fault) {
        None => (Level::INFO, "request served"),
        Some(Fault::Service) => (Level::ERROR, "request failed"),
        Some(Fault::Configuration) => (Level::ERROR, "request failed: configuration error"),
        Some(_) if flood && !first_this_minute() => (Level::DEBUG, "request refused"),
        Some(_) => (Level::WARN, "request refused"),
    }
}

/// The span of a request; its empty fields are recorded by the extractors and the handlers.
fn request_span(parts: &Parts, client: IpAddr) -> Span {
    let route = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or(super::metrics::UNMATCHED);
    let header = |name: &str| parts.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        method = %parts.method,
        %route,
        path = tracing::field::Empty,
        %client,
        request_id = %header("x-request-id"),
        caller_url = tracing::field::Empty,
        slug = tracing::field::Empty,
        guid = tracing::field::Empty,
        role = tracing::field::Empty,
        api_user = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    if route == super::metrics::UNMATCHED {
        // Without its query (credentials ride there), quoted and escaped, cut.
        let path: String = parts.uri.path().chars().take(MAX_LOGGED_PATH_CHARS).collect();
        span.record("path", tracing::field::debug(path));
    }
    // w.c.s. names the form being processed in Publik-Caller-URL. Logged quoted and escaped:
    // any client can send it.
    let caller_url = header("publik-caller-url");
    if !caller_url.is_empty() {
        span.record("caller_url", tracing::field::debug(caller_url));
    }
    span
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response<axum::body::Body> {
    let body = json!({"err": 1, "err_class": "internal-error", "err_desc": "internal error", "data": null});
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
    let cause = "a request handler panicked".to_owned();
    response.extensions_mut().insert(ErrorReport { err_class: "internal-error", cause, fault: Fault::Service });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(fault: Fault) -> ErrorReport {
        ErrorReport { err_class: "x", cause: "because".to_owned(), fault }
    }

    #[test]
    fn a_request_line_is_graded_by_whose_fault_the_error_is() {
        let cases = [
            (None, false, true, Level::INFO),
            (Some(report(Fault::Caller)), false, false, Level::WARN),
            (Some(report(Fault::Service)), false, false, Level::ERROR),
            (Some(report(Fault::Configuration)), false, false, Level::ERROR),
            (Some(report(Fault::Flood)), true, true, Level::WARN),
            (Some(report(Fault::Flood)), true, false, Level::DEBUG),
            (Some(report(Fault::Caller)), true, false, Level::DEBUG),
        ];
        for (report, flood, first, expected) in cases {
            let (level, _) = grade(report.as_ref(), flood, || first);

            assert_eq!(level, expected, "{report:?} flood={flood} first={first}");
        }
    }
}
