//! The body of `POST /bbb/{slug}/meeting/`, as w.c.s. or a hand-written caller sends it:
//! unflattened, `extra` merged, loosely typed values normalised to what BBB expects, reserved
//! parameters refused (DESIGN §4).

use serde_json::{Map, Value};

use super::{BbbParameters, MeetingRequest};
use crate::domain::unflatten::{has_flat_keys, unflatten};

/// Longest name, idempotent_id or display name accepted (BBB's own limit for names).
const MAX_TEXT_CHARS: usize = 256;
/// Deepest nesting of the unflattened body, the top-level object being level 1 (DESIGN §7).
pub const MAX_DEPTH: usize = 32;

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
/// Parameters the service sets itself. BBB lower-cases `meta_*` names, so those are refused
/// in any letter case.
const CREATE_RESERVED: &[&str] =
    &["meetingID", "checksum", "attendeePW", "moderatorPW", "name", "meetingEndedURL", "meta_bbb-recording-ready-url"];
const JOIN_RESERVED: &[&str] = &["meetingID", "checksum", "password", "role", "fullName", "createTime"];

/// Why a body was refused: a short sentence starting with the field path.
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
    let mut fields = unflatten_object("payload", object)?;
    if let Some(Value::Object(extra)) = fields.remove("extra") {
        fields.extend(unflatten_object("extra", extra)?);
    }
    check_depth(&fields)?;
    Ok(MeetingRequest {
        name: required_text(&fields, "name", (scalar_text, "must be a string"))?,
        idempotent_id: required_text(&fields, "idempotent_id", (integer_or_text, "must be a string or an integer"))?,
        create_parameters: parameters(&fields, "create_parameters", CREATE_BOOLEANS, CREATE_RESERVED)?,
        join_user_parameters: parameters(&fields, "join_user_parameters", JOIN_BOOLEANS, JOIN_RESERVED)?,
        join_agent_parameters: parameters(&fields, "join_agent_parameters", JOIN_BOOLEANS, JOIN_RESERVED)?,
        user_full_name: optional_text(&fields, "user_full_name")?,
        agent_full_name: optional_text(&fields, "agent_full_name")?,
        metadata: metadata(&fields)?,
    })
}

/// Unflattens `object` when some key holds a `/`; `path` names it in errors.
fn unflatten_object(path: &str, object: Map<String, Value>) -> Result<Map<String, Value>, PayloadError> {
    if !has_flat_keys(&object) {
        return Ok(object);
    }
    match unflatten(object).map_err(|err| error(path, err))? {
        Value::Object(object) => Ok(object),
        _ => Err(error(path, "must be a JSON object, not a list")),
    }
}

/// Refuses a body nested deeper than [`MAX_DEPTH`], without recursing: once unflattened, a
/// body can be far deeper than what the JSON parser allowed.
fn check_depth(fields: &Map<String, Value>) -> Result<(), PayloadError> {
    let mut pending: Vec<(&Value, usize)> = fields.values().map(|value| (value, 2)).collect();
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(object) => Box::new(object.values()),
            Value::Array(list) => Box::new(list.iter()),
            _ => continue,
        };
        if depth > MAX_DEPTH {
            return Err(PayloadError(format!("payload: nested deeper than {MAX_DEPTH} levels")));
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

/// PostgreSQL cannot store U+0000 in text or JSON, so no backend accepts it (DESIGN §7).
fn check_no_nul(path: &str, text: &str) -> Result<(), PayloadError> {
    if text.contains('\0') {
        return Err(error(path, "must not contain the character U+0000"));
    }
    Ok(())
}

/// Every key and string of the metadata object, without recursing.
fn check_metadata_text(metadata: &Map<String, Value>) -> Result<(), PayloadError> {
    let mut pending: Vec<(&str, &Value)> = Vec::new();
    for (key, value) in metadata {
        check_no_nul("metadata", key)?;
        pending.push((key, value));
    }
    while let Some((key, value)) = pending.pop() {
        match value {
            Value::String(text) => check_no_nul(&format!("metadata/{key}"), text)?,
            Value::Array(list) => pending.extend(list.iter().map(|item| (key, item))),
            Value::Object(object) => {
                for (inner_key, inner) in object {
                    check_no_nul("metadata", inner_key)?;
                    pending.push((inner_key, inner));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A number in plain decimal: integers (`90`, `90.0`, `9e1`) without a fraction.
fn decimal(number: &serde_json::Number) -> String {
    match number.as_f64() {
        Some(float) if !number.is_i64() && !number.is_u64() && float.fract() == 0.0 && float.abs() < 1e15 => {
            format!("{float:.0}")
        }
        _ => number.to_string(),
    }
}

/// A string, or a number written in decimal.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(decimal(number)),
        _ => None,
    }
}

/// A string, or an integer (w.c.s. sends `10` or `"10"` for the same form).
fn integer_or_text(value: &Value) -> Option<String> {
    scalar_text(value).filter(|text| value.is_string() || text.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
}

fn required_text(
    fields: &Map<String, Value>,
    name: &str,
    (convert, expected): (fn(&Value) -> Option<String>, &str),
) -> Result<String, PayloadError> {
    let value =
        fields.get(name).filter(|value| !value.is_null()).ok_or_else(|| error(name, "this field is required"))?;
    let text = convert(value).ok_or_else(|| error(name, expected))?;
    check_text(name, text)?.ok_or_else(|| error(name, "must not be empty"))
}

fn optional_text(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, PayloadError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => check_text(name, scalar_text(value).ok_or_else(|| error(name, "must be a string"))?),
    }
}

/// Trims `text`: empty means absent, longer than the limit is refused.
fn check_text(name: &str, text: String) -> Result<Option<String>, PayloadError> {
    check_no_nul(name, &text)?;
    let text = text.trim().to_owned();
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(error(name, format!("must be at most {MAX_TEXT_CHARS} characters")));
    }
    Ok((!text.is_empty()).then_some(text))
}

fn metadata(fields: &Map<String, Value>) -> Result<Map<String, Value>, PayloadError> {
    match fields.get("metadata") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(object)) => {
            check_metadata_text(object)?;
            Ok(object.clone())
        }
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
        if is_reserved(reserved, name) {
            return Err(error(&path, "this parameter is set by the service and cannot be given"));
        }
        if let Some(normalised) = normalise(&path, value, booleans.contains(&name.as_str()))? {
            parameters.insert(name.clone(), normalised);
        }
    }
    Ok(parameters)
}

/// Whether `name` is one of `reserved`: exactly, or in any letter case for metadata.
fn is_reserved(reserved: &[&str], name: &str) -> bool {
    reserved.iter().any(|reserved| {
        let is_metadata = reserved.starts_with("meta_");
        *reserved == name || (is_metadata && reserved.eq_ignore_ascii_case(name))
    })
}

/// The text BBB gets for a value; None drops the parameter (null).
fn normalise(path: &str, value: &Value, is_boolean: bool) -> Result<Option<String>, PayloadError> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => decimal(number),
        Value::String(text) => text.clone(),
        Value::Array(_) | Value::Object(_) => return Err(error(path, "must be a string, a number or a boolean")),
    };
    check_no_nul(path, &text)?;
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
