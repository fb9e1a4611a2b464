//! Protected operations passed through to BBB: end a meeting, list its recordings, and the
//! connector status check (Passerelle's check_status).

use std::sync::Arc;

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::auth::Caller;
use super::envelope::{ApiError, Envelope, Failure, Success};
use super::extract::{ConnectorPath, MeetingPath};
use crate::rendezvous::{KnownRecording, Rendezvous};

/// What ending a meeting answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    /// Always true.
    ended: bool,
}

/// Ends the BBB meeting; ending a meeting BBB no longer knows is not an error.
#[utoipa::path(
    post,
    path = "/bbb/{slug}/meeting/{guid}/end/",
    tag = "operations",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous"),
    ),
    responses(
        (status = 200, description = "Ended (err 0), or err 1 with `bbb-error`", body = Success<Ended>,
         example = json!({"err": 0, "data": {"ended": true}})),
        (status = 403, description = "`access-denied`", body = Failure),
        (status = 404, description = "`not-found`", body = Failure),
        (status = 502, description = "`bbb-unavailable` (504 on a timeout)", body = Failure),
    ),
    security(("publik_signature" = []), ("apikey" = []), ("basic" = []))
)]
pub async fn post_end(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    _caller: Caller,
) -> Result<Envelope<Ended>, ApiError> {
    rendezvous.end(&path.connector, path.guid).await?;
    Ok(Envelope(Ended { ended: true }))
}

/// One recording of the rendezvous, as the API hands it out. One BBB said was ready but no
/// longer lists has its id and `ready_notified_at` only (`state` null).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = recording_example)]
pub struct RecordingView {
    /// BBB's recordID.
    id: String,
    /// `processing`, `processed`, `published`, `unpublished` or `deleted`; null for a recording
    /// BBB said was ready but no longer lists.
    state: Option<String>,
    published: Option<bool>,
    /// Milliseconds since the epoch.
    start: Option<i64>,
    /// Milliseconds since the epoch.
    end: Option<i64>,
    playback_urls: Vec<PlaybackView>,
    /// When BBB first said it was ready (the recording-ready callback); null when it did not.
    ready_notified_at: Option<DateTime<Utc>>,
}

fn recording_example() -> Value {
    json!({
        "id": "6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6f-1780315200000",
        "state": "published",
        "published": true,
        "start": 1_780_315_200_000_u64,
        "end": 1_780_317_000_000_u64,
        "playback_urls": [{"type": "presentation", "url": "https://video.example.net/playback/presentation/2.3/6f1c"}],
        "ready_notified_at": "2026-06-01T12:31:00Z",
    })
}

/// One way to play a recording back.
#[derive(Debug, Serialize, ToSchema)]
struct PlaybackView {
    /// `presentation`, `video`, ...
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

/// The recordings of the rendezvous, as BBB lists them.
#[utoipa::path(
    get,
    path = "/bbb/{slug}/meeting/{guid}/recordings/",
    tag = "operations",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous"),
    ),
    responses(
        (status = 200, description = "The recordings (err 0), or err 1 with `bbb-error`", body = Success<Vec<RecordingView>>,
         example = json!({"err": 0, "data": [recording_example()]})),
        (status = 403, description = "`access-denied`", body = Failure),
        (status = 404, description = "`not-found`", body = Failure),
        (status = 502, description = "`bbb-unavailable` (504 on a timeout)", body = Failure),
    ),
    security(("publik_signature" = []), ("apikey" = []), ("basic" = []))
)]
pub async fn get_recordings(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    _caller: Caller,
) -> Result<Envelope<Vec<RecordingView>>, ApiError> {
    let recordings = rendezvous.recordings(&path.connector, path.guid).await?;
    Ok(Envelope(recordings.into_iter().map(RecordingView::from).collect()))
}

/// What the status check answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusView {
    /// BBB's `bbbVersion`, else its API `version`.
    #[schema(example = "2.7.3")]
    bbb_version: String,
    /// How long the signed call took.
    #[schema(example = 42)]
    latency_ms: u64,
}

/// One signed call to BBB: its version and how long it took.
///
/// Like Passerelle's check_status: proves that BBB answers and that the shared secret and the
/// checksum algorithm are right.
#[utoipa::path(
    get,
    path = "/bbb/{slug}/status/",
    tag = "operations",
    params(("slug" = String, Path, description = "The connector")),
    responses(
        (status = 200, description = "BBB answers (err 0), or err 1 with `bbb-error` (a checksum refusal: wrong secret or algorithm)",
         body = Success<StatusView>, example = json!({"err": 0, "data": {"bbb_version": "2.7.3", "latency_ms": 42}})),
        (status = 403, description = "`access-denied`", body = Failure),
        (status = 404, description = "`not-found`: no such connector", body = Failure),
        (status = 502, description = "`bbb-unavailable` (504 on a timeout)", body = Failure),
    ),
    security(("publik_signature" = []), ("apikey" = []), ("basic" = []))
)]
pub async fn get_status(
    ConnectorPath(connector): ConnectorPath,
    _caller: Caller,
) -> Result<Envelope<StatusView>, ApiError> {
    let status = connector.probe().await?;
    let bbb_version = status.version.bbb_version.unwrap_or(status.version.version);
    let latency_ms = u64::try_from(status.latency.as_millis()).unwrap_or(u64::MAX);
    Ok(Envelope(StatusView { bbb_version, latency_ms }))
}
