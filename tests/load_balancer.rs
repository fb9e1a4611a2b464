//! Three instances of the real binary on one PostgreSQL database behind a real nginx (Debian's
//! package, run unprivileged from a scratch directory on loopback ports): one rendezvous for
//! concurrent creates spread over the instances, a nonce refused across instances, BBB calls
//! for 300 pollers bounded whatever instance answers, and an instance killed mid-load costing
//! only what it had in flight. Skipped loudly without nginx or PostgreSQL, unless `CI=true`.

#[path = "it/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bbb_connector::http::signature::sign_query;
use bbb_connector::testing::TestDatabase;
use chrono::Utc;
use serde_json::{json, Value};

use helpers::{spawn_simulator, test_config, OPS_KEY, WCS_KEY, WCS_ORIG};

const TEST: &str = "three_instances_behind_nginx_share_rendezvous_nonces_and_bbb_checks";
/// The is-running cache period of the test connector.
const PERIOD: Duration = Duration::from_secs(3);
const POLLERS: usize = 300;
const POLLING: Duration = Duration::from_secs(10);

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// nginx's path, or None (said on stderr) when it is not installed; with `CI=true` a failure.
fn nginx_or_skip() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists());
    if found.is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "nginx is required (CI=true) but not installed");
        use std::io::Write;
        let line = format!("SKIPPED {TEST}: nginx is not installed (Debian package nginx)\n");
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    found
}

/// Starts `bbb-connector serve` on `config`; returns it and its base URL.
fn start_instance(dir: &Path, index: usize, config: &str) -> (Process, String) {
    let path = dir.join(format!("instance-{index}.toml"));
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbb-connector"))
        .args(["serve", "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).unwrap();
    // Its log goes on: read it, so that a full pipe never stalls it.
    std::thread::spawn(move || std::io::copy(&mut stdout.into_inner().take(u64::MAX), &mut std::io::sink()));
    let base = first_line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in the first line of instance {index}: {first_line}"))
        .trim_end_matches('/')
        .to_owned();
    (Process(child), base)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// nginx in the foreground, one process, everything under `dir`, round robin over `upstreams`,
/// retrying on another instance what one could not answer (as a deployment would).
fn start_nginx(nginx: &Path, dir: &Path, port: u16, upstreams: &[String]) -> Process {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|base| format!("server {} max_fails=1 fail_timeout=30s;\n", base.trim_start_matches("http://")))
        .collect();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 2048; }}\nhttp {{\naccess_log off;\nclient_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\nfastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\n\
         scgi_temp_path {d}/scgi;\nupstream connector {{\n{servers}keepalive 64;\n}}\n\
         server {{\nlisten 127.0.0.1:{port};\nlocation / {{\nproxy_pass http://connector;\n\
         proxy_http_version 1.1;\nproxy_set_header Connection \"\";\nproxy_set_header Host $http_host;\n\
         proxy_connect_timeout 1s;\nproxy_next_upstream error timeout;\n}}\n}}\n}}\n"
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(nginx)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Process(child)
}

async fn wait_until_answers(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while http.get(url).send().await.map(|answer| answer.status() != 200).unwrap_or(true) {
        assert!(Instant::now() < deadline, "{url} does not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_behind_nginx_share_rendezvous_nonces_and_bbb_checks() {
    let Some(nginx) = nginx_or_skip() else { return };
    let Some(db) = TestDatabase::postgres().await else { return };
    db.store().await; // migrated once, before the instances start
    let dir = std::env::temp_dir().join(format!("bbb-connector-lb-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let simulator = spawn_simulator().await;
    let mut config = test_config(&db.url, simulator.base_url().as_str());
    config.connectors.values_mut().for_each(|connector| connector.is_running_cache_seconds = PERIOD.as_secs());
    let config = config.to_toml();
    let mut instances: Vec<(Process, String)> = (0..3).map(|index| start_instance(&dir, index, &config)).collect();
    let port = free_port();
    let upstreams: Vec<String> = instances.iter().map(|(_, base)| base.clone()).collect();
    let _nginx = start_nginx(&nginx, &dir, port, &upstreams);
    let front = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    wait_until_answers(&http, &format!("{front}/healthz")).await;

    // One rendezvous for concurrent creates spread over the instances.
    let create_url = format!("{front}/bbb/visio/meeting/?apikey={OPS_KEY}");
    let creates = futures::future::join_all((0..30).map(|_| {
        let request = http.post(&create_url).json(&json!({"name": "LB", "idempotent_id": "lb-race"})).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    }))
    .await;
    let guids: HashSet<String> =
        creates.iter().map(|answer| answer["data"]["guid"].as_str().unwrap().to_owned()).collect();
    assert_eq!(guids.len(), 1, "{guids:?}");
    let meeting = creates[0]["data"].clone();
    let guid = meeting["guid"].as_str().unwrap();

    // A nonce is accepted once, whatever instance sees it again.
    let query = format!("orig={WCS_ORIG}");
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let signed =
        format!("{front}/bbb/visio/meeting/{guid}/?{}", sign_query(&query, WCS_KEY, "sha256", Utc::now(), &nonce));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(http.get(&signed).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 403, 403], "one nonce, three instances");

    // The agent joins, through nginx, and opens the BBB client.
    let join = http.get(meeting["join_agent_url"].as_str().unwrap().replace(&upstreams[0], &front)).send().await;
    let location = join.unwrap().headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(reqwest::get(&location).await.unwrap().status(), 200);
    simulator.clear_calls();

    // 300 pollers for 10 s, one instance killed halfway.
    let is_running = format!("{front}/bbb/visio/meeting/{guid}/is-running/");
    let (answered, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let started = Instant::now();
    let pollers: Vec<_> = (0..POLLERS)
        .map(|i| {
            let (http, url) = (http.clone(), is_running.clone());
            let (answered, failed) = (Arc::clone(&answered), Arc::clone(&failed));
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis((i * 1000 / POLLERS) as u64)).await;
                while started.elapsed() < POLLING {
                    match http.get(&url).send().await {
                        Ok(answer) if answer.status() == 200 => {
                            let body: Value = answer.json().await.unwrap_or_default();
                            assert_eq!(body["data"], true, "{body}");
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(POLLING / 2).await;
    let (mut killed, _) = instances.remove(1);
    killed.0.kill().unwrap();
    let _ = killed.0.wait();
    for poller in pollers {
        poller.await.unwrap();
    }

    let (answered, failed) = (answered.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    let bbb_calls = simulator.call_count("isMeetingRunning") + simulator.call_count("getMeetings");
    let periods = POLLING.as_secs().div_ceil(PERIOD.as_secs()) as usize + 1;
    eprintln!("{TEST}: {answered} answered, {failed} failed, {bbb_calls} BBB calls over {periods} periods");
    assert!(answered >= POLLERS * 5, "{answered} answers: the pollers kept polling");
    assert!(failed <= POLLERS / 3, "only what the killed instance had in flight: {failed} failed");
    assert!(bbb_calls <= periods, "{bbb_calls} BBB calls for {periods} periods");
    drop(instances);
    let _ = std::fs::remove_dir_all(&dir);
}
