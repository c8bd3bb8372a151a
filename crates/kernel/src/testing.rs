//! Test databases: SQLite in a temporary file by default; with `TEST_DATABASE_URL` set to a
//! PostgreSQL URL, a fresh database per test on that server, dropped when the guard drops.

use crate::Db;
use crate::error::{AppError, AppResult};
use std::path::PathBuf;

pub struct TestDb {
    pub db: Db,
    pub url: String,
    /// Taken by `drop_db`; still here when the guard drops (a test that failed or forgot to
    /// stop), `Drop` removes the database all the same.
    cleanup: Option<Cleanup>,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

/// A new, migrated, empty database for one test.
pub async fn test_db() -> AppResult<TestDb> {
    fresh_db(std::env::var("TEST_DATABASE_URL").ok(), "jy_test").await
}

/// A new, migrated, empty database: on the PostgreSQL server of `admin_url` if given, else a
/// SQLite file in the temporary folder.
pub async fn fresh_db(admin_url: Option<String>, prefix: &str) -> AppResult<TestDb> {
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    match admin_url {
        Some(admin_url) if admin_url.starts_with("postgres") => {
            let admin = Db::connect(&admin_url, 2).await?;
            if let Db::Postgres(p) = &admin {
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(p)
                    .await?;
            }
            admin.close().await;
            let url = replace_db_name(&admin_url, &name)?;
            let db = Db::connect(&url, 8).await?;
            db.migrate().await?;
            Ok(TestDb {
                db,
                url,
                cleanup: Some(Cleanup::Database { admin_url, name }),
            })
        }
        _ => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let url = format!("sqlite://{}", path.display());
            let db = Db::connect(&url, 8).await?;
            db.migrate().await?;
            Ok(TestDb {
                db,
                url,
                cleanup: Some(Cleanup::File(path)),
            })
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> AppResult<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let slash = base
        .rfind('/')
        .filter(|&i| i > base.find("://").map_or(0, |s| s + 2));
    let mut out = match slash {
        Some(i) => format!("{}/{name}", &base[..i]),
        None => return Err(AppError::Internal(format!("no database name in {base}"))),
    };
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

impl TestDb {
    /// Closes the pool and removes the database.
    pub async fn drop_db(mut self) {
        self.db.close().await;
        if let Some(c) = self.cleanup.take() {
            c.run().await;
        }
    }
}

impl Cleanup {
    async fn run(self) {
        match self {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(Db::Postgres(p)) = Db::connect(&admin_url, 2).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&p)
                    .await;
                    p.close().await;
                }
            }
        }
    }
}

/// A test that panicked (or never called `drop_db`) still leaves nothing behind: the database
/// is removed from a thread of its own, since the test's runtime may be gone or busy.
impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        let done = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(cleanup.run());
            }
        });
        let _ = done.join();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::replace_db_name("postgres://postgres@127.0.0.1:5432/test", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::replace_db_name("postgres://u@h/test?sslmode=disable", "y").unwrap(),
            "postgres://u@h/y?sslmode=disable"
        );
    }
}
