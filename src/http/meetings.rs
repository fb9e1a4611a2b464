//! `POST /bbb/{slug}/meeting/` (create-or-return a rendezvous) and `GET .../{guid}/`, both
//! answering the meeting object (DESIGN §4).

use std::sync::Arc;

use axum::extract::State;

use super::auth::Caller;
use super::envelope::{ApiError, Envelope, Failure, NoStore, Success};
use super::extract::{ConnectorPath, JsonBody, MeetingPath, PublicBase};
use super::views::{MeetingPayload, MeetingView};
use crate::domain::payload::parse_meeting_request;
use crate::domain::MeetingRequest;
use crate::rendezvous::Rendezvous;

/// Bodies from this size on are parsed on the blocking pool: unflattening and checking a large
/// body takes long enough to delay the other requests of an async worker.
const PARSE_ON_BLOCKING_POOL_FROM_BYTES: usize = 8 * 1024;

/// Creates the rendezvous, or returns the one of the same `idempotent_id`.
///
/// Get-or-create by (connector, `idempotent_id`): a retry with the same parameters answers the
/// same rendezvous (same guid, same URLs) and makes no new BBB call once BBB has answered. The
/// same id with different parameters is an `idempotency-conflict` (200, err 1: do not retry).
/// If BBB cannot be reached the rendezvous is kept and the call answers 502, so a retry returns
/// the same guid. Flat keys with `/` are unflattened as Passerelle does, and the members of a
/// top-level `extra` object are merged.
#[utoipa::path(
    post,
    path = "/bbb/{slug}/meeting/",
    tag = "rendezvous",
    params(("slug" = String, Path, description = "The connector")),
    request_body(content = MeetingPayload, example = json!(super::views::meeting_payload_example())),
    responses(
        (status = 200, description = "The meeting object (err 0); or err 1 with `idempotency-conflict` or `bbb-error`",
         body = Success<MeetingView>,
         example = json!({"err": 0, "data": super::views::meeting_example()})),
        (status = 400, description = "`invalid-payload` or `invalid-host`", body = Failure),
        (status = 403, description = "`access-denied`", body = Failure),
        (status = 404, description = "`not-found`: no such connector", body = Failure),
        (status = 413, description = "`payload-too-large`", body = Failure),
        (status = 502, description = "`bbb-unavailable` (504 on a timeout); retrying returns the same guid", body = Failure),
        (status = 503, description = "`service-unavailable`", body = Failure),
    ),
    security(("publik_signature" = []), ("apikey" = []), ("basic" = []))
)]
pub async fn post_meeting(
    State(rendezvous): State<Arc<Rendezvous>>,
    ConnectorPath(connector): ConnectorPath,
    _caller: Caller,
    base: PublicBase,
    body: JsonBody,
) -> Result<NoStore<Envelope<MeetingView>>, ApiError> {
    let request = parse_off_the_workers(body).await?;
    let meeting = rendezvous.get_or_create(&connector, request, &base.0).await?;
    Ok(NoStore(Envelope(MeetingView::of(&meeting, &base))))
}

async fn parse_off_the_workers(body: JsonBody) -> Result<MeetingRequest, ApiError> {
    let parse = move || parse_meeting_request(body.value).map_err(|err| ApiError::InvalidPayload(err.to_string()));
    if body.size < PARSE_ON_BLOCKING_POOL_FROM_BYTES {
        return parse();
    }
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|_| ApiError::InvalidPayload("the payload could not be parsed".to_owned()))?
}

/// The meeting object of a rendezvous.
#[utoipa::path(
    get,
    path = "/bbb/{slug}/meeting/{guid}/",
    tag = "rendezvous",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous (32 hex digits; the hyphenated form is accepted)"),
    ),
    responses(
        (status = 200, description = "The meeting object", body = Success<MeetingView>,
         example = json!({"err": 0, "data": super::views::meeting_example()})),
        (status = 403, description = "`access-denied`", body = Failure),
        (status = 404, description = "`not-found`", body = Failure),
        (status = 503, description = "`service-unavailable`", body = Failure),
    ),
    security(("publik_signature" = []), ("apikey" = []), ("basic" = []))
)]
pub async fn get_meeting(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    _caller: Caller,
    base: PublicBase,
) -> Result<NoStore<Envelope<MeetingView>>, ApiError> {
    let meeting = rendezvous.find(&path.connector, path.guid).await?;
    Ok(NoStore(Envelope(MeetingView::of(&meeting, &base))))
}
