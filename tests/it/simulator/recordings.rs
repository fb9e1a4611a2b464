//! Recordings: published on demand (control endpoint, in-process call) or when a recorded
//! meeting ends, listed by getRecordings, announced to `meta_bbb-recording-ready-url` with a form
//! field `signed_parameters`, an HS256 JWT signed with the shared secret (reference §6.2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Router};
use bbb_connector::bbb::ChecksumAlgorithm;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::{create_request, eventually};
use crate::bbb_client::client_for;
use crate::helpers::{spawn_simulator, SHARED_SECRET};

type Received = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A recording-ready receiver on 127.0.0.1: its URL and the forms it received.
async fn spawn_receiver() -> (String, Received) {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/recording-ready", listener.local_addr().unwrap());
    let router = Router::new()
        .route(
            "/recording-ready",
            post(|State(received): State<Received>, Form(form): Form<HashMap<String, String>>| async move {
                received.lock().unwrap().push(form);
            }),
        )
        .with_state(Arc::clone(&received));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

/// The claims of a token that verifies with the shared secret, HS256 (no expiry, as BBB sends).
fn verified_claims(token: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let key = DecodingKey::from_secret(SHARED_SECRET.as_bytes());
    jsonwebtoken::decode::<Value>(token, &key, &validation).expect("a token signed with the shared secret").claims
}

#[tokio::test]
async fn a_published_recording_is_listed_and_announced_with_a_signed_token() {
    let (ready_url, received) = spawn_receiver().await;
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    let meta = [("meta_bbb-recording-ready-url", ready_url.as_str())];
    client.create(&create_request("published", "attendee-pw", &meta)).await.unwrap();
    simulator.mark_present("published", "Agent", "MODERATOR");

    let answer: Value = reqwest::Client::new()
        .post(format!("{}simulator/recordings/publish?meetingID=published", simulator.control_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    eventually("the recording-ready callback arrives", || received.lock().unwrap().len() == 1).await;

    let record_id = answer["record_id"].as_str().unwrap();
    assert_eq!(record_id, simulator.meeting("published").unwrap().internal_meeting_id, "a record id is a session id");
    let recordings = client.get_recordings("published").await.unwrap();
    assert_eq!(recordings.len(), 1);
    assert_eq!(recordings[0].record_id, record_id);
    assert!(recordings[0].playback[0].url.starts_with("http://"), "{:?}", recordings[0].playback);
    let form = received.lock().unwrap()[0].clone();
    assert_eq!(form.keys().collect::<Vec<_>>(), ["signed_parameters"], "one form field");
    let claims = verified_claims(&form["signed_parameters"]);
    assert_eq!(claims["meeting_id"], "published");
    assert_eq!(claims["record_id"], record_id);
}

#[tokio::test]
async fn a_recorded_meeting_that_ends_announces_its_recording() {
    let (ready_url, received) = spawn_receiver().await;
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    let meta = [("record", "true"), ("meta_bbb-recording-ready-url", ready_url.as_str())];
    client.create(&create_request("recorded", "attendee-pw", &meta)).await.unwrap();
    simulator.mark_present("recorded", "Agent", "MODERATOR");
    let session = simulator.meeting("recorded").unwrap().internal_meeting_id;

    client.end("recorded").await.unwrap();
    eventually("the recording-ready callback arrives", || received.lock().unwrap().len() == 1).await;
    let again = simulator.publish_recording("recorded");

    let claims = verified_claims(&received.lock().unwrap()[0]["signed_parameters"]);
    assert_eq!(
        (claims["meeting_id"].as_str(), claims["record_id"].as_str()),
        (Some("recorded"), Some(session.as_str()))
    );
    assert_eq!(again.as_deref(), Some(session.as_str()), "an ended meeting's latest recording is published again");
    assert_eq!(client.get_recordings("recorded").await.unwrap().len(), 1, "one recording per session");
}

#[tokio::test]
async fn publishing_needs_a_known_meeting() {
    let simulator = spawn_simulator().await;
    let http = reqwest::Client::new();
    let publish = |query: &str| format!("{}simulator/recordings/publish{query}", simulator.control_url());

    let unknown = http.post(publish("?meetingID=unknown")).send().await.unwrap().status();
    let missing = http.post(publish("")).send().await.unwrap().status();

    assert_eq!(unknown, 404);
    assert_eq!(missing, 400);
    assert_eq!(simulator.publish_recording("unknown"), None);
}
