//! The database handle: two concrete pools behind one enum. One SQL string with `$1`
//! placeholders serves both backends through [`on_db!`] and [`on_tx!`], which expand the same
//! body once per backend; per-backend arms are written out only where the dialects differ.

use crate::error::{AppError, AppResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// The longest a request waits for a connection: when the database is down or restarting
/// the request fails with 503 ([`crate::error::Fault`]) well before the request timeout,
/// instead of hanging.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's page cache for a whole pool unless configured (`database_cache_mib`).
pub const DEFAULT_CACHE_MIB: u32 = 64;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on either backend. Every write is one of these, and its audit record is
/// written inside it.
pub enum Tx {
    /// With the process's write turn for the file: SQLite has one writer, and writers that
    /// queue here wait in order instead of sleeping in SQLite's busy handler.
    Sqlite(
        sqlx::Transaction<'static, Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// One write turn per SQLite file in this process.
fn write_turn(pool: &SqlitePool) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static TURNS: OnceLock<Mutex<HashMap<std::path::PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        OnceLock::new();
    let file = pool.connect_options().get_filename().to_path_buf();
    TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(file)
        .or_default()
        .clone()
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the concrete connection of a transaction.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t, _) => {
                let $conn = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). SQLite gets WAL, a busy timeout,
    /// foreign keys and `synchronous=NORMAL`; its file's folder is created if missing.
    pub async fn connect(url: &str, max_connections: u32) -> AppResult<Self> {
        Self::connect_sized(url, max_connections, DEFAULT_CACHE_MIB).await
    }

    /// As [`Db::connect`], with SQLite's page cache bounded to `cache_mib` for the whole pool
    /// (each connection keeps its own cache: a share of it, between 2 and 16 MiB).
    pub async fn connect_sized(url: &str, max_connections: u32, cache_mib: u32) -> AppResult<Self> {
        if url.starts_with("sqlite:") {
            let per_connection_kib = (u64::from(cache_mib) * 1024
                / u64::from(max_connections.max(2)))
            .clamp(2048, 16384);
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Negative: a size in KiB rather than in pages.
                .pragma("cache_size", format!("-{per_connection_kib}"))
                .pragma("temp_store", "memory");
            if let Some(parent) = opts.get_filename().parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(AppError::internal)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(ACQUIRE_TIMEOUT)
                // A SQLite connection is a file handle in this process: nothing at the other
                // end can hang up, so the ping sqlx makes before handing out an idle connection
                // (a round trip through the connection's worker thread, as costly as the query
                // itself) only adds work. PostgreSQL keeps it: a restarted server leaves dead
                // connections in the pool.
                .test_before_acquire(false)
                // A transaction that failed as the disk filled may be rolled back by SQLite
                // itself; the driver then still counts it open and every later BEGIN on the
                // connection fails. Flush the pending rollback, and close a connection that is
                // still in a transaction instead of handing it out again.
                // Only a connection released inside a transaction can be in that state: the
                // others (every plain query) go back without a round trip.
                .after_release(|conn, _| {
                    Box::pin(async move {
                        use sqlx::Connection;
                        if !conn.is_in_transaction() {
                            return Ok(true);
                        }
                        conn.ping().await?;
                        Ok(!conn.is_in_transaction())
                    })
                })
                .connect_with(opts)
                .await?;
            Ok(Self::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(opts)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(AppError::Internal(format!(
                "unsupported database URL (use sqlite:// or postgres://): {}",
                redact_url(url)
            )))
        }
    }

    /// Begins a transaction. On SQLite the process's writers take turns (in order, before
    /// they hold a connection) and each begins with `BEGIN IMMEDIATE`, so they never fail with
    /// "database is locked" when they upgrade; other processes on the same file still meet the
    /// busy timeout. Never begin a second transaction while holding one.
    pub async fn begin(&self) -> AppResult<Tx> {
        Ok(match self {
            Self::Sqlite(p) => {
                let turn = write_turn(p).lock_owned().await;
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Self::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Connections in use and idle, for the metrics endpoint.
    pub fn pool_stats(&self) -> (u32, usize) {
        on_db!(self, p => (p.size(), p.num_idle()))
    }

    pub async fn ping(&self) -> AppResult<()> {
        on_db!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(self, p => p.close().await)
    }

    /// After a bulk write: on PostgreSQL, analyzes those of `tables` whose planner statistics
    /// are stale by autovacuum's own default rule (more than 50 rows plus a tenth of the table
    /// changed since the last analyze), without waiting for autovacuum, which may lag a
    /// minute behind, or be off. Without statistics PostgreSQL estimates an `IN` list of 500
    /// numbers to match a sixth of the table and reads all of it. Returns the tables analyzed.
    /// SQLite's planner needs no statistics for these lookups.
    pub async fn refresh_statistics(&self, tables: &[&'static str]) -> AppResult<Vec<String>> {
        let Self::Postgres(p) = self else {
            return Ok(Vec::new());
        };
        let names: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
        let stale: Vec<(String,)> = sqlx::query_as(
            "SELECT s.relname::text FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
             WHERE s.relname = ANY($1) AND s.n_mod_since_analyze > 50 + 0.1 * GREATEST(c.reltuples, 0)",
        )
        .bind(&names)
        .fetch_all(p)
        .await?;
        let mut done = Vec::new();
        for (table,) in stale {
            // Only names from `tables`, which are the caller's constants.
            if let Some(t) = tables.iter().find(|t| **t == table) {
                sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {t}")))
                    .execute(p)
                    .await?;
                done.push(table);
            }
        }
        Ok(done)
    }
}

impl Tx {
    pub async fn commit(self) -> AppResult<()> {
        match self {
            Self::Sqlite(t, _turn) => t.commit().await?,
            Self::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// A database URL with any password replaced, safe to log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    /// Rows written make `persons` stale on PostgreSQL (once the writer's counts reach the
    /// shared statistics, which may take a moment); analyzed, it is fresh again. SQLite: never.
    #[tokio::test]
    async fn stale_statistics_are_refreshed() {
        let tdb = crate::testing::test_db(&[&crate::schema::SCHEMA])
            .await
            .unwrap();
        let db = &tdb.db;
        let org = crate::NodeId::new();
        let mut tx = db.begin().await.unwrap();
        crate::on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO org_nodes (id, kind, name, active, created_at, updated_at) VALUES ($1, 'school', 'S', TRUE, $2, $2)"
        ).bind(org).bind(chrono::Utc::now()).execute(c).await.map(|_| ())).unwrap();
        for i in 0..200 {
            crate::on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO persons (id, org_id, name, gender, active, created_at, updated_at) VALUES ($1, $2, $3, '1', TRUE, $4, $4)"
            ).bind(crate::PersonId::new()).bind(org).bind(format!("P{i}")).bind(chrono::Utc::now())
            .execute(c).await.map(|_| ())).unwrap();
        }
        tx.commit().await.unwrap();
        let tables = ["persons", "accounts"];
        let mut analyzed = Vec::new();
        if db.backend() == "postgres" {
            for _ in 0..100 {
                analyzed = db.refresh_statistics(&tables).await.unwrap();
                if !analyzed.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            assert_eq!(analyzed, ["persons"], "only the table written to is stale");
        }
        assert!(db.refresh_statistics(&tables).await.unwrap().is_empty());
        tdb.drop_db().await;
    }
}
