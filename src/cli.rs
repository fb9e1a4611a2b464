//! The command line of DESIGN §2: parse, then dispatch to the subcommands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{self, AppState};
use crate::config::{self, Config, ConfigError};
use crate::rendezvous::Connectors;
use crate::store::{self, PendingMigration};
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "bbb-connector",
    version,
    about = "BigBlueButton rendezvous for Publik workflows (a Passerelle-compatible connector)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default when no subcommand is given).
    Serve(ConfigArg),
    /// Run the service on an embedded SQLite database with the built-in BBB simulator.
    Demo {
        /// Address and port to bind.
        #[arg(long, default_value = config::DEFAULT_LISTEN)]
        listen: String,
    },
    /// Run only the BBB API simulator.
    SimulateBbb {
        /// Address and port to bind.
        #[arg(long)]
        listen: SocketAddr,
        /// The shared secret clients must sign with.
        #[arg(long)]
        secret: String,
        /// Where browsers reach the simulator (join redirects, playback links), e.g. behind TLS.
        #[arg(long, value_name = "URL")]
        public_url: Option<url::Url>,
    },
    /// Say which configuration file is read, validate it, check the database (never creating
    /// nor migrating it) and probe every connector's BBB server; exit 0 only if all are ok.
    Check(ConfigArg),
    /// Apply the database migrations and exit.
    Migrate(ConfigArg),
    /// Delete the rendezvous whose last activity (created, updated, last time running) is older
    /// than the given age.
    Purge {
        /// Age as <number><s|m|h|d|w>, e.g. 90d.
        #[arg(long, value_parser = parse_age)]
        older_than: Duration,
        /// Only count the rendezvous that would be deleted.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Ask the running service whether it is alive: exit 0 when /healthz answers 200, else 1.
    Healthcheck {
        /// URL to GET (default: http://<listen>/healthz, 0.0.0.0 and [::] asked on loopback).
        #[arg(long, value_name = "URL")]
        url: Option<url::Url>,
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArg {
    /// Configuration file (default: $BBB_CONNECTOR_CONFIG, else ./bbb-connector.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `<number><s|m|h|d|w>`, as DESIGN §2 says.
fn parse_age(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not an age like 90d (a number followed by s, m, h, d or w)");
    let unit_start = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(unit_start);
    if number.is_empty() || !matches!(unit, "s" | "m" | "h" | "d" | "w") {
        return Err(invalid());
    }
    humantime::parse_duration(text).map_err(|_| invalid())
}

/// How a command failed: configuration mistakes exit 2, everything else 1.
enum Failure {
    Config(ConfigError),
    Runtime(anyhow::Error),
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::Runtime(error)
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command.unwrap_or(Command::Serve(ConfigArg { config: None })) {
        Command::Serve(arg) => serve(&arg).await,
        Command::Demo { listen } => crate::demo::run(&listen).await.map_err(Failure::from),
        Command::SimulateBbb { listen, secret, public_url } => {
            crate::simulator::run_standalone(listen, secret, public_url).await.map_err(Failure::from)
        }
        Command::Check(arg) => check(&arg).await,
        Command::Migrate(arg) => migrate(&arg).await,
        Command::Purge { older_than, dry_run, config } => purge(&config, older_than, dry_run).await,
        Command::Healthcheck { url, config } => return healthcheck(url, &config).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(error)) => {
            eprintln!("bbb-connector: {error}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(error)) => {
            eprintln!("bbb-connector: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(arg: &ConfigArg) -> Result<Config, ConfigError> {
    let path = config::locate(arg.config.as_deref());
    Config::load(path.as_deref().map(Path::new))
}

async fn serve(arg: &ConfigArg) -> Result<(), Failure> {
    let path = config::locate(arg.config.as_deref());
    let config = Config::load(path.as_deref())?;
    telemetry::init(config.log_format);
    let database = store::redact_database_url(&config.database_url);
    let configuration = match &path {
        Some(path) => std::path::absolute(path).unwrap_or(path.clone()).display().to_string(),
        None => "built-in defaults".to_owned(),
    };
    let listen = config.listen.clone();
    let state = AppState::build(config).await?;
    let (listener, addr) = app::bind(&listen).await?;
    // SIGHUP reloads from the file (and the environment) read at start, from now on.
    #[cfg(unix)]
    tokio::spawn(app::reload_on_hangup(state.clone(), path).context("cannot listen for SIGHUP")?);
    let version = env!("CARGO_PKG_VERSION");
    tracing::info!(
        "bbb-connector {version} listening on http://{addr}/ with database {database}, configuration {configuration}"
    );
    app::serve(listener, state, app::shutdown_signal()).await.map_err(anyhow::Error::from)?;
    Ok(())
}

async fn migrate(arg: &ConfigArg) -> Result<(), Failure> {
    let config = load_config(arg)?;
    app::open_store(&config).await?;
    println!("migrations applied to {}", store::redact_database_url(&config.database_url));
    Ok(())
}

/// One line of `check`: `ok` and its details, or `FAILED` and the reason.
type CheckLine = Result<String, String>;

/// Prints the line; true when it is ok.
fn report(subject: &str, line: &CheckLine) -> bool {
    match line {
        Ok(details) => println!("{subject}: ok{details}"),
        Err(reason) => println!("{subject}: FAILED: {reason}"),
    }
    line.is_ok()
}

async fn check(arg: &ConfigArg) -> Result<(), Failure> {
    let path = config::locate(arg.config.as_deref());
    match &path {
        Some(path) => println!("configuration file: {}", std::path::absolute(path).unwrap_or(path.clone()).display()),
        None => println!(
            "configuration file: none (no --config, no ${}, no ./{}): built-in defaults apply",
            config::CONFIG_ENV,
            config::DEFAULT_CONFIG_FILE
        ),
    }
    let config = Config::load(path.as_deref())?;
    println!("configuration: ok ({} connector(s), {} api user(s))", config.connectors.len(), config.api_users.len());
    if config.trusts_any_host() {
        println!(
            "warning: public_url is not set and allowed_hosts accepts any Host: the URLs handed out follow the \
             Host each client sends; set public_url (or allowed_hosts)"
        );
    }
    let mut failed = usize::from(!report("database", &check_database(&config).await));
    let connectors = Connectors::from_config(&config).map_err(anyhow::Error::from)?;
    if connectors.iter().next().is_none() {
        failed += usize::from(!report("connectors", &Err("none configured".to_owned())));
    }
    for (slug, line) in probe_every_connector(&connectors).await {
        failed += usize::from(!report(&format!("connector {slug}"), &line));
    }
    if failed > 0 {
        return Err(anyhow::anyhow!("{failed} check(s) failed").into());
    }
    Ok(())
}

/// Reachable, and its schema is the one this binary expects; nothing is created or migrated.
async fn check_database(config: &Config) -> CheckLine {
    let database = store::redact_database_url(&config.database_url);
    let store = app::open_existing_store(config).await.map_err(|error| format!("{error:#}"))?;
    store.ping().await.map_err(|error| format!("{database}: {error}"))?;
    let pending = store.pending_migrations().await.map_err(|error| format!("{database}: {error}"))?;
    if !pending.is_empty() {
        return Err(format!("{database}: {}", schema_behind(&pending)));
    }
    Ok(format!(" ({database})"))
}

fn schema_behind(pending: &[PendingMigration]) -> String {
    let names: Vec<String> = pending.iter().map(ToString::to_string).collect();
    format!(
        "the schema is behind, {} migration(s) pending ({}): run `bbb-connector migrate`",
        pending.len(),
        names.join(", ")
    )
}

/// Every connector's status probe, run concurrently, reported in slug order.
async fn probe_every_connector(connectors: &Connectors) -> Vec<(String, CheckLine)> {
    let probes: Vec<_> = connectors
        .iter()
        .map(|connector| {
            let connector = Arc::clone(connector);
            (connector.slug.clone(), tokio::spawn(async move { connector.probe().await }))
        })
        .collect();
    let mut lines = Vec::with_capacity(probes.len());
    for (slug, probe) in probes {
        let line = match probe.await {
            Ok(Ok(status)) => {
                let version = status.version.bbb_version.as_deref().unwrap_or(&status.version.version);
                Ok(format!(", BBB {version}, answered in {} ms", status.latency.as_millis()))
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(error) => Err(format!("the probe stopped: {error}")),
        };
        lines.push((slug, line));
    }
    lines
}

async fn purge(arg: &ConfigArg, older_than: Duration, dry_run: bool) -> Result<(), Failure> {
    let config = load_config(arg)?;
    let age = chrono::Duration::from_std(older_than).map_err(|_| anyhow::anyhow!("age {older_than:?} is too large"))?;
    let cutoff =
        chrono::Utc::now().checked_sub_signed(age).ok_or_else(|| anyhow::anyhow!("age {older_than:?} is too large"))?;
    let store = app::open_existing_store(&config).await?;
    let pending = store.pending_migrations().await.map_err(anyhow::Error::from)?;
    if !pending.is_empty() {
        return Err(anyhow::anyhow!("{}", schema_behind(&pending)).into());
    }
    let since = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if dry_run {
        let count = store.count_inactive(cutoff).await.map_err(anyhow::Error::from)?;
        println!("dry run: {count} rendezvous inactive since before {since} would be purged (nothing deleted)");
    } else {
        let purged = store.purge_inactive(cutoff).await.map_err(anyhow::Error::from)?;
        println!("purged {purged} rendezvous inactive since before {since}");
    }
    Ok(())
}

/// How long `healthcheck` waits for the answer (below the 5 s of the image's HEALTHCHECK).
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The probe of the container image, so that it needs no curl: exit 0 on a 200, else 1 with
/// the reason on stderr. Never 2, which Docker reserves.
async fn healthcheck(url: Option<url::Url>, arg: &ConfigArg) -> ExitCode {
    let url = match url.map_or_else(|| configured_healthz_url(arg), Ok) {
        Ok(url) => url,
        Err(error) => {
            eprintln!("bbb-connector healthcheck: {error:#} (or give --url)");
            return ExitCode::FAILURE;
        }
    };
    match probe_health(&url).await {
        Ok(()) => {
            println!("healthy: {url} answered 200");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bbb-connector healthcheck: {url}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn configured_healthz_url(arg: &ConfigArg) -> anyhow::Result<url::Url> {
    let config = load_config(arg)?;
    healthz_url(&config.listen)
}

/// `http://<listen>/healthz`, asking loopback where `listen` names every address.
fn healthz_url(listen: &str) -> anyhow::Result<url::Url> {
    let host_port = match listen.parse::<SocketAddr>() {
        Ok(addr) if addr.port() == 0 => anyhow::bail!("listen {listen:?} has no fixed port"),
        Ok(addr) if addr.ip().is_unspecified() => {
            let loopback: std::net::IpAddr = if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            SocketAddr::new(loopback, addr.port()).to_string()
        }
        _ => listen.to_owned(),
    };
    url::Url::parse(&format!("http://{host_port}/healthz"))
        .map_err(|error| anyhow::anyhow!("listen {listen:?}: {error}"))
}

/// One GET, straight to the address (no proxy from the environment, no redirect followed).
async fn probe_health(url: &url::Url) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HEALTHCHECK_TIMEOUT)
        .build()?;
    let response = client.get(url.clone()).send().await.map_err(|error| {
        if error.is_timeout() {
            return anyhow::anyhow!("no answer within {} s", HEALTHCHECK_TIMEOUT.as_secs());
        }
        let mut cause: &dyn std::error::Error = &error;
        while let Some(source) = cause.source() {
            cause = source;
        }
        anyhow::anyhow!("no answer: {cause}")
    })?;
    match response.status() {
        reqwest::StatusCode::OK => Ok(()),
        status => anyhow::bail!("answered {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_use_one_number_and_one_unit() {
        assert_eq!(parse_age("90d").unwrap(), Duration::from_secs(90 * 86_400));
        assert_eq!(parse_age("2w").unwrap(), Duration::from_secs(14 * 86_400));
        assert_eq!(parse_age("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_age("5m").unwrap(), Duration::from_secs(300));
        for bad in ["", "d", "90", "90y", "1h30m", "-1d", "9 0d"] {
            assert!(parse_age(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn the_healthcheck_asks_loopback_when_the_service_listens_everywhere() {
        let cases = [
            ("0.0.0.0:8080", "http://127.0.0.1:8080/healthz"),
            ("[::]:8080", "http://[::1]:8080/healthz"),
            ("127.0.0.1:9000", "http://127.0.0.1:9000/healthz"),
            ("192.0.2.7:8080", "http://192.0.2.7:8080/healthz"),
            ("localhost:8080", "http://localhost:8080/healthz"),
        ];
        for (listen, expected) in cases {
            assert_eq!(healthz_url(listen).unwrap().as_str(), expected, "listen {listen}");
        }
        assert!(healthz_url("0.0.0.0:0").is_err(), "port 0 cannot be probed");
    }
}
