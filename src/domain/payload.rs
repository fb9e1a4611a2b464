//! The body of `POST /bbb/{slug}/meeting/`, as w.c.s. or a hand-written caller sends it:
//! unflattened, `extra` merged, loosely typed values normalised to what BBB expects, reserved
//! parameters refused (DESIGN §4).

use serde_json::{Map, Value};

use super::{BbbParameters, MeetingRequest};
use crate::http::unflatten::{has_flat_keys, unflatten};

/// Longest name, idempotent_id or display name accepted (BBB's own limit for names).
const MAX_TEXT_CHARS: usize = 256;

/// BBB `create` parameters documented as booleans (reference §3.1).
const CREATE_BOOLEANS: &[&str] = &[
    "record",
    "autoStartRecording",
    "allowStartStopRecording",
    "recordFullDurationMedia",
    "webcamsOnlyForModerator",
    "muteOnStart",
    "allowModsToUnmuteUsers",
    "allowModsToEjectCameras",
    "endWhenNoModerator",
    "notifyRecordingIsOn",
    "allowRequestsWithoutSession",
    "allowPromoteGuestToModerator",
    "allowOverrideClientSettingsOnCreateCall",
    "lockSettingsDisableCam",
    "lockSettingsDisableMic",
    "lockSettingsDisablePrivateChat",
    "lockSettingsDisablePublicChat",
    "lockSettingsDisableNote",
    "lockSettingsDisableNotes",
    "lockSettingsLockedLayout",
    "lockSettingsHideUserList",
    "lockSettingsLockOnJoin",
    "lockSettingsLockOnJoinConfigurable",
    "lockSettingsHideViewersCursor",
    "breakoutRoomsEnabled",
    "breakoutRoomsRecord",
    "breakoutRoomsPrivateChatEnabled",
    "learningDashboardEnabled",
    "virtualBackgroundsDisabled",
    "meetingKeepEvents",
    "freeJoin",
    "isBreakout",
];
/// BBB `join` parameters documented as booleans (reference §4.1).
const JOIN_BOOLEANS: &[&str] = &["guest", "redirect", "excludeFromDashboard"];
/// Parameters the service sets itself.
const CREATE_RESERVED: &[&str] = &["meetingID", "checksum", "attendeePW", "moderatorPW", "name", "meetingEndedURL"];
const JOIN_RESERVED: &[&str] = &["meetingID", "checksum", "password", "role", "fullName", "createTime"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

fn error(path: &str, problem: impl std::fmt::Display) -> PayloadError {
    PayloadError(format!("{path}: {problem}"))
}

/// Validates and normalises a create body.
pub fn parse_meeting_request(body: Value) -> Result<MeetingRequest, PayloadError> {
    let Value::Object(object) = body else {
        return Err(PayloadError("payload must be a JSON object".to_owned()));
    };
    let mut fields = unflatten_object(object)?;
    if let Some(Value::Object(extra)) = fields.remove("extra") {
        fields.extend(unflatten_object(extra)?);
    }
    Ok(MeetingRequest {
        name: required_text(&fields, "name")?,
        idempotent_id: required_text(&fields, "idempotent_id")?,
        create_parameters: parameters(&fields, "create_parameters", CREATE_BOOLEANS, CREATE_RESERVED)?,
        join_user_parameters: parameters(&fields, "join_user_parameters", JOIN_BOOLEANS, JOIN_RESERVED)?,
        join_agent_parameters: parameters(&fields, "join_agent_parameters", JOIN_BOOLEANS, JOIN_RESERVED)?,
        user_full_name: optional_text(&fields, "user_full_name")?,
        agent_full_name: optional_text(&fields, "agent_full_name")?,
        metadata: metadata(&fields)?,
    })
}

fn unflatten_object(object: Map<String, Value>) -> Result<Map<String, Value>, PayloadError> {
    if !has_flat_keys(&object) {
        return Ok(object);
    }
    match unflatten(object).map_err(|err| PayloadError(format!("payload: {err}")))? {
        Value::Object(object) => Ok(object),
        _ => Err(PayloadError("payload must be a JSON object, not a list".to_owned())),
    }
}

/// A string, or a number written in decimal.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn required_text(fields: &Map<String, Value>, name: &str) -> Result<String, PayloadError> {
    let value =
        fields.get(name).filter(|value| !value.is_null()).ok_or_else(|| error(name, "this field is required"))?;
    let text = scalar_text(value).ok_or_else(|| error(name, "must be a string"))?;
    check_text(name, text.trim().to_owned())?.ok_or_else(|| error(name, "must not be empty"))
}

fn optional_text(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, PayloadError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => check_text(name, scalar_text(value).ok_or_else(|| error(name, "must be a string"))?),
    }
}

fn check_text(name: &str, text: String) -> Result<Option<String>, PayloadError> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(error(name, format!("must be at most {MAX_TEXT_CHARS} characters")));
    }
    Ok((!text.is_empty()).then_some(text))
}

fn metadata(fields: &Map<String, Value>) -> Result<Map<String, Value>, PayloadError> {
    match fields.get("metadata") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(object)) => Ok(object.clone()),
        Some(_) => Err(error("metadata", "must be an object")),
    }
}

fn parameters(
    fields: &Map<String, Value>,
    field: &str,
    booleans: &[&str],
    reserved: &[&str],
) -> Result<BbbParameters, PayloadError> {
    let object = match fields.get(field) {
        None | Some(Value::Null) => return Ok(BbbParameters::new()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(error(field, "must be an object")),
    };
    let mut parameters = BbbParameters::new();
    for (name, value) in object {
        let path = format!("{field}/{name}");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(error(&path, "parameter names are printable ASCII without spaces"));
        }
        if reserved.contains(&name.as_str()) {
            return Err(error(&path, "this parameter is set by the service and cannot be given"));
        }
        if let Some(normalised) = normalise(&path, value, booleans.contains(&name.as_str()))? {
            parameters.insert(name.clone(), normalised);
        }
    }
    Ok(parameters)
}

/// The text BBB gets for a value; None drops the parameter (null).
fn normalise(path: &str, value: &Value, is_boolean: bool) -> Result<Option<String>, PayloadError> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(_) | Value::String(_) => scalar_text(value).unwrap_or_default(),
        Value::Array(_) | Value::Object(_) => return Err(error(path, "must be a string, a number or a boolean")),
    };
    if !is_boolean {
        return Ok(Some(text));
    }
    match text.as_str() {
        "true" | "True" | "on" | "1" => Ok(Some("true".to_owned())),
        "false" | "False" | "off" | "0" | "" => Ok(Some("false".to_owned())),
        _ => Err(error(path, format!("expected a boolean (true/false), got {text:?}"))),
    }
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
