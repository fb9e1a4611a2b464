//! What the browser-facing links (join and page URLs) share: the Host check, the rate limit and
//! the memory of links that led nowhere, a `HEAD` without effect, and errors as HTML for
//! browsers.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client::{request_origin, CheckedOrigin, ClientAddress};
use super::envelope::ApiError;
use super::extract::JoinPath;
use super::guards::{Guards, UnknownLink};
use super::page::{error_page, with_page_headers};
use super::page_look::PageLook;
use super::state::{AppState, Settings};
use crate::domain::Meeting;
use crate::rendezvous::{Rendezvous, RendezvousError};

/// Without `public_url`, a Host outside `allowed_hosts` is refused on every `/bbb/` endpoint,
/// as Django's ALLOWED_HOSTS does: the URLs handed out are built from it.
pub async fn check_host(State(settings): State<Arc<Settings>>, request: Request, next: Next) -> Response {
    // One read of the settings in force: the look is wanted only for a refusal.
    let config = &settings.config;
    // With any Host allowed there is nothing to check here (is-running is polled hard): the
    // endpoints that build URLs from the Host still refuse one that is not a bare host.
    if !config.trusts_any_host() && config.public_url.is_none() {
        let (mut parts, body) = request.into_parts();
        match request_origin(&parts, config) {
            // Kept for `PublicBase`, so that the origin is worked out once per request.
            Ok(origin) => parts.extensions.insert(CheckedOrigin(origin)),
            Err(error) => return error_answer(error, &parts.headers, settings.look()),
        };
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(request).await
}

/// `HEAD` of a join or page link: link scanners and previewers start nothing (no BBB call, no
/// write, no database read, not counted by the rate limits). The headers are the GET's.
pub async fn head_link(State(look): State<Arc<PageLook>>) -> Response {
    let mut response = with_page_headers(().into_response(), &look);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The error as the caller can read it: an HTML page for browsers, the envelope otherwise.
pub fn error_answer(error: ApiError, headers: &HeaderMap, look: &PageLook) -> Response {
    if prefers_html(headers) {
        error.reported(error_page(&error, headers, look))
    } else {
        error.into_response()
    }
}

/// Who follows a link, as its error answer needs them: their headers (HTML or JSON, language,
/// request id) and the pages' look in force.
pub struct LinkReader {
    pub headers: HeaderMap,
    pub look: Arc<PageLook>,
}

impl LinkReader {
    pub fn error_answer(&self, error: ApiError) -> Response {
        error_answer(error, &self.headers, &self.look)
    }

    pub fn error_page(&self, error: ApiError) -> Response {
        error.reported(error_page(&error, &self.headers, &self.look))
    }
}

impl FromRequestParts<AppState> for LinkReader {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self { headers: parts.headers.clone(), look: FromRef::from_ref(state) })
    }
}

/// The rendezvous of a join or page link once the client passed its rate limit, if the key is
/// the one of that role. A link that led nowhere is remembered for a while and refused at once.
pub async fn open_link(
    rendezvous: &Rendezvous,
    guards: &Guards,
    client: ClientAddress,
    path: &JoinPath,
) -> Result<Meeting, ApiError> {
    guards.admit(client.0)?;
    let link = UnknownLink {
        slug: path.connector.slug.clone(),
        guid: path.guid,
        role: path.role,
        key: path.key.as_str().to_owned(),
    };
    guards.check_link(&link).await?;
    match rendezvous.find_with_key(&path.connector, path.guid, path.role, &path.key).await {
        Ok(meeting) => Ok(meeting),
        Err(RendezvousError::NotFound) => {
            guards.remember_unknown(link).await;
            Err(ApiError::UnknownLink)
        }
        Err(other) => Err(other.into()),
    }
}

/// True when the Accept header ranks text/html above application/json.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers.get(ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let quality = |wanted: &str| {
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let media = parts.next()?.trim().to_ascii_lowercase();
                let q =
                    parts.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
                (media == wanted).then_some(q)
            })
            .fold(0.0_f32, f32::max)
    };
    let html = quality("text/html");
    html > 0.0 && html >= quality("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_recognised_by_their_accept_header() {
        let cases = [
            ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true),
            ("application/json", false),
            ("", false),
            ("*/*", false),
            ("application/json, text/html;q=0.5", false),
            ("text/html;q=0.9, application/json;q=0.8", true),
        ];
        for (accept, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());

            assert_eq!(prefers_html(&headers), expected, "{accept:?}");
        }
    }
}
