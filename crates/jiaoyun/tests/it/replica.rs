//! The read replica (issue #19), on a primary and a streaming replica that the test makes for
//! itself (two PostgreSQL clusters on ports of their own): the people search reads from the
//! replica, a browser that wrote reads its own writes from the primary, a replica behind by
//! more than the bound is left alone, and a replica that goes away costs no request an error.

use kernel::{AppState, Clock, Db};
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use testkit::pg::PgCluster;

async fn wait_for(what: &str, limit: Duration, mut f: impl AsyncFnMut() -> bool) {
    let t = Instant::now();
    while !f().await {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(base: &str, username: &str) -> reqwest::Client {
    let c = testkit::TestApp::client();
    let page = c.get(format!("{base}/login")).send().await.unwrap();
    let csrf = testkit::extract_csrf(&page.text().await.unwrap());
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("username", username),
            ("password", testkit::DEMO_PASSWORD),
            ("csrf", csrf.as_str()),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    c
}

/// How many people an administrator's search of their region finds by `name`.
async fn found(c: &reqwest::Client, base: &str, name: &str) -> i64 {
    let r = c
        .get(format!("{base}/api/v1/people"))
        .query(&[("q", name)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the search answers");
    r.json::<serde_json::Value>().await.unwrap()["total"]
        .as_i64()
        .unwrap()
}

async fn replayed(replica: &Db) -> Option<u64> {
    let Db::Postgres(p) = replica else {
        return None;
    };
    let v: (Option<String>,) = sqlx::query_as("SELECT CAST(pg_last_wal_replay_lsn() AS TEXT)")
        .fetch_one(p)
        .await
        .ok()?;
    v.0.as_deref().and_then(kernel::replica::parse_lsn)
}

#[tokio::test]
#[ignore = "makes two PostgreSQL clusters of its own: .ci/run's PostgreSQL pass"]
async fn reads_go_to_the_replica_except_a_browsers_own_writes_and_fall_back_when_it_goes() {
    let primary = PgCluster::primary();
    let replica = primary.replica();
    let admin = Db::connect(&primary.url("postgres"), 2).await.unwrap();
    if let Db::Postgres(p) = &admin {
        sqlx::query("CREATE DATABASE jy").execute(p).await.unwrap();
    }
    admin.close().await;
    let db = Db::connect(&primary.url("jy"), 8).await.unwrap();
    db.migrate(jiaoyun::SCHEMAS).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = kernel::Config {
        public_url: Some(base.clone()),
        database_replica_url: Some(kernel::secret::Secret::new(replica.url("jy"))),
        database_replica_max_lag_seconds: 3,
        ..testkit::config(&primary.url("jy"))
    };
    let state =
        jiaoyun::server::with_replica(AppState::new(db.clone(), config, Clock::System)).unwrap();
    assert!(jiaoyun::load_demo(&state).await.unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(jiaoyun::server::serve_on(
        listener,
        state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let standby = Db::connect(&replica.url("jy"), 2).await.unwrap();
    let r = state.replica.clone().unwrap();
    wait_for(
        "the replica is in use",
        Duration::from_secs(30),
        async || r.usable(),
    )
    .await;

    // Two administrators' browsers; then the replica is frozen where it is.
    let writer = login(&base, "district_admin").await;
    let reader = login(&base, "city_admin").await;
    let head = kernel::replica::primary_lsn(&db).await.unwrap();
    wait_for(
        "the replica replays the logins",
        Duration::from_secs(30),
        async || replayed(&standby).await.is_some_and(|l| l >= head),
    )
    .await;
    if let Db::Postgres(p) = &standby {
        sqlx::query("SELECT pg_wal_replay_pause()")
            .execute(p)
            .await
            .unwrap();
    }
    // A pause is a request; replay stops at the next record.
    wait_for("replay paused", Duration::from_secs(10), async || {
        let Db::Postgres(p) = &standby else {
            return false;
        };
        let s: Result<(String,), _> = sqlx::query_as("SELECT pg_get_wal_replay_pause_state()")
            .fetch_one(p)
            .await;
        s.is_ok_and(|s| s.0 == "paused")
    })
    .await;
    wait_for(
        "the node sees the replica there",
        Duration::from_secs(5),
        async || r.usable() && r.replayed() >= head,
    )
    .await;
    // A teacher of the district is renamed on the primary, not by either browser.
    let Db::Postgres(p) = &db else { unreachable!() };
    sqlx::query(
        "UPDATE persons SET name = '副本测试员' WHERE id =
           (SELECT a.person_id FROM accounts a WHERE a.username = 'teacher')",
    )
    .execute(p)
    .await
    .unwrap();
    let renamed_at = Instant::now();
    assert_eq!(
        found(&reader, &base, "副本测试员").await,
        0,
        "the search read the replica"
    );
    assert_eq!(found(&writer, &base, "副本测试员").await, 0);

    // The writer writes (ends its other sessions): its reads now see the primary.
    let csrf = testkit::extract_csrf(
        &writer
            .get(format!("{base}/profile"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let w = writer
        .post(format!("{base}/profile/sessions/end-others"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(w.status(), StatusCode::SEE_OTHER);
    assert!(
        w.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("jy_lsn=")),
        "a write answers with the primary's position"
    );
    assert_eq!(
        found(&writer, &base, "副本测试员").await,
        1,
        "read-your-writes"
    );
    // The other browser still reads the replica while it is within the bound...
    if renamed_at.elapsed() < Duration::from_secs(2) {
        assert_eq!(found(&reader, &base, "副本测试员").await, 0);
    }
    // ...and not once it is further behind than the bound.
    wait_for(
        "the frozen replica is left alone",
        Duration::from_secs(15),
        async || !r.usable(),
    )
    .await;
    assert_eq!(
        found(&reader, &base, "副本测试员").await,
        1,
        "the primary answers"
    );

    // Replay again: the replica catches up and is used again.
    if let Db::Postgres(p) = &standby {
        sqlx::query("SELECT pg_wal_replay_resume()")
            .execute(p)
            .await
            .unwrap();
    }
    wait_for(
        "the replica is in use again",
        Duration::from_secs(30),
        async || r.usable(),
    )
    .await;
    assert_eq!(found(&reader, &base, "副本测试员").await, 1);

    // The replica goes away (as if its machine lost power): no read fails, before the poll
    // notices or after.
    standby.close().await;
    replica.stop("immediate");
    for _ in 0..20 {
        assert_eq!(found(&reader, &base, "副本测试员").await, 1);
    }
    wait_for(
        "the replica is marked away",
        Duration::from_secs(15),
        async || !r.usable(),
    )
    .await;
    assert_eq!(found(&reader, &base, "副本测试员").await, 1);
    assert_eq!(found(&writer, &base, "副本测试员").await, 1);

    let _ = stop.send(());
    let _ = server.await;
    db.close().await;
}
