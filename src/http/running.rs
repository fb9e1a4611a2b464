//! `GET /bbb/{slug}/meeting/{guid}/is-running/`: open, CORS, answered from the rendezvous
//! service's per-rendezvous cache so that however many browsers poll, BBB is asked at most once
//! per cache period.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::envelope::ApiError;
use super::extract::MeetingPath;
use crate::rendezvous::{Rendezvous, RunningState};

pub async fn get_is_running(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
) -> Result<Response, ApiError> {
    let RunningState::Known { running, stale } = rendezvous.running_state(&path.connector, path.guid).await? else {
        return Err(ApiError::NotFound("no such rendezvous".to_owned()));
    };
    let body =
        if stale { json!({"err": 0, "data": running, "stale": true}) } else { json!({"err": 0, "data": running}) };
    let mut response = Json(body).into_response();
    let max_age = format!("max-age={}", path.connector.config.is_running_cache_seconds);
    if let Ok(value) = HeaderValue::from_str(&max_age) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    Ok(response)
}
