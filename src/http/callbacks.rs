//! The meeting-ended callback BBB calls (`meetingEndedURL`), authenticated by a token derived
//! from the guid with `secret_key`; the rendezvous service checks it before any other work.

use std::sync::Arc;

use axum::extract::State;

use super::envelope::{ApiError, Envelope};
use super::extract::{MeetingPath, PathToken};
use crate::rendezvous::Rendezvous;

/// Marks the rendezvous not running at once; idempotent.
pub async fn meeting_ended(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    PathToken(presented): PathToken,
) -> Result<Envelope<Option<()>>, ApiError> {
    rendezvous.meeting_ended(&path.connector, path.guid, &presented).await?;
    Ok(Envelope(None))
}
