//! V16.4.2 (logs cannot be modified), V16.1.1 (retention) and V16.3.1 (failed logins reach the
//! people responsible): the database refuses to change or remove audit entries until they are
//! archived; each node's hash chain and the signed anchors prove the log, and `verify` names
//! the first broken entry, even when an attacker with the database's owner rights recomputes
//! the hashes; retention archives to object storage under a verified anchor before removal.

use crate::helpers::TestApp;
use kernel::audit::{anchor, chain, verify};
use kernel::{AuditId, Db, on_db};
use reqwest::StatusCode;

async fn some_entries(app: &TestApp) {
    for _ in 0..3 {
        let _ = app.login("teacher").await;
    }
    let _ = app.login_with("no_such_account", "wrong").await;
}

async fn exec(db: &Db, sql: &str) -> Result<(), sqlx::Error> {
    on_db!(db, p => sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(p).await.map(|_| ()))
}

/// What an attacker with the owner's rights does first.
async fn drop_guards(db: &Db) {
    let sqlite = [
        "DROP TRIGGER audit_log_append_only",
        "DROP TRIGGER audit_log_guard_delete",
        "DROP TRIGGER audit_chain_entries_append_only",
        "DROP TRIGGER audit_chain_append_only",
    ];
    let pg = [
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "ALTER TABLE audit_chain_entries DISABLE TRIGGER USER",
        "ALTER TABLE audit_chain DISABLE TRIGGER USER",
    ];
    let stmts: &[&str] = if matches!(db, Db::Postgres(_)) {
        &pg
    } else {
        &sqlite
    };
    for s in stmts {
        exec(db, s).await.unwrap();
    }
}

async fn verify_now(app: &TestApp) -> verify::Report {
    let public = anchor::public_key(&app.state.config).unwrap();
    verify::verify(&app.state.db, &public, app.state.clock.now())
        .await
        .unwrap()
}

async fn link_and_anchor(app: &TestApp, day: &str) {
    let now = app.state.clock.now();
    chain::link_pending(&app.state.db, kernel::audit::writer(), now, true)
        .await
        .unwrap();
    let key = anchor::AnchorKey::load_or_create(&app.state.config.anchor_key_file()).unwrap();
    anchor::anchor(&app.state.db, &key, day, now).await.unwrap();
}

async fn one_entry(app: &TestApp, action: &str) -> (AuditId, Option<String>) {
    on_db!(&app.state.db, p => sqlx::query_as(
        "SELECT id, detail FROM audit_log WHERE action = $1 ORDER BY at LIMIT 1")
        .bind(action).fetch_one(p).await)
    .unwrap()
}

#[tokio::test]
async fn asvs_v16_4_2_the_database_refuses_to_change_or_remove_audit_entries() {
    let app = TestApp::start().await;
    some_entries(&app).await;
    link_and_anchor(&app, "t").await;
    let db = &app.state.db;
    for sql in [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
        "UPDATE audit_chain_entries SET entry_hash = 'x'",
        "DELETE FROM audit_chain_entries",
        "UPDATE audit_anchors SET signature = 'x'",
        "DELETE FROM audit_anchors",
    ] {
        assert!(exec(db, sql).await.is_err(), "{sql} was allowed");
    }
    if let Db::Postgres(_) = db {
        assert!(
            exec(db, "TRUNCATE audit_log").await.is_err(),
            "TRUNCATE was allowed"
        );
        // The application's role may only add; a separate retention role may remove, and only
        // archived entries.
        let tag = uuid::Uuid::now_v7().simple().to_string();
        let (app_role, ret_role) = (
            format!("jy_app_{}", &tag[20..]),
            format!("jy_ret_{}", &tag[20..]),
        );
        for r in [&app_role, &ret_role] {
            exec(db, &format!("CREATE ROLE {r} LOGIN")).await.unwrap();
        }
        for stmt in jiaoyun::audit::grants(&app_role, &ret_role).unwrap() {
            exec(db, &stmt).await.unwrap();
        }
        let as_role = |r: &str| {
            app.state
                .config
                .database_url
                .replacen("postgres@", &format!("{r}@"), 1)
        };
        let appdb = Db::connect(&as_role(&app_role), 1).await.unwrap();
        let e = exec(&appdb, "DELETE FROM audit_log").await.unwrap_err();
        assert!(e.to_string().contains("permission denied"), "{e}");
        let retdb = Db::connect(&as_role(&ret_role), 1).await.unwrap();
        let e = exec(&retdb, "DELETE FROM audit_log").await.unwrap_err();
        assert!(e.to_string().contains("only archived entries"), "{e}");
        let e = exec(&retdb, "UPDATE audit_log SET action = 'x'")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("permission denied"), "{e}");
        appdb.close().await;
        retdb.close().await;
        for r in [&app_role, &ret_role] {
            exec(db, &format!("DROP OWNED BY {r}")).await.unwrap();
            exec(db, &format!("DROP ROLE {r}")).await.unwrap();
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn asvs_v16_4_2_chains_and_signed_anchors_prove_the_log_or_name_the_first_broken_entry() {
    let app = TestApp::start().await;
    some_entries(&app).await;
    link_and_anchor(&app, "day-1").await;
    let r = verify_now(&app).await;
    assert!(r.broken.is_none(), "{:?}", r.broken);
    assert!(r.entries >= 4 && r.links >= 1 && r.anchors == 1, "{r:?}");
    let db = &app.state.db;
    drop_guards(db).await;

    // An entry altered in place: named.
    let (id, detail) = one_entry(&app, "auth.login").await;
    on_db!(db, p => sqlx::query("UPDATE audit_log SET detail = '{\"amr\":[\"pwd\"],\"note\":\"nothing here\"}' WHERE id = $1")
        .bind(id).execute(p).await.map(|_| ())).unwrap();
    let b = verify_now(&app).await.broken.expect("found");
    assert_eq!(
        (b.entry, b.reason.as_str()),
        (Some(id), "the entry was altered"),
        "{b}"
    );
    on_db!(db, p => sqlx::query("UPDATE audit_log SET detail = $2 WHERE id = $1")
        .bind(id).bind(&detail).execute(p).await.map(|_| ()))
    .unwrap();
    assert!(
        verify_now(&app).await.broken.is_none(),
        "restored, it verifies again"
    );

    // An entry removed: named.
    let (gone, _) = one_entry(&app, "auth.login_failed").await;
    let row: chain::EntryRow = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM audit_log l WHERE l.id = $1", chain::ENTRY_COLUMNS))).bind(gone).fetch_one(p).await)
    .unwrap();
    on_db!(db, p => sqlx::query("DELETE FROM audit_log WHERE id = $1").bind(gone).execute(p).await.map(|_| ()))
        .unwrap();
    let b = verify_now(&app).await.broken.expect("found");
    assert_eq!(
        (b.entry, b.reason.as_str()),
        (Some(gone), "the entry was removed"),
        "{b}"
    );

    // The attacker rewrites the entry and recomputes its hash, the link's and the chain's: the
    // chain holds together, but the anchor signed before says otherwise.
    let forged = chain::EntryRow {
        actor_name: Some("someone else".into()),
        ..row.clone()
    };
    on_db!(db, p => sqlx::query("INSERT INTO audit_log (id, at, actor_id, actor_name, ip, user_agent, action, object_type, object_id, node_id, outcome, request_id, detail, writer)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(forged.id).bind(forged.at).bind(forged.actor_id).bind(&forged.actor_name).bind(&forged.ip)
        .bind(&forged.user_agent).bind(&forged.action).bind(&forged.object_type).bind(&forged.object_id)
        .bind(forged.node_id).bind(&forged.outcome).bind(&forged.request_id).bind(&forged.detail).bind(&forged.writer)
        .execute(p).await.map(|_| ())).unwrap();
    rechain(db, &forged).await;
    let b = verify_now(&app).await.broken.expect("found");
    assert!(b.reason.contains("anchor of day-1"), "{b}");
    app.stop().await;
}

/// Recomputes, as an attacker who read the code would, the hashes from `e`'s link to the head.
async fn rechain(db: &Db, e: &chain::EntryRow) {
    let (writer, seq): (String, i64) = on_db!(db, p => sqlx::query_as(
        "SELECT writer, seq FROM audit_chain_entries WHERE entry_id = $1").bind(e.id).fetch_one(p).await)
    .unwrap();
    on_db!(db, p => sqlx::query("UPDATE audit_chain_entries SET entry_hash = $2 WHERE entry_id = $1")
        .bind(e.id).bind(chain::entry_hash(e)).execute(p).await.map(|_| ())).unwrap();
    let links: Vec<chain::Link> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM audit_chain WHERE writer = $1 AND seq >= $2 ORDER BY seq", chain::LINK_COLUMNS)))
        .bind(&writer).bind(seq).fetch_all(p).await)
    .unwrap();
    let mut prev: Option<String> = None;
    for mut l in links {
        let hashes: Vec<(String,)> = on_db!(db, p => sqlx::query_as(
            "SELECT entry_hash FROM audit_chain_entries WHERE writer = $1 AND seq = $2 ORDER BY entry_id")
            .bind(&writer).bind(l.seq).fetch_all(p).await)
        .unwrap();
        l.entries_hash = chain::entries_hash(hashes.iter().map(|h| h.0.as_str()));
        if let Some(p) = prev {
            l.prev_hash = p;
        }
        l.hash = l.computed_hash();
        on_db!(db, p => sqlx::query("UPDATE audit_chain SET entries_hash = $3, prev_hash = $4, hash = $5 WHERE writer = $1 AND seq = $2")
            .bind(&writer).bind(l.seq).bind(&l.entries_hash).bind(&l.prev_hash).bind(&l.hash)
            .execute(p).await.map(|_| ())).unwrap();
        prev = Some(l.hash);
    }
}

#[tokio::test]
async fn asvs_v16_1_1_retention_archives_under_a_verified_anchor_before_removal() {
    let app = TestApp::start_with(|c| c.audit_retention_days = 0).await;
    some_entries(&app).await;
    let (before,): (i64,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT COUNT(*) FROM audit_log")
        .fetch_one(p).await)
        .unwrap();
    let out = jiaoyun::audit::archive(&app.state).await.unwrap();
    assert_eq!(out.archived as i64, before);
    let key = out.object_key.expect("an archive");
    let path = resources::files::store::local_dir(&app.state).join(&key);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len() as i64,
        before + 1,
        "each entry, then the anchor"
    );
    assert!(lines.iter().any(|l| l["action"] == "auth.login_failed"));
    assert!(lines[..lines.len() - 1].iter().all(|l| {
        l["chain"]["entry_hash"]
            .as_str()
            .is_some_and(|h| h.len() == 64)
    }));
    assert!(lines.last().unwrap()["anchor"]["signature"].is_string());
    // The log still verifies, the removed entries counted through their links.
    let r = verify_now(&app).await;
    assert!(r.broken.is_none(), "{:?}", r.broken);
    assert_eq!(r.archived as i64, before);
    // A record of an archive not signed with the anchor key is found out.
    let (anchor_id,): (AuditId,) =
        on_db!(&app.state.db, p => sqlx::query_as("SELECT id FROM audit_anchors LIMIT 1")
        .fetch_one(p).await)
        .unwrap();
    on_db!(&app.state.db, p => sqlx::query("INSERT INTO audit_archives (id, up_to, object_key, sha256, entries, anchor_id, signature, created_at)
        VALUES ($1, $2, 'audit/forged.jsonl', 'x', 0, $3, 'AAAA', $2)")
        .bind(AuditId::new()).bind(app.state.clock.now() + chrono::Duration::days(1)).bind(anchor_id)
        .execute(p).await.map(|_| ())).unwrap();
    let b = verify_now(&app).await.broken.expect("found");
    assert!(b.reason.contains("not signed"), "{b}");
    app.stop().await;
}

#[tokio::test]
async fn asvs_v16_3_1_failed_logins_to_unknown_accounts_reach_the_regions_administrators() {
    let app = TestApp::start().await;
    let _ = app.login_with("nobody_at_all", "wrong").await;
    let token = app.token("city_admin").await;
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/audit?action=auth.login_failed"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    let found = body["items"].as_array().unwrap().iter().any(|e| {
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nobody_at_all"))
    });
    assert!(found, "{body}");
    // A district's administrator does not see them: they are the city's to watch.
    let token = app.token("district_admin").await;
    let body: serde_json::Value = reqwest::Client::new()
        .get(app.url("/api/v1/audit?action=auth.login_failed"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!body.to_string().contains("nobody_at_all"), "{body}");
    app.stop().await;
}
