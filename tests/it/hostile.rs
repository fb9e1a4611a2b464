//! Hostile input (DESIGN §7), as an attacker would send it to the open endpoints: payloads that
//! once crashed the process or left a rendezvous answering 503 forever.

use std::time::Duration;

use base64::Engine;
use bbb_connector::config::Config;
use bbb_connector::http::end_callback_token;
use bbb_connector::http::signature::sign_query;
use bbb_connector::testing::{Backend, TestDatabase};
use reqwest::header::{ACCEPT, HOST};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{spawn_simulator, TestApp, OPS_KEY, SECRET_KEY, WCS_KEY, WCS_ORIG};

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

/// The app with a small budget per client: 5 at once, then one a second.
async fn tight_app(db: &TestDatabase, adjust: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        config.limits.open_requests_per_second = 1;
        config.limits.open_burst = 5;
        adjust(config);
    })
    .await
}

async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.expect("request sent").status().as_u16()
}

async fn a_client_over_its_rate_limit_gets_429_and_others_do_not(db: &TestDatabase) {
    let app = tight_app(db, |_| ()).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "rate"})).await;
    let link = meeting["join_user_url"].as_str().unwrap();
    for _ in 0..5 {
        assert_eq!(status_of(app.http.get(link)).await, 302);
    }

    let refused = app.http.get(link).header(ACCEPT, "application/json").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["err_class"], "rate-limited", "{answer}");
    let page =
        app.http.get(meeting["user_page_url"].as_str().unwrap()).header(ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(page.status(), 429);
    assert!(page.headers().contains_key("retry-after"));
    assert!(page.text().await.unwrap().contains("Trop de demandes"));

    // Another client behind the trusted (loopback) proxy has its own budget.
    let other = app.http.get(link).header("x-forwarded-for", "203.0.113.5");
    assert_eq!(status_of(other).await, 302);
    // Polling and BBB's callbacks are never limited.
    let guid = meeting["guid"].as_str().unwrap();
    let callback = format!(
        "{}callback/end/{}/",
        meeting["url"].as_str().unwrap(),
        end_callback_token(SECRET_KEY, guid.parse().unwrap())
    );
    for _ in 0..20 {
        assert_eq!(status_of(app.http.get(meeting["is_running_url"].as_str().unwrap())).await, 200);
        assert_eq!(status_of(app.http.post(&callback)).await, 200);
    }
}

async fn a_forged_forwarded_for_does_not_escape_the_limit_from_an_untrusted_peer(db: &TestDatabase) {
    let app = tight_app(db, |config| config.trusted_proxies = Vec::new()).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "forged"})).await;
    let link = meeting["user_page_url"].as_str().unwrap();

    let mut statuses = Vec::new();
    for index in 0..8 {
        statuses.push(status_of(app.http.get(link).header("x-forwarded-for", format!("198.51.100.{index}"))).await);
    }

    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
}

async fn anonymous_callers_of_a_protected_endpoint_are_limited_too(db: &TestDatabase) {
    let app = tight_app(db, |_| ()).await;
    let mut statuses = Vec::new();
    for index in 0..7 {
        let (status, _) =
            create_anonymously(&app, &json!({"name": "RDV", "idempotent_id": format!("anon-{index}")})).await;
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    // Api users are not: they are known and accountable.
    let url = app.url(&format!("/bbb/open/meeting/?apikey={OPS_KEY}"));
    let response = app.post_json(&url, &json!({"name": "RDV", "idempotent_id": "with-key"})).await;
    assert_ne!(response.status(), 429);
}

async fn head_on_links_starts_nothing_and_is_not_counted(db: &TestDatabase) {
    let app = tight_app(db, |_| ()).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "head"})).await;
    let before = app.get_json(&format!("{}?apikey={OPS_KEY}", meeting["url"].as_str().unwrap())).await.1;
    app.simulator.clear_calls();

    for field in ["join_user_url", "join_agent_url", "user_page_url", "agent_page_url"] {
        for _ in 0..5 {
            let response = app.http.head(meeting[field].as_str().unwrap()).send().await.unwrap();
            assert_eq!(response.status(), 200, "{field}");
            assert!(!response.headers().contains_key("location"), "{field}");
        }
    }

    assert!(app.simulator.calls().is_empty(), "{:?}", app.simulator.calls());
    let after = app.get_json(&format!("{}?apikey={OPS_KEY}", meeting["url"].as_str().unwrap())).await.1;
    assert_eq!(before["data"]["updated"], after["data"]["updated"]);
    assert_eq!(status_of(app.http.get(meeting["join_user_url"].as_str().unwrap())).await, 302);
}

async fn a_join_writes_only_when_the_answer_of_bbb_changed(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "writes"})).await;
    let meeting_url = format!("{}?apikey={OPS_KEY}", meeting["url"].as_str().unwrap());
    let link = meeting["join_user_url"].as_str().unwrap();
    assert_eq!(status_of(app.http.get(link)).await, 302);
    let first = app.get_json(&meeting_url).await.1;

    app.clock.advance(Duration::from_millis(20));
    for _ in 0..3 {
        assert_eq!(status_of(app.http.get(link)).await, 302);
    }
    let (status, after) = app.get_json(&meeting_url).await;

    assert_eq!(status, 200);
    assert_eq!(after["data"]["updated"], first["data"]["updated"], "a join rewrote an unchanged answer");
    // When BBB forgot the meeting, its new answer is stored.
    app.simulator.forget_all_meetings();
    app.clock.advance(Duration::from_millis(20));
    assert_eq!(status_of(app.http.get(link)).await, 302);
    let recreated = app.get_json(&meeting_url).await.1;
    assert_ne!(recreated["data"]["updated"], first["data"]["updated"]);
}

/// Renames the meetings table away (or back), as if the database lost it: a request that still
/// reaches it fails.
async fn hide_meetings_table(db: &TestDatabase, hidden: bool) {
    let (from, to) = if hidden { ("meetings", "meetings_hidden") } else { ("meetings_hidden", "meetings") };
    let sql = format!("alter table {from} rename to {to}");
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(&sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(&sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn a_link_that_led_nowhere_is_refused_without_the_database(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "nowhere"})).await;
    let wrong_key = format!("{}page/user/{}/", meeting["url"].as_str().unwrap(), "0".repeat(32));
    let unknown_guid = app.url(&format!("/bbb/visio/meeting/{}/join/user/{}/", "a".repeat(32), "b".repeat(32)));
    assert_eq!(status_of(app.http.get(&wrong_key)).await, 404);
    assert_eq!(status_of(app.http.get(&unknown_guid)).await, 404);

    hide_meetings_table(db, true).await;
    let remembered = [status_of(app.http.get(&wrong_key)).await, status_of(app.http.get(&unknown_guid)).await];
    let other_key = format!("{}page/user/{}/", meeting["url"].as_str().unwrap(), "1".repeat(32));
    let not_remembered = status_of(app.http.get(&other_key)).await;
    hide_meetings_table(db, false).await;

    assert_eq!(remembered, [404, 404]);
    assert_ne!(not_remembered, 404, "this one reached the database, which lost the table");
    assert_eq!(status_of(app.http.get(meeting["user_page_url"].as_str().unwrap())).await, 200);
}

async fn a_host_outside_allowed_hosts_is_refused_before_anything_is_done(db: &TestDatabase) {
    let app = TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        config.allowed_hosts = vec!["rdv.example.org".to_owned()];
        config.trusted_proxies = Vec::new();
    })
    .await;
    let create_url = app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}"));
    let body = json!({"name": "RDV", "idempotent_id": "hosts"});

    let forged = app.http.post(&create_url).header(HOST, "evil.example").json(&body).send().await.unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(forged.json::<Value>().await.unwrap()["err_class"], "invalid-host");
    let port = app.base.rsplit(':').next().unwrap();
    let answer: Value = app
        .http
        .post(&create_url)
        .header(HOST, format!("rdv.example.org:{port}"))
        .header("x-forwarded-host", "evil.example")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["err"], 0, "{answer}");
    assert!(
        answer["data"]["url"].as_str().unwrap().starts_with(&format!("http://rdv.example.org:{port}/")),
        "{answer}"
    );

    app.simulator.clear_calls();
    let link =
        answer["data"]["join_user_url"].as_str().unwrap().replace(&format!("http://rdv.example.org:{port}"), &app.base);
    let join = app.http.get(link).header(HOST, "evil.example").send().await.unwrap();
    assert_eq!(join.status(), 400);
    assert!(app.simulator.calls().is_empty(), "BBB was called for a forged Host");
    let polled = app.http.get(
        answer["data"]["is_running_url"]
            .as_str()
            .unwrap()
            .replace(&format!("http://rdv.example.org:{port}"), &app.base),
    );
    let refused = polled.header(HOST, "evil.example").send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.headers()["access-control-allow-origin"], "*");
    assert_eq!(status_of(app.http.get(app.url("/healthz")).header(HOST, "evil.example")).await, 200);
}

async fn with_public_url_the_host_is_never_used(db: &TestDatabase) {
    let app = TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        config.public_url = Some("https://rdv.example.org/".parse().unwrap());
    })
    .await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "public"})).await;
    app.simulator.clear_calls();

    let join = app.http.get(meeting["join_user_url"].as_str().unwrap().replace("https://rdv.example.org", &app.base));
    assert_eq!(status_of(join.header(HOST, "evil.example:9")).await, 302);

    let create = app.simulator.calls().into_iter().find(|call| call.action == "create").expect("a create");
    let ended = create.param("meetingEndedURL").unwrap();
    assert!(ended.starts_with("https://rdv.example.org/bbb/visio/meeting/"), "{ended}");
}

async fn a_host_that_would_break_out_of_the_page_is_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = app.create(&json!({"name": "RDV", "idempotent_id": "script"})).await;

    for host in ["x#</script><script>alert(1)</script>", "a\"b", "user@evil.example"] {
        let page = app.http.get(meeting["user_page_url"].as_str().unwrap()).header(HOST, host).send().await.unwrap();
        assert_eq!(page.status(), 400, "{host}");
        assert!(!page.text().await.unwrap().contains("<script>alert"), "{host}");
    }
}

fn assert_page_headers(response: &reqwest::Response) {
    let header = |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_owned());
    let policy = header("content-security-policy").expect("a CSP");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
}

async fn pages_and_answers_with_join_links_are_kept_out_of_caches_and_frames(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let created = app
        .post_json(
            &app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}")),
            &json!({"name": "RDV", "idempotent_id": "headers"}),
        )
        .await;
    assert_eq!(created.headers()["cache-control"], "no-store");
    let meeting = created.json::<Value>().await.unwrap()["data"].clone();
    let got = app.get(&format!("{}?apikey={OPS_KEY}", meeting["url"].as_str().unwrap())).await;
    assert_eq!(got.headers()["cache-control"], "no-store");

    let page = app.get(meeting["user_page_url"].as_str().unwrap()).await;
    assert_page_headers(&page);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let script = html.split("<script>").nth(1).and_then(|rest| rest.split("</script>").next()).expect("a script");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
    assert!(policy.contains(&format!("'sha256-{hash}'")), "the page's own script is not allowed by {policy}");

    let wrong = format!("{}page/user/{}/", meeting["url"].as_str().unwrap(), "0".repeat(32));
    let error_page = app.http.get(wrong).header(ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(error_page.status(), 404);
    assert_page_headers(&error_page);
}

async fn a_nul_in_a_signature_nonce_is_a_refused_credential(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let query = format!("orig={WCS_ORIG}");
    let signed = sign_query(&query, WCS_KEY, "sha256", chrono::Utc::now(), "nonce\u{0}x");
    let url = app.url(&format!("/bbb/visio/meeting/?{signed}"));

    let response = app.post_json(&url, &json!({"name": "RDV", "idempotent_id": "nul-nonce"})).await;

    assert_eq!(response.status(), 403);
    assert_eq!(response.json::<Value>().await.unwrap()["err_class"], "access-denied");
    assert_alive(&app).await;
}

crate::on_both_backends!(
    a_nul_in_a_signature_nonce_is_a_refused_credential,
    a_key_of_10000_components_is_refused_and_the_service_lives,
    a_body_nested_past_the_limit_is_refused_and_its_id_stays_usable,
    the_nul_character_is_refused_with_400_on_every_backend,
    a_client_over_its_rate_limit_gets_429_and_others_do_not,
    a_forged_forwarded_for_does_not_escape_the_limit_from_an_untrusted_peer,
    anonymous_callers_of_a_protected_endpoint_are_limited_too,
    head_on_links_starts_nothing_and_is_not_counted,
    a_join_writes_only_when_the_answer_of_bbb_changed,
    a_link_that_led_nowhere_is_refused_without_the_database,
    a_host_outside_allowed_hosts_is_refused_before_anything_is_done,
    with_public_url_the_host_is_never_used,
    a_host_that_would_break_out_of_the_page_is_refused,
    pages_and_answers_with_join_links_are_kept_out_of_caches_and_frames,
);

/// Sends `head` (and no more) on a raw connection; returns what the service answered, if it
/// answered before closing.
async fn raw_exchange(base: &str, head: &str, wait: Duration) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_not_received_in_time_is_refused_with_408() {
    let db = TestDatabase::sqlite();
    let app =
        TestApp::spawn_configured(&db, spawn_simulator().await, |config| config.limits.request_timeout_seconds = 1)
            .await;
    let head = format!(
        "POST /bbb/visio/meeting/?apikey={OPS_KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"name\": "
    );

    let answer = raw_exchange(&app.base, &head, Duration::from_secs(10)).await;

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_content_length_is_refused_before_the_body_is_read() {
    let db = TestDatabase::sqlite();
    let app = TestApp::spawn(&db).await;
    let head = format!(
        "POST /bbb/visio/meeting/?apikey={OPS_KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 10000000000\r\n\r\n"
    );

    let answer = raw_exchange(&app.base, &head, Duration::from_secs(10)).await;

    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload-too-large"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_request_id_is_kept_only_when_it_is_fit_for_logs() {
    let db = TestDatabase::sqlite();
    let app = TestApp::spawn(&db).await;
    let request_id = |sent: String| {
        let request = app.http.get(app.url("/healthz")).header("x-request-id", sent);
        async move { request.send().await.unwrap().headers()["x-request-id"].to_str().unwrap().to_owned() }
    };

    assert_eq!(request_id("wcs-42.a_b".to_owned()).await, "wcs-42.a_b");
    for unfit in ["a b".to_owned(), "x".repeat(65), "<script>".to_owned(), "a=b; level=ERROR".to_owned()] {
        let kept = request_id(unfit.clone()).await;
        assert_ne!(kept, unfit);
        assert!(uuid::Uuid::parse_str(&kept).is_ok(), "{kept}");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_files_are_readable_by_the_service_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDatabase::sqlite();
    let app = TestApp::spawn(&db).await;
    app.create(&json!({"name": "RDV", "idempotent_id": "mode"})).await;

    let path = db.url.trim_start_matches("sqlite://");
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        let mode = std::fs::metadata(&file).unwrap_or_else(|err| panic!("{file}: {err}")).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is {:o}", mode & 0o777);
    }
}
