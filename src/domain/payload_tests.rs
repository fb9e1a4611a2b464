//! Unit tests of the create payload parser.

use serde_json::json;

use super::*;

fn nested() -> Value {
    json!({
        "name": "Réunion 🎥",
        "idempotent_id": "10",
        "create_parameters": {"record": "True", "duration": 90, "welcome": "Bonjour", "meta_origin": "wcs", "logoutURL": null},
        "join_user_parameters": {"guest": "on", "userdata-bbb_skip_check_audio": true},
        "agent_full_name": "Agent",
        "metadata": {"appointment": {"at": "2024-06-10"}},
    })
}

#[test]
fn a_nested_body_is_normalised() {
    let request = parse_meeting_request(nested()).unwrap();

    assert_eq!(request.name, "Réunion 🎥");
    assert_eq!(request.idempotent_id, "10");
    assert_eq!(request.create_parameters["record"], "true");
    assert_eq!(request.create_parameters["duration"], "90");
    assert!(!request.create_parameters.contains_key("logoutURL"));
    assert_eq!(request.join_user_parameters["guest"], "true");
    assert_eq!(request.join_user_parameters["userdata-bbb_skip_check_audio"], "true");
    assert_eq!(request.agent_full_name.as_deref(), Some("Agent"));
    assert_eq!(request.user_full_name, None);
    assert_eq!(request.metadata["appointment"]["at"], "2024-06-10");
}

#[test]
fn a_flat_body_equals_the_nested_one() {
    let flat = json!({
        "name": "Réunion 🎥",
        "idempotent_id": 10,
        "create_parameters/record": true,
        "create_parameters/duration": "90",
        "create_parameters/welcome": "Bonjour",
        "create_parameters/meta_origin": "wcs",
        "join_user_parameters/guest": "1",
        "join_user_parameters/userdata-bbb_skip_check_audio": "true",
        "agent_full_name": "Agent",
        "metadata/appointment/at": "2024-06-10",
    });

    assert_eq!(parse_meeting_request(flat).unwrap(), parse_meeting_request(nested()).unwrap());
}

#[test]
fn extra_members_are_merged_and_win() {
    let body = json!({"name": "form title", "form_number": "12", "extra": {"name": "RDV", "idempotent_id": "12", "create_parameters/record": "off"}});

    let request = parse_meeting_request(body).unwrap();

    assert_eq!(request.name, "RDV");
    assert_eq!(request.create_parameters["record"], "false");
}

#[test]
fn loose_booleans_are_normalised() {
    for (given, expected) in [
        (json!(true), "true"),
        (json!("True"), "true"),
        (json!("on"), "true"),
        (json!(1), "true"),
        (json!("1"), "true"),
        (json!(false), "false"),
        (json!("False"), "false"),
        (json!("off"), "false"),
        (json!(0), "false"),
        (json!(""), "false"),
    ] {
        let body = json!({"name": "n", "idempotent_id": "1", "create_parameters": {"muteOnStart": given}});

        assert_eq!(parse_meeting_request(body).unwrap().create_parameters["muteOnStart"], expected, "{given}");
    }
}

#[test]
fn mistakes_are_refused_with_the_field_named() {
    let cases = [
        (json!("text"), "payload must be a JSON object"),
        (json!({"idempotent_id": "1"}), "name: this field is required"),
        (json!({"name": " ", "idempotent_id": "1"}), "name: must not be empty"),
        (json!({"name": ["a"], "idempotent_id": "1"}), "name: must be a string"),
        (json!({"name": "n", "idempotent_id": "x".repeat(257)}), "idempotent_id: must be at most 256"),
        (json!({"name": "n", "idempotent_id": "1", "create_parameters": [1]}), "create_parameters: must be an object"),
        (
            json!({"name": "n", "idempotent_id": "1", "create_parameters": {"record": "yes"}}),
            "create_parameters/record: expected a boolean",
        ),
        (
            json!({"name": "n", "idempotent_id": "1", "create_parameters": {"welcome": {"a": 1}}}),
            "create_parameters/welcome: must be a string",
        ),
        (
            json!({"name": "n", "idempotent_id": "1", "create_parameters": {"bad name": "x"}}),
            "create_parameters/bad name",
        ),
        (json!({"name": "n", "idempotent_id": "1", "metadata": "x"}), "metadata: must be an object"),
        (json!({"name": "n", "idempotent_id": "1", "a/0": 1, "a/x": 2}), "mix between lists and dicts"),
        (json!({"name": "n", "idempotent_id": "1", "user_full_name": {"a": 1}}), "user_full_name: must be a string"),
    ];
    for (body, message) in cases {
        let error = parse_meeting_request(body.clone()).unwrap_err();

        assert!(error.0.contains(message), "{body}: {error}");
    }
}

#[test]
fn reserved_parameters_are_refused() {
    for name in CREATE_RESERVED {
        let body = json!({"name": "n", "idempotent_id": "1", "create_parameters": {*name: "x"}});
        assert!(parse_meeting_request(body).unwrap_err().0.contains(name));
    }
    for field in ["join_user_parameters", "join_agent_parameters"] {
        for name in JOIN_RESERVED {
            let body = json!({"name": "n", "idempotent_id": "1", field: {*name: "x"}});
            assert!(parse_meeting_request(body).unwrap_err().0.contains(&format!("{field}/{name}")));
        }
    }
}
