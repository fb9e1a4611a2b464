//! `GET /openapi.json` and `GET /bbb/{slug}/`: the OpenAPI document of the service and a
//! connector's documentation page, both open.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::client::ClientAddress;
use super::doc_page::{Access, DocPage};
use super::envelope::{ApiError, Failure};
use super::extract::{ConnectorPath, PublicBase};
use super::guards::Guards;
use super::links::error_answer;
use super::openapi::document_json;
use super::page::Language;
use super::page_look::PageLook;
use crate::config::Config;

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "documentation",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn get_openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], document_json()).into_response()
}

/// The connector's documentation page, in French or English by `Accept-Language`.
///
/// Each endpoint with its full URL, who may call it, its parameters and examples, and the
/// w.c.s. webservice settings; no secret. Limited per client like the landing pages.
#[utoipa::path(
    get,
    path = "/bbb/{slug}/",
    tag = "documentation",
    params(("slug" = String, Path, description = "The connector")),
    responses(
        (status = 200, description = "The page", content_type = "text/html"),
        (status = 404, description = "`not-found`: no such connector (a page for browsers)", body = Failure),
        (status = 429, description = "`rate-limited`, with `Retry-After`", body = Failure),
    )
)]
pub async fn get_doc_page(
    State(config): State<Arc<Config>>,
    State(guards): State<Arc<Guards>>,
    headers: HeaderMap,
    client: ClientAddress,
    connector: Result<ConnectorPath, ApiError>,
    base: Result<PublicBase, ApiError>,
) -> Response {
    let found = guards.admit(client.0).and_then(|()| Ok((connector?.0, base?)));
    let (connector, base) = match found {
        Ok(found) => found,
        Err(error) => return error_answer(error, &headers, PageLook::plain()),
    };
    let accept_language = headers.get(ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    DocPage {
        slug: &connector.slug,
        title: &connector.config.title,
        base: &base.0,
        access: Access::of(&connector, &config),
        language: Language::from_accept_language(accept_language),
    }
    .render()
}
