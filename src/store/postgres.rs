//! The PostgreSQL backend: for production and for several instances sharing one database.
//! Statements are kept in the same order as in `sqlite.rs`.

use std::collections::BTreeMap;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use sqlx::{Connection, Row};

use super::record::{
    bind_new_meeting, meeting_of, stored_batch_of, stored_check_of, NewMeetingJson, NEW_MEETING_COLUMNS,
};
use super::{
    pending_of, pool_options, redact_database_url, Claim, GetOrCreate, PendingMigration, ReadyRecording, Store,
    StoreError, StoreOptions, StoredBatch, StoredCheck,
};
use super::{shared, statements};
use crate::domain::{Guid, Meeting, NewMeeting};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

const MEETING_COLUMNS: &str = "guid, slug, idempotent_id, name, create_parameters::text as create_parameters, \
    join_user_parameters::text as join_user_parameters, join_agent_parameters::text as join_agent_parameters, \
    user_full_name, agent_full_name, metadata::text as metadata, agent_key, user_key, attendee_pw, moderator_pw, \
    running, last_time_running, last_checked, join_followed_at, bbb_create_answer::text as bbb_create_answer, created, updated";

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(database_url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let unavailable =
            |err: sqlx::Error| StoreError::Unavailable(format!("{}: {err}", redact_database_url(database_url)));
        let statement_timeout = format!("{}ms", options.statement_timeout.as_millis());
        let connect_options = PgConnectOptions::from_str(database_url)
            .map_err(unavailable)?
            .options([("statement_timeout", statement_timeout.as_str())]);
        // One direct connection first: a pool would hide "connection refused" behind a timeout.
        PgConnection::connect_with(&connect_options).await.map_err(unavailable)?.close().await.map_err(unavailable)?;
        let pool = pool_options(options).connect_lazy_with(connect_options);
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn select_meeting(&self, condition: &str, binds: &[&str]) -> Result<Option<Meeting>, StoreError> {
        let sql = format!("select {MEETING_COLUMNS} from meetings where {condition}");
        let mut query = sqlx::query(&sql);
        for value in binds {
            query = query.bind(*value);
        }
        let row = query.fetch_optional(&self.pool).await?;
        row.as_ref().map(meeting_of).transpose()
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn publish_change(&self, payload: &str) -> Result<(), StoreError> {
        super::changes::publish(&self.pool, payload).await
    }

    async fn listen_changes(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<String>>, StoreError> {
        super::changes::listen(&self.pool).await.map(Some)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await.map_err(|err| StoreError::Unavailable(format!("migration failed: {err}")))
    }

    /// One statement: the insert, and the existing row when the insert met one. The select
    /// reads the statement's snapshot, so a row committed by a concurrent insert meanwhile is
    /// missed by both halves; a plain select then finds it.
    async fn get_or_create_meeting(&self, new: &NewMeeting) -> Result<GetOrCreate, StoreError> {
        let json = NewMeetingJson::of(new);
        let sql = format!(
            "with inserted as (insert into meetings ({NEW_MEETING_COLUMNS}) \
             values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10::jsonb, $11, $12, $13, $14, $15, $15) \
             on conflict (slug, idempotent_id) do nothing returning {MEETING_COLUMNS}, true as inserted) \
             select * from inserted union all \
             select {MEETING_COLUMNS}, false as inserted from meetings where slug = $2 and idempotent_id = $3"
        );
        let row = bind_new_meeting(sqlx::query(&sql), new, &json).fetch_optional(&self.pool).await?;
        if let Some(row) = row {
            let meeting = meeting_of(&row)?;
            return Ok(GetOrCreate { meeting, created: row.try_get("inserted")? });
        }
        let meeting = self
            .select_meeting("slug = $1 and idempotent_id = $2", &[&new.slug, &new.request.idempotent_id])
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
            "update meetings set bbb_create_answer = $2::jsonb, updated = $3, \
             join_followed_at = coalesce($4, join_followed_at) where guid = $1",
        )
        .bind(guid.to_string())
        .bind(answer.to_string())
        .bind(at)
        .bind(join_followed_at)
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
            .bind(checked_at)
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
            .bind(at)
            .bind(cutoff)
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
            .bind(claimed_at)
            .bind(checked_at)
            .bind(running)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn count_checked_since(&self, slug: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar(statements::COUNT_CHECKED_SINCE).bind(slug).bind(since).fetch_one(&self.pool).await?;
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
            .bind(at)
            .bind(cutoff)
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
            "update running_batches set answered = true, failed = $3::text is null, \
             meetings = coalesce($3, meetings), lists_ours = case when $3::text is null then lists_ours else \
             exists (select 1 from meetings where slug = $1 and join_followed_at is not null \
             and guid in (select jsonb_object_keys($3::jsonb))) end where slug = $1 and claimed_at = $2",
        )
        .bind(slug)
        .bind(claimed_at)
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
        sqlx::query(statements::FORGET_EXPIRED_NONCES).bind(now).execute(&self.pool).await?;
        let inserted = sqlx::query(statements::REMEMBER_NONCE)
            .bind(nonce)
            .bind(expires_at)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }

    async fn count_inactive(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(statements::COUNT_INACTIVE).bind(cutoff).fetch_one(&self.pool).await?;
        Ok(count.unsigned_abs())
    }

    async fn purge_inactive(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query(statements::PURGE_INACTIVE).bind(cutoff).execute(&self.pool).await?;
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
        let tracked: bool =
            sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null").fetch_one(&self.pool).await?;
        let applied: Vec<i64> = if tracked {
            sqlx::query_scalar(statements::APPLIED_MIGRATIONS).fetch_all(&self.pool).await?
        } else {
            Vec::new()
        };
        Ok(pending_of(&MIGRATOR, &applied))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::PING_WHEN_IDLE_FOR;
    use crate::testing::{TestDatabase, DEFAULT_TEST_DATABASE_URL};

    /// What a PostgreSQL restart leaves in the pool: connections the server has closed. (SQLite
    /// has no server to close them.)
    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_replaced_before_use() {
        let Some(db) = TestDatabase::postgres().await else { return };
        let options = StoreOptions { max_connections: 1, ..StoreOptions::default() };
        let store = PostgresStore::connect(&db.url, &options).await.unwrap();
        store.ping().await.unwrap();
        let database = url::Url::parse(&db.url).unwrap().path().trim_start_matches('/').to_owned();
        let admin_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap();

        let terminated: i64 = sqlx::query_scalar(
            "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity where datname = $1) as t",
        )
        .bind(&database)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        tokio::time::sleep(PING_WHEN_IDLE_FOR + Duration::from_millis(200)).await;

        assert_eq!(terminated, 1, "the pool's one connection was cut");
        store.ping().await.expect("the cut connection was replaced before use");
    }
}
