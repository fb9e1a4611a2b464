//! The command line, run as a user would: the binary in a scratch directory.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bbb_connector::domain::{Guid, JoinKey, MeetingRequest, NewMeeting};

const BINARY: &str = env!("CARGO_BIN_EXE_bbb-connector");

mod reload;

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
        Self::spawn(scratch.command(args).env("BBB_CONNECTOR_LISTEN", "127.0.0.1:0"))
    }

    /// As `start`, with the command as given (its `listen` from the configuration).
    fn spawn(command: &mut Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
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
fn migrate_then_purge_work_on_the_default_sqlite_database() {
    let scratch = Scratch::new();

    let migrate = scratch.run(&["migrate"]);
    let purge = scratch.run(&["purge", "--older-than", "90d"]);

    assert!(migrate.status.success(), "{}", stderr_of(&migrate));
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

fn connector_config(slug: &str, bbb_url: &str, secret: &str) -> String {
    format!("[connectors.{slug}]\nbbb_url = \"{bbb_url}\"\nshared_secret = \"{secret}\"\ntimeout_seconds = 1\n")
}

/// Runs the binary off the runtime, so that a simulator in this test keeps answering it.
async fn run_beside(scratch: &Scratch, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = scratch.command(args);
    command.envs(env.iter().copied()).stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), stderr_of(&output))
}

#[tokio::test]
async fn check_prints_every_line_and_fails_when_one_fails() {
    let scratch = Scratch::new();
    let simulator = crate::helpers::spawn_simulator().await;
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (bbb, dead) = (simulator.base_url().to_string(), format!("http://127.0.0.1:{dead_port}/bigbluebutton/"));
    let good = connector_config("good", &bbb, crate::helpers::SHARED_SECRET);
    let all = format!(
        "{good}{}{}",
        connector_config("wrong", &bbb, "wrong-secret"),
        connector_config("dead", &dead, "dead-secret")
    );
    let (good_path, all_path) = (scratch.write("good.toml", &good), scratch.write("all.toml", &all));
    let (good_path, all_path) = (good_path.to_str().unwrap(), all_path.to_str().unwrap());
    assert!(scratch.run(&["migrate", "--config", all_path]).status.success());

    let (ok_code, ok_out, _) = run_beside(&scratch, &["check", "--config", good_path], &[]).await;
    let (code, out, err) = run_beside(&scratch, &["check", "--config", all_path], &[]).await;

    assert_eq!(ok_code, Some(0), "{ok_out}");
    assert!(ok_out.contains("connector good: ok, BBB 3.0.0-simulator, answered in "), "{ok_out}");
    assert_eq!(code, Some(1), "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    let position = |start: &str| {
        lines.iter().position(|line| line.starts_with(start)).unwrap_or_else(|| panic!("no {start:?} line in:\n{out}"))
    };
    let expected = [
        format!("configuration file: {all_path}"),
        "warning: public_url is not set".to_owned(),
        "database: ok".to_owned(),
        "connector dead: FAILED: BBB is unreachable".to_owned(),
        "connector good: ok, BBB 3.0.0-simulator, answered in ".to_owned(),
        "connector wrong: FAILED: BBB answered FAILED (checksumError)".to_owned(),
    ];
    let positions: Vec<usize> = expected.iter().map(|start| position(start)).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "lines out of order:\n{out}");
    assert!(lines[positions[5]].contains("the shared secret or the checksum algorithm"), "{out}");
    for secret in ["wrong-secret", "dead-secret", crate::helpers::SHARED_SECRET] {
        assert!(!out.contains(secret) && !err.contains(secret), "{secret} printed:\n{out}{err}");
    }
}

#[test]
fn check_without_connectors_fails_and_says_no_configuration_file_was_found() {
    let scratch = Scratch::new();
    assert!(scratch.run(&["migrate"]).status.success());

    let output = scratch.run(&["check"]);

    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("configuration file: none") && out.contains("built-in defaults apply"), "{out}");
    assert!(out.contains("database: ok"), "{out}");
    assert!(out.contains("connectors: FAILED: none configured"), "{out}");
}

#[test]
fn check_and_purge_create_no_database() {
    let scratch = Scratch::new();

    let check = scratch.run(&["check"]);
    let purge = scratch.run(&["purge", "--older-than", "1d"]);

    let out = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{out}");
    assert!(out.contains("database: FAILED: ") && out.contains("no database file"), "{out}");
    assert!(out.contains("connectors: FAILED: none configured"), "every check runs: {out}");
    assert_eq!(purge.status.code(), Some(1), "{}", stderr_of(&purge));
    assert!(stderr_of(&purge).contains("bbb-connector migrate"), "{}", stderr_of(&purge));
    let left: Vec<_> = std::fs::read_dir(&scratch.0).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert!(left.is_empty(), "nothing is created: {left:?}");
}

#[tokio::test]
async fn check_and_purge_refuse_an_unmigrated_database_and_leave_it_bare() {
    let scratch = Scratch::new();
    let mut databases = vec![bbb_connector::testing::TestDatabase::sqlite()];
    databases.extend(bbb_connector::testing::TestDatabase::postgres().await);

    for db in &databases {
        if let Some(path) = db.url.strip_prefix("sqlite://") {
            std::fs::write(path, b"").unwrap();
        }
        let env = [("BBB_CONNECTOR_DATABASE_URL", db.url.as_str())];

        let (check_code, check_out, _) = run_beside(&scratch, &["check"], &env).await;
        let (purge_code, _, purge_err) = run_beside(&scratch, &["purge", "--older-than", "1d"], &env).await;
        let (dry_code, _, dry_err) = run_beside(&scratch, &["purge", "--older-than", "1d", "--dry-run"], &env).await;

        let database_line = check_out.lines().find(|line| line.starts_with("database: ")).unwrap_or_default();
        assert_eq!(check_code, Some(1), "{check_out}");
        assert!(database_line.starts_with("database: FAILED: "), "{check_out}");
        assert!(database_line.contains("run `bbb-connector migrate`"), "{check_out}");
        for (code, err) in [(purge_code, &purge_err), (dry_code, &dry_err)] {
            assert_eq!(code, Some(1), "{err}");
            assert!(err.contains("run `bbb-connector migrate`"), "{err}");
        }
        let store = bbb_connector::store::connect(&db.url, &Default::default()).await.unwrap();
        assert_eq!(store.pending_migrations().await.unwrap().first().map(|m| m.version), Some(1), "{}", db.url);
    }
}

fn new_meeting(slug: &str, idempotent_id: &str, created: chrono::DateTime<chrono::Utc>) -> NewMeeting {
    let request = MeetingRequest {
        name: "RDV".to_owned(),
        idempotent_id: idempotent_id.to_owned(),
        create_parameters: Default::default(),
        join_user_parameters: Default::default(),
        join_agent_parameters: Default::default(),
        user_full_name: None,
        agent_full_name: None,
        metadata: Default::default(),
    };
    let (attendee_pw, moderator_pw) = ("attendee-pw".to_owned(), "moderator-pw".to_owned());
    let (agent_key, user_key) = (JoinKey::generate(), JoinKey::generate());
    NewMeeting {
        slug: slug.to_owned(),
        guid: Guid::new_random(),
        request,
        agent_key,
        user_key,
        attendee_pw,
        moderator_pw,
        created,
    }
}

#[tokio::test]
async fn purge_dry_run_counts_without_deleting_and_purge_deletes_the_inactive() {
    let scratch = Scratch::new();
    let db = bbb_connector::testing::TestDatabase::sqlite();
    let store = db.store().await;
    let now = chrono::Utc::now();
    let mut guids = Vec::new();
    for (idempotent_id, days_ago) in [("old-1", 200), ("old-2", 100), ("recent", 10)] {
        let new = new_meeting("visio", idempotent_id, now - chrono::Duration::days(days_ago));
        guids.push(new.guid);
        store.get_or_create_meeting(&new).await.unwrap();
    }
    let env = [("BBB_CONNECTOR_DATABASE_URL", db.url.as_str())];

    let (dry_code, dry_out, dry_err) = run_beside(&scratch, &["purge", "--older-than", "90d", "--dry-run"], &env).await;
    let mut kept_by_dry_run = 0;
    for guid in &guids {
        kept_by_dry_run += usize::from(store.find_meeting(*guid).await.unwrap().is_some());
    }
    let (code, out, err) = run_beside(&scratch, &["purge", "--older-than", "90d"], &env).await;

    assert_eq!(dry_code, Some(0), "{dry_err}");
    assert!(dry_out.starts_with("dry run: 2 rendezvous"), "{dry_out}");
    assert_eq!(kept_by_dry_run, 3, "the dry run deletes nothing");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("purged 2 rendezvous"), "{out}");
    assert!(store.find_meeting(guids[0]).await.unwrap().is_none());
    assert!(store.find_meeting(guids[2]).await.unwrap().is_some());
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

/// `serve` on the test configuration (plus `extra` TOML), against `simulator`.
fn serve_on(scratch: &Scratch, simulator: &bbb_connector::simulator::Simulator, extra: &str) -> (Served, PathBuf) {
    let config = crate::helpers::test_config("sqlite://bbb-connector.db", simulator.base_url().as_str());
    let path = scratch.write("bbb-connector.toml", &format!("{extra}{}", config.to_toml()));
    (Served::start(scratch, &["serve", "--config", path.to_str().unwrap()]), path)
}

/// The lines of `log` holding every one of `words`.
fn lines_with<'a>(log: &'a str, words: &[&str]) -> Vec<&'a str> {
    log.lines().filter(|line| words.iter().all(|word| line.contains(word))).collect()
}

#[tokio::test]
async fn the_request_log_has_one_line_per_request_with_its_outcome_and_cause() {
    let scratch = Scratch::new();
    let simulator = crate::helpers::spawn_simulator().await;
    let (served, config_path) = serve_on(&scratch, &simulator, "");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let create_url = format!("{}/bbb/visio/meeting/?apikey={}", served.base, crate::helpers::OPS_KEY);
    let body = serde_json::json!({"name": "Log check", "idempotent_id": "log"});

    let answer: serde_json::Value = http.post(&create_url).json(&body).send().await.unwrap().json().await.unwrap();
    http.post(&create_url).json(&body).send().await.unwrap();
    simulator.set_fault(Some(bbb_connector::simulator::Fault::Down));
    let join =
        http.get(answer["data"]["join_user_url"].as_str().unwrap()).header("accept", "text/html").send().await.unwrap();
    simulator.set_fault(None);
    let unknown = http.get(format!("{}/no/such/path?apikey=query-secret", served.base)).send().await.unwrap();
    let first_line = served.first_line.clone();
    let log = Arc::clone(&served.log);
    assert!(served.terminate().success());

    let log = log.lock().unwrap().clone();
    let version = format!("bbb-connector {} listening on http://", env!("CARGO_PKG_VERSION"));
    assert!(first_line.contains(&version), "{first_line}");
    let config_path = std::path::absolute(&config_path).unwrap();
    assert!(first_line.contains(&format!("configuration {}", config_path.display())), "{first_line}");
    assert!(first_line.contains("database sqlite://bbb-connector.db"), "{first_line}");
    let creates = lines_with(&log, &[" INFO ", "route=/bbb/{slug}/meeting/ ", "slug=visio", "api_user=ops"]);
    assert_eq!(creates.len(), 2, "{log}");
    assert!(creates[0].contains("outcome=\"new\"") && creates[1].contains("outcome=\"replayed\""), "{log}");
    assert!(creates.iter().all(|line| line.contains("client=127.0.0.1") && line.contains("request_id=")), "{log}");
    assert_eq!(join.status(), 502);
    let joins = lines_with(&log, &["route=/bbb/{slug}/meeting/{guid}/join/{role}/{key}/"]);
    assert_eq!(joins.len(), 1, "one line for the join:\n{log}");
    assert!(joins[0].contains(" ERROR ") && joins[0].contains("status=502"), "{log}");
    assert!(joins[0].contains("BBB is unreachable") && joins[0].contains("role=user"), "the cause: {log}");
    assert!(!joins[0].contains("outcome="), "{log}");
    assert_eq!(unknown.status(), 404);
    let unmatched = lines_with(&log, &["route=unmatched"]);
    assert_eq!(unmatched.len(), 1, "one line for an unknown path:\n{log}");
    assert!(unmatched[0].contains("path=\"/no/such/path\"") && unmatched[0].contains(" WARN "), "{log}");
    assert!(!log.contains("query-secret"), "the query of an unknown path is not logged:\n{log}");
    for latency in log.split("latency_ms=").skip(1) {
        let number = latency.split_whitespace().next().unwrap();
        let decimals = number.split_once('.').map_or(0, |(_, decimals)| decimals.len());
        assert!(decimals <= 2 && number.parse::<f64>().is_ok(), "latency_ms={number}");
    }
    let key = answer["data"]["join_user_url"].as_str().unwrap().trim_end_matches('/').rsplit('/').next().unwrap();
    for secret in [crate::helpers::SHARED_SECRET, crate::helpers::OPS_KEY, key] {
        assert!(!log.contains(secret), "{secret} leaked into the log:\n{log}");
    }
}

#[tokio::test]
async fn a_checksum_refusal_is_logged_once_as_a_configuration_error() {
    let scratch = Scratch::new();
    let simulator = crate::helpers::spawn_simulator().await;
    let bbb = simulator.base_url().to_string();
    let wrong = format!("{}access = [\"anonymous\"]\n", connector_config("wrong", &bbb, "wrong-secret"));
    let config = crate::helpers::test_config("sqlite://bbb-connector.db", &bbb);
    let path = scratch
        .write("bbb-connector.toml", &config.to_toml().replacen("[connectors.", &format!("{wrong}\n[connectors."), 1));
    let served = Served::start(&scratch, &["serve", "--config", path.to_str().unwrap()]);

    let body = serde_json::json!({"name": "RDV", "idempotent_id": "checksum"});
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/bbb/wrong/meeting/", served.base))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = Arc::clone(&served.log);
    assert!(served.terminate().success());

    let log = log.lock().unwrap().clone();
    assert_eq!(answer["err_class"], "bbb-error", "{answer}");
    let lines = lines_with(&log, &["checksumError"]);
    assert_eq!(lines.len(), 1, "logged once:\n{log}");
    assert!(lines[0].contains(" ERROR ") && lines[0].contains("configuration error"), "{log}");
    assert!(lines[0].contains("slug=wrong") && lines[0].contains("err_class=\"bbb-error\""), "{log}");
    assert!(!log.contains("wrong-secret"), "{log}");
}

/// The statuses of 100 requests made by `request` (given the served base URL) and the log's
/// refusal lines, once the process has ended.
async fn flood(request: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder) -> (BTreeSet<u16>, String) {
    let scratch = Scratch::new();
    let simulator = crate::helpers::spawn_simulator().await;
    let (served, _) = serve_on(&scratch, &simulator, "");
    let http = reqwest::Client::new();
    let mut statuses = BTreeSet::new();
    for _ in 0..100 {
        statuses.insert(request(&http, &served.base).send().await.unwrap().status().as_u16());
    }
    let log = Arc::clone(&served.log);
    assert!(served.terminate().success());
    let log = log.lock().unwrap().clone();
    (statuses, log)
}

fn assert_one_warning_a_minute(log: &str) {
    let refused = lines_with(log, &["request refused"]);
    assert_eq!(refused.len(), 1, "one line a minute per client at the default level:\n{log}");
    assert!(refused[0].contains(" WARN ") && refused[0].contains("client=127.0.0.1"), "{log}");
    assert!(!log.contains("DEBUG"), "{log}");
}

const SOME_KEY: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn a_flood_of_unknown_links_logs_one_warning() {
    let (statuses, log) = flood(|http, base| {
        let guid = uuid::Uuid::new_v4().simple();
        http.get(format!("{base}/bbb/open/meeting/{guid}/join/user/{SOME_KEY}/"))
    })
    .await;

    assert_eq!(statuses, [404, 429].into(), "unknown, then over the rate limit");
    assert_one_warning_a_minute(&log);
}

#[tokio::test]
async fn a_flood_of_links_to_unknown_connectors_logs_one_warning() {
    let (statuses, log) = flood(|http, base| {
        let (slug, guid) = (uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        http.get(format!("{base}/bbb/{slug}/meeting/{guid}/join/agent/{SOME_KEY}/"))
    })
    .await;

    assert_eq!(statuses, [404].into());
    assert_one_warning_a_minute(&log);
}

#[tokio::test]
async fn a_flood_of_forged_callbacks_logs_one_warning() {
    let (statuses, log) = flood(|http, base| {
        let guid = uuid::Uuid::new_v4().simple();
        http.get(format!("{base}/bbb/open/meeting/{guid}/callback/end/{SOME_KEY}{SOME_KEY}/"))
    })
    .await;

    assert_eq!(statuses, [403].into(), "callbacks are not rate limited (DESIGN §7)");
    assert_one_warning_a_minute(&log);
}
