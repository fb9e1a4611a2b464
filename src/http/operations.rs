//! Protected operations passed through to BBB: end a meeting, list its recordings, and the
//! connector status check (Passerelle's check_status).

use std::sync::Arc;

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::auth::Caller;
use super::envelope::{ApiError, Envelope};
use super::extract::{ConnectorPath, MeetingPath};
use crate::rendezvous::{KnownRecording, Rendezvous};

/// Ends the BBB meeting; ending a meeting BBB no longer knows is not an error.
pub async fn post_end(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    _caller: Caller,
) -> Result<Envelope<Value>, ApiError> {
    rendezvous.end(&path.connector, path.guid).await?;
    Ok(Envelope(json!({"ended": true})))
}

/// One recording of the rendezvous, as the API hands it out. One BBB said was ready but no
/// longer lists has its id and `ready_notified_at` only (`state` null).
#[derive(Debug, Serialize)]
pub struct RecordingView {
    id: String,
    state: Option<String>,
    published: Option<bool>,
    start: Option<i64>,
    end: Option<i64>,
    playback_urls: Vec<PlaybackView>,
    /// When BBB first said it was ready (the recording-ready callback); null when it did not.
    ready_notified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
struct PlaybackView {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

impl From<KnownRecording> for RecordingView {
    fn from(known: KnownRecording) -> Self {
        let listed = known.bbb;
        Self {
            id: known.record_id,
            state: listed.as_ref().map(|recording| recording.state.clone()),
            published: listed.as_ref().map(|recording| recording.published),
            start: listed.as_ref().map(|recording| recording.start_time),
            end: listed.as_ref().map(|recording| recording.end_time),
            playback_urls: listed
                .map(|recording| recording.playback)
                .unwrap_or_default()
                .into_iter()
                .map(|p| PlaybackView { kind: p.kind, url: p.url })
                .collect(),
            ready_notified_at: known.ready_notified_at,
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
