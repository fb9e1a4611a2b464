//! The bodies of the simulator's meeting and recording answers: every element bbb-web 2.7
//! writes, in its order and with values of its types (reference §3.4, §5.2, §5.3, §5.5).

use axum::response::Response;

use super::state::{SimulatedMeeting, SimulatedRecording};
use super::{xml, Params};

/// The dial-in number of every simulated meeting (BBB's default `defaultDialAccessNumber`).
const DIAL_NUMBER: &str = "613-555-1234";

pub fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// A number parameter as BBB stores it: 0 when absent (or not a number, which BBB refuses).
fn number_param(params: &Params, name: &str) -> u64 {
    params.get(name).and_then(|value| value.parse().ok()).unwrap_or(0)
}

/// Java's `Date.toString()` in UTC, as bbb-web writes `createDate`: `Mon Jun 10 06:13:20 UTC 2024`.
fn java_date(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|at| at.format("%a %b %d %H:%M:%S UTC %Y").to_string())
        .unwrap_or_default()
}

/// The answer to `create` (§3.4), first or duplicate.
pub fn create(meeting: &SimulatedMeeting, message_key: &str, message: &str) -> Response {
    let create_time = meeting.create_time.to_string();
    let duration = number_param(&meeting.params, "duration").to_string();
    xml::success(&[
        ("meetingID", &meeting.meeting_id),
        ("internalMeetingID", &meeting.internal_meeting_id),
        ("parentMeetingID", "bbb-none"),
        ("attendeePW", &meeting.attendee_pw),
        ("moderatorPW", &meeting.moderator_pw),
        ("createTime", &create_time),
        ("voiceBridge", &meeting.voice_bridge),
        ("dialNumber", meeting.params.get("dialNumber").map_or(DIAL_NUMBER, String::as_str)),
        ("createDate", &java_date(meeting.create_time)),
        ("hasUserJoined", bool_text(meeting.has_user_joined)),
        ("duration", &duration),
        ("hasBeenForciblyEnded", "false"),
        ("messageKey", message_key),
        ("message", message),
    ])
}

/// One meeting as getMeetingInfo answers it and getMeetings lists it (§5.2, §5.3).
pub fn meeting(meeting: &SimulatedMeeting) -> String {
    let params = &meeting.params;
    let flag = |name: &str| params.get(name).is_some_and(|value| value == "true");
    // BBB reports `recording` while the recorder runs: record=true, started automatically.
    let recording = flag("record") && flag("autoStartRecording") && meeting.running();
    let count = |n: usize| n.to_string();
    let moderators = meeting.attendees.iter().filter(|a| a.role == "MODERATOR").count();
    let head = xml::elements(&[
        ("meetingName", &meeting.name),
        ("meetingID", &meeting.meeting_id),
        ("internalMeetingID", &meeting.internal_meeting_id),
        ("createTime", &meeting.create_time.to_string()),
        ("createDate", &java_date(meeting.create_time)),
        ("voiceBridge", &meeting.voice_bridge),
        ("dialNumber", params.get("dialNumber").map_or(DIAL_NUMBER, String::as_str)),
        ("attendeePW", &meeting.attendee_pw),
        ("moderatorPW", &meeting.moderator_pw),
        ("running", bool_text(meeting.running())),
        ("duration", &number_param(params, "duration").to_string()),
        ("hasUserJoined", bool_text(meeting.has_user_joined)),
        ("recording", bool_text(recording)),
        ("hasBeenForciblyEnded", "false"),
        // akka-apps reports the meeting started moments after create; the simulator at once.
        ("startTime", &meeting.create_time.to_string()),
        ("endTime", "0"),
        ("participantCount", &count(meeting.attendees.len())),
        ("listenerCount", "0"),
        ("voiceParticipantCount", "0"),
        ("videoCount", "0"),
        ("maxUsers", &number_param(params, "maxParticipants").to_string()),
        ("moderatorCount", &count(moderators)),
    ]);
    let attendees: String = meeting
        .attendees
        .iter()
        .map(|a| {
            let fields = xml::elements(&[
                ("userID", &a.user_id),
                ("fullName", &a.full_name),
                ("role", &a.role),
                ("isPresenter", "false"),
                ("isListeningOnly", "false"),
                ("hasJoinedVoice", "false"),
                ("hasVideo", "false"),
                ("clientType", "HTML5"),
            ]);
            format!("<attendee>{fields}</attendee>")
        })
        .collect();
    let metadata: String = meeting.metadata.iter().map(|(key, value)| xml::element(key, value)).collect();
    format!("{head}<attendees>{attendees}</attendees><metadata>{metadata}</metadata><isBreakout>false</isBreakout>")
}

/// One published recording as getRecordings lists it (§5.5); `origin` is where browsers reach
/// the simulator (`https://host`, no trailing slash).
pub fn recording(recording: &SimulatedRecording, origin: &str) -> String {
    let minutes = (recording.end_time - recording.start_time).max(0) / 60_000;
    // Plausible sizes: some raw media per participant and minute, a fifth of it once processed.
    let size = 2_000_000 + 500_000 * (minutes + 1) * i64::try_from(recording.participants).unwrap_or(1);
    let head = xml::elements(&[
        ("recordID", &recording.record_id),
        ("meetingID", &recording.meeting_id),
        ("internalMeetingID", &recording.record_id),
        ("name", &recording.name),
        ("isBreakout", "false"),
        ("published", "true"),
        ("state", "published"),
        ("startTime", &recording.start_time.to_string()),
        ("endTime", &recording.end_time.to_string()),
        ("participants", &recording.participants.to_string()),
        ("rawSize", &(size * 5).to_string()),
    ]);
    let own = xml::elements(&[
        ("meetingId", &recording.meeting_id),
        ("meetingName", &recording.name),
        ("isBreakout", "false"),
    ]);
    let metadata: String = recording.metadata.iter().map(|(key, value)| xml::element(key, value)).collect();
    let format = xml::elements(&[
        ("type", "presentation"),
        ("url", &format!("{origin}/playback/presentation/2.3/{}", recording.record_id)),
        ("processingTime", &(30_000 + minutes * 1_500).to_string()),
        ("length", &minutes.to_string()),
        ("size", &size.to_string()),
    ]);
    format!(
        "<recording>{head}<metadata>{own}{metadata}</metadata>{}<playback><format>{format}</format></playback><data/></recording>",
        xml::element("size", &size.to_string())
    )
}
