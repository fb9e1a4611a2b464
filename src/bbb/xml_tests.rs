//! Unit tests of the XML reading: sample answers of the reference and garbage.

use serde_json::json;

use super::*;

pub const CREATE_SUCCESS: &str = r#"<response>
  <returncode>SUCCESS</returncode>
  <meetingID>0f4c6a2e9b8d4c1a8e7f6d5c4b3a2910</meetingID>
  <internalMeetingID>fc7056e017627c689d3219bb1c7e8144ab733f07-1718000000000</internalMeetingID>
  <parentMeetingID>bbb-none</parentMeetingID>
  <attendeePW>k8sA2mPq</attendeePW>
  <moderatorPW>Zr41bWnt</moderatorPW>
  <createTime>1718000000000</createTime>
  <voiceBridge>71542</voiceBridge>
  <dialNumber>613-555-1234</dialNumber>
  <createDate>Mon Jun 10 06:13:20 UTC 2024</createDate>
  <hasUserJoined>false</hasUserJoined>
  <duration>0</duration>
  <hasBeenForciblyEnded>false</hasBeenForciblyEnded>
  <messageKey></messageKey>
  <message></message>
</response>"#;

#[test]
fn a_create_answer_becomes_snake_case_typed_json_without_passwords() {
    let root = parse(CREATE_SUCCESS).unwrap();

    let info = to_json(&root, &["returncode", "attendeePW", "moderatorPW", "messageKey", "message"]);

    assert_eq!(
        serde_json::Value::Object(info),
        json!({
            "meeting_id": "0f4c6a2e9b8d4c1a8e7f6d5c4b3a2910",
            "internal_meeting_id": "fc7056e017627c689d3219bb1c7e8144ab733f07-1718000000000",
            "parent_meeting_id": "bbb-none",
            "create_time": 1718000000000_i64,
            "voice_bridge": "71542",
            "dial_number": "613-555-1234",
            "create_date": "Mon Jun 10 06:13:20 UTC 2024",
            "has_user_joined": false,
            "duration": 0,
            "has_been_forcibly_ended": false,
        })
    );
}

#[test]
fn both_failure_shapes_give_key_and_message() {
    let single = parse("<response><returncode>FAILED</returncode><messageKey>notFound</messageKey><message>A meeting with that ID does not exist</message></response>").unwrap();
    let list = parse("<response><returncode>FAILED</returncode><errors><error><key>nonUniqueVoiceBridge</key><message>in use</message></error></errors></response>").unwrap();
    let attributes = parse("<response><returncode>FAILED</returncode><errors><error key=\"checksumError\" message=\"Checksums do not match\"/></errors></response>").unwrap();

    assert_eq!(failure(&single), ("notFound".to_owned(), "A meeting with that ID does not exist".to_owned()));
    assert_eq!(failure(&list), ("nonUniqueVoiceBridge".to_owned(), "in use".to_owned()));
    assert_eq!(failure(&attributes), ("checksumError".to_owned(), "Checksums do not match".to_owned()));
}

#[test]
fn names_become_snake_case() {
    for (name, expected) in [
        ("createTime", "create_time"),
        ("internalMeetingID", "internal_meeting_id"),
        ("logoutURL", "logout_url"),
        ("hasUserJoined", "has_user_joined"),
        ("meetingID", "meeting_id"),
        ("bbbVersion", "bbb_version"),
        ("version", "version"),
    ] {
        assert_eq!(snake_case(name), expected);
    }
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let cases = [
        ("", "empty answer"),
        ("   ", "empty answer"),
        ("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML page"),
        ("<html><head></head></html>", "HTML page"),
        ("<response><returncode>SUCCESS</returncode>", "truncated"),
        ("<response><returncode>SUCC", "not BBB XML"),
        ("{\"response\": {}}", "not BBB XML"),
        ("<other/>", "not BBB XML"),
        ("<response></response><response></response>", "not BBB XML"),
        ("\u{0}\u{1}\u{fffd}binary", "not BBB XML"),
    ];
    for (body, expected) in cases {
        let error = parse(body).unwrap_err();
        assert!(error.contains(expected), "{body:?}: {error}");
    }
    let deep = format!("<response>{}{}</response>", "<a>".repeat(100), "</a>".repeat(100));
    assert!(parse(&deep).is_err());
}
