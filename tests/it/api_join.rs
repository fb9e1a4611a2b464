//! The join links: re-create then redirect to a BBB join URL signed at click time, with the
//! role, createTime and names the rendezvous decides, whatever the query says.

use std::collections::HashMap;

use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use serde_json::{json, Value};
use url::Url;

use crate::helpers::TestApp;

async fn create(app: &TestApp) -> Value {
    app.create(&json!({
        "name": "Consultation",
        "idempotent_id": "join",
        "agent_full_name": "Agent Dupont",
        "join_user_parameters": {"userdata-bbb_skip_check_audio": true, "guest": "on"},
        "join_agent_parameters": {"userdata-bbb_auto_share_webcam": "true"},
    }))
    .await
}

/// Follows `url` (no redirect) and returns the query of the `Location` it answers.
async fn join_location(app: &TestApp, url: &str) -> HashMap<String, String> {
    let response = app.get(url).await;
    assert_eq!(response.status(), 302, "{url}");
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(app.simulator.base_url().as_str()), "{location}");
    let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert!(query.contains_key("checksum"));
    query
}

async fn the_agent_joins_as_moderator_with_the_create_time_of_the_create(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let guid = meeting["guid"].as_str().unwrap();

    let query = join_location(&app, meeting["join_agent_url"].as_str().unwrap()).await;

    let simulated = app.simulator.meeting(guid).expect("the simulator has the meeting");
    assert_eq!(query["meetingID"], guid);
    assert_eq!(query["role"], "MODERATOR");
    assert_eq!(query["fullName"], "Agent Dupont");
    assert_eq!(query["password"], simulated.moderator_pw);
    assert_eq!(query["createTime"], simulated.create_time.to_string());
    assert_eq!(query["userdata-bbb_auto_share_webcam"], "true");
    assert!(!query.contains_key("userdata-bbb_skip_check_audio"));
}

async fn the_user_joins_as_viewer_with_the_default_name_or_the_query_name(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let link = meeting["join_user_url"].as_str().unwrap();

    let default_name = join_location(&app, link).await;
    let given_name = join_location(&app, &format!("{link}?full_name=Camille%20M.")).await;

    assert_eq!(default_name["role"], "VIEWER");
    assert_eq!(default_name["fullName"], "Usager");
    assert_eq!(default_name["guest"], "true");
    assert_eq!(default_name["userdata-bbb_skip_check_audio"], "true");
    assert_eq!(given_name["fullName"], "Camille M.");
}

async fn a_user_cannot_smuggle_bbb_parameters_through_the_query(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let guid = meeting["guid"].as_str().unwrap();
    let link = meeting["join_user_url"].as_str().unwrap();

    let query =
        join_location(&app, &format!("{link}?role=MODERATOR&password=x&meetingID=y&createTime=1&redirect=false")).await;

    let simulated = app.simulator.meeting(guid).unwrap();
    assert_eq!(query["role"], "VIEWER");
    assert_eq!(query["password"], simulated.attendee_pw);
    assert_eq!(query["meetingID"], guid);
    assert_eq!(query["createTime"], simulated.create_time.to_string());
    assert!(!query.contains_key("redirect"));
}

async fn wrong_keys_and_roles_are_404(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let agent = meeting["join_agent_url"].as_str().unwrap();
    let user = meeting["join_user_url"].as_str().unwrap();
    let agent_key = agent.trim_end_matches('/').rsplit('/').next().unwrap();
    let base = meeting["url"].as_str().unwrap();
    let urls = [
        format!("{base}join/user/{agent_key}/"),
        format!("{base}join/agent/0123456789abcdef0123456789abcdef/"),
        format!("{base}join/moderator/{agent_key}/"),
        format!("{base}join/agent/NOT-HEX/"),
        user.replace(&meeting["guid"].as_str().unwrap()[..4], "ffff"),
    ];

    for url in urls {
        let (status, answer) = app.get_json(&url).await;

        assert_eq!((status, answer["err_class"].clone()), (404, json!("not-found")), "{url}");
    }
}

async fn a_join_after_bbb_forgot_the_meeting_re_creates_it(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let guid = meeting["guid"].as_str().unwrap();
    app.simulator.forget_all_meetings();

    let query = join_location(&app, meeting["join_user_url"].as_str().unwrap()).await;

    let simulated = app.simulator.meeting(guid).expect("re-created");
    assert_eq!(query["createTime"], simulated.create_time.to_string());
    assert_eq!(app.simulator.call_count("create"), 2);
    let creates: Vec<_> = app.simulator.calls().into_iter().filter(|call| call.action == "create").collect();
    let password = |index: usize| creates[index].params.iter().find(|(key, _)| key == "moderatorPW").cloned();
    assert_eq!(password(0), password(1), "every create sends the same passwords");
}

async fn a_bbb_failure_at_join_is_502_json_or_an_html_page_for_browsers(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let link = meeting["join_user_url"].as_str().unwrap();
    app.simulator.set_fault(Some(Fault::Down));

    let (status, answer) = app.get_json(link).await;
    let page = app.http.get(link).header("accept", "text/html,application/xhtml+xml,*/*;q=0.8").send().await.unwrap();

    assert_eq!((status, answer["err_class"].clone()), (502, json!("bbb-unavailable")));
    assert_eq!(page.status(), 502);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("indisponible") && html.contains("Réessayer"), "French by default: {html}");
    assert!(!html.contains("Connection refused") && !html.contains("os error"), "no raw detail: {html}");
}

async fn a_wrong_key_shows_a_404_page_to_browsers(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let meeting = create(&app).await;
    let url = format!("{}join/user/0123456789abcdef0123456789abcdef/", meeting["url"].as_str().unwrap());

    let page = app.http.get(&url).header("accept", "text/html").send().await.unwrap();

    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("<html"));
}

crate::on_both_backends!(
    the_agent_joins_as_moderator_with_the_create_time_of_the_create,
    the_user_joins_as_viewer_with_the_default_name_or_the_query_name,
    a_user_cannot_smuggle_bbb_parameters_through_the_query,
    wrong_keys_and_roles_are_404,
    a_join_after_bbb_forgot_the_meeting_re_creates_it,
    a_bbb_failure_at_join_is_502_json_or_an_html_page_for_browsers,
    a_wrong_key_shows_a_404_page_to_browsers,
);
