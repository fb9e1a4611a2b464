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
    let body = json!({"name": "form title", "form_number": "12", "fields": {"x": 1},
        "extra": {"name": "RDV", "idempotent_id": "12", "create_parameters/record": "off"}});

    let request = parse_meeting_request(body).unwrap();

    assert_eq!(request.name, "RDV");
    assert_eq!(request.idempotent_id, "12");
    assert_eq!(request.create_parameters["record"], "false");
}

#[test]
fn a_whole_form_sent_with_extra_equals_the_plain_body() {
    let form = json!({"id": "demo:12", "display_name": "Demande 12", "workflow": {"status": "new"}, "extra": nested()});

    assert_eq!(parse_meeting_request(form).unwrap(), parse_meeting_request(nested()).unwrap());
}

#[test]
fn an_extra_that_is_not_an_object_is_ignored() {
    let body = json!({"name": "n", "idempotent_id": "1", "extra": "nothing"});

    assert_eq!(parse_meeting_request(body).unwrap().name, "n");
}

#[test]
fn flat_keys_inside_extra_are_checked_and_named() {
    let body = json!({"extra": {"name": "n", "idempotent_id": "1", "a/1": 1}});

    assert_eq!(parse_meeting_request(body).unwrap_err().to_string(), "extra: incomplete array before a/1");
}

#[test]
fn numbers_and_texts_are_normalised_the_same_way() {
    for (given, expected) in [
        (json!(90), "90"),
        (json!("90"), "90"),
        (json!(90.0), "90"),
        (json!(-3), "-3"),
        (json!(1.5), "1.5"),
        (json!(true), "true"),
        (json!(false), "false"),
        (json!("ALWAYS_ACCEPT"), "ALWAYS_ACCEPT"),
        (json!(""), ""),
        (json!(" x "), " x "),
    ] {
        let body = json!({"name": "n", "idempotent_id": "1", "create_parameters": {"duration": given}});

        assert_eq!(parse_meeting_request(body).unwrap().create_parameters["duration"], expected, "{given}");
    }
}

#[test]
fn an_integer_idempotent_id_equals_its_text() {
    for given in [json!(10), json!("10"), json!(10.0), json!(" 10 ")] {
        let body = json!({"name": "n", "idempotent_id": given});

        assert_eq!(parse_meeting_request(body).unwrap().idempotent_id, "10", "{given}");
    }
}

#[test]
fn names_are_trimmed_and_empty_display_names_are_absent() {
    let body = json!({"name": 2024, "idempotent_id": "1", "user_full_name": "", "agent_full_name": "  "});

    let request = parse_meeting_request(body).unwrap();

    assert_eq!(request.name, "2024");
    assert_eq!((request.user_full_name, request.agent_full_name), (None, None));
    assert_eq!(parse_meeting_request(json!({"name": " a ", "idempotent_id": "1"})).unwrap().name, "a");
}

#[test]
fn unicode_is_kept_everywhere() {
    let body = json!({"name": "日本語 — ça", "idempotent_id": "ü-1", "user_full_name": "Zoé",
        "create_parameters": {"welcome": "Bienvenue à « tous » 👋"}, "metadata": {"é": "ñ"}});

    let request = parse_meeting_request(body).unwrap();

    assert_eq!(request.name, "日本語 — ça");
    assert_eq!(request.idempotent_id, "ü-1");
    assert_eq!(request.user_full_name.as_deref(), Some("Zoé"));
    assert_eq!(request.create_parameters["welcome"], "Bienvenue à « tous » 👋");
    assert_eq!(request.metadata["é"], "ñ");
}

#[test]
fn lengths_count_characters_not_bytes() {
    let body = json!({"name": "é".repeat(256), "idempotent_id": "1", "agent_full_name": "é".repeat(256)});
    assert!(parse_meeting_request(body).is_ok());

    let body = json!({"name": "n", "idempotent_id": "1", "agent_full_name": "é".repeat(257)});
    assert_eq!(parse_meeting_request(body).unwrap_err().to_string(), "agent_full_name: must be at most 256 characters");
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
            "create_parameters/record: expected a boolean (true/false), got \"yes\"",
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
        (json!({"name": "n", "idempotent_id": "1", "agent_full_name": true}), "agent_full_name: must be a string"),
        (json!({"name": "n"}), "idempotent_id: this field is required"),
        (json!({"name": "n", "idempotent_id": null}), "idempotent_id: this field is required"),
        (json!({"name": "n", "idempotent_id": ""}), "idempotent_id: must not be empty"),
        (json!({"name": "n", "idempotent_id": 1.5}), "idempotent_id: must be a string or an integer"),
        (json!({"name": "n", "idempotent_id": true}), "idempotent_id: must be a string or an integer"),
        (json!({"name": true, "idempotent_id": "1"}), "name: must be a string"),
        (json!({"name": "x".repeat(257), "idempotent_id": "1"}), "name: must be at most 256 characters"),
        (json!({"name": "n", "idempotent_id": "1", "join_user_parameters": "guest"}), "join_user_parameters: must be"),
        (json!({"name": "n", "idempotent_id": "1", "join_agent_parameters": 1}), "join_agent_parameters: must be"),
        (
            json!({"name": "n", "idempotent_id": "1", "join_agent_parameters": {"userdata-x": [1]}}),
            "join_agent_parameters/userdata-x: must be a string",
        ),
        (
            json!({"name": "n", "idempotent_id": "1", "join_user_parameters": {"guest": "maybe"}}),
            "join_user_parameters/guest: expected a boolean (true/false), got \"maybe\"",
        ),
        (
            json!({"name": "n", "idempotent_id": "1", "create_parameters": {"muteOnStart": 2}}),
            "create_parameters/muteOnStart: expected a boolean",
        ),
        (json!({"name": "n", "idempotent_id": "1", "create_parameters": {"": "x"}}), "create_parameters/: "),
        (json!({"name": "n", "idempotent_id": "1", "create_parameters": {"é": "x"}}), "create_parameters/é: "),
        (json!({"name": "n", "idempotent_id": "1", "metadata": [1]}), "metadata: must be an object"),
        (json!({"0/name": "n", "1/idempotent_id": "1"}), "payload: must be a JSON object, not a list"),
        (json!({"a": 1, "a/b": 2}), "payload: key \"a/b\" invalid because key \"a\" has value \"1\""),
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
        let message = parse_meeting_request(body).unwrap_err().to_string();
        assert_eq!(
            message,
            format!("create_parameters/{name}: this parameter is set by the service and cannot be given")
        );
    }
    for field in ["join_user_parameters", "join_agent_parameters"] {
        for name in JOIN_RESERVED {
            let body = json!({"name": "n", "idempotent_id": "1", field: {*name: "x"}});
            assert!(parse_meeting_request(body).unwrap_err().0.contains(&format!("{field}/{name}")));
        }
    }
}

#[test]
fn the_recording_ready_url_is_reserved_in_any_letter_case() {
    let spellings = ["meta_bbb-recording-ready-url", "META_BBB-RECORDING-READY-URL", "Meta_Bbb-Recording-Ready-Url"];
    for name in spellings {
        let nested = json!({"name": "n", "idempotent_id": "1", "create_parameters": {name: "https://evil.example/"}});
        let flat = json!({"name": "n", "idempotent_id": "1", format!("create_parameters/{name}"): "https://evil/"});

        for body in [nested, flat] {
            let message = parse_meeting_request(body.clone()).unwrap_err().0;
            assert!(message.contains("is set by the service"), "{body}: {message}");
        }
    }
    let other = json!({"name": "n", "idempotent_id": "1", "create_parameters": {"meta_bbb-origin": "wcs"}});
    assert!(parse_meeting_request(other).is_ok(), "other metadata stays free");
}

#[test]
fn every_documented_boolean_is_normalised_and_other_parameters_are_not() {
    let create: Map<String, Value> = CREATE_BOOLEANS.iter().map(|name| (name.to_string(), json!("on"))).collect();
    let join: Map<String, Value> = JOIN_BOOLEANS.iter().map(|name| (name.to_string(), json!("0"))).collect();
    let body = json!({"name": "n", "idempotent_id": "1", "create_parameters": create, "join_agent_parameters": join,
        "join_user_parameters": {"userID": "1", "record": "on"}});

    let request = parse_meeting_request(body).unwrap();

    assert!(request.create_parameters.values().all(|value| value == "true"));
    assert_eq!(request.create_parameters.len(), CREATE_BOOLEANS.len());
    assert!(request.join_agent_parameters.values().all(|value| value == "false"));
    assert_eq!(request.join_user_parameters["userID"], "1");
    assert_eq!(request.join_user_parameters["record"], "on", "record is not a join boolean");
}

/// `{"k": {"k": ... value}}`, `levels` objects deep.
fn nested_object(levels: usize, value: Value) -> Value {
    (0..levels).fold(value, |inner, _| json!({ "k": inner }))
}

#[test]
fn the_body_may_nest_32_levels_and_no_more() {
    // The body is level 1 and the metadata object level 2: 31 nested objects reach level 32.
    let at_limit = json!({"name": "n", "idempotent_id": "1", "metadata": nested_object(31, json!(1))});
    assert!(parse_meeting_request(at_limit).is_ok());

    let over = json!({"name": "n", "idempotent_id": "1", "metadata": nested_object(32, json!(1))});
    assert_eq!(parse_meeting_request(over).unwrap_err().0, "payload: nested deeper than 32 levels");
    let list_over = json!({"name": "n", "idempotent_id": "1", "x": nested_object(31, json!([1]))});
    assert!(parse_meeting_request(list_over).is_err());
}

#[test]
fn flat_keys_cannot_nest_deeper_than_the_json_parser_allows() {
    // 32 components under a metadata object 20 levels deep: 53 levels once unflattened,
    // well within the parser's 128 but over the limit, so refused.
    let key = format!("metadata/{}", vec!["k"; 31].join("/"));
    let body = json!({"name": "n", "idempotent_id": "1", key: nested_object(20, json!(1))});
    assert_eq!(parse_meeting_request(body).unwrap_err().0, "payload: nested deeper than 32 levels");

    let deep_key = vec!["a"; 10_000].join("/");
    let error = parse_meeting_request(json!({"name": "n", "idempotent_id": "1", deep_key: 1})).unwrap_err();
    assert!(error.0.contains("has more than 32 components"), "{error}");
}

#[test]
fn the_nul_character_is_refused_in_everything_stored() {
    let base = || json!({"name": "n", "idempotent_id": "1"});
    let with = |field: &str, value: Value| {
        let mut body = base();
        body[field] = value;
        body
    };
    let cases = [
        (with("name", json!("a\u{0}b")), "name: must not contain"),
        (with("idempotent_id", json!("\u{0}")), "idempotent_id: must not contain"),
        (with("user_full_name", json!("x\u{0}")), "user_full_name: must not contain"),
        (with("agent_full_name", json!("\u{0}x")), "agent_full_name: must not contain"),
        (with("create_parameters", json!({"welcome": "hi\u{0}"})), "create_parameters/welcome: must not contain"),
        (with("join_user_parameters", json!({"userdata-x": "\u{0}"})), "join_user_parameters/userdata-x: must not"),
        (with("metadata", json!({"a": {"b": ["ok", "x\u{0}"]}})), "metadata/b: must not contain"),
        (with("metadata", json!({"a": {"b\u{0}": 1}})), "metadata: must not contain"),
    ];
    for (body, message) in cases {
        let error = parse_meeting_request(body.clone()).unwrap_err();

        assert!(error.0.contains(message), "{body}: {error}");
    }
    // A parameter name with U+0000 is not printable ASCII: refused too.
    assert!(parse_meeting_request(with("create_parameters", json!({"a\u{0}": "x"}))).is_err());
    // Unknown fields are not stored: a whole form export may carry anything.
    assert!(parse_meeting_request(with("form_data", json!("x\u{0}"))).is_ok());
}
