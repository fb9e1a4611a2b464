//! `GET /bbb/{slug}/meeting/{guid}/is-running/`: open, CORS, answered from a per-rendezvous
//! cache so that however many browsers poll, BBB is asked at most once per cache period.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;

use super::envelope::ApiError;
use super::extract::MeetingPath;
use crate::connectors::{Connector, RunningState};
use crate::domain::Guid;
use crate::store::{truncate_to_micros, Store};

pub async fn get_is_running(State(store): State<Arc<dyn Store>>, path: MeetingPath) -> Result<Response, ApiError> {
    let connector = Arc::clone(&path.connector);
    let guid = path.guid;
    let state = connector
        .running
        .try_get_with(guid, running_state(store, Arc::clone(&connector), guid))
        .await
        .map_err(|err| ApiError::Store(err.shared_copy()))?;
    let RunningState::Known { running, stale } = state else {
        return Err(ApiError::NotFound("no such rendezvous".to_owned()));
    };
    let body =
        if stale { json!({"err": 0, "data": running, "stale": true}) } else { json!({"err": 0, "data": running}) };
    let mut response = Json(body).into_response();
    let max_age = format!("max-age={}", connector.config.is_running_cache_seconds);
    if let Ok(value) = HeaderValue::from_str(&max_age) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    Ok(response)
}

/// Computes the answer on a cache miss. A rendezvous whose join links were never followed
/// cannot be running: no BBB call. A BBB failure gives the last known state, marked stale, and
/// is cached like a success so an outage is not multiplied by the number of pollers.
async fn running_state(
    store: Arc<dyn Store>,
    connector: Arc<Connector>,
    guid: Guid,
) -> Result<RunningState, crate::store::StoreError> {
    let Some(meeting) = store.find_meeting(guid).await?.filter(|meeting| meeting.slug == connector.slug) else {
        return Ok(RunningState::Unknown);
    };
    if meeting.join_followed_at.is_none() {
        return Ok(RunningState::Known { running: false, stale: false });
    }
    match connector.bbb.is_meeting_running(&guid.to_string()).await {
        Ok(running) => {
            if running || meeting.running {
                store.record_running_state(guid, running, truncate_to_micros(Utc::now())).await?;
            }
            Ok(RunningState::Known { running, stale: false })
        }
        Err(err) => {
            tracing::warn!(%guid, error = %err, "is-running: BBB could not be asked, answering the last known state");
            Ok(RunningState::Known { running: meeting.running, stale: true })
        }
    }
}
