//! `jiaoyun bench exchange`: two instances in fresh databases, an upper (city) and a lower (a
//! school's own), paired over HTTP. The upper goes offline, the lower imports students with
//! their guardians (one change per student: the guardians travel with their student), then the
//! upper comes back
//! and the bench times how long the lower's push takes to bring it up to date.

use crate::bench::{fresh_db, peak_rss_mib};
use directory::exchange::{links, push};
use directory::import::{jobs, sample};
use kernel::{
    Actor, AppError, AppResult, AppState, Clock, Config, Ctx, Locale, RequestMeta, on_db,
};
use std::time::Instant;

const SCHOOL: &str = "2133010001";

async fn instance(
    name: &str,
    config: &Config,
    dir: &std::path::Path,
) -> AppResult<(kernel::testing::TestDb, AppState)> {
    let (fresh, mut cfg) = fresh_db(name, config).await?;
    cfg.data_dir = dir.join(name);
    cfg.listen = "127.0.0.1:0".into();
    let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
    directory::demo::load(&state).await?;
    Ok((fresh, state))
}

/// Serves `state` on `addr` until the returned handle is aborted.
async fn serve(
    state: &AppState,
    addr: &str,
) -> AppResult<(String, tokio::task::JoinHandle<AppResult<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(AppError::internal)?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(AppError::internal)?
    );
    let never = std::future::pending::<()>();
    Ok((
        base,
        tokio::spawn(crate::server::serve_on(listener, state.clone(), never)),
    ))
}

async fn count(state: &AppState, sql: &str, school: kernel::NodeId) -> AppResult<i64> {
    let (n,): (i64,) = on_db!(&state.db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).bind(school).fetch_one(p).await)?;
    Ok(n)
}

pub async fn run(config: Config, students: u64) -> AppResult<()> {
    let dir = std::env::temp_dir().join(format!("jy-bench-exchange-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).map_err(AppError::internal)?;
    let (upper_db, upper) = instance("exchange upper", &config, &dir).await?;
    let (lower_db, lower) = instance("exchange lower", &config, &dir).await?;
    let result = bench(&upper, &lower, &dir, students).await;
    upper_db.drop_db().await;
    lower_db.drop_db().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn bench(
    upper: &AppState,
    lower: &AppState,
    dir: &std::path::Path,
    students: u64,
) -> AppResult<()> {
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let up = Ctx::new(upper, &actor, &meta);
    let low = Ctx::new(lower, &actor, &meta);
    let missing = || AppError::NotFound("directory.node_not_found");
    let up_school = directory::nodes::find_by_code(&up, SCHOOL)
        .await?
        .ok_or_else(missing)?;
    let low_school = directory::nodes::find_by_code(&low, SCHOOL)
        .await?
        .ok_or_else(missing)?;

    // Pair over HTTP, then take the upper offline.
    let (base, server) = serve(upper, "127.0.0.1:0").await?;
    let (_, code) = links::invite(&up, up_school.id).await?;
    let link = links::pair(&low, low_school.id, &base, &code).await?;
    // The demo's own records go across first, so the figures below are the import's alone.
    let http = push::client();
    push::push_link(lower, &http, link.id).await?;
    server.abort();
    let _ = server.await;

    let file = dir.join("students.csv");
    sample::write_csv(&file, 0..students, false, None).map_err(AppError::internal)?;
    let job = jobs::create(&low, low_school.id, "students", &file, Locale::ZhCn).await?;
    jobs::run_job(lower, job.id).await?;
    jobs::commit(&low, job.id, false).await?;
    jobs::run_job(lower, job.id).await?;
    let pending_sql = "SELECT COUNT(*) FROM base_changes WHERE seq > (SELECT seq FROM exchange_links WHERE node_id = $1)
        AND node_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $1)";
    let changes = count(lower, pending_sql, low_school.id).await?;
    println!(
        "  while the upper was offline the lower recorded {changes} changes ({students} students with their guardians)"
    );

    // The upper is back on its old address; push until it has everything.
    let addr = base.trim_start_matches("http://").to_owned();
    let (_, server) = serve(upper, &addr).await?;
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let mut batches = 0;
    loop {
        let sent = push::push_link(lower, &http, link.id).await?;
        batches += sent;
        if count(lower, pending_sql, low_school.id).await? == 0 {
            break;
        }
        if sent == 0 {
            let l = links::find(&lower.db, link.id).await?;
            return Err(AppError::internal(format!(
                "the push stopped: {:?}",
                l.and_then(|l| l.last_error)
            )));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let held = count(
        upper,
        "SELECT COUNT(*) FROM students WHERE school_id = $1",
        up_school.id,
    )
    .await?;
    println!(
        "  catch-up: {changes} changes in {batches} batches in {secs:.1} s: {:.0} changes/s, {:.0} students/s; peak RSS {:.0} MiB (both instances in this process)",
        changes as f64 / secs,
        students as f64 / secs,
        peak_rss_mib()
    );
    println!("  the upper holds {held} registry records for the school");
    server.abort();
    Ok(())
}
