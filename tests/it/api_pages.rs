//! Landing pages, the meeting-ended callback, and the protected BBB operations (end,
//! recordings, status).

use std::time::{Duration, Instant};

use base64::Engine;
use bbb_connector::config::Branding;
use bbb_connector::http::end_callback_token;
use bbb_connector::testing::TestDatabase;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_simulator, TestApp, OPS_KEY, SECRET_KEY};

async fn create(app: &TestApp) -> Value {
    app.create(&json!({
        "name": "Consultation <script>alert(1)</script>",
        "idempotent_id": "page",
        "metadata": {
            "appointment": "10 juin, 10 h",
            "description": "Apportez votre livret\net une pièce d’identité",
            "start": "2026-06-10T10:00:00+02:00",
            "duration_minutes": 30,
        },
    }))
    .await
}

async fn page(app: &TestApp, url: &str, language: &str) -> (u16, String) {
    let response = app.http.get(url).header("accept-language", language).send().await.unwrap();
    let status = response.status().as_u16();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    (status, response.text().await.unwrap())
}

async fn the_user_page_waits_for_the_agent_in_the_reader_s_language(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let url = meeting["user_page_url"].as_str().unwrap();

    let (status, french) = page(&app, url, "fr-FR,fr;q=0.9").await;
    let (_, english) = page(&app, url, "en-GB,en;q=0.9,fr;q=0.5").await;

    assert_eq!(status, 200);
    assert!(french.contains("En attente de l’agent\u{a0}:") && french.contains("lang=\"fr\""));
    assert!(french.contains("mercredi 10 juin 2026 à 10\u{a0}h\u{a0}00") && french.contains("30\u{a0}minutes"));
    assert!(english.contains("Wednesday 10 June 2026 at 10:00"));
    assert!(english.contains("Waiting for the agent") && english.contains("lang=\"en\""));
    for html in [&french, &english] {
        assert!(html.contains(meeting["join_user_url"].as_str().unwrap()));
        assert!(html.contains(meeting["is_running_url"].as_str().unwrap()));
        assert!(html.contains(&format!("{url}events/")), "the page follows its own stream");
        assert!(html.contains("10 juin, 10 h") && html.contains("Apportez votre livret\net une pièce"));
        assert!(html.contains("role=\"status\"") && html.contains("datetime=\"2026-06-10T10:00:00+02:00\""));
        assert!(!html.contains("<script>alert(1)"), "the meeting name is escaped");
        assert!(!html.contains(meeting["join_agent_url"].as_str().unwrap()));
    }
}

async fn the_agent_page_offers_to_start_at_once(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;

    let (status, html) = page(&app, meeting["agent_page_url"].as_str().unwrap(), "fr").await;

    assert_eq!(status, 200);
    assert!(html.contains("Démarrer ou rejoindre la réunion"));
    assert!(html.contains(meeting["join_agent_url"].as_str().unwrap()));
    assert!(html.contains(&format!("value=\"{}\"", meeting["user_page_url"].as_str().unwrap())), "the link to copy");
    assert!(html.contains("id=\"copy\"") && html.contains("id=\"presence\""));
    assert!(html.contains("L’usager vous attend"));
}

async fn a_page_with_a_wrong_key_is_a_404_page(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let url = format!("{}page/agent/0123456789abcdef0123456789abcdef/", meeting["url"].as_str().unwrap());

    let (status, html) = page(&app, &url, "fr").await;

    assert_eq!(status, 404);
    assert!(html.contains("Lien introuvable"));
    assert!(!html.contains("Réessayer"), "a retry cannot help a wrong link");
}

async fn an_unreachable_bbb_is_told_to_the_citizen_in_their_language_with_a_reference(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    app.simulator.set_fault(Some(bbb_connector::simulator::Fault::Down));
    let join = meeting["join_user_url"].as_str().unwrap();
    let ask = |language: &'static str| {
        app.http
            .get(join)
            .header("accept", "text/html")
            .header("accept-language", language)
            .header("x-request-id", "ref-12345")
            .send()
    };

    let french = ask("fr").await.unwrap();
    let french_status = french.status();
    let french = french.text().await.unwrap();
    let english = ask("en").await.unwrap().text().await.unwrap();

    assert_eq!(french_status, 502);
    assert!(french.contains("lang=\"fr\"") && french.contains("Visioconférence indisponible"), "{french}");
    assert!(french.contains("Réessayer") && french.contains("ref-12345"));
    assert!(english.contains("lang=\"en\"") && english.contains("Try again") && english.contains("ref-12345"));
    for html in [&french, &english] {
        assert!(!html.contains("error") && !html.contains("os error"), "no technical detail: {html}");
    }
}

async fn the_end_callback_marks_the_rendezvous_not_running(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let guid = meeting["guid"].as_str().unwrap();
    let base = meeting["url"].as_str().unwrap();
    let token = end_callback_token(SECRET_KEY, guid.parse().unwrap());

    let good = app.get(&format!("{base}callback/end/{token}/?meetingID={guid}&recordingmarks=false")).await;
    let again = app.http.post(format!("{base}callback/end/{token}")).send().await.unwrap();
    let bad = app.get(&format!("{base}callback/end/{}/", "0".repeat(64))).await;

    assert_eq!(good.status(), 200);
    assert_eq!(again.status(), 200, "idempotent");
    assert_eq!(bad.status(), 403);
    assert_eq!(bad.json::<Value>().await.unwrap()["err_class"], "access-denied");
}

async fn ending_through_the_api_reaches_bbb_and_its_callback(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let guid = meeting["guid"].as_str().unwrap();
    let response = app.get(meeting["join_agent_url"].as_str().unwrap()).await;
    reqwest::get(response.headers()["location"].to_str().unwrap()).await.unwrap();

    let ended =
        app.http.post(app.url(&format!("/bbb/visio/meeting/{guid}/end/?apikey={OPS_KEY}"))).send().await.unwrap();

    assert_eq!(ended.status(), 200);
    assert_eq!(app.simulator.call_count("end"), 1);
    let started = Instant::now();
    while app.simulator.meeting(guid).is_some() && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, poll) = app.get_json(meeting["is_running_url"].as_str().unwrap()).await;
    assert_eq!(poll["data"], false);
}

async fn status_and_recordings_answer_in_the_envelope(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let guid = meeting["guid"].as_str().unwrap();

    let (status_code, status) = app.get_json(&app.url(&format!("/bbb/visio/status/?apikey={OPS_KEY}"))).await;
    let (recordings_code, recordings) =
        app.get_json(&app.url(&format!("/bbb/visio/meeting/{guid}/recordings/?apikey={OPS_KEY}"))).await;
    let (denied, _) = app.get_json(&app.url("/bbb/visio/status/")).await;

    assert_eq!(status_code, 200, "{status}");
    assert!(status["data"]["latency_ms"].is_u64(), "{status}");
    assert!(status["data"]["bbb_version"].is_string(), "{status}");
    assert_eq!(recordings_code, 200, "{recordings}");
    assert_eq!(recordings["data"], json!([]));
    assert_eq!(denied, 403);
}

/// A page's answer: its status, Content-Security-Policy and HTML.
async fn page_with_policy(app: &TestApp, url: &str) -> (u16, String, String) {
    let response = app.http.get(url).header("accept", "text/html").send().await.unwrap();
    let status = response.status().as_u16();
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    (status, policy, response.text().await.unwrap())
}

/// The sources of one directive of a policy.
fn directive(policy: &str, name: &str) -> Vec<String> {
    let found = policy.split(';').map(str::trim).find(|part| part.starts_with(&format!("{name} ")));
    found.unwrap_or_default().split_whitespace().skip(1).map(str::to_owned).collect()
}

/// `'sha256-…'` of each inline `<style>` of a page, in order.
fn style_hashes(html: &str) -> Vec<String> {
    let styles = html.split("<style>").skip(1).map(|rest| rest.split("</style>").next().unwrap());
    let hash = |style: &str| base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
    styles.map(|style| format!("'sha256-{}'", hash(style))).collect()
}

const ORGANISATION: &str = "Ville de <script>alert(2)</script>Sainte-Foy";
const ORGANISATION_ESCAPED: &str = "Ville de &lt;script&gt;alert(2)&lt;/script&gt;Sainte-Foy";

async fn branded_pages_show_the_organisation_and_let_in_exactly_its_logo_and_colour(db: &TestDatabase) {
    let app = TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        config.branding = Branding {
            name: Some(ORGANISATION.to_owned()),
            logo_url: Some("https://cdn.example.org/ville/logo.png".parse().unwrap()),
            accent_colour: Some("#1D7A36".to_owned()),
        };
    })
    .await;
    let meeting = create(&app).await;
    let wrong_key = "0123456789abcdef0123456789abcdef";
    let urls = [
        meeting["user_page_url"].as_str().unwrap().to_owned(),
        meeting["agent_page_url"].as_str().unwrap().to_owned(),
        format!("{}page/user/{wrong_key}/", meeting["url"].as_str().unwrap()),
        format!("{}join/user/{wrong_key}/", meeting["url"].as_str().unwrap()),
    ];

    let mut answers = Vec::new();
    for url in &urls {
        answers.push(page_with_policy(&app, url).await);
    }
    let head = app.http.head(&urls[0]).send().await.unwrap();

    let statuses: Vec<u16> = answers.iter().map(|(status, _, _)| *status).collect();
    assert_eq!(statuses, [200, 200, 404, 404]);
    for ((_, policy, html), url) in answers.iter().zip(&urls) {
        assert!(html.contains(&format!(" – {ORGANISATION_ESCAPED}</title>")), "{url}: the name after the title");
        assert!(html.contains(&format!("<span class=\"brand-name\">{ORGANISATION_ESCAPED}</span>")), "{url}");
        assert!(!html.contains("<script>alert(2)"), "{url}: the name is escaped");
        assert!(html.contains(r#"<img src="https://cdn.example.org/ville/logo.png" alt="">"#), "{url}");
        assert!(html.contains("<style>:root{--accent:#1d7a36}</style>"), "{url}: the accent style");
        assert_eq!(directive(policy, "img-src"), ["'self'", "https://cdn.example.org"], "{url}: {policy}");
        assert_eq!(directive(policy, "style-src"), style_hashes(html), "{url}: each style by its hash");
        assert_eq!(style_hashes(html).len(), 2, "{url}: ours and the accent's");
        assert!(!policy.contains("unsafe-inline"), "{url}: {policy}");
    }
    assert_eq!(head.headers()["content-security-policy"].to_str().unwrap(), answers[0].1, "HEAD has GET's policy");
}

async fn without_branding_the_pages_and_their_policy_have_nothing_of_it(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let urls = [
        meeting["user_page_url"].as_str().unwrap().to_owned(),
        meeting["agent_page_url"].as_str().unwrap().to_owned(),
        format!("{}page/user/0123456789abcdef0123456789abcdef/", meeting["url"].as_str().unwrap()),
    ];
    let name = "Consultation &lt;script&gt;alert(1)&lt;/script&gt;";
    let titles = [name, name, "Lien introuvable"];

    let mut answers = Vec::new();
    for url in &urls {
        answers.push(page_with_policy(&app, url).await);
    }

    for (((_, policy, html), url), title) in answers.iter().zip(&urls).zip(titles) {
        assert!(html.contains(&format!("<title>{title}</title>")), "{url}: the title alone");
        assert!(!html.contains("class=\"brand") && !html.contains("<img"), "{url}: no banner");
        assert_eq!(directive(policy, "img-src"), ["'self'"], "{url}: {policy}");
        assert_eq!(directive(policy, "style-src"), style_hashes(html), "{url}: {policy}");
        assert_eq!(style_hashes(html).len(), 1, "{url}: our one style");
        assert!(!policy.contains("unsafe-inline"), "{url}: {policy}");
    }
}

crate::on_both_backends!(
    branded_pages_show_the_organisation_and_let_in_exactly_its_logo_and_colour,
    without_branding_the_pages_and_their_policy_have_nothing_of_it,
    the_user_page_waits_for_the_agent_in_the_reader_s_language,
    the_agent_page_offers_to_start_at_once,
    a_page_with_a_wrong_key_is_a_404_page,
    an_unreachable_bbb_is_told_to_the_citizen_in_their_language_with_a_reference,
    the_end_callback_marks_the_rendezvous_not_running,
    ending_through_the_api_reaches_bbb_and_its_callback,
    status_and_recordings_answer_in_the_envelope,
);
