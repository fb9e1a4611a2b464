//! What the browser-facing links (join and page URLs) share: the Host check, the rate limit and
//! the memory of links that led nowhere, a `HEAD` without effect, and errors as HTML for
//! browsers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client::{request_origin, ClientAddress};
use super::envelope::ApiError;
use super::extract::{JoinPath, MeetingPath};
use super::guards::UnknownLink;
use super::join::prefers_html;
use super::meetings::find_meeting;
use super::page::{error_page, with_page_headers};
use crate::app::AppState;
use crate::config::Config;
use crate::domain::Meeting;

/// Without `public_url`, a Host outside `allowed_hosts` is refused on every `/bbb/` endpoint,
/// as Django's ALLOWED_HOSTS does: the URLs handed out are built from it.
pub async fn check_host(State(config): State<Arc<Config>>, request: Request, next: Next) -> Response {
    // With any Host allowed there is nothing to check here (is-running is polled hard): the
    // endpoints that build URLs from the Host still refuse one that is not a bare host.
    if !config.trusts_any_host() && config.public_url.is_none() {
        let (parts, body) = request.into_parts();
        if let Err(error) = request_origin(&parts, &config) {
            return error_answer(error, &parts.headers);
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(request).await
}

/// `HEAD` of a join or page link: link scanners and previewers start nothing (no BBB call, no
/// write, no database read, not counted by the rate limits).
pub async fn head_link() -> Response {
    let mut response = with_page_headers(().into_response());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The error as the caller can read it: an HTML page for browsers, the envelope otherwise.
pub fn error_answer(error: ApiError, headers: &HeaderMap) -> Response {
    if prefers_html(headers) {
        error.log();
        error_page(&error)
    } else {
        error.into_response()
    }
}

/// The rendezvous of a join or page link once the client passed its rate limit, if the key is
/// the one of that role. A link that led nowhere is remembered for a while and refused at once.
pub async fn open_link(state: &AppState, client: ClientAddress, path: &JoinPath) -> Result<Meeting, ApiError> {
    state.guards.admit(client.0)?;
    let link = UnknownLink {
        slug: path.connector.slug.clone(),
        guid: path.guid,
        role: path.role,
        key: path.key.as_str().to_owned(),
    };
    state.guards.check_link(client.0, &link).await?;
    let meeting_path = MeetingPath { connector: path.connector.clone(), guid: path.guid };
    let found = match find_meeting(state.store.as_ref(), &meeting_path).await {
        Ok(meeting) if meeting.join_key(path.role).matches(path.key.as_str()) => Ok(meeting),
        Ok(_) | Err(ApiError::NotFound(_)) => Err(ApiError::NotFound("no such rendezvous or wrong key".to_owned())),
        Err(other) => Err(other),
    };
    if matches!(found, Err(ApiError::NotFound(_))) {
        state.guards.remember_unknown(link).await;
    }
    found
}
