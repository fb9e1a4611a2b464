//! The events streams (`.../events/`, and the pages' with presence): the state at connection, the
//! start seen within one cache period from one shared check, the end at once, the two-minute
//! rule on the service's clock, presence, and the cap per client address.

use std::time::{Duration, Instant};

use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use serde_json::{json, Value};

use crate::helpers::{spawn_simulator, TestApp, OPS_KEY};

const PATIENCE: Duration = Duration::from_secs(10);

/// An open `text/event-stream` answer, read event by event.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One event: its fields as received.
#[derive(Debug, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    pub retry: Option<u64>,
}

impl EventStream {
    pub async fn open(app: &TestApp, url: &str) -> Self {
        let response = app.http.get(url).header("accept", "text/event-stream").send().await.expect("stream opened");
        assert_eq!(response.status(), 200, "{url}");
        Self { response, buffer: String::new() }
    }

    /// The next event (comments skipped).
    pub async fn next_event(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event.event = Some(name.trim().to_owned());
                    } else if let Some(data) = line.strip_prefix("data:") {
                        event.data.push_str(data.trim_start());
                    } else if let Some(retry) = line.strip_prefix("retry:") {
                        event.retry = retry.trim().parse().ok();
                    }
                }
                if event.event.is_some() || !event.data.is_empty() || event.retry.is_some() {
                    return event;
                }
                continue;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("an event in time")
                .expect("the stream goes on")
                .expect("the stream is not closed");
            self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8 events"));
        }
    }

    /// The next `state` event's data.
    pub async fn next_state(&mut self) -> Value {
        let event = self.next_event().await;
        assert_eq!(event.event.as_deref(), Some("state"), "{event:?}");
        serde_json::from_str(&event.data).expect("JSON data")
    }

    /// States until one satisfies `wanted`; fails after the patience.
    pub async fn state_where(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            assert!(Instant::now() < deadline, "the wanted state never came");
            let state = self.next_state().await;
            if wanted(&state) {
                return state;
            }
        }
    }
}

/// The app with a one-second cache period, so that the checks come quickly.
async fn spawn_fast(db: &TestDatabase) -> TestApp {
    TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        for connector in config.connectors.values_mut() {
            connector.is_running_cache_seconds = 1;
        }
    })
    .await
}

async fn create(app: &TestApp) -> Value {
    app.create(&json!({"name": "RDV", "idempotent_id": "events"})).await
}

/// Follows the join link and opens the simulator's client page: the participant is present.
pub async fn enter(app: &TestApp, join_url: &str) {
    let response = app.get(join_url).await;
    assert_eq!(response.status(), 302);
    let client_page = response.headers()["location"].to_str().unwrap().to_owned();
    let entered = reqwest::get(&client_page).await.expect("BBB's join answers");
    assert!(entered.status().is_success(), "the client page answers: {} {client_page}", entered.status());
}

async fn the_stream_opens_with_the_state_and_a_reconnection_delay(db: &TestDatabase) {
    let app = spawn_fast(db).await;
    let meeting = create(&app).await;
    let url = meeting["events_url"].as_str().unwrap();

    let response = app.http.get(url).header("origin", "https://portal.example.net").send().await.unwrap();
    let headers = response.headers().clone();
    let mut stream = EventStream { response, buffer: String::new() };
    let first = stream.next_event().await;

    assert!(headers["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(first.retry, Some(3000));
    assert_eq!(first.event.as_deref(), Some("state"));
    let state: Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!((&state["running"], &state["ended"], &state["stale"]), (&json!(false), &json!(false), &json!(false)));
    assert!(state.get("user_page_open").is_none(), "no presence on the keyless stream: {state}");
    let checked = stream.state_where(|state| state["checked_at"].is_string()).await;
    assert_eq!(checked["running"], false);
}

async fn a_start_reaches_every_stream_from_one_check_per_period(db: &TestDatabase) {
    let app = spawn_fast(db).await;
    let meeting = create(&app).await;
    let mut streams = Vec::new();
    for url in [&meeting["events_url"], &meeting["events_url"], &meeting["events_url"]] {
        streams.push(EventStream::open(&app, url.as_str().unwrap()).await);
    }
    let user_page = meeting["user_page_url"].as_str().unwrap();
    streams.push(EventStream::open(&app, &format!("{user_page}events/")).await);
    let started = Instant::now();

    enter(&app, meeting["join_agent_url"].as_str().unwrap()).await;

    for stream in &mut streams {
        let state = stream.state_where(|state| state["running"] == true).await;
        assert_eq!((&state["ended"], &state["stale"]), (&json!(false), &json!(false)));
        assert!(state["checked_at"].is_string());
    }
    let periods = started.elapsed().as_secs() + 2;
    let checks = app.simulator.call_count("isMeetingRunning");
    assert!(checks as u64 <= periods, "{checks} BBB checks for 4 streams in {periods} periods");
}

async fn the_end_endpoint_and_the_callback_end_the_streams_at_once(db: &TestDatabase) {
    let app = spawn_fast(db).await;
    let meeting = create(&app).await;
    let guid = meeting["guid"].as_str().unwrap();
    let mut stream = EventStream::open(&app, meeting["events_url"].as_str().unwrap()).await;
    enter(&app, meeting["join_agent_url"].as_str().unwrap()).await;
    stream.state_where(|state| state["running"] == true).await;

    let ended =
        app.http.post(app.url(&format!("/bbb/visio/meeting/{guid}/end/?apikey={OPS_KEY}"))).send().await.unwrap();
    let asked = Instant::now();

    assert_eq!(ended.status(), 200);
    let state = stream.state_where(|state| state["ended"] == true).await;
    assert_eq!(state["running"], false);
    assert!(asked.elapsed() < Duration::from_millis(900), "at once, not at the next check");
}

async fn a_meeting_not_running_for_two_minutes_after_it_ran_is_ended(db: &TestDatabase) {
    let app = spawn_fast(db).await;
    let meeting = create(&app).await;
    let guid = meeting["guid"].as_str().unwrap();
    let mut stream = EventStream::open(&app, meeting["events_url"].as_str().unwrap()).await;
    enter(&app, meeting["join_agent_url"].as_str().unwrap()).await;
    stream.state_where(|state| state["running"] == true).await;
    let agent = app.simulator.meeting(guid).unwrap().attendees[0].full_name.clone();

    app.simulator.mark_gone(guid, &agent);
    let emptied = stream.state_where(|state| state["running"] == false).await;
    app.clock.advance(Duration::from_secs(121));
    let ended = stream.state_where(|state| state["ended"] == true).await;

    assert_eq!(emptied["ended"], false, "an emptied room is not ended yet");
    assert_eq!(ended["running"], false);
}

async fn an_unreachable_bbb_makes_the_state_stale(db: &TestDatabase) {
    let app = spawn_fast(db).await;
    let meeting = create(&app).await;
    let mut stream = EventStream::open(&app, meeting["events_url"].as_str().unwrap()).await;
    enter(&app, meeting["join_agent_url"].as_str().unwrap()).await;
    stream.state_where(|state| state["running"] == true).await;

    app.simulator.set_fault(Some(Fault::Down));
    let stale = stream.state_where(|state| state["stale"] == true).await;
    app.simulator.set_fault(None);
    let back = stream.state_where(|state| state["stale"] == false).await;

    assert_eq!(stale["running"], true, "the last known state");
    assert_eq!(back["running"], true);
}

async fn the_agent_stream_says_whether_the_user_page_is_open(db: &TestDatabase) {
    let app = spawn_fast(db).await;
    let meeting = create(&app).await;
    let agent_events = format!("{}events/", meeting["agent_page_url"].as_str().unwrap());
    let user_events = format!("{}events/", meeting["user_page_url"].as_str().unwrap());
    let mut agent = EventStream::open(&app, &agent_events).await;
    let alone = agent.next_state().await;

    let user = EventStream::open(&app, &user_events).await;
    let waiting = agent.state_where(|state| state["user_page_open"] == true).await;
    drop(user);
    let gone = agent.state_where(|state| state["user_page_open"] == false).await;

    assert_eq!(alone["user_page_open"], false);
    assert_eq!(waiting["running"], false);
    assert_eq!(gone["running"], false);
}

async fn page_streams_need_the_right_key(db: &TestDatabase) {
    let app = spawn_fast(db).await;
    let meeting = create(&app).await;
    let wrong = format!("{}page/user/0123456789abcdef0123456789abcdef/events/", meeting["url"].as_str().unwrap());

    let (status, answer) = app.get_json(&wrong).await;

    assert_eq!(status, 404);
    assert_eq!(answer["err_class"], "not-found");
}

async fn a_client_cannot_hold_more_streams_than_its_cap(db: &TestDatabase) {
    let app = TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        config.limits.event_streams_per_client = 2;
    })
    .await;
    let meeting = create(&app).await;
    let url = meeting["events_url"].as_str().unwrap();
    let first = EventStream::open(&app, url).await;
    let _second = EventStream::open(&app, url).await;

    let refused = app.get(url).await;
    drop(first);
    let started = Instant::now();
    let mut again = app.get(url).await;
    while again.status() != 200 && started.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(50)).await;
        again = app.get(url).await;
    }

    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(again.status(), 200, "a closed stream gives its slot back");
}

async fn open_streams_end_with_the_service_rather_than_hold_its_shutdown(db: &TestDatabase) {
    let app = spawn_fast(db).await;
    let meeting = create(&app).await;
    let mut stream = EventStream::open(&app, meeting["events_url"].as_str().unwrap()).await;
    stream.next_state().await;

    drop(app);
    let ended =
        tokio::time::timeout(PATIENCE, async { while let Ok(Some(_)) = stream.response.chunk().await {} }).await;

    assert!(ended.is_ok(), "the stream ended with the service");
}

crate::on_both_backends!(
    open_streams_end_with_the_service_rather_than_hold_its_shutdown,
    the_stream_opens_with_the_state_and_a_reconnection_delay,
    a_start_reaches_every_stream_from_one_check_per_period,
    the_end_endpoint_and_the_callback_end_the_streams_at_once,
    a_meeting_not_running_for_two_minutes_after_it_ran_is_ended,
    an_unreachable_bbb_makes_the_state_stale,
    the_agent_stream_says_whether_the_user_page_is_open,
    page_streams_need_the_right_key,
    a_client_cannot_hold_more_streams_than_its_cap,
);

/// Two instances on one PostgreSQL database and one BBB: `first` checks every second, `second`
/// once a minute, so what `second`'s streams see in between came from `first`.
async fn two_instances(db: &TestDatabase) -> (TestApp, TestApp) {
    let first = spawn_fast(db).await;
    let second = TestApp::spawn_configured(db, first.simulator.clone(), |config| {
        for connector in config.connectors.values_mut() {
            connector.is_running_cache_seconds = 60;
        }
    })
    .await;
    (first, second)
}

async fn a_start_and_an_end_seen_by_one_instance_reach_the_streams_of_another_within_a_second(db: &TestDatabase) {
    let (first, second) = two_instances(db).await;
    let meeting = create(&first).await;
    let guid = meeting["guid"].as_str().unwrap();
    let url = meeting["events_url"].as_str().unwrap();
    let mut here = EventStream::open(&first, url).await;
    let mut there = EventStream::open(&second, &url.replace(&first.base, &second.base)).await;
    there.next_state().await;

    enter(&first, meeting["join_agent_url"].as_str().unwrap()).await;
    here.state_where(|state| state["running"] == true).await;
    let seen_here = Instant::now();
    there.state_where(|state| state["running"] == true).await;
    let running_delay = seen_here.elapsed();
    let ended =
        first.http.post(first.url(&format!("/bbb/visio/meeting/{guid}/end/?apikey={OPS_KEY}"))).send().await.unwrap();
    let asked = Instant::now();
    there.state_where(|state| state["ended"] == true).await;

    assert_eq!(ended.status(), 200);
    assert!(running_delay < Duration::from_secs(1), "running reached the other instance in {running_delay:?}");
    assert!(asked.elapsed() < Duration::from_secs(1), "the end reached the other instance in {:?}", asked.elapsed());
}

async fn the_agent_sees_a_user_page_open_on_another_instance(db: &TestDatabase) {
    let (first, second) = two_instances(db).await;
    let meeting = create(&first).await;
    let agent_events = format!("{}events/", meeting["agent_page_url"].as_str().unwrap());
    let user_events = format!("{}events/", meeting["user_page_url"].as_str().unwrap());
    let mut agent = EventStream::open(&second, &agent_events.replace(&first.base, &second.base)).await;
    agent.next_state().await;

    let user = EventStream::open(&first, &user_events).await;
    let opened = Instant::now();
    agent.state_where(|state| state["user_page_open"] == true).await;
    let open_delay = opened.elapsed();
    drop(user);
    agent.state_where(|state| state["user_page_open"] == false).await;

    assert!(open_delay < Duration::from_secs(1), "presence reached the other instance in {open_delay:?}");
}

/// Only PostgreSQL is shared between instances.
mod across_instances {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_start_and_an_end_seen_by_one_instance_reach_the_streams_of_another_within_a_second() {
        let Some(db) = bbb_connector::testing::TestDatabase::postgres().await else { return };
        super::a_start_and_an_end_seen_by_one_instance_reach_the_streams_of_another_within_a_second(&db).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_agent_sees_a_user_page_open_on_another_instance() {
        let Some(db) = bbb_connector::testing::TestDatabase::postgres().await else { return };
        super::the_agent_sees_a_user_page_open_on_another_instance(&db).await;
    }
}
