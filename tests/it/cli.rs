//! The command line, run as a user would: the binary in a scratch directory.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_bbb-connector");

/// A scratch working directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("bbb-connector-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command.args(args).current_dir(&self.0).env("RUST_LOG", "info");
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("BBB_CONNECTOR_")) {
            command.env_remove(name);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A started `serve`, the first line it logged and everything it logs after.
struct Served {
    child: Child,
    first_line: String,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    fn start(scratch: &Scratch, args: &[&str]) -> Self {
        let mut child = scratch
            .command(args)
            .env("BBB_CONNECTOR_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first_line).unwrap();
        let log = Arc::new(Mutex::new(first_line.clone()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let base = first_line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in the first log line: {first_line:?}"))
            .trim_end_matches('/')
            .to_owned();
        Self { child, first_line, base, log }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill().unwrap();
        panic!("serve did not stop within 10 s of SIGTERM");
    }
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn serve_without_configuration_starts_on_sqlite_and_answers_probes() {
    let scratch = Scratch::new();

    let served = Served::start(&scratch, &["serve"]);
    let first_line = served.first_line.clone();
    let health = get_json(&format!("{}/healthz", served.base)).await;
    let ready = get_json(&format!("{}/readyz", served.base)).await;
    let status = served.terminate();

    assert!(first_line.contains("listening on http://127.0.0.1:"), "{first_line}");
    assert!(first_line.contains("sqlite://bbb-connector.db"), "{first_line}");
    assert_eq!(health["err"], 0);
    assert_eq!(ready["err"], 0);
    assert!(status.success(), "SIGTERM must end serve with exit code 0, got {status}");
    assert!(scratch.0.join("bbb-connector.db").exists(), "the SQLite file is created in the working directory");
}

#[test]
fn configuration_mistakes_exit_2_with_one_line_naming_the_key() {
    let scratch = Scratch::new();
    let cases = [
        ("listen = \"127.0.0.1:0\"\nlisten_port = 8080\n", "listen_port"),
        (
            "[connectors.visio]\nbbb_url = \"https://bbb.example.org/bigbluebutton/\"\n",
            "connectors.visio.shared_secret",
        ),
        ("[connectors.visio]\nbbb_url = \"::not a url\"\nshared_secret = \"s\"\n", "connectors.visio.bbb_url"),
        (
            "[connectors.visio]\nbbb_url = \"https://b/\"\nshared_secret = \"s\"\nchecksum_algorithm = \"md5\"\n",
            "connectors.visio.checksum_algorithm",
        ),
        (
            "[connectors.visio]\nbbb_url = \"https://b/\"\nshared_secret = \"s\"\naccess = [\"nobody\"]\n",
            "connectors.visio.access",
        ),
        ("[[api_users]]\nname = \"x\"\nkind = \"token\"\nkey = \"k\"\n", "api_users[0].kind"),
    ];

    for (text, key) in cases {
        let path = scratch.write("bad.toml", text);

        let output = scratch.run(&["check", "--config", path.to_str().unwrap()]);

        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{text:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{text:?}: one line expected, got {stderr}");
        assert!(stderr.contains(key), "{text:?}: {stderr} should name {key}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn the_environment_overrides_the_file_and_a_bad_database_url_is_refused() {
    let scratch = Scratch::new();

    let output = scratch.command(&["migrate"]).env("BBB_CONNECTOR_DATABASE_URL", "mysql://db/x").output().unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("database_url"), "{}", stderr_of(&output));
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let scratch = Scratch::new();
    let unused_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://app:hunter2@127.0.0.1:{unused_port}/bbb");

    let output = scratch.command(&["migrate"]).env("BBB_CONNECTOR_DATABASE_URL", &url).output().unwrap();

    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("postgres://app:***@127.0.0.1:{unused_port}/bbb")), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
}

#[test]
fn migrate_check_and_purge_work_on_the_default_sqlite_database() {
    let scratch = Scratch::new();

    let migrate = scratch.run(&["migrate"]);
    let check = scratch.run(&["check"]);
    let purge = scratch.run(&["purge", "--older-than", "90d"]);

    assert!(migrate.status.success(), "{}", stderr_of(&migrate));
    assert!(check.status.success(), "{}", stderr_of(&check));
    assert!(String::from_utf8_lossy(&check.stdout).contains("database: ok"));
    assert!(purge.status.success(), "{}", stderr_of(&purge));
    assert!(String::from_utf8_lossy(&purge.stdout).contains("purged 0 rendezvous"));
}

#[test]
fn a_malformed_age_or_an_unknown_subcommand_shows_the_usage() {
    let scratch = Scratch::new();

    for args in [&["purge", "--older-than", "ninety days"][..], &["frobnicate"], &["serve", "--colour"]] {
        let output = scratch.run(args);

        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage:") || stderr.contains("For more information"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn the_service_log_holds_no_secret_through_the_whole_flow() {
    let scratch = Scratch::new();
    let simulator = crate::helpers::spawn_simulator().await;
    let config = crate::helpers::test_config("sqlite://bbb-connector.db", simulator.base_url().as_str());
    let path = scratch.write("bbb-connector.toml", &config.to_toml());
    let served = Served::start(&scratch, &["serve", "--config", path.to_str().unwrap()]);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let create_url = format!("{}/bbb/visio/meeting/?apikey={}", served.base, crate::helpers::OPS_KEY);
    let body = serde_json::json!({"name": "Secret check", "idempotent_id": "secrets"});

    let answer: serde_json::Value = http.post(&create_url).json(&body).send().await.unwrap().json().await.unwrap();
    let meeting = &answer["data"];
    let join = http.get(meeting["join_agent_url"].as_str().unwrap()).send().await.unwrap();
    let location = join.headers()["location"].to_str().unwrap().to_owned();
    http.get(meeting["is_running_url"].as_str().unwrap()).send().await.unwrap();
    http.get(format!("{}/bbb/visio/meeting/?apikey=wrong-key", served.base)).send().await.unwrap();
    let log = Arc::clone(&served.log);
    assert!(served.terminate().success());

    let log = log.lock().unwrap().clone();
    let checksum = location.split("checksum=").nth(1).unwrap();
    let key_of =
        |field: &str| meeting[field].as_str().unwrap().trim_end_matches('/').rsplit('/').next().unwrap().to_owned();
    let secrets = [
        crate::helpers::SHARED_SECRET.to_owned(),
        crate::helpers::OPS_KEY.to_owned(),
        crate::helpers::SECRET_KEY.to_owned(),
        crate::helpers::PORTAL_PASSWORD.to_owned(),
        "wrong-key".to_owned(),
        checksum.to_owned(),
        key_of("join_agent_url"),
        key_of("join_user_url"),
    ];
    assert!(log.contains("request served"), "the requests are logged: {log}");
    for secret in secrets {
        assert!(!log.contains(&secret), "{secret} leaked into the log:\n{log}");
    }
    assert!(!log.contains("checksum="), "a signed BBB URL leaked into the log:\n{log}");
}

#[tokio::test]
async fn a_client_cannot_forge_lines_or_fields_in_the_text_log() {
    let scratch = Scratch::new();
    let simulator = crate::helpers::spawn_simulator().await;
    let config = crate::helpers::test_config("sqlite://bbb-connector.db", simulator.base_url().as_str());
    let path = scratch.write("bbb-connector.toml", &config.to_toml());
    let served = Served::start(&scratch, &["serve", "--config", path.to_str().unwrap()]);
    let http = reqwest::Client::new();
    let forged = "\n2026-01-01T00:00:00Z ERROR forged line";
    // The error message quotes the flat key the caller sent, line break included.
    let body = serde_json::json!({"name": "RDV", "idempotent_id": "1", format!("a/b{forged}"): 1, "a": 2});
    http.post(format!("{}/bbb/open/meeting/", served.base)).json(&body).send().await.unwrap();
    http.get(format!("{}/healthz", served.base))
        .header("x-request-id", "x level=ERROR")
        .header("publik-caller-url", "https://wcs/ status=200 forged=yes")
        .send()
        .await
        .unwrap();
    let log = Arc::clone(&served.log);
    assert!(served.terminate().success());

    let log = log.lock().unwrap().clone();
    assert!(log.contains("request refused"), "the refusal is logged: {log}");
    assert!(!log.lines().any(|line| line.starts_with("2026-01-01T00:00:00Z")), "a forged line:\n{log}");
    assert!(!log.contains("request_id=x level=ERROR"), "a forged field:\n{log}");
    assert!(log.contains("caller_url=\"https://wcs/ status=200 forged=yes\""), "the caller URL is quoted:\n{log}");
}

fn connector_config(bbb_url: &str, secret: &str) -> String {
    format!("[connectors.visio]\nbbb_url = \"{bbb_url}\"\nshared_secret = \"{secret}\"\ntimeout_seconds = 1\n")
}

#[tokio::test]
async fn check_reports_each_bbb_server_or_the_exact_failure() {
    let scratch = Scratch::new();
    let simulator = crate::helpers::spawn_simulator().await;
    let unused_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cases = [
        (connector_config(simulator.base_url().as_str(), crate::helpers::SHARED_SECRET), 0, "connector visio: ok"),
        (
            connector_config(simulator.base_url().as_str(), "wrong-secret"),
            1,
            "shared secret or the checksum algorithm is wrong",
        ),
        (connector_config(&format!("http://127.0.0.1:{unused_port}/bigbluebutton/"), "s"), 1, "unreachable"),
    ];

    for (text, code, expected) in cases {
        let path = scratch.write("check.toml", &text);

        let output = tokio::task::spawn_blocking({
            let command = scratch.command(&["check", "--config", path.to_str().unwrap()]);
            move || {
                let mut command = command;
                command.output().unwrap()
            }
        })
        .await
        .unwrap();

        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr_of(&output));
        assert_eq!(output.status.code(), Some(code), "{printed}");
        assert!(printed.contains(expected), "{expected}: {printed}");
        assert!(!printed.contains("wrong-secret") && !printed.contains(crate::helpers::SHARED_SECRET), "{printed}");
        assert!(printed.contains("warning: public_url is not set"), "no Host warning: {printed}");
    }
}

#[tokio::test]
async fn simulate_bbb_serves_a_signed_api() {
    let scratch = Scratch::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = scratch
        .command(&["simulate-bbb", "--listen", &format!("127.0.0.1:{port}"), "--secret", "sim-secret"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    let query = "";
    let signed =
        bbb_connector::bbb::checksum(bbb_connector::bbb::ChecksumAlgorithm::Sha1, "getMeetings", query, "sim-secret");

    let root = reqwest::get(format!("http://127.0.0.1:{port}/bigbluebutton/api")).await.unwrap().text().await.unwrap();
    let meetings = reqwest::get(format!("http://127.0.0.1:{port}/bigbluebutton/api/getMeetings?checksum={signed}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(first_line.contains(&format!("http://127.0.0.1:{port}/bigbluebutton/")), "{first_line}");
    assert!(root.contains("<version>2.0</version>"), "{root}");
    assert!(meetings.contains("noMeetings"), "{meetings}");
}

#[tokio::test]
async fn the_demo_walkthrough_works_end_to_end() {
    let scratch = Scratch::new();
    let mut child = scratch
        .command(&["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> =
        stdout.lines().map_while(Result::ok).take_while(|line| !line.starts_with("The meeting object")).collect();
    let url_after = |marker: &str| -> String {
        let index =
            lines.iter().position(|line| line.starts_with(marker)).unwrap_or_else(|| panic!("{marker} in {lines:?}"));
        lines[index + 1].split_whitespace().last().unwrap().to_owned()
    };
    let (create, poll, agent, user) = (url_after("1."), url_after("2."), url_after("3."), url_after("5."));
    let http = reqwest::Client::new();
    let payload = lines.iter().find(|line| line.contains("-d '")).unwrap();
    let body = payload.split("-d '").nth(1).unwrap().split("' http").next().unwrap().replace("'\\''", "'");

    let created: serde_json::Value = http
        .post(&create)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let before: serde_json::Value = http.get(&poll).send().await.unwrap().json().await.unwrap();
    let agent_page = http.get(&agent).send().await.unwrap();
    let agent_status = agent_page.status();
    let agent_text = agent_page.text().await.unwrap();
    let mut after = serde_json::Value::Null;
    for _ in 0..40 {
        after = http.get(&poll).send().await.unwrap().json().await.unwrap();
        if after["data"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let user_page = http.get(&user).send().await.unwrap().text().await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(created["err"], 0, "{created}");
    assert!(poll.starts_with(created["data"]["url"].as_str().unwrap()));
    assert_eq!(before["data"], false);
    assert_eq!(agent_status, 200);
    assert!(agent_text.contains("MODERATOR"), "{agent_text}");
    assert_eq!(after["data"], true, "the meeting runs once the agent joined");
    assert!(user_page.contains("VIEWER"), "{user_page}");
}
