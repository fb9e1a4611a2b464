//! The API actions of the simulator, following bbb-web's rules (reference §3–§5).

use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sha1::{Digest, Sha1};

use super::answers::{self, bool_text};
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
        "getRecordings" => get_recordings(inner, &request),
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
        return answers::create(
            existing,
            "duplicateWarning",
            "This conference was already in existence and may currently be in progress.",
        );
    }
    let meeting = new_meeting(inner, meeting_id, name, passwords, params);
    let response = answers::create(&meeting, "", "");
    let deadline = inner.expiry_of(&meeting);
    state.add(meeting, deadline);
    response
}

fn new_meeting(
    inner: &Inner,
    meeting_id: &str,
    name: &str,
    passwords: (Option<&str>, Option<&str>),
    params: &Params,
) -> SimulatedMeeting {
    let create_time = inner.config.clock.now().timestamp_millis();
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
        created_at: inner.config.clock.instant(),
        last_left_at: None,
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
    let url = format!("{}/html5client/join?sessionToken={token}", request.origin);
    let internal_meeting_id = meeting.internal_meeting_id.clone();
    let session = Session {
        meeting_id: meeting_id.to_owned(),
        internal_meeting_id: internal_meeting_id.clone(),
        attendee: attendee.clone(),
    };
    state.sessions.insert(token.clone(), session);
    if param(params, "redirect") == Some("false") {
        return xml::success(&[
            ("messageKey", "successfullyJoined"),
            ("message", "You have joined successfully."),
            ("meeting_id", &internal_meeting_id),
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

fn get_meeting_info(inner: &Inner, params: &Params) -> Response {
    let meeting_id = match meeting_id_of(params) {
        Ok(id) => id,
        Err(failure) => return failure.into_response(),
    };
    match lock(&inner.meetings).meetings.get(meeting_id) {
        Some(meeting) => xml::success_raw(&answers::meeting(meeting)),
        None => xml::failed("notFound", "A meeting with that ID does not exist"),
    }
}

fn get_meetings(inner: &Inner) -> Response {
    let state = lock(&inner.meetings);
    if state.meetings.is_empty() || inner.get_meetings_disabled.load(std::sync::atomic::Ordering::SeqCst) {
        return xml::success_raw(
            "<meetings/><messageKey>noMeetings</messageKey><message>no meetings were found on this server</message>",
        );
    }
    let meetings: String =
        state.meetings.values().map(|m| format!("<meeting>{}</meeting>", answers::meeting(m))).collect();
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

fn get_recordings(inner: &Inner, request: &ApiRequest) -> Response {
    let params = &request.params;
    let list = |name: &str| -> Vec<String> {
        param(params, name).map(|ids| ids.split(',').map(|id| id.trim().to_owned()).collect()).unwrap_or_default()
    };
    // recordID prefixes win; else a meetingID matches every session of the room (§5.5).
    let mut prefixes = list("recordID");
    if prefixes.is_empty() {
        prefixes = list("meetingID").iter().map(|id| hex::encode(Sha1::digest(id.as_bytes()))).collect();
    }
    // Simulated recordings are all published, shown by the default `published,unpublished`.
    let states = list("state");
    let shown = states.is_empty() || states.iter().any(|state| state == "published" || state == "any");
    let state = lock(&inner.meetings);
    let recordings: String = state
        .recordings
        .iter()
        .filter(|r| shown && (prefixes.is_empty() || prefixes.iter().any(|prefix| r.record_id.starts_with(prefix))))
        .map(|r| answers::recording(r, &request.origin))
        .collect();
    if recordings.is_empty() {
        return xml::success_raw("<recordings></recordings><messageKey>noRecordings</messageKey><message>There are no recordings for the meeting(s).</message>");
    }
    xml::success_raw(&format!("<recordings>{recordings}</recordings>"))
}
