//! Bulk rows for the table-size figure: rendezvous inserted straight into the database.

use anyhow::Context;
use sqlx::Executor;

/// Inserts rendezvous number `from..=to` (guids and keys derived from the number).
pub async fn insert(database_url: &str, from: i64, to: i64) -> anyhow::Result<()> {
    if database_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(database_url).await?;
        let now = chrono::Utc::now().timestamp_micros();
        let sql = format!(
            "with recursive n(i) as (select {from} union all select i + 1 from n where i < {to}) \
             insert into meetings (guid, slug, idempotent_id, name, create_parameters, join_user_parameters, \
             join_agent_parameters, metadata, agent_key, user_key, attendee_pw, moderator_pw, created, updated) \
             select printf('%032x', i), 'bulk', 'bulk-' || i, 'Bulk', '{{}}', '{{}}', '{{}}', '{{}}', \
             printf('%032x', i), printf('%032x', i + 1), 'attendee', 'moderator', {now}, {now} from n"
        );
        pool.execute(sql.as_str()).await.context("bulk insert (SQLite)")?;
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(database_url).await?;
        let sql = format!(
            "insert into meetings (guid, slug, idempotent_id, name, create_parameters, join_user_parameters, \
             join_agent_parameters, metadata, agent_key, user_key, attendee_pw, moderator_pw, created, updated) \
             select md5('guid' || i), 'bulk', 'bulk-' || i, 'Bulk', '{{}}', '{{}}', '{{}}', '{{}}', \
             md5('agent' || i), md5('user' || i), 'attendee', 'moderator', now(), now() \
             from generate_series({from}, {to}) as i"
        );
        pool.execute(sql.as_str()).await.context("bulk insert (PostgreSQL)")?;
        pool.execute("analyze meetings").await?;
        pool.close().await;
    }
    Ok(())
}
