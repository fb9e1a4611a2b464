//! `GET /bbb/{slug}/meeting/{guid}/is-running/`: open, CORS, answered from the rendezvous
//! service's per-rendezvous cache so that however many browsers poll, BBB is asked at most once
//! per cache period.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::envelope::{ApiError, Failure};
use super::extract::MeetingPath;
use crate::rendezvous::{Rendezvous, RunningState};

/// What is-running answers: the envelope, and `stale` while BBB cannot be reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct IsRunning {
    /// Always 0.
    #[schema(minimum = 0, maximum = 0)]
    err: u8,
    /// True while the meeting runs on BBB.
    data: bool,
    /// Present and true when BBB could not be asked: `data` is then the last known state.
    #[serde(skip_serializing_if = "Option::is_none")]
    stale: Option<bool>,
}

/// Whether the meeting runs, for browsers to poll (CORS, `OPTIONS` preflight answered).
///
/// Answered from a cache of `is_running_cache_seconds`: however many browsers poll, BBB is
/// asked at most once per period.
#[utoipa::path(
    method(get, options),
    path = "/bbb/{slug}/meeting/{guid}/is-running/",
    tag = "links",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous"),
    ),
    responses(
        (status = 200, description = "Running or not", body = IsRunning, example = json!({"err": 0, "data": false})),
        (status = 204, description = "`OPTIONS`: the CORS preflight"),
        (status = 404, description = "`not-found`", body = Failure),
    )
)]
pub async fn get_is_running(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
) -> Result<Response, ApiError> {
    let RunningState::Known { running, stale } = rendezvous.running_state(&path.connector, path.guid).await? else {
        return Err(ApiError::NotFound("no such rendezvous".to_owned()));
    };
    let outcome = match (stale, running) {
        (true, _) => "stale",
        (false, true) => "running",
        (false, false) => "not running",
    };
    tracing::Span::current().record("outcome", tracing::field::debug(outcome));
    let body = IsRunning { err: 0, data: running, stale: stale.then_some(true) };
    let mut response = Json(body).into_response();
    let max_age = format!("max-age={}", path.connector.config.is_running_cache_seconds);
    if let Ok(value) = HeaderValue::from_str(&max_age) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    Ok(response)
}

/// `OPTIONS`: the CORS layer adds the preflight's headers.
pub async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}
