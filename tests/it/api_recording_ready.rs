//! The recording-ready callback (`POST /bbb/{slug}/callback/recording-ready/`) through the real
//! service: what every create asks of BBB, the JWT check, what recordings/ then shows.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bbb_connector::testing::TestDatabase;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use crate::helpers::{TestApp, OPS_KEY, SHARED_SECRET};

const FORM: &str = "application/x-www-form-urlencoded";

fn token_with(algorithm: Algorithm, claims: &Value, secret: &str) -> String {
    encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn token(meeting_id: &str, record_id: &str) -> String {
    token_with(Algorithm::HS256, &json!({"meeting_id": meeting_id, "record_id": record_id}), SHARED_SECRET)
}

async fn post_form(app: &TestApp, slug: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(&format!("/bbb/{slug}/callback/recording-ready/")))
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

/// What bbb-web's post-publish script sends.
async fn notify(app: &TestApp, slug: &str, signed_parameters: &str) -> (u16, Value) {
    let body: String =
        form_urlencoded::Serializer::new(String::new()).append_pair("signed_parameters", signed_parameters).finish();
    post_form(app, slug, FORM, body).await
}

async fn recordings(app: &TestApp, guid: &str) -> Value {
    let (status, answer) =
        app.get_json(&app.url(&format!("/bbb/visio/meeting/{guid}/recordings/?apikey={OPS_KEY}"))).await;
    assert_eq!(status, 200, "{answer}");
    answer["data"].clone()
}

/// A rendezvous whose recorded meeting ran and ended: BBB lists one recording. Its guid and
/// record id.
async fn recorded_rendezvous(app: &TestApp) -> (String, String) {
    let meeting =
        app.create(&json!({"name": "RDV", "idempotent_id": "rec", "create_parameters": {"record": true}})).await;
    let guid = meeting["guid"].as_str().unwrap().to_owned();
    app.simulator.mark_present(&guid, "Agent", "MODERATOR");
    let ended = app.http.post(app.url(&format!("/bbb/visio/meeting/{guid}/end/?apikey={OPS_KEY}"))).send().await;
    assert_eq!(ended.unwrap().status(), 200);
    let listed = recordings(app, &guid).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "BBB lists the recording: {listed}");
    let record_id = listed[0]["id"].as_str().unwrap().to_owned();
    (guid, record_id)
}

async fn every_create_asks_bbb_for_the_recording_ready_callback(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    app.create(&json!({"name": "RDV", "idempotent_id": "1"})).await;
    let reserved = json!({"name": "RDV", "idempotent_id": "2",
        "create_parameters": {"META_BBB-Recording-Ready-URL": "https://attacker.example/"}});
    let refused = app.post_json(&app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}")), &reserved).await;

    let create = app.simulator.calls().into_iter().find(|call| call.action == "create").expect("a create call");
    let expected = app.url("/bbb/visio/callback/recording-ready/");
    assert_eq!(create.param("meta_bbb-recording-ready-url"), Some(expected.as_str()));
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json::<Value>().await.unwrap()["err_class"], "invalid-payload");
    assert_eq!(app.simulator.call_count("create"), 1, "the refused create never reached BBB");
}

/// The recordings once BBB's own notification of the first one arrived (polled, up to 10 s).
async fn recordings_once_notified(app: &TestApp, guid: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let listed = recordings(app, guid).await;
        if listed[0]["ready_notified_at"].is_string() || started.elapsed() > std::time::Duration::from_secs(10) {
            return listed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn a_valid_notification_is_kept_and_recordings_show_it(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let (guid, record_id) = recorded_rendezvous(&app).await;

    // BBB (the simulator) announces the recording of a recorded meeting that ended, signed with
    // the shared secret: the service keeps it.
    let first = recordings_once_notified(&app, &guid).await;
    let (repeat_status, repeat) = notify(&app, "visio", &token(&guid, &record_id)).await;
    let (other_status, _) = notify(&app, "visio", &token(&guid, "no-longer-listed-1718000000000")).await;
    let listed = recordings(&app, &guid).await;

    assert!(first[0]["ready_notified_at"].is_string(), "{first}");
    assert_eq!(first[0]["state"], "published");
    assert_eq!((repeat_status, repeat), (200, json!({"err": 0, "data": null})));
    assert_eq!(other_status, 200);
    assert_eq!(listed[0]["ready_notified_at"], first[0]["ready_notified_at"], "a repeat keeps the first time");
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(listed[1]["id"], "no-longer-listed-1718000000000");
    assert_eq!(listed[1]["state"], Value::Null);
    assert!(listed[1]["ready_notified_at"].is_string(), "{listed}");
}

async fn bad_tokens_are_refused_and_nothing_is_kept(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "1"})).await;
    let guid = meeting["guid"].as_str().unwrap();
    let claims = json!({"meeting_id": guid, "record_id": "rec-1"});
    let valid = token(guid, "rec-1");
    let [header, _, signature]: [&str; 3] = valid.split('.').collect::<Vec<_>>().try_into().unwrap();
    let other_claims = json!({"meeting_id": guid, "record_id": "rec-2"});
    let tampered = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(other_claims.to_string()));
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let rs256_header = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256"}).to_string());
    let confused = format!("{rs256_header}.{}", valid.split_once('.').unwrap().1);
    let expired = json!({"meeting_id": guid, "record_id": "rec-1", "exp": chrono::Utc::now().timestamp() - 3600});
    let cases = [
        (token_with(Algorithm::HS256, &claims, "another-bbb-secret"), "foreign secret"),
        (tampered, "tampered"),
        (token_with(Algorithm::HS512, &expired, SHARED_SECRET), "expired"),
        (unsigned, "alg none"),
        (confused, "RS256 header on an HMAC signature"),
        ("garbage".to_owned(), "garbage"),
        (String::new(), "empty"),
    ];

    for (forged, case) in cases {
        let (status, answer) = notify(&app, "visio", &forged).await;

        assert_eq!((status, answer["err_class"].as_str()), (403, Some("access-denied")), "{case}: {answer}");
    }
    for _ in 0..80 {
        let (status, _) = notify(&app, "visio", "forged").await;
        assert_eq!(status, 403, "callbacks are not rate limited");
    }
    assert_eq!(recordings(&app, guid).await, json!([]), "nothing kept");
}

async fn an_unknown_or_another_connectors_meeting_is_not_found(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "1"})).await;
    let guid = meeting["guid"].as_str().unwrap();

    let unknown = notify(&app, "visio", &token(&uuid::Uuid::new_v4().simple().to_string(), "rec-1")).await;
    let not_a_guid = notify(&app, "visio", &token("room-1", "rec-1")).await;
    let other_connector = notify(&app, "open", &token(guid, "rec-1")).await;
    let no_connector = notify(&app, "nope", &token(guid, "rec-1")).await;

    for (status, answer) in [unknown, not_a_guid, other_connector, no_connector] {
        assert_eq!((status, answer["err_class"].as_str()), (404, Some("not-found")), "{answer}");
    }
    assert_eq!(recordings(&app, guid).await, json!([]), "nothing kept");
}

async fn a_body_that_is_not_the_form_is_invalid(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "1"})).await;
    let valid = token(meeting["guid"].as_str().unwrap(), "rec-1");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (FORM, b"".to_vec(), "empty"),
        (FORM, b"other=1".to_vec(), "no signed_parameters"),
        (FORM, format!("signed_parameters={valid}&signed_parameters={valid}").into_bytes(), "repeated"),
        (FORM, b"signed_parameters=\xff\xfe".to_vec(), "not UTF-8"),
        ("application/json", json!({"signed_parameters": valid}).to_string().into_bytes(), "JSON"),
        ("text/plain", format!("signed_parameters={valid}").into_bytes(), "text"),
    ];

    for (content_type, body, case) in cases {
        let (status, answer) = post_form(&app, "visio", content_type, body).await;

        assert_eq!((status, answer["err_class"].as_str()), (400, Some("invalid-payload")), "{case}: {answer}");
    }
    let (status, _) = post_form(
        &app,
        "visio",
        "application/x-www-form-urlencoded; charset=UTF-8",
        format!("x=1&signed_parameters={valid}"),
    )
    .await;
    assert_eq!(status, 200, "a form with other fields and a charset passes");
}

crate::on_both_backends!(
    every_create_asks_bbb_for_the_recording_ready_callback,
    a_valid_notification_is_kept_and_recordings_show_it,
    bad_tokens_are_refused_and_nothing_is_kept,
    an_unknown_or_another_connectors_meeting_is_not_found,
    a_body_that_is_not_the_form_is_invalid,
);
