//! The service under load: the release binary run as a child process on a configuration
//! written for the bench, so that its memory is measured alone.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bbb_connector::config::{ApiUser, Config, ConnectorConfig, Limits};
use serde_json::{json, Value};

pub const API_KEY: &str = "bench-api-key-0123456789";
pub const SLUG: &str = "bench";

/// The `[limits]` of the service under bench. The per-client rate limit is raised out of reach:
/// every load comes from one address (wrk on 127.0.0.1), and the bench measures the service, not
/// the limiter, which would otherwise answer most joins 429. The header-read timeout outlasts a
/// wrk run, so that the slow connections of the `/healthz` figure stay held throughout.
fn limits() -> Limits {
    Limits {
        open_requests_per_second: 1_000_000,
        open_burst: 1_000_000,
        header_read_timeout_seconds: 60,
        ..Limits::default()
    }
}

/// The `[limits]` of the streams figure: `limits()`, with room for `streams` events streams, all
/// from the one address of the bench's clients, beside wrk's connections.
pub fn streams_limits(streams: u32) -> Limits {
    Limits { max_connections: streams as usize + 1_000, event_streams_per_client: streams + 100, ..limits() }
}

/// The is-running cache of the service under bench.
#[derive(Debug, Clone, Copy)]
pub enum RunningCache {
    /// The connector's default period.
    Default,
    /// No reuse beyond checks in flight: every poll past the first millisecond asks BBB.
    Off,
}

/// The bench's configuration: one connector `SLUG` open to the api key `API_KEY`.
fn bench_config(
    port: u16,
    database_url: &str,
    bbb_url: &str,
    secret: &str,
    cache: RunningCache,
    metrics: bool,
    limits: Limits,
) -> anyhow::Result<Config> {
    let mut connector = ConnectorConfig::new(bbb_url, secret)?.with_access(&["ops"]);
    if let RunningCache::Off = cache {
        connector.is_running_cache_seconds = 0;
    }
    let config = Config {
        listen: format!("127.0.0.1:{port}"),
        database_url: database_url.to_owned(),
        database_max_connections: 16,
        secret_key: Some("bench-secret-key".into()),
        limits,
        metrics,
        ..Config::default()
    };
    let config = config.with_connector(SLUG, connector).with_api_user(ApiUser::apikey("ops", API_KEY));
    Ok(config.validated()?)
}

pub struct Service {
    child: Child,
    pub base: String,
    pub addr: SocketAddr,
}

impl Service {
    /// Starts `bbb-connector serve` on `database_url` against the simulator at `bbb_url`.
    pub async fn start(
        dir: &Path,
        database_url: &str,
        bbb_url: &str,
        secret: &str,
        cache: RunningCache,
    ) -> anyhow::Result<Self> {
        Self::start_measured(dir, database_url, bbb_url, secret, cache, true).await
    }

    /// As `start`, with `/metrics` and the request measure on or off.
    pub async fn start_measured(
        dir: &Path,
        database_url: &str,
        bbb_url: &str,
        secret: &str,
        cache: RunningCache,
        metrics: bool,
    ) -> anyhow::Result<Self> {
        Self::start_limited(dir, database_url, bbb_url, secret, cache, metrics, limits()).await
    }

    /// As `start_measured`, with `limits` in place of the bench's usual ones.
    pub async fn start_limited(
        dir: &Path,
        database_url: &str,
        bbb_url: &str,
        secret: &str,
        cache: RunningCache,
        metrics: bool,
        limits: Limits,
    ) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = bench_config(port, database_url, bbb_url, secret, cache, metrics, limits)?;
        let config_path = dir.join(format!("bench-{port}.toml"));
        std::fs::write(&config_path, config.to_toml())?;
        let child = Command::new(binary()?)
            .args(["serve", "--config"])
            .arg(&config_path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start bbb-connector")?;
        let service =
            Self { child, base: format!("http://127.0.0.1:{port}"), addr: SocketAddr::from(([127, 0, 0, 1], port)) };
        service.wait_ready().await?;
        Ok(service)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(response) = reqwest::get(format!("{}/readyz", self.base)).await {
                if response.status() == 200 {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the service did not become ready within 30 s")
    }

    /// Peak resident memory (VmHWM) of the service, in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.memory_kib("VmHWM:")
    }

    /// Resident memory now (VmRSS) of the service, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.memory_kib("VmRSS:")
    }

    fn memory_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|line| line.starts_with(field)).with_context(|| format!("no {field}"))?;
        Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
    }

    pub fn create_path(&self) -> String {
        format!("/bbb/{SLUG}/meeting/?apikey={API_KEY}")
    }

    /// Creates a rendezvous and returns the meeting object.
    pub async fn create(&self, idempotent_id: &str) -> anyhow::Result<Value> {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}{}", self.base, self.create_path()))
            .json(&json!({"name": "Bench", "idempotent_id": idempotent_id}))
            .send()
            .await?
            .json()
            .await?;
        if answer["err"] != 0 {
            bail!("create failed: {answer}");
        }
        Ok(answer["data"].clone())
    }

    /// Follows the agent link as a browser does, so the meeting runs in the simulator.
    pub async fn start_meeting(&self, meeting: &Value) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        let response = http.get(meeting["join_agent_url"].as_str().context("no join link")?).send().await?;
        let location = response.headers().get("location").context("no redirect")?.to_str()?.to_owned();
        http.get(location).send().await?;
        Ok(())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the release service binary, or brings it up to date, so that a fresh clone benches
/// and a stale binary is never measured. `cargo run --bin bench` builds only the bench itself.
pub fn build_release_binary() -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        bail!("the bench measures release builds: run it as `cargo run --release --features test-util --bin bench`");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--bin", "bbb-connector", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .status()
        .context("cannot run cargo to build the service")?;
    if !status.success() {
        bail!("cargo could not build the service");
    }
    Ok(())
}

/// The release binary next to the bench binary.
fn binary() -> anyhow::Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name("bbb-connector");
    if !path.exists() {
        bail!("{} is missing: run `cargo build --release` first", path.display());
    }
    Ok(path)
}

/// The path part of a URL the service handed out.
pub fn path_of(url: &str) -> String {
    url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned())).unwrap_or_default()
}
