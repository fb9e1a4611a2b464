//! `cargo run --release --features test-util --bin bench`: the service and the BBB simulator on
//! loopback, loaded by wrk, on SQLite and PostgreSQL side by side; prints one table of figures
//! against the targets and writes it to target/bench-report.md. `... --bin bench -- scaling`
//! measures three instances behind nginx instead (target/bench-scaling.md). `BENCH_ONLY=metrics`
//! runs only the figure of the metrics' cost (warm is-running with and without), on SQLite.
//! `... -- streams` holds 10,000 events streams on one instance (target/bench-streams.md).

mod metrics_cost;
mod report;
mod rows;
mod scaling;
mod service;
mod slow;
mod stream_clients;
mod streams;
mod wrk;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bbb_connector::simulator::{Simulator, SimulatorConfig};
use bbb_connector::testing::{Backend, TestDatabase};

use report::Figures;
use service::{path_of, RunningCache, Service};
use slow::SlowClients;
use wrk::Load;

const SECRET: &str = "bench-bbb-secret";
const RUN: Duration = Duration::from_secs(5);
const POLL_RUN: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The streams' clients: this binary again, as a process of their own.
    if let [mode, events_url, count] = args.as_slice() {
        if mode == "stream-clients" {
            return stream_clients::run(events_url, count.parse()?).await;
        }
    }
    wrk::ensure_installed()?;
    service::build_release_binary()?;
    match args.first().map(String::as_str) {
        Some("scaling") => return bench_scaling().await,
        Some("streams") => return bench_streams().await,
        _ => {}
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|only| only == "metrics") {
        return metrics_cost_only().await;
    }
    let slow_clients = slow::affordable();
    let dir = std::env::temp_dir().join(format!("bbb-connector-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut columns = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // A simulator of its own per backend: the meetings of one column cannot weigh on the other.
        let simulator = Simulator::spawn(
            SimulatorConfig { secret: SECRET.to_owned(), ..SimulatorConfig::default() },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await?;
        match measure(backend, &simulator, &dir, slow_clients).await? {
            Some(figures) => columns.push((backend, figures)),
            None => eprintln!("bench: PostgreSQL unreachable (TEST_DATABASE_URL), its column is left out"),
        }
    }
    let table = report::render(&columns);
    println!("{table}");
    std::fs::create_dir_all("target")?;
    std::fs::write("target/bench-report.md", &table)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn bench_scaling() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("bbb-connector-bench-scaling-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let simulator = Simulator::spawn(
        SimulatorConfig { secret: SECRET.to_owned(), ..SimulatorConfig::default() },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let table = scaling::run(&simulator, &dir).await?;
    println!("{table}");
    std::fs::create_dir_all("target")?;
    std::fs::write("target/bench-scaling.md", &table)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn bench_streams() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("bbb-connector-bench-streams-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let simulator = Simulator::spawn(
        SimulatorConfig { secret: SECRET.to_owned(), ..SimulatorConfig::default() },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let table = streams::run(&simulator, &dir, SECRET).await?;
    println!("{table}");
    std::fs::create_dir_all("target")?;
    std::fs::write("target/bench-streams.md", &table)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn measure(
    backend: Backend,
    simulator: &Simulator,
    dir: &Path,
    slow_clients: usize,
) -> anyhow::Result<Option<Figures>> {
    let Some(db) = TestDatabase::new(backend).await else { return Ok(None) };
    eprintln!("bench: {backend:?}");
    let service = Service::start(dir, &db.url, simulator.base_url().as_str(), SECRET, RunningCache::Default).await?;
    let mut figures = Figures::default();
    load_reads(&service, simulator, &mut figures).await?;
    load_healthz_beside_slow_clients(&service, slow_clients, &mut figures)?;
    load_writes(&service, dir, &mut figures).await?;
    figures.peak_rss_kib = service.peak_rss_kib()?;
    drop(service);
    figures.metrics_cost = metrics_cost::measure(&db.url, simulator, dir, SECRET).await?;
    figures.non_2xx += figures.metrics_cost.non_2xx;
    let (small, large) = table_size(backend, simulator, dir).await?;
    figures.p50_1k = small;
    figures.p50_1m = large;
    Ok(Some(figures))
}

fn url(service: &Service, path: &str) -> String {
    format!("{}{path}", service.base)
}

/// healthz, warm is-running, and the BBB calls of 300 pollers.
async fn load_reads(service: &Service, simulator: &Simulator, figures: &mut Figures) -> anyhow::Result<()> {
    let health = wrk::run(&Load { url: &url(service, "/healthz"), connections: 64, duration: RUN, script: None })?;
    let joined = service.create("joined").await?;
    service.start_meeting(&joined).await?;
    let joined_poll = joined["is_running_url"].as_str().context("no is_running_url")?;
    let running = wrk::run(&Load { url: joined_poll, connections: 64, duration: RUN, script: None })?;
    figures.healthz_rps = health.requests_per_second;
    figures.healthz_p50 = health.p50;
    figures.healthz_p99 = health.p99;
    figures.running_rps = running.requests_per_second;
    figures.running_p50 = running.p50;
    figures.running_p99 = running.p99;
    figures.non_2xx += health.non_2xx_3xx + running.non_2xx_3xx;

    let never = service.create("never-joined").await?;
    let dir = std::env::temp_dir();
    let script = wrk::script(
        &dir,
        &format!("bench-alternate-{}.lua", std::process::id()),
        &wrk::alternate_lua(&path_of(joined_poll), &path_of(never["is_running_url"].as_str().unwrap_or_default())),
    )?;
    simulator.clear_calls();
    let pollers = wrk::run(&Load { url: &service.base, connections: 300, duration: POLL_RUN, script: Some(&script) })?;
    let calls_for = |meeting: &serde_json::Value| {
        let guid = meeting["guid"].as_str().unwrap_or_default();
        simulator
            .calls()
            .iter()
            .filter(|call| call.action == "isMeetingRunning" && call.param("meetingID") == Some(guid))
            .count()
    };
    figures.bbb_calls_joined = calls_for(&joined);
    figures.bbb_calls_never = calls_for(&never);
    figures.non_2xx += pollers.non_2xx_3xx;
    Ok(())
}

/// `/healthz` again, while slow connections (partial heads) are held open by the bench.
fn load_healthz_beside_slow_clients(service: &Service, count: usize, figures: &mut Figures) -> anyhow::Result<()> {
    let slow = SlowClients::open(service.addr, count)?;
    let health = wrk::run(&Load { url: &url(service, "/healthz"), connections: 64, duration: RUN, script: None })?;
    figures.slow_held = slow.still_open();
    drop(slow);
    figures.slow_healthz_p50 = health.p50;
    figures.slow_healthz_p99 = health.p99;
    figures.non_2xx += health.non_2xx_3xx;
    Ok(())
}

/// New rendezvous, idempotent replays, join redirects.
async fn load_writes(service: &Service, dir: &Path, figures: &mut Figures) -> anyhow::Result<()> {
    let create_path = service.create_path();
    let distinct = wrk::script(
        dir,
        "distinct.lua",
        &wrk::distinct_posts_lua(&create_path, r#"{"name": "Bench", "idempotent_id": "new-{n}"}"#),
    )?;
    let creates = wrk::run(&Load { url: &service.base, connections: 32, duration: RUN, script: Some(&distinct) })?;
    service.create("replayed").await?;
    let same = wrk::script(
        dir,
        "same.lua",
        &wrk::same_post_lua(&create_path, r#"{"name": "Bench", "idempotent_id": "replayed"}"#),
    )?;
    let replays = wrk::run(&Load { url: &service.base, connections: 64, duration: RUN, script: Some(&same) })?;
    let joined = service.create("joins").await?;
    let join_url = joined["join_user_url"].as_str().context("no join link")?;
    let joins = wrk::run(&Load { url: join_url, connections: 32, duration: RUN, script: None })?;
    figures.creates_rps = creates.requests_per_second;
    figures.replays_rps = replays.requests_per_second;
    figures.joins_rps = joins.requests_per_second;
    // A join answers 302, which wrk counts as success.
    figures.non_2xx += creates.non_2xx_3xx + replays.non_2xx_3xx + joins.non_2xx_3xx;
    Ok(())
}

/// is-running p50 with the cache off, with 1,000 then 1,000,000 rendezvous in the table.
async fn table_size(backend: Backend, simulator: &Simulator, dir: &Path) -> anyhow::Result<(Duration, Duration)> {
    let db = TestDatabase::new(backend).await.context("database vanished")?;
    let service = Service::start(dir, &db.url, simulator.base_url().as_str(), SECRET, RunningCache::Off).await?;
    let probe = service.create("probe").await?;
    let poll = probe["is_running_url"].as_str().context("no is_running_url")?.to_owned();
    rows::insert(&db.url, 1, 999).await?;
    let small = wrk::run(&Load { url: &poll, connections: 16, duration: RUN, script: None })?;
    rows::insert(&db.url, 1_000, 999_999).await?;
    let large = wrk::run(&Load { url: &poll, connections: 16, duration: RUN, script: None })?;
    Ok((small.p50, large.p50))
}

/// `BENCH_ONLY=metrics`: the metrics' cost alone, on SQLite, as one row of the table.
async fn metrics_cost_only() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("bbb-connector-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let simulator = Simulator::spawn(
        SimulatorConfig { secret: SECRET.to_owned(), ..SimulatorConfig::default() },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let db = TestDatabase::new(Backend::Sqlite).await.context("no SQLite database")?;
    let cost = metrics_cost::measure(&db.url, &simulator, &dir, SECRET).await?;
    println!("{}", report::metrics_cost_line(&cost));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
