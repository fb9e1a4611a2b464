//! The configured connector instances: for each slug its settings, its pooled BBB client, the
//! is-running answers and the coalescers of concurrent BBB `create` and `isMeetingRunning`
//! calls. The caches are the rendezvous service's business: nothing outside `rendezvous` reaches
//! them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use secrecy::SecretString;

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
const SHORTEST_FRESHNESS: Duration = Duration::from_millis(1);

/// What the is-running endpoint answers for one rendezvous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunningState {
    /// No such rendezvous for this connector.
    Unknown,
    /// `stale` when BBB could not be asked and `running` is the last known state.
    Known { running: bool, stale: bool },
}

/// A running state and when the check that gave it started.
#[derive(Debug, Clone, Copy)]
pub(super) struct CheckedState {
    pub state: RunningState,
    pub started_at: Instant,
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
}

impl Connector {
    fn new(slug: &str, config: &ConnectorConfig) -> Result<Self, BbbError> {
        let bbb = BbbClient::new(BbbServer {
            api_base: config.bbb_url.clone(),
            secret: SecretString::from(secrecy::ExposeSecret::expose_secret(&config.shared_secret).to_owned()),
            algorithm: config.checksum_algorithm,
            timeout: config.timeout(),
        })?;
        let running = Cache::builder()
            .max_capacity(RUNNING_CACHE_CAPACITY)
            .time_to_live(config.is_running_cache() + RUNNING_MEMORY_MARGIN)
            .build();
        let checks = Cache::builder().max_capacity(RUNNING_CACHE_CAPACITY).time_to_live(config.timeout() * 2).build();
        let creates = Cache::builder().max_capacity(RUNNING_CACHE_CAPACITY).time_to_live(CREATE_COALESCING).build();
        Ok(Self { slug: slug.to_owned(), config: config.clone(), bbb, running, checks, creates })
    }

    /// One signed call to the connector's BBB server: its version and how long it took.
    pub async fn probe(&self) -> Result<ServerStatus, BbbError> {
        self.bbb.check().await
    }
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

    pub fn get(&self, slug: &str) -> Option<Arc<Connector>> {
        self.0.get(slug).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Connector>> {
        self.0.values()
    }
}
