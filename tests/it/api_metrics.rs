//! `GET /metrics`: the counters move with what the service does, its access follows the client
//! address, and its labels stay bounded. The recorder is one per process: each test counts on a
//! connector slug of its own, or asserts that a shared counter grew.

use std::time::Duration;

use bbb_connector::config::{ConnectorConfig, ACCESS_ANONYMOUS};
use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use reqwest::header::ACCEPT;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_simulator, TestApp, OPS_KEY, OUTSIDER_KEY, SHARED_SECRET};
use crate::on_both_backends;

/// A slug no other test uses.
fn unique_slug() -> String {
    format!("m-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The app with one more connector, anonymous, named `slug`, signed with `secret`.
async fn spawn_with_connector(db: &TestDatabase, slug: &str, secret: &str) -> TestApp {
    let simulator = spawn_simulator().await;
    let bbb_url = simulator.base_url().to_string();
    TestApp::spawn_configured(db, simulator, |config| {
        let mut connector =
            ConnectorConfig::new(&bbb_url, secret).expect("a simulator URL").with_access(&[ACCESS_ANONYMOUS]);
        connector.timeout_seconds = 1;
        config.connectors.insert(slug.to_owned(), connector);
        config.metrics_access = vec!["ops".to_owned()];
    })
    .await
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get(&app.url("/metrics")).await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, sample) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            let wanted = labels.iter().all(|(label, value)| rest.contains(&format!("{label}=\"{value}\"")));
            (metric == name && wanted).then(|| sample.parse::<f64>().ok()).flatten()
        })
        .sum()
}

async fn create(app: &TestApp, slug: &str, idempotent_id: &str) -> (u16, serde_json::Value) {
    let body = json!({"name": "RDV", "idempotent_id": idempotent_id});
    let response = app.post_json(&app.url(&format!("/bbb/{slug}/meeting/")), &body).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn counters_move_with_creates_joins_and_is_running_checks(db: &TestDatabase) {
    let slug = unique_slug();
    let app = spawn_with_connector(db, &slug, SHARED_SECRET).await;
    let of = |text: &str, name: &str, extra: &[(&str, &str)]| {
        let mut labels = vec![("connector", slug.as_str())];
        labels.extend_from_slice(extra);
        value(text, name, &labels)
    };

    let (_, first) = create(&app, &slug, "1").await;
    let (_, replay) = create(&app, &slug, "1").await;
    let after_creates = scrape(&app).await;
    let join = app.get(first["data"]["join_user_url"].as_str().unwrap()).await;
    let polled = first["data"]["is_running_url"].as_str().unwrap();
    app.get(polled).await;
    app.get(polled).await;
    let after = scrape(&app).await;
    let stream = app.get(first["data"]["events_url"].as_str().unwrap()).await;
    let with_a_stream = scrape(&app).await;
    drop(stream);

    assert_eq!(first["data"]["guid"], replay["data"]["guid"]);
    assert_eq!(join.status(), 302);
    assert_eq!(of(&after_creates, "bbb_connector_rendezvous_created_total", &[]), 1.0, "a replay is not counted");
    let create_ok = [("action", "create"), ("outcome", "ok")];
    assert_eq!(of(&after_creates, "bbb_connector_bbb_calls_total", &create_ok), 1.0, "a replay calls no BBB");
    assert_eq!(of(&after, "bbb_connector_bbb_calls_total", &create_ok), 2.0, "a join re-creates");
    assert_eq!(of(&after, "bbb_connector_joins_total", &[("role", "user")]), 1.0);
    assert_eq!(of(&after, "bbb_connector_joins_total", &[("role", "agent")]), 0.0);
    assert_eq!(of(&after, "bbb_connector_is_running_cache_total", &[("result", "miss")]), 1.0);
    assert_eq!(of(&after, "bbb_connector_is_running_cache_total", &[("result", "hit")]), 1.0);
    let running_ok = [("action", "isMeetingRunning"), ("outcome", "ok")];
    assert_eq!(of(&after, "bbb_connector_bbb_calls_total", &running_ok), 1.0);
    assert!(of(&after, "bbb_connector_bbb_call_duration_seconds_count", &[("action", "create")]) >= 2.0, "{after}");
    let posts = [("route", "/bbb/{slug}/meeting/"), ("method", "POST"), ("status", "200")];
    assert!(value(&after, "bbb_connector_http_requests_total", &posts) >= 2.0, "{after}");
    let route = [("route", "/bbb/{slug}/meeting/{guid}/is-running/")];
    assert!(value(&after, "bbb_connector_http_request_duration_seconds_count", &route) >= 2.0, "{after}");
    assert!(value(&after, "bbb_connector_build_info", &[("version", env!("CARGO_PKG_VERSION"))]) == 1.0);
    assert!(value(&with_a_stream, "bbb_connector_events_streams", &[]) >= 1.0, "{with_a_stream}");
}

async fn every_kind_of_bbb_failure_is_counted_by_its_outcome(db: &TestDatabase) {
    let slug = unique_slug();
    let app = spawn_with_connector(db, &slug, SHARED_SECRET).await;
    let faults = [
        (Fault::Down, "unreachable"),
        (Fault::Garbage, "garbage"),
        (Fault::Html500, "http_error"),
        (Fault::Slow(Duration::from_millis(1500)), "timeout"),
    ];

    for (index, (fault, _)) in faults.iter().enumerate() {
        app.simulator.set_fault(Some(fault.clone()));
        create(&app, &slug, &format!("fault-{index}")).await;
    }
    app.simulator.set_fault(None);
    let wrong_slug = unique_slug();
    let wrong = spawn_with_connector(db, &wrong_slug, "not-the-shared-secret").await;
    let (status, refused) = create(&wrong, &wrong_slug, "checksum").await;
    let text = scrape(&app).await;

    for (_, outcome) in faults {
        let labels = [("connector", slug.as_str()), ("action", "create"), ("outcome", outcome)];
        assert_eq!(value(&text, "bbb_connector_bbb_calls_total", &labels), 1.0, "{outcome}:\n{text}");
    }
    assert_eq!((status, refused["err_class"].as_str()), (200, Some("bbb-error")), "{refused}");
    let checksum = [("connector", wrong_slug.as_str()), ("action", "create"), ("outcome", "checksum_error")];
    assert_eq!(value(&text, "bbb_connector_bbb_calls_total", &checksum), 1.0, "{text}");
    assert_eq!(value(&text, "bbb_connector_rendezvous_created_total", &[("connector", &slug)]), 4.0);
}

async fn the_metrics_are_open_to_loopback_and_to_metrics_access_users_only(db: &TestDatabase) {
    let app = spawn_with_connector(db, &unique_slug(), SHARED_SECRET).await;
    let off = TestApp::spawn_configured(db, spawn_simulator().await, |config| config.metrics = false).await;
    let metrics = app.url("/metrics");
    let status = |request: reqwest::RequestBuilder| async move { request.send().await.unwrap().status().as_u16() };
    // Behind the trusted (loopback) proxy, the client is the address it forwarded.
    let outside = || app.http.get(&metrics).header("x-forwarded-for", "203.0.113.9");

    assert_eq!(status(app.http.get(&metrics)).await, 200);
    assert_eq!(status(outside()).await, 403);
    assert_eq!(status(outside().query(&[("apikey", OUTSIDER_KEY)])).await, 403, "not in metrics_access");
    assert_eq!(status(outside().query(&[("apikey", "wrong")])).await, 403);
    assert_eq!(status(outside().query(&[("apikey", OPS_KEY)])).await, 200);
    assert_eq!(status(off.http.get(off.url("/metrics"))).await, 404, "metrics = false");
}

async fn labels_stay_bounded_and_refusals_are_counted(db: &TestDatabase) {
    let app = spawn_with_connector(db, &unique_slug(), SHARED_SECRET).await;
    let before = scrape(&app).await;
    let refusals = |text: &str, reason: &str| value(text, "bbb_connector_refusals_total", &[("reason", reason)]);
    let brew = Method::from_bytes(b"BREW").unwrap();

    app.http.request(brew, app.url("/coffee/pot-41")).send().await.unwrap();
    let (_, meeting) = create(&app, "open", "bounded").await;
    let wrong_key = meeting["data"]["join_user_url"].as_str().unwrap().replace("/user/", "/agent/");
    for _ in 0..70 {
        app.http.get(&wrong_key).header(ACCEPT, "application/json").send().await.unwrap();
    }
    let after = scrape(&app).await;

    let weird = [("route", "unmatched"), ("method", "other"), ("status", "404")];
    assert!(value(&after, "bbb_connector_http_requests_total", &weird) >= 1.0, "{after}");
    assert!(!after.contains("BREW") && !after.contains("coffee"), "unbounded label values:\n{after}");
    assert!(refusals(&after, "negative_cache") > refusals(&before, "negative_cache"), "{after}");
    assert!(refusals(&after, "rate_limit") > refusals(&before, "rate_limit"), "{after}");
}

on_both_backends!(
    counters_move_with_creates_joins_and_is_running_checks,
    every_kind_of_bbb_failure_is_counted_by_its_outcome,
    the_metrics_are_open_to_loopback_and_to_metrics_access_users_only,
    labels_stay_bounded_and_refusals_are_counted,
);
