//! `TestApp`: the real service on 127.0.0.1:0 against the BBB simulator and a throw-away
//! database, with one helper per way of calling it.

use std::net::SocketAddr;

use bbb_connector::app::{self, AppState};
use bbb_connector::config::{ApiUser, Config, ConnectorConfig, ACCESS_ANONYMOUS};
use bbb_connector::domain::Clock;
use bbb_connector::http::signature::sign_query;
use bbb_connector::simulator::{Simulator, SimulatorConfig};
use bbb_connector::testing::TestDatabase;
use chrono::Utc;
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use reqwest::{redirect, Response};
use serde_json::Value;
use tokio::sync::oneshot;

pub const SHARED_SECRET: &str = "bbb-shared-secret-for-tests";
pub const WCS_ORIG: &str = "wcs.example.net";
pub const WCS_KEY: &str = "wcs-signing-key";
pub const OPS_KEY: &str = "ops-api-key-0123456789";
pub const OUTSIDER_KEY: &str = "outsider-api-key-987";
pub const PORTAL_USER: &str = "portal";
pub const PORTAL_PASSWORD: &str = "portal-password-xyz";
pub const SECRET_KEY: &str = "service-secret-key-for-tests";

/// The configuration of every test app: `visio` protected, `open` anonymous, and one api user
/// of each kind plus one that no connector lets in.
pub fn test_config(database_url: &str, bbb_url: &str) -> Config {
    let mut visio = ConnectorConfig::new(bbb_url, SHARED_SECRET)
        .expect("a simulator URL")
        .with_access(&[WCS_ORIG, "ops", "portal"]);
    visio.timeout_seconds = 1;
    let mut open =
        ConnectorConfig::new(bbb_url, SHARED_SECRET).expect("a simulator URL").with_access(&[ACCESS_ANONYMOUS]);
    open.timeout_seconds = 1;
    let config = Config {
        listen: "127.0.0.1:0".to_owned(),
        database_url: database_url.to_owned(),
        secret_key: Some(SECRET_KEY.into()),
        ..Config::default()
    };
    config
        .with_connector("visio", visio)
        .with_connector("open", open)
        .with_api_user(ApiUser::signature(WCS_ORIG, WCS_KEY))
        .with_api_user(ApiUser::apikey("ops", OPS_KEY))
        .with_api_user(ApiUser::basic("portal", PORTAL_USER, PORTAL_PASSWORD))
        .with_api_user(ApiUser::apikey("outsider", OUTSIDER_KEY))
}

pub async fn spawn_simulator() -> Simulator {
    let config = SimulatorConfig { secret: SHARED_SECRET.to_owned(), ..SimulatorConfig::default() };
    Simulator::spawn(config, SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("start the simulator")
}

pub struct TestApp {
    pub base: String,
    pub simulator: Simulator,
    /// The service's clock: `advance` it to cross a cache period without sleeping.
    pub clock: Clock,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestApp {
    /// The app on `db`, with a simulator of its own.
    pub async fn spawn(db: &TestDatabase) -> Self {
        Self::spawn_on(db, spawn_simulator().await).await
    }

    /// The app on `db` against `simulator` (two instances can share both).
    pub async fn spawn_on(db: &TestDatabase, simulator: Simulator) -> Self {
        Self::spawn_configured(db, simulator, |_| ()).await
    }

    /// The app on the test configuration as changed by `adjust`.
    pub async fn spawn_configured(db: &TestDatabase, simulator: Simulator, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(&db.url, simulator.base_url().as_str());
        adjust(&mut config);
        let config = config.validated().expect("a valid test configuration");
        let clock = Clock::adjustable();
        let state = AppState::build_on(config, clock.clone()).await.expect("build the app");
        let (listener, addr) = app::bind("127.0.0.1:0").await.expect("bind");
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(app::serve(listener, state, async {
            let _ = stop.await;
        }));
        let http = reqwest::Client::builder().redirect(redirect::Policy::none()).build().expect("http client");
        Self { base: format!("http://{addr}"), simulator, clock, http, shutdown: Some(shutdown) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `path?query` signed as w.c.s. signs it.
    pub fn signed(&self, path: &str, query: &str) -> String {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let query = if query.is_empty() { format!("orig={WCS_ORIG}") } else { format!("orig={WCS_ORIG}&{query}") };
        format!("{}{path}?{}", self.base, sign_query(&query, WCS_KEY, "sha256", Utc::now(), &nonce))
    }

    /// A POST as w.c.s. sends it: signed URL, JSON body, its usual headers.
    pub async fn post_as_wcs(&self, path: &str, body: &Value) -> Response {
        self.post_json(&self.signed(path, ""), body).await
    }

    pub async fn post_json(&self, url: &str, body: &Value) -> Response {
        self.http
            .post(url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "w.c.s./0 (https://dev.entrouvert.org/projects/wcs/)")
            .header("Publik-Caller-URL", "https://wcs.example.net/backoffice/management/rdv/12/")
            .body(body.to_string())
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a rendezvous on `visio` with an api key; returns the meeting object.
    pub async fn create(&self, body: &Value) -> Value {
        let response = self.post_json(&self.url(&format!("/bbb/visio/meeting/?apikey={OPS_KEY}")), body).await;
        let status = response.status();
        let answer: Value = response.json().await.expect("JSON answer");
        assert_eq!((status.as_u16(), &answer["err"]), (200, &Value::from(0)), "create failed: {answer}");
        answer["data"].clone()
    }

    pub async fn get(&self, url: &str) -> Response {
        self.http.get(url).send().await.expect("request sent")
    }

    pub async fn get_json(&self, url: &str) -> (u16, Value) {
        let response = self.get(url).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Generates one test per backend for each `async fn name(db: &TestDatabase)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = bbb_connector::testing::TestDatabase::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = bbb_connector::testing::TestDatabase::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}
