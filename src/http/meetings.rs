//! `POST /bbb/{slug}/meeting/` (create-or-return a rendezvous) and `GET .../{guid}/`, both
//! answering the meeting object (DESIGN §4).

use std::sync::Arc;

use axum::extract::State;

use super::auth::Caller;
use super::envelope::{ApiError, Envelope, NoStore};
use super::extract::{ConnectorPath, JsonBody, MeetingPath, PublicBase};
use super::views::MeetingView;
use crate::domain::payload::parse_meeting_request;
use crate::domain::MeetingRequest;
use crate::rendezvous::Rendezvous;

/// Bodies from this size on are parsed on the blocking pool: unflattening and checking a large
/// body takes long enough to delay the other requests of an async worker.
const PARSE_ON_BLOCKING_POOL_FROM_BYTES: usize = 8 * 1024;

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

pub async fn get_meeting(
    State(rendezvous): State<Arc<Rendezvous>>,
    path: MeetingPath,
    _caller: Caller,
    base: PublicBase,
) -> Result<NoStore<Envelope<MeetingView>>, ApiError> {
    let meeting = rendezvous.find(&path.connector, path.guid).await?;
    Ok(NoStore(Envelope(MeetingView::of(&meeting, &base))))
}
