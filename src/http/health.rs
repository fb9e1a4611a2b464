//! Liveness and readiness probes.

use std::sync::Arc;

use axum::extract::State;
use serde_json::json;

use super::envelope::{ApiError, Envelope};
use crate::store::Store;

/// The process is alive and serving.
pub async fn get_healthz() -> Envelope<serde_json::Value> {
    Envelope(json!({"status": "ok"}))
}

/// The database answers.
pub async fn get_readyz(State(store): State<Arc<dyn Store>>) -> Result<Envelope<serde_json::Value>, ApiError> {
    store.ping().await?;
    Ok(Envelope(json!({"status": "ok", "database": "ok"})))
}
