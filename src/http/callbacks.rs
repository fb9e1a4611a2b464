//! The callbacks BBB calls: meeting ended (`meetingEndedURL`), authenticated by a token derived
//! from the guid with `secret_key`, and recording ready (`meta_bbb-recording-ready-url`),
//! authenticated by a JWT signed with the shared secret. The rendezvous service checks either
//! before any other work. Neither is rate limited (DESIGN §7).

use std::sync::Arc;

use axum::extract::State;

use super::envelope::{ApiError, Envelope, Failure};
use super::extract::{ConnectorPath, MeetingPath, PathToken, SignedParameters};
use crate::rendezvous::Rendezvous;

/// Marks the rendezvous not running at once; idempotent.
#[utoipa::path(
    method(get, post),
    path = "/bbb/{slug}/meeting/{guid}/callback/end/{token}/",
    tag = "callbacks",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous"),
        ("token" = String, Path, description = "HMAC of the guid with `secret_key`, as passed to BBB in `meetingEndedURL`"),
    ),
    responses(
        (status = 200, description = "Noted", example = json!({"err": 0, "data": null})),
        (status = 403, description = "`access-denied`: wrong token", body = Failure),
        (status = 404, description = "`not-found`", body = Failure),
    )
)]
pub async fn meeting_ended(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    PathToken(presented): PathToken,
) -> Result<Envelope<Option<()>>, ApiError> {
    rendezvous.meeting_ended(&path.connector, path.guid, &presented).await?;
    Ok(Envelope(None))
}

/// Notes that BBB announced a recording as ready; idempotent: a repeat keeps the first time.
#[utoipa::path(
    post,
    path = "/bbb/{slug}/callback/recording-ready/",
    tag = "callbacks",
    params(("slug" = String, Path, description = "The connector")),
    request_body(
        content_type = "application/x-www-form-urlencoded",
        description = "`signed_parameters`: a JWT (HS256, HS384 or HS512) signed with the connector's shared \
            secret, with the claims `meeting_id` (the rendezvous guid) and `record_id`; `exp` and `nbf` are \
            honoured when present. This is the `meta_bbb-recording-ready-url` every create passes to BBB.",
    ),
    responses(
        (status = 200, description = "Noted", example = json!({"err": 0, "data": null})),
        (status = 400, description = "`invalid-payload`: no form, or no or several `signed_parameters`", body = Failure),
        (status = 403, description = "`access-denied`: the token is not signed with the shared secret, or expired", body = Failure),
        (status = 404, description = "`not-found`: no such rendezvous for this connector", body = Failure),
    )
)]
pub async fn recording_ready(
    State(rendezvous): State<Arc<Rendezvous>>,
    ConnectorPath(connector): ConnectorPath,
    SignedParameters(token): SignedParameters,
) -> Result<Envelope<Option<()>>, ApiError> {
    rendezvous.recording_ready(&connector, &token).await?;
    Ok(Envelope(None))
}
