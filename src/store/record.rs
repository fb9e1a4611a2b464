//! The row shape both backends read and write: JSON columns as text and timestamps as
//! [`Timestamp`], so that the mapping of a row (derived once) and the conversion to domain types
//! are written once.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};

use super::{CheckOutcome, ReadyRecording, StoreError, StoredBatch, StoredCheck};
use crate::domain::{BbbParameters, Guid, JoinKey, Meeting, MeetingRequest, NewMeeting};

/// A stored instant: `timestamptz` on PostgreSQL, integer microseconds (UTC) on SQLite.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timestamp(pub DateTime<Utc>);

impl Type<Sqlite> for Timestamp {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for Timestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let micros = <i64 as Decode<Sqlite>>::decode(value)?;
        DateTime::from_timestamp_micros(micros).map(Self).ok_or_else(|| "timestamp out of range".into())
    }
}

impl<'q> Encode<'q, Sqlite> for Timestamp {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<Sqlite>>::encode(self.0.timestamp_micros(), buf)
    }
}

impl Type<Postgres> for Timestamp {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<Postgres>>::decode(value).map(Self)
    }
}

impl Encode<'_, Postgres> for Timestamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

/// The columns of a `meetings` row, in schema order, backend-neutral.
#[derive(Debug, sqlx::FromRow)]
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
    pub last_time_running: Option<Timestamp>,
    pub last_checked: Option<Timestamp>,
    pub join_followed_at: Option<Timestamp>,
    pub bbb_create_answer: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// The columns of a `recordings_ready` row read back.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ReadyRecordingRecord {
    pub record_id: String,
    pub notified_at: Timestamp,
}

impl From<ReadyRecordingRecord> for ReadyRecording {
    fn from(record: ReadyRecordingRecord) -> Self {
        Self { record_id: record.record_id, notified_at: record.notified_at.0 }
    }
}

/// The is-running check columns of a `meetings` row.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct StoredCheckRecord {
    pub running: bool,
    pub check_claimed_at: Option<Timestamp>,
    pub check_failed: Option<bool>,
}

/// A `running_batches` row.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct StoredBatchRecord {
    pub claimed_at: Timestamp,
    pub answered: bool,
    pub failed: bool,
    pub meetings: String,
    pub lists_ours: bool,
}

/// The latest is-running check of a `meetings` row of either backend.
pub(super) fn stored_check_of<'r, R: sqlx::Row>(row: &'r R) -> Result<StoredCheck, StoreError>
where
    StoredCheckRecord: sqlx::FromRow<'r, R>,
{
    let record = <StoredCheckRecord as sqlx::FromRow<'r, R>>::from_row(row)?;
    Ok(StoredCheck {
        running: record.running,
        checked_at: record.check_claimed_at.map(|at| at.0),
        outcome: if record.check_claimed_at.is_none() {
            CheckOutcome::Answered
        } else {
            CheckOutcome::of_failed(record.check_failed)
        },
    })
}

/// The latest getMeetings of a `running_batches` row of either backend.
pub(super) fn stored_batch_of<'r, R: sqlx::Row>(row: &'r R) -> Result<StoredBatch, StoreError>
where
    StoredBatchRecord: sqlx::FromRow<'r, R>,
{
    let record = <StoredBatchRecord as sqlx::FromRow<'r, R>>::from_row(row)?;
    let outcome = match (record.answered, record.failed) {
        (false, _) => CheckOutcome::InFlight,
        (true, false) => CheckOutcome::Answered,
        (true, true) => CheckOutcome::Failed,
    };
    Ok(StoredBatch {
        checked_at: record.claimed_at.0,
        outcome,
        meetings: parse_json(&record.meetings, "meetings")?,
        lists_ours: record.lists_ours,
    })
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

/// The columns a new rendezvous is inserted with, bound by [`bind_new_meeting`] as `$1`…`$15`
/// (`updated` takes `created`, `$15`).
pub(super) const NEW_MEETING_COLUMNS: &str = "guid, slug, idempotent_id, name, create_parameters, \
    join_user_parameters, join_agent_parameters, user_full_name, agent_full_name, metadata, agent_key, user_key, \
    attendee_pw, moderator_pw, created, updated";

/// Binds the values of [`NEW_MEETING_COLUMNS`] in order, on either backend.
pub(super) fn bind_new_meeting<'q, DB>(
    query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    new: &'q NewMeeting,
    json: &'q NewMeetingJson,
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    String: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Timestamp: Encode<'q, DB> + Type<DB>,
{
    let request = &new.request;
    query
        .bind(new.guid.to_string())
        .bind(new.slug.as_str())
        .bind(request.idempotent_id.as_str())
        .bind(request.name.as_str())
        .bind(json.create_parameters.as_str())
        .bind(json.join_user_parameters.as_str())
        .bind(json.join_agent_parameters.as_str())
        .bind(request.user_full_name.as_deref())
        .bind(request.agent_full_name.as_deref())
        .bind(json.metadata.as_str())
        .bind(new.agent_key.as_str())
        .bind(new.user_key.as_str())
        .bind(new.attendee_pw.as_str())
        .bind(new.moderator_pw.as_str())
        .bind(Timestamp(new.created))
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
            last_time_running: record.last_time_running.map(|at| at.0),
            last_checked: record.last_checked.map(|at| at.0),
            join_followed_at: record.join_followed_at.map(|at| at.0),
            bbb_create_answer: record
                .bbb_create_answer
                .as_deref()
                .map(|text| parse_json(text, "bbb_create_answer"))
                .transpose()?,
            created: record.created.0,
            updated: record.updated.0,
        })
    }
}

/// The rendezvous of a `meetings` row of either backend.
pub(super) fn meeting_of<'r, R: sqlx::Row>(row: &'r R) -> Result<Meeting, StoreError>
where
    MeetingRecord: sqlx::FromRow<'r, R>,
{
    <MeetingRecord as sqlx::FromRow<'r, R>>::from_row(row).map_err(StoreError::from).and_then(Meeting::try_from)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|err| corrupt(column, err))
}

fn corrupt(column: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column {column}: {error}"))
}
