//! Landing pages, the meeting-ended callback, and the protected BBB operations (end,
//! recordings, status).

use std::time::{Duration, Instant};

use bbb_connector::http::end_callback_token;
use bbb_connector::testing::TestDatabase;
use serde_json::{json, Value};

use crate::helpers::{TestApp, OPS_KEY, SECRET_KEY};

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

crate::on_both_backends!(
    the_user_page_waits_for_the_agent_in_the_reader_s_language,
    the_agent_page_offers_to_start_at_once,
    a_page_with_a_wrong_key_is_a_404_page,
    an_unreachable_bbb_is_told_to_the_citizen_in_their_language_with_a_reference,
    the_end_callback_marks_the_rendezvous_not_running,
    ending_through_the_api_reaches_bbb_and_its_callback,
    status_and_recordings_answer_in_the_envelope,
);
