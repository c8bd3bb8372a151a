//! Faults (issue #19): PostgreSQL restarted under load, on a cluster the test makes for itself
//! (the pool recovers; requests in flight fail with a clear 503 and none hangs; nothing is
//! half-written), and the data disk full, on a small filesystem the test mounts (a clear 507,
//! the database intact, work resumes once space returns). Object storage going away is part of
//! the multi-node test (`cluster.rs`), which has the S3 server.

use kernel::{AppState, Clock, Db, on_db};
use reqwest::StatusCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::pg::PgCluster;

/// The whole platform on `db` (migrated, with the demo), served on a random port.
async fn serve(
    db: Db,
    config: impl FnOnce(String) -> kernel::Config,
) -> (AppState, String, tokio::sync::oneshot::Sender<()>) {
    db.migrate(jiaoyun::SCHEMAS).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(db, config(base.clone()), Clock::System);
    assert!(jiaoyun::load_demo(&state).await.unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(jiaoyun::server::serve_on(
        listener,
        state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    (state, base, stop)
}

/// An API token of the demo school's administrator, the school and a class of it.
async fn school_admin_token(state: &AppState) -> (String, kernel::NodeId, kernel::NodeId) {
    let account = identity::accounts::find_by_username(&state.db, "school_admin")
        .await
        .unwrap()
        .unwrap();
    let (school,): (kernel::NodeId,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'school' AND code = '2133010001'",
    ).fetch_one(p).await)
    .unwrap();
    let (class,): (kernel::NodeId,) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'class' AND school_id = $1 ORDER BY name LIMIT 1",
    ).bind(school).fetch_one(p).await)
    .unwrap();
    let mut tx = state.db.begin().await.unwrap();
    let (_, token) = identity::tokens::create(
        &mut tx,
        account.person_id,
        "faults",
        None,
        state.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (token, school, class)
}

/// Creates a teacher of `class` through the API: a person, an account and a role in one
/// transaction.
async fn create(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    (school, class): (kernel::NodeId, kernel::NodeId),
    staff_no: &str,
) -> Result<(StatusCode, serde_json::Value), reqwest::Error> {
    let r = c
        .post(format!("{base}/api/v1/people"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "org_id": school, "name": "故障测试员", "staff_no": staff_no,
            "role": { "role": "teacher", "node_id": class, "subject": "13" },
        }))
        .send()
        .await?;
    let status = r.status();
    let retry_after = r.headers().contains_key("retry-after");
    let mut body: serde_json::Value = r.json().await.unwrap_or_default();
    body["retry_after"] = retry_after.into();
    Ok((status, body))
}

/// A create's staff number, status, seconds to answer and body.
type Answered = (String, u16, f64, serde_json::Value);

/// Every person the test made has both their account and their role: a transaction is
/// stored whole or not at all.
async fn half_written(db: &Db) -> i64 {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM persons p WHERE p.name = '故障测试员' AND (
            NOT EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id)
         OR NOT EXISTS (SELECT 1 FROM role_assignments r WHERE r.person_id = p.id AND r.role = 'teacher'))",
    ).fetch_one(p).await)
    .unwrap();
    n
}

#[tokio::test]
#[ignore = "makes a PostgreSQL cluster of its own: .ci/run's PostgreSQL pass"]
async fn postgres_restarted_under_load_answers_503_recovers_and_writes_nothing_by_half() {
    let pg = PgCluster::primary();
    let admin = Db::connect(&pg.url("postgres"), 2).await.unwrap();
    if let Db::Postgres(p) = &admin {
        sqlx::query("CREATE DATABASE jy").execute(p).await.unwrap();
    }
    admin.close().await;
    let db = Db::connect(&pg.url("jy"), 8).await.unwrap();
    let url = pg.url("jy");
    let (state, base, stop) = serve(db.clone(), |base| kernel::Config {
        public_url: Some(base),
        ..testkit::config(&url)
    })
    .await;
    let (token, school, class) = school_admin_token(&state).await;
    let school = (school, class);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let seen: Arc<Mutex<Vec<Answered>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..6 {
        let (c, base, token, seen, done) = (
            client.clone(),
            base.clone(),
            token.clone(),
            seen.clone(),
            done.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let staff_no = format!("GZ{w}{n:05}");
                let t = Instant::now();
                let (status, body) = match create(&c, &base, &token, school, &staff_no).await {
                    Ok(r) => r,
                    Err(e) => panic!("a request got no answer: {e}"),
                };
                let secs = t.elapsed().as_secs_f64();
                seen.lock()
                    .unwrap()
                    .push((staff_no, status.as_u16(), secs, body));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The database restarts under the load: it disconnects everyone, is down a while, returns.
    // It stays down longer than the pool waits for a connection, so the requests that arrive
    // while it is away are certain to be refused (a restart that only cuts the requests in
    // flight may, by timing, cut none).
    pg.stop("fast");
    let restarted = Instant::now();
    tokio::time::sleep(kernel::db::ACQUIRE_TIMEOUT + Duration::from_secs(3)).await;
    pg.start();
    let up = restarted.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }

    let seen = seen.lock().unwrap().clone();
    let created: Vec<&String> = seen.iter().filter(|s| s.1 == 201).map(|s| &s.0).collect();
    let refused: Vec<_> = seen.iter().filter(|s| s.1 == 503).collect();
    let other: Vec<_> = seen.iter().filter(|s| s.1 != 201 && s.1 != 503).collect();
    assert!(
        other.is_empty(),
        "only 201 or a clear 503; {} others, the first: {:?}",
        other.len(),
        other.first()
    );
    for w in 0..6 {
        assert!(
            refused.iter().any(|r| r.0.starts_with(&format!("GZ{w}"))),
            "worker {w} saw the restart: a create that came while the database was away waited \
             at most the pool's timeout and was refused"
        );
    }
    for r in &refused {
        assert_eq!(r.3["error"]["code"], "unavailable", "{r:?}");
        assert_eq!(r.3["retry_after"], true, "503 says when to try again");
    }
    let slowest = seen.iter().map(|s| s.2).fold(0.0, f64::max);
    assert!(
        slowest < kernel::db::ACQUIRE_TIMEOUT.as_secs_f64() + 5.0,
        "no request hangs (the slowest took {slowest:.1} s; the database was down {up:?})"
    );
    let last_refusal = seen.iter().rposition(|s| s.1 == 503).unwrap();
    assert!(
        seen[last_refusal..].iter().filter(|s| s.1 == 201).count() >= 10,
        "the pool recovered: creates succeed again after the restart"
    );
    // Every acknowledged create is stored whole, and nothing is stored by half.
    for staff_no in &created {
        let (n,): (i64,) = on_db!(&db, p => sqlx::query_as(
            "SELECT COUNT(*) FROM persons p
             JOIN accounts a ON a.person_id = p.id
             JOIN role_assignments r ON r.person_id = p.id AND r.role = 'teacher'
             WHERE p.staff_no = $1",
        ).bind(staff_no.as_str()).fetch_one(p).await)
        .unwrap();
        assert_eq!(n, 1, "{staff_no} acknowledged and stored whole");
    }
    assert_eq!(half_written(&db).await, 0);
    let _ = stop.send(());
    db.close().await;
}

/// Mounts a small filesystem (the test runs as root, as CI does) and unmounts it when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(mib: u32) -> Self {
        let dir = std::env::temp_dir().join(format!("jy-full-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the disk-full test mounts a small filesystem and must run as root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(dir)
    }

    /// Fills what is left with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: the server's last connections may still hold the file; the filesystem goes
        // (and its memory with it) once they close.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
#[ignore = "mounts a small filesystem (root): .ci/run's PostgreSQL pass"]
async fn a_full_disk_refuses_writes_clearly_keeps_the_database_and_recovers() {
    let disk = SmallDisk::mount(48);
    let url = format!("sqlite://{}/jiaoyun.db", disk.0.display());
    let db = Db::connect(&url, 4).await.unwrap();
    let dir = disk.0.clone();
    let (state, base, stop) = serve(db.clone(), |base| kernel::Config {
        public_url: Some(base),
        data_dir: dir,
        ..testkit::config(&url)
    })
    .await;
    let (token, school, class) = school_admin_token(&state).await;
    let school = (school, class);
    let c = reqwest::Client::new();
    let (status, _) = create(&c, &base, &token, school, "DF00001").await.unwrap();
    assert_eq!(status, StatusCode::CREATED);

    let filler = disk.fill();
    // Writes fail with a clear 507 until space returns; reads go on.
    let mut refused = 0;
    for n in 2..40 {
        let (status, body) = create(&c, &base, &token, school, &format!("DF{n:05}"))
            .await
            .unwrap();
        if status == StatusCode::INSUFFICIENT_STORAGE {
            assert_eq!(body["error"]["code"], "storage_full", "{body}");
            refused += 1;
        } else {
            // SQLite may still fit a few rows in pages it has; never anything but success.
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    assert!(refused > 0, "the full disk was seen");
    let r = c
        .get(format!("{base}/api/v1/people"))
        .bearer_auth(&token)
        .query(&[("q", "故障测试员")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "reads go on with a full disk");

    std::fs::remove_file(&filler).unwrap();
    let (status, body) = create(&c, &base, &token, school, "DF99999").await.unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "writes resume once space returns: {body}"
    );
    let (check,): (String,) = on_db!(&db, p => sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(check, "ok");
    assert_eq!(half_written(&db).await, 0);
    let _ = stop.send(());
    db.close().await;
}
