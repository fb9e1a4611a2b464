//! `bench scaling`: three instances of the release binary on one PostgreSQL database behind
//! nginx, as a platform runs them: the BBB calls of 1,000 polled rendezvous per cache period
//! (one check per rendezvous, or one getMeetings per server once batching applies), and
//! is-running throughput through nginx against `/healthz` through nginx and against one instance.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bbb_connector::simulator::Simulator;
use bbb_connector::testing::TestDatabase;

use crate::service::{path_of, RunningCache, Service};
use crate::wrk::{self, Load};

const RENDEZVOUS: usize = 1_000;
const INSTANCES: usize = 3;
/// The connector's default is-running period.
const PERIOD: Duration = Duration::from_secs(3);
/// Four periods of polling.
const POLLING: Duration = Duration::from_secs(12);
const RUN: Duration = Duration::from_secs(5);

/// nginx in the foreground, one process, everything under `dir`, round robin over `upstreams`.
struct Nginx(Child);

impl Nginx {
    fn start(dir: &Path, port: u16, upstreams: &[&Service]) -> anyhow::Result<Self> {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
            .context("nginx is not installed (Debian package nginx)")?;
        let d = dir.display();
        let servers: String = upstreams.iter().map(|service| format!("server {};\n", service.addr)).collect();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             worker_rlimit_nofile 8192;\nevents {{ worker_connections 4096; }}\nhttp {{\naccess_log off;\n\
             client_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\nfastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\nupstream connector {{\n{servers}keepalive 128;\n}}\n\
             server {{\nlisten 127.0.0.1:{port};\nlocation / {{\nproxy_pass http://connector;\nproxy_http_version 1.1;\n\
             proxy_set_header Connection \"\";\nproxy_set_header Host $http_host;\n}}\n}}\n}}\n"
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start nginx")?;
        Ok(Self(child))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Random GETs over `paths`: every rendezvous polled, by many connections.
fn random_paths_lua(paths: &[String]) -> String {
    let list: Vec<String> = paths.iter().map(|path| format!("\"{path}\"")).collect();
    format!(
        "local paths = {{{}}}\nfunction init(args) math.randomseed(os.time() + math.random(1, 100000)) end\n\
         request = function() return wrk.format(\"GET\", paths[math.random(#paths)]) end\n",
        list.join(",")
    )
}

pub async fn run(simulator: &Simulator, dir: &Path) -> anyhow::Result<String> {
    let Some(db) = TestDatabase::postgres().await else { bail!("PostgreSQL unreachable (TEST_DATABASE_URL)") };
    db.store().await;
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        instances.push(
            Service::start(dir, &db.url, simulator.base_url().as_str(), "bench-bbb-secret", RunningCache::Default)
                .await?,
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let _nginx = Nginx::start(dir, port, &instances.iter().collect::<Vec<_>>())?;
    let front = format!("http://127.0.0.1:{port}");
    wait_answers(&format!("{front}/healthz")).await?;

    eprintln!("bench scaling: {RENDEZVOUS} rendezvous, every agent present");
    let mut paths = Vec::new();
    for index in 0..RENDEZVOUS {
        let service = &instances[index % INSTANCES];
        let meeting = service.create(&format!("scaling-{index}")).await?;
        service.start_meeting(&meeting).await?;
        paths.push(path_of(meeting["is_running_url"].as_str().context("no is_running_url")?));
    }
    let script = wrk::script(dir, "scaling.lua", &random_paths_lua(&paths))?;
    simulator.clear_calls();
    let database = sqlx::PgPool::connect(&db.url).await?;
    let before = database_activity(&database).await?;
    let started = Instant::now();
    let polls = wrk::run(&Load { url: &front, connections: 256, duration: POLLING, script: Some(&script) })?;
    let elapsed = started.elapsed().as_secs_f64();
    let periods = elapsed / PERIOD.as_secs_f64();
    // Backends flush their statistics at most once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = database_activity(&database).await?;
    let (transactions, updated) = (after.0 - before.0, after.1 - before.1);
    let is_running_calls = simulator.call_count("isMeetingRunning");
    let get_meetings_calls = simulator.call_count("getMeetings");

    let one_path = &paths[0];
    let health = wrk::run(&Load { url: &format!("{front}/healthz"), connections: 64, duration: RUN, script: None })?;
    let running = wrk::run(&Load { url: &format!("{front}{one_path}"), connections: 64, duration: RUN, script: None })?;
    let direct = &instances[0].base;
    let health_one =
        wrk::run(&Load { url: &format!("{direct}/healthz"), connections: 64, duration: RUN, script: None })?;
    let running_one =
        wrk::run(&Load { url: &format!("{direct}{one_path}"), connections: 64, duration: RUN, script: None })?;
    let rss: Vec<String> = instances
        .iter()
        .map(|service| service.peak_rss_kib().map(|kib| format!("{} MiB", kib / 1024)))
        .collect::<Result<_, _>>()?;

    let rows = [
        format!("| polls of {RENDEZVOUS} rendezvous through nginx (256 connections, {} s) | {:.0} req/s, p50 {:?}, p99 {:?}, non-2xx {} |", POLLING.as_secs(), polls.requests_per_second, polls.p50, polls.p99, polls.non_2xx_3xx),
        format!("| polls per rendezvous per period | {:.1} |", polls.requests as f64 / RENDEZVOUS as f64 / periods),
        format!("| isMeetingRunning per rendezvous per period (target ≤ 1) | {:.3} ({is_running_calls} calls) |", is_running_calls as f64 / RENDEZVOUS as f64 / periods),
        format!("| getMeetings per period (batching: target ≤ 1) | {:.2} ({get_meetings_calls} calls over {periods:.1} periods) |", get_meetings_calls as f64 / periods),
        format!("| PostgreSQL during the polls: transactions/s, rows updated per rendezvous per period | {:.0}/s, {:.2} |", transactions as f64 / elapsed, updated as f64 / RENDEZVOUS as f64 / periods),
        format!("| /healthz through nginx (64 connections) | {:.0} req/s, p50 {:?}, p99 {:?} |", health.requests_per_second, health.p50, health.p99),
        format!("| is-running through nginx (64 connections, one rendezvous) | {:.0} req/s, p50 {:?}, p99 {:?} |", running.requests_per_second, running.p50, running.p99),
        format!("| /healthz on one instance | {:.0} req/s, p50 {:?}, p99 {:?} |", health_one.requests_per_second, health_one.p50, health_one.p99),
        format!("| is-running on one instance | {:.0} req/s, p50 {:?}, p99 {:?} |", running_one.requests_per_second, running_one.p50, running_one.p99),
        format!("| peak RSS per instance | {} |", rss.join(", ")),
    ];
    Ok(format!("| {INSTANCES} instances behind nginx, PostgreSQL | figure |\n|---|---|\n{}\n", rows.join("\n")))
}

/// Transactions committed and rows updated in the current database so far.
async fn database_activity(database: &sqlx::PgPool) -> anyhow::Result<(i64, i64)> {
    let (committed, updated): (i64, i64) =
        sqlx::query_as("select xact_commit, tup_updated from pg_stat_database where datname = current_database()")
            .fetch_one(database)
            .await?;
    Ok((committed, updated))
}

async fn wait_answers(url: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if reqwest::get(url).await.is_ok_and(|answer| answer.status() == 200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{url} does not answer")
}
