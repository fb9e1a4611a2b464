//! The statements both backends send as they are (the bind types differ, the text does not).
//! Those whose text differs (JSON casts, the get-or-create) stay with their backend.

/// `$1` guid, `$2` running, `$3` checked at: `last_time_running` moves only when running, and
/// `updated` only when the state changed.
pub const RECORD_RUNNING_STATE: &str = "update meetings set running = $2, last_checked = $3, \
    last_time_running = case when $2 then $3 else last_time_running end, \
    updated = case when running <> $2 then $3 else updated end where guid = $1";
pub const FORGET_EXPIRED_NONCES: &str = "delete from nonces where expires_at < $1";
pub const REMEMBER_NONCE: &str =
    "insert into nonces (nonce, expires_at) values ($1, $2) on conflict (nonce) do nothing";
/// `$1` cutoff: rendezvous whose last activity (the latest of created, updated and
/// last_time_running) is before it.
macro_rules! inactive_before_cutoff {
    () => {
        "created < $1 and updated < $1 and (last_time_running is null or last_time_running < $1)"
    };
}
pub const COUNT_INACTIVE: &str = concat!("select count(*) from meetings where ", inactive_before_cutoff!());
pub const PURGE_INACTIVE: &str = concat!("delete from meetings where ", inactive_before_cutoff!());
/// `$1` guid, `$2` record id, `$3` notified at: a repeat keeps the first time, and a rendezvous
/// deleted meanwhile gets no row (rather than a foreign key error).
pub const RECORD_RECORDING_READY: &str = "insert into recordings_ready (guid, record_id, notified_at) \
    select $1, $2, $3 where exists (select 1 from meetings where guid = $1) \
    on conflict (guid, record_id) do nothing returning guid";
pub const READY_RECORDINGS: &str =
    "select record_id, notified_at from recordings_ready where guid = $1 order by notified_at, record_id";
pub const KEEP_SECRET_KEY: &str =
    "insert into settings (name, value) values ('secret_key', $1) on conflict (name) do nothing";
pub const READ_SECRET_KEY: &str = "select value from settings where name = 'secret_key'";
pub const PING: &str = "select 1";
/// The versions applied by sqlx's migrator, in its own table.
pub const APPLIED_MIGRATIONS: &str = "select version from _sqlx_migrations where success";
/// `$1` guid, `$2` now, `$3` cutoff: claims the rendezvous' is-running check unless one was
/// claimed after the cutoff; the outcome is unknown (null) until it is stored.
pub const CLAIM_RUNNING_CHECK: &str = "update meetings set check_claimed_at = $2, check_failed = null \
    where guid = $1 and (check_claimed_at is null or check_claimed_at <= $3)";
pub const STORED_RUNNING_CHECK: &str = "select running, check_claimed_at, check_failed from meetings where guid = $1";
/// `$1` guid, `$2` claimed at, `$3` checked at, `$4` running (null: BBB could not be asked).
/// The check's outcome and time are written only while it is the latest claimed; the running
/// state as `RECORD_RUNNING_STATE` writes it.
pub const RECORD_RUNNING_CHECK: &str = "update meetings set \
    check_failed = case when check_claimed_at = $2 then $4 is null else check_failed end, \
    check_claimed_at = case when check_claimed_at = $2 then $3 else check_claimed_at end, \
    running = coalesce($4, running), \
    last_checked = case when $4 is null then last_checked else $3 end, \
    last_time_running = case when $4 then $3 else last_time_running end, \
    updated = case when $4 is not null and running <> $4 then $3 else updated end where guid = $1";
/// `$1` slug, `$2` since.
pub const COUNT_CHECKED_SINCE: &str =
    "select count(*) from meetings where slug = $1 and join_followed_at is not null and check_claimed_at > $2";
/// `$1` slug, `$2` now, `$3` cutoff: claims the connector's getMeetings unless one was claimed
/// after the cutoff.
pub const CLAIM_BATCH_CHECK: &str = "insert into running_batches (slug, claimed_at) values ($1, $2) \
    on conflict (slug) do update set claimed_at = excluded.claimed_at, answered = false \
    where running_batches.claimed_at <= $3";
pub const STORED_BATCH_CHECK: &str =
    "select claimed_at, answered, failed, meetings, lists_ours from running_batches where slug = $1";
