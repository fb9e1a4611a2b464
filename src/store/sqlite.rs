//! The SQLite backend: the embedded default, one instance, zero setup. Timestamps are integer
//! microseconds (UTC). Statements are kept in the same order as in `postgres.rs`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqliteSynchronous};

use super::record::{
    bind_new_meeting, meeting_of, stored_batch_of, stored_check_of, NewMeetingJson, Timestamp, NEW_MEETING_COLUMNS,
};
use super::{
    pending_of, pool_options, Claim, GetOrCreate, PendingMigration, ReadyRecording, Store, StoreError, StoreOptions,
    StoredBatch, StoredCheck,
};
use super::{shared, statements};
use crate::domain::{Guid, Meeting, NewMeeting};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a writer waits for another one before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const MEETING_COLUMNS: &str = "guid, slug, idempotent_id, name, create_parameters, join_user_parameters, \
    join_agent_parameters, user_full_name, agent_full_name, metadata, agent_key, user_key, attendee_pw, moderator_pw, \
    running, last_time_running, last_checked, join_followed_at, bbb_create_answer, created, updated";

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(database_url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let unavailable = |err: sqlx::Error| StoreError::Unavailable(format!("{database_url}: {err}"));
        let connect_options = SqliteConnectOptions::from_str(database_url).map_err(unavailable)?;
        let path = connect_options.get_filename();
        if options.create_if_missing {
            create_private_file(path).map_err(|err| StoreError::Unavailable(format!("{database_url}: {err}")))?;
        } else if !is_in_memory(path) && !path.exists() {
            return Err(StoreError::Unavailable(format!(
                "{database_url}: no database file at {} (`bbb-connector migrate` creates it)",
                path.display()
            )));
        }
        let connect_options = connect_options
            .create_if_missing(options.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = pool_options(options).connect_with(connect_options).await.map_err(unavailable)?;
        Ok(Self { pool })
    }

    async fn select_meeting(&self, condition: &str, binds: &[&str]) -> Result<Option<Meeting>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        select_meeting(&mut connection, condition, binds).await
    }
}

/// Creates the database file readable by the service's user only (0600) before SQLite does:
/// it holds join keys and BBB passwords, and SQLite gives its `-wal` and `-shm` files the mode
/// of the database file. An existing file is left as its owner set it.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    if is_in_memory(path) || path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

fn is_in_memory(path: &std::path::Path) -> bool {
    path.as_os_str().is_empty() || path.as_os_str() == ":memory:"
}

async fn select_meeting(
    connection: &mut SqliteConnection,
    condition: &str,
    binds: &[&str],
) -> Result<Option<Meeting>, StoreError> {
    let sql = format!("select {MEETING_COLUMNS} from meetings where {condition}");
    let mut query = sqlx::query(&sql);
    for value in binds {
        query = query.bind(*value);
    }
    let row = query.fetch_optional(connection).await?;
    row.as_ref().map(meeting_of).transpose()
}

/// Inserts the rendezvous; None when (slug, idempotent_id) exists already.
async fn insert_meeting(connection: &mut SqliteConnection, new: &NewMeeting) -> Result<Option<Meeting>, StoreError> {
    let json = NewMeetingJson::of(new);
    let sql = format!(
        "insert into meetings ({NEW_MEETING_COLUMNS}) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
         on conflict (slug, idempotent_id) do nothing returning {MEETING_COLUMNS}"
    );
    let row = bind_new_meeting(sqlx::query(&sql), new, &json).fetch_optional(connection).await?;
    row.as_ref().map(meeting_of).transpose()
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(|err| StoreError::Unavailable(format!("migration failed: {err}")))
    }

    /// A replay reads only, so that replays do not queue behind SQLite's single writer; a new
    /// rendezvous is inserted, and read back if a concurrent insert won.
    async fn get_or_create_meeting(&self, new: &NewMeeting) -> Result<GetOrCreate, StoreError> {
        let by_idempotent_id = "slug = $1 and idempotent_id = $2";
        let keys = [new.slug.as_str(), new.request.idempotent_id.as_str()];
        let mut connection = self.pool.acquire().await?;
        if let Some(meeting) = select_meeting(&mut connection, by_idempotent_id, &keys).await? {
            return Ok(GetOrCreate { meeting, created: false });
        }
        if let Some(meeting) = insert_meeting(&mut connection, new).await? {
            return Ok(GetOrCreate { meeting, created: true });
        }
        let meeting = select_meeting(&mut connection, by_idempotent_id, &keys)
            .await?
            .ok_or_else(|| StoreError::Conflict("rendezvous vanished right after its creation".to_owned()))?;
        Ok(GetOrCreate { meeting, created: false })
    }

    async fn find_meeting(&self, guid: Guid) -> Result<Option<Meeting>, StoreError> {
        self.select_meeting("guid = $1", &[&guid.to_string()]).await
    }

    async fn record_create_answer(
        &self,
        guid: Guid,
        answer: &Value,
        at: DateTime<Utc>,
        join_followed_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update meetings set bbb_create_answer = $2, updated = $3, \
             join_followed_at = coalesce($4, join_followed_at) where guid = $1",
        )
        .bind(guid.to_string())
        .bind(answer.to_string())
        .bind(Timestamp(at))
        .bind(join_followed_at.map(Timestamp))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_running_state(
        &self,
        guid: Guid,
        running: bool,
        checked_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(statements::RECORD_RUNNING_STATE)
            .bind(guid.to_string())
            .bind(running)
            .bind(Timestamp(checked_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn claim_running_check(
        &self,
        guid: Guid,
        at: DateTime<Utc>,
        cutoff: DateTime<Utc>,
    ) -> Result<Claim<Option<StoredCheck>>, StoreError> {
        let claimed = sqlx::query(statements::CLAIM_RUNNING_CHECK)
            .bind(guid.to_string())
            .bind(Timestamp(at))
            .bind(Timestamp(cutoff))
            .execute(&self.pool)
            .await?
            .rows_affected();
        if claimed == 1 {
            return Ok(Claim::Claimed);
        }
        Ok(Claim::Taken(self.stored_running_check(guid).await?))
    }

    async fn stored_running_check(&self, guid: Guid) -> Result<Option<StoredCheck>, StoreError> {
        let row =
            sqlx::query(statements::STORED_RUNNING_CHECK).bind(guid.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(stored_check_of).transpose()
    }

    async fn record_running_check(
        &self,
        guid: Guid,
        claimed_at: DateTime<Utc>,
        checked_at: DateTime<Utc>,
        running: Option<bool>,
    ) -> Result<(), StoreError> {
        sqlx::query(statements::RECORD_RUNNING_CHECK)
            .bind(guid.to_string())
            .bind(Timestamp(claimed_at))
            .bind(Timestamp(checked_at))
            .bind(running)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn count_checked_since(&self, slug: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(statements::COUNT_CHECKED_SINCE)
            .bind(slug)
            .bind(Timestamp(since))
            .fetch_one(&self.pool)
            .await?;
        Ok(count.unsigned_abs())
    }

    async fn claim_batch_check(
        &self,
        slug: &str,
        at: DateTime<Utc>,
        cutoff: DateTime<Utc>,
    ) -> Result<Claim<Option<StoredBatch>>, StoreError> {
        let claimed = sqlx::query(statements::CLAIM_BATCH_CHECK)
            .bind(slug)
            .bind(Timestamp(at))
            .bind(Timestamp(cutoff))
            .execute(&self.pool)
            .await?
            .rows_affected();
        if claimed == 1 {
            return Ok(Claim::Claimed);
        }
        Ok(Claim::Taken(self.stored_batch_check(slug).await?))
    }

    async fn stored_batch_check(&self, slug: &str) -> Result<Option<StoredBatch>, StoreError> {
        let row = sqlx::query(statements::STORED_BATCH_CHECK).bind(slug).fetch_optional(&self.pool).await?;
        row.as_ref().map(stored_batch_of).transpose()
    }

    async fn record_batch_check(
        &self,
        slug: &str,
        claimed_at: DateTime<Utc>,
        meetings: Option<&BTreeMap<String, bool>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "update running_batches set answered = true, failed = $3 is null, \
             meetings = coalesce($3, meetings), lists_ours = case when $3 is null then lists_ours else \
             exists (select 1 from meetings where slug = $1 and join_followed_at is not null \
             and guid in (select key from json_each($3))) end where slug = $1 and claimed_at = $2",
        )
        .bind(slug)
        .bind(Timestamp(claimed_at))
        .bind(meetings.map(|listed| serde_json::to_string(listed).unwrap_or_else(|_| "{}".to_owned())))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_recording_ready(&self, guid: Guid, record_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        shared::record_recording_ready(&self.pool, guid, record_id, at).await
    }

    async fn ready_recordings(&self, guid: Guid) -> Result<Vec<ReadyRecording>, StoreError> {
        shared::ready_recordings(&self.pool, guid).await
    }

    async fn remember_nonce(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        sqlx::query(statements::FORGET_EXPIRED_NONCES).bind(Timestamp(now)).execute(&self.pool).await?;
        let inserted = sqlx::query(statements::REMEMBER_NONCE)
            .bind(nonce)
            .bind(Timestamp(expires_at))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    async fn count_inactive(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar(statements::COUNT_INACTIVE).bind(Timestamp(cutoff)).fetch_one(&self.pool).await?;
        Ok(count.unsigned_abs())
    }

    async fn purge_inactive(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query(statements::PURGE_INACTIVE).bind(Timestamp(cutoff)).execute(&self.pool).await?;
        Ok(deleted.rows_affected())
    }

    async fn secret_key(&self, candidate: &str) -> Result<String, StoreError> {
        sqlx::query(statements::KEEP_SECRET_KEY).bind(candidate).execute(&self.pool).await?;
        let stored: String = sqlx::query_scalar(statements::READ_SECRET_KEY).fetch_one(&self.pool).await?;
        Ok(stored)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(statements::PING).execute(&self.pool).await?;
        Ok(())
    }

    async fn pending_migrations(&self) -> Result<Vec<PendingMigration>, StoreError> {
        let tracked: bool = sqlx::query_scalar(
            "select exists (select 1 from sqlite_master where type = 'table' and name = '_sqlx_migrations')",
        )
        .fetch_one(&self.pool)
        .await?;
        let applied: Vec<i64> = if tracked {
            sqlx::query_scalar(statements::APPLIED_MIGRATIONS).fetch_all(&self.pool).await?
        } else {
            Vec::new()
        };
        Ok(pending_of(&MIGRATOR, &applied))
    }
}
