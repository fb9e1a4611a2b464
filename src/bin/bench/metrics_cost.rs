//! What the metrics cost on the hottest path: warm is-running on two service processes side by
//! side, one with `metrics = false`, loaded in turns (interleaved, so that the drift of a shared
//! machine weighs on both alike).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bbb_connector::simulator::Simulator;

use crate::service::{RunningCache, Service};
use crate::wrk::{self, Load};

/// Turns per service, and how long each lasts.
pub const ROUNDS: usize = 4;
const TURN: Duration = Duration::from_secs(3);

/// req/s of each turn, with and without metrics.
#[derive(Debug, Default, Clone)]
pub struct MetricsCost {
    pub with: Vec<f64>,
    pub without: Vec<f64>,
    pub non_2xx: u64,
}

impl MetricsCost {
    /// `median (min–max)` of some runs.
    pub fn summary(runs: &[f64]) -> String {
        let (median, min, max) = spread(runs);
        format!("{median:.0} ({min:.0}–{max:.0})")
    }

    /// Median with metrics ÷ median without.
    pub fn ratio(&self) -> f64 {
        spread(&self.with).0 / spread(&self.without).0
    }

    /// The cost is no worse than the spread: the median of the turns `with` (metrics, or open
    /// streams in `bench -- streams`) is not below the slowest turn without.
    pub fn within_spread(&self) -> bool {
        spread(&self.with).0 >= spread(&self.without).1
    }
}

fn spread(runs: &[f64]) -> (f64, f64, f64) {
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let Some((&min, &max)) = sorted.first().zip(sorted.last()) else { return (0.0, 0.0, 0.0) };
    let middle = sorted.len() / 2;
    let median = if sorted.len() % 2 == 0 { (sorted[middle - 1] + sorted[middle]) / 2.0 } else { sorted[middle] };
    (median, min, max)
}

pub async fn measure(
    database_url: &str,
    simulator: &Simulator,
    dir: &Path,
    secret: &str,
) -> anyhow::Result<MetricsCost> {
    let bbb = simulator.base_url().to_string();
    let with = Service::start_measured(dir, database_url, &bbb, secret, RunningCache::Default, true).await?;
    let without = Service::start_measured(dir, database_url, &bbb, secret, RunningCache::Default, false).await?;
    let mut polls = Vec::new();
    for (service, name) in [(&with, "metrics-on"), (&without, "metrics-off")] {
        let meeting = service.create(name).await?;
        service.start_meeting(&meeting).await?;
        polls.push(meeting["is_running_url"].as_str().context("no is_running_url")?.to_owned());
    }
    let mut cost = MetricsCost::default();
    for round in 0..ROUNDS {
        // Which goes first alternates, so that neither always follows the other's load.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            let report = wrk::run(&Load { url: &polls[index], connections: 64, duration: TURN, script: None })?;
            cost.non_2xx += report.non_2xx_3xx;
            if index == 0 { &mut cost.with } else { &mut cost.without }.push(report.requests_per_second);
        }
    }
    Ok(cost)
}
