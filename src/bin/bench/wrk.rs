//! Driving `wrk` (Debian's HTTP load generator, installed on first use) and reading its report.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct WrkReport {
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub requests: u64,
    /// Answers other than 2xx/3xx (wrk's own count).
    pub non_2xx_3xx: u64,
}

/// Installs wrk from Debian's packages when it is missing.
pub fn ensure_installed() -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    eprintln!("bench: installing wrk (apt-get)");
    let status = Command::new("sh")
        .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk"])
        .status()
        .context("cannot run apt-get to install wrk")?;
    if !status.success() {
        bail!("apt-get could not install wrk");
    }
    Ok(())
}

/// One load: `connections` connections for `duration` on `url`, optionally with a Lua script.
pub struct Load<'a> {
    pub url: &'a str,
    pub connections: u32,
    pub duration: Duration,
    pub script: Option<&'a Path>,
}

pub fn run(load: &Load<'_>) -> anyhow::Result<WrkReport> {
    let threads = load.connections.clamp(1, 2).to_string();
    let mut command = Command::new("wrk");
    command.args([
        "-t",
        &threads,
        "-c",
        &load.connections.to_string(),
        "-d",
        &format!("{}s", load.duration.as_secs()),
        "--timeout",
        "10s",
        "--latency",
    ]);
    if let Some(script) = load.script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(load.url).output().context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {}{}", text, String::from_utf8_lossy(&output.stderr));
    }
    parse(&text).with_context(|| format!("unexpected wrk output:\n{text}"))
}

pub fn parse(text: &str) -> anyhow::Result<WrkReport> {
    let mut report = WrkReport::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => report.requests_per_second = value.parse()?,
            ["50%", value] => report.p50 = duration_of(value)?,
            ["99%", value] => report.p99 = duration_of(value)?,
            ["Non-2xx", "or", "3xx", "responses:", value] => report.non_2xx_3xx = value.parse()?,
            [count, "requests", "in", ..] => report.requests = count.parse()?,
            _ => {}
        }
    }
    if report.requests_per_second == 0.0 {
        bail!("no Requests/sec line");
    }
    Ok(report)
}

/// `123.45us`, `1.20ms`, `2.00s`, `1.00m`.
fn duration_of(text: &str) -> anyhow::Result<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).context("no unit")?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse()?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        other => bail!("unknown unit {other}"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// Writes a Lua script into `dir` and returns its path.
pub fn script(dir: &Path, name: &str, lua: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, lua)?;
    Ok(path)
}

/// POSTs `body_template` with `{n}` replaced by a per-thread counter, so every request is new.
pub fn distinct_posts_lua(path: &str, body_template: &str) -> String {
    let (before, after) = body_template.split_once("{n}").unwrap_or((body_template, ""));
    format!(
        "local counter = 0\nlocal thread_id = 0\nlocal threads = 0\n\
         function setup(thread) threads = threads + 1; thread:set(\"thread_id\", threads) end\n\
         function init(args) math.randomseed(os.time()) end\n\
         request = function()\n  counter = counter + 1\n\
         local body = '{before}' .. thread_id .. '-' .. counter .. '-' .. math.random(1, 1000000000) .. '{after}'\n\
         return wrk.format(\"POST\", \"{path}\", {{[\"Content-Type\"] = \"application/json\"}}, body)\nend\n"
    )
}

/// POSTs the same body every time.
pub fn same_post_lua(path: &str, body: &str) -> String {
    format!("wrk.method = \"POST\"\nwrk.path = \"{path}\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n")
}

/// GETs `first` and `second` in turn.
pub fn alternate_lua(first: &str, second: &str) -> String {
    format!("local i = 0\nrequest = function()\n  i = i + 1\n  if i % 2 == 0 then return wrk.format(\"GET\", \"{first}\") end\n  return wrk.format(\"GET\", \"{second}\")\nend\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_report_is_read() {
        let text = "Running 5s test @ http://127.0.0.1:1/healthz\n  2 threads and 64 connections\n  Latency Distribution\n     50%  312.00us\n     75%  1.20ms\n     90%    2.00ms\n     99%    4.51ms\n  60000 requests in 5.00s, 9.00MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:  12000.50\nTransfer/sec:      1.80MB\n";

        let report = parse(text).unwrap();

        assert_eq!(report.requests, 60_000);
        assert_eq!(report.non_2xx_3xx, 3);
        assert!((report.requests_per_second - 12000.5).abs() < 1e-6);
        assert_eq!(report.p50, Duration::from_micros(312));
        assert_eq!(report.p99, Duration::from_micros(4510));
    }
}
