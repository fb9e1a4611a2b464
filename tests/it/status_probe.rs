//! The status probe (`BbbClient::check`, behind `GET /bbb/{slug}/status/` and `check`) against a
//! stub load balancer on 127.0.0.1: the API root asked with its trailing slash, redirects
//! followed on the BBB host only and at most 3, `bbbVersion` preferred when revealed, a wrong
//! secret named as such, and the signed call made on a fresh 32-hex meetingID.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bbb_connector::bbb::{normalize_base_url, BbbClient, BbbError, BbbServer, ChecksumAlgorithm};
use bbb_connector::config::{ConnectorConfig, ACCESS_ANONYMOUS};
use bbb_connector::simulator::verify_checksum;
use bbb_connector::testing::TestDatabase;
use secrecy::SecretString;

use crate::bbb_client::client_for;
use crate::helpers::{spawn_simulator, TestApp, SHARED_SECRET};

const WRONG_SECRET_SAYS: &str = "the shared secret or the checksum algorithm configured for this connector is wrong";

/// What the stub's API root reveals.
#[derive(Clone, Copy)]
enum Revealed {
    /// Scalelite: no `bbbVersion` element at all.
    Nothing,
    /// bbb-web without `allowRevealOfBBBVersion`: an empty element.
    Empty,
    Version(&'static str),
}

struct Stub {
    revealed: Revealed,
    /// Where a redirecting root points instead of the next hop on this host.
    off_host: Mutex<Option<String>>,
    /// Every path asked, in order.
    paths: Mutex<Vec<String>>,
    /// The meetingID of every signed isMeetingRunning.
    meeting_ids: Mutex<Vec<String>>,
}

/// A load balancer in front of BBB: `/{hops}/bigbluebutton/api/` redirects `hops` times on
/// this host before answering, and `/{hops}/bigbluebutton/api` redirects to `api/` as
/// Scalelite does.
struct LoadBalancer {
    addr: SocketAddr,
    stub: Arc<Stub>,
}

impl LoadBalancer {
    async fn spawn(revealed: Revealed) -> Self {
        let stub = Arc::new(Stub {
            revealed,
            off_host: Mutex::default(),
            paths: Mutex::default(),
            meeting_ids: Mutex::default(),
        });
        let router = Router::new()
            .route("/{hops}/bigbluebutton/api", get(api_without_slash))
            .route("/{hops}/bigbluebutton/api/", get(api_root))
            .route("/{hops}/bigbluebutton/api/{action}", get(api_call))
            .with_state(Arc::clone(&stub));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, stub }
    }

    /// The configured `bbb_url` of a BBB server `hops` redirects behind.
    fn bbb_url(&self, hops: usize) -> String {
        format!("http://127.0.0.1:{}/{hops}/bigbluebutton/", self.addr.port())
    }

    fn client(&self, hops: usize) -> BbbClient {
        client_on(normalize_base_url(&self.bbb_url(hops)).unwrap())
    }

    /// From now on the root redirects there instead.
    fn redirect_off_host(&self, location: &str) {
        *self.stub.off_host.lock().unwrap() = Some(location.to_owned());
    }

    fn paths(&self) -> Vec<String> {
        self.stub.paths.lock().unwrap().clone()
    }

    fn meeting_ids(&self) -> Vec<String> {
        self.stub.meeting_ids.lock().unwrap().clone()
    }
}

fn client_on(api_base: url::Url) -> BbbClient {
    BbbClient::new(BbbServer {
        api_base,
        secret: SecretString::from(SHARED_SECRET.to_owned()),
        algorithm: ChecksumAlgorithm::Sha256,
        timeout: Duration::from_secs(2),
    })
    .unwrap()
}

fn xml(body: &str) -> Response {
    ([(CONTENT_TYPE, "text/xml;charset=utf-8")], body.to_owned()).into_response()
}

fn redirect(location: &str) -> Response {
    (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, location.to_owned())]).into_response()
}

async fn api_without_slash(State(stub): State<Arc<Stub>>, Path(hops): Path<usize>) -> Response {
    stub.paths.lock().unwrap().push(format!("/{hops}/bigbluebutton/api"));
    redirect("api/")
}

async fn api_root(State(stub): State<Arc<Stub>>, Path(hops): Path<usize>) -> Response {
    stub.paths.lock().unwrap().push(format!("/{hops}/bigbluebutton/api/"));
    if hops > 0 {
        let off_host = stub.off_host.lock().unwrap().clone();
        return redirect(&off_host.unwrap_or_else(|| format!("/{}/bigbluebutton/api/", hops - 1)));
    }
    let revealed = match stub.revealed {
        Revealed::Nothing => String::new(),
        Revealed::Empty => "<bbbVersion></bbbVersion>".to_owned(),
        Revealed::Version(version) => format!("<bbbVersion>{version}</bbbVersion>"),
    };
    xml(&format!("<response><returncode>SUCCESS</returncode><version>2.0</version>{revealed}</response>"))
}

async fn api_call(
    State(stub): State<Arc<Stub>>,
    Path((hops, action)): Path<(usize, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    stub.paths.lock().unwrap().push(format!("/{hops}/bigbluebutton/api/{action}"));
    if let Err(message) = verify_checksum(&action, &query, SHARED_SECRET) {
        return xml(&format!(
            "<response><returncode>FAILED</returncode><messageKey>checksumError</messageKey>\
             <message>{message}</message></response>"
        ));
    }
    let meeting_id = form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "meetingID");
    stub.meeting_ids.lock().unwrap().extend(meeting_id.map(|(_, value)| value.into_owned()));
    xml("<response><returncode>SUCCESS</returncode><running>false</running></response>")
}

fn is_32_hex(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[tokio::test]
async fn up_to_three_redirects_of_the_api_root_on_the_bbb_host_are_followed() {
    for hops in 0..=3 {
        let balancer = LoadBalancer::spawn(Revealed::Nothing).await;

        let status = balancer.client(hops).check().await;

        let paths = balancer.paths();
        let status = status.unwrap_or_else(|error| panic!("{hops} redirect(s): {error}"));
        assert_eq!(status.version.version, "2.0", "{hops} redirect(s)");
        assert_eq!(paths[0], format!("/{hops}/bigbluebutton/api/"), "the root is asked with its trailing slash");
        assert_eq!(paths.len(), hops + 2, "{hops} redirect(s), then the signed call: {paths:?}");
        assert_eq!(paths[hops + 1], format!("/{hops}/bigbluebutton/api/isMeetingRunning"), "{paths:?}");
    }
}

#[tokio::test]
async fn a_redirect_from_api_to_api_slash_is_followed() {
    let balancer = LoadBalancer::spawn(Revealed::Nothing).await;
    let without_slash = url::Url::parse(&format!("{}api", balancer.bbb_url(0))).unwrap();

    let version = client_on(without_slash).api_version().await.unwrap();

    assert_eq!(version.version, "2.0");
    assert_eq!(balancer.paths(), ["/0/bigbluebutton/api", "/0/bigbluebutton/api/"]);
}

#[tokio::test]
async fn a_fourth_redirect_is_the_failure_it_is() {
    let balancer = LoadBalancer::spawn(Revealed::Nothing).await;

    let refused = balancer.client(4).check().await.unwrap_err();

    assert!(matches!(refused, BbbError::HttpStatus(307)), "{refused}");
    assert_eq!(refused.to_string(), "BBB answered HTTP 307");
    assert_eq!(balancer.paths().len(), 4, "the request and 3 redirects followed: {:?}", balancer.paths());
    assert!(balancer.meeting_ids().is_empty(), "no signed call after a failed root");
}

#[tokio::test]
async fn a_redirect_off_the_bbb_host_is_not_followed() {
    let other = LoadBalancer::spawn(Revealed::Nothing).await;
    let balancer = LoadBalancer::spawn(Revealed::Nothing).await;
    let port = balancer.addr.port();
    // Each of these answers when asked directly.
    let elsewhere = [
        ("another host", format!("http://localhost:{port}/0/bigbluebutton/api/")),
        ("another port", format!("{}api/", other.bbb_url(0))),
        ("another scheme", format!("https://127.0.0.1:{port}/0/bigbluebutton/api/")),
    ];

    for (what, location) in elsewhere {
        balancer.redirect_off_host(&location);

        let refused = balancer.client(1).check().await.unwrap_err();

        assert!(matches!(refused, BbbError::HttpStatus(307)), "{what}: {refused}");
    }
    assert_eq!(balancer.paths(), ["/1/bigbluebutton/api/"; 3], "no redirect was followed");
    assert!(other.paths().is_empty(), "{:?}", other.paths());
}

#[tokio::test]
async fn the_revealed_bbb_version_is_preferred_to_the_api_version() {
    let cases = [(Revealed::Version(" 2.7.3 "), Some("2.7.3")), (Revealed::Empty, None), (Revealed::Nothing, None)];

    for (revealed, expected) in cases {
        let balancer = LoadBalancer::spawn(revealed).await;

        let status = balancer.client(1).check().await.unwrap();

        assert_eq!(status.version.bbb_version.as_deref(), expected);
        assert_eq!(status.version.version, "2.0");
    }
}

#[tokio::test]
async fn the_status_endpoint_answers_through_a_redirecting_load_balancer() {
    let db = TestDatabase::sqlite();
    let balancer = LoadBalancer::spawn(Revealed::Version("2.7.3")).await;
    let balanced = ConnectorConfig::new(&balancer.bbb_url(2), SHARED_SECRET).unwrap().with_access(&[ACCESS_ANONYMOUS]);
    let app = TestApp::spawn_configured(&db, spawn_simulator().await, |config| {
        config.connectors.insert("balanced".to_owned(), balanced);
    })
    .await;

    let (status, answer) = app.get_json(&app.url("/bbb/balanced/status/")).await;

    assert_eq!((status, &answer["err"]), (200, &serde_json::json!(0)), "{answer}");
    assert_eq!(answer["data"]["bbb_version"], "2.7.3", "{answer}");
    assert!(answer["data"]["latency_ms"].is_u64(), "{answer}");
    assert_eq!(answer["data"].as_object().unwrap().len(), 2, "{answer}");
}

#[tokio::test]
async fn a_wrong_secret_is_named_as_such_by_the_probe_and_the_status_endpoint() {
    let db = TestDatabase::sqlite();
    let simulator = spawn_simulator().await;
    let wrong =
        ConnectorConfig::new(simulator.base_url().as_str(), "not-the-secret").unwrap().with_access(&[ACCESS_ANONYMOUS]);
    let app = TestApp::spawn_configured(&db, simulator.clone(), |config| {
        config.connectors.insert("wrong".to_owned(), wrong);
    })
    .await;

    let refused = client_for(&simulator, ChecksumAlgorithm::Sha512, "not-the-secret").check().await.unwrap_err();
    let (status, answer) = app.get_json(&app.url("/bbb/wrong/status/")).await;

    assert!(matches!(refused, BbbError::Api { ref message_key, .. } if message_key == "checksumError"), "{refused}");
    assert!(refused.to_string().contains(WRONG_SECRET_SAYS), "{refused}");
    assert_eq!((status, answer["err_class"].as_str()), (200, Some("bbb-error")), "{answer}");
    assert!(answer["err_desc"].as_str().unwrap().contains(WRONG_SECRET_SAYS), "{answer}");
    assert_eq!(answer["data"]["message_key"], "checksumError", "{answer}");
    assert!(!answer.to_string().contains("not-the-secret"), "{answer}");
}

#[tokio::test]
async fn the_signed_call_is_made_on_a_fresh_32_hex_meeting_id() {
    let balancer = LoadBalancer::spawn(Revealed::Nothing).await;
    let simulator = spawn_simulator().await;
    let client = balancer.client(0);

    client.check().await.unwrap();
    client.check().await.unwrap();
    client_for(&simulator, ChecksumAlgorithm::Sha1, SHARED_SECRET).check().await.unwrap();

    let ids = balancer.meeting_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.iter().all(|id| is_32_hex(id)), "{ids:?}");
    assert_ne!(ids[0], ids[1], "a new meetingID each time");
    let calls = simulator.calls();
    let signed = calls.iter().find(|call| call.action == "isMeetingRunning").expect("one signed call");
    assert!(signed.checksum_valid && is_32_hex(signed.param("meetingID").unwrap()), "{signed:?}");
}
