//! The figures of one backend and the table that sets them against the targets.

use std::time::Duration;

use bbb_connector::testing::Backend;

use crate::metrics_cost::{MetricsCost, ROUNDS};
use crate::slow::COUNT;

#[derive(Debug, Default, Clone)]
pub struct Figures {
    pub healthz_rps: f64,
    pub healthz_p50: Duration,
    pub healthz_p99: Duration,
    /// `/healthz` while `slow::COUNT` slow connections are held open.
    pub slow_healthz_p50: Duration,
    pub slow_healthz_p99: Duration,
    /// How many of the slow connections were still open after that run.
    pub slow_held: usize,
    pub running_rps: f64,
    pub running_p50: Duration,
    pub running_p99: Duration,
    pub bbb_calls_joined: usize,
    pub bbb_calls_never: usize,
    pub creates_rps: f64,
    pub replays_rps: f64,
    pub joins_rps: f64,
    pub peak_rss_kib: u64,
    pub p50_1k: Duration,
    pub p50_1m: Duration,
    /// Warm is-running req/s with and without metrics, interleaved turns.
    pub metrics_cost: MetricsCost,
    /// Answers that were neither 2xx nor 3xx across all loads (should be 0).
    pub non_2xx: u64,
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

pub fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

struct Row {
    figure: &'static str,
    target: &'static str,
    value: fn(&Figures) -> String,
    met: fn(&Figures, Backend) -> Option<bool>,
}

const ROWS: [Row; 12] = [
    Row {
        figure: "`/healthz` req/s, 64 connections",
        target: "(reference)",
        value: |f| format!("{:.0}", f.healthz_rps),
        met: |_, _| None,
    },
    Row {
        figure: "`/healthz` p50 / p99, 64 connections: alone vs beside 1,000 held slow connections (partial heads)",
        target: "report",
        value: |f| {
            let held = if f.slow_held == COUNT { String::new() } else { format!(" (only {} held)", f.slow_held) };
            format!(
                "{} / {} vs {} / {}{held}",
                ms(f.healthz_p50),
                ms(f.healthz_p99),
                ms(f.slow_healthz_p50),
                ms(f.slow_healthz_p99)
            )
        },
        met: |_, _| None,
    },
    Row {
        figure: "is-running (warm cache) req/s, 64 connections",
        target: "(reference)",
        value: |f| format!("{:.0}", f.running_rps),
        met: |_, _| None,
    },
    Row {
        figure: "is-running req/s ÷ `/healthz` req/s",
        target: "≥ 0.6",
        value: |f| format!("{:.2}", f.running_rps / f.healthz_rps),
        met: |f, _| Some(f.running_rps / f.healthz_rps >= 0.6),
    },
    Row {
        figure: "is-running p50 / p99, 64 connections",
        target: "p99 ≤ 5 ms",
        value: |f| format!("{} / {}", ms(f.running_p50), ms(f.running_p99)),
        met: |f, _| Some(f.running_p99 <= Duration::from_millis(5)),
    },
    Row {
        figure: "BBB `isMeetingRunning` calls, 300 clients × 10 s, TTL 3 s (joined; never joined)",
        target: "≤ 5; 0",
        value: |f| format!("{}; {}", f.bbb_calls_joined, f.bbb_calls_never),
        met: |f, _| Some(f.bbb_calls_joined <= 5 && f.bbb_calls_never == 0),
    },
    Row {
        figure: "new rendezvous per second (distinct idempotent_id)",
        target: "PostgreSQL ≥ 2,000 / SQLite ≥ 1,000",
        value: |f| format!("{:.0}", f.creates_rps),
        met: |f, backend| Some(f.creates_rps >= if backend == Backend::Postgres { 2000.0 } else { 1000.0 }),
    },
    Row {
        figure: "idempotent replays per second",
        target: "≥ 5,000",
        value: |f| format!("{:.0}", f.replays_rps),
        met: |f, _| Some(f.replays_rps >= 5000.0),
    },
    Row {
        figure: "join redirects per second (simulator create answered locally)",
        target: "report",
        value: |f| format!("{:.0}", f.joins_rps),
        met: |_, _| None,
    },
    Row {
        figure: "peak RSS of the service after the runs",
        target: "≤ 64 MiB",
        value: |f| format!("{:.1} MiB", f.peak_rss_kib as f64 / 1024.0),
        met: |f, _| Some(f.peak_rss_kib <= 64 * 1024),
    },
    Row {
        figure: "is-running p50 (cache off): 1,000,000 rendezvous vs 1,000",
        target: "≤ 1.5×",
        value: |f| {
            format!("{} vs {} = {:.2}×", ms(f.p50_1m), ms(f.p50_1k), f.p50_1m.as_secs_f64() / f.p50_1k.as_secs_f64())
        },
        met: |f, _| Some(f.p50_1m.as_secs_f64() <= 1.5 * f.p50_1k.as_secs_f64()),
    },
    Row {
        figure: "warm is-running req/s with vs without metrics, 64 connections, 4 × 3 s interleaved: median (min–max)",
        target: METRICS_COST_TARGET,
        value: |f| metrics_cost_value(&f.metrics_cost),
        met: |f, _| Some(f.metrics_cost.within_spread()),
    },
];

/// The cost is judged against the noise of the runs themselves, which a shared machine makes
/// larger than any fixed margin.
const METRICS_COST_TARGET: &str = "median with metrics ≥ min without";

fn metrics_cost_value(cost: &MetricsCost) -> String {
    format!("{} vs {} = {:.2}×", MetricsCost::summary(&cost.with), MetricsCost::summary(&cost.without), cost.ratio())
}

/// The metrics' cost alone (`BENCH_ONLY=metrics`), as a line of the table.
pub fn metrics_cost_line(cost: &MetricsCost) -> String {
    format!(
        "bbb-connector bench (metrics only) — {} — {} cores — Sqlite\n\n\
         | warm is-running req/s with vs without metrics, 64 connections, {ROUNDS} × 3 s interleaved: \
         median (min–max) | {} | {METRICS_COST_TARGET} | {} |\n\nanswers other than 2xx/3xx: {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        metrics_cost_value(cost),
        verdict(cost.within_spread()),
        cost.non_2xx
    )
}

pub fn render(columns: &[(Backend, Figures)]) -> String {
    let names: Vec<String> = columns.iter().map(|(backend, _)| format!("{backend:?}")).collect();
    let mut table = format!(
        "bbb-connector bench — {} — {} cores — wrk on loopback, service as a separate process\n\n\
         | figure | {} | target | verdict ({}) |\n|---|{}---|---|\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        names.join(" | "),
        names.join(" / "),
        "---|".repeat(columns.len()),
    );
    for row in &ROWS {
        let values: Vec<String> = columns.iter().map(|(_, figures)| (row.value)(figures)).collect();
        let verdicts: Vec<&str> =
            columns.iter().filter_map(|(backend, figures)| (row.met)(figures, *backend)).map(verdict).collect();
        let verdict_text = if verdicts.is_empty() { "—".to_owned() } else { verdicts.join(" / ") };
        table.push_str(&format!("| {} | {} | {} | {} |\n", row.figure, values.join(" | "), row.target, verdict_text));
    }
    let errors: u64 = columns.iter().map(|(_, figures)| figures.non_2xx).sum();
    table.push_str(&format!("\nanswers other than 2xx/3xx during the loads: {errors}\n"));
    table
}
