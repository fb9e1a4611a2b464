//! The counters of one connector's rendezvous (DESIGN §4, `/metrics`): registered once per
//! connector, so that counting costs the hot is-running path one atomic add.

use metrics::Counter;

use crate::domain::JoinRole;

pub(super) struct ConnectorCounters {
    cache_hit: Counter,
    cache_miss: Counter,
    created: Counter,
    agent_joins: Counter,
    user_joins: Counter,
}

impl ConnectorCounters {
    pub fn new(slug: &str) -> Self {
        let connector = || ("connector", slug.to_owned());
        let cache = |result: &'static str| {
            let labels = [connector(), ("result", result.to_owned())];
            metrics::counter!("bbb_connector_is_running_cache_total", &labels)
        };
        let joins = |role: &'static str| {
            let labels = [connector(), ("role", role.to_owned())];
            metrics::counter!("bbb_connector_joins_total", &labels)
        };
        Self {
            cache_hit: cache("hit"),
            cache_miss: cache("miss"),
            created: metrics::counter!("bbb_connector_rendezvous_created_total", "connector" => slug.to_owned()),
            agent_joins: joins(JoinRole::Agent.as_str()),
            user_joins: joins(JoinRole::User.as_str()),
        }
    }

    /// An is-running answer given from the cache (`hit`) or after a check (`miss`).
    pub fn is_running_answered(&self, hit: bool) {
        if hit { &self.cache_hit } else { &self.cache_miss }.increment(1);
    }

    pub fn rendezvous_created(&self) {
        self.created.increment(1);
    }

    pub fn join_followed(&self, role: JoinRole) {
        match role {
            JoinRole::Agent => &self.agent_joins,
            JoinRole::User => &self.user_joins,
        }
        .increment(1);
    }
}
