//! `jiaoyun bench exam`: a grade of a district (3,000 students by default, in schools of six
//! classes of fifty) sits one test set by each school's mathematics teacher, its attempts
//! made when it was set (items and options shuffled per student, each with the test's end, as
//! the window is the time limit). Every student opens the test within one second of its start
//! (the page with their items: one read of their attempt); then each saves 20 answers within the next 60 seconds (about
//! 1,000 saves a second: the test compressed in time), each student's phone sending one
//! answer at a time. Measured through the real server over HTTP on this machine: the start's
//! latency (the press to the test's page), the saves per second and their latency, the
//! answers acknowledged and those in the database afterwards (lost must be 0), and the
//! process's peak memory (server and clients together). Prints numbers; never fails on them.

use crate::bench::{Shape, fresh_db, load_city, peak_rss_mib};
use kernel::actor::Via;
use kernel::{
    Actor, AppError, AppResult, AppState, Clock, Config, Ctx, NodeId, PersonId, RequestMeta, on_db,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use teaching::assignments::{AssignmentId, set};

pub async fn run(config: Config, students: usize, answers: usize, seconds: u64) -> AppResult<()> {
    let (fresh, mut cfg) = fresh_db("exam", &config).await?;
    cfg.listen = "127.0.0.1:0".into();
    let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
    let result = bench(&state, students, answers, Duration::from_secs(seconds)).await;
    fresh.drop_db().await;
    result
}

/// A student at the test: their session cookie and CSRF token, and the test.
struct Taker {
    cookie: String,
    csrf: String,
    test: AssignmentId,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

async fn bench(
    state: &AppState,
    students: usize,
    answers: usize,
    window: Duration,
) -> AppResult<()> {
    kernel::i18n::register(&teaching::CATALOGUES);
    let per_school = 6 * 50;
    let schools = students.div_ceil(per_school).max(1);
    let shape = Shape {
        districts: 1,
        schools_per_district: schools,
        classes_per_school: 36,
        teachers_per_school: 36,
        students_per_class: 50,
    };
    let t = Instant::now();
    let loaded = load_city(state, &shape).await?;
    println!(
        "  region loaded: {} people in {} schools in {:.0} s",
        loaded.people,
        schools,
        t.elapsed().as_secs_f64()
    );

    // Each school's sixth grade: a mathematics teacher of its six classes sets the test, with
    // `answers` single-choice items from the school's bank.
    let meta = RequestMeta::cli();
    let now = state.clock.now();
    let zone = state.config.time_zone;
    let opens = now + chrono::Duration::minutes(2);
    let t = Instant::now();
    let mut attempts: Vec<(PersonId, AssignmentId)> = Vec::new();
    let school_ids: Vec<(NodeId,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'school' ORDER BY code",
    ).fetch_all(p).await)?;
    for (school,) in school_ids {
        let classes: Vec<(NodeId,)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT c.id FROM org_nodes c JOIN org_nodes g ON g.id = c.parent_id
             WHERE c.kind = 'class' AND c.school_id = $1 AND g.grade_code = '6' ORDER BY c.name",
        ).bind(school).fetch_all(p).await)?;
        let teacher: Option<(PersonId,)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT r.person_id FROM role_assignments r JOIN org_nodes c ON c.id = r.node_id
             WHERE r.role = 'teacher' AND c.school_id = $1 ORDER BY r.person_id LIMIT 1",
        ).bind(school).fetch_optional(p).await)?;
        let Some((teacher,)) = teacher else { continue };
        for (class,) in &classes {
            on_db!(&state.db, p => sqlx::query(
                "INSERT INTO role_assignments (id, person_id, role, node_id, subject, created_at)
                 VALUES ($1, $2, 'teacher', $3, '14', $4)",
            ).bind(uuid::Uuid::now_v7()).bind(teacher).bind(*class).bind(now)
             .execute(p).await.map(|r| r.rows_affected()))?;
        }
        let actor = Actor::load(&state.db, teacher, Via::Session)
            .await?
            .ok_or_else(|| AppError::internal("bench teacher missing"))?;
        let cx = Ctx::new(state, &actor, &meta);
        let place = teaching::items::bank::Place {
            stage: "primary".into(),
            subject: "14".into(),
            ..Default::default()
        };
        let mut items = Vec::new();
        for k in 0..answers {
            let d = teaching::items::form::Draft {
                kind: "single".into(),
                stem: format!("第 {} 题：{} + {} = ?", k + 1, k + 3, k * 2 + 1),
                choices: format!("{}\n{}\n{}\n{}", 3 * k + 4, 3 * k + 5, 3 * k + 3, 3 * k + 6),
                answer: "A".into(),
                points: "5".into(),
                difficulty: "2".into(),
                ..Default::default()
            };
            items.push(teaching::items::bank::create(&cx, &d, &place).await?);
        }
        let draft = set::Draft {
            kind: "test".into(),
            subject: "14".into(),
            classes: classes.iter().map(|c| c.0).collect(),
            title: "六年级数学单元测验".into(),
            category: "quiz".into(),
            opens_at: zone.input(opens),
            // The window is the time limit: the whole grade starts together at the opening.
            due_at: zone.input(opens + chrono::Duration::minutes(40)),
            late_policy: "refuse".into(),
            expected_minutes: "40".into(),
            items,
            time_limit: "40".into(),
            shuffle_items: true,
            shuffle_options: true,
            ..Default::default()
        };
        let (test, _) = set::create(&cx, &draft).await?;
        for s in teaching::assignments::submissions(&state.db, test).await? {
            attempts.push((s.student_id, test));
        }
    }
    attempts.truncate(students);
    println!(
        "  {} tests set ({} items each), {} attempts made beforehand, in {:.0} s",
        schools,
        answers,
        attempts.len(),
        t.elapsed().as_secs_f64()
    );
    if let kernel::Db::Sqlite(p) = &state.db {
        sqlx::query("ANALYZE").execute(p).await?;
    } else if let kernel::Db::Postgres(p) = &state.db {
        sqlx::query("ANALYZE").execute(p).await?;
    }

    // The students log in during the minute before the start, as the login form would.
    let before = (opens - chrono::Duration::seconds(50) - state.clock.now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(before).await;
    let t = Instant::now();
    let mut takers: Vec<Taker> = Vec::with_capacity(attempts.len());
    for chunk in attempts.chunks(1000) {
        let mut tx = state.db.begin().await?;
        let mut made = Vec::new();
        for (person, test) in chunk {
            let (session, token) = identity::sessions::create(
                &mut tx,
                identity::sessions::Limits::from_config(&state.config),
                *person,
                "pwd",
                &meta,
                state.clock.now(),
            )
            .await?;
            made.push((session, token, *test));
        }
        tx.commit().await?;
        for (session, token, test) in made {
            let (csrf,): (String,) = on_db!(&state.db, p => sqlx::query_as(
                "SELECT csrf_token FROM sessions WHERE id = $1",
            ).bind(session).fetch_one(p).await)?;
            takers.push(Taker {
                cookie: format!("jy_session={token}"),
                csrf,
                test,
            });
        }
    }
    println!(
        "  {} sessions made in the minute before the start ({:.1} s)",
        takers.len(),
        t.elapsed().as_secs_f64()
    );
    let served = crate::bench::serve(state, takers.len()).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(3))
        .pool_max_idle_per_host(takers.len())
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(AppError::internal)?;
    let base = Arc::new(served.base.clone());
    let takers = Arc::new(takers);
    let rss_before = peak_rss_mib();

    // Wait for the start (the server's clock), then everyone presses start within a second.
    let wait = (opens - state.clock.now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(200)).await;
    let n = takers.len();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (client, base, takers) = (client.clone(), base.clone(), takers.clone());
        let at = Duration::from_secs_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(started + at)).await;
            let t = Instant::now();
            let k = &takers[i];
            let r = client
                .get(format!("{base}/teaching/homework/{}", k.test))
                .header("cookie", &k.cookie)
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => {
                    let body = r.text().await.unwrap_or_default();
                    let ok = body.contains("data-autosave");
                    (t.elapsed().as_secs_f64() * 1000.0, ok)
                }
                _ => (t.elapsed().as_secs_f64() * 1000.0, false),
            }
        }));
    }
    let mut start_ms = Vec::with_capacity(n);
    let mut start_errors = 0;
    for t in tasks {
        match t.await {
            Ok((ms, true)) => start_ms.push(ms),
            _ => start_errors += 1,
        }
    }
    let start_all = started.elapsed().as_secs_f64();
    start_ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "  start: {} students pressed start within 1 s; all on their test page after {:.2} s; p50 {:.0} ms  p95 {:.0} ms  p99 {:.0} ms  ({} errors)",
        n,
        start_all,
        pct(&start_ms, 0.50),
        pct(&start_ms, 0.95),
        pct(&start_ms, 0.99),
        start_errors
    );

    // Answers: each student's `answers` saves at random moments of the window, in order.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (client, base, takers, ack) = (
            client.clone(),
            base.clone(),
            takers.clone(),
            acknowledged.clone(),
        );
        let mut times: Vec<f64> = (0..answers)
            .map(|_| rand::random::<f64>() * window.as_secs_f64())
            .collect();
        times.sort_by(|a, b| a.total_cmp(b));
        tasks.push(tokio::spawn(async move {
            let k = &takers[i];
            let mut lat = Vec::with_capacity(times.len());
            let mut errors = 0usize;
            for (pos, at) in times.iter().enumerate() {
                tokio::time::sleep_until(tokio::time::Instant::from_std(
                    started + Duration::from_secs_f64(*at),
                ))
                .await;
                let t = Instant::now();
                let shown = format!("a{pos}.shown");
                let choice = format!("a{pos}.choice");
                let position = pos.to_string();
                let r = client
                    .post(format!("{base}/teaching/homework/{}/answer", k.test))
                    .header("cookie", &k.cookie)
                    .form(&[
                        ("csrf", k.csrf.as_str()),
                        ("position", position.as_str()),
                        (shown.as_str(), "1"),
                        (choice.as_str(), "0"),
                    ])
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == reqwest::StatusCode::NO_CONTENT => {
                        ack.fetch_add(1, Ordering::Relaxed);
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut save_ms = Vec::new();
    let mut save_errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            save_ms.extend(l);
            save_errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    save_ms.sort_by(|a, b| a.total_cmp(b));
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    let (stored,): (i64,) = on_db!(&state.db, p => sqlx::query_as("SELECT COUNT(*) FROM answers")
        .fetch_one(p).await)?;
    println!(
        "  answers: {} saves in {:.1} s = {:.0} saves/s; p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  ({} errors)",
        save_ms.len(),
        elapsed,
        save_ms.len() as f64 / elapsed,
        pct(&save_ms, 0.50),
        pct(&save_ms, 0.95),
        pct(&save_ms, 0.99),
        save_errors
    );
    println!(
        "  answers acknowledged {acknowledged}, in the database {stored}, lost {}",
        (acknowledged as i64 - stored).max(0)
    );
    println!(
        "  peak memory (server and {} clients in one process): {:.0} MiB (before the test {:.0} MiB)",
        n,
        peak_rss_mib(),
        rss_before
    );
    println!(
        "  for comparison, Moodle's published guidance: 2,000–3,000 simultaneous quiz takers need about 12 app cores and 4 database cores; this run had 2 cores for server, database and clients together"
    );
    served.stop().await;
    Ok(())
}
