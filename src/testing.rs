//! Test support shared by the unit and integration tests: throw-away databases on SQLite and
//! PostgreSQL. PostgreSQL tests use `TEST_DATABASE_URL` (an admin URL, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and are skipped when it is unreachable,
//! unless `CI=true`, where that is a failure.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::Executor;

use crate::store::{self, Store, StoreOptions};

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which backend a throw-away database uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database created for one test and removed when dropped.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    /// A fresh database of `backend`, or None when PostgreSQL is not available outside CI.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A new SQLite file in the temporary directory (created at first connection).
    pub fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("bbb-connector-test-{}.db", uuid::Uuid::new_v4().simple()));
        Self { backend: Backend::Sqlite, url: format!("sqlite://{}", path.display()), cleanup: Cleanup::File(path) }
    }

    /// A new PostgreSQL database with a unique name.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let admin = match PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(3))
            .connect(&admin_url)
            .await
        {
            Ok(pool) => pool,
            Err(err) if postgres_required() => panic!(
                "PostgreSQL is required (CI=true) but unreachable at {}: {err}",
                store::redact_database_url(&admin_url)
            ),
            Err(err) => {
                say_skipped(&format!(
                    "{} unreachable ({err}); set TEST_DATABASE_URL",
                    store::redact_database_url(&admin_url)
                ));
                return None;
            }
        };
        let name = format!("bbb_test_{}", uuid::Uuid::new_v4().simple());
        admin.execute(format!("create database {name}").as_str()).await.expect("create the test database");
        admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Some(Self {
            backend: Backend::Postgres,
            url: url.to_string(),
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        })
    }

    /// A new, migrated connection pool on this database (call twice for two "instances").
    pub async fn store(&self) -> Arc<dyn Store> {
        let store = store::connect(&self.url, &StoreOptions::default()).await.expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

/// Says that the running test was skipped, where `cargo test` shows it: straight to the
/// process's standard error, past libtest's capture of `eprintln!` (which would hide it unless
/// the test failed).
fn say_skipped(why: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let line = format!("SKIPPED {test}: PostgreSQL test not run, {why}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => drop_postgres_database(admin_url.clone(), name.clone()),
        }
    }
}

/// Drops the database from a thread of its own, since Drop may run inside a runtime.
fn drop_postgres_database(admin_url: String, name: String) {
    let dropper = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        runtime.block_on(async {
            let admin = PgPoolOptions::new().max_connections(1).connect(&admin_url).await.ok()?;
            admin.execute(format!("drop database if exists {name} with (force)").as_str()).await.ok()?;
            admin.close().await;
            Some(())
        })
    });
    let _ = dropper.join();
}
