//! Liveness and readiness probes.

use std::sync::Arc;

use axum::extract::State;
use serde_json::json;

use super::envelope::{ApiError, Envelope, Failure};
use crate::store::Store;

/// The process is alive and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    responses((status = 200, description = "Alive", example = json!({"err": 0, "data": {"status": "ok"}})))
)]
pub async fn get_healthz() -> Envelope<serde_json::Value> {
    Envelope(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    responses(
        (status = 200, description = "Ready", example = json!({"err": 0, "data": {"status": "ok", "database": "ok"}})),
        (status = 503, description = "`service-unavailable`", body = Failure),
    )
)]
pub async fn get_readyz(State(store): State<Arc<dyn Store>>) -> Result<Envelope<serde_json::Value>, ApiError> {
    store.ping().await?;
    Ok(Envelope(json!({"status": "ok", "database": "ok"})))
}
