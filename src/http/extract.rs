//! Extractors whose rejections come out in the envelope: the JSON body (64 KiB, JSON only),
//! the path segments (validated before any database access) and the public base URL.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::Value;

use super::envelope::ApiError;
use crate::app::AppState;
use crate::config::Config;
use crate::connectors::{Connector, Connectors};
use crate::domain::{Guid, JoinKey, JoinRole};

/// Largest request body accepted (DESIGN §6).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body, refused with `invalid-payload` or `payload-too-large`.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !content_type_is_json(&request) {
            return Err(ApiError::InvalidPayload("Content-Type must be application/json".to_owned()));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidPayload(format!("could not read the request body: {rejection}"))
            }
        })?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::InvalidPayload(format!("could not decode body to json: {err}")))?;
        Ok(Self(value))
    }
}

/// A body without Content-Type is read as JSON too: hand-written callers often omit it.
fn content_type_is_json(request: &Request) -> bool {
    let Some(value) = request.headers().get(CONTENT_TYPE) else { return true };
    let Ok(text) = value.to_str() else { return false };
    let essence = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The path parameters, by name; a segment that is not valid UTF-8 is a 404.
async fn path_params(parts: &mut Parts) -> Result<HashMap<String, String>, ApiError> {
    Path::<HashMap<String, String>>::from_request_parts(parts, &())
        .await
        .map(|Path(params)| params)
        .map_err(|_| ApiError::NotFound("no such resource".to_owned()))
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or_default()
}

/// The connector named by `{slug}`.
pub struct ConnectorPath(pub Arc<Connector>);

impl<S: Send + Sync> FromRequestParts<S> for ConnectorPath
where
    Arc<Connectors>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = path_params(parts).await?;
        connector_of(&params, &Arc::<Connectors>::from_ref(state)).map(Self)
    }
}

fn connector_of(params: &HashMap<String, String>, connectors: &Connectors) -> Result<Arc<Connector>, ApiError> {
    let slug = param(params, "slug");
    connectors.get(slug).ok_or_else(|| ApiError::NotFound(format!("no connector {slug:?}")))
}

/// `{slug}` and `{guid}` of a rendezvous URL.
pub struct MeetingPath {
    pub connector: Arc<Connector>,
    pub guid: Guid,
}

impl<S: Send + Sync> FromRequestParts<S> for MeetingPath
where
    Arc<Connectors>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = path_params(parts).await?;
        let connector = connector_of(&params, &Arc::<Connectors>::from_ref(state))?;
        let guid = param(&params, "guid").parse().map_err(|_| ApiError::NotFound("no such rendezvous".to_owned()))?;
        Ok(Self { connector, guid })
    }
}

/// `{slug}`, `{guid}`, `{role}` and `{key}` of a join or page URL.
pub struct JoinPath {
    pub connector: Arc<Connector>,
    pub guid: Guid,
    pub role: JoinRole,
    pub key: JoinKey,
}

impl<S: Send + Sync> FromRequestParts<S> for JoinPath
where
    Arc<Connectors>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let MeetingPath { connector, guid } = MeetingPath::from_request_parts(parts, state).await?;
        let params = path_params(parts).await?;
        let not_found = |_| ApiError::NotFound("no such rendezvous or wrong key".to_owned());
        let role = param(&params, "role").parse().map_err(not_found)?;
        let key = param(&params, "key").parse().map_err(not_found)?;
        Ok(Self { connector, guid, role, key })
    }
}

/// The base of the URLs handed out: `public_url`, else the request's scheme and Host.
/// Never ends with `/`.
#[derive(Debug, Clone)]
pub struct PublicBase(pub String);

impl FromRequestParts<AppState> for PublicBase {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        public_base(parts, &state.config).map(Self)
    }
}

fn public_base(parts: &Parts, config: &Config) -> Result<String, ApiError> {
    if let Some(url) = &config.public_url {
        return Ok(url.as_str().trim_end_matches('/').to_owned());
    }
    let host = parts
        .headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|authority| authority.to_string()))
        .unwrap_or_else(|| config.listen.clone());
    let scheme = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .filter(|proto| matches!(*proto, "http" | "https"))
        .unwrap_or("http");
    let base = format!("{scheme}://{host}");
    let parsed = url::Url::parse(&base).map_err(|_| ApiError::InvalidPayload("invalid Host header".to_owned()))?;
    if parsed.path() != "/" || parsed.query().is_some() || parsed.username() != "" {
        return Err(ApiError::InvalidPayload("invalid Host header".to_owned()));
    }
    Ok(base)
}

/// The `{token}` segment of a callback URL.
pub struct PathToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let params = path_params(parts).await?;
        Ok(Self(param(&params, "token").to_owned()))
    }
}
