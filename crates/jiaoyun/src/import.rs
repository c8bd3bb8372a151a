//! `jiaoyun import`: base-data files from the command line. `check` reads a file alone (no
//! database); `students`, `staff` and `assignments` import one into a school through the same
//! job as the web pages: checked, then, with `--commit`, committed in one transaction.

use clap::{Args, Subcommand};
use directory::import::student_file;
use directory::import::{Kind, jobs};
use kernel::{Actor, AppState, Ctx, Locale, RequestMeta};
use sheets::report;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Check a student file (XLSX, XLS or CSV in UTF-8 or GBK) and list every problem by row and
    /// column, without changing anything.
    Check {
        file: PathBuf,
        /// Also write the file as XLSX with a column naming each row's problems.
        #[arg(long)]
        errors: Option<PathBuf>,
        /// Language of the messages: zh-CN (default) or en.
        #[arg(long, default_value = "zh-CN")]
        lang: String,
        /// List at most this many problems (the error copy has them all).
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// Import a school's students and their guardians: check against the rules and the
    /// database, and with --commit write them (all or nothing unless --partial).
    Students(SchoolImport),
    /// Import a school's staff (教职工信息): persons, staff records, accounts without a password
    /// yet, the teacher role; the same steps as `students`.
    Staff(SchoolImport),
    /// Import a school's teaching assignments (任课安排: 工号, 班级, 学科, 周课时, 是否班主任):
    /// each teacher named gets the file's classes; missing classes are created.
    Assignments(SchoolImport),
}

/// A file to import into a school.
#[derive(Args)]
pub struct SchoolImport {
    file: PathBuf,
    /// The school's 10-digit code.
    #[arg(long)]
    school: String,
    /// Write the rows once the file is checked.
    #[arg(long)]
    commit: bool,
    /// With --commit: write the good rows and leave out the bad ones.
    #[arg(long)]
    partial: bool,
    /// Write the file as XLSX with a column naming each row's problems, if it has any.
    #[arg(long)]
    errors: Option<PathBuf>,
    #[arg(long, default_value = "zh-CN")]
    lang: String,
    #[arg(long, default_value_t = 200)]
    limit: usize,
}

fn locale(lang: &str) -> Locale {
    if lang == "en" {
        Locale::En
    } else {
        Locale::ZhCn
    }
}

/// Checks a file without the database; the result says whether the file is clean.
pub fn check(cmd: ImportCommand) -> Result<bool, Box<dyn std::error::Error>> {
    let ImportCommand::Check {
        file,
        errors,
        lang,
        limit,
    } = cmd
    else {
        return Err("not a check".into());
    };
    let locale = locale(&lang);
    let t = |k: &str| kernel::i18n::t(locale, k).to_owned();
    let started = std::time::Instant::now();
    // Every problem when an error copy is asked for (it names them all, row by row); else
    // only those listed, so a file of any length is checked in bounded memory.
    let keep = if errors.is_some() { usize::MAX } else { limit };
    let check = match student_file::check_file(&file, keep) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {} ({e})", file.display(), t(&e.key()));
            return Ok(false);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    for n in report::column_notes(&check.header, locale) {
        println!("{n}");
    }
    for p in check.problems.iter().take(limit) {
        println!("{}", report::describe(&check.header.headers, p, locale));
    }
    if check.problem_count > limit {
        println!("… {} more", check.problem_count - limit);
    }
    println!(
        "{}: {:?}, header on row {}, {} rows, {} without problems, {} problems; {:.2} s ({:.0} rows/s)",
        file.display(),
        check.header.format,
        check.header.header_row,
        check.rows,
        check.good,
        check.problem_count,
        secs,
        check.rows as f64 / secs.max(1e-9),
    );
    if let Some(out) = errors {
        report::error_copy(
            &file,
            &check.header,
            &check.problems,
            &t("import.errors_heading"),
            |p| report::describe(&check.header.headers, p, locale),
            &out,
        )?;
        println!("error copy written to {}", out.display());
    }
    Ok(check.problem_count == 0)
}

/// Imports a student, staff or teaching-assignment file into a school; the result says whether
/// it was written (or, without --commit, whether it is clean).
pub async fn students(
    state: AppState,
    cmd: ImportCommand,
) -> Result<bool, Box<dyn std::error::Error>> {
    let (kind, args) = match cmd {
        ImportCommand::Students(a) => (Kind::Students, a),
        ImportCommand::Staff(a) => (Kind::Staff, a),
        ImportCommand::Assignments(a) => (Kind::Assignments, a),
        ImportCommand::Check { .. } => return Err("not a school import".into()),
    };
    let SchoolImport {
        file,
        school,
        commit,
        partial,
        errors,
        lang,
        limit,
    } = args;
    let locale = locale(&lang);
    let actor = Actor::system();
    let meta = RequestMeta::cli();
    let cx = Ctx::new(&state, &actor, &meta);
    let node = directory::nodes::find_by_code(&cx, school.trim())
        .await?
        .filter(|n| n.kind.as_str() == "school")
        .ok_or_else(|| format!("no school with the code {school}"))?;
    // The job keeps its own copy of the file.
    let staging = state
        .config
        .data_dir
        .join("imports")
        .join(format!("cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(staging.parent().unwrap_or(&state.config.data_dir))?;
    std::fs::copy(&file, &staging)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let job = jobs::create_kind(&cx, kind, node.id, &name, &staging, locale).await?;
    println!(
        "import {} ({}) of {} into {} ({})",
        job.id,
        kind.as_str(),
        name,
        node.name,
        school
    );
    let started = std::time::Instant::now();
    run_showing_progress(&state, job.id, "checking").await?;
    let job = jobs::get(&cx, job.id).await?;
    let secs = started.elapsed().as_secs_f64();
    if let Some(e) = &job.error {
        eprintln!("{}: {}", file.display(), kernel::i18n::t(locale, e));
        return Ok(false);
    }
    let report = job.report();
    for line in report.lines.iter().take(limit) {
        println!("{}", line.message);
    }
    if job.problem_count as usize > limit.min(report.lines.len()) {
        println!(
            "… {} more",
            job.problem_count as usize - limit.min(report.lines.len())
        );
    }
    println!(
        "checked: {} rows, {} good, {} problems; {:.2} s ({:.0} rows/s)",
        job.total_rows,
        job.good_rows,
        job.problem_count,
        secs,
        job.total_rows as f64 / secs.max(1e-9)
    );
    if let Some(out) = errors
        && job.problem_count > 0
    {
        std::fs::copy(jobs::errors_path(&state, &job), &out)?;
        println!("error copy written to {}", out.display());
    }
    if !commit {
        return Ok(job.problem_count == 0);
    }
    if job.problem_count > 0 && !partial {
        println!("nothing written: the file has problems (fix them, or use --partial)");
        return Ok(false);
    }
    jobs::commit(&cx, job.id, partial).await?;
    let started = std::time::Instant::now();
    run_showing_progress(&state, job.id, "committing").await?;
    let job = jobs::get(&cx, job.id).await?;
    let secs = started.elapsed().as_secs_f64();
    match job.counts() {
        Some(c) if job.status == "done" => {
            println!(
                "committed: {} created, {} updated, {} unchanged, {} skipped; {} family members, {} classes, {} accounts created, {} assignments written; {:.2} s ({:.0} rows/s)",
                c.created,
                c.updated,
                c.unchanged,
                c.skipped,
                c.family_created,
                c.classes_created,
                c.accounts_created,
                c.assignments,
                secs,
                job.total_rows as f64 / secs.max(1e-9)
            );
            Ok(true)
        }
        _ => {
            println!(
                "nothing written ({}): {} problems",
                job.status, job.problem_count
            );
            for line in job.report().lines.iter().take(limit) {
                println!("{}", line.message);
            }
            Ok(false)
        }
    }
}

/// Runs the job here, printing the rows read every second.
async fn run_showing_progress(
    state: &AppState,
    id: kernel::ImportId,
    step: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let shown = {
        let state = state.clone();
        let step = step.to_owned();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let rows = jobs::progress_of(&state, id);
                println!("{step}: {rows} rows");
            }
        })
    };
    let ran = jobs::run_job(state, id).await;
    shown.abort();
    if !ran? {
        return Err("the import is held by another process".into());
    }
    Ok(())
}
