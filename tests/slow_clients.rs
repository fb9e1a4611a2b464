//! Slow clients against the real binary (DESIGN §7, "Connections"), in a test binary of its own
//! since it opens thousands of loopback connections: partial request heads held open below and
//! above `max_connections`, an idle keep-alive, a head sent one byte per second, and a body
//! announced far over the limit. Every wait is bounded; the service is killed at the end, also
//! when an assertion fails.
//!
//! The floods are sized from the open-file limit of this process (raised to its hard limit
//! first): 2,000 held connections, then 2,300 against a cap of 2,200, or fewer, said loudly,
//! where the limit is lower.

#[path = "it/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bbb_connector::config::{Config, Limits};
use bbb_connector::simulator::Simulator;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use helpers::{spawn_simulator, test_config, OPS_KEY};

/// `[limits] header_read_timeout_seconds` of the services under test.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The same for the floods: opening 2,000 connections takes this machine (2 shared cores, the
/// service a debug build) 1.1 to 3.3 s, so with 2 s the first would be cut before the last is
/// open, and "/healthz while they are all held" could not be checked.
const FLOOD_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A request that must be answered promptly is answered within this (generous: 2 shared cores).
const PROMPT: Duration = Duration::from_secs(5);
/// Connections cut by the header-read timeout are closed within this after they were opened.
const CUT_WITHIN: Duration = Duration::from_secs(15);
/// A connection closed sooner than this after it opened was not held up to the timeout.
const HELD_AT_LEAST: Duration = Duration::from_secs(1);
/// The head that never ends: one header line, never the blank line.
const PARTIAL_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

/// The two floods take turns: each needs the open-file budget of this process to itself.
static FLOOD: Mutex<()> = Mutex::const_new(());

/// The flood sizes: `held` stays below `max_connections`, `over` exceeds it.
#[derive(Debug, Clone, Copy)]
struct Flood {
    held: usize,
    max_connections: usize,
    over: usize,
}

impl Flood {
    /// Sized from this process's open-file limit, raised to its hard limit first.
    fn sized() -> Self {
        let limit = match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => limit,
            Err(error) => {
                eprintln!("slow_clients: cannot raise the open-file limit: {error}");
                rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1024)
            }
        };
        let budget = usize::try_from(limit.saturating_sub(200)).unwrap_or(usize::MAX).min(2_300);
        if budget < 1_000 {
            eprintln!(
                "\n!!!!!! slow_clients: the open-file limit of this process is only {limit}: a flood of {budget} \
                 connections is too small to be meaningful. Running it anyway; raise the hard limit \
                 (`ulimit -Hn`) to at least 2,500 for a real check. !!!!!!\n"
            );
        }
        let over = budget.max(30);
        // At most 100 wait beyond max_connections: the service's listen backlog holds 128, and
        // a connection beyond the backlog stalls in SYN retries, which would slow the opening
        // down past the header-read timeout.
        let queued = (over / 23).clamp(1, 100);
        let max_connections = over - queued;
        Self { held: max_connections * 10 / 11, max_connections, over }
    }
}

/// Kills the child on drop, so that a failed assertion never leaves a service running.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `bbb-connector serve` as a child process on an SQLite database in a temporary directory.
struct Service {
    _child: ChildGuard,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    _simulator: Simulator,
}

impl Service {
    /// Starts the service with these `[limits]`.
    async fn start(limits: Limits) -> Self {
        let simulator = spawn_simulator().await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = Config { limits, ..test_config("sqlite://bbb-connector.db", simulator.base_url().as_str()) };
        std::fs::write(dir.path().join("bbb-connector.toml"), config.to_toml()).expect("write the configuration");
        let mut child = Command::new(env!("CARGO_BIN_EXE_bbb-connector"))
            .args(["serve", "--config", "bbb-connector.toml"])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start bbb-connector");
        let stdout = child.stdout.take().expect("piped stdout");
        let child = ChildGuard(child);
        // The log goes on being read to the end, so that a full pipe never stalls the service.
        let (found, listening) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listen_address(&line) {
                    if let Some(found) = found.take() {
                        let _ = found.send(addr);
                    }
                }
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(30), listening)
            .await
            .expect("the service says where it listens within 30 s")
            .expect("the service exited before listening");
        Self { _child: child, addr, _dir: dir, _simulator: simulator }
    }
}

/// `127.0.0.1:PORT` from the log line `... listening on http://127.0.0.1:PORT/ ...`.
fn listen_address(line: &str) -> Option<SocketAddr> {
    let url = line.split_whitespace().find(|word| word.starts_with("http://"))?;
    url.trim_start_matches("http://").trim_end_matches('/').parse().ok()
}

/// Reads one answer (head, then a Content-Length body) and returns its status.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<u16> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).ok_or_else(|| invalid(&head))?;
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buffer[..read]);
    }
    Ok(status)
}

/// GET `path` over a fresh connection; the status and how long it took (connecting included),
/// or why there was no answer within `bound`.
async fn get_fresh(addr: SocketAddr, path: &str, bound: Duration) -> Result<(u16, Duration), String> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await?;
        read_response(&mut stream).await
    };
    match tokio::time::timeout(bound, exchange).await {
        Ok(Ok(status)) => Ok((status, started.elapsed())),
        Ok(Err(error)) => Err(format!("GET {path} failed after {:?}: {error}", started.elapsed())),
        Err(_) => Err(format!("GET {path} not answered within {bound:?}")),
    }
}

/// Waits until the server closes the connection (end of stream or reset; an answer it sends
/// first, such as a 408, is read and skipped); when it did, before `deadline`.
async fn closed_by_server(stream: &mut (impl AsyncRead + Unpin), deadline: tokio::time::Instant) -> Option<Instant> {
    let mut buffer = [0u8; 1024];
    let closed = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout_at(deadline, closed).await.ok()
}

/// How many partial heads are being opened at a time: the whole flood must be open well within
/// the header-read timeout, or its first connections are cut before its last are opened.
const OPENING_AT_ONCE: usize = 64;

/// Opens up to `count` connections that each send a partial head; returns them with the instant
/// each was opened, and how many could not be opened (with the first error).
async fn open_slow(addr: SocketAddr, count: usize) -> (Vec<(TcpStream, Instant)>, usize, Option<String>) {
    let attempts = futures::stream::iter(0..count)
        .map(|_| async move {
            let attempt = async {
                let mut stream = TcpStream::connect(addr).await?;
                stream.write_all(PARTIAL_HEAD).await?;
                Ok::<_, std::io::Error>((stream, Instant::now()))
            };
            match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                Ok(Ok(opened)) => Ok(opened),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err("connect timed out after 5 s".to_owned()),
            }
        })
        .buffer_unordered(OPENING_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    let mut opened = Vec::with_capacity(count);
    let (mut failed, mut first_error) = (0, None);
    for attempt in attempts {
        match attempt {
            Ok(connection) => opened.push(connection),
            Err(error) => {
                failed += 1;
                first_error.get_or_insert(error);
            }
        }
    }
    (opened, failed, first_error)
}

/// Watches every connection until the server closes it or `within` has passed since it was
/// opened; each task answers when it was opened and when it was closed (None: still open).
fn watch_closing(connections: Vec<(TcpStream, Instant)>, within: Duration) -> JoinSet<(Instant, Option<Instant>)> {
    let mut watchers = JoinSet::new();
    for (mut stream, opened) in connections {
        watchers.spawn(async move {
            let deadline = tokio::time::Instant::from_std(opened + within);
            (opened, closed_by_server(&mut stream, deadline).await)
        });
    }
    watchers
}

/// What the watchers saw.
struct Closings {
    total: usize,
    /// Closed by the server in time.
    closed: usize,
    /// The earliest and the latest closing, after opening.
    earliest: Duration,
    latest: Duration,
    closed_at: Vec<Instant>,
}

impl Closings {
    async fn of(mut watchers: JoinSet<(Instant, Option<Instant>)>) -> Self {
        let mut closings =
            Self { total: 0, closed: 0, earliest: Duration::MAX, latest: Duration::ZERO, closed_at: Vec::new() };
        while let Some(outcome) = watchers.join_next().await {
            closings.total += 1;
            if let (opened, Some(closed)) = outcome.expect("a watcher task") {
                closings.closed += 1;
                closings.earliest = closings.earliest.min(closed - opened);
                closings.latest = closings.latest.max(closed - opened);
                closings.closed_at.push(closed);
            }
        }
        closings
    }

    /// "N of M cut by the server, from A to B after opening".
    fn summary(&self) -> String {
        let mut text = format!("{} of {} cut by the server", self.closed, self.total);
        if self.closed > 0 {
            text.push_str(&format!(", {:?} to {:?} after opening", self.earliest, self.latest));
        }
        text
    }

    /// How many were still open at `instant`.
    fn open_at(&self, instant: Instant) -> usize {
        self.total - self.closed_at.iter().filter(|closed| **closed <= instant).count()
    }
}

fn limits(header_read_timeout: Duration, max_connections: usize) -> Limits {
    Limits { header_read_timeout_seconds: header_read_timeout.as_secs(), max_connections, ..Limits::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_below_max_connections_leave_healthz_prompt_and_are_cut_at_the_header_timeout() {
    let _turn = FLOOD.lock().await;
    let flood = Flood::sized();
    eprintln!("phase A: {flood:?}");
    let service = Service::start(limits(FLOOD_HEADER_READ_TIMEOUT, flood.max_connections)).await;

    let started = Instant::now();
    let (held, failed, error) = open_slow(service.addr, flood.held).await;
    assert_eq!(failed, 0, "every slow connection is accepted below max_connections; first error: {error:?}");
    eprintln!("phase A: {} partial heads open in {:?}", held.len(), started.elapsed());
    let watchers = watch_closing(held, CUT_WITHIN);
    let asked = Instant::now();
    let healthz = get_fresh(service.addr, "/healthz", PROMPT).await;
    let closings = Closings::of(watchers).await;

    let (status, latency) = healthz.expect("/healthz answers while the slow connections are held");
    let held_then = closings.open_at(asked + latency);
    eprintln!("phase A: /healthz answered {status} in {latency:?}; {held_then} slow connections were held then");
    eprintln!("phase A: {}", closings.summary());
    assert_eq!(status, 200);
    assert_eq!(held_then, flood.held, "/healthz was answered while every slow connection was held");
    assert_eq!(
        (closings.closed, closings.total),
        (flood.held, flood.held),
        "every slow connection is closed by the server within {CUT_WITHIN:?}"
    );
    assert!(closings.earliest >= HELD_AT_LEAST, "slow connections are held up to the timeout: {}", closings.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_above_max_connections_delay_healthz_only_until_the_timeout_frees_slots() {
    let _turn = FLOOD.lock().await;
    let flood = Flood::sized();
    eprintln!("phase B: {flood:?}");
    let service = Service::start(limits(FLOOD_HEADER_READ_TIMEOUT, flood.max_connections)).await;

    let started = Instant::now();
    let (held, failed, error) = open_slow(service.addr, flood.over).await;
    eprintln!(
        "phase B: {} partial heads open in {:?} (max_connections {}; {failed} not opened: {error:?})",
        held.len(),
        started.elapsed(),
        flood.max_connections
    );
    // Those beyond max_connections wait in the backlog, and their timeout starts once accepted.
    let watchers = watch_closing(held, CUT_WITHIN + FLOOD_HEADER_READ_TIMEOUT);
    let asked = Instant::now();
    let healthz = get_fresh(service.addr, "/healthz", PROMPT + FLOOD_HEADER_READ_TIMEOUT).await;
    let closings = Closings::of(watchers).await;

    let held_then = closings.open_at(asked);
    eprintln!("phase B: {held_then} slow connections open or queued when /healthz was asked");
    let (status, latency) = healthz.expect("/healthz is answered once the header-read timeout frees slots");
    eprintln!("phase B: /healthz answered {status} in {latency:?}");
    eprintln!("phase B: {}", closings.summary());
    assert!(
        held_then > flood.max_connections,
        "the flood exceeded max_connections when /healthz was asked (else this phase proves nothing); \
         first error while opening: {error:?}"
    );
    assert_eq!(status, 200);
    assert_eq!(closings.closed, closings.total, "every slow connection, queued ones included, is closed by the server");

    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let (status, latency) = get_fresh(service.addr, "/healthz", PROMPT)
            .await
            .unwrap_or_else(|error| panic!("request {i} after the flood: {error}"));
        assert_eq!(status, 200, "request {i} after the flood");
        slowest = slowest.max(latency);
    }
    eprintln!("phase B: 20 sequential /healthz after the flood all 200, slowest {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "requests are accepted at once after the flood: {slowest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let service = Service::start(limits(HEADER_READ_TIMEOUT, 1_000)).await;
    let mut stream = TcpStream::connect(service.addr).await.expect("connect");
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("send a request");
    let status =
        tokio::time::timeout(PROMPT, read_response(&mut stream)).await.expect("answered promptly").expect("an answer");
    assert_eq!(status, 200);
    let answered = Instant::now();

    let closed = closed_by_server(&mut stream, tokio::time::Instant::from_std(answered + CUT_WITHIN)).await;

    let after = closed.map(|closed| closed - answered);
    eprintln!("idle keep-alive: closed by the server {after:?} after its answer");
    let after = after.unwrap_or_else(|| panic!("an idle keep-alive is closed within {CUT_WITHIN:?}"));
    assert!(after >= HELD_AT_LEAST, "the connection was kept alive until the timeout: closed after {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_sent_one_byte_per_second_is_cut_before_it_ends() {
    let service = Service::start(limits(HEADER_READ_TIMEOUT, 1_000)).await;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: {}\r\n\r\n", "a".repeat(40));
    let (mut reader, mut writer) = TcpStream::connect(service.addr).await.expect("connect").into_split();
    let opened = Instant::now();
    let mut watcher = tokio::spawn(async move {
        closed_by_server(&mut reader, tokio::time::Instant::from_std(opened + CUT_WITHIN)).await
    });

    let mut sent = 0;
    let closed = loop {
        if sent == head.len() {
            break None;
        }
        if writer.write_all(&head.as_bytes()[sent..=sent]).await.is_err() {
            break Some(Instant::now());
        }
        sent += 1;
        tokio::select! {
            closed = &mut watcher => break closed.expect("the watcher task"),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    };

    let after = closed.map(|closed| closed - opened);
    eprintln!("byte per second: {sent} of {} bytes sent, closed by the server {after:?} after opening", head.len());
    let after = after.unwrap_or_else(|| panic!("a head sent byte by byte is cut within {CUT_WITHIN:?}"));
    assert!(sent < head.len(), "cut before the head ends");
    assert!(after >= HELD_AT_LEAST, "cut by the timeout, not at once: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_announced_over_the_limit_is_refused_413_before_it_is_sent() {
    let service = Service::start(limits(HEADER_READ_TIMEOUT, 1_000)).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(service.addr).await.expect("connect");
    let head = format!(
        "POST /bbb/visio/meeting/?apikey={OPS_KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 10000000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send the head, and no body");

    let status = tokio::time::timeout(PROMPT, read_response(&mut stream))
        .await
        .expect("answered without waiting for the body")
        .expect("an answer");

    eprintln!("huge Content-Length: answered {status} in {:?}", started.elapsed());
    assert_eq!(status, 413);
}
