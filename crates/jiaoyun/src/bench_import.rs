//! `jiaoyun bench import`: generates a student file (with one or two guardians per student) as
//! CSV and as XLSX, then imports it into one school of the demo region through the same job as
//! the pages: the check, then the commit. Prints rows per second for each step and the peak
//! resident memory of each run.

use crate::bench::{fresh_db, peak_rss_mib};
use clap::ValueEnum;
use directory::import::{jobs, sample};
use directory::model::{NodeKind, SchoolType, Stage};
use kernel::{Actor, AppError, AppResult, AppState, Clock, Config, Ctx, Locale, RequestMeta};
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Formats {
    Csv,
    Xlsx,
    Both,
}

pub async fn run(config: Config, students: u64, formats: Formats) -> AppResult<()> {
    let dir = std::env::temp_dir().join(format!("jy-bench-import-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).map_err(AppError::internal)?;
    for (format, name) in [(Formats::Csv, "csv"), (Formats::Xlsx, "xlsx")] {
        if formats != Formats::Both && formats != format {
            continue;
        }
        let file = dir.join(format!("students.{name}"));
        let started = Instant::now();
        match format {
            Formats::Xlsx => {
                sample::write_xlsx(&file, 0..students, None).map_err(AppError::internal)?
            }
            _ => sample::write_csv(&file, 0..students, true, None).map_err(AppError::internal)?,
        }
        let size = std::fs::metadata(&file).map_err(AppError::internal)?.len();
        println!(
            "  generated {students} students as {name} ({:.1} MiB{}) in {:.1} s",
            size as f64 / 1048576.0,
            if format == Formats::Csv { ", GBK" } else { "" },
            started.elapsed().as_secs_f64()
        );
        let (fresh, mut cfg) = fresh_db(&format!("import {name}"), &config).await?;
        cfg.data_dir = dir.join(format!("data-{name}"));
        let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
        let result = import(&state, &file, students).await;
        fresh.drop_db().await;
        let _ = std::fs::remove_file(&file);
        result?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn import(state: &AppState, file: &std::path::Path, students: u64) -> AppResult<()> {
    directory::demo::load(state).await?;
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(state, &actor, &meta);
    let school = directory::nodes::find_by_code(&cx, "2133010001")
        .await?
        .ok_or(AppError::NotFound("directory.node_not_found"))?;
    // Peak memory from here on (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let done = check_and_commit(&cx, school.id, file, |checked, problems| {
        println!(
            "  check:  {students} rows, {problems} problems in {checked:.1} s: {:.0} rows/s; peak RSS {:.0} MiB",
            students as f64 / checked,
            peak_rss_mib()
        );
    })
    .await?;
    let c = done.counts;
    println!(
        "  commit: {} students and {} guardians ({} accounts) in {:.1} s: {:.0} rows/s; peak RSS {:.0} MiB",
        c.created,
        c.family_created,
        c.accounts_created,
        done.commit_secs,
        students as f64 / done.commit_secs,
        peak_rss_mib()
    );
    let (first, last) = tenths(&done.progress, students, done.commit_secs);
    println!(
        "  commit over the first tenth of the rows {first:.0} rows/s, over the last tenth {last:.0} rows/s: the end at {:.0}% of the start",
        100.0 * last / first
    );
    println!(
        "  check + commit: {:.0} rows/s",
        students as f64 / (done.check_secs + done.commit_secs)
    );
    Ok(())
}

/// Rows/s over the first and the last tenth of `total` rows, from the commit's (seconds, rows
/// written) samples: from the start to a tenth, and from nine tenths to the last row (the
/// final commit and the statistics after it are left out).
fn tenths(samples: &[(f64, u64)], total: u64, secs: f64) -> (f64, f64) {
    // The job forgets its progress once it is done: the samples end at the last row, or
    // where the count drops.
    let dropped = samples
        .windows(2)
        .position(|w| w[1].1 < w[0].1)
        .map_or(samples.len(), |i| i + 1);
    let end = samples[..dropped]
        .iter()
        .position(|s| s.1 >= total)
        .unwrap_or(dropped);
    let (samples, done_at) = (&samples[..end], samples.get(end).map_or(secs, |s| s.0));
    let first = samples
        .iter()
        .find(|s| s.1 >= total / 10)
        .map_or(0.0, |&(t, rows)| rows as f64 / t);
    let last = samples
        .iter()
        .rev()
        .find(|s| s.1 <= total - total / 10)
        .map_or(0.0, |&(t, rows)| (total - rows) as f64 / (done_at - t));
    (first, last)
}

struct Done {
    check_secs: f64,
    commit_secs: f64,
    counts: directory::import::Counts,
    /// The commit's rows written by time: (seconds, rows), every half second.
    progress: Vec<(f64, u64)>,
}

/// Checks and commits `file` into `school` through the job the pages use (`checked` hears the
/// check's seconds and problems); fails unless the commit completed.
async fn check_and_commit(
    cx: &Ctx<'_>,
    school: kernel::NodeId,
    file: &std::path::Path,
    checked: impl FnOnce(f64, i64),
) -> AppResult<Done> {
    let state = cx.state;
    // The job keeps (moves) its own copy.
    let staged = file.with_extension("staged");
    std::fs::copy(file, &staged).map_err(AppError::internal)?;
    let job = jobs::create(cx, school, "students", &staged, Locale::ZhCn).await?;
    let started = Instant::now();
    jobs::run_job(state, job.id).await?;
    let check_secs = started.elapsed().as_secs_f64();
    checked(check_secs, jobs::get(cx, job.id).await?.problem_count);
    jobs::commit(cx, job.id, false).await?;
    let started = Instant::now();
    let mut progress = Vec::new();
    let run = jobs::run_job(state, job.id);
    tokio::pin!(run);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    loop {
        tokio::select! {
            done = &mut run => { done?; break; }
            _ = tick.tick() => progress.push((
                started.elapsed().as_secs_f64(),
                jobs::progress_of(state, job.id),
            )),
        }
    }
    let commit_secs = started.elapsed().as_secs_f64();
    let j = jobs::get(cx, job.id).await?;
    if j.status != "done" {
        return Err(AppError::internal(format!(
            "the import did not complete: {} {:?}",
            j.status, j.error
        )));
    }
    Ok(Done {
        check_secs,
        commit_secs,
        counts: j.counts().unwrap_or_default(),
        progress,
    })
}

/// Schools averaged for the rates at the start and at the end of a city.
const EDGE: usize = 10;

/// `schools` schools of `size` students each, imported one after another into one database.
pub async fn city(config: Config, schools: u64, size: u64) -> AppResult<()> {
    let dir = std::env::temp_dir().join(format!("jy-bench-city-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).map_err(AppError::internal)?;
    let (fresh, mut cfg) = fresh_db("import city", &config).await?;
    cfg.data_dir = dir.join("data");
    let state = AppState::new(fresh.db.clone(), cfg, Clock::System);
    let result = city_in(&state, &dir, schools, size).await;
    fresh.drop_db().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn city_in(
    state: &AppState,
    dir: &std::path::Path,
    schools: u64,
    size: u64,
) -> AppResult<()> {
    directory::demo::load(state).await?;
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(state, &actor, &meta);
    let districts: Vec<(kernel::NodeId,)> = kernel::on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM org_nodes WHERE kind = 'district' ORDER BY code"
    ).fetch_all(p).await)?;
    let file = dir.join("school.csv");
    // The floor's rows lie past the city's (their phones and numbers are new).
    let mut floors = (1_000_000..).step_by(size as usize).map(|at| at..at + size);
    let floor_start = floor(&cx, &districts, dir, &mut floors).await?;
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    println!("  {schools} schools of {size} students, one after another (CSV, GBK):");
    let mut rates = Vec::new();
    let mut persons = 0u64;
    let started = Instant::now();
    for i in 0..schools {
        let school = new_school(&cx, &districts, format!("3133{i:06}"), i).await?;
        sample::write_csv(&file, i * size..(i + 1) * size, true, None)
            .map_err(AppError::internal)?;
        let done = check_and_commit(&cx, school, &file, |_, _| ()).await?;
        persons += done.counts.created + done.counts.family_created;
        rates.push((
            size as f64 / done.check_secs,
            size as f64 / done.commit_secs,
        ));
        let n = rates.len();
        if n == 1 || n.is_multiple_of(50) || n as u64 == schools {
            let recent = &rates[n.saturating_sub(EDGE)..];
            println!(
                "    after {n:>4} schools ({persons} persons, {:.0} s): check {:>6.0} rows/s, commit {:>6.0} rows/s (the last {}); RSS {:.0} MiB",
                started.elapsed().as_secs_f64(),
                mean(recent.iter().map(|r| r.0)),
                mean(recent.iter().map(|r| r.1)),
                recent.len(),
                crate::bench::status_mib("VmRSS:")
            );
        }
    }
    let floor_end = floor(&cx, &districts, dir, &mut floors).await?;
    let at_start = mean(rates.iter().take(EDGE).map(|r| r.1));
    let at_end = mean(rates.iter().rev().take(EDGE).map(|r| r.1));
    println!(
        "  commit: {at_start:.0} rows/s over the first {EDGE} schools, {at_end:.0} over the last {EDGE}: the end at {:.0}% of the start",
        100.0 * at_end / at_start
    );
    println!(
        "  floor (the same rows by the commit's multi-row INSERTs, no lookups): {floor_start:.0} rows/s into the empty region, {floor_end:.0} after the city"
    );
    println!(
        "  the commit as a share of the floor: {:.0}% at the start, {:.0}% at the end",
        100.0 * at_start / floor_start,
        100.0 * at_end / floor_end
    );
    println!("  peak RSS during the imports {:.0} MiB", peak_rss_mib());
    Ok(())
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n.max(1) as f64
}

/// A new primary school (its classes come with its first import), in the districts in turn.
async fn new_school(
    cx: &Ctx<'_>,
    districts: &[(kernel::NodeId,)],
    code: String,
    i: u64,
) -> AppResult<kernel::NodeId> {
    let (district,) = districts
        .get(i as usize % districts.len().max(1))
        .ok_or_else(|| AppError::internal("the demo region has no district"))?;
    let district = directory::nodes::get(cx, *district).await?;
    let mut school = crate::bench::node(
        NodeKind::School,
        Some(&district),
        format!("基准第{code}小学"),
        Some(code),
        cx.state.clock.now(),
    );
    school.school_type = Some(SchoolType::Primary.as_str().into());
    school.stages = Some(Stage::Primary.as_str().into());
    let mut tx = cx.db().begin().await?;
    directory::nodes::insert(&mut tx, &school).await?;
    tx.commit().await?;
    Ok(school.id)
}

/// Rows/s of [`directory::import::insert_plainly`]: the best of three new schools, each with
/// the next range of students from `ranges`.
async fn floor(
    cx: &Ctx<'_>,
    districts: &[(kernel::NodeId,)],
    dir: &std::path::Path,
    ranges: &mut impl Iterator<Item = std::ops::Range<u64>>,
) -> AppResult<f64> {
    let mut best = 0.0f64;
    for range in ranges.take(3) {
        let code = format!("3199{:06}", range.start / (range.end - range.start).max(1));
        let school = new_school(cx, districts, code, 0).await?;
        let file = dir.join("floor.csv");
        sample::write_csv(&file, range.clone(), true, None).map_err(AppError::internal)?;
        let node = directory::nodes::get(cx, school).await?;
        let stages = node.stage_list();
        let rows = directory::import::read_rows(&file, &stages).map_err(AppError::internal)?;
        let n = range.end - range.start;
        if rows.len() as u64 != n {
            return Err(AppError::internal(format!(
                "the floor's file gave {} rows of {n}",
                rows.len()
            )));
        }
        let target = directory::import::Target::new(node, kernel::ImportId::new(), cx.state);
        let started = Instant::now();
        directory::import::insert_plainly(cx.db(), &target, rows).await?;
        best = best.max(n as f64 / started.elapsed().as_secs_f64());
    }
    Ok(best)
}
