//! `bench -- streams`: 10,000 events streams of one rendezvous on one instance (SQLite, the
//! simulator as BBB, loopback). The streams are held by a client process of their own
//! (`stream_clients`); this side reads the service's memory with them open, times the end
//! callback to the last `ended`, and loads warm is-running with and without them in turns.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bbb_connector::simulator::Simulator;
use bbb_connector::testing::{Backend, TestDatabase};

use crate::metrics_cost::MetricsCost;
use crate::report::verdict;
use crate::service::{streams_limits, RunningCache, Service};
use crate::stream_clients::ENDED_WITHIN;
use crate::wrk::{self, Load};

/// Streams held open at once.
pub const STREAMS: u32 = 10_000;
/// is-running turns with and without the streams, and how long each lasts.
const ROUNDS: usize = 4;
const TURN: Duration = Duration::from_secs(3);
/// How long the service has to notice closed streams.
const CLOSED_WITHIN: Duration = Duration::from_secs(30);
const MIB: f64 = 1024.0;

/// The client process and its command lines.
struct Clients {
    child: Child,
    commands: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl Clients {
    fn start(events_url: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["stream-clients", events_url, &STREAMS.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the stream clients")?;
        let commands = child.stdin.take().context("no stdin")?;
        let answers = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(Self { child, commands, answers })
    }

    /// Sends one command and returns the words of its answer.
    fn ask(&mut self, command: &str) -> anyhow::Result<Vec<String>> {
        writeln!(self.commands, "{command}")?;
        self.commands.flush()?;
        let mut line = String::new();
        if self.answers.read_line(&mut line)? == 0 {
            bail!("the stream clients stopped (after `{command}`)");
        }
        Ok(line.split_whitespace().map(str::to_owned).collect())
    }

    /// Opens every stream; fails unless each got its first state. Returns how long it took.
    fn open(&mut self) -> anyhow::Result<f64> {
        let answer = self.ask("open")?;
        let opened: u32 = answer.get(1).context("no count")?.parse()?;
        if opened != STREAMS {
            bail!("only {opened} of {STREAMS} streams got their first state");
        }
        Ok(answer.get(2).context("no time")?.parse()?)
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the end callback gave.
struct Ended {
    status: u16,
    received: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    missing: usize,
}

impl Ended {
    fn parse(answer: &[String]) -> anyhow::Result<Self> {
        let [_, status, received, p50, p99, max, missing] = answer else { bail!("unexpected answer {answer:?}") };
        let micros = |text: &str| -> anyhow::Result<Duration> { Ok(Duration::from_micros(text.parse()?)) };
        Ok(Self {
            status: status.parse()?,
            received: received.parse()?,
            p50: micros(p50)?,
            p99: micros(p99)?,
            max: micros(max)?,
            missing: missing.parse()?,
        })
    }
}

/// The figures of one run.
struct Figures {
    rss_before_kib: u64,
    rss_open_kib: u64,
    peak_kib: u64,
    first_open_seconds: f64,
    ended: Ended,
    running: MetricsCost,
}

pub async fn run(simulator: &Simulator, dir: &Path, secret: &str) -> anyhow::Result<String> {
    let db = TestDatabase::new(Backend::Sqlite).await.context("no SQLite database")?;
    let bbb = simulator.base_url().to_string();
    let limits = streams_limits(STREAMS);
    let service = Service::start_limited(dir, &db.url, &bbb, secret, RunningCache::Default, true, limits).await?;
    let meeting = service.create("streams").await?;
    service.start_meeting(&meeting).await?;
    let text = |key: &str| meeting[key].as_str().with_context(|| format!("no {key}")).map(str::to_owned);
    let (events_url, poll_url, guid) = (text("events_url")?, text("is_running_url")?, text("guid")?);
    let callback = end_callback_of(simulator, &guid)?;

    let rss_before_kib = service.rss_kib()?;
    let mut clients = Clients::start(&events_url)?;
    eprintln!("bench streams: {STREAMS} streams, warm is-running in {ROUNDS} turns with them and {ROUNDS} without");
    let mut running = MetricsCost::default();
    let mut first_open_seconds = None;
    let mut open = false;
    for round in 0..ROUNDS {
        // Which goes first alternates, so that the streams are opened and closed once per two rounds.
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for with_streams in order {
            if with_streams && !open {
                let seconds = clients.open()?;
                first_open_seconds.get_or_insert(seconds);
            } else if !with_streams && open {
                clients.ask("close")?;
                wait_streams_closed(&service).await?;
            }
            open = with_streams;
            let report = wrk::run(&Load { url: &poll_url, connections: 64, duration: TURN, script: None })?;
            running.non_2xx += report.non_2xx_3xx;
            if with_streams { &mut running.with } else { &mut running.without }.push(report.requests_per_second);
        }
    }
    if !open {
        clients.open()?;
    }
    let rss_open_kib = service.rss_kib()?;
    eprintln!("bench streams: {STREAMS} open, RSS {:.1} MiB; the end callback", rss_open_kib as f64 / MIB);
    // BBB forgets the meeting as it calls back: a check after the callback must not revive it.
    simulator.forget_all_meetings();
    let ended = Ended::parse(&clients.ask(&format!("end {callback}"))?)?;
    let figures = Figures {
        rss_before_kib,
        rss_open_kib,
        peak_kib: service.peak_rss_kib()?,
        first_open_seconds: first_open_seconds.unwrap_or_default(),
        ended,
        running,
    };
    drop(clients);
    Ok(render(&figures))
}

/// The `meetingEndedURL` the service gave BBB at create.
fn end_callback_of(simulator: &Simulator, guid: &str) -> anyhow::Result<String> {
    let calls = simulator.calls();
    let create = calls
        .iter()
        .find(|call| call.action == "create" && call.param("meetingID") == Some(guid))
        .context("no create call seen by the simulator")?;
    Ok(create.param("meetingEndedURL").context("no meetingEndedURL")?.to_owned())
}

/// Waits until the service's gauge of open streams is back to 0.
async fn wait_streams_closed(service: &Service) -> anyhow::Result<()> {
    let started = Instant::now();
    while started.elapsed() < CLOSED_WITHIN {
        let text = reqwest::get(format!("{}/metrics", service.base)).await?.text().await?;
        let open = text
            .lines()
            .find_map(|line| line.strip_prefix("bbb_connector_events_streams "))
            .and_then(|value| value.trim().parse::<f64>().ok());
        if open == Some(0.0) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the service still counts open streams {} s after they closed", CLOSED_WITHIN.as_secs())
}

fn render(figures: &Figures) -> String {
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / MIB);
    let per_stream = (figures.rss_open_kib.saturating_sub(figures.rss_before_kib)) as f64 / f64::from(STREAMS);
    let ended = &figures.ended;
    let ms = |duration: Duration| format!("{:.1} ms", duration.as_secs_f64() * 1000.0);
    let running = &figures.running;
    let rows = [
        format!(
            "| streams open, each with its first `state` | {STREAMS} (opened in {:.1} s) | {STREAMS} | {} |",
            figures.first_open_seconds, "met"
        ),
        format!(
            "| service RSS (VmRSS): before the streams; with {STREAMS} open (≈ per stream) | {}; {} (≈ {per_stream:.1} KiB) | ≤ 256 MiB | {} |",
            mib(figures.rss_before_kib),
            mib(figures.rss_open_kib),
            verdict(figures.rss_open_kib as f64 <= 256.0 * MIB)
        ),
        format!(
            "| service peak RSS (VmHWM) over the run | {} | ≤ 256 MiB | {} |",
            mib(figures.peak_kib),
            verdict(figures.peak_kib as f64 <= 256.0 * MIB)
        ),
        format!(
            "| end callback (answered {}) → `ended` on each stream: received; p50 / p99 / max | {} of {STREAMS}; {} / {} / {} | p99 ≤ 1 s | {} |",
            ended.status,
            ended.received,
            ms(ended.p50),
            ms(ended.p99),
            ms(ended.max),
            verdict(ended.status == 200 && ended.missing == 0 && ended.p99 <= Duration::from_secs(1))
        ),
        format!(
            "| streams without `ended` {} s after the callback | {} | 0 | {} |",
            ENDED_WITHIN.as_secs(),
            ended.missing,
            verdict(ended.missing == 0)
        ),
        format!(
            "| warm is-running req/s, 64 connections, {ROUNDS} × {} s interleaved, median (min–max): with {STREAMS} streams vs without | {} vs {} = {:.2}× | with-median within the spread without | {} |",
            TURN.as_secs(),
            MetricsCost::summary(&running.with),
            MetricsCost::summary(&running.without),
            running.ratio(),
            verdict(running.within_spread())
        ),
    ];
    format!(
        "bbb-connector bench streams — {} — commit {} — {} — load {} — {} cores — SQLite, one instance, clients in a separate process, loopback\n\n\
         | figure | value | target | verdict |\n|---|---|---|---|\n{}\n\nanswers other than 2xx/3xx during the loads: {}\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        commit(),
        build_profile(),
        load_average(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        rows.join("\n"),
        running.non_2xx
    )
}

/// The commit the bench runs on (`+` when the tree has changes).
fn commit() -> String {
    let git = |args: &[&str]| Command::new("git").args(args).output().ok().filter(|output| output.status.success());
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else { return "unknown".to_owned() };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|output| !output.stdout.is_empty());
    format!("{}{}", String::from_utf8_lossy(&head.stdout).trim(), if dirty { "+" } else { "" })
}

/// The machine's load averages (1, 5, 15 min) at the end of the run.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The release profile this bench was built with, as overridden from the environment.
fn build_profile() -> String {
    let lto = option_env!("CARGO_PROFILE_RELEASE_LTO").unwrap_or("thin");
    let units = option_env!("CARGO_PROFILE_RELEASE_CODEGEN_UNITS").unwrap_or("1");
    format!("release (LTO {lto}, {units} codegen unit(s))")
}
