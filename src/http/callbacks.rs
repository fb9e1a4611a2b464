//! The callbacks BBB calls: meeting ended (`meetingEndedURL`), authenticated by a token derived
//! from the guid with `secret_key`, and recording ready (`meta_bbb-recording-ready-url`),
//! authenticated by a JWT signed with the shared secret. The rendezvous service checks either
//! before any other work. Neither is rate limited (DESIGN §7).

use std::sync::Arc;

use axum::extract::State;

use super::envelope::{ApiError, Envelope};
use super::extract::{ConnectorPath, MeetingPath, PathToken, SignedParameters};
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

/// Notes that a recording is ready (`{"err": 0, "data": null}`); idempotent: a repeat keeps the
/// first time.
pub async fn recording_ready(
    State(rendezvous): State<Arc<Rendezvous>>,
    ConnectorPath(connector): ConnectorPath,
    SignedParameters(token): SignedParameters,
) -> Result<Envelope<Option<()>>, ApiError> {
    rendezvous.recording_ready(&connector, &token).await?;
    Ok(Envelope(None))
}
