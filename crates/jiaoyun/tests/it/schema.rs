//! The two migration folders must produce the same schema: tables, columns, types (mapped
//! between the dialects) and nullability. Needs PostgreSQL (TEST_DATABASE_URL).

use kernel::Db;
use kernel::testing::fresh_db;
use std::collections::BTreeMap;

type Schema = BTreeMap<(String, String), (String, bool)>;

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

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL set and --include-ignored (.ci/run does)"]
async fn sqlite_and_postgres_migrations_give_the_same_schema() {
    let pg_url = std::env::var("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL must point at PostgreSQL for this test");
    let sqlite = fresh_db(None, "jy_schema").await.unwrap();
    let pg = fresh_db(Some(pg_url), "jy_schema").await.unwrap();
    let mut lite = Schema::new();
    if let Db::Sqlite(p) = &sqlite.db {
        let tables: Vec<(String,)> = sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'")
            .fetch_all(p).await.unwrap();
        for (t,) in tables {
            let cols: Vec<(String, String, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT name, type, \"notnull\" FROM pragma_table_info('{t}')"
            )))
            .fetch_all(p)
            .await
            .unwrap();
            for (c, ty, notnull) in cols {
                lite.insert((t.clone(), c), (ty, notnull));
            }
        }
    }
    let mut post = Schema::new();
    if let Db::Postgres(p) = &pg.db {
        let cols: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'").fetch_all(p).await.unwrap();
        for (t, c, ty, nullable) in cols {
            post.insert((t, c), (ty, nullable == "NO"));
        }
    }
    assert!(
        lite.len() > 50,
        "SQLite schema read: {} columns",
        lite.len()
    );
    let lite_keys: Vec<_> = lite.keys().collect();
    let post_keys: Vec<_> = post.keys().collect();
    assert_eq!(lite_keys, post_keys, "the same tables and columns");
    for (key, (lt, lnn)) in &lite {
        let (pt, pnn) = &post[key];
        assert!(
            compatible(lt, pt),
            "{key:?}: SQLite {lt} vs PostgreSQL {pt}"
        );
        assert_eq!(lnn, pnn, "{key:?}: NOT NULL differs");
    }
    sqlite.drop_db().await;
    pg.drop_db().await;
}
