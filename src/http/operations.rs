//! Protected operations passed through to BBB: end a meeting, list its recordings, and the
//! connector status check (Passerelle's check_status).

use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::envelope::{ApiError, Envelope};
use super::extract::{ConnectorPath, MeetingPath};
use crate::bbb::Recording;
use crate::rendezvous::Rendezvous;

/// Ends the BBB meeting; ending a meeting BBB no longer knows is not an error.
pub async fn post_end(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    _caller: Caller,
) -> Result<Envelope<Value>, ApiError> {
    rendezvous.end(&path.connector, path.guid).await?;
    Ok(Envelope(json!({"ended": true})))
}

/// One recording of the rendezvous, as the API hands it out.
#[derive(Debug, Serialize)]
pub struct RecordingView {
    id: String,
    state: String,
    published: bool,
    start: i64,
    end: i64,
    playback_urls: Vec<PlaybackView>,
}

#[derive(Debug, Serialize)]
struct PlaybackView {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

impl From<Recording> for RecordingView {
    fn from(recording: Recording) -> Self {
        Self {
            id: recording.record_id,
            state: recording.state,
            published: recording.published,
            start: recording.start_time,
            end: recording.end_time,
            playback_urls: recording.playback.into_iter().map(|p| PlaybackView { kind: p.kind, url: p.url }).collect(),
        }
    }
}

pub async fn get_recordings(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    _caller: Caller,
) -> Result<Envelope<Vec<RecordingView>>, ApiError> {
    let recordings = rendezvous.recordings(&path.connector, path.guid).await?;
    Ok(Envelope(recordings.into_iter().map(RecordingView::from).collect()))
}

/// One signed call to BBB: its version and how long it took.
pub async fn get_status(ConnectorPath(connector): ConnectorPath, _caller: Caller) -> Result<Envelope<Value>, ApiError> {
    let status = connector.probe().await?;
    let version = status.version.bbb_version.unwrap_or(status.version.version);
    Ok(Envelope(json!({"bbb_version": version, "latency_ms": status.latency.as_millis()})))
}
