//! The landing pages in a real browser: Debian's headless chromium driven by its chromedriver
//! (WebDriver) against the real service and the simulator. Each state is reached without a
//! reload, the title changes, the agent sees the citizen, and the Join button lands on the
//! simulator's client page. Without chromium these tests say SKIPPED and pass, except with
//! CI=true, where a missing browser fails them.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::api_events::enter;
use crate::helpers::{spawn_simulator, TestApp, OPS_KEY};

mod a11y;

const CHROMIUM: &str = "/usr/bin/chromium";
const PATIENCE: Duration = Duration::from_secs(20);

/// A chromedriver of our own on a free loopback port, stopped when dropped.
struct Driver {
    process: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The driver, or `None` (after saying SKIPPED) when chromium is missing outside CI.
fn start_driver(test: &str) -> Option<Driver> {
    let driver =
        ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].into_iter().find(|p| Path::new(p).exists());
    let (Some(driver), true) = (driver, Path::new(CHROMIUM).exists()) else {
        let why = "chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: {why}");
        let _ = std::io::stderr().lock().write_all(format!("SKIPPED {test}: {why}\n").as_bytes());
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port();
    let process = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < PATIENCE, "chromedriver never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Driver { process, url: format!("http://127.0.0.1:{port}") })
}

/// A headless chromium window reading French.
async fn browser(driver: &Driver) -> Client {
    let options = json!({
        "binary": CHROMIUM,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=fr-FR"],
        "prefs": {"intl.accept_languages": "fr-FR,fr"},
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

/// Waits until `script` (an expression) gives `wanted`.
async fn until(client: &Client, script: &str, wanted: Value) -> Value {
    let started = Instant::now();
    loop {
        let got = client.execute(&format!("return {script};"), vec![]).await.unwrap_or(Value::Null);
        if got == wanted {
            return got;
        }
        assert!(started.elapsed() < PATIENCE, "{script} stayed {got}, never {wanted}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const STATE: &str = "document.getElementById('rdv').dataset.state";

async fn the_pages_follow_the_meeting_in_a_real_browser(db: &TestDatabase) {
    let Some(driver) = start_driver("browser::the_pages_follow_the_meeting_in_a_real_browser") else { return };
    let app = TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        config.connectors.values_mut().for_each(|connector| connector.is_running_cache_seconds = 1);
    })
    .await;
    let meeting = app.create(&json!({"name": "Entretien", "idempotent_id": "browser"})).await;
    let guid = meeting["guid"].as_str().unwrap();
    let agent = browser(&driver).await;
    let user = browser(&driver).await;

    agent.goto(meeting["agent_page_url"].as_str().unwrap()).await.unwrap();
    until(&agent, "document.getElementById('presence').dataset.open", json!("no")).await;
    user.goto(meeting["user_page_url"].as_str().unwrap()).await.unwrap();
    until(&user, STATE, json!("waiting")).await;
    let title_waiting = user.title().await.unwrap();
    let join_hidden = user.execute("return document.getElementById('join').hidden;", vec![]).await.unwrap();
    until(&agent, "document.getElementById('presence').dataset.open", json!("yes")).await;
    let presence = agent.find(Locator::Id("presence")).await.unwrap().text().await.unwrap();

    enter(&app, meeting["join_agent_url"].as_str().unwrap()).await;
    until(&user, STATE, json!("running")).await;
    let title_running = user.title().await.unwrap();
    app.simulator.set_fault(Some(Fault::Down));
    until(&agent, STATE, json!("disrupted")).await;
    app.simulator.set_fault(None);
    until(&agent, STATE, json!("running")).await;
    user.find(Locator::Id("join")).await.unwrap().click().await.unwrap();
    until(&user, "location.pathname", json!("/html5client/join")).await;
    let client_page = user.source().await.unwrap();
    app.http.post(app.url(&format!("/bbb/visio/meeting/{guid}/end/?apikey={OPS_KEY}"))).send().await.unwrap();
    until(&agent, STATE, json!("ended")).await;

    assert_eq!(title_waiting, "Entretien");
    assert_eq!(join_hidden, json!(true), "no Join button while waiting");
    assert!(presence.contains("L’usager vous attend"), "{presence}");
    assert!(title_running.starts_with("La réunion a commencé"), "{title_running}");
    assert!(client_page.contains("You are in the meeting"), "the Join button leads into the meeting");
    let _ = agent.close().await;
    let _ = user.close().await;
}

crate::on_both_backends!(the_pages_follow_the_meeting_in_a_real_browser);

/// A logo of 40×20 pixels, served by its own loopback origin.
const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#1d7a36"/></svg>"##;

/// A server of `/logo.svg` on a port of its own (so an origin of its own).
async fn logo_server() -> String {
    let router = axum::Router::new().route(
        "/logo.svg",
        axum::routing::get(|| async { ([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], LOGO) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    origin
}

/// Branding is the same on both backends: SQLite only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branded_page_wears_its_accent_and_shows_its_logo_and_no_other_image() {
    let Some(driver) = start_driver("browser::a_branded_page_wears_its_accent_and_shows_its_logo_and_no_other_image")
    else {
        return;
    };
    let (logo_origin, other_origin) = (logo_server().await, logo_server().await);
    let db = TestDatabase::sqlite();
    let app = TestApp::spawn_configured(&db, spawn_simulator().await, |config| {
        config.branding.name = Some("Ville de Sainte-Foy".to_owned());
        config.branding.logo_url = Some(format!("{logo_origin}/logo.svg").parse().unwrap());
        config.branding.accent_colour = Some("#1d7a36".to_owned());
    })
    .await;
    let meeting = app.create(&json!({"name": "Entretien", "idempotent_id": "branded"})).await;
    let agent = browser(&driver).await;

    agent.goto(meeting["agent_page_url"].as_str().unwrap()).await.unwrap();
    until(&agent, "document.querySelector('.brand img').complete", json!(true)).await;
    let logo_width = agent.execute("return document.querySelector('.brand img').naturalWidth;", vec![]).await.unwrap();
    let style = |id: &str, property: &str| format!("getComputedStyle(document.getElementById('{id}')).{property}");
    let button = agent.execute(&format!("return {};", style("join", "backgroundColor")), vec![]).await.unwrap();
    let border = agent.execute(&format!("return {};", style("status", "borderLeftColor")), vec![]).await.unwrap();
    let title = agent.title().await.unwrap();
    let other = format!(
        "var img = document.createElement('img'); img.id = 'other'; img.src = '{other_origin}/logo.svg'; \
         document.body.appendChild(img); return true;"
    );
    agent.execute(&other, vec![]).await.unwrap();
    until(&agent, "document.getElementById('other').complete", json!(true)).await;
    let other_width = agent.execute("return document.getElementById('other').naturalWidth;", vec![]).await.unwrap();

    assert_eq!(logo_width, json!(40), "the logo's origin is let in");
    assert_eq!(button, json!("rgb(29, 122, 54)"), "the join button wears the accent");
    assert_eq!(border, json!("rgb(29, 122, 54)"), "so does the state's border");
    assert_eq!(title, "Entretien – Ville de Sainte-Foy");
    assert_eq!(other_width, json!(0), "an image of any other origin is refused");
    let _ = agent.close().await;
}
