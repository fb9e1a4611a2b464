//! What a configuration read again while serving (SIGHUP) may change: which keys take effect at
//! once and which wait for a restart, and whether a connector's settings changed. Every struct is
//! destructured whole, so that a key added later cannot be left out (it does not compile).

use secrecy::{ExposeSecret, SecretString};

use super::{Config, ConnectorConfig};

impl Config {
    /// `new` as the running service can apply it: the keys that take effect only at a restart
    /// keep their running values, and their names (never their values) are returned when `new`
    /// changes them.
    pub fn reloaded(&self, new: Config) -> (Config, Vec<&'static str>) {
        let Config {
            listen,
            database_url,
            database_max_connections,
            public_url,
            secret_key,
            secret_key_file: _,
            log_format,
            connectors,
            api_users,
            allowed_hosts,
            trusted_proxies,
            metrics_access,
            metrics,
            limits,
            branding,
        } = new;
        let changed = [
            // The socket is bound once, at start.
            ("listen", listen != self.listen),
            // The connection pool is opened once, at start.
            ("database_url", database_url != self.database_url),
            ("database_max_connections", database_max_connections != self.database_max_connections),
            // The rendezvous service holds it, and the join keys and callback tokens handed out
            // derive from it: changing it is a decision for a restart. (A `secret_key_file` was
            // read into `secret_key` at load.)
            ("secret_key", !same_optional_secret(secret_key.as_ref(), self.secret_key.as_ref())),
            // The global log subscriber is installed once, at start.
            ("log_format", log_format != self.log_format),
            // The connection loop and the rate limiters are built from them at start.
            ("limits", limits != self.limits),
            // The measuring layer and the /metrics route are part of the router built at start.
            ("metrics", metrics != self.metrics),
        ];
        let waiting = changed.into_iter().filter_map(|(key, changed)| changed.then_some(key)).collect();
        let reloaded = Config {
            listen: self.listen.clone(),
            database_url: self.database_url.clone(),
            database_max_connections: self.database_max_connections,
            secret_key: self.secret_key.clone(),
            secret_key_file: self.secret_key_file.clone(),
            log_format: self.log_format,
            limits: self.limits.clone(),
            metrics: self.metrics,
            // Read by each request: they take effect at once.
            metrics_access,
            public_url,
            connectors,
            api_users,
            allowed_hosts,
            trusted_proxies,
            // Each page reads it (with the Content-Security-Policy made of it) from the
            // settings in force: a town renamed or a new logo needs no restart.
            branding,
        };
        (reloaded, waiting)
    }
}

impl ConnectorConfig {
    /// Whether `other` configures the same connector: its BBB client and caches may be kept.
    pub fn same_settings(&self, other: &ConnectorConfig) -> bool {
        let ConnectorConfig {
            title,
            bbb_url,
            shared_secret,
            shared_secret_file,
            checksum_algorithm,
            timeout_seconds,
            is_running_cache_seconds,
            is_running_batch_threshold,
            default_agent_full_name,
            default_user_full_name,
            access,
        } = self;
        *title == other.title
            && *bbb_url == other.bbb_url
            && same_secret(shared_secret, &other.shared_secret)
            && *shared_secret_file == other.shared_secret_file
            && *checksum_algorithm == other.checksum_algorithm
            && *timeout_seconds == other.timeout_seconds
            && *is_running_cache_seconds == other.is_running_cache_seconds
            && *is_running_batch_threshold == other.is_running_batch_threshold
            && *default_agent_full_name == other.default_agent_full_name
            && *default_user_full_name == other.default_user_full_name
            && *access == other.access
    }
}

fn same_secret(one: &SecretString, other: &SecretString) -> bool {
    one.expose_secret() == other.expose_secret()
}

fn same_optional_secret(one: Option<&SecretString>, other: Option<&SecretString>) -> bool {
    match (one, other) {
        (Some(one), Some(other)) => same_secret(one, other),
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApiUser, Limits, LogFormat};

    fn running() -> Config {
        let connector = ConnectorConfig::new("https://bbb.example.org/bigbluebutton/", "secret").unwrap();
        Config { secret_key: Some("key".into()), ..Config::default() }
            .with_connector("visio", connector)
            .with_api_user(ApiUser::apikey("ops", "ops-key"))
    }

    #[test]
    fn the_keys_read_by_each_request_take_effect_and_nothing_waits() {
        let mut new = running().with_api_user(ApiUser::apikey("portal", "portal-key"));
        new.allowed_hosts = vec!["connectors.example.org".to_owned()];
        new.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        new.public_url = Some("https://connectors.example.org/".parse().unwrap());
        new.connectors.clear();
        new.branding.name = Some("Ville de Sainte-Foy".to_owned());

        let (applied, waiting) = running().reloaded(new);

        assert!(waiting.is_empty(), "{waiting:?}");
        assert_eq!(applied.api_users.len(), 2);
        assert_eq!(applied.allowed_hosts, ["connectors.example.org"]);
        assert_eq!(applied.trusted_proxies.len(), 1);
        assert!(applied.public_url.is_some());
        assert!(applied.connectors.is_empty());
        assert_eq!(applied.branding.name.as_deref(), Some("Ville de Sainte-Foy"));
    }

    #[test]
    fn the_keys_that_need_a_restart_are_named_and_keep_their_running_values() {
        let new = Config {
            listen: "0.0.0.0:9999".to_owned(),
            database_url: "sqlite://other.db".to_owned(),
            database_max_connections: 99,
            secret_key: Some("another key".into()),
            log_format: LogFormat::Json,
            limits: Limits { open_burst: 1, ..Limits::default() },
            ..running()
        };

        let (applied, waiting) = running().reloaded(new);

        assert_eq!(
            waiting,
            ["listen", "database_url", "database_max_connections", "secret_key", "log_format", "limits"]
        );
        let before = running();
        assert_eq!(applied.listen, before.listen);
        assert_eq!(applied.database_url, before.database_url);
        assert_eq!(applied.database_max_connections, before.database_max_connections);
        assert_eq!(applied.secret_key.as_ref().map(|key| key.expose_secret().to_owned()), Some("key".to_owned()));
        assert_eq!(applied.log_format, before.log_format);
        assert_eq!(applied.limits, before.limits);
    }

    #[test]
    fn a_connector_differs_by_any_of_its_settings_the_secret_included() {
        let base = ConnectorConfig::new("https://bbb.example.org/bigbluebutton/", "secret").unwrap();
        type Change = fn(&mut ConnectorConfig);
        let changes: [(&str, Change); 6] = [
            ("title", |c| c.title = "Visio".to_owned()),
            ("shared_secret", |c| c.shared_secret = "other".into()),
            ("bbb_url", |c| c.bbb_url = "https://other.example.org/bigbluebutton/api/".parse().unwrap()),
            ("is_running_cache_seconds", |c| c.is_running_cache_seconds = 10),
            ("default_user_full_name", |c| c.default_user_full_name = "Citoyen".to_owned()),
            ("access", |c| c.access = vec!["*".to_owned()]),
        ];

        assert!(base.same_settings(&base.clone()));
        for (field, change) in changes {
            let mut changed = base.clone();
            change(&mut changed);
            assert!(!base.same_settings(&changed), "a change of {field} must be seen");
        }
    }
}
