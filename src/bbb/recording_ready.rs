//! The recording-ready notification (reference §6.2): the create metadata that asks for it, and
//! the check of the `signed_parameters` JWT bbb-web (or Scalelite) posts once a recording is
//! published, signed with the shared secret.

use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The create parameter naming the URL BBB posts to when a recording is ready.
pub const RECORDING_READY_URL_PARAMETER: &str = "meta_bbb-recording-ready-url";
/// The form field of the notification.
pub const SIGNED_PARAMETERS_FIELD: &str = "signed_parameters";
/// Clock difference tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECONDS: f64 = 30.0;
/// Longest record id accepted (BBB's are 40 hex digits, `-` and 13 digits).
const MAX_RECORD_ID_CHARS: usize = 256;

/// What a verified notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingReady {
    /// The external meetingID given at create.
    pub meeting_id: String,
    pub record_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordingReadyError {
    /// Not a token signed with the secret by an accepted algorithm (HS256, HS384, HS512), or
    /// expired, or not valid yet.
    #[error("invalid signed_parameters: {0}")]
    Refused(String),
    /// Well signed, but not a notification: a claim is missing or malformed.
    #[error("signed_parameters: {0}")]
    Claims(String),
}

/// The claims read; others are ignored. `exp` and `nbf` are honoured when present.
#[derive(Debug, Deserialize)]
struct Claims {
    meeting_id: Option<serde_json::Value>,
    record_id: Option<serde_json::Value>,
    exp: Option<f64>,
    nbf: Option<f64>,
}

/// Checks the token's signature with `secret`, then its time claims against `now_seconds`
/// (Unix time), then reads the notification. The signature is checked before anything of
/// the payload is read.
pub fn verify_recording_ready(
    token: &str,
    secret: &str,
    now_seconds: i64,
) -> Result<RecordingReady, RecordingReadyError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
    validation.required_spec_claims.clear();
    // Checked below, on the caller's clock and whatever the number's type.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let payload = decode::<serde_json::Value>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .map_err(|error| RecordingReadyError::Refused(error.to_string()))?
        .claims;
    // Signed with the secret: a payload that does not fit is a malformed notification.
    let claims: Claims = serde_json::from_value(payload)
        .map_err(|error| RecordingReadyError::Claims(format!("unreadable claims: {error}")))?;
    let now = now_seconds as f64;
    if claims.exp.is_some_and(|exp| exp + LEEWAY_SECONDS < now) {
        return Err(RecordingReadyError::Refused("the token has expired".to_owned()));
    }
    if claims.nbf.is_some_and(|nbf| nbf - LEEWAY_SECONDS > now) {
        return Err(RecordingReadyError::Refused("the token is not valid yet".to_owned()));
    }
    let meeting_id = text_claim(claims.meeting_id, "meeting_id")?;
    let record_id = text_claim(claims.record_id, "record_id")?;
    let well_formed = record_id.len() <= MAX_RECORD_ID_CHARS && record_id.bytes().all(|b| b.is_ascii_graphic());
    if !well_formed {
        return Err(RecordingReadyError::Claims("record_id must be at most 256 printable ASCII characters".to_owned()));
    }
    Ok(RecordingReady { meeting_id, record_id })
}

fn text_claim(value: Option<serde_json::Value>, name: &str) -> Result<String, RecordingReadyError> {
    match value {
        Some(serde_json::Value::String(text)) if !text.is_empty() => Ok(text),
        Some(_) => Err(RecordingReadyError::Claims(format!("{name} must be a non-empty string"))),
        None => Err(RecordingReadyError::Claims(format!("{name} is missing"))),
    }
}

#[cfg(test)]
#[path = "recording_ready_tests.rs"]
mod tests;
