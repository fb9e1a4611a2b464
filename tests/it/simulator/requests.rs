//! Requests as bbb-web takes them: join redirects to the client where the browser reaches the
//! server (public URL, a local proxy's forwarded headers, else the Host), and checksums of a
//! POST whose parameters all come in a form body (reference §2.5).

use bbb_connector::bbb::{checksum, encode_query, ChecksumAlgorithm};
use bbb_connector::simulator::{Simulator, SimulatorConfig};
use url::Url;

use super::{create_request, join, spawn_with, spawn_with_clock, NOT_JOINED};
use crate::helpers::{spawn_simulator, SHARED_SECRET};

const CAMILLE: [(&str, &str); 3] = [("meetingID", "links"), ("fullName", "Camille"), ("role", "VIEWER")];

async fn redirect_of(simulator: &Simulator, headers: &[(&str, &str)]) -> String {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut request = client.get(super::signed(simulator, "join", &CAMILLE));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 302);
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn join_redirects_to_the_public_url_when_one_is_set() {
    let public_url = Url::parse("https://bbb.example.org/").unwrap();
    let config = SimulatorConfig {
        secret: SHARED_SECRET.to_owned(),
        public_url: Some(public_url),
        ..SimulatorConfig::default()
    };
    let (simulator, client) = spawn_with(config).await;
    client.create(&create_request("links", "attendee-pw", &[])).await.unwrap();

    let location = redirect_of(&simulator, &[("x-forwarded-host", "elsewhere.example.net")]).await;

    assert!(location.starts_with("https://bbb.example.org/html5client/join?sessionToken="), "{location}");
}

#[tokio::test]
async fn join_redirects_where_a_local_proxy_says_and_to_the_host_otherwise() {
    let simulator = spawn_simulator().await;
    let client = super::client_for(&simulator, ChecksumAlgorithm::Sha256, SHARED_SECRET);
    client.create(&create_request("links", "attendee-pw", &[])).await.unwrap();
    let proxied = [("x-forwarded-proto", "https"), ("x-forwarded-host", "bbb.example.org")];

    let behind_proxy = redirect_of(&simulator, &proxied).await;
    let direct = redirect_of(&simulator, &[]).await;
    let forged = redirect_of(&simulator, &[("x-forwarded-host", "evil.example/path?x=")]).await;

    assert!(behind_proxy.starts_with("https://bbb.example.org/html5client/join?sessionToken="), "{behind_proxy}");
    let host = format!("http://{}/html5client/join?sessionToken=", simulator.addr());
    assert!(direct.starts_with(&host), "{direct}");
    assert!(forged.starts_with(&host), "a forwarded host that is not a host is ignored: {forged}");
    let page = reqwest::get(&direct).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(simulator.meeting("links").unwrap().attendees[0].full_name, "Camille", "the page makes them present");
}

#[tokio::test]
async fn an_old_join_link_cannot_bring_back_an_ended_meeting() {
    let (simulator, client, clock) = spawn_with_clock().await;
    client.create(&create_request("links", "attendee-pw", &[])).await.unwrap();
    let location = join(&simulator, &CAMILLE).await;
    let link = location.trim_start_matches("302 ");

    clock.advance(NOT_JOINED + super::MARGIN);
    let page = reqwest::get(link).await.unwrap();

    assert_eq!(page.status(), 404, "{location}");
    assert!(simulator.meeting("links").is_none(), "the meeting expired before the link was opened");
}

/// POSTs `params` plus `checksum` as a form body to an empty query.
async fn post_form(simulator: &Simulator, action: &str, params: &[(&str, &str)], checksum: &str) -> String {
    let body = encode_query(params.iter().copied().chain([("checksum", checksum)]));
    let response = reqwest::Client::new()
        .post(format!("{}api/{action}", simulator.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_form_body_is_checked_by_the_2_5_rule_and_the_2_7_rule() {
    let simulator = spawn_simulator().await;
    let create = |id| [("name", "Posted meeting"), ("meetingID", id)];
    let sign = |action, query: &str| checksum(ChecksumAlgorithm::Sha256, action, query, SHARED_SECRET);
    let sorted = |id: &str| encode_query([("meetingID", id), ("name", "Posted meeting")]);
    let in_another_order = "name=Posted+meeting&meetingID=unsorted";

    let rule_2_5 = post_form(&simulator, "create", &create("post-25"), &sign("create", &sorted("post-25"))).await;
    let rule_2_7 = post_form(&simulator, "create", &create("post-27"), &sign("create", "")).await;
    let unsorted = post_form(&simulator, "create", &create("unsorted"), &sign("create", in_another_order)).await;
    let other_action = post_form(&simulator, "create", &create("other"), &sign("join", "")).await;

    assert!(rule_2_5.contains("<returncode>SUCCESS</returncode>"), "{rule_2_5}");
    assert!(rule_2_7.contains("<returncode>SUCCESS</returncode>"), "{rule_2_7}");
    assert_eq!(simulator.meeting("post-25").unwrap().name, "Posted meeting", "body parameters are read");
    assert!(simulator.meeting("post-27").is_some());
    assert!(unsorted.contains("checksumError"), "2.5 sorts the parameters: {unsorted}");
    assert!(other_action.contains("checksumError"), "{other_action}");
    assert!(simulator.meeting("unsorted").is_none() && simulator.meeting("other").is_none());
}

#[tokio::test]
async fn recording_calls_in_a_form_body_hash_only_the_empty_query() {
    let simulator = spawn_simulator().await;
    let params = [("meetingID", "none")];
    let sign = |query: &str| checksum(ChecksumAlgorithm::Sha256, "getRecordings", query, SHARED_SECRET);

    let empty_query = post_form(&simulator, "getRecordings", &params, &sign("")).await;
    let sorted_params = post_form(&simulator, "getRecordings", &params, &sign("meetingID=none")).await;

    assert!(empty_query.contains("noRecordings"), "{empty_query}");
    assert!(sorted_params.contains("checksumError"), "{sorted_params}");
}

#[tokio::test]
async fn a_parameter_in_both_the_url_and_the_body_is_a_checksum_error() {
    let simulator = spawn_simulator().await;
    let url = super::signed(&simulator, "create", &[("meetingID", "both"), ("name", "Both ways")]);

    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Other+name")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(answer.contains("checksumError"), "{answer}");
}
