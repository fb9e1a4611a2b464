//! The request layers: a request id (set, then propagated), one log line per request with the
//! matched route (never the raw path, which holds join keys), status and latency, and a panic
//! guard that answers in the envelope.

use std::any::Any;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::{Json, Router};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn layers(router: Router) -> Router {
    router.layer(
        ServiceBuilder::new()
            .map_request(drop_unfit_request_id)
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(())
                    .on_response(log_response)
                    .on_failure(()),
            )
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

fn request_span<B>(request: &Request<B>) -> Span {
    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("unmatched");
    let header = |name: &str| request.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id = %header("x-request-id"),
        caller_url = tracing::field::Empty,
    );
    // w.c.s. names the form being processed in Publik-Caller-URL. Logged quoted and escaped:
    // any client can send it.
    let caller_url = header("publik-caller-url");
    if !caller_url.is_empty() {
        span.record("caller_url", tracing::field::debug(caller_url));
    }
    span
}

fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(status = response.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "request served");
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response<axum::body::Body> {
    tracing::error!("a request handler panicked");
    let body = json!({"err": 1, "err_class": "internal-error", "err_desc": "internal error", "data": null});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}
