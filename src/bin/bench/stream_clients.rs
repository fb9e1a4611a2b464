//! The clients of the streams figure, in a process of their own (`bench stream-clients <events
//! url> <count>`, started by `streams`): its own open-file limit, and no share of the service's
//! memory. Driven by lines on stdin (`open`, `close`, `end <callback url>`), it answers one line
//! on stdout per command.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

/// How long every stream has to get its first state.
const OPEN_WITHIN: Duration = Duration::from_secs(120);
/// How long the streams have to get `ended` after the callback is sent.
pub const ENDED_WITHIN: Duration = Duration::from_secs(10);
/// Connections being opened at once (the service's listen backlog is deeper).
const OPENING_AT_ONCE: usize = 256;
/// Descriptors kept beside the streams (stdio, the runtime, the callback).
const SPARE_FILES: u64 = 64;

/// What the streams of one opening saw.
#[derive(Default)]
struct Seen {
    /// Streams that got their first `state`.
    first_state: AtomicUsize,
    /// Streams that failed (refused, not 200, closed by the service).
    failed: AtomicUsize,
    /// Wakes the opener at every first state and failure.
    progress: Notify,
    /// When each stream got `ended`.
    ended: Vec<OnceLock<Instant>>,
}

/// The hidden subcommand: holds `count` streams of `events_url` as told on stdin.
pub async fn run(events_url: &str, count: usize) -> anyhow::Result<()> {
    let limit = rlimit::increase_nofile_limit(u64::MAX).context("cannot raise the open-file limit")?;
    if limit < count as u64 + SPARE_FILES {
        bail!("the open-file limit ({limit}) is too low for {count} streams");
    }
    let (addr, path) = split_url(events_url)?;
    let mut lines = stdin_lines();
    let mut open: Option<(JoinSet<()>, Arc<Seen>)> = None;
    while let Some(line) = lines.recv().await {
        let answer = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["open"] => {
                let started = Instant::now();
                let (streams, seen) = open_streams(addr, &path, count).await;
                let opened = seen.first_state.load(Ordering::SeqCst);
                open = Some((streams, seen));
                format!("open {opened} {:.3}", started.elapsed().as_secs_f64())
            }
            ["close"] => {
                open = None;
                "closed".to_owned()
            }
            ["end", callback] => match &open {
                Some((_, seen)) => end(callback, seen).await?,
                None => bail!("no streams open"),
            },
            other => bail!("unknown command {other:?}"),
        };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{answer}")?;
        stdout.flush()?;
    }
    Ok(())
}

/// The lines of stdin, read by a thread of their own (the crate's tokio has no `io-std`).
fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// `http://127.0.0.1:port/path` → the address and the path.
fn split_url(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let rest = url.strip_prefix("http://").context("not an http:// URL")?;
    let slash = rest.find('/').context("no path")?;
    Ok((rest[..slash].parse().context("not an address and port")?, rest[slash..].to_owned()))
}

/// Opens `count` streams and waits until each has its first state or failed.
async fn open_streams(addr: SocketAddr, path: &str, count: usize) -> (JoinSet<()>, Arc<Seen>) {
    let seen = Arc::new(Seen { ended: (0..count).map(|_| OnceLock::new()).collect(), ..Seen::default() });
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    let mut streams = JoinSet::new();
    for index in 0..count {
        let (seen, opening, request) = (Arc::clone(&seen), Arc::clone(&opening), request.clone());
        streams.spawn(async move {
            if follow(addr, &request, index, &seen, &opening).await.is_err() {
                seen.failed.fetch_add(1, Ordering::SeqCst);
                seen.progress.notify_one();
            }
        });
    }
    let deadline = tokio::time::Instant::now() + OPEN_WITHIN;
    loop {
        let done = seen.first_state.load(Ordering::SeqCst) + seen.failed.load(Ordering::SeqCst);
        if done >= count || tokio::time::timeout_at(deadline, seen.progress.notified()).await.is_err() {
            break;
        }
    }
    (streams, seen)
}

/// One stream: its first state is counted, the first `"ended":true` timed; then it is held
/// open (reading heartbeats and states) until the service closes it or the task is dropped.
async fn follow(addr: SocketAddr, request: &str, index: usize, seen: &Seen, opening: &Semaphore) -> anyhow::Result<()> {
    let permit = opening.acquire().await?;
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 2048];
    let mut headers_read = false;
    let mut permit = Some(permit);
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("closed by the service");
        }
        buffer.extend_from_slice(&chunk[..read]);
        if !headers_read {
            let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") else { continue };
            if !buffer.starts_with(b"HTTP/1.1 200") {
                bail!("answered {}", String::from_utf8_lossy(&buffer[..buffer.len().min(12)]));
            }
            buffer.drain(..end + 4);
            headers_read = true;
        }
        // Each event is one chunk of the answer: a data line is never split by chunk sizes.
        let Some(last_line_end) = buffer.iter().rposition(|&byte| byte == b'\n') else { continue };
        for line in buffer[..last_line_end].split(|&byte| byte == b'\n') {
            if !line.starts_with(b"data:") {
                continue;
            }
            if permit.take().is_some() {
                seen.first_state.fetch_add(1, Ordering::SeqCst);
                seen.progress.notify_one();
            }
            if contains(line, b"\"ended\":true") {
                let _ = seen.ended[index].set(Instant::now());
            }
        }
        buffer.drain(..=last_line_end);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Sends the end callback as BBB does (GET), and times each stream's `ended` from just before.
async fn end(callback: &str, seen: &Seen) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let sent = Instant::now();
    let status = http.get(callback).send().await?.status();
    let deadline = sent + ENDED_WITHIN;
    while Instant::now() < deadline && seen.ended.iter().any(|at| at.get().is_none()) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut delays: Vec<u128> =
        seen.ended.iter().filter_map(|at| at.get().map(|at| at.saturating_duration_since(sent).as_micros())).collect();
    delays.sort_unstable();
    let at = |quantile: f64| {
        let index = ((delays.len() as f64 * quantile).ceil() as usize).clamp(1, delays.len().max(1)) - 1;
        delays.get(index).copied().unwrap_or(0)
    };
    let missing = seen.ended.len() - delays.len();
    Ok(format!(
        "ended {} {} {} {} {} {missing}",
        status.as_u16(),
        delays.len(),
        at(0.5),
        at(0.99),
        delays.last().copied().unwrap_or(0)
    ))
}
