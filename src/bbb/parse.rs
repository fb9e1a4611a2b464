//! Typed views of getMeetingInfo / getMeetings / getRecordings answers.

use std::collections::BTreeMap;

use super::model::{Attendee, MeetingInfo, Playback, Recording};
use super::xml::Element;

fn number<T: std::str::FromStr + Default>(element: &Element, name: &str) -> T {
    element.text_of(name).parse().unwrap_or_default()
}

pub fn meeting_info(element: &Element) -> MeetingInfo {
    let attendees = element
        .child("attendees")
        .map(|list| {
            list.children_named("attendee")
                .map(|attendee| Attendee {
                    user_id: attendee.text_of("userID").to_owned(),
                    full_name: attendee.text_of("fullName").to_owned(),
                    role: attendee.text_of("role").to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let metadata: BTreeMap<String, String> = element
        .child("metadata")
        .map(|meta| meta.children.iter().map(|child| (child.name.clone(), child.text.trim().to_owned())).collect())
        .unwrap_or_default();
    MeetingInfo {
        meeting_id: element.text_of("meetingID").to_owned(),
        meeting_name: element.text_of("meetingName").to_owned(),
        internal_meeting_id: element.text_of("internalMeetingID").to_owned(),
        create_time: number(element, "createTime"),
        running: element.text_of("running") == "true",
        has_user_joined: element.text_of("hasUserJoined") == "true",
        participant_count: number(element, "participantCount"),
        moderator_count: number(element, "moderatorCount"),
        attendees,
        metadata,
    }
}

pub fn recording(element: &Element) -> Recording {
    let playback = element
        .child("playback")
        .map(|formats| {
            formats
                .children_named("format")
                .map(|format| Playback {
                    kind: format.text_of("type").to_owned(),
                    url: format.text_of("url").to_owned(),
                    length_minutes: format.text_of("length").parse().ok(),
                })
                .collect()
        })
        .unwrap_or_default();
    Recording {
        record_id: element.text_of("recordID").to_owned(),
        meeting_id: element.text_of("meetingID").to_owned(),
        name: element.text_of("name").to_owned(),
        state: element.text_of("state").to_owned(),
        published: element.text_of("published") == "true",
        start_time: number(element, "startTime"),
        end_time: number(element, "endTime"),
        playback,
    }
}
