//! The HTTP layer: the route table, the envelope, access control and request parsing.

pub mod envelope;
mod health;
pub mod signature;
pub mod unflatten;

use axum::routing::get;
use axum::Router;

use crate::app::AppState;

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::get_healthz))
        .route("/readyz", get(health::get_readyz))
        .with_state(state)
}
