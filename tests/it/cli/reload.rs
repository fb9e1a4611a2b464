//! SIGHUP reloads the configuration of a running `serve` (DESIGN §2), tried on the real process.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bbb_connector::config::{Config, ConnectorConfig, ACCESS_ANONYMOUS};
use bbb_connector::simulator::{Fault, Simulator};
use serde_json::{json, Value};

use super::{Scratch, Served};
use crate::helpers::{spawn_simulator, test_config, OPS_KEY};

/// How long a reload or its effect may take to show.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long the simulator holds the create that is in flight during a reload.
const SLOW_BBB: Duration = Duration::from_secs(2);

/// The test configuration with `visio` keeping its is-running answers for a minute.
fn config(simulator: &Simulator) -> Config {
    let mut config = test_config("sqlite://bbb-connector.db", simulator.base_url().as_str());
    for connector in config.connectors.values_mut() {
        connector.timeout_seconds = 5;
    }
    config.connectors.get_mut("visio").unwrap().is_running_cache_seconds = 60;
    config
}

fn hang_up(served: &Served) {
    let status = Command::new("kill").args(["-HUP", &served.child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -HUP failed");
}

/// The first log line holding `needle`, waiting for it.
async fn line_with(log: &Arc<Mutex<String>>, needle: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let found = log.lock().unwrap().lines().find(|line| line.contains(needle)).map(str::to_owned);
        if let Some(line) = found {
            return line;
        }
        assert!(Instant::now() < deadline, "no log line with {needle:?} within {PATIENCE:?}:\n{}", log.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the service's database holds `count` rendezvous: a create got that far (its
/// connector in hand, its BBB call next).
async fn rendezvous_stored(scratch: &Scratch, count: u64) {
    let url = format!("sqlite://{}", scratch.0.join("bbb-connector.db").display());
    let store = bbb_connector::store::connect(&url, &Default::default()).await.unwrap();
    let everything = chrono::Utc::now() + chrono::Duration::days(1);
    let deadline = Instant::now() + PATIENCE;
    while store.count_inactive(everything).await.unwrap() < count {
        assert!(Instant::now() < deadline, "fewer than {count} rendezvous stored within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The status of `GET url`, polled until it is `expected`.
async fn status_becomes(url: &str, expected: u16) -> u16 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = reqwest::get(url).await.unwrap().status().as_u16();
        if status == expected || Instant::now() >= deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_connectors_while_requests_in_flight_finish_and_caches_survive() {
    let scratch = Scratch::new();
    let simulator = spawn_simulator().await;
    let before = config(&simulator);
    let path = scratch.write("bbb-connector.toml", &before.to_toml());
    let served = Served::start(&scratch, &["serve", "--config", path.to_str().unwrap()]);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let create = |slug: &str, query: &str, id: &str| {
        let request = http.post(format!("{}/bbb/{slug}/meeting/{query}", served.base));
        request.json(&json!({"name": "RDV", "idempotent_id": id})).send()
    };
    let meeting: Value = create("visio", &format!("?apikey={OPS_KEY}"), "cached").await.unwrap().json().await.unwrap();
    let is_running = meeting["data"]["is_running_url"].as_str().unwrap().to_owned();
    let guid = meeting["data"]["guid"].as_str().unwrap().to_owned();
    let user_page = meeting["data"]["user_page_url"].as_str().unwrap().to_owned();
    let page = |url: String| async move {
        let response = reqwest::get(url).await.unwrap();
        let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        (policy, response.text().await.unwrap())
    };
    let (policy_before, page_before) = page(user_page.clone()).await;
    let checks_of_the_meeting = || {
        let calls = simulator.calls().into_iter().filter(|call| call.action == "isMeetingRunning");
        calls.filter(|call| call.param("meetingID") == Some(guid.as_str())).count()
    };
    let join = http.get(meeting["data"]["join_agent_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(join.status(), 302, "once a join link is followed, is-running asks BBB");
    assert_eq!(reqwest::get(&is_running).await.unwrap().status(), 200);
    let checks_before = checks_of_the_meeting();
    simulator.set_fault(Some(Fault::Slow(SLOW_BBB)));
    let in_flight = tokio::spawn(create("open", "", "in-flight"));
    rendezvous_stored(&scratch, 2).await;
    let fresh = ConnectorConfig::new(simulator.base_url().as_str(), crate::helpers::SHARED_SECRET)
        .unwrap()
        .with_access(&[ACCESS_ANONYMOUS]);
    let mut after = before.clone().with_connector("fresh", fresh);
    after.connectors.remove("open");
    after.branding.name = Some("Ville de Sainte-Foy".to_owned());
    after.branding.logo_url = Some("https://cdn.example.org/logo.png".parse().unwrap());
    after.branding.accent_colour = Some("#1d7a36".to_owned());
    scratch.write("bbb-connector.toml", &after.to_toml());

    hang_up(&served);
    let reloaded = line_with(&served.log, "configuration reloaded").await;
    let finished_before_the_reload = in_flight.is_finished();
    let in_flight = in_flight.await.unwrap().unwrap();
    let (in_flight_status, in_flight_answer): (u16, Value) =
        (in_flight.status().as_u16(), in_flight.json().await.unwrap());
    simulator.set_fault(None);
    let fresh_status = status_becomes(&format!("{}/bbb/fresh/status/", served.base), 200).await;
    let removed: Value = reqwest::get(format!("{}/bbb/open/status/", served.base)).await.unwrap().json().await.unwrap();
    let polled = reqwest::get(&is_running).await.unwrap().status();
    let (policy_after, page_after) = page(user_page).await;
    let checks_after = checks_of_the_meeting();
    let log = Arc::clone(&served.log);
    assert!(served.terminate().success());

    assert!(!finished_before_the_reload, "the create must still be in flight when the reload is done");
    assert_eq!((in_flight_status, &in_flight_answer["err"]), (200, &json!(0)), "{in_flight_answer}");
    assert!(reloaded.contains("INFO"), "{reloaded}");
    assert!(reloaded.contains("connectors added: fresh") && reloaded.contains("removed: open"), "{reloaded}");
    assert!(reloaded.contains("4 api user(s)"), "{reloaded}");
    assert_eq!(fresh_status, 200, "the added connector answers");
    assert_eq!(removed["err_class"], "not-found", "{removed}");
    assert_eq!(polled, 200);
    assert!(!page_before.contains("Sainte-Foy") && !policy_before.contains("cdn.example.org"), "{policy_before}");
    assert!(page_after.contains("Ville de Sainte-Foy</span>"), "the reloaded branding is on the page");
    assert!(page_after.contains("<style>:root{--accent:#1d7a36}</style>"), "with its accent");
    assert!(policy_after.contains("img-src 'self' https://cdn.example.org;"), "{policy_after}");
    let style_sources = |policy: &str| policy.split("style-src ").nth(1).unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(style_sources(&policy_after).split(' ').count(), 2, "and the accent's hash: {policy_after}");
    assert!(style_sources(&policy_after).starts_with(&style_sources(&policy_before)), "{policy_after}");
    assert_eq!(checks_before, 1, "BBB is asked once before the reload");
    assert_eq!(checks_after, checks_before, "the unchanged connector kept its is-running cache");
    let log = log.lock().unwrap().clone();
    assert!(!log.contains("take effect only at a restart"), "nothing waits for a restart:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_refuses_a_file_that_does_not_validate_and_names_the_keys_that_wait_for_a_restart() {
    let scratch = Scratch::new();
    let simulator = spawn_simulator().await;
    let free_port = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (port, other_port) = (free_port(), free_port());
    let running = Config { listen: format!("127.0.0.1:{port}"), ..config(&simulator) };
    let path = scratch.write("bbb-connector.toml", &running.to_toml());
    let served = Served::spawn(&mut scratch.command(&["serve", "--config", path.to_str().unwrap()]));
    let status_url = format!("{}/bbb/visio/status/?apikey={OPS_KEY}", served.base);
    assert_eq!(served.base, format!("http://127.0.0.1:{port}"), "listen comes from the file");

    scratch.write("bbb-connector.toml", &format!("reload_me = true\n{}", running.to_toml()));
    hang_up(&served);
    let refused = line_with(&served.log, "reload_me").await;
    let still_served = reqwest::get(&status_url).await.unwrap().status();
    let moved = Config { listen: format!("127.0.0.1:{other_port}"), ..running.clone() };
    scratch.write("bbb-connector.toml", &moved.to_toml());
    hang_up(&served);
    let waiting = line_with(&served.log, "take effect only at a restart").await;
    let reloaded = line_with(&served.log, "configuration reloaded").await;
    let on_the_old_port = reqwest::get(&status_url).await.unwrap().status();
    let on_the_new_port = reqwest::get(format!("http://127.0.0.1:{other_port}/healthz")).await;
    assert!(served.terminate().success());

    assert!(refused.contains("ERROR") && refused.contains("not reloaded"), "{refused}");
    assert_eq!(still_served, 200, "the running configuration stays in force");
    assert!(waiting.contains("WARN") && waiting.contains("listen"), "{waiting}");
    assert!(!waiting.contains(&other_port.to_string()), "the new value is not logged: {waiting}");
    assert!(reloaded.contains("no connector added, changed or removed"), "{reloaded}");
    assert_eq!(on_the_old_port, 200, "the service stays on its port until a restart");
    assert!(on_the_new_port.is_err(), "nothing listens on the new port");
}
