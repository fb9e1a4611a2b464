//! `GET .../join/agent/{key}/` and `.../join/user/{key}/`: re-create the BBB meeting (BBB may
//! have forgotten it), then redirect the browser to a join URL signed at click time.

use axum::extract::{RawQuery, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::auth::query_value;
use super::client::ClientAddress;
use super::envelope::ApiError;
use super::extract::{JoinPath, PublicBase};
use super::links::{error_answer, open_link};
use super::meetings::create_on_bbb;
use crate::app::AppState;
use crate::bbb::JoinRequest;
use crate::domain::{JoinRole, Meeting};
use crate::store::truncate_to_micros;

/// Longest display name passed to BBB.
const MAX_FULL_NAME_CHARS: usize = 256;

pub async fn get_join(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddress,
    path: Result<JoinPath, ApiError>,
    base: Result<PublicBase, ApiError>,
    RawQuery(query): RawQuery,
) -> Response {
    let outcome = async {
        let (path, base) = (path?, base?);
        join_url(&state, client, &path, &base, query.as_deref().unwrap_or_default()).await
    }
    .await;
    match outcome {
        Ok(location) => redirect(&location),
        Err(error) => error_answer(error, &headers),
    }
}

async fn join_url(
    state: &AppState,
    client: ClientAddress,
    path: &JoinPath,
    base: &PublicBase,
    query: &str,
) -> Result<String, ApiError> {
    let meeting = open_link(state, client, path).await?;
    let followed_at = truncate_to_micros(Utc::now());
    let create_time = create_on_bbb(state, &path.connector, &meeting, base, Some(followed_at)).await?.create_time;
    let full_name = display_name(&meeting, path.role, query, &path.connector.config);
    let password = match path.role {
        JoinRole::Agent => &meeting.moderator_pw,
        JoinRole::User => &meeting.attendee_pw,
    };
    let guid = meeting.guid.to_string();
    let request = JoinRequest {
        meeting_id: &guid,
        full_name: &full_name,
        role: path.role.bbb_role(),
        password,
        create_time,
        parameters: meeting.join_parameters(path.role),
    };
    tracing::info!(guid = %meeting.guid, role = path.role.as_str(), "join link followed");
    Ok(path.connector.bbb.join_url(&request).to_string())
}

/// Query `full_name`, else the stored name for the role, else the connector default.
fn display_name(meeting: &Meeting, role: JoinRole, query: &str, config: &crate::config::ConnectorConfig) -> String {
    let from_query = query_value(query, "full_name").map(|name| clean_name(&name)).filter(|name| !name.is_empty());
    let default = match role {
        JoinRole::Agent => &config.default_agent_full_name,
        JoinRole::User => &config.default_user_full_name,
    };
    from_query.or_else(|| meeting.stored_full_name(role).map(clean_name)).unwrap_or_else(|| default.clone())
}

fn clean_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(MAX_FULL_NAME_CHARS).collect::<String>().trim().to_owned()
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
