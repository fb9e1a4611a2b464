//! What the handlers share. Each handler extracts only the parts it uses (`State<Arc<…>>`
//! through `FromRef`); the application builds it (`app.rs`). The configuration and the
//! connectors are one snapshot that a reload replaces whole: each extraction reads the snapshot
//! in force, and what a request extracted stays its own until it ends.

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::FromRef;

use super::guards::Guards;
use super::page_look::PageLook;
use crate::config::Config;
use crate::rendezvous::{Connectors, Rendezvous};
use crate::store::Store;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// For the signature nonces and the readiness probe; the rendezvous go through `rendezvous`.
    pub store: Arc<dyn Store>,
    pub rendezvous: Arc<Rendezvous>,
    /// The rate limits and the negative cache of the open endpoints.
    pub guards: Arc<Guards>,
    /// Read through the `Arc<Config>`, `Arc<Connectors>`, `Arc<PageLook>` and `Arc<Settings>`
    /// extractions below.
    #[from_ref(skip)]
    pub settings: Arc<ArcSwap<Settings>>,
}

/// The part of the service that a reload may change.
pub struct Settings {
    pub config: Arc<Config>,
    pub connectors: Arc<Connectors>,
    /// The pages' look, made of `config.branding` when the settings are.
    look: Arc<PageLook>,
}

impl Settings {
    pub fn new(config: Config, connectors: Arc<Connectors>) -> Self {
        let look = Arc::new(PageLook::of(&config.branding));
        Self { config: Arc::new(config), connectors, look }
    }

    pub fn look(&self) -> &PageLook {
        &self.look
    }
}

impl AppState {
    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.settings.load().config)
    }

    /// The connectors in force.
    pub fn connectors(&self) -> Arc<Connectors> {
        Arc::clone(&self.settings.load().connectors)
    }
}

impl FromRef<AppState> for Arc<Config> {
    fn from_ref(state: &AppState) -> Self {
        state.config()
    }
}

impl FromRef<AppState> for Arc<PageLook> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.settings.load().look)
    }
}

/// All the settings in force at once, for a handler that needs several of them.
impl FromRef<AppState> for Arc<Settings> {
    fn from_ref(state: &AppState) -> Self {
        state.settings.load_full()
    }
}

impl FromRef<AppState> for Arc<Connectors> {
    fn from_ref(state: &AppState) -> Self {
        state.connectors()
    }
}
