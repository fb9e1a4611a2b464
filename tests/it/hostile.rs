//! Hostile input (DESIGN §7), as an attacker would send it to the open endpoints: payloads that
//! once crashed the process or left a rendezvous answering 503 forever.

use bbb_connector::testing::TestDatabase;
use serde_json::{json, Value};

use crate::helpers::TestApp;

const OPEN_CREATE: &str = "/bbb/open/meeting/";

async fn create_anonymously(app: &TestApp, body: &Value) -> (u16, Value) {
    let response = app.post_json(&app.url(OPEN_CREATE), body).await;
    (response.status().as_u16(), response.json().await.expect("JSON answer"))
}

async fn assert_alive(app: &TestApp) {
    let (status, _) = app.get_json(&app.url("/healthz")).await;
    assert_eq!(status, 200, "the service stopped answering");
}

async fn a_key_of_10000_components_is_refused_and_the_service_lives(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let deep_key = vec!["a"; 10_000].join("/");

    for _ in 0..3 {
        let (status, answer) =
            create_anonymously(&app, &json!({"name": "n", "idempotent_id": "1", deep_key.clone(): 1})).await;

        assert_eq!((status, answer["err_class"].as_str()), (400, Some("invalid-payload")), "{answer}");
        assert!(answer["err_desc"].as_str().unwrap().contains("more than 32 components"), "{answer}");
    }
    // Two keys of 16,000 components: once seconds of CPU each, now refused at the 33rd.
    let wide = |prefix: &str| format!("{prefix}/{}", vec!["b"; 16_000].join("/"));
    let (status, _) =
        create_anonymously(&app, &json!({"name": "n", "idempotent_id": "1", wide("x"): 1, wide("y"): 2})).await;
    assert_eq!(status, 400);
    assert_alive(&app).await;
}

async fn a_body_nested_past_the_limit_is_refused_and_its_id_stays_usable(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let deep = format!("metadata/{}", vec!["k"; 31].join("/"));
    let nested = (0..100).fold(json!(1), |inner, _| json!([inner]));

    let (status, answer) = create_anonymously(&app, &json!({"name": "n", "idempotent_id": "deep", deep: nested})).await;
    assert_eq!((status, answer["err_class"].as_str()), (400, Some("invalid-payload")), "{answer}");

    let (status, answer) = create_anonymously(&app, &json!({"name": "RDV", "idempotent_id": "deep"})).await;
    assert_eq!((status, answer["err"].as_i64()), (200, Some(0)), "{answer}");
    let (status, replay) = create_anonymously(&app, &json!({"name": "RDV", "idempotent_id": "deep"})).await;
    assert_eq!((status, &replay["data"]["guid"]), (200, &answer["data"]["guid"]));
}

async fn the_nul_character_is_refused_with_400_on_every_backend(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let bodies = [
        json!({"name": "a\u{0}", "idempotent_id": "1"}),
        json!({"name": "n", "idempotent_id": "\u{0}"}),
        json!({"name": "n", "idempotent_id": "1", "user_full_name": "\u{0}"}),
        json!({"name": "n", "idempotent_id": "1", "create_parameters": {"welcome": "\u{0}"}}),
        json!({"name": "n", "idempotent_id": "1", "metadata": {"a": ["\u{0}"]}}),
        json!({"name": "n", "idempotent_id": "1", "metadata/k\u{0}": 1}),
    ];
    for body in bodies {
        let (status, answer) = create_anonymously(&app, &body).await;

        assert_eq!((status, answer["err_class"].as_str()), (400, Some("invalid-payload")), "{body}: {answer}");
    }
    assert_alive(&app).await;
}

crate::on_both_backends!(
    a_key_of_10000_components_is_refused_and_the_service_lives,
    a_body_nested_past_the_limit_is_refused_and_its_id_stays_usable,
    the_nul_character_is_refused_with_400_on_every_backend,
);
