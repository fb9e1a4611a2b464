//! The simulator's answers carry every element bbb-web 2.7 writes, in its order and typed as
//! documented: the tables below are those of bbb-api.md §3.4 (create), §5.2 (getMeetingInfo),
//! §5.3 (getMeetings) and §5.5 (getRecordings).

use bbb_connector::bbb::ChecksumAlgorithm;
use bbb_connector::simulator::Simulator;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::{create_request, signed};
use crate::bbb_client::client_for;
use crate::helpers::{spawn_simulator, SHARED_SECRET};

/// What an element holds, as the reference documents it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    /// Plain decimal digits (ms since the epoch, counts, minutes, bytes).
    Number,
    /// `true` or `false`.
    Boolean,
    /// Java's `Date.toString()`, e.g. `Mon Jun 10 06:13:20 UTC 2024`.
    JavaDate,
    /// Child elements only.
    List,
}

use Kind::{Boolean, JavaDate, List, Number, Text};

/// §3.4, create-meeting.ftlx.
const CREATE: &[(&str, Kind)] = &[
    ("returncode", Text),
    ("meetingID", Text),
    ("internalMeetingID", Text),
    ("parentMeetingID", Text),
    ("attendeePW", Text),
    ("moderatorPW", Text),
    ("createTime", Number),
    ("voiceBridge", Number),
    ("dialNumber", Text),
    ("createDate", JavaDate),
    ("hasUserJoined", Boolean),
    ("duration", Number),
    ("hasBeenForciblyEnded", Boolean),
    ("messageKey", Text),
    ("message", Text),
];

/// §5.2, get-meeting-info.ftlx, after `returncode` (a meeting that is not a breakout room);
/// §5.3: each `<meeting>` of getMeetings carries the same.
const MEETING: &[(&str, Kind)] = &[
    ("meetingName", Text),
    ("meetingID", Text),
    ("internalMeetingID", Text),
    ("createTime", Number),
    ("createDate", JavaDate),
    ("voiceBridge", Number),
    ("dialNumber", Text),
    ("attendeePW", Text),
    ("moderatorPW", Text),
    ("running", Boolean),
    ("duration", Number),
    ("hasUserJoined", Boolean),
    ("recording", Boolean),
    ("hasBeenForciblyEnded", Boolean),
    ("startTime", Number),
    ("endTime", Number),
    ("participantCount", Number),
    ("listenerCount", Number),
    ("voiceParticipantCount", Number),
    ("videoCount", Number),
    ("maxUsers", Number),
    ("moderatorCount", Number),
    ("attendees", List),
    ("metadata", List),
    ("isBreakout", Boolean),
];

/// §5.2, `attendees/attendee` (no `userdata-` given, so no `customdata`).
const ATTENDEE: &[(&str, Kind)] = &[
    ("userID", Text),
    ("fullName", Text),
    ("role", Text),
    ("isPresenter", Boolean),
    ("isListeningOnly", Boolean),
    ("hasJoinedVoice", Boolean),
    ("hasVideo", Boolean),
    ("clientType", Text),
];

/// §5.5, `recordings/recording` (Recording.scala order).
const RECORDING: &[(&str, Kind)] = &[
    ("recordID", Text),
    ("meetingID", Text),
    ("internalMeetingID", Text),
    ("name", Text),
    ("isBreakout", Boolean),
    ("published", Boolean),
    ("state", Text),
    ("startTime", Number),
    ("endTime", Number),
    ("participants", Number),
    ("rawSize", Number),
    ("metadata", List),
    ("size", Number),
    ("playback", List),
    ("data", List),
];

/// §5.5, `playback/format` (no `preview`: it appears only for some formats).
const FORMAT: &[(&str, Kind)] =
    &[("type", Text), ("url", Text), ("processingTime", Number), ("length", Number), ("size", Number)];

/// §5.3 and §5.5: the empty answers.
const NO_MEETINGS: &[(&str, Kind)] =
    &[("returncode", Text), ("meetings", List), ("messageKey", Text), ("message", Text)];
const NO_RECORDINGS: &[(&str, Kind)] =
    &[("returncode", Text), ("recordings", List), ("messageKey", Text), ("message", Text)];

/// An XML element: its name, its text, its children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn parse(xml: &str) -> Node {
        let mut reader = Reader::from_str(xml);
        let mut open = vec![Node::default()];
        loop {
            let named = |name: &[u8]| Node { name: String::from_utf8(name.to_vec()).unwrap(), ..Node::default() };
            match reader.read_event().unwrap() {
                Event::Start(start) => open.push(named(start.name().as_ref())),
                Event::Empty(empty) => open.last_mut().unwrap().children.push(named(empty.name().as_ref())),
                Event::Text(text) => open.last_mut().unwrap().text.push_str(&text.unescape().unwrap()),
                Event::End(_) => {
                    let closed = open.pop().unwrap();
                    open.last_mut().unwrap().children.push(closed);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        open.pop().unwrap().children.pop().expect("a root element")
    }

    fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|child| child.name == name)
            .unwrap_or_else(|| panic!("no <{name}> in <{}>", self.name))
    }

    fn text_of(&self, name: &str) -> &str {
        &self.child(name).text
    }

    fn names(&self) -> Vec<&str> {
        self.children.iter().map(|child| child.name.as_str()).collect()
    }
}

/// Every element of the table, in its order, none else, each of its kind.
fn assert_elements(what: &str, node: &Node, table: &[(&str, Kind)]) {
    let expected: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
    assert_eq!(node.names(), expected, "{what}: bbb-web's elements in bbb-web's order");
    for (child, (name, kind)) in node.children.iter().zip(table) {
        let text = child.text.as_str();
        let typed = match kind {
            Text => true,
            Number => text.parse::<u64>().is_ok(),
            Boolean => text == "true" || text == "false",
            JavaDate => chrono::NaiveDateTime::parse_from_str(text, "%a %b %d %H:%M:%S UTC %Y").is_ok(),
            List => text.trim().is_empty(),
        };
        assert!(typed, "{what}: <{name}> should be {kind:?}, is {text:?}");
    }
}

async fn call(simulator: &Simulator, action: &str, params: &[(&str, &str)]) -> Node {
    let body = reqwest::get(signed(simulator, action, params)).await.unwrap().text().await.unwrap();
    Node::parse(&body)
}

#[tokio::test]
async fn empty_lists_say_so_with_their_message_key() {
    let simulator = spawn_simulator().await;

    let meetings = call(&simulator, "getMeetings", &[]).await;
    let recordings = call(&simulator, "getRecordings", &[("meetingID", "none")]).await;

    assert_elements("getMeetings", &meetings, NO_MEETINGS);
    assert_eq!(meetings.text_of("messageKey"), "noMeetings");
    assert_elements("getRecordings", &recordings, NO_RECORDINGS);
    assert_eq!(recordings.text_of("messageKey"), "noRecordings");
}

#[tokio::test]
async fn create_answers_every_element_of_bbb_web() {
    let simulator = spawn_simulator().await;
    let params = [("meetingID", "answers"), ("name", "Answers"), ("attendeePW", "ap"), ("moderatorPW", "mp")];

    let first = call(&simulator, "create", &params).await;
    let again = call(&simulator, "create", &params).await;

    assert_elements("create", &first, CREATE);
    assert_elements("create again", &again, CREATE);
    assert_eq!(again.text_of("messageKey"), "duplicateWarning");
    let (create_time, internal) = (first.text_of("createTime"), first.text_of("internalMeetingID"));
    assert!(internal.ends_with(&format!("-{create_time}")), "{internal} is sha1(meetingID)-createTime");
}

#[tokio::test]
async fn meeting_info_and_the_meeting_list_answer_every_element_of_bbb_web() {
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    let meta = [("meta_origin", "tests"), ("record", "true"), ("autoStartRecording", "true"), ("maxParticipants", "7")];
    client.create(&create_request("info", "attendee-pw", &meta)).await.unwrap();
    simulator.mark_present("info", "Agent", "MODERATOR");
    simulator.mark_present("info", "Camille", "VIEWER");

    let info = call(&simulator, "getMeetingInfo", &[("meetingID", "info")]).await;
    let listed = call(&simulator, "getMeetings", &[]).await;

    let mut expected = vec![("returncode", Text)];
    expected.extend_from_slice(MEETING);
    assert_elements("getMeetingInfo", &info, &expected);
    let attendees = &info.child("attendees").children;
    assert_eq!(attendees.len(), 2);
    for attendee in attendees {
        assert_elements("getMeetingInfo attendee", attendee, ATTENDEE);
    }
    assert_eq!(info.child("metadata").names(), ["origin"]);
    let values = ["running", "recording", "participantCount", "moderatorCount", "maxUsers", "endTime"]
        .map(|name| info.text_of(name).to_owned());
    assert_eq!(values, ["true", "true", "2", "1", "7", "0"]);
    assert!(info.text_of("startTime").parse::<u64>().unwrap() >= info.text_of("createTime").parse().unwrap());
    assert_elements("getMeetings", &listed, &[("returncode", Text), ("meetings", List)]);
    let meetings = &listed.child("meetings").children;
    assert_eq!(meetings.len(), 1);
    assert_elements("getMeetings meeting", &meetings[0], MEETING);
}

#[tokio::test]
async fn recordings_answer_every_element_of_bbb_web() {
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    client
        .create(&create_request("recorded", "attendee-pw", &[("record", "true"), ("meta_origin", "tests")]))
        .await
        .unwrap();
    simulator.mark_present("recorded", "Agent", "MODERATOR");
    client.end("recorded").await.unwrap();

    let answer = call(&simulator, "getRecordings", &[("meetingID", "recorded")]).await;

    assert_elements("getRecordings", &answer, &[("returncode", Text), ("recordings", List)]);
    let recordings = &answer.child("recordings").children;
    assert_eq!(recordings.len(), 1);
    let recording = &recordings[0];
    assert_elements("recording", recording, RECORDING);
    assert_eq!(recording.child("metadata").names(), ["meetingId", "meetingName", "isBreakout", "origin"]);
    let formats = &recording.child("playback").children;
    assert_eq!(formats.len(), 1);
    assert_elements("playback format", &formats[0], FORMAT);
    let url = formats[0].text_of("url");
    assert!(url.ends_with(&format!("/playback/presentation/2.3/{}", recording.text_of("recordID"))), "{url}");
    assert_eq!(recording.text_of("state"), "published");
}
