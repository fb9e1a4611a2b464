//! The pages the simulator's links lead a browser to: the client page of a join redirect
//! (bbb-web's `/html5client/join?sessionToken=…`), which makes the participant present, and the
//! playback page of a recording.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use quick_xml::escape::escape;
use serde::Deserialize;

use super::lock;
use super::state::Inner;

#[derive(Deserialize)]
pub struct ClientQuery {
    #[serde(rename = "sessionToken", default)]
    session_token: String,
}

fn not_found(title: &str, text: &str) -> Response {
    (StatusCode::NOT_FOUND, Html(format!("<!DOCTYPE html><title>{title}</title><p>{text}</p>"))).into_response()
}

/// `GET /html5client/join?sessionToken=…`: opening it makes the participant present. Meetings
/// due to end are ended first, so that an old link cannot bring an ended meeting back.
pub async fn client_page(State(inner): State<Arc<Inner>>, Query(query): Query<ClientQuery>) -> Response {
    inner.expire();
    let session = lock(&inner.meetings).sessions.get(&query.session_token).cloned();
    let Some(session) = session else {
        return not_found("Unknown session", "Unknown or expired session.");
    };
    let name = lock(&inner.meetings)
        .meetings
        .get(&session.meeting_id)
        .filter(|meeting| meeting.internal_meeting_id == session.internal_meeting_id)
        .map(|meeting| meeting.name.clone());
    let Some(name) = name.filter(|_| inner.add_attendee(&session.meeting_id, session.attendee.clone())) else {
        return not_found("Meeting ended", "This meeting has ended.");
    };
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name} — BBB simulator</title></head>\n\
         <body><h1>{name}</h1><p>You are in the meeting as <strong>{full_name}</strong> ({role}).</p>\n\
         <p>This is the bbb-connector BBB simulator, not a real BigBlueButton client.</p></body></html>\n",
        name = escape(&name),
        full_name = escape(&session.attendee.full_name),
        role = session.attendee.role,
    ))
    .into_response()
}

pub async fn playback_page(Path(record_id): Path<String>) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><title>Recording</title><p>Recording {} (simulated playback).</p>",
        escape(&record_id)
    ))
}
