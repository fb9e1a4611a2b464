//! Store operations whose statement and binds are the same on both backends, written once over
//! sqlx's generic pool: each backend's `Store` method delegates here.

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::record::{ReadyRecordingRecord, Timestamp};
use super::{statements, ReadyRecording, StoreError};
use crate::domain::Guid;

/// Notes that BBB announced `record_id` of the rendezvous `guid`: true when it is new.
pub(super) async fn record_recording_ready<DB>(
    pool: &Pool<DB>,
    guid: Guid,
    record_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Timestamp: Encode<'q, DB> + Type<DB>,
{
    let inserted = sqlx::query(statements::RECORD_RECORDING_READY)
        .bind(guid.to_string())
        .bind(record_id.to_owned())
        .bind(Timestamp(at))
        .fetch_optional(pool)
        .await?;
    Ok(inserted.is_some())
}

/// The recordings BBB announced for the rendezvous `guid`, first announced first.
pub(super) async fn ready_recordings<DB>(pool: &Pool<DB>, guid: Guid) -> Result<Vec<ReadyRecording>, StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'r> ReadyRecordingRecord: FromRow<'r, DB::Row>,
{
    let records = sqlx::query_as::<DB, ReadyRecordingRecord>(statements::READY_RECORDINGS)
        .bind(guid.to_string())
        .fetch_all(pool)
        .await?;
    Ok(records.into_iter().map(ReadyRecording::from).collect())
}
