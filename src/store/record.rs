//! The row shape both backends read and write: JSON columns as text, so that the conversion to
//! and from domain types is written once.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::StoreError;
use crate::domain::{BbbParameters, Guid, JoinKey, Meeting, MeetingRequest, NewMeeting};

/// The columns of a `meetings` row, in schema order, backend-neutral.
#[derive(Debug)]
pub(super) struct MeetingRecord {
    pub guid: String,
    pub slug: String,
    pub idempotent_id: String,
    pub name: String,
    pub create_parameters: String,
    pub join_user_parameters: String,
    pub join_agent_parameters: String,
    pub user_full_name: Option<String>,
    pub agent_full_name: Option<String>,
    pub metadata: String,
    pub agent_key: String,
    pub user_key: String,
    pub attendee_pw: String,
    pub moderator_pw: String,
    pub running: bool,
    pub last_time_running: Option<DateTime<Utc>>,
    pub last_checked: Option<DateTime<Utc>>,
    pub join_followed_at: Option<DateTime<Utc>>,
    pub bbb_create_answer: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// The JSON texts of a new row.
pub(super) struct NewMeetingJson {
    pub create_parameters: String,
    pub join_user_parameters: String,
    pub join_agent_parameters: String,
    pub metadata: String,
}

impl NewMeetingJson {
    pub fn of(new: &NewMeeting) -> Self {
        let request = &new.request;
        Self {
            create_parameters: to_json(&request.create_parameters),
            join_user_parameters: to_json(&request.join_user_parameters),
            join_agent_parameters: to_json(&request.join_agent_parameters),
            metadata: Value::Object(request.metadata.clone()).to_string(),
        }
    }
}

fn to_json(parameters: &BbbParameters) -> String {
    serde_json::to_string(parameters).unwrap_or_else(|_| "{}".to_owned())
}

impl TryFrom<MeetingRecord> for Meeting {
    type Error = StoreError;

    fn try_from(record: MeetingRecord) -> Result<Self, StoreError> {
        let guid = record.guid.parse::<Guid>().map_err(|err| corrupt("guid", err))?;
        Ok(Meeting {
            slug: record.slug,
            guid,
            request: MeetingRequest {
                name: record.name,
                idempotent_id: record.idempotent_id,
                create_parameters: parse_json(&record.create_parameters, "create_parameters")?,
                join_user_parameters: parse_json(&record.join_user_parameters, "join_user_parameters")?,
                join_agent_parameters: parse_json(&record.join_agent_parameters, "join_agent_parameters")?,
                user_full_name: record.user_full_name,
                agent_full_name: record.agent_full_name,
                metadata: parse_json::<Map<String, Value>>(&record.metadata, "metadata")?,
            },
            agent_key: record.agent_key.parse::<JoinKey>().map_err(|err| corrupt("agent_key", err))?,
            user_key: record.user_key.parse::<JoinKey>().map_err(|err| corrupt("user_key", err))?,
            attendee_pw: record.attendee_pw,
            moderator_pw: record.moderator_pw,
            running: record.running,
            last_time_running: record.last_time_running,
            last_checked: record.last_checked,
            join_followed_at: record.join_followed_at,
            bbb_create_answer: record
                .bbb_create_answer
                .as_deref()
                .map(|text| parse_json(text, "bbb_create_answer"))
                .transpose()?,
            created: record.created,
            updated: record.updated,
        })
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|err| corrupt(column, err))
}

fn corrupt(column: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {error}"))
}
