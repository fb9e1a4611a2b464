//! The request layers: a request id (set, then propagated), one log line per request with the
//! matched route (never the raw path, which holds join keys), status and latency, and a panic
//! guard that answers in the envelope.

use std::any::Any;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::{Json, Router};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

pub fn layers(router: Router) -> Router {
    router.layer(
        ServiceBuilder::new()
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
    // w.c.s. names the form being processed in Publik-Caller-URL.
    let caller_url = header("publik-caller-url");
    if !caller_url.is_empty() {
        span.record("caller_url", caller_url);
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
