//! Access control of the protected endpoints: each accepted scheme, and every refusal a 403
//! `access-denied` in the envelope.

use base64::Engine;
use bbb_connector::http::signature::sign_query;
use bbb_connector::testing::TestDatabase;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{TestApp, OPS_KEY, OUTSIDER_KEY, PORTAL_PASSWORD, PORTAL_USER, WCS_KEY, WCS_ORIG};

fn body() -> Value {
    json!({"name": "Access", "idempotent_id": "access"})
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

async fn status_and_class(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    (status, answer["err_class"].clone())
}

async fn every_accepted_scheme_is_let_in(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let path = "/bbb/visio/meeting/";

    let signed = app.post_as_wcs(path, &body()).await;
    let by_key = app.post_json(&app.url(&format!("{path}?apikey={OPS_KEY}")), &body()).await;
    let by_basic = app
        .http
        .post(app.url(path))
        .header("authorization", basic(PORTAL_USER, PORTAL_PASSWORD))
        .json(&body())
        .send()
        .await
        .unwrap();
    let anonymous_on_open = app.post_json(&app.url("/bbb/open/meeting/"), &body()).await;

    for response in [signed, by_key, by_basic, anonymous_on_open] {
        let url = response.url().path().to_owned();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["err"], 0, "{url}: {answer}");
    }
}

async fn every_refusal_is_a_403_access_denied(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let path = "/bbb/visio/meeting/";
    let now = Utc::now();
    let sign =
        |query: &str, key: &str, at| format!("{}{path}?{}", app.base, sign_query(query, key, "sha256", at, "n-1"));
    let replayed = app.signed(path, "");
    let first_use = app.post_json(&replayed, &body()).await;
    assert_eq!(first_use.status(), 200);
    let valid = app.signed(path, "");
    let cases = [
        ("no credentials", app.url(path)),
        ("bad signature", sign(&format!("orig={WCS_ORIG}"), "wrong-key", now)),
        ("stale timestamp", sign(&format!("orig={WCS_ORIG}"), WCS_KEY, now - Duration::seconds(120))),
        ("future timestamp", sign(&format!("orig={WCS_ORIG}"), WCS_KEY, now + Duration::seconds(120))),
        ("unknown orig", sign("orig=unknown.example.net", WCS_KEY, now)),
        ("replayed nonce", replayed),
        ("parameter after signature", format!("{valid}&apikey={OPS_KEY}")),
        ("wrong apikey", app.url(&format!("{path}?apikey=not-the-key"))),
        ("api user not in access", app.url(&format!("{path}?apikey={OUTSIDER_KEY}"))),
    ];

    for (case, url) in cases {
        let (status, class) = status_and_class(app.post_json(&url, &body()).await).await;

        assert_eq!((status, class), (403, json!("access-denied")), "{case}");
    }
    for header in
        [basic(PORTAL_USER, "wrong"), basic("intruder", PORTAL_PASSWORD), "Basic !!!".to_owned(), "Bearer x".to_owned()]
    {
        let response =
            app.http.post(app.url(path)).header("authorization", &header).json(&body()).send().await.unwrap();

        assert_eq!(status_and_class(response).await, (403, json!("access-denied")), "{header}");
    }
}

async fn identity_parameters_are_tolerated_on_every_endpoint(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let signed = app.signed("/bbb/visio/meeting/", "NameID=abc&email=agent%40example.org");
    let response = app.post_json(&signed, &body()).await;

    assert_eq!(response.status(), 200);
}

crate::on_both_backends!(
    every_accepted_scheme_is_let_in,
    every_refusal_is_a_403_access_denied,
    identity_parameters_are_tolerated_on_every_endpoint,
);
