//! `GET .../page/user/{key}/` and `.../page/agent/{key}/`: the landing pages a citizen or an
//! agent opens, in French or English by Accept-Language.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::response::Response;

use super::client::ClientAddress;
use super::envelope::ApiError;
use super::extract::{JoinPath, PublicBase};
use super::guards::Guards;
use super::landing::LandingPage;
use super::links::{open_link, LinkReader};
use super::page::Language;
use super::views::MeetingView;
use crate::domain::JoinRole;
use crate::rendezvous::Rendezvous;

/// The landing page of a role, in French or English by `Accept-Language`.
///
/// The user's page waits for the agent and offers to join once the meeting runs; the agent's
/// page offers to start it at once. `HEAD` answers 200 and does nothing.
#[utoipa::path(
    method(get, head),
    path = "/bbb/{slug}/meeting/{guid}/page/{role}/{key}/",
    tag = "links",
    params(
        ("slug" = String, Path, description = "The connector"),
        ("guid" = String, Path, description = "The rendezvous"),
        ("role" = String, Path, description = "`agent` or `user`", example = "user"),
        ("key" = String, Path, description = "That role's join key, as the meeting object hands it out"),
    ),
    responses(
        (status = 200, description = "The page", content_type = "text/html"),
        (status = 404, description = "A page saying the link is not valid", content_type = "text/html"),
        (status = 429, description = "A page asking to wait (`Retry-After`)", content_type = "text/html"),
    )
)]
pub async fn get_page(
    State(rendezvous): State<Arc<Rendezvous>>,
    State(guards): State<Arc<Guards>>,
    reader: LinkReader,
    client: ClientAddress,
    path: Result<JoinPath, ApiError>,
    base: Result<PublicBase, ApiError>,
) -> Response {
    let outcome = async {
        let (path, base) = (path?, base?);
        let meeting = open_link(&rendezvous, &guards, client, &path).await?;
        Ok::<_, ApiError>((MeetingView::of(&meeting, &base), meeting, path.role))
    }
    .await;
    let (view, meeting, role) = match outcome {
        Ok(found) => found,
        Err(error) => return reader.error_page(error),
    };
    let accept_language = reader.headers.get(ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let events_url = format!("{}events/", view.page_url(role));
    LandingPage {
        meeting_name: &meeting.request.name,
        metadata: &meeting.request.metadata,
        join_url: view.join_url(role),
        is_running_url: view.is_running_url(),
        events_url: &events_url,
        user_page_url: (role == JoinRole::Agent).then(|| view.user_page_url()),
        language: Language::from_accept_language(accept_language),
        look: &reader.look,
    }
    .render()
}
