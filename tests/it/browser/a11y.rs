//! Accessibility of the pages in headless chromium (WCAG 2.2 AA): Deque's axe-core, pinned in
//! tests/a11y and injected by WebDriver (outside the pages' CSP), on every page and state in
//! French and English from 320px wide to a desktop; plus what axe cannot see: `lang`, one
//! `h1`, a polite status region, no motion under `prefers-reduced-motion`, and the keyboard path
//! with a visible focus ring. Without chromium or axe-core (`npm ci` in tests/a11y) they say
//! SKIPPED, except with CI=true, where they fail.

use std::collections::BTreeSet;
use std::io::Write;

use bbb_connector::simulator::Fault;
use bbb_connector::testing::TestDatabase;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use super::{start_driver, until, Driver, CHROMIUM, STATE};
use crate::api_events::enter;
use crate::helpers::{spawn_simulator, TestApp, OPS_KEY};

mod keyboard;

const AXE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/a11y/node_modules/axe-core/axe.min.js");
/// WCAG 2.0, 2.1 and 2.2, levels A and AA.
const WCAG_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
/// WCAG 1.4.10's reflow width (1280px at 400%), a phone (iPhone 12 to 15), a desktop.
const SIZES: [(u32, u32); 3] = [(320, 640), (390, 844), (1280, 900)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    French,
    English,
}

impl Lang {
    const BOTH: [Lang; 2] = [Lang::French, Lang::English];

    fn tag(self) -> &'static str {
        match self {
            Lang::French => "fr",
            Lang::English => "en",
        }
    }
}

/// axe.min.js, or `None` (after saying SKIPPED) when tests/a11y has not been installed outside CI.
fn axe_source(test: &str) -> Option<String> {
    if let Ok(source) = std::fs::read_to_string(AXE) {
        return Some(source);
    }
    let why = "axe-core is not installed (cd tests/a11y && npm ci)";
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: {why}");
    let _ = std::io::stderr().lock().write_all(format!("SKIPPED {test}: {why}\n").as_bytes());
    None
}

/// The driver and axe-core, or `None` when either is missing outside CI.
fn tools(test: &str) -> Option<(Driver, String)> {
    let driver = start_driver(test)?;
    Some((driver, axe_source(test)?))
}

/// A headless chromium window reading `lang`, for which motion is to be reduced.
async fn session(driver: &Driver, lang: Lang) -> Client {
    let (locale, accepted) = match lang {
        Lang::French => ("fr-FR", "fr-FR,fr"),
        Lang::English => ("en-GB", "en-GB,en"),
    };
    let options = json!({
        "binary": CHROMIUM,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 format!("--lang={locale}"), "--force-prefers-reduced-motion", "--window-size=1280,900"],
        "prefs": {"intl.accept_languages": accepted},
    });
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

/// Runs axe-core with the WCAG A and AA rules; answers the violations, the results to review
/// and the ids of the rules it ran and of those that found something to check, each node with
/// its selector and axe's summary.
const RUN_AXE: &str = r#"
var done = arguments[arguments.length - 1];
var brief = function (rule) {
  return {id: rule.id, impact: rule.impact || "", help: rule.help, nodes: rule.nodes.map(function (node) {
    return {target: node.target.map(String).join(" "), summary: node.failureSummary || ""};
  })};
};
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]}).then(function (r) {
  done({violations: r.violations.map(brief), incomplete: r.incomplete.map(brief),
        applied: r.passes.concat(r.violations, r.incomplete).map(function (rule) { return rule.id; }),
        rules: r.passes.concat(r.violations, r.incomplete, r.inapplicable).map(function (rule) { return rule.id; })});
}, function (error) { done({error: String(error)}); });
"#;

/// What axe-core cannot judge: the language, the headings, the live regions, the motion.
const STRUCTURE: &str = r##"
var moving = Array.prototype.filter.call(document.querySelectorAll("*"), function (e) {
  var style = getComputedStyle(e);
  var transition = style.transitionProperty !== "none" && style.transitionDuration.split(",").some(function (t) {
    return parseFloat(t) > 0;
  });
  return transition || style.animationName.split(",").some(function (name) { return name.trim() !== "none"; });
}).map(function (e) { return e.tagName.toLowerCase() + (e.id ? "#" + e.id : ""); });
var live = Array.prototype.map.call(
  document.querySelectorAll("[aria-live], [role=status], [role=alert], [role=log], [role=marquee], [role=timer]"),
  function (e) { return {id: e.id, role: e.getAttribute("role"), live: e.getAttribute("aria-live")}; });
return {lang: document.documentElement.getAttribute("lang"), h1: document.querySelectorAll("h1").length,
        reduced: matchMedia("(prefers-reduced-motion: reduce)").matches,
        animations: document.getAnimations().length, moving: moving, live: live,
        status: !!document.getElementById("status")};
"##;

/// Every finding of the pages visited, told at the end all at once.
struct Audit {
    axe: String,
    findings: Vec<String>,
    to_review: BTreeSet<String>,
    rules: BTreeSet<String>,
    applied: BTreeSet<String>,
    views: usize,
}

impl Audit {
    fn new(axe: String) -> Self {
        Self {
            axe,
            findings: Vec::new(),
            to_review: BTreeSet::new(),
            rules: BTreeSet::new(),
            applied: BTreeSet::new(),
            views: 0,
        }
    }

    /// The page shown in `client`, at each size, as `label`.
    async fn page(&mut self, client: &Client, label: &str, lang: Lang) {
        for (width, height) in SIZES {
            client.set_window_size(width, height).await.expect("the window resizes");
            until(client, "window.innerWidth", json!(width)).await;
            let view = format!("{label} ({}, {width}×{height})", lang.tag());
            self.axe(client, &view).await;
            self.reflow(client, &view).await;
        }
        self.structure(client, &format!("{label} ({})", lang.tag()), lang).await;
    }

    async fn axe(&mut self, client: &Client, label: &str) {
        let present = client.execute("return typeof window.axe === 'object';", vec![]).await.expect("a script runs");
        if present != json!(true) {
            client.execute(&format!("{}\n;return true;", self.axe), vec![]).await.expect("axe-core loads");
        }
        let answer = client.execute_async(RUN_AXE, vec![json!(WCAG_TAGS)]).await.expect("axe-core runs");
        assert!(answer["error"].is_null(), "{label}: axe-core failed: {}", answer["error"]);
        self.views += 1;
        let ids = |key: &str| answer[key].as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from);
        self.rules.extend(ids("rules"));
        self.applied.extend(ids("applied"));
        for rule in answer["violations"].as_array().into_iter().flatten() {
            self.findings.push(format!("{label}: {}", describe(rule)));
        }
        for rule in answer["incomplete"].as_array().into_iter().flatten() {
            self.to_review.insert(format!("{label}: {}", describe(rule)));
        }
    }

    /// WCAG 1.4.10: the page fits the window's width, with no scrolling sideways.
    async fn reflow(&mut self, client: &Client, view: &str) {
        let overflow = client
            .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", vec![])
            .await
            .expect("a script runs");
        if overflow.as_f64().unwrap_or(0.0) > 0.0 {
            self.findings.push(format!("{view}: the page is {overflow}px wider than the window"));
        }
    }

    async fn structure(&mut self, client: &Client, label: &str, lang: Lang) {
        let found = client.execute(STRUCTURE, vec![]).await.expect("a script runs");
        let mut fail = |what: String| self.findings.push(format!("{label}: {what}"));
        if found["lang"] != json!(lang.tag()) {
            fail(format!("<html lang> is {}, not {}", found["lang"], lang.tag()));
        }
        if found["h1"] != json!(1) {
            fail(format!("{} h1 instead of one", found["h1"]));
        }
        if found["reduced"] != json!(true) {
            fail("prefers-reduced-motion: reduce is not emulated".to_owned());
        }
        if found["animations"] != json!(0) || found["moving"] != json!([]) {
            fail(format!("{} animations run under reduced motion, on {}", found["animations"], found["moving"]));
        }
        for region in found["live"].as_array().into_iter().flatten() {
            let polite = region["role"] == json!("status") && matches!(region["live"].as_str(), None | Some("polite"));
            if !polite {
                fail(format!("the live region {region} is not a polite role=status"));
            }
        }
        let status = found["live"].as_array().into_iter().flatten().any(|region| region["id"] == json!("status"));
        if found["status"] == json!(true) && !status {
            fail("the #status paragraph is not a live region".to_owned());
        }
    }

    /// Fails with every finding; says how much was checked.
    fn assert_clean(self, test: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "{test}: axe-core ran {} rules ({}; {} found something to check) on {} views; {} findings",
            self.rules.len(),
            WCAG_TAGS.join(", "),
            self.applied.len(),
            self.views,
            self.findings.len()
        );
        let _ = writeln!(err, "  rules that found something to check: {}", Vec::from_iter(self.applied).join(", "));
        for review in &self.to_review {
            let _ = writeln!(err, "  to review (axe could not decide): {review}");
        }
        assert!(self.findings.is_empty(), "{test}: accessibility findings:\n{}", self.findings.join("\n"));
    }
}

/// One rule's violation: id, impact, what it asks, and each node's selector and summary.
fn describe(rule: &Value) -> String {
    let nodes = rule["nodes"].as_array().into_iter().flatten().map(|node| {
        let summary = node["summary"].as_str().unwrap_or_default().replace('\n', "\n        ");
        format!("\n    {}\n        {summary}", node["target"].as_str().unwrap_or_default())
    });
    format!(
        "{} ({}): {}{}",
        rule["id"].as_str().unwrap_or_default(),
        rule["impact"].as_str().unwrap_or_default(),
        rule["help"].as_str().unwrap_or_default(),
        nodes.collect::<String>()
    )
}

/// A rendezvous whose pages show every part of the appointment.
async fn appointment(app: &TestApp, id: &str) -> Value {
    let start = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let metadata = json!({"appointment": "Permis de construire", "start": start, "duration_minutes": 30,
                          "description": "Apportez votre dossier.\nEt une pièce d’identité."});
    app.create(&json!({"name": "Entretien", "idempotent_id": id, "metadata": metadata})).await
}

async fn spawn_app(db: &TestDatabase) -> TestApp {
    spawn_app_branded(db, false).await
}

/// With `branded`, the pages carry an organisation's name and accent colour, so that the banner
/// and the accent are audited too.
async fn spawn_app_branded(db: &TestDatabase, branded: bool) -> TestApp {
    TestApp::spawn_configured(db, spawn_simulator().await, |config| {
        config.connectors.values_mut().for_each(|connector| connector.is_running_cache_seconds = 1);
        if branded {
            config.branding.name = Some("Ville de Sainte-Foy".to_owned());
            config.branding.accent_colour = Some("#6a1b9a".to_owned());
        }
    })
    .await
}

/// The agent's page without and with the citizen, and the user's page in each of its states,
/// both in `lang`: one window each.
async fn landing_pages(app: &TestApp, client: &Client, audit: &mut Audit, lang: Lang) {
    let meeting = appointment(app, &format!("a11y-{}", lang.tag())).await;
    let agent = client.window().await.unwrap();
    client.goto(meeting["agent_page_url"].as_str().unwrap()).await.unwrap();
    until(client, "document.getElementById('presence').dataset.open", json!("no")).await;
    audit.page(client, "agent page, citizen absent", lang).await;

    let user = client.new_window(true).await.unwrap().handle;
    client.switch_to_window(user.clone()).await.unwrap();
    client.goto(meeting["user_page_url"].as_str().unwrap()).await.unwrap();
    until(client, STATE, json!("waiting")).await;
    audit.page(client, "user page, waiting", lang).await;
    client.switch_to_window(agent.clone()).await.unwrap();
    until(client, "document.getElementById('presence').dataset.open", json!("yes")).await;
    audit.page(client, "agent page, citizen waiting", lang).await;

    enter(app, meeting["join_agent_url"].as_str().unwrap()).await;
    client.switch_to_window(user.clone()).await.unwrap();
    until(client, STATE, json!("running")).await;
    audit.page(client, "user page, running", lang).await;
    app.simulator.set_fault(Some(Fault::Down));
    until(client, STATE, json!("disrupted")).await;
    audit.page(client, "user page, disrupted", lang).await;
    app.simulator.set_fault(None);
    until(client, STATE, json!("running")).await;
    let guid = meeting["guid"].as_str().unwrap();
    app.http.post(app.url(&format!("/bbb/visio/meeting/{guid}/end/?apikey={OPS_KEY}"))).send().await.unwrap();
    until(client, STATE, json!("ended")).await;
    audit.page(client, "user page, ended", lang).await;
    client.switch_to_window(agent).await.unwrap();
    until(client, STATE, json!("ended")).await;
    audit.page(client, "agent page, ended", lang).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_landing_pages_pass_axe_in_every_state_in_both_languages_from_phone_to_desktop() {
    let test = "browser::a11y::the_landing_pages_pass_axe_in_every_state_in_both_languages_from_phone_to_desktop";
    let Some((driver, axe)) = tools(test) else { return };
    let db = TestDatabase::sqlite();
    let mut audit = Audit::new(axe);

    for lang in Lang::BOTH {
        // The French pages branded, the English ones plain: both looks audited in one pass.
        let app = spawn_app_branded(&db, lang == Lang::French).await;
        let client = session(&driver, lang).await;
        landing_pages(&app, &client, &mut audit, lang).await;
        let _ = client.close().await;
    }

    audit.assert_clean(test);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_and_documentation_pages_pass_axe_in_both_languages_from_phone_to_desktop() {
    let test = "browser::a11y::the_error_and_documentation_pages_pass_axe_in_both_languages_from_phone_to_desktop";
    let Some((driver, axe)) = tools(test) else { return };
    let db = TestDatabase::sqlite();
    let app = spawn_app(&db).await;
    let meeting = appointment(&app, "a11y-errors").await;
    let unknown = wrong_key(meeting["user_page_url"].as_str().unwrap());
    let mut audit = Audit::new(axe);

    for lang in Lang::BOTH {
        let client = session(&driver, lang).await;
        client.goto(&unknown).await.unwrap();
        audit.page(&client, "error page, unknown link", lang).await;
        app.simulator.set_fault(Some(Fault::Down));
        client.goto(meeting["join_user_url"].as_str().unwrap()).await.unwrap();
        app.simulator.set_fault(None);
        audit.page(&client, "error page, BBB down", lang).await;
        client.goto(&app.url("/bbb/visio/")).await.unwrap();
        audit.page(&client, "documentation page", lang).await;
        let _ = client.close().await;
    }

    audit.assert_clean(test);
}

/// `url` with another key of the same length: a link that leads nowhere.
fn wrong_key(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let (base, key) = trimmed.rsplit_once('/').expect("a keyed URL");
    format!("{base}/{}/", "0".repeat(key.len()))
}
