//! Extractors whose rejections come out in the envelope: the JSON body (64 KiB, JSON only),
//! the path segments (validated before any database access) and the public base URL.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::client::{request_origin, CheckedOrigin};
use super::envelope::ApiError;
use super::state::AppState;
use crate::bbb::SIGNED_PARAMETERS_FIELD;
use crate::config::Config;
use crate::domain::{Guid, JoinKey, JoinRole};
use crate::rendezvous::{Connector, Connectors};

/// Largest request body accepted (DESIGN §6).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body, refused with `invalid-payload` or `payload-too-large`, or
/// `request-timeout` when it is not all received within `limits.request_timeout_seconds`.
pub struct JsonBody {
    pub value: Value,
    /// Its size in bytes, as received.
    pub size: usize,
}

impl<S: Send + Sync> FromRequest<S> for JsonBody
where
    Arc<Config>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !content_type_is(&request, is_json) {
            return Err(ApiError::InvalidPayload("Content-Type must be application/json".to_owned()));
        }
        let bytes = read_body(request, state).await?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::InvalidPayload(format!("could not decode body to json: {err}")))?;
        Ok(Self { value, size: bytes.len() })
    }
}

/// The `signed_parameters` field of a form body (the recording-ready callback), refused with
/// `invalid-payload` when the body is not a form or does not hold that field exactly once; other
/// fields are ignored. A body without Content-Type is read as a form.
pub struct SignedParameters(pub String);

impl<S: Send + Sync> FromRequest<S> for SignedParameters
where
    Arc<Config>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !content_type_is(&request, |essence| essence == "application/x-www-form-urlencoded") {
            return Err(ApiError::InvalidPayload("Content-Type must be application/x-www-form-urlencoded".to_owned()));
        }
        let bytes = read_body(request, state).await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| ApiError::InvalidPayload("the form body is not valid UTF-8".to_owned()))?;
        let mut values = form_urlencoded::parse(text.as_bytes())
            .filter(|(name, _)| name == SIGNED_PARAMETERS_FIELD)
            .map(|(_, value)| value.into_owned());
        match (values.next(), values.next()) {
            (Some(value), None) => Ok(Self(value)),
            (None, _) => Err(ApiError::InvalidPayload(format!("{SIGNED_PARAMETERS_FIELD}: missing"))),
            (Some(_), Some(_)) => Err(ApiError::InvalidPayload(format!("{SIGNED_PARAMETERS_FIELD}: given twice"))),
        }
    }
}

/// The whole body, within the size limit and `limits.request_timeout_seconds`.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError>
where
    Arc<Config>: FromRef<S>,
{
    let deadline = Arc::<Config>::from_ref(state).limits.request_timeout();
    tokio::time::timeout(deadline, Bytes::from_request(request, state))
        .await
        .map_err(|_| ApiError::RequestTimeout)?
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidPayload(format!("could not read the request body: {rejection}"))
            }
        })
}

/// True when the request announces a body larger than the limit: refused before reading it.
pub fn announces_too_large_body(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|length| length.trim().parse::<u64>().map_or(true, |length| length > MAX_BODY_BYTES as u64))
}

fn is_json(essence: &str) -> bool {
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether the media type of the body (lower case, without parameters) is `expected`. A body
/// without Content-Type is taken for the expected type: hand-written callers often omit it.
fn content_type_is(request: &Request, expected: impl Fn(&str) -> bool) -> bool {
    let Some(value) = request.headers().get(CONTENT_TYPE) else { return true };
    let Ok(text) = value.to_str() else { return false };
    let essence = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    expected(&essence)
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
        connector_of(parts, &params, &Arc::<Connectors>::from_ref(state)).map(Self)
    }
}

/// The connector of a request, once found: several extractors ask for it.
#[derive(Clone)]
struct FoundConnector(Arc<Connector>);

/// The connector named by `{slug}`; its slug goes on the request line, once.
fn connector_of(
    parts: &mut Parts,
    params: &HashMap<String, String>,
    connectors: &Connectors,
) -> Result<Arc<Connector>, ApiError> {
    if let Some(FoundConnector(connector)) = parts.extensions.get::<FoundConnector>() {
        return Ok(Arc::clone(connector));
    }
    let slug = param(params, "slug");
    let connector = connectors.get(slug).ok_or_else(|| ApiError::NotFound(format!("no connector {slug:?}")))?;
    tracing::Span::current().record("slug", tracing::field::display(&connector.slug));
    parts.extensions.insert(FoundConnector(Arc::clone(&connector)));
    Ok(connector)
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
        let connector = connector_of(parts, &params, &Arc::<Connectors>::from_ref(state))?;
        let guid: Guid =
            param(&params, "guid").parse().map_err(|_| ApiError::NotFound("no such rendezvous".to_owned()))?;
        tracing::Span::current().record("guid", tracing::field::display(guid));
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
        // An unknown connector or rendezvous is a link leading nowhere, as a wrong key is: never
        // told apart, and logged as the flood it can be.
        let MeetingPath { connector, guid } =
            MeetingPath::from_request_parts(parts, state).await.map_err(|error| match error {
                ApiError::NotFound(_) => ApiError::UnknownLink,
                other => other,
            })?;
        let params = path_params(parts).await?;
        let not_found = |_| ApiError::UnknownLink;
        let role: JoinRole = param(&params, "role").parse().map_err(not_found)?;
        tracing::Span::current().record("role", tracing::field::display(role.as_str()));
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
        public_base(parts, &state.config()).map(Self)
    }
}

/// `public_url` when set (the request's Host is then never used), else the origin the request
/// was sent to, once its Host passed `allowed_hosts`.
fn public_base(parts: &Parts, config: &Config) -> Result<String, ApiError> {
    match &config.public_url {
        Some(url) => Ok(url.as_str().trim_end_matches('/').to_owned()),
        None => match parts.extensions.get::<CheckedOrigin>() {
            Some(CheckedOrigin(origin)) => Ok(origin.clone()),
            None => request_origin(parts, config),
        },
    }
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
