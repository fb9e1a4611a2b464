//! Access control of the protected endpoints (DESIGN §6): the `Caller` extractor accepts a
//! Publik signature, an api key or HTTP Basic, as the connector's `access` list allows.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use chrono::{Duration, Utc};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use super::client::client_address;
use super::envelope::ApiError;
use super::extract::ConnectorPath;
use super::guards::Guards;
use super::signature::verify_publik_signature;
use crate::config::{ApiUser, Config};
use crate::rendezvous::{Connector, Connectors};
use crate::store::Store;

/// How long a nonce is remembered: the ±30 s window of the timestamp, plus a margin.
const NONCE_RETENTION: Duration = Duration::seconds(90);

/// Who is calling a protected endpoint; the handler runs only if the connector allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    ApiUser(String),
    Anonymous,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Arc<Connectors>: FromRef<S>,
    Arc<Config>: FromRef<S>,
    Arc<dyn Store>: FromRef<S>,
    Arc<Guards>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ConnectorPath(connector) = ConnectorPath::from_request_parts(parts, state).await?;
        let config = Arc::<Config>::from_ref(state);
        let store = Arc::<dyn Store>::from_ref(state);
        let caller = identify(parts, &config, store.as_ref()).await?;
        if let Caller::ApiUser(name) = &caller {
            tracing::Span::current().record("api_user", tracing::field::display(name));
        }
        if caller == Caller::Anonymous {
            // Callers without credentials are limited like the open endpoints.
            Arc::<Guards>::from_ref(state).admit(client_address(parts, &config.trusted_proxies))?;
        }
        authorize(&connector, caller)
    }
}

/// Finds the api user the request presents credentials of; Anonymous when it presents none.
pub(super) async fn identify(parts: &Parts, config: &Config, store: &dyn Store) -> Result<Caller, ApiError> {
    let query = parts.uri.query().unwrap_or_default();
    if let Some(caller) = signed_caller(query, config, store).await? {
        return Ok(caller);
    }
    if let Some(key) = query_value(query, "apikey") {
        return api_key_caller(&key, config);
    }
    if let Some(header) = parts.headers.get(AUTHORIZATION) {
        return basic_caller(header.to_str().unwrap_or_default(), config);
    }
    Ok(Caller::Anonymous)
}

async fn signed_caller(query: &str, config: &Config, store: &dyn Store) -> Result<Option<Caller>, ApiError> {
    let now = Utc::now();
    let key_for_orig = |orig: &str| match config.api_user(orig) {
        Some(ApiUser::Signature { key, .. }) => Some(key.expose_secret().to_owned()),
        _ => None,
    };
    let signed = verify_publik_signature(query, key_for_orig, now).map_err(|err| denied(&err.to_string()))?;
    let Some(signed) = signed else { return Ok(None) };
    let nonce = signed.nonce.ok_or_else(|| denied("signed requests must carry a nonce"))?;
    if nonce.contains('\0') || signed.orig.contains('\0') {
        return Err(denied("the nonce or orig holds the character U+0000"));
    }
    if !store.remember_nonce(&format!("{}:{nonce}", signed.orig), now + NONCE_RETENTION, now).await? {
        return Err(denied("nonce already used"));
    }
    Ok(Some(Caller::ApiUser(signed.orig)))
}

/// A credential as a fixed-length digest, so that comparing two takes the same time whatever
/// their lengths (a length mismatch must not answer sooner).
fn digest(credential: &str) -> [u8; 32] {
    Sha256::digest(credential.as_bytes()).into()
}

fn same_credential(expected: &str, presented: &str) -> Choice {
    digest(expected).ct_eq(&digest(presented))
}

fn api_key_caller(presented: &str, config: &Config) -> Result<Caller, ApiError> {
    let mut found = None;
    for user in &config.api_users {
        if let ApiUser::Apikey { name, key, .. } = user {
            if bool::from(same_credential(key.expose_secret(), presented)) {
                found = Some(name.clone());
            }
        }
    }
    found.map(Caller::ApiUser).ok_or_else(|| denied("invalid api key"))
}

fn basic_caller(header: &str, config: &Config) -> Result<Caller, ApiError> {
    let (username, password) = decode_basic(header).ok_or_else(|| denied("malformed Authorization header"))?;
    let mut found = None;
    for user in &config.api_users {
        if let ApiUser::Basic { name, username: expected_user, password: expected_password, .. } = user {
            let user_matches = same_credential(expected_user, &username);
            let password_matches = same_credential(expected_password.expose_secret(), &password);
            if bool::from(user_matches & password_matches) {
                found = Some(name.clone());
            }
        }
    }
    found.map(Caller::ApiUser).ok_or_else(|| denied("invalid username or password"))
}

fn decode_basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some((username.to_owned(), password.to_owned()))
}

fn authorize(connector: &Connector, caller: Caller) -> Result<Caller, ApiError> {
    let allowed = match &caller {
        Caller::ApiUser(name) => connector.config.allows_api_user(name),
        Caller::Anonymous => connector.config.allows_anonymous(),
    };
    match (allowed, &caller) {
        (true, _) => Ok(caller),
        (false, Caller::Anonymous) => Err(denied("authentication required")),
        (false, Caller::ApiUser(name)) => Err(denied(&format!("api user {name:?} may not use this connector"))),
    }
}

/// The first value of `name` in a raw query string, decoded.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

fn denied(reason: &str) -> ApiError {
    ApiError::AccessDenied(format!("access denied: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_of_any_length_are_compared_as_digests() {
        assert!(bool::from(same_credential("key", "key")));
        for presented in ["", "k", "ke", "key ", "kez", &"key".repeat(1000)] {
            assert!(!bool::from(same_credential("key", presented)), "{presented:?}");
        }
    }

    #[test]
    fn basic_credentials_are_decoded() {
        assert_eq!(decode_basic("Basic cG9ydGFsOnMzY3I6ZXQ="), Some(("portal".to_owned(), "s3cr:et".to_owned())));
        assert_eq!(decode_basic("basic cG9ydGFsOnM="), Some(("portal".to_owned(), "s".to_owned())));
        for bad in ["Bearer abc", "Basic", "Basic !!!", "Basic bm9jb2xvbg=="] {
            assert_eq!(decode_basic(bad), None, "{bad}");
        }
    }
}
