//! Test databases: SQLite in a temporary file by default; with `TEST_DATABASE_URL` set to a
//! PostgreSQL URL, a fresh database per test on that server, dropped when the guard drops.

use crate::error::{AppError, AppResult};
use crate::{Db, Schema};
use std::collections::BTreeMap;
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

/// A new empty database for one test, with the tables of `schemas` (and what they need).
pub async fn test_db(schemas: &[&Schema]) -> AppResult<TestDb> {
    fresh_db(std::env::var("TEST_DATABASE_URL").ok(), "jy_test", schemas).await
}

/// A new empty database with the tables of `schemas`: on the PostgreSQL server of `admin_url`
/// if given, else a SQLite file in the temporary folder.
pub async fn fresh_db(
    admin_url: Option<String>,
    prefix: &str,
    schemas: &[&Schema],
) -> AppResult<TestDb> {
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
            db.migrate(schemas).await?;
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
            db.migrate(schemas).await?;
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
    /// Closes the pool and leaves the database where it is (a benchmark's `--keep`).
    pub async fn keep(mut self) {
        self.cleanup = None;
        self.db.close().await;
    }

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

/// A module's two catalogues parse, hold the same keys and no empty text, and use no key of
/// another registered catalogue (the kernel's included).
pub fn assert_catalogues_match(c: &crate::i18n::Catalogues) {
    use crate::i18n::parse_catalog;
    let zh = parse_catalog(c.zh_cn);
    let en = parse_catalog(c.en);
    assert!(
        !zh.is_empty(),
        "{}: zh-CN catalogue did not parse or is empty",
        c.module
    );
    let mut only_zh: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
    let mut only_en: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
    only_zh.sort();
    only_en.sort();
    assert!(
        only_zh.is_empty() && only_en.is_empty(),
        "{}: missing in en: {only_zh:?}; missing in zh-CN: {only_en:?}",
        c.module
    );
    for (k, v) in zh.iter().chain(en.iter()) {
        assert!(!v.trim().is_empty(), "{}: empty text for {k}", c.module);
    }
    if !std::ptr::eq(c, &crate::i18n::KERNEL) {
        let kernel = parse_catalog(crate::i18n::KERNEL.zh_cn);
        let mut shared: Vec<_> = zh.keys().filter(|k| kernel.contains_key(*k)).collect();
        shared.sort();
        assert!(
            shared.is_empty(),
            "{}: keys the kernel also defines: {shared:?}",
            c.module
        );
    }
}

/// A crate's two migration folders hold the same files: one version, one description each.
pub fn assert_folders_match(schema: &Schema) {
    let list = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    let lite = list(&schema.sqlite);
    assert!(!lite.is_empty(), "{}: no migrations found", schema.module);
    assert_eq!(
        lite,
        list(&schema.postgres),
        "{}: migrations/sqlite and migrations/postgres differ",
        schema.module
    );
}

/// Columns by (table, column): declared type and NOT NULL.
type Columns = BTreeMap<(String, String), (String, bool)>;

/// SQLite's declared type → the PostgreSQL types that match it.
fn compatible(sqlite: &str, pg: &str) -> bool {
    match sqlite {
        "BLOB" => pg == "uuid",
        "TEXT" => matches!(pg, "text" | "timestamp with time zone" | "date"),
        "BOOLEAN" => pg == "boolean",
        "BIGINT" | "INTEGER" => pg == "bigint",
        "DOUBLE PRECISION" => pg == "double precision",
        _ => false,
    }
}

#[allow(clippy::panic)] // test support: a failed read fails the test
async fn columns(db: &Db) -> Columns {
    let mut out = Columns::new();
    match db {
        Db::Sqlite(p) => {
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
            )
            .fetch_all(p)
            .await
            .unwrap_or_else(|e| panic!("SQLite tables: {e}"));
            for (t,) in tables {
                let cols: Vec<(String, String, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(
                    format!("SELECT name, type, \"notnull\" FROM pragma_table_info('{t}')"),
                ))
                .fetch_all(p)
                .await
                .unwrap_or_else(|e| panic!("SQLite columns of {t}: {e}"));
                for (c, ty, notnull) in cols {
                    out.insert((t.clone(), c), (ty, notnull));
                }
            }
        }
        Db::Postgres(p) => {
            let cols: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
                 FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
            )
            .fetch_all(p)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL columns: {e}"));
            for (t, c, ty, nullable) in cols {
                out.insert((t, c), (ty, nullable == "NO"));
            }
        }
    }
    out
}

/// `schema` (with what it needs) gives the same tables, columns, types (mapped between the
/// dialects) and nullability on SQLite and on the PostgreSQL server of `TEST_DATABASE_URL`.
/// Returns the number of columns compared.
#[allow(clippy::panic)] // test support: a difference fails the test
pub async fn assert_schema_parity(schema: &Schema) -> usize {
    assert_folders_match(schema);
    let pg_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| panic!("TEST_DATABASE_URL must point at PostgreSQL for this test"));
    let sqlite = fresh_db(None, "jy_schema", &[schema])
        .await
        .unwrap_or_else(|e| panic!("{}: SQLite migrations: {e}", schema.module));
    let pg = fresh_db(Some(pg_url), "jy_schema", &[schema])
        .await
        .unwrap_or_else(|e| panic!("{}: PostgreSQL migrations: {e}", schema.module));
    let lite = columns(&sqlite.db).await;
    let post = columns(&pg.db).await;
    sqlite.drop_db().await;
    pg.drop_db().await;
    assert!(
        !lite.is_empty(),
        "{}: no SQLite columns read",
        schema.module
    );
    let lite_keys: Vec<_> = lite.keys().collect();
    let post_keys: Vec<_> = post.keys().collect();
    assert_eq!(
        lite_keys, post_keys,
        "{}: the same tables and columns",
        schema.module
    );
    for (key, (lt, lnn)) in &lite {
        let (pt, pnn) = &post[key];
        assert!(
            compatible(lt, pt),
            "{}: {key:?}: SQLite {lt} vs PostgreSQL {pt}",
            schema.module
        );
        assert_eq!(lnn, pnn, "{}: {key:?}: NOT NULL differs", schema.module);
    }
    lite.len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn kernel_folders_match() {
        super::assert_folders_match(&crate::schema::SCHEMA);
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL set and --include-ignored (.ci/run does)"]
    async fn kernel_schema_is_the_same_on_both_databases() {
        assert!(super::assert_schema_parity(&crate::schema::SCHEMA).await > 20);
    }

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
