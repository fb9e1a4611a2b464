//! The configured connector instances: for each slug its settings, its pooled BBB client, the
//! is-running answers and the coalescers of concurrent BBB `create` and `isMeetingRunning`
//! calls. The caches are the rendezvous service's business: nothing outside `rendezvous` reaches
//! them.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use moka::future::Cache;
use secrecy::SecretString;

use super::batches::{Batch, Demand};
use super::counters::ConnectorCounters;
use super::Created;
use crate::bbb::{BbbClient, BbbError, BbbServer, ServerStatus};
use crate::config::{Config, ConnectorConfig};
use crate::domain::Guid;

/// Upper bound on how long a BBB `create` answer is kept for concurrent callers; callers
/// invalidate it as soon as it is stored, so only in-flight calls are shared.
const CREATE_COALESCING: Duration = Duration::from_secs(2);
/// Most rendezvous whose is-running answer is kept in memory per connector.
const RUNNING_CACHE_CAPACITY: u64 = 100_000;
/// How long an answer outlives its freshness in memory: the bound on what idle rendezvous cost.
/// Freshness itself is judged on the service's clock (`CheckedState::fresh_at`).
const RUNNING_MEMORY_MARGIN: Duration = Duration::from_secs(60);
/// The shortest reuse of an answer, even with `is_running_cache_seconds = 0`: the callers of one
/// millisecond share a check.
pub(super) const SHORTEST_FRESHNESS: Duration = Duration::from_millis(1);

/// What the is-running endpoint answers for one rendezvous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunningState {
    /// No such rendezvous for this connector.
    Unknown,
    /// `stale` when BBB could not be asked and `running` is the last known state.
    Known { running: bool, stale: bool },
}

/// A running state and when the check that gave it started, on both clocks: the instant for
/// its freshness, the wall-clock time the streams show (read once, so that every answer of one
/// check shows the same time and an answer from the cache is never news).
#[derive(Debug, Clone, Copy)]
pub(super) struct CheckedState {
    pub state: RunningState,
    pub started_at: Instant,
    pub checked_at: DateTime<Utc>,
}

impl CheckedState {
    /// Whether the answer may still be given at `now`, for a cache period of `period`.
    pub fn fresh_at(&self, now: Instant, period: Duration) -> bool {
        now.saturating_duration_since(self.started_at) < period.max(SHORTEST_FRESHNESS)
    }
}

pub struct Connector {
    pub slug: String,
    pub config: ConnectorConfig,
    pub(super) bbb: BbbClient,
    /// Per-rendezvous is-running answers, fresh for one cache period on the service's clock;
    /// the cache's own expiry only bounds memory.
    pub(super) running: Cache<Guid, CheckedState>,
    /// The is-running checks in flight, so that concurrent misses share one BBB call.
    pub(super) checks: Cache<Guid, CheckedState>,
    /// In-flight `create` calls per rendezvous (with the write of their answer), shared by
    /// concurrent callers.
    pub(super) creates: Cache<Guid, Arc<Created>>,
    /// Whether the connector batches its checks, counted once per period (callers wait).
    pub(super) demand: tokio::sync::Mutex<Option<Demand>>,
    /// The connector's getMeetings answer of this period (callers wait for one call).
    pub(super) batch: tokio::sync::Mutex<Option<Arc<Batch>>>,
    /// Whether "getMeetings lists none of ours" was logged.
    pub(super) batch_fallback_logged: AtomicBool,
    /// Its metrics, registered once.
    pub(super) counters: ConnectorCounters,
}

impl Connector {
    fn new(slug: &str, config: &ConnectorConfig) -> Result<Self, BbbError> {
        let bbb = BbbClient::new(BbbServer {
            api_base: config.bbb_url.clone(),
            secret: SecretString::from(secrecy::ExposeSecret::expose_secret(&config.shared_secret).to_owned()),
            algorithm: config.checksum_algorithm,
            timeout: config.timeout(),
        })?
        .for_connector(slug);
        let running = Cache::builder()
            .max_capacity(RUNNING_CACHE_CAPACITY)
            .time_to_live(config.is_running_cache() + RUNNING_MEMORY_MARGIN)
            .build();
        let checks = Cache::builder().max_capacity(RUNNING_CACHE_CAPACITY).time_to_live(config.timeout() * 2).build();
        let creates = Cache::builder().max_capacity(RUNNING_CACHE_CAPACITY).time_to_live(CREATE_COALESCING).build();
        Ok(Self {
            slug: slug.to_owned(),
            config: config.clone(),
            bbb,
            running,
            checks,
            creates,
            demand: tokio::sync::Mutex::new(None),
            batch: tokio::sync::Mutex::new(None),
            batch_fallback_logged: AtomicBool::new(false),
            counters: ConnectorCounters::new(slug),
        })
    }

    /// One signed call to the connector's BBB server: its version and how long it took.
    pub async fn probe(&self) -> Result<ServerStatus, BbbError> {
        self.bbb.check().await
    }
}

/// The slugs a reload added, changed (built anew) and removed; the others kept their connector.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ConnectorChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// Every configured connector, by slug.
#[derive(Default)]
pub struct Connectors(BTreeMap<String, Arc<Connector>>);

impl Connectors {
    pub fn from_config(config: &Config) -> Result<Self, BbbError> {
        let mut connectors = BTreeMap::new();
        for (slug, connector) in &config.connectors {
            connectors.insert(slug.clone(), Arc::new(Connector::new(slug, connector)?));
        }
        Ok(Self(connectors))
    }

    /// The connectors of `config`, keeping those of `self` whose settings did not change (their
    /// BBB client and caches with them): what a reload puts in force.
    pub fn reconfigured(&self, config: &Config) -> Result<(Self, ConnectorChanges), BbbError> {
        let mut connectors = BTreeMap::new();
        let mut changes = ConnectorChanges::default();
        for (slug, settings) in &config.connectors {
            let connector = match self.0.get(slug) {
                Some(running) if running.config.same_settings(settings) => Arc::clone(running),
                running => {
                    let list = if running.is_some() { &mut changes.changed } else { &mut changes.added };
                    list.push(slug.clone());
                    Arc::new(Connector::new(slug, settings)?)
                }
            };
            connectors.insert(slug.clone(), connector);
        }
        changes.removed = self.0.keys().filter(|slug| !config.connectors.contains_key(*slug)).cloned().collect();
        Ok((Self(connectors), changes))
    }

    pub fn get(&self, slug: &str) -> Option<Arc<Connector>> {
        self.0.get(slug).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Connector>> {
        self.0.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(bbb_host: &str) -> ConnectorConfig {
        ConnectorConfig::new(&format!("https://{bbb_host}/bigbluebutton/"), "secret").unwrap()
    }

    #[test]
    fn a_reload_keeps_the_unchanged_connectors_and_builds_the_others_anew() {
        let before = Config::default()
            .with_connector("kept", connector("a.example.org"))
            .with_connector("changed", connector("b.example.org"))
            .with_connector("removed", connector("c.example.org"));
        let after = Config::default()
            .with_connector("kept", connector("a.example.org"))
            .with_connector("changed", connector("other.example.org"))
            .with_connector("added", connector("d.example.org"));
        let running = Connectors::from_config(&before).unwrap();

        let (reloaded, changes) = running.reconfigured(&after).unwrap();

        let expected = ConnectorChanges {
            added: vec!["added".to_owned()],
            changed: vec!["changed".to_owned()],
            removed: vec!["removed".to_owned()],
        };
        assert_eq!(changes, expected);
        assert!(Arc::ptr_eq(&running.get("kept").unwrap(), &reloaded.get("kept").unwrap()), "kept with its caches");
        assert!(!Arc::ptr_eq(&running.get("changed").unwrap(), &reloaded.get("changed").unwrap()));
        assert_eq!(reloaded.get("changed").unwrap().config.bbb_url.host_str(), Some("other.example.org"));
        assert!(reloaded.get("added").is_some());
        assert!(reloaded.get("removed").is_none());
    }
}
