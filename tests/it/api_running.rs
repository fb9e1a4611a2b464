//! `GET .../is-running/`: CORS, caching with coalescing, no BBB call for a never-joined
//! rendezvous, persistence of the running state, and stale answers during a BBB outage.

use std::time::Duration;

use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use serde_json::{json, Value};

use crate::helpers::{TestApp, OPS_KEY};

async fn create(app: &TestApp, id: &str) -> Value {
    app.create(&json!({"name": "Poll", "idempotent_id": id})).await
}

/// Follows the agent link as a browser would, which makes the agent present in the simulator.
async fn agent_joins(app: &TestApp, meeting: &Value) {
    let response = app.get(meeting["join_agent_url"].as_str().unwrap()).await;
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let page = reqwest::get(&location).await.unwrap();
    assert_eq!(page.status(), 200, "the simulator's client page");
}

/// The cache period of the test connector `visio`.
const PERIOD: Duration = Duration::from_secs(3);

/// Polls once the answer cached before the agent joined is past its period.
async fn poll_after_one_period(app: &TestApp, url: &str) -> Value {
    app.clock.advance(PERIOD);
    app.get_json(url).await.1
}

async fn polls_of_a_never_joined_rendezvous_never_reach_bbb(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app, "never").await;
    let url = meeting["is_running_url"].as_str().unwrap();

    let answers = futures::future::join_all((0..300).map(|_| app.get_json(url))).await;

    assert!(answers.iter().all(|(status, answer)| *status == 200 && *answer == json!({"err": 0, "data": false})));
    assert_eq!(app.simulator.call_count("isMeetingRunning"), 0);
}

async fn three_hundred_pollers_make_one_bbb_call_per_cache_period(db: &TestDatabase) {
    // A long period, so that a slow machine cannot cross it while the polls are answered.
    let period = Duration::from_secs(60);
    let app = TestApp::spawn_configured(db, crate::helpers::spawn_simulator().await, |config| {
        config.connectors.values_mut().for_each(|connector| connector.is_running_cache_seconds = period.as_secs());
    })
    .await;
    let meeting = create(&app, "busy").await;
    agent_joins(&app, &meeting).await;
    let url = meeting["is_running_url"].as_str().unwrap();
    let three_hundred_polls = || futures::future::join_all((0..300).map(|_| app.get_json(url)));

    let first = three_hundred_polls().await;
    let calls_in_first_period = app.simulator.call_count("isMeetingRunning");
    app.clock.advance(period);
    let second = three_hundred_polls().await;

    assert!(first.iter().chain(&second).all(|(status, _)| *status == 200));
    assert_eq!(calls_in_first_period, 1, "300 polls within one period");
    assert_eq!(app.simulator.call_count("isMeetingRunning"), 2, "and one more in the next period");
}

/// Two instances on one database, polled alike: the first miss of a period claims the check in
/// the database, the other instance takes what it stored.
async fn three_hundred_pollers_on_two_instances_make_one_bbb_call_per_cache_period(db: &TestDatabase) {
    let period = Duration::from_secs(60);
    let long_period = |config: &mut bbb_connector::config::Config| {
        config.connectors.values_mut().for_each(|connector| connector.is_running_cache_seconds = period.as_secs());
    };
    let first = TestApp::spawn_configured(db, crate::helpers::spawn_simulator().await, long_period).await;
    let second = TestApp::spawn_configured(db, first.simulator.clone(), long_period).await;
    let meeting = create(&first, "busy-pair").await;
    agent_joins(&first, &meeting).await;
    let path = url::Url::parse(meeting["is_running_url"].as_str().unwrap()).unwrap().path().to_owned();
    let urls = [first.url(&path), second.url(&path)];
    let apps = [&first, &second];
    let three_hundred_polls = || futures::future::join_all((0..300).map(|i| apps[i % 2].get_json(&urls[i % 2])));

    let first_period = three_hundred_polls().await;
    let calls_in_first_period = first.simulator.call_count("isMeetingRunning");
    first.clock.advance(period);
    second.clock.advance(period);
    let second_period = three_hundred_polls().await;

    for (status, answer) in first_period.iter().chain(&second_period) {
        assert_eq!((*status, answer), (200, &json!({"err": 0, "data": true})));
    }
    assert_eq!(calls_in_first_period, 1, "300 polls over two instances within one period");
    assert_eq!(first.simulator.call_count("isMeetingRunning"), 2, "and one more in the next period");
}

/// Above the threshold, on two instances: one getMeetings per period between them answers
/// every rendezvous, whichever instance is polled.
async fn two_instances_batch_into_one_get_meetings_per_period(db: &TestDatabase) {
    let batch_above_three = |config: &mut bbb_connector::config::Config| {
        config.connectors.values_mut().for_each(|connector| connector.is_running_batch_threshold = 3);
    };
    let first = TestApp::spawn_configured(db, crate::helpers::spawn_simulator().await, batch_above_three).await;
    let second = TestApp::spawn_configured(db, first.simulator.clone(), batch_above_three).await;
    let mut paths = Vec::new();
    for index in 0..6 {
        let meeting = create(&first, &format!("batched-{index}")).await;
        agent_joins(&first, &meeting).await;
        paths.push(url::Url::parse(meeting["is_running_url"].as_str().unwrap()).unwrap().path().to_owned());
    }
    let poll_every_rendezvous_on_both = || {
        futures::future::join_all(paths.iter().flat_map(|path| [first.url(path), second.url(path)]).map(|url| {
            let app = if url.starts_with(&first.base) { &first } else { &second };
            async move { app.get_json(&url).await }
        }))
    };
    for path in &paths {
        first.get_json(&first.url(path)).await;
    }
    let one_by_one = first.simulator.call_count("isMeetingRunning");

    let mut answers = Vec::new();
    for _ in 0..2 {
        first.clock.advance(PERIOD);
        second.clock.advance(PERIOD);
        answers.extend(poll_every_rendezvous_on_both().await);
    }

    assert_eq!(one_by_one, 6, "one check per rendezvous while below the threshold");
    assert_eq!(first.simulator.call_count("isMeetingRunning"), 6, "none once batched");
    assert_eq!(first.simulator.call_count("getMeetings"), 2, "one per period over both instances");
    for (status, answer) in answers {
        assert_eq!((status, answer), (200, json!({"err": 0, "data": true})));
    }
}

/// The second instance talks to a BBB of its own that knows nothing of the meeting: answering
/// "running, stale" without asking it, it shows that it took the first instance's failure.
async fn a_failed_check_is_shared_with_the_other_instances_for_the_period(db: &TestDatabase) {
    let first = TestApp::spawn(db).await;
    let second = TestApp::spawn(db).await;
    let meeting = create(&first, "shared-failure").await;
    agent_joins(&first, &meeting).await;
    let path = url::Url::parse(meeting["is_running_url"].as_str().unwrap()).unwrap().path().to_owned();
    assert_eq!(first.get_json(&first.url(&path)).await.1["data"], true);
    first.simulator.set_fault(Some(Fault::Html500));
    first.clock.advance(PERIOD);
    second.clock.advance(PERIOD);

    let (_, on_first) = first.get_json(&first.url(&path)).await;
    let (_, on_second) = second.get_json(&second.url(&path)).await;

    let stale = json!({"err": 0, "data": true, "stale": true});
    assert_eq!((on_first, on_second), (stale.clone(), stale));
    assert_eq!(second.simulator.call_count("isMeetingRunning"), 0, "the failure was not asked again");
}

async fn is_running_turns_true_after_the_agent_joins_and_is_persisted(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app, "joined").await;
    let url = meeting["is_running_url"].as_str().unwrap();
    assert_eq!(app.get_json(url).await.1["data"], false);

    agent_joins(&app, &meeting).await;
    let answer = poll_after_one_period(&app, url).await;

    assert_eq!(answer, json!({"err": 0, "data": true}));
    let (_, stored) = app.get_json(&format!("{}?apikey={OPS_KEY}", meeting["url"].as_str().unwrap())).await;
    assert_eq!(stored["data"]["running"], true);
    assert!(stored["data"]["last_time_running"].is_string(), "{stored}");
}

async fn cors_headers_are_on_answers_errors_and_preflights(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app, "cors").await;
    let url = meeting["is_running_url"].as_str().unwrap().to_owned();
    let unknown = app.url("/bbb/visio/meeting/6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6f/is-running/");

    let ok = app.http.get(&url).header("origin", "https://portal.example.org").send().await.unwrap();
    let error = app.http.get(&unknown).header("origin", "https://portal.example.org").send().await.unwrap();
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://portal.example.org")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();

    assert_eq!(ok.status(), 200);
    assert_eq!(error.status(), 404);
    assert!(preflight.status().is_success(), "{}", preflight.status());
    for response in [&ok, &error, &preflight] {
        assert_eq!(response.headers()["access-control-allow-origin"], "*", "{}", response.status());
    }
    let cache_control = ok.headers()["cache-control"].to_str().unwrap();
    let max_age: u64 = cache_control.trim_start_matches("max-age=").parse().unwrap();
    assert!(max_age <= 3, "{cache_control}");
}

async fn a_bbb_outage_answers_the_last_known_state_marked_stale(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app, "outage").await;
    let url = meeting["is_running_url"].as_str().unwrap();
    agent_joins(&app, &meeting).await;
    assert_eq!(poll_after_one_period(&app, url).await["data"], true);
    app.simulator.set_fault(Some(Fault::Down));
    app.clock.advance(PERIOD);

    let answers = futures::future::join_all((0..50).map(|_| app.get_json(url))).await;

    for (status, answer) in answers {
        assert_eq!(status, 200);
        assert_eq!(answer, json!({"err": 0, "data": true, "stale": true}));
    }
}

crate::on_both_backends!(
    polls_of_a_never_joined_rendezvous_never_reach_bbb,
    three_hundred_pollers_make_one_bbb_call_per_cache_period,
    three_hundred_pollers_on_two_instances_make_one_bbb_call_per_cache_period,
    two_instances_batch_into_one_get_meetings_per_period,
    a_failed_check_is_shared_with_the_other_instances_for_the_period,
    is_running_turns_true_after_the_agent_joins_and_is_persisted,
    cors_headers_are_on_answers_errors_and_preflights,
    a_bbb_outage_answers_the_last_known_state_marked_stale,
);
