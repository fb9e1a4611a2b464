//! Building the service from its configuration and serving it: the startup seam used by
//! `serve`, `demo` and the tests (bind port 0, read the address back).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpSocket};

use crate::config::Config;
use crate::domain::ids::random_hex;
use crate::domain::Clock;
use crate::http::guards::Guards;
pub use crate::http::AppState;
use crate::http::Settings;
use crate::rendezvous::{ConnectorChanges, Connectors, Rendezvous};
use crate::server::{self, ConnectionLimits};
use crate::store::{self, Store, StoreOptions};

/// Bytes of the secret key generated at first start when the configuration has none.
const GENERATED_SECRET_KEY_BYTES: usize = 32;

/// Opens and migrates the database named by the configuration (creating a missing SQLite file).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let options = StoreOptions { max_connections: config.database_max_connections, ..StoreOptions::default() };
    let store = store::connect(&config.database_url, &options).await.context("cannot open the database")?;
    store.migrate().await.context("cannot apply the database migrations")?;
    Ok(store)
}

/// Opens the database named by the configuration as it is, for `check` and `purge`: a missing
/// one is an error (no SQLite file is created) and its schema is left alone.
pub async fn open_existing_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let options = StoreOptions {
        max_connections: config.database_max_connections,
        create_if_missing: false,
        ..StoreOptions::default()
    };
    let store = store::connect(&config.database_url, &options).await.context("cannot open the database")?;
    Ok(store)
}

impl AppState {
    /// Connects the store and settles the secret key (configured, else generated once and kept
    /// in the database so that every instance uses the same).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_on(config, Clock::system()).await
    }

    /// As [`AppState::build`], with the clock that judges cache freshness (tests move theirs).
    pub async fn build_on(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let store = open_store(&config).await?;
        Self::with_store(config, store, clock).await
    }

    pub async fn with_store(config: Config, store: Arc<dyn Store>, clock: Clock) -> anyhow::Result<Self> {
        let secret_key = match &config.secret_key {
            Some(key) => key.clone(),
            None => {
                let stored = store
                    .secret_key(&random_hex(GENERATED_SECRET_KEY_BYTES))
                    .await
                    .context("cannot read the stored secret key")?;
                SecretString::from(stored)
            }
        };
        if config.metrics {
            // Before the connectors, which register their counters with it.
            crate::http::metrics::recorder();
        }
        let connectors = Arc::new(Connectors::from_config(&config).context("cannot set up the BBB clients")?);
        let rendezvous = Arc::new(Rendezvous::new(Arc::clone(&store), secret_key, clock));
        rendezvous.share_changes().await.context("cannot listen to the other instances' live-state changes")?;
        let guards = Guards::start(&config.limits);
        let settings = Arc::new(ArcSwap::from_pointee(Settings::new(config, connectors)));
        Ok(Self { store, rendezvous, guards, settings })
    }

    /// Puts `new` in force as far as it can be without a restart: the connectors whose settings
    /// did not change are kept (with their BBB client and caches), the keys that need a restart
    /// keep their running values. Requests in flight finish with the settings they started with.
    pub fn reload(&self, new: Config) -> anyhow::Result<Reloaded> {
        let running = self.settings.load_full();
        let (config, waiting) = running.config.reloaded(new);
        let (connectors, connectors_changed) =
            running.connectors.reconfigured(&config).context("cannot set up the BBB clients")?;
        let api_users = config.api_users.len();
        self.settings.store(Arc::new(Settings::new(config, Arc::new(connectors))));
        Ok(Reloaded { connectors_changed, waiting, api_users })
    }
}

/// What a reload did.
#[derive(Debug)]
pub struct Reloaded {
    pub connectors_changed: ConnectorChanges,
    /// The keys that changed but take effect only at a restart.
    pub waiting: Vec<&'static str>,
    /// How many api users are now in force.
    pub api_users: usize,
}

impl std::fmt::Display for Reloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ConnectorChanges { added, changed, removed } = &self.connectors_changed;
        let groups = [("added", added), ("changed", changed), ("removed", removed)];
        let mut any = false;
        for (what, slugs) in groups.into_iter().filter(|(_, slugs)| !slugs.is_empty()) {
            write!(f, "{}connectors {what}: {}", if any { "; " } else { "" }, slugs.join(", "))?;
            any = true;
        }
        if !any {
            write!(f, "no connector added, changed or removed")?;
        }
        write!(f, "; {} api user(s)", self.api_users)
    }
}

/// Reloads the configuration from `path` (none: defaults) and the environment on each SIGHUP,
/// for as long as the service runs. The handler is installed before this returns: from then on
/// a SIGHUP no longer ends the process.
#[cfg(unix)]
pub fn reload_on_hangup(
    state: AppState,
    path: Option<std::path::PathBuf>,
) -> std::io::Result<impl Future<Output = ()>> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(async move {
        while hangups.recv().await.is_some() {
            reload_from(&state, path.as_deref());
        }
    })
}

/// One reload, told in the log: an ERROR line when the file is refused (nothing of it applies),
/// else a WARN line naming the keys that wait for a restart, if any, and an INFO line.
#[cfg(unix)]
fn reload_from(state: &AppState, path: Option<&std::path::Path>) {
    let refused = "configuration not reloaded, the running one stays in force";
    let reloaded = match Config::load(path) {
        Err(error) => {
            tracing::error!("{refused}: {error}");
            return;
        }
        Ok(new) => match state.reload(new) {
            Err(error) => {
                tracing::error!("{refused}: {error:#}");
                return;
            }
            Ok(reloaded) => reloaded,
        },
    };
    if !reloaded.waiting.is_empty() {
        tracing::warn!(
            "configuration changed keys that take effect only at a restart: {} (their running values stay)",
            reloaded.waiting.join(", ")
        );
    }
    tracing::info!("configuration reloaded: {reloaded}");
}

/// Connections the kernel may queue while the service is at `max_connections` (the standard
/// library asks for 128; the kernel caps it at `net.core.somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the configured address (port 0 allowed) with a listen backlog deep enough for new
/// connections to wait while the connection cap is reached.
pub async fn bind(listen: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let cannot = || format!("cannot listen on {listen}");
    let wanted = tokio::net::lookup_host(listen).await.with_context(cannot)?.next().with_context(cannot)?;
    let socket = if wanted.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.with_context(cannot)?;
    socket.set_reuseaddr(true).with_context(cannot)?;
    socket.bind(wanted).with_context(cannot)?;
    let listener = socket.listen(LISTEN_BACKLOG).with_context(cannot)?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish. Raises the open-file
/// limit first, and keeps the connection cap below it.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = state.config();
    let configured = &config.limits;
    let limits = ConnectionLimits {
        header_read_timeout: configured.header_read_timeout(),
        max_connections: server::connection_cap(configured.max_connections, server::raise_open_file_limit()),
    };
    if config.trusts_any_host() {
        tracing::warn!(
            "public_url is not set and allowed_hosts accepts any Host: the URLs handed out (and the \
             meeting-ended callback given to BBB) follow whatever Host a client sends; set public_url"
        );
    }
    // Open events streams would hold the graceful shutdown: they end with it.
    let hub = Arc::clone(state.rendezvous.hub());
    let shutdown = async move {
        shutdown.await;
        hub.close_all();
    };
    server::serve(listener, crate::http::router(state), limits, shutdown).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
