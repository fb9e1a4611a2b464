//! The BBB client against the simulator: every call, every checksum algorithm, and random
//! parameters that must sign and verify identically on both sides.

use std::collections::BTreeMap;
use std::time::Duration;

use bbb_connector::bbb::{
    normalize_base_url, BbbClient, BbbError, BbbServer, ChecksumAlgorithm, CreateRequest, JoinRequest,
};
use bbb_connector::simulator::Simulator;
use proptest::prelude::*;
use secrecy::SecretString;

use crate::helpers::{spawn_simulator, SHARED_SECRET};

pub fn client_for(simulator: &Simulator, algorithm: ChecksumAlgorithm, secret: &str) -> BbbClient {
    BbbClient::new(BbbServer {
        api_base: normalize_base_url(simulator.base_url().as_str()).unwrap(),
        secret: SecretString::from(secret.to_owned()),
        algorithm,
        timeout: Duration::from_secs(2),
    })
    .unwrap()
}

fn create_request(meeting_id: &str, parameters: BTreeMap<String, String>) -> CreateRequest {
    CreateRequest {
        meeting_id: meeting_id.to_owned(),
        name: "Consultation".to_owned(),
        attendee_pw: "attendee-pw".to_owned(),
        moderator_pw: "moderator-pw".to_owned(),
        meeting_ended_url: None,
        parameters,
    }
}

#[tokio::test]
async fn every_call_works_with_every_algorithm() {
    let simulator = spawn_simulator().await;
    for algorithm in ChecksumAlgorithm::ALL {
        let client = client_for(&simulator, algorithm, SHARED_SECRET);
        let meeting_id = format!("meeting-{algorithm}");
        let parameters =
            BTreeMap::from([("record".to_owned(), "true".to_owned()), ("meta_origin".to_owned(), "tests".to_owned())]);

        let version = client.api_version().await.unwrap();
        let created = client.create(&create_request(&meeting_id, parameters.clone())).await.unwrap();
        let again = client.create(&create_request(&meeting_id, parameters)).await.unwrap();
        let running_before = client.is_meeting_running(&meeting_id).await.unwrap();
        simulator.mark_present(&meeting_id, "Agent", "MODERATOR");
        let running_after = client.is_meeting_running(&meeting_id).await.unwrap();
        let info = client.get_meeting_info(&meeting_id).await.unwrap();
        let listed = client.get_meetings().await.unwrap();
        client.end(&meeting_id).await.unwrap();
        let recordings = client.get_recordings(&meeting_id).await.unwrap();
        let status = client.check().await.unwrap();

        assert_eq!(version.version, "2.0");
        assert!(!created.duplicate && again.duplicate, "{algorithm}");
        assert_eq!(again.create_time, created.create_time);
        assert!(created.meeting_info.get("attendee_pw").is_none());
        assert!(!running_before && running_after, "{algorithm}");
        assert_eq!(info.attendees.len(), 1);
        assert_eq!(info.attendees[0].role, "MODERATOR");
        assert_eq!(info.metadata.get("origin").map(String::as_str), Some("tests"));
        assert!(listed.iter().any(|meeting| meeting.meeting_id == meeting_id));
        assert_eq!(recordings.len(), 1, "a recorded meeting that ran leaves a recording");
        assert!(recordings[0].playback[0].url.contains("/playback/presentation/2.3/"));
        assert_eq!(status.version.bbb_version.as_deref(), Some("3.0.0-simulator"));
        assert!(simulator.calls().iter().all(|call| call.action == "api" || call.checksum_valid));
    }
}

#[tokio::test]
async fn a_wrong_secret_is_a_checksum_error_and_unknown_meetings_are_not_found() {
    let simulator = spawn_simulator().await;
    let wrong = client_for(&simulator, ChecksumAlgorithm::Sha256, "not-the-secret");
    let right = client_for(&simulator, ChecksumAlgorithm::Sha512, SHARED_SECRET);

    let refused = wrong.get_meetings().await.unwrap_err();
    let missing = right.get_meeting_info("nobody-here").await.unwrap_err();
    let not_running = right.is_meeting_running("nobody-here").await.unwrap();
    let end_missing = right.end("nobody-here").await.unwrap_err();

    assert!(matches!(refused, BbbError::Api { ref message_key, .. } if message_key == "checksumError"), "{refused}");
    assert!(matches!(missing, BbbError::Api { ref message_key, .. } if message_key == "notFound"), "{missing}");
    assert!(!not_running);
    assert!(matches!(end_missing, BbbError::Api { ref message_key, .. } if message_key == "notFound"));
}

#[tokio::test]
async fn join_urls_are_signed_with_role_password_and_create_time() {
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha1, SHARED_SECRET);
    let created = client.create(&create_request("join-meeting", BTreeMap::new())).await.unwrap();
    let extra = BTreeMap::from([("redirect".to_owned(), "false".to_owned())]);
    let request = |create_time| JoinRequest {
        meeting_id: "join-meeting",
        full_name: "Zoé Usager",
        role: "VIEWER",
        password: "attendee-pw",
        create_time,
        parameters: &extra,
    };

    let good = reqwest::get(client.join_url(&request(created.create_time))).await.unwrap().text().await.unwrap();
    let stale = reqwest::get(client.join_url(&request(created.create_time - 1))).await.unwrap().text().await.unwrap();

    assert!(good.contains("successfullyJoined"), "{good}");
    assert!(stale.contains("mismatchCreateTimeParam"), "{stale}");
    let joined = simulator.meeting("join-meeting").unwrap().joins;
    assert_eq!(joined[0].get("role").map(String::as_str), Some("VIEWER"));
    assert_eq!(joined[0].get("fullName").map(String::as_str), Some("Zoé Usager"));
}

#[tokio::test]
async fn a_welcome_too_long_for_a_url_travels_in_the_body_and_still_verifies() {
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    let welcome = "Bienvenue à tous ! ".repeat(600);
    let parameters =
        BTreeMap::from([("welcome".to_owned(), welcome.clone()), ("record".to_owned(), "false".to_owned())]);

    client.create(&create_request("long-welcome", parameters)).await.unwrap();

    let call = simulator.calls().into_iter().find(|call| call.action == "create").unwrap();
    assert_eq!(call.method, "POST");
    assert!(call.checksum_valid);
    assert_eq!(call.param("welcome"), Some(welcome.as_str()));
    assert_eq!(call.param("meetingID"), Some("long-welcome"));
}

fn parameter_maps() -> impl Strategy<Value = BTreeMap<String, String>> {
    let name = "[a-zA-Z][a-zA-Z0-9_-]{0,12}".prop_filter("not reserved", |name| {
        !["meetingID", "name", "attendeePW", "moderatorPW", "checksum", "meetingEndedURL"].contains(&name.as_str())
    });
    let value = prop_oneof!["[ &=+%#?/;:,.~'\"<>éàü€😀\\t-]{0,24}", ".{0,16}", Just(String::new()),];
    prop::collection::btree_map(name, value, 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_parameters_sign_and_verify_identically(parameters in parameter_maps(), algorithm in prop::sample::select(ChecksumAlgorithm::ALL.to_vec())) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let simulator = spawn_simulator().await;
            let client = client_for(&simulator, algorithm, SHARED_SECRET);

            client.create(&create_request("property", parameters.clone())).await.unwrap();

            let call = simulator.calls().into_iter().find(|call| call.action == "create").unwrap();
            assert!(call.checksum_valid, "{parameters:?}");
            for (name, value) in &parameters {
                assert_eq!(call.param(name), Some(value.as_str()), "{name}");
            }
        });
    }
}
