//! The API actions of the simulator, following bbb-web's rules (reference §3–§5), and the
//! client and playback pages its redirects lead to.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use quick_xml::escape::escape;
use sha1::{Digest, Sha1};

use super::server::ApiRequest;
use super::state::{Inner, Session, SimulatedAttendee, SimulatedMeeting};
use super::{lock, xml, Params};
use crate::domain::ids::random_hex;

pub fn dispatch(inner: &Inner, action: &str, request: ApiRequest) -> Response {
    match action {
        "create" => create(inner, &request.params),
        "join" => join(inner, &request),
        "isMeetingRunning" => is_meeting_running(inner, &request.params),
        "getMeetingInfo" => get_meeting_info(inner, &request.params),
        "getMeetings" => get_meetings(inner),
        "end" => end(inner, &request.params),
        "getRecordings" => get_recordings(inner, &request.params),
        _ => xml::failed("unsupportedRequest", "This request is not supported."),
    }
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str).filter(|value| !value.is_empty())
}

/// A FAILED answer: messageKey and message.
struct Failure(&'static str, &'static str);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        xml::failed(self.0, self.1)
    }
}

fn meeting_id_of(params: &Params) -> Result<&str, Failure> {
    let id = param(params, "meetingID")
        .ok_or(Failure("missingParamMeetingID", "You must specify a meeting ID for the meeting."))?;
    let length = id.chars().count();
    if !(2..=256).contains(&length) || id.contains(',') || id.trim() != id {
        return Err(Failure("validationError", "Invalid meeting ID"));
    }
    Ok(id)
}

fn create(inner: &Inner, params: &Params) -> Response {
    let meeting_id = match meeting_id_of(params) {
        Ok(id) => id,
        Err(failure) => return failure.into_response(),
    };
    let name = param(params, "name").unwrap_or_default();
    if !(2..=256).contains(&name.chars().count()) {
        return xml::failed("validationError", "Meeting name must be between 2 and 256 characters");
    }
    let passwords = (param(params, "attendeePW"), param(params, "moderatorPW"));
    if [passwords.0, passwords.1].into_iter().flatten().any(|pw| !(2..=64).contains(&pw.chars().count())) {
        return xml::failed("invalidPassword", "Password length must be between 2 and 64 characters");
    }
    let mut state = lock(&inner.meetings);
    if let Some(existing) = state.meetings.get(meeting_id) {
        let same = passwords == (None, None)
            || passwords == (Some(existing.attendee_pw.as_str()), Some(existing.moderator_pw.as_str()));
        if !same {
            return xml::failed(
                "idNotUnique",
                "A meeting already exists with that meeting ID.  Please use a different meeting ID.",
            );
        }
        return create_answer(
            existing,
            "duplicateWarning",
            "This conference was already in existence and may currently be in progress.",
        );
    }
    let meeting = new_meeting(meeting_id, name, passwords, params);
    let response = create_answer(&meeting, "", "");
    let deadline = inner.expiry_of(&meeting);
    state.add(meeting, deadline);
    response
}

fn new_meeting(
    meeting_id: &str,
    name: &str,
    passwords: (Option<&str>, Option<&str>),
    params: &Params,
) -> SimulatedMeeting {
    let create_time = chrono::Utc::now().timestamp_millis();
    let metadata = params
        .iter()
        .filter_map(|(key, value)| key.strip_prefix("meta_").map(|meta| (meta, value)))
        .filter(|(meta, _)| {
            meta.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && meta.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(|(meta, value)| (meta.to_ascii_lowercase(), value.clone()))
        .collect();
    SimulatedMeeting {
        meeting_id: meeting_id.to_owned(),
        name: name.to_owned(),
        internal_meeting_id: format!("{}-{create_time}", hex::encode(Sha1::digest(meeting_id.as_bytes()))),
        attendee_pw: passwords.0.map(str::to_owned).unwrap_or_else(|| random_hex(4)),
        moderator_pw: passwords.1.map(str::to_owned).unwrap_or_else(|| random_hex(4)),
        create_time,
        voice_bridge: format!("{}", 70_000 + u32::from(rand::random::<u16>()) % 30_000),
        params: params.clone(),
        metadata,
        attendees: Vec::new(),
        joins: Vec::new(),
        has_user_joined: false,
        created_at: Instant::now(),
        last_left_at: None,
    }
}

fn create_answer(meeting: &SimulatedMeeting, message_key: &str, message: &str) -> Response {
    let create_time = meeting.create_time.to_string();
    let create_date = chrono::DateTime::from_timestamp_millis(meeting.create_time)
        .map(|at| at.format("%a %b %d %H:%M:%S UTC %Y").to_string())
        .unwrap_or_default();
    let duration = meeting.params.get("duration").cloned().unwrap_or_else(|| "0".to_owned());
    xml::success(&[
        ("meetingID", &meeting.meeting_id),
        ("internalMeetingID", &meeting.internal_meeting_id),
        ("parentMeetingID", "bbb-none"),
        ("attendeePW", &meeting.attendee_pw),
        ("moderatorPW", &meeting.moderator_pw),
        ("createTime", &create_time),
        ("voiceBridge", &meeting.voice_bridge),
        ("dialNumber", "613-555-1234"),
        ("createDate", &create_date),
        ("hasUserJoined", bool_text(meeting.has_user_joined)),
        ("duration", &duration),
        ("hasBeenForciblyEnded", "false"),
        ("messageKey", message_key),
        ("message", message),
    ])
}

fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

fn join(inner: &Inner, request: &ApiRequest) -> Response {
    let params = &request.params;
    let meeting_id = match meeting_id_of(params) {
        Ok(id) => id,
        Err(failure) => return failure.into_response(),
    };
    let Some(full_name) = param(params, "fullName") else {
        return xml::failed(
            "missingParamFullName",
            "You must specify a name for the attendee who will be joining the meeting.",
        );
    };
    let mut state = lock(&inner.meetings);
    let Some(meeting) = state.meetings.get_mut(meeting_id) else {
        return xml::failed("invalidMeetingIdentifier", "A meeting with that ID does not exist");
    };
    if param(params, "createTime").is_some_and(|time| time != meeting.create_time.to_string()) {
        return xml::failed(
            "mismatchCreateTimeParam",
            "The createTime parameter submitted mismatches with the current meeting.",
        );
    }
    let Some(role) = resolve_role(meeting, params) else {
        return xml::failed("Params required", "You must enter a valid password");
    };
    meeting.joins.push(params.clone());
    let attendee = SimulatedAttendee {
        user_id: format!("w_{}", random_hex(6)),
        full_name: full_name.to_owned(),
        role: role.to_owned(),
    };
    let token = random_hex(8);
    let url = format!("http://{}/client/{token}", request.host);
    state.sessions.insert(token.clone(), Session { meeting_id: meeting_id.to_owned(), attendee: attendee.clone() });
    if param(params, "redirect") == Some("false") {
        return xml::success(&[
            ("messageKey", "successfullyJoined"),
            ("message", "You have joined successfully."),
            ("meeting_id", &state.meetings[meeting_id].internal_meeting_id.clone()),
            ("user_id", &attendee.user_id),
            ("auth_token", &random_hex(6)),
            ("session_token", &token),
            ("guestStatus", "ALLOW"),
            ("url", &url),
        ]);
    }
    (StatusCode::FOUND, [(LOCATION, url)]).into_response()
}

/// `role` wins when valid; else the password decides (reference §4.2).
fn resolve_role(meeting: &SimulatedMeeting, params: &Params) -> Option<&'static str> {
    match param(params, "role").map(str::to_ascii_uppercase).as_deref() {
        Some("MODERATOR") => return Some("MODERATOR"),
        Some("VIEWER") => return Some("VIEWER"),
        _ => {}
    }
    match param(params, "password") {
        Some(password) if password == meeting.moderator_pw => Some("MODERATOR"),
        Some(password) if password == meeting.attendee_pw => Some("VIEWER"),
        _ => None,
    }
}

fn is_meeting_running(inner: &Inner, params: &Params) -> Response {
    let meeting_id = match meeting_id_of(params) {
        Ok(id) => id,
        Err(failure) => return failure.into_response(),
    };
    let running = lock(&inner.meetings).meetings.get(meeting_id).is_some_and(SimulatedMeeting::running);
    xml::success(&[("running", bool_text(running))])
}

fn meeting_xml(meeting: &SimulatedMeeting) -> String {
    let attendees: String = meeting
        .attendees
        .iter()
        .map(|a| {
            format!(
                "<attendee>{}</attendee>",
                xml::elements(&[
                    ("userID", &a.user_id),
                    ("fullName", &a.full_name),
                    ("role", &a.role),
                    ("isPresenter", "false"),
                    ("clientType", "HTML5")
                ])
            )
        })
        .collect();
    let metadata: String = meeting.metadata.iter().map(|(key, value)| xml::element(key, value)).collect();
    let moderators = meeting.attendees.iter().filter(|a| a.role == "MODERATOR").count().to_string();
    let count = meeting.attendees.len().to_string();
    let create_time = meeting.create_time.to_string();
    let head = xml::elements(&[
        ("meetingName", &meeting.name),
        ("meetingID", &meeting.meeting_id),
        ("internalMeetingID", &meeting.internal_meeting_id),
        ("createTime", &create_time),
        ("voiceBridge", &meeting.voice_bridge),
        ("running", bool_text(meeting.running())),
        ("hasUserJoined", bool_text(meeting.has_user_joined)),
        ("hasBeenForciblyEnded", "false"),
        ("participantCount", &count),
        ("moderatorCount", &moderators),
    ]);
    format!("{head}<attendees>{attendees}</attendees><metadata>{metadata}</metadata><isBreakout>false</isBreakout>")
}

fn get_meeting_info(inner: &Inner, params: &Params) -> Response {
    let meeting_id = match meeting_id_of(params) {
        Ok(id) => id,
        Err(failure) => return failure.into_response(),
    };
    match lock(&inner.meetings).meetings.get(meeting_id) {
        Some(meeting) => xml::success_raw(&meeting_xml(meeting)),
        None => xml::failed("notFound", "A meeting with that ID does not exist"),
    }
}

fn get_meetings(inner: &Inner) -> Response {
    let state = lock(&inner.meetings);
    if state.meetings.is_empty() {
        return xml::success_raw(
            "<meetings/><messageKey>noMeetings</messageKey><message>no meetings were found on this server</message>",
        );
    }
    let meetings: String = state.meetings.values().map(|m| format!("<meeting>{}</meeting>", meeting_xml(m))).collect();
    xml::success_raw(&format!("<meetings>{meetings}</meetings>"))
}

fn end(inner: &Inner, params: &Params) -> Response {
    let meeting_id = match meeting_id_of(params) {
        Ok(id) => id,
        Err(failure) => return failure.into_response(),
    };
    if inner.end_meeting(meeting_id) {
        xml::success(&[("messageKey", "sentEndMeetingRequest"), ("message", "A request to end the meeting was sent.  Please wait a few seconds, and then use the getMeetingInfo or isMeetingRunning API calls to verify that it was ended.")])
    } else {
        xml::failed(
            "notFound",
            "We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?",
        )
    }
}

fn get_recordings(inner: &Inner, params: &Params) -> Response {
    let prefixes: Vec<String> = param(params, "meetingID")
        .map(|ids| ids.split(',').map(|id| hex::encode(Sha1::digest(id.trim().as_bytes()))).collect())
        .unwrap_or_default();
    let state = lock(&inner.meetings);
    let host = inner.addr.lock().unwrap_or_else(|e| e.into_inner()).map(|addr| addr.to_string()).unwrap_or_default();
    let recordings: String = state
        .recordings
        .iter()
        .filter(|r| prefixes.is_empty() || prefixes.iter().any(|prefix| r.record_id.starts_with(prefix.as_str())))
        .map(|r| {
            let url = format!("http://{host}/playback/presentation/2.3/{}", r.record_id);
            let metadata: String = r.metadata.iter().map(|(key, value)| xml::element(key, value)).collect();
            format!(
                "<recording>{}<metadata>{metadata}</metadata><playback><format>{}</format></playback></recording>",
                xml::elements(&[
                    ("recordID", &r.record_id),
                    ("meetingID", &r.meeting_id),
                    ("internalMeetingID", &r.record_id),
                    ("name", &r.name),
                    ("isBreakout", "false"),
                    ("published", "true"),
                    ("state", "published"),
                    ("startTime", &r.start_time.to_string()),
                    ("endTime", &r.end_time.to_string()),
                    ("participants", "1"),
                ]),
                xml::elements(&[("type", "presentation"), ("url", &url), ("length", "1")]),
            )
        })
        .collect();
    if recordings.is_empty() {
        return xml::success_raw("<recordings></recordings><messageKey>noRecordings</messageKey><message>There are no recordings for the meeting(s).</message>");
    }
    xml::success_raw(&format!("<recordings>{recordings}</recordings>"))
}

/// The page a join redirect leads to: opening it makes the participant present.
pub async fn client_page(State(inner): State<Arc<Inner>>, Path(token): Path<String>) -> Response {
    let session = lock(&inner.meetings).sessions.get(&token).cloned();
    let Some(session) = session else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!DOCTYPE html><title>Unknown session</title><p>Unknown or expired session.</p>"),
        )
            .into_response();
    };
    let name = lock(&inner.meetings).meetings.get(&session.meeting_id).map(|meeting| meeting.name.clone());
    let Some(name) = name.filter(|_| inner.add_attendee(&session.meeting_id, session.attendee.clone())) else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!DOCTYPE html><title>Meeting ended</title><p>This meeting has ended.</p>"),
        )
            .into_response();
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
