//! The simulator behaves like bbb-web: checksum rules, create idempotency, join roles, the
//! meeting lifecycle (expiry, end) and its callbacks; its answers, requests and recordings in
//! the submodules.

mod answers;
mod recordings;
mod requests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::Router;
use bbb_connector::bbb::{checksum, encode_query, BbbClient, BbbError, ChecksumAlgorithm, CreateRequest};
use bbb_connector::domain::Clock;
use bbb_connector::simulator::{verify_checksum, Simulator, SimulatorConfig};

use crate::bbb_client::client_for;
use crate::helpers::{spawn_simulator, SHARED_SECRET};

/// BBB's default delays: a meeting nobody joined ends after 5 minutes, one whose last participant
/// left after 1 minute.
const NOT_JOINED: Duration = Duration::from_secs(5 * 60);
const LAST_LEFT: Duration = Duration::from_secs(60);
/// How far before and after a deadline the tests look: the adjustable clock also follows real
/// time, so a check just before a deadline must not be overtaken by a slow machine.
const MARGIN: Duration = Duration::from_secs(5);

pub fn create_request(meeting_id: &str, attendee_pw: &str, parameters: &[(&str, &str)]) -> CreateRequest {
    CreateRequest {
        meeting_id: meeting_id.to_owned(),
        name: "Simulated".to_owned(),
        attendee_pw: attendee_pw.to_owned(),
        moderator_pw: "moderator-pw".to_owned(),
        meeting_ended_url: None,
        parameters: parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
    }
}

/// A simulator with BBB's default delays on a clock the test moves ahead.
async fn spawn_with_clock() -> (Simulator, BbbClient, Clock) {
    let clock = Clock::adjustable();
    let config =
        SimulatorConfig { secret: SHARED_SECRET.to_owned(), clock: clock.clone(), ..SimulatorConfig::default() };
    let (simulator, client) = spawn_with(config).await;
    (simulator, client, clock)
}

pub async fn spawn_with(config: SimulatorConfig) -> (Simulator, BbbClient) {
    let simulator = Simulator::spawn(config, SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    (simulator, client)
}

/// Waits until `condition` holds (checked every 10 ms, for 10 s at most).
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..1_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("still not true after 10 s: {what}");
}

fn api_key_of(error: BbbError) -> String {
    match error {
        BbbError::Api { message_key, .. } => message_key,
        other => panic!("expected a FAILED answer, got {other}"),
    }
}

#[test]
fn checksums_are_verified_like_bbb_web() {
    let query = "meetingID=abc&name=Test+Meeting";
    let sha1 = checksum(ChecksumAlgorithm::Sha1, "create", query, SHARED_SECRET);
    let sha512 = checksum(ChecksumAlgorithm::Sha512, "create", query, SHARED_SECRET);

    assert!(verify_checksum("create", &format!("{query}&checksum={sha1}"), SHARED_SECRET).is_ok());
    assert!(verify_checksum("create", &format!("{query}&checksum={}", sha512.to_uppercase()), SHARED_SECRET).is_ok());
    assert!(
        verify_checksum("create", &format!("checksum={sha1}&{query}"), SHARED_SECRET).is_ok(),
        "position does not matter"
    );
    for bad in [
        query.to_owned(),
        format!("{query}&checksum={}", &sha1[..39]),
        format!("{query}&checksum={sha1}&checksum={sha1}"),
        format!("{query}&checksum={}", checksum(ChecksumAlgorithm::Sha256, "join", query, SHARED_SECRET)),
        format!("meetingID=abd&name=Test+Meeting&checksum={sha1}"),
    ] {
        assert!(verify_checksum("create", &bad, SHARED_SECRET).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_request_with_a_bad_checksum_gets_checksum_error_xml_with_http_200() {
    let simulator = spawn_simulator().await;
    let url = format!("{}api/getMeetings?checksum=0123", simulator.base_url());

    let response = reqwest::get(&url).await.unwrap();

    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("<messageKey>checksumError</messageKey>"));
    assert!(!simulator.calls()[0].checksum_valid);
}

#[tokio::test]
async fn a_second_create_is_a_duplicate_with_the_same_passwords_and_refused_otherwise() {
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);

    let first = client.create(&create_request("dup", "attendee-pw", &[])).await.unwrap();
    let same = client.create(&create_request("dup", "attendee-pw", &[("welcome", "ignored")])).await.unwrap();
    let different = client.create(&create_request("dup", "other-pw", &[])).await.unwrap_err();

    assert!(!first.duplicate && same.duplicate);
    assert_eq!(same.create_time, first.create_time);
    assert_eq!(api_key_of(different), "idNotUnique");
    assert!(!simulator.meeting("dup").unwrap().params.contains_key("welcome"), "a duplicate create changes nothing");
}

/// A signed URL of the simulator's API (SHA-256).
pub fn signed(simulator: &Simulator, action: &str, params: &[(&str, &str)]) -> String {
    let query = encode_query(params.iter().copied());
    let checksum = checksum(ChecksumAlgorithm::Sha256, action, &query, SHARED_SECRET);
    format!("{}api/{action}?{query}&checksum={checksum}", simulator.base_url())
}

/// Calls join without following the redirect: `302 <location>`, or the body.
pub async fn join(simulator: &Simulator, params: &[(&str, &str)]) -> String {
    let url = signed(simulator, "join", params);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = client.get(url).send().await.unwrap();
    match response.headers().get("location") {
        Some(location) => format!("302 {}", location.to_str().unwrap()),
        None => response.text().await.unwrap(),
    }
}

#[tokio::test]
async fn join_resolves_roles_like_bbb_web() {
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    client.create(&create_request("roles", "attendee-pw", &[])).await.unwrap();
    let base = [("meetingID", "roles"), ("fullName", "Camille")];
    let with = |extra: &[(&'static str, &'static str)]| base.iter().chain(extra.iter()).copied().collect::<Vec<_>>();

    let by_role = join(&simulator, &with(&[("role", "viewer"), ("password", "moderator-pw")])).await;
    let by_password = join(&simulator, &with(&[("password", "moderator-pw")])).await;
    let neither = join(&simulator, &with(&[("password", "wrong")])).await;
    let unknown = join(&simulator, &[("meetingID", "nope"), ("fullName", "x")]).await;
    let nameless = join(&simulator, &[("meetingID", "roles")]).await;

    assert!(by_role.starts_with("302 ") && by_role.contains("/html5client/join?sessionToken="), "{by_role}");
    assert!(by_password.starts_with("302 "), "{by_password}");
    assert!(neither.contains("Params required"), "{neither}");
    assert!(unknown.contains("invalidMeetingIdentifier"), "{unknown}");
    assert!(nameless.contains("missingParamFullName"), "{nameless}");
    let roles: Vec<_> =
        simulator.meeting("roles").unwrap().joins.iter().map(|join| join.get("role").cloned()).collect();
    assert_eq!(roles.len(), 2);
    let client_page = reqwest::get(by_role.trim_start_matches("302 ")).await.unwrap().text().await.unwrap();
    assert!(client_page.contains("Camille") && client_page.contains("VIEWER"), "{client_page}");
    assert_eq!(simulator.meeting("roles").unwrap().attendees[0].role, "VIEWER");
}

#[tokio::test]
async fn meetings_expire_like_on_a_real_server() {
    let (simulator, client, clock) = spawn_with_clock().await;
    client.create(&create_request("nobody", "attendee-pw", &[])).await.unwrap();
    client.create(&create_request("left", "attendee-pw", &[])).await.unwrap();
    simulator.mark_present("left", "Agent", "MODERATOR");

    clock.advance(NOT_JOINED - MARGIN);
    let nobody_before = simulator.meeting("nobody").is_some();
    clock.advance(MARGIN * 2);
    let nobody_after = simulator.meeting("nobody").is_none();
    let still_there = simulator.meeting("left").is_some();
    simulator.mark_gone("left", "Agent");
    clock.advance(LAST_LEFT - MARGIN);
    let left_before = simulator.meeting("left").is_some();
    clock.advance(MARGIN * 2);

    assert!(nobody_before, "an empty meeting lives 5 minutes");
    assert!(nobody_after, "nobody joined within 5 minutes");
    assert!(still_there, "a meeting with a participant stays");
    assert!(left_before, "a meeting lives 1 minute after its last participant left");
    assert!(!client.is_meeting_running("left").await.unwrap());
    assert!(simulator.meeting("left").is_none(), "ended 1 minute after the last participant left");
    let recreated = client.create(&create_request("nobody", "other-pw", &[])).await.unwrap();
    assert!(!recreated.duplicate, "an expired meeting id can be created again");
}

#[tokio::test]
async fn forgetting_every_meeting_is_a_bbb_restart() {
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    client.create(&create_request("restart", "attendee-pw", &[])).await.unwrap();

    simulator.forget_all_meetings();

    assert!(simulator.meeting_ids().is_empty());
    assert_eq!(api_key_of(client.get_meeting_info("restart").await.unwrap_err()), "notFound");
}

#[tokio::test]
async fn ending_a_meeting_calls_both_end_callbacks() {
    let hits = Arc::new(Mutex::new(Vec::<String>::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback_base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route(
            "/ended",
            get(|State(hits): State<Arc<Mutex<Vec<String>>>>, RawQuery(query): RawQuery| async move {
                hits.lock().unwrap().push(query.unwrap_or_default());
            }),
        )
        .with_state(Arc::clone(&hits));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let simulator = spawn_simulator().await;
    let client = client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    let mut request = create_request(
        "ending",
        "attendee-pw",
        &[("meta_endCallbackUrl", &format!("{callback_base}/ended?source=meta"))],
    );
    request.meeting_ended_url = Some(format!("{callback_base}/ended?source=ended-url"));
    client.create(&request).await.unwrap();

    client.end("ending").await.unwrap();
    eventually("both end callbacks arrive", || hits.lock().unwrap().len() == 2).await;

    let mut received = hits.lock().unwrap().clone();
    received.sort();
    assert_eq!(received, ["source=ended-url", "source=meta&recordingmarks=false&meetingID=ending"]);
    assert_eq!(api_key_of(client.end("ending").await.unwrap_err()), "notFound");
}

#[tokio::test]
async fn meetings_ending_together_call_back_a_few_at_a_time() {
    let (in_flight, most, received) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback_url = format!("http://{}/ended", listener.local_addr().unwrap());
    let counters = (Arc::clone(&in_flight), Arc::clone(&most), Arc::clone(&received));
    let router = Router::new().route(
        "/ended",
        get(move || {
            let (in_flight, most, received) = counters.clone();
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                received.fetch_add(1, Ordering::SeqCst);
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (simulator, client, clock) = spawn_with_clock().await;
    for i in 0..20 {
        let mut request = create_request(&format!("together-{i}"), "attendee-pw", &[]);
        request.meeting_ended_url = Some(callback_url.clone());
        client.create(&request).await.unwrap();
    }

    clock.advance(NOT_JOINED - MARGIN);
    let alive_before = simulator.meeting_ids().len();
    clock.advance(MARGIN * 2);
    let alive_after = simulator.meeting_ids().len();
    eventually("every end callback arrives", || received.load(Ordering::SeqCst) == 20).await;

    assert_eq!((alive_before, alive_after), (20, 0), "all expired together");
    assert!((1..=4).contains(&most.load(Ordering::SeqCst)), "at most 4 at once, saw {}", most.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_meeting_ended_and_created_again_lives_its_own_delay() {
    let (simulator, client, clock) = spawn_with_clock().await;
    client.create(&create_request("again", "attendee-pw", &[])).await.unwrap();
    clock.advance(Duration::from_secs(3 * 60));
    client.end("again").await.unwrap();
    client.create(&create_request("again", "attendee-pw", &[])).await.unwrap();

    clock.advance(Duration::from_secs(3 * 60));
    let past_the_first_delay = simulator.meeting("again").is_some();
    clock.advance(NOT_JOINED - Duration::from_secs(3 * 60) - MARGIN);
    let before_its_own = simulator.meeting("again").is_some();
    clock.advance(MARGIN * 2);

    assert!(past_the_first_delay, "the first creation's delay does not end the second meeting");
    assert!(before_its_own, "the second meeting lives its whole 5 minutes");
    assert!(simulator.meeting("again").is_none(), "the second meeting ends after its own delay");
}
