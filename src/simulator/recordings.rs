//! The simulator's recordings: a session's recording published when a recorded meeting ends or
//! on demand (control endpoint, [`super::Simulator::publish_recording`]), then announced to the
//! meeting's recording-ready URL with an HS256 JWT, as BBB's post-publish script does (§6.2).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::lock;
use super::state::{Inner, SimulatedMeeting, SimulatedRecording};

/// The metadata keys (lower-cased at create) of the URL told when a recording is ready: the main
/// one, then the older aliases bbb-web still reads.
const READY_URL_KEYS: [&str; 3] = ["bbb-recording-ready-url", "bn-recording-ready-url", "canvas-recording-ready-url"];

/// The payload BBB signs: the external meeting id and the record id, nothing else (no `exp`).
#[derive(Serialize)]
struct ReadyClaims<'a> {
    meeting_id: &'a str,
    record_id: &'a str,
}

impl Inner {
    /// A recording of the session as it is now.
    pub fn recording_of(&self, meeting: &SimulatedMeeting) -> SimulatedRecording {
        let participants = meeting.joins.len().max(meeting.attendees.len()).max(usize::from(meeting.has_user_joined));
        SimulatedRecording {
            record_id: meeting.internal_meeting_id.clone(),
            meeting_id: meeting.meeting_id.clone(),
            name: meeting.name.clone(),
            start_time: meeting.create_time,
            end_time: self.config.clock.now().timestamp_millis().max(meeting.create_time),
            participants,
            metadata: meeting.metadata.clone(),
        }
    }

    /// Lists the recording as published (in place of an earlier one of the same session), then
    /// announces it, so that the receiver finds it in getRecordings.
    pub fn publish(&self, recording: SimulatedRecording) {
        {
            let mut state = lock(&self.meetings);
            state.recordings.retain(|kept| kept.record_id != recording.record_id);
            state.recordings.push(recording.clone());
        }
        self.announce(&recording);
    }

    /// Publishes the live session's recording, else the meeting's latest one again; returns its
    /// record id, None when the meeting is unknown.
    pub fn publish_recording(&self, meeting_id: &str) -> Option<String> {
        self.expire();
        let recording = {
            let state = lock(&self.meetings);
            match state.meetings.get(meeting_id) {
                Some(meeting) => self.recording_of(meeting),
                None => state.recordings.iter().rev().find(|kept| kept.meeting_id == meeting_id)?.clone(),
            }
        };
        let record_id = recording.record_id.clone();
        self.publish(recording);
        Some(record_id)
    }

    /// POSTs `signed_parameters=<JWT>` to the recording-ready URL, if the meeting gave one.
    fn announce(&self, recording: &SimulatedRecording) {
        let Some(url) = READY_URL_KEYS.iter().find_map(|key| recording.metadata.get(*key)) else { return };
        let claims = ReadyClaims { meeting_id: &recording.meeting_id, record_id: &recording.record_id };
        let key = EncodingKey::from_secret(self.config.secret.as_bytes());
        match jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key) {
            Ok(token) => self.deliver(self.http().post(url).form(&[("signed_parameters", token)]), "recording ready"),
            Err(error) => tracing::warn!(%error, "simulator: cannot sign the recording-ready callback"),
        }
    }
}

#[derive(Deserialize)]
pub struct PublishQuery {
    #[serde(rename = "meetingID")]
    meeting_id: String,
}

/// `POST /simulator/recordings/publish?meetingID=…`: [`Inner::publish_recording`] over HTTP.
/// Answers `{"meeting_id", "record_id"}`, 404 for an unknown meeting, 400 without `meetingID`.
pub async fn publish_endpoint(
    State(inner): State<Arc<Inner>>,
    query: Result<Query<PublishQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(PublishQuery { meeting_id })) = query else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "the meetingID parameter is required"})))
            .into_response();
    };
    match inner.publish_recording(&meeting_id) {
        Some(record_id) => Json(json!({"meeting_id": meeting_id, "record_id": record_id})).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such meeting, live or recorded"}))).into_response(),
    }
}
