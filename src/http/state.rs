//! What the handlers share. Each handler extracts only the parts it uses (`State<Arc<…>>`
//! through `FromRef`); the application builds it (`app.rs`).

use std::sync::Arc;

use axum::extract::FromRef;

use super::guards::Guards;
use crate::config::Config;
use crate::rendezvous::{Connectors, Rendezvous};
use crate::store::Store;

#[derive(Clone, FromRef)]
pub struct AppState {
    /// For the signature nonces and the readiness probe; the rendezvous go through `rendezvous`.
    pub store: Arc<dyn Store>,
    pub rendezvous: Arc<Rendezvous>,
    pub connectors: Arc<Connectors>,
    pub config: Arc<Config>,
    /// The rate limits and the negative cache of the open endpoints.
    pub guards: Arc<Guards>,
}
