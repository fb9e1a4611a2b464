//! The meeting-ended callback BBB calls (`meetingEndedURL`), authenticated by a token derived
//! from the guid with `secret_key` and checked in constant time.

use axum::extract::State;
use chrono::Utc;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::envelope::{ApiError, Envelope};
use super::extract::{MeetingPath, PathToken, PublicBase};
use super::meetings::{find_meeting, meeting_url};
use crate::app::AppState;
use crate::domain::{Guid, Meeting};
use crate::store::truncate_to_micros;

/// The token of the end callback of `guid`: hex HMAC-SHA256 keyed by `secret_key`.
pub fn end_callback_token(secret_key: &str, guid: Guid) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"meeting-ended:");
    mac.update(guid.to_string().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The URL passed to BBB as `meetingEndedURL`.
pub fn end_callback_url(state: &AppState, base: &PublicBase, meeting: &Meeting) -> String {
    let token = end_callback_token(state.secret_key.expose_secret(), meeting.guid);
    format!("{}callback/end/{token}/", meeting_url(base, &meeting.slug, meeting.guid))
}

/// Marks the rendezvous not running at once; idempotent.
pub async fn meeting_ended(
    State(state): State<AppState>,
    path: MeetingPath,
    PathToken(presented): PathToken,
) -> Result<Envelope<Option<()>>, ApiError> {
    let expected = end_callback_token(state.secret_key.expose_secret(), path.guid);
    if !bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) {
        return Err(ApiError::AccessDenied("access denied: invalid callback token".to_owned()));
    }
    let meeting = find_meeting(state.store.as_ref(), &path).await?;
    state.store.record_running_state(meeting.guid, false, truncate_to_micros(Utc::now())).await?;
    path.connector.running.invalidate(&meeting.guid).await;
    tracing::info!(guid = %meeting.guid, "BBB reported the meeting ended");
    Ok(Envelope(None))
}
