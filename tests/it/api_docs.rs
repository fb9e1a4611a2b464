//! `GET /openapi.json` (the whole route table described, and nothing else) and a connector's
//! documentation page `GET /bbb/{slug}/`.

use std::collections::BTreeSet;

use base64::Engine;
use bbb_connector::http::route_table;
use bbb_connector::testing::TestDatabase;
use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, HOST};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{
    spawn_simulator, TestApp, OPS_KEY, OUTSIDER_KEY, PORTAL_PASSWORD, SECRET_KEY, SHARED_SECRET, WCS_KEY,
};

const OPERATIONS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// (path without its trailing slash, method) of every operation the document describes.
fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            OPERATIONS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(|method| (path.trim_end_matches('/').to_owned(), (*method).to_owned()))
        })
        .collect()
}

fn routed() -> BTreeSet<(String, String)> {
    route_table()
        .iter()
        .flat_map(|route| route.methods.iter().map(|method| (route.path.clone(), method.as_str().to_ascii_lowercase())))
        .collect()
}

/// Every `$ref` of the document, which must name one of its components.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => references(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

async fn openapi(app: &TestApp) -> Value {
    let (status, document) = app.get_json(&app.url("/openapi.json")).await;
    assert_eq!(status, 200);
    document
}

async fn the_openapi_document_describes_every_route_and_only_those(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let document = openapi(&app).await;

    assert!(document["openapi"].as_str().unwrap_or_default().starts_with("3.1"), "{}", document["openapi"]);
    let (documented, routed) = (documented_routes(&document), routed());
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routes missing from /openapi.json: {undocumented:?}");
    assert!(unrouted.is_empty(), "documented but not routed: {unrouted:?}");
}

async fn the_openapi_document_is_well_formed(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let document = openapi(&app).await;

    let parsed: utoipa::openapi::OpenApi = serde_json::from_value(document.clone()).expect("an OpenAPI document");
    assert!(!parsed.paths.paths.is_empty());
    let components = &document["components"];
    let mut found = Vec::new();
    references(&document, &mut found);
    for reference in &found {
        let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{reference}"));
        assert!(components["schemas"].get(name).is_some(), "{reference} names no schema");
    }
    let mut operation_ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for operation in OPERATIONS.iter().filter_map(|method| item.get(*method)) {
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(operation_ids.insert(id.to_owned()), "{path}: operationId {id:?} is not unique");
        }
        for method in OPERATIONS.iter().filter_map(|method| item.get(*method)) {
            let operation = method.as_object().unwrap();
            assert!(operation.contains_key("responses"), "{path}: no responses");
            for requirement in operation.get("security").and_then(Value::as_array).into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(components["securitySchemes"].get(scheme).is_some(), "{path}: scheme {scheme}");
                }
            }
        }
    }
}

async fn the_openapi_document_names_every_err_class_and_shows_examples(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let document = openapi(&app).await;

    let classes: Vec<&str> = document["components"]["schemas"]["ErrClass"]["enum"]
        .as_array()
        .expect("the err_class values")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let design = [
        "invalid-payload",
        "access-denied",
        "not-found",
        "idempotency-conflict",
        "bbb-error",
        "bbb-unavailable",
        "payload-too-large",
        "invalid-host",
        "rate-limited",
        "request-timeout",
        "service-unavailable",
    ];
    for class in design {
        assert!(classes.contains(&class), "{class} missing from {classes:?}");
    }
    let create = &document["paths"]["/bbb/{slug}/meeting/"]["post"];
    assert!(create["requestBody"]["content"]["application/json"]["example"]["idempotent_id"].is_string());
    assert!(create["responses"]["200"]["content"]["application/json"]["example"]["data"]["join_user_url"].is_string());
    assert_eq!(create["security"].as_array().map(Vec::len), Some(3), "{}", create["security"]);
    let schemes = document["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(
        schemes.keys().collect::<BTreeSet<_>>(),
        BTreeSet::from([&"apikey".into(), &"basic".into(), &"publik_signature".into()])
    );
}

async fn page(app: &TestApp, slug: &str, language: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = app
        .http
        .get(app.url(&format!("/bbb/{slug}/")))
        .header(ACCEPT, "text/html")
        .header(ACCEPT_LANGUAGE, language)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

async fn the_documentation_page_lists_every_endpoint_of_the_connector(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let (status, _, html) = page(&app, "visio", "fr").await;

    assert_eq!(status, 200);
    for route in route_table().iter().filter(|route| route.path.starts_with("/bbb/{slug}")) {
        let url = format!("{}{}/", app.base, route.path.replace("{slug}", "visio"));
        assert!(html.contains(&url), "{url} is not on the page");
    }
    assert!(html.contains(&format!("{}/openapi.json", app.base)));
    assert!(html.contains("form_workflow_data_bbb_response_data_join_user_url"));
    assert!(html.contains("form_workflow_data_bbb_response_data_agent_page_url"));
    assert!(html.contains("[wscall-secrets]") && html.contains("POST"));
    assert!(html.contains("Rendez-vous avec le service urbanisme"), "the example payload");
    assert!(
        html.contains(&format!("{}/bbb/visio/meeting/6f1c0f5e2d8a4c3b9e7d1a2b3c4d5e6f/", app.base)),
        "examples show the connector's URLs"
    );
    assert!(!html.contains("example.net/bbb/"));
}

async fn the_documentation_page_shows_no_secret_and_no_bbb_server(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let bbb = app.simulator.base_url();
    let bbb_host = format!("{}:{}", bbb.host_str().unwrap(), bbb.port().unwrap());

    for (slug, language) in [("visio", "fr"), ("visio", "en"), ("open", "fr")] {
        let (_, _, html) = page(&app, slug, language).await;

        for secret in [SHARED_SECRET, OPS_KEY, WCS_KEY, PORTAL_PASSWORD, SECRET_KEY, OUTSIDER_KEY, &bbb_host] {
            assert!(!html.contains(secret), "{slug} ({language}) shows {secret:?}");
        }
    }
    let document = openapi(&app).await.to_string();
    for secret in [SHARED_SECRET, OPS_KEY, WCS_KEY, PORTAL_PASSWORD, SECRET_KEY, OUTSIDER_KEY, &bbb_host] {
        assert!(!document.contains(secret), "/openapi.json shows {secret:?}");
    }
}

async fn the_documentation_page_speaks_the_reader_s_language_and_says_who_may_call(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let (_, _, french) = page(&app, "visio", "fr-FR,fr;q=0.9").await;
    let (_, _, english) = page(&app, "visio", "en-GB,en;q=0.9,fr;q=0.5").await;
    let (_, _, open) = page(&app, "open", "en").await;

    assert!(french.contains("lang=\"fr\"") && french.contains("Points d'accès"));
    assert!(english.contains("lang=\"en\"") && english.contains("Endpoints"));
    assert!(english.contains("the Publik signature, an api key (apikey), HTTP Basic authentication"));
    assert!(english.contains("open to anyone"), "the links are open");
    assert!(english.contains("called by the BBB server"), "the callbacks");
    assert!(open.contains("this connector accepts calls without credentials"));
    assert!(!open.contains("the Publik signature"), "open lets in no api user");
}

async fn an_unknown_connector_has_no_documentation_page(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let (status, _, html) = page(&app, "nowhere", "fr").await;
    let (json_status, answer) = app.get_json(&app.url("/bbb/nowhere")).await;

    assert_eq!(status, 404);
    assert!(html.contains("Lien introuvable"));
    assert_eq!((json_status, answer["err_class"].as_str()), (404, Some("not-found")));
}

async fn the_documentation_page_sends_the_page_security_headers(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;

    let (_, headers, html) = page(&app, "visio", "fr").await;

    let header = |name: &str| headers.get(name).map(|value| value.to_str().unwrap().to_owned());
    let policy = header("content-security-policy").expect("a policy");
    assert!(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
    assert!(!html.contains("<script"), "the page needs no script");
    let style = html.split("<style>").nth(1).and_then(|rest| rest.split("</style>").next()).expect("a style");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style.as_bytes()));
    assert!(policy.contains(&format!("'sha256-{hash}'")), "the page's style is not allowed by {policy}");
}

async fn the_documentation_page_is_host_checked_and_rate_limited_like_the_landing_pages(db: &TestDatabase) {
    let app = TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        config.allowed_hosts = vec!["rdv.example.org".to_owned()];
        config.trusted_proxies = Vec::new();
        config.limits.open_requests_per_second = 1;
        config.limits.open_burst = 2;
    })
    .await;
    let port = app.base.rsplit(':').next().unwrap();
    let url = app.url("/bbb/visio/");

    let forged = app.http.get(&url).header(HOST, "evil.example").send().await.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = app.http.get(&url).header(HOST, format!("rdv.example.org:{port}")).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    let (status, document) = app.get_json(&app.url("/openapi.json")).await;

    assert_eq!(forged.status(), 400);
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(status, 200, "the document builds no URL from the Host: {document}");
}

crate::on_both_backends!(
    the_documentation_page_is_host_checked_and_rate_limited_like_the_landing_pages,
    the_openapi_document_describes_every_route_and_only_those,
    the_openapi_document_is_well_formed,
    the_openapi_document_names_every_err_class_and_shows_examples,
    the_documentation_page_lists_every_endpoint_of_the_connector,
    the_documentation_page_shows_no_secret_and_no_bbb_server,
    the_documentation_page_speaks_the_reader_s_language_and_says_who_may_call,
    an_unknown_connector_has_no_documentation_page,
    the_documentation_page_sends_the_page_security_headers,
);
