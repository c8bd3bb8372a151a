//! The command line: what it writes is what the pages give, an import it was running when
//! killed leaves nothing behind and is taken over after its lease, and the benchmarks run.

use crate::helpers::{TestApp, node_by_code};
use directory::import::jobs::{self, Job};
use directory::import::sample;
use kernel::{AppState, ImportId, NodeId, on_db};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::io::Read;

async fn school(state: &AppState, code: &str) -> NodeId {
    let (id,): (NodeId,) = on_db!(&state.db, p => sqlx::query_as("SELECT id FROM org_nodes WHERE kind = 'school' AND code = $1")
        .bind(code).fetch_one(p).await).unwrap();
    id
}

async fn count(state: &AppState, sql: &'static str, school: NodeId) -> i64 {
    let (n,): (i64,) =
        on_db!(&state.db, p => sqlx::query_as(sql).bind(school).fetch_one(p).await).unwrap();
    n
}

const STUDENTS: &str = "SELECT COUNT(*) FROM students WHERE school_id = $1";

async fn job(state: &AppState, id: ImportId) -> Job {
    on_db!(&state.db, p => sqlx::query_as("SELECT * FROM import_jobs WHERE id = $1").bind(id).fetch_one(p).await)
        .unwrap()
}

/// Every file of a ZIP archive, as text.
fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            (f.name().unwrap().into_owned(), text)
        })
        .collect()
}

#[tokio::test]
async fn the_command_line_writes_the_oneroster_bundle_the_export_page_gives() {
    let app = TestApp::start().await;
    let school = node_by_code(&app, "2133010001").await;
    let admin = app.login("school_admin").await;
    let r = admin
        .get(app.url(&format!("/export/oneroster/{school}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = unzip(&r.bytes().await.unwrap());

    let out = std::env::temp_dir().join(format!("jy-oneroster-{}.zip", uuid::Uuid::now_v7()));
    let ok = jiaoyun::export::run(
        app.state.clone(),
        jiaoyun::export::ExportCommand::Oneroster {
            node: "2133010001".into(),
            out: out.clone(),
            unmasked: false,
        },
    )
    .await
    .unwrap();
    assert!(ok);
    let cli = unzip(&std::fs::read(&out).unwrap());
    let _ = std::fs::remove_file(&out);
    // The same files, with the same users, classes, enrollments and organisations (by their
    // sourcedId; dateLastModified is the time of each export).
    assert_eq!(
        page.keys().collect::<Vec<_>>(),
        cli.keys().collect::<Vec<_>>()
    );
    for file in ["users.csv", "classes.csv", "enrollments.csv", "orgs.csv"] {
        let rows = |t: &str| {
            let mut r: Vec<String> = t
                .lines()
                .map(|l| l.split(',').next().unwrap_or_default().to_owned())
                .collect();
            r.sort();
            r
        };
        assert!(page[file].lines().count() > 1, "{file} has rows");
        assert_eq!(rows(&page[file]), rows(&cli[file]), "{file}");
    }
    app.stop().await;
}

/// A commit killed in the middle (the process gets SIGKILL) leaves nothing of the file; the job
/// is taken up again once its lease runs out and then completes.
#[tokio::test]
async fn a_commit_killed_midway_leaves_nothing_and_is_run_again() {
    let db = kernel::testing::test_db(jiaoyun::SCHEMAS).await.unwrap();
    let config = testkit::config(&db.url);
    let data_dir = config.data_dir.clone();
    let state = AppState::new(db.db.clone(), config, kernel::Clock::System);
    assert!(directory::demo::load(&state).await.unwrap());
    let school = school(&state, "2133010001").await;
    const PEOPLE: &str = "SELECT COUNT(*) FROM persons WHERE org_id = $1";
    let people_before = count(&state, PEOPLE, school).await;
    let file = std::env::temp_dir().join(format!("jy-big-{}.csv", uuid::Uuid::now_v7()));
    sample::write_csv(&file, 0..40_000, false, None).unwrap();

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jiaoyun"))
        .args([
            "import",
            "students",
            file.to_str().unwrap(),
            "--school",
            "2133010001",
            "--commit",
        ])
        .env("JIAOYUN_DATABASE_URL", &db.url)
        .env("JIAOYUN_DATA_DIR", &data_dir)
        .env("JIAOYUN_LOG_LEVEL", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Kill it as soon as it reports rows written during the commit.
    let seen = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let midway = line
                .strip_prefix("committing: ")
                .and_then(|r| r.strip_suffix(" rows"))
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n > 0 && n < 40_000);
            lines.push(line);
            if midway {
                let _ = child.kill();
                let _ = child.wait();
                return (true, lines);
            }
        }
        let _ = child.wait();
        (false, lines)
    })
    .await
    .unwrap();
    assert!(seen.0, "the commit was not caught midway: {:?}", seen.1);

    assert_eq!(
        count(&state, STUDENTS, school).await,
        0,
        "nothing of a killed commit is stored"
    );
    assert_eq!(
        count(&state, PEOPLE, school).await,
        people_before,
        "no person of a killed commit is stored"
    );
    let (id, status): (ImportId, String) = on_db!(&state.db, p => sqlx::query_as("SELECT id, status FROM import_jobs WHERE school_id = $1")
        .bind(school).fetch_one(p).await).unwrap();
    assert_eq!(status, "committing");
    // Before the lease runs out nobody takes it; after, any node does, and finishes it.
    assert_eq!(jobs::run_next(&state).await.unwrap(), None);
    let later = AppState::new(
        db.db.clone(),
        (*state.config).clone(),
        kernel::Clock::fixed(
            chrono::Utc::now() + chrono::Duration::seconds(jobs::LEASE_SECONDS + 5),
        ),
    );
    assert_eq!(jobs::run_next(&later).await.unwrap(), Some(id));
    let j = job(&state, id).await;
    assert_eq!(j.status, "done");
    assert_eq!(j.attempts, 2);
    assert_eq!(j.counts().unwrap().created, 40_000);
    assert_eq!(count(&state, STUDENTS, school).await, 40_000);
    let _ = std::fs::remove_file(&file);
    db.drop_db().await;
}

/// A node that stalled past its lease (the job was taken over by another) cannot write its
/// commit: the import's "done" in the commit's transaction is fenced by the claim's token, so
/// the whole transaction is dropped and the job stays with the node that holds it.
#[tokio::test]
async fn a_stalled_node_cannot_commit_a_job_another_node_took_over() {
    let db = kernel::testing::test_db(jiaoyun::SCHEMAS).await.unwrap();
    let config = testkit::config(&db.url);
    let state = AppState::new(db.db.clone(), config, kernel::Clock::System);
    assert!(directory::demo::load(&state).await.unwrap());
    let school = school(&state, "2133010001").await;
    let file = std::env::temp_dir().join(format!("jy-fence-{}.csv", uuid::Uuid::now_v7()));
    sample::write_csv(&file, 0..50, false, None).unwrap();
    let admin = kernel::Actor::system();
    let meta = kernel::RequestMeta::cli();
    let cx = kernel::Ctx::new(&state, &admin, &meta);
    let id = jobs::create(&cx, school, "students.csv", &file, kernel::Locale::ZhCn)
        .await
        .unwrap()
        .id;
    assert_eq!(jobs::run_next(&state).await.unwrap(), Some(id));
    assert_eq!(job(&state, id).await.status, "checked");
    jobs::commit(&cx, id, false).await.unwrap();

    // This node claimed the commit, then stalled; node-b took the job over under its own claim.
    on_db!(&state.db, p => sqlx::query(
        "UPDATE import_jobs SET lease_node = 'node-b', lease_token = 'claim-b' WHERE id = $1",
    ).bind(id).execute(p).await.map(|r| r.rows_affected()))
    .unwrap();
    let j = job(&state, id).await;
    let node = directory::nodes::find(&state.db, school)
        .await
        .unwrap()
        .unwrap();
    let mut stalled = directory::import::Target::new(node, id, &state);
    stalled.lease = Some("claim-a".into());
    let path = jobs::file_path(&state, &j);
    let outcome = directory::import::run(
        &state.db,
        &stalled,
        &path,
        directory::import::Mode::Commit { partial: false },
        &|_| {},
    )
    .await;
    assert!(outcome.is_err(), "a commit under a lost claim is refused");
    assert_eq!(
        count(&state, STUDENTS, school).await,
        0,
        "nothing of it is kept"
    );
    let j = job(&state, id).await;
    assert_eq!(j.status, "committing");
    assert_eq!(j.lease_node.as_deref(), Some("node-b"));

    // Under the claim that holds, the same commit is kept.
    let mut holder = directory::import::Target::new(
        directory::nodes::find(&state.db, school)
            .await
            .unwrap()
            .unwrap(),
        id,
        &state,
    );
    holder.lease = Some("claim-b".into());
    directory::import::run(
        &state.db,
        &holder,
        &path,
        directory::import::Mode::Commit { partial: false },
        &|_| {},
    )
    .await
    .unwrap();
    let j = job(&state, id).await;
    assert_eq!(j.status, "done");
    assert_eq!(j.lease_node, None);
    assert_eq!(count(&state, STUDENTS, school).await, 50);
    let _ = std::fs::remove_file(&file);
    db.drop_db().await;
}

#[tokio::test]
#[ignore = "a benchmark: run with --ignored to see the figures"]
async fn resource_files_bench_runs() {
    let config = kernel::Config {
        database_url: std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "sqlite://unused".into()),
        ..Default::default()
    };
    jiaoyun::bench_files::run(config, 20).await.unwrap();
}
