//! Process-level robustness, in a test binary of its own so that restarting PostgreSQL cannot
//! disturb other tests: graceful shutdown with requests in flight, and a PostgreSQL restart while
//! requests flow (only where the cluster is ours: CI).

#[path = "it/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use serde_json::{json, Value};

use helpers::{spawn_simulator, test_config, TestApp, OPS_KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_a_hundred_requests_in_flight_finish_then_exits_0() {
    let dir = std::env::temp_dir().join(format!("bbb-connector-shutdown-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let simulator = spawn_simulator().await;
    let mut config = test_config("sqlite://bbb-connector.db", simulator.base_url().as_str());
    config.connectors.values_mut().for_each(|connector| connector.timeout_seconds = 10);
    std::fs::write(dir.join("bbb-connector.toml"), config.to_toml()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbb-connector"))
        .args(["serve", "--config", "bbb-connector.toml"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    let base = first_line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    simulator.set_fault(Some(Fault::Slow(Duration::from_secs(2))));
    let http = reqwest::Client::new();
    let requests = (0..100).map(|i| {
        let (http, url) = (http.clone(), format!("{base}/bbb/visio/meeting/?apikey={OPS_KEY}"));
        tokio::spawn(async move {
            let answer =
                http.post(url).json(&json!({"name": "Shutdown", "idempotent_id": format!("s-{i}")})).send().await?;
            answer.json::<Value>().await
        })
    });
    let in_flight: Vec<_> = requests.collect();
    tokio::time::sleep(Duration::from_millis(700)).await;

    let signalled = Instant::now();
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let mut completed = 0;
    for request in in_flight {
        let answer = request.await.unwrap().expect("an in-flight request completes");
        assert_eq!(answer["err"], 0, "{answer}");
        completed += 1;
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert_eq!(completed, 100);
    assert!(status.success(), "exit status {status}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The local cluster can be restarted only where it is ours: in CI, with pg_ctlcluster.
fn local_cluster_version() -> Option<String> {
    let ours = std::env::var("CI").is_ok_and(|value| value == "true");
    let version =
        std::fs::read_dir("/etc/postgresql").ok()?.filter_map(Result::ok).next()?.file_name().into_string().ok()?;
    (ours && Command::new("pg_ctlcluster").arg("--help").output().is_ok()).then_some(version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_fails_requests_cleanly_then_recovers_without_losing_rows() {
    let Some(version) = local_cluster_version() else {
        eprintln!("skipping the PostgreSQL restart test: not in CI or no local cluster");
        return;
    };
    let db = TestDatabase::postgres().await.expect("PostgreSQL is required in CI");
    let app = TestApp::spawn(&db).await;
    let mut committed = Vec::new();
    for i in 0..20 {
        committed
            .push(app.create(&json!({"name": "Before", "idempotent_id": format!("before-{i}")})).await["guid"].clone());
    }
    let create_url = app.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}"));

    let restart = tokio::task::spawn_blocking(move || {
        Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", &version, "main", "restart"]).status()
    });
    let mut statuses = Vec::new();
    let mut i = 0;
    while !restart.is_finished() {
        let response =
            app.post_json(&create_url, &json!({"name": "During", "idempotent_id": format!("during-{i}")})).await;
        statuses.push(response.status().as_u16());
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(restart.await.unwrap().unwrap().success(), "pg_ctlcluster restart");
    let recovered = Instant::now();
    loop {
        let response = app.post_json(&create_url, &json!({"name": "After", "idempotent_id": "after"})).await;
        if response.status() == 200 {
            break;
        }
        assert!(recovered.elapsed() < Duration::from_secs(15), "no recovery: {}", response.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert!(statuses.iter().all(|status| [200, 503].contains(status)), "{statuses:?}");
    for guid in committed {
        let (status, _) =
            app.get_json(&app.url(&format!("/bbb/visio/meeting/{}/?apikey={OPS_KEY}", guid.as_str().unwrap()))).await;
        assert_eq!(status, 200, "a rendezvous committed before the restart is still there");
    }
}
