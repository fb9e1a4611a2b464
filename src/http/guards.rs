//! What keeps one client of the open endpoints from costing the others (DESIGN §7): a rate limit
//! per client address (GCRA, by `governor`), and a short memory of links that led nowhere so
//! that a flood of unknown guids or wrong keys does not reach the database once per request.
//! Refusals are counted (`bbb_connector_refusals_total{reason}`); their request lines are logged
//! at WARN at most once per client address per minute (`first_refusal_this_minute`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use moka::future::Cache;

use super::envelope::ApiError;
use crate::config::Limits;
use crate::domain::{Guid, JoinRole};

/// How long a link that led nowhere is remembered. Guids are random and keys never change, so
/// nothing that is remembered can start to exist meanwhile.
const UNKNOWN_LINK_MEMORY: Duration = Duration::from_secs(30);
/// Most links remembered; beyond it the oldest are forgotten first.
const UNKNOWN_LINK_CAPACITY: u64 = 100_000;
/// How often addresses whose budget is full again are forgotten.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(60);

/// A join or page link that answered 404: the rendezvous, and the key when it was the wrong one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownLink {
    pub slug: String,
    pub guid: Guid,
    pub role: JoinRole,
    pub key: String,
}

pub struct Guards {
    open: DefaultKeyedRateLimiter<IpAddr>,
    /// One log line per address per minute, whatever it is refused for.
    refusal_log: DefaultKeyedRateLimiter<IpAddr>,
    unknown_links: Cache<UnknownLink, ()>,
    /// Open events streams per budget holder, and how many each may hold.
    streams: Mutex<HashMap<IpAddr, u32>>,
    streams_per_client: u32,
}

/// An open events stream of one client: its slot is given back when dropped.
pub struct StreamSlot {
    guards: Arc<Guards>,
    holder: IpAddr,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        metrics::gauge!("bbb_connector_events_streams").decrement(1.0);
        let mut streams = self.guards.streams.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(open) = streams.get_mut(&self.holder) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.holder);
            }
        }
    }
}

impl Guards {
    /// The guards of `limits`, with a task that forgets idle addresses while they live.
    pub fn start(limits: &Limits) -> Arc<Self> {
        let guards = Arc::new(Self::new(limits));
        let weak = Arc::downgrade(&guards);
        tokio::spawn(forget_idle_addresses(weak));
        guards
    }

    fn new(limits: &Limits) -> Self {
        let per_second = NonZeroU32::new(limits.open_requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.open_burst).unwrap_or(NonZeroU32::MIN);
        Self {
            open: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            refusal_log: RateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
            unknown_links: Cache::builder()
                .max_capacity(UNKNOWN_LINK_CAPACITY)
                .time_to_live(UNKNOWN_LINK_MEMORY)
                .build(),
            streams: Mutex::new(HashMap::new()),
            streams_per_client: limits.event_streams_per_client.max(1),
        }
    }

    /// One more open events stream for `client`; refused (429) past its cap.
    pub fn open_stream(self: &Arc<Self>, client: IpAddr) -> Result<StreamSlot, ApiError> {
        let holder = budget_holder(client);
        let mut streams = self.streams.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let open = streams.entry(holder).or_default();
        if *open >= self.streams_per_client {
            drop(streams);
            metrics::counter!("bbb_connector_refusals_total", "reason" => "stream_cap").increment(1);
            return Err(ApiError::RateLimited { retry_after_seconds: 30 });
        }
        *open += 1;
        metrics::gauge!("bbb_connector_events_streams").increment(1.0);
        Ok(StreamSlot { guards: Arc::clone(self), holder })
    }

    /// Counts one request of `client` on an open endpoint; refused past its budget.
    pub fn admit(&self, client: IpAddr) -> Result<(), ApiError> {
        self.open.check_key(&budget_holder(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            metrics::counter!("bbb_connector_refusals_total", "reason" => "rate_limit").increment(1);
            ApiError::RateLimited { retry_after_seconds: wait.as_secs().max(1) }
        })
    }

    /// Refuses at once a link that led nowhere a moment ago.
    pub async fn check_link(&self, link: &UnknownLink) -> Result<(), ApiError> {
        if self.unknown_links.contains_key(link) {
            metrics::counter!("bbb_connector_refusals_total", "reason" => "negative_cache").increment(1);
            return Err(ApiError::UnknownLink);
        }
        Ok(())
    }

    pub async fn remember_unknown(&self, link: UnknownLink) {
        self.unknown_links.insert(link, ()).await;
    }

    /// True for the first refusal of `client` this minute, whatever it is refused for: that
    /// one is logged at WARN, the others at DEBUG.
    pub fn first_refusal_this_minute(&self, client: IpAddr) -> bool {
        self.refusal_log.check_key(&client).is_ok()
    }
}

/// Whose budget a request spends: the address itself for IPv4, its /64 network for IPv6, where
/// one subscriber is handed a whole /64 and could otherwise rotate through it.
fn budget_holder(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V6(address) if address.to_ipv4_mapped().is_none() => {
            let prefix = u128::from(address) & !((1_u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        other => other,
    }
}

async fn forget_idle_addresses(guards: Weak<Guards>) {
    let mut interval = tokio::time::interval(CLEANUP_INTERVAL);
    loop {
        interval.tick().await;
        let Some(guards) = guards.upgrade() else { return };
        for limiter in [&guards.open, &guards.refusal_log] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_second: u32, burst: u32) -> Limits {
        Limits { open_requests_per_second: per_second, open_burst: burst, ..Limits::default() }
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_are_not_affected() {
        let guards = Guards::new(&limits(1, 3));
        let (greedy, other): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());

        for _ in 0..3 {
            assert!(guards.admit(greedy).is_ok());
        }
        let refused = guards.admit(greedy).unwrap_err();

        assert!(matches!(refused, ApiError::RateLimited { retry_after_seconds: 1 }), "{refused:?}");
        assert!(guards.admit(other).is_ok());
    }

    #[test]
    fn an_ipv6_network_of_one_subscriber_shares_one_budget() {
        let guards = Guards::new(&limits(1, 2));
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_network: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_network: IpAddr = "2001:db8:1:3::1".parse().unwrap();

        assert!(guards.admit(first).is_ok());
        assert!(guards.admit(same_network).is_ok());

        assert!(guards.admit(first).is_err());
        assert!(guards.admit(other_network).is_ok());
    }

    #[tokio::test]
    async fn a_link_that_led_nowhere_is_refused_without_asking_again() {
        let guards = Guards::new(&Limits::default());
        let link =
            UnknownLink { slug: "visio".into(), guid: Guid::new_random(), role: JoinRole::User, key: "k".into() };

        assert!(guards.check_link(&link).await.is_ok());
        guards.remember_unknown(link.clone()).await;

        assert!(matches!(guards.check_link(&link).await, Err(ApiError::UnknownLink)));
        let other_key = UnknownLink { key: "other".into(), ..link };
        assert!(guards.check_link(&other_key).await.is_ok());
    }
}
