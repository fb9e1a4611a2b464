//! An HTTP fuzz test: thousands of random and hostile requests against a running app; none may
//! get a 500, and the service must still answer afterwards.

use std::time::Duration;

use bbb_connector::testing::TestDatabase;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, OPS_KEY};

const REQUESTS: usize = 2_000;
const METHODS: [&str; 9] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FROB"];

/// Sends raw bytes as one HTTP/1.1 request and returns the status code (0: no answer).
async fn raw_status(addr: &str, request: &[u8]) -> u16 {
    let Ok(mut stream) = TcpStream::connect(addr).await else { return 0 };
    if stream.write_all(request).await.is_err() {
        return 0;
    }
    let mut head = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    let line = String::from_utf8_lossy(&head[..read]).into_owned();
    line.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

fn hostile_segment(rng: &mut StdRng, guid: &str, key: &str) -> String {
    match rng.gen_range(0..12) {
        0 => guid.to_owned(),
        1 => key.to_owned(),
        2 => "..".to_owned(),
        3 => "%00".to_owned(),
        4 => "%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        5 => "%ff%fe".to_owned(),
        6 => "a".repeat(rng.gen_range(1..5000)),
        7 => "visio".to_owned(),
        8 => "meeting".to_owned(),
        9 => ["join", "page", "is-running", "callback", "end", "recordings", "status"][rng.gen_range(0..7)].to_owned(),
        10 => ["agent", "user", "moderator"][rng.gen_range(0..3)].to_owned(),
        _ => (0..rng.gen_range(1..20)).map(|_| format!("%{:02X}", rng.gen::<u8>())).collect(),
    }
}

fn hostile_body(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..8) {
        0 => Vec::new(),
        1 => (0..rng.gen_range(1..512)).map(|_| rng.gen()).collect(),
        2 => format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        3 => json!({"name": "x", "idempotent_id": rng.gen::<u32>().to_string()}).to_string().into_bytes(),
        4 => json!({"name": "x", "idempotent_id": "1", "a/0/b": 1, "a/1": [], "extra": {"x//y": null}})
            .to_string()
            .into_bytes(),
        5 => b"{\"name\": \"\xff\xfe\", \"idempotent_id\": \"1\"}".to_vec(),
        6 => vec![b'{'; 70 * 1024],
        _ => json!({"name": "n", "idempotent_id": "2", "create_parameters": {"record": [1], "x": {"y": 1}}})
            .to_string()
            .into_bytes(),
    }
}

fn hostile_request(rng: &mut StdRng, host: &str, guid: &str, key: &str) -> Vec<u8> {
    let method = METHODS[rng.gen_range(0..METHODS.len())];
    let depth = rng.gen_range(0..8);
    let mut path = String::from("/bbb");
    for _ in 0..depth {
        path.push('/');
        path.push_str(&hostile_segment(rng, guid, key));
    }
    if rng.gen_bool(0.5) {
        path.push('/');
    }
    if rng.gen_bool(0.3) {
        path.push_str(&format!("?apikey={OPS_KEY}&orig=x&signature=%%%&timestamp=\u{0}"));
    }
    let body = hostile_body(rng);
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n").into_bytes();
    match rng.gen_range(0..6) {
        0 => request.extend_from_slice(b"Content-Type: application/json\r\n"),
        1 => request.extend_from_slice(b"Content-Type: text/html; charset=\xff\r\n"),
        2 => request.extend_from_slice(format!("X-Huge: {}\r\n", "h".repeat(60 * 1024)).as_bytes()),
        3 => request.extend_from_slice(b"Authorization: Basic \xff\xfe==\r\nAccept: text/html\r\n"),
        4 => request.extend_from_slice(b"Accept-Language: \xff;q=abc\r\nOrigin: null\r\n"),
        _ => {}
    }
    request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(&body);
    request
}

async fn thousands_of_hostile_requests_get_no_500(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = app.create(&json!({"name": "Fuzz", "idempotent_id": "fuzz"})).await;
    let guid = meeting["guid"].as_str().unwrap().to_owned();
    let key = meeting["join_user_url"].as_str().unwrap().trim_end_matches('/').rsplit('/').next().unwrap().to_owned();
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut rng = StdRng::seed_from_u64(0x00bb_b0c0);
    let requests: Vec<Vec<u8>> = (0..REQUESTS).map(|_| hostile_request(&mut rng, &addr, &guid, &key)).collect();

    let mut statuses = Vec::new();
    for chunk in requests.chunks(16) {
        statuses.extend(futures::future::join_all(chunk.iter().map(|request| raw_status(&addr, request))).await);
    }

    let server_errors: Vec<_> = statuses
        .iter()
        .enumerate()
        .filter(|(_, status)| **status >= 500 && **status != 502 && **status != 504)
        .collect();
    assert!(
        server_errors.is_empty(),
        "server errors: {:?}",
        server_errors
            .iter()
            .take(5)
            .map(|(i, s)| (s, String::from_utf8_lossy(&requests[*i][..200.min(requests[*i].len())]).into_owned()))
            .collect::<Vec<_>>()
    );
    assert!(statuses.iter().filter(|status| **status == 0).count() < REQUESTS / 100, "most requests get an answer");
    for reached_our_handlers in [400, 403, 404, 405] {
        assert!(statuses.contains(&reached_our_handlers), "no {reached_our_handlers} among {REQUESTS} answers");
    }
    assert_eq!(app.get_json(&app.url("/healthz")).await.0, 200);
}

async fn a_ten_megabyte_body_and_a_stalled_body_do_not_hurt(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let big = vec![b'a'; 10 * 1024 * 1024];

    let response = app.http.post(app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}"))).body(big).send().await;
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(
            format!(
                "POST /bbb/visio/meeting/?apikey={OPS_KEY} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{{\"na"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let health = app.get_json(&app.url("/healthz")).await;

    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    assert_eq!(health.0, 200, "a stalled body does not block other requests");
    drop(stalled);
}

crate::on_both_backends!(thousands_of_hostile_requests_get_no_500, a_ten_megabyte_body_and_a_stalled_body_do_not_hurt);
