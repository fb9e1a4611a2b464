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
