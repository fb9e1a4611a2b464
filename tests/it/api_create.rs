//! `POST /bbb/{slug}/meeting/` and `GET .../{guid}/`: the meeting object, idempotency, payload
//! refusals and BBB outages.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use serde_json::{json, Value};

use crate::helpers::{TestApp, OPS_KEY};

fn wcs_body() -> Value {
    json!({
        "name": "RDV état civil",
        "idempotent_id": "10",
        "create_parameters": {"record": "True", "duration": 90, "welcome": "Bonjour & bienvenue", "meta_origin": "wcs"},
        "join_user_parameters": {"userdata-bbb_skip_check_audio": true},
        "join_agent_parameters": {},
        "user_full_name": "Zoé Usager",
        "agent_full_name": "Agent d'accueil",
        "metadata": {"appointment": {"at": "2024-06-10T10:00:00Z", "label": "Mairie"}},
    })
}

async fn a_signed_nested_create_as_wcs_sends_it_answers_the_meeting_object(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let response = app.post_as_wcs("/bbb/visio/meeting/", &wcs_body()).await;

    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["err"], 0, "{answer}");
    let data = &answer["data"];
    let guid = data["guid"].as_str().unwrap();
    assert_eq!(guid.len(), 32);
    let url = format!("{}/bbb/visio/meeting/{guid}/", app.base);
    assert_eq!(data["url"], url);
    assert_eq!(data["is_running_url"], format!("{url}is-running/"));
    for (field, prefix) in [
        ("join_agent_url", "join/agent/"),
        ("join_user_url", "join/user/"),
        ("agent_page_url", "page/agent/"),
        ("user_page_url", "page/user/"),
    ] {
        let link = data[field].as_str().unwrap();
        assert!(link.starts_with(&format!("{url}{prefix}")) && link.ends_with('/'), "{field}: {link}");
    }
    assert_ne!(
        data["join_agent_url"].as_str().unwrap().rsplit('/').nth(1),
        data["join_user_url"].as_str().unwrap().rsplit('/').nth(1)
    );
    assert_eq!(data["idempotent_id"], "10");
    assert_eq!(data["name"], "RDV état civil");
    assert_eq!(data["running"], false);
    assert_eq!(data["last_time_running"], Value::Null);
    assert_eq!(data["metadata"], wcs_body()["metadata"]);
    let info = &data["bbb_meeting_info"];
    assert!(info["create_time"].is_i64(), "{info}");
    assert_eq!(info["meeting_id"], guid);
    assert!(info.get("attendee_pw").is_none() && info.get("moderator_pw").is_none(), "{info}");
    let creates: Vec<_> = app.simulator.calls().into_iter().filter(|call| call.action == "create").collect();
    assert_eq!(creates.len(), 1);
    let params = &creates[0].params;
    let param = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    assert!(creates[0].checksum_valid);
    assert_eq!(param("meetingID"), Some(guid));
    assert_eq!(param("record"), Some("true"));
    assert_eq!(param("duration"), Some("90"));
    assert_eq!(param("welcome"), Some("Bonjour & bienvenue"));
    assert!(param("meetingEndedURL").is_some_and(|url| url.contains(&format!("/meeting/{guid}/callback/end/"))));
}

async fn a_flat_key_replay_of_a_nested_create_is_the_same_request(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let nested = app.create(&wcs_body()).await;
    let flat = json!({
        "name": "RDV état civil",
        "idempotent_id": 10,
        "create_parameters/record": true,
        "create_parameters/duration": "90",
        "create_parameters/welcome": "Bonjour & bienvenue",
        "create_parameters/meta_origin": "wcs",
        "join_user_parameters/userdata-bbb_skip_check_audio": "true",
        "user_full_name": "Zoé Usager",
        "agent_full_name": "Agent d'accueil",
        "metadata/appointment/at": "2024-06-10T10:00:00Z",
        "metadata/appointment/label": "Mairie",
    });

    let replay = app.create(&flat).await;

    assert_eq!(replay["guid"], nested["guid"]);
    assert_eq!(replay["join_user_url"], nested["join_user_url"]);
}

async fn a_replay_returns_the_same_rendezvous_without_calling_bbb(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let first = app.create(&wcs_body()).await;
    let second = app.create(&wcs_body()).await;
    let third = app.post_as_wcs("/bbb/visio/meeting", &wcs_body()).await.json::<Value>().await.unwrap();

    assert_eq!(first, second);
    assert_eq!(third["data"], first);
    assert_eq!(app.simulator.call_count("create"), 1);
}

async fn fifty_concurrent_identical_creates_make_one_rendezvous(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let guids = concurrent_creates(&[&app], 50).await;

    assert_eq!(guids.len(), 1, "{guids:?}");
}

async fn two_instances_on_one_database_make_one_rendezvous(db: &TestDatabase) {
    let first = TestApp::spawn(db).await;
    let second = TestApp::spawn_on(db, first.simulator.clone()).await;

    let guids = concurrent_creates(&[&first, &second], 50).await;

    assert_eq!(guids.len(), 1, "{guids:?}");
}

async fn concurrent_creates(apps: &[&TestApp], count: usize) -> HashSet<String> {
    let requests = (0..count).map(|i| {
        let app = apps[i % apps.len()];
        async move {
            app.create(&json!({"name": "Race", "idempotent_id": "race"})).await["guid"].as_str().unwrap().to_owned()
        }
    });
    futures::future::join_all(requests).await.into_iter().collect()
}

async fn a_different_parameter_under_the_same_idempotent_id_is_a_conflict(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.create(&wcs_body()).await;
    let mut changed = wcs_body();
    changed["create_parameters"]["duration"] = json!(60);

    let response = app.post_json(&app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}")), &changed).await;

    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["err"], 1);
    assert_eq!(answer["err_class"], "idempotency-conflict");
    assert!(answer["err_desc"].as_str().unwrap().contains("idempotent_id"));
}

async fn the_same_idempotent_id_on_two_connectors_makes_two_rendezvous(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let visio = app.create(&wcs_body()).await;
    let open = app.post_json(&app.url("/bbb/open/meeting/"), &wcs_body()).await.json::<Value>().await.unwrap();

    assert_eq!(open["err"], 0, "{open}");
    assert_ne!(open["data"]["guid"], visio["guid"]);
}

async fn get_answers_the_meeting_object_of_the_create(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let created = app.create(&wcs_body()).await;
    let guid = created["guid"].as_str().unwrap();
    let hyphenated = format!("{}-{}-{}-{}-{}", &guid[..8], &guid[8..12], &guid[12..16], &guid[16..20], &guid[20..]);

    let (status, signed) = app.get_json(&app.signed(&format!("/bbb/visio/meeting/{guid}/"), "")).await;
    let (_, by_key) = app.get_json(&app.url(&format!("/bbb/visio/meeting/{hyphenated}?apikey={OPS_KEY}"))).await;

    assert_eq!(status, 200);
    assert_eq!(signed["data"], created);
    assert_eq!(by_key["data"], created);
}

async fn payload_mistakes_are_refused_with_a_useful_message(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let url = app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}"));
    let cases = [
        (json!([1, 2]), "object"),
        (json!({"idempotent_id": "1"}), "name"),
        (json!({"name": "", "idempotent_id": "1"}), "name"),
        (json!({"name": "x", "idempotent_id": ""}), "idempotent_id"),
        (json!({"name": "x", "idempotent_id": "1", "create_parameters": "record"}), "create_parameters"),
        (json!({"name": "x", "idempotent_id": "1", "create_parameters": {"meetingID": "mine"}}), "meetingID"),
        (json!({"name": "x", "idempotent_id": "1", "create_parameters": {"moderatorPW": "pw"}}), "moderatorPW"),
        (
            json!({"name": "x", "idempotent_id": "1", "create_parameters": {"record": {"a": 1}}}),
            "create_parameters/record",
        ),
        (json!({"name": "x", "idempotent_id": "1", "create_parameters": {"record": "maybe"}}), "record"),
        (json!({"name": "x", "idempotent_id": "1", "join_user_parameters": {"role": "MODERATOR"}}), "role"),
        (json!({"name": "x", "idempotent_id": "1", "join_agent_parameters": {"fullName": "x"}}), "fullName"),
        (json!({"name": "x", "idempotent_id": "1", "join_user_parameters": {"password": "x"}}), "password"),
        (json!({"name": "x", "idempotent_id": "1", "metadata": [1]}), "metadata"),
        (json!({"name": "x", "idempotent_id": "1", "foo/1": "a"}), "incomplete"),
        (json!({"name": "x", "idempotent_id": "1", "foo/0": "a", "foo/bar": "b"}), "mix"),
    ];

    for (body, expected) in cases {
        let response = app.post_json(&url, &body).await;

        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["err_class"], "invalid-payload", "{body}");
        assert!(answer["err_desc"].as_str().unwrap().contains(expected), "{body}: {answer}");
    }
}

async fn bodies_that_are_not_json_are_refused_in_the_envelope(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let url = app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}"));
    let cases: [(&str, &str, &[u8]); 4] = [
        ("application/json", "not json", b"{\"name\": "),
        ("application/json", "invalid utf-8", b"{\"name\": \"\xff\xfe\"}"),
        ("text/plain", "wrong content type", b"{}"),
        ("application/json", "empty body", b""),
    ];

    for (content_type, case, body) in cases {
        let response =
            app.http.post(&url).header("content-type", content_type).body(body.to_vec()).send().await.unwrap();

        assert_eq!(response.status(), 400, "{case}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["err_class"], "invalid-payload", "{case}");
    }
}

async fn a_body_over_64_kib_is_refused_with_413(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let body = json!({"name": "x", "idempotent_id": "1", "metadata": {"blob": "a".repeat(100 * 1024)}});

    let response = app.post_json(&app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}")), &body).await;

    assert_eq!(response.status(), 413);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["err_class"], "payload-too-large");
}

async fn unknown_things_are_404_in_the_envelope(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let guid = "6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6f";
    let urls = [
        format!("/bbb/nowhere/meeting/{guid}/?apikey={OPS_KEY}"),
        format!("/bbb/visio/meeting/{guid}/?apikey={OPS_KEY}"),
        format!("/bbb/visio/meeting/not-a-guid/?apikey={OPS_KEY}"),
        "/bbb/visio/nothing/".to_owned(),
        "/../../etc/passwd".to_owned(),
        "/bbb/visio/meeting/%00/".to_owned(),
    ];

    for url in urls {
        let (status, answer) = app.get_json(&app.url(&url)).await;

        assert_eq!(status, 404, "{url}");
        assert_eq!(answer["err_class"], "not-found", "{url}");
    }
}

async fn a_wrong_method_is_405_in_the_envelope(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let response = app.http.delete(app.url("/bbb/visio/meeting/")).send().await.unwrap();

    assert_eq!(response.status(), 405);
    assert_eq!(response.json::<Value>().await.unwrap()["err"], 1);
}

async fn bbb_outages_answer_502_or_504_in_time_and_keep_the_rendezvous(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let url = app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}"));
    let cases =
        [(Fault::Down, 502), (Fault::Garbage, 502), (Fault::Html500, 502), (Fault::Slow(Duration::from_secs(3)), 504)];

    for (index, (fault, expected)) in cases.into_iter().enumerate() {
        let body = json!({"name": "Outage", "idempotent_id": format!("outage-{index}")});
        app.simulator.set_fault(Some(fault.clone()));
        let started = Instant::now();

        let response = app.post_json(&url, &body).await;

        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, expected, "{fault:?}: {answer}");
        assert_eq!(answer["err_class"], "bbb-unavailable", "{fault:?}");
        assert!(elapsed < Duration::from_secs(2), "{fault:?} took {elapsed:?}, timeout is 1 s");
        app.simulator.set_fault(None);
        let retried = app.create(&body).await;
        assert!(retried["bbb_meeting_info"].is_object(), "the retry creates the BBB meeting: {retried}");
    }
}

async fn a_bbb_failed_answer_is_a_200_bbb_error(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let body = json!({"name": "x", "idempotent_id": "short-name"});

    let response = app.post_json(&app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}")), &body).await;

    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["err"], 1);
    assert_eq!(answer["err_class"], "bbb-error");
    assert_eq!(answer["data"]["message_key"], "validationError", "{answer}");
}

crate::on_both_backends!(
    a_signed_nested_create_as_wcs_sends_it_answers_the_meeting_object,
    a_flat_key_replay_of_a_nested_create_is_the_same_request,
    a_replay_returns_the_same_rendezvous_without_calling_bbb,
    fifty_concurrent_identical_creates_make_one_rendezvous,
    two_instances_on_one_database_make_one_rendezvous,
    a_different_parameter_under_the_same_idempotent_id_is_a_conflict,
    the_same_idempotent_id_on_two_connectors_makes_two_rendezvous,
    get_answers_the_meeting_object_of_the_create,
    payload_mistakes_are_refused_with_a_useful_message,
    bodies_that_are_not_json_are_refused_in_the_envelope,
    a_body_over_64_kib_is_refused_with_413,
    unknown_things_are_404_in_the_envelope,
    a_wrong_method_is_405_in_the_envelope,
    bbb_outages_answer_502_or_504_in_time_and_keep_the_rendezvous,
    a_bbb_failed_answer_is_a_200_bbb_error,
);
