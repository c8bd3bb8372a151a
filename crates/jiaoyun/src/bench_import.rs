//! `jiaoyun bench import`: generates a student file (with one or two guardians per student) as
//! CSV and as XLSX, then imports it into one school of the demo region through the same job as
//! the pages: the check, then the commit. Prints rows per second for each step and the peak
//! resident memory of each run.

use crate::bench::{fresh_db, peak_rss_mib};
use clap::ValueEnum;
use directory::import::{jobs, sample};
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
    // The job keeps (moves) its own copy.
    let staged = file.with_extension("staged");
    std::fs::copy(file, &staged).map_err(AppError::internal)?;
    // Peak memory from here on (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let job = jobs::create(&cx, school.id, "students", &staged, Locale::ZhCn).await?;
    let started = Instant::now();
    jobs::run_job(state, job.id).await?;
    let checked = started.elapsed().as_secs_f64();
    let j = jobs::get(&cx, job.id).await?;
    println!(
        "  check:  {} rows, {} problems in {:.1} s: {:.0} rows/s; peak RSS {:.0} MiB",
        j.total_rows,
        j.problem_count,
        checked,
        j.total_rows as f64 / checked,
        peak_rss_mib()
    );
    jobs::commit(&cx, job.id, false).await?;
    let started = Instant::now();
    jobs::run_job(state, job.id).await?;
    let committed = started.elapsed().as_secs_f64();
    let j = jobs::get(&cx, job.id).await?;
    let c = j.counts().unwrap_or_default();
    println!(
        "  commit: {} students and {} guardians ({} accounts) in {:.1} s: {:.0} rows/s; peak RSS {:.0} MiB",
        c.created,
        c.family_created,
        c.accounts_created,
        committed,
        students as f64 / committed,
        peak_rss_mib()
    );
    println!(
        "  check + commit: {:.0} rows/s",
        students as f64 / (checked + committed)
    );
    if j.status != "done" {
        return Err(AppError::internal(format!(
            "the import did not complete: {} {:?}",
            j.status, j.error
        )));
    }
    Ok(())
}
