//! `GET .../join/agent/{key}/` and `.../join/user/{key}/`: the rendezvous service re-creates
//! the BBB meeting (BBB may have forgotten it), then the browser is redirected to a join URL
//! signed at click time.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::query_value;
use super::client::ClientAddress;
use super::envelope::{ApiError, Failure};
use super::extract::{JoinPath, PublicBase};
use super::guards::Guards;
use super::links::{open_link, LinkReader};
use crate::rendezvous::Rendezvous;

/// Opens the meeting: (re)creates it on BBB, then redirects to a BBB join URL signed now.
///
/// The agent joins as moderator, the user as viewer; no other query parameter reaches BBB. A
/// browser gets an HTML page on an error, other clients the envelope. `HEAD` answers 200 and
/// does nothing (for link scanners and previewers).
#[utoipa::path(
    method(get, head),
    path = "/bbb/{slug}/meeting/{guid}/join/{role}/{key}/",
    tag = "links",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous"),
        ("role" = String, Path, description = "`agent` or `user`", example = "user"),
        ("key" = String, Path, description = "That role's join key, as the meeting object hands it out"),
        ("full_name" = Option<String>, Query, description = "The name to show in the meeting"),
    ),
    responses(
        (status = 302, description = "To BBB's join URL (`Location`); `HEAD`: 200, no redirect"),
        (status = 404, description = "`not-found`: no such rendezvous or wrong key", body = Failure),
        (status = 429, description = "`rate-limited`, with `Retry-After`", body = Failure),
        (status = 502, description = "`bbb-error` or `bbb-unavailable` (504 on a timeout)", body = Failure),
    )
)]
pub async fn get_join(
    State(rendezvous): State<Arc<Rendezvous>>,
    State(guards): State<Arc<Guards>>,
    reader: LinkReader,
    client: ClientAddress,
    path: Result<JoinPath, ApiError>,
    base: Result<PublicBase, ApiError>,
    RawQuery(query): RawQuery,
) -> Response {
    let outcome = async {
        let (path, base) = (path?, base?);
        let meeting = open_link(&rendezvous, &guards, client, &path).await?;
        let asked_name = query_value(query.as_deref().unwrap_or_default(), "full_name");
        Ok::<_, ApiError>(
            rendezvous.join_url(&path.connector, &meeting, path.role, asked_name.as_deref(), &base.0).await?,
        )
    }
    .await;
    match outcome {
        Ok(location) => {
            tracing::Span::current().record("outcome", tracing::field::debug("redirected to BBB"));
            redirect(&location)
        }
        Err(error) => reader.error_answer(error),
    }
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
