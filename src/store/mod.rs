//! Durable storage: one `Store` trait of business operations (one unit of work each), with a
//! SQLite and a PostgreSQL implementation picked by the URL scheme.

mod changes;
mod checks;
mod postgres;
mod record;
mod shared;
mod sqlite;
mod statements;

#[cfg(test)]
pub mod conformance;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::pool::PoolOptions;
use sqlx::Connection;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::domain::{Guid, Meeting, NewMeeting};

pub use checks::{CheckOutcome, Claim, StoredBatch, StoredCheck};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write.
    #[error("conflicting row: {0}")]
    Conflict(String),
    /// The database could not be reached or did not answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
    /// A stored row could not be decoded: our bug, never the caller's.
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// The database refused a value it cannot store (SQLSTATE class 22, e.g. U+0000 in text).
    #[error("the database refused a value: {0}")]
    InvalidData(String),
}

impl StoreError {
    /// A copy for the callers that shared one computation (the error is not `Clone`).
    pub fn shared_copy(&self) -> Self {
        match self {
            Self::Conflict(message) => Self::Conflict(message.clone()),
            Self::Corrupt(message) => Self::Corrupt(message.clone()),
            Self::InvalidData(message) => Self::InvalidData(message.clone()),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// SQLSTATE class 22 is "data exception": the value, not the database, is at fault.
const DATA_EXCEPTION_CLASS: &str = "22";

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict(db.message().to_owned()),
            sqlx::Error::Database(db) if db.code().is_some_and(|code| code.starts_with(DATA_EXCEPTION_CLASS)) => {
                Self::InvalidData(db.message().to_owned())
            }
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => Self::Corrupt(error.to_string()),
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable(error.to_string())
            }
            _ => Self::Db(error),
        }
    }
}

/// What a get-or-create found.
#[derive(Debug, Clone)]
pub struct GetOrCreate {
    pub meeting: Meeting,
    /// True when this call inserted the row.
    pub created: bool,
}

/// A recording BBB said is ready, and when it first said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyRecording {
    pub record_id: String,
    pub notified_at: DateTime<Utc>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies the pending migrations of this backend.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Inserts the rendezvous unless (slug, idempotent_id) exists; returns the stored row.
    /// Race-free: concurrent callers, on any instance, all get the same row.
    async fn get_or_create_meeting(&self, new: &NewMeeting) -> Result<GetOrCreate, StoreError>;

    async fn find_meeting(&self, guid: Guid) -> Result<Option<Meeting>, StoreError>;

    /// Stores BBB's last `create` answer (the `bbb_meeting_info` object) at `at`; with
    /// `join_followed_at`, also notes that a join link was followed then (one write per join).
    async fn record_create_answer(
        &self,
        guid: Guid,
        answer: &Value,
        at: DateTime<Utc>,
        join_followed_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Stores what BBB said of the meeting at `checked_at`; `last_time_running` moves only
    /// when it is running.
    async fn record_running_state(
        &self,
        guid: Guid,
        running: bool,
        checked_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Claims the is-running check of `guid` at `at` unless one was claimed after `cutoff` (a
    /// conditional update, so that one instance of those sharing the database asks BBB); when
    /// taken, what the latest check stored.
    async fn claim_running_check(
        &self,
        guid: Guid,
        at: DateTime<Utc>,
        cutoff: DateTime<Utc>,
    ) -> Result<Claim<Option<StoredCheck>>, StoreError>;

    /// What the latest is-running check of `guid` stored.
    async fn stored_running_check(&self, guid: Guid) -> Result<Option<StoredCheck>, StoreError>;

    /// Stores the answer of the check claimed at `claimed_at`, given at `checked_at` (the time
    /// of the getMeetings that answered it, else the claim's): `running`, or None when BBB could
    /// not be asked. The running state is stored as `record_running_state` does.
    async fn record_running_check(
        &self,
        guid: Guid,
        claimed_at: DateTime<Utc>,
        checked_at: DateTime<Utc>,
        running: Option<bool>,
    ) -> Result<(), StoreError>;

    /// How many rendezvous of `slug` whose join link was followed had a check claimed after
    /// `since`.
    async fn count_checked_since(&self, slug: &str, since: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Claims the getMeetings of connector `slug` at `at` unless one was claimed after
    /// `cutoff`; when taken, what the latest one stored.
    async fn claim_batch_check(
        &self,
        slug: &str,
        at: DateTime<Utc>,
        cutoff: DateTime<Utc>,
    ) -> Result<Claim<Option<StoredBatch>>, StoreError>;

    /// What the latest getMeetings of connector `slug` stored.
    async fn stored_batch_check(&self, slug: &str) -> Result<Option<StoredBatch>, StoreError>;

    /// Stores the answer of the getMeetings claimed at `claimed_at`: every meetingID listed
    /// and whether it runs, or None when BBB could not be asked.
    async fn record_batch_check(
        &self,
        slug: &str,
        claimed_at: DateTime<Utc>,
        meetings: Option<&std::collections::BTreeMap<String, bool>>,
    ) -> Result<(), StoreError>;

    /// Notes that BBB said recording `record_id` of the rendezvous is ready, at `at`; a repeat
    /// keeps the first time. True when this call noted it; false for a repeat, or when the
    /// rendezvous does not exist.
    async fn record_recording_ready(&self, guid: Guid, record_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;

    /// The recordings of the rendezvous BBB said are ready, first notified first.
    async fn ready_recordings(&self, guid: Guid) -> Result<Vec<ReadyRecording>, StoreError>;

    /// Remembers a signature nonce until `expires_at`; false when it is already known (a replay).
    /// Forgets the nonces expired at `now`.
    async fn remember_nonce(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Counts the rendezvous whose last activity (the latest of created, updated and
    /// last_time_running) is before `cutoff`.
    async fn count_inactive(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes the rendezvous `count_inactive` counts; returns how many.
    async fn purge_inactive(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Keeps `candidate` as the service secret key unless one is stored; returns the stored one,
    /// so instances starting together agree.
    async fn secret_key(&self, candidate: &str) -> Result<String, StoreError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The migrations of this backend not applied to the database, oldest first; all of them
    /// on a database that has none. Reads only.
    async fn pending_migrations(&self) -> Result<Vec<PendingMigration>, StoreError>;

    /// Tells every instance sharing the database about a change of a rendezvous' live state
    /// (PostgreSQL NOTIFY); nothing to tell on a single-instance backend.
    async fn publish_change(&self, _payload: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// The changes other instances publish, as they come (PostgreSQL LISTEN); `None` on a
    /// single-instance backend.
    async fn listen_changes(&self) -> Result<Option<UnboundedReceiver<String>>, StoreError> {
        Ok(None)
    }
}

/// A migration the database has not had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMigration {
    pub version: i64,
    pub description: String,
}

impl std::fmt::Display for PendingMigration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04} {}", self.version, self.description)
    }
}

/// The up migrations of `migrator` whose version is not in `applied`.
fn pending_of(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<PendingMigration> {
    migrator
        .iter()
        .filter(|migration| migration.migration_type.is_up_migration() && !applied.contains(&migration.version))
        .map(|migration| PendingMigration {
            version: migration.version,
            description: migration.description.to_string(),
        })
        .collect()
}

/// Connection settings that do not come from the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
    /// Whether a missing SQLite file is created (`serve`, `migrate`) or an error (`check`,
    /// `purge`). A PostgreSQL database is never created.
    pub create_if_missing: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            create_if_missing: true,
        }
    }
}

/// A pooled connection idle for longer than this is pinged before use, since the database may
/// have dropped it meanwhile (restart, network cut). Busy connections are not: sqlx's default
/// pings on every acquire, one more round trip for each statement.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// The pool settings both backends share.
fn pool_options<DB: sqlx::Database>(options: &StoreOptions) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|connection: &mut DB::Connection, metadata| {
            Box::pin(async move { Ok(metadata.idle_for < PING_WHEN_IDLE_FOR || connection.ping().await.is_ok()) })
        })
}

/// Opens the backend named by the URL scheme (`sqlite:` or `postgres://`).
pub async fn connect(database_url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if database_url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(database_url, options).await?)
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Arc::new(PostgresStore::connect(database_url, options).await?)
    } else {
        return Err(StoreError::Unavailable(format!("unsupported database URL {}", redact_database_url(database_url))));
    };
    Ok(store)
}

/// The URL with its password replaced, fit for logs and error messages.
pub fn redact_database_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            // set_password only fails for URLs that cannot have one, which this one has.
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => raw.split('@').next_back().map(|rest| format!("…@{rest}")).unwrap_or_default(),
    }
}

/// The current time as the store keeps it (to the microsecond), so that what is written is
/// exactly what is read back.
pub fn now() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

/// Drops sub-microsecond precision, which PostgreSQL does not keep, so that every backend
/// gives back exactly what it was given.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_redacted() {
        assert_eq!(redact_database_url("postgres://app:hunter2@db:5432/bbb"), "postgres://app:***@db:5432/bbb");
        assert_eq!(redact_database_url("postgres://db/bbb"), "postgres://db/bbb");
        assert!(!redact_database_url("postgres://app:hun ter2@db/bbb").contains("hun"));
    }
}
