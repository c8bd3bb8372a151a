//! Importing a school's students with their guardians from a spreadsheet, in two steps: check
//! (every row against the rules and against the database, nothing written) and commit (the same
//! reading again, written in one transaction: all or nothing). Both read the file as a stream
//! in batches, on a blocking thread, while the database work goes on here.
//!
//! Re-importing the same file changes nothing: a student is found by registry number, and a row
//! whose content is what the last import of that student wrote (the `source_hash`) is left
//! alone. A changed row updates the record, moves the student if the class changed (closing the
//! class-history row) and replaces the family members.
//!
//! Staff (`staff`) and teaching assignments (`assignments`) are imported by the same jobs, with
//! the same two steps; [`Kind`] says which a job is.

pub mod pages;

pub mod assignments;
pub mod classes;
pub mod jobs;
pub mod sample;
pub mod slips;
pub mod staff;
pub mod staff_rows;
pub mod staff_sample;
mod store;
pub mod student_columns;
pub mod student_file;
pub mod student_rows;
pub mod template;

use crate::model::{Node, Stage};
use classes::ClassName;
use kernel::{AppError, Db, ImportId, PersonId};
use serde::{Deserialize, Serialize};
use sheets::check::{FileError, Header, Problem};
use std::ops::ControlFlow;
use std::path::Path;
use student_columns::{Column, StudentField as S};
use student_rows::StudentRow;

/// Rows read, looked up and written together.
pub const BATCH: usize = 500;
/// Problems kept for the report (all are counted).
pub const KEEP_PROBLEMS: usize = 10_000;

/// What a file holds (`import_jobs.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Students with their guardians (学生).
    Students,
    /// Staff (教职工信息).
    Staff,
    /// Teaching assignments (任课安排): teacher, class, subject, weekly periods.
    Assignments,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Students, Kind::Staff, Kind::Assignments];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Students => "students",
            Self::Staff => "staff",
            Self::Assignments => "assignments",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read and check only.
    Check,
    /// Write. `partial`: write the good rows and skip the bad ones; otherwise any problem
    /// writes nothing.
    Commit { partial: bool },
}

/// What a commit did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Bad rows left out of a partial commit.
    pub skipped: u64,
    pub family_created: u64,
    pub classes_created: u64,
    pub accounts_created: u64,
    /// Teaching assignments (teacher and head-teacher roles at classes) written.
    #[serde(default)]
    pub assignments: u64,
}

/// The school a file is imported into.
#[derive(Debug, Clone)]
pub struct Target {
    pub school: Node,
    pub stages: Vec<Stage>,
    pub import_id: ImportId,
    /// Who asked (for the audit record), and their name.
    pub actor: Option<(PersonId, String)>,
    /// The job's claim (its token): the commit is kept only if the claim still holds.
    pub lease: Option<String>,
    pub now: chrono::DateTime<chrono::Utc>,
    /// Today in the region's time zone (the school year and class-history dates follow it).
    pub today: chrono::NaiveDate,
}

impl Target {
    /// An import into `school` now, by the state's clock and time zone.
    pub fn new(school: Node, import_id: ImportId, state: &kernel::AppState) -> Self {
        let stages = school.stage_list();
        let now = state.clock.now();
        Self {
            school,
            stages,
            import_id,
            actor: None,
            lease: None,
            now,
            today: state.config.time_zone.date(now),
        }
    }
}

/// What reading (and perhaps writing) a file found.
#[derive(Debug)]
pub struct Outcome {
    pub header: Header,
    pub rows: u64,
    pub good: u64,
    pub problem_count: u64,
    /// The first [`KEEP_PROBLEMS`] problems.
    pub problems: Vec<Problem>,
    /// Set when the commit was written.
    pub counts: Option<Counts>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    App(#[from] AppError),
}

/// A checked row with its class read, or its problems.
enum Item {
    Good(Box<StudentRow>, ClassName),
    Bad(Vec<Problem>),
}

/// Reads `path` and checks (or commits) it for `target`. `progress` hears the rows read so far.
pub async fn run(
    db: &Db,
    target: &Target,
    path: &Path,
    mode: Mode,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outcome, ImportError> {
    let (send, mut recv) = tokio::sync::mpsc::channel::<(store::Columns, Vec<Item>)>(4);
    let stages = target.stages.clone();
    let file = path.to_owned();
    let reader = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(BATCH);
        let mut cols = store::Columns::default();
        let header = student_file::scan(&file, |layout, r| {
            cols = store::Columns {
                registry_no: layout.position(Column::Student(S::RegistryNo)),
                id_number: layout.position(Column::Student(S::IdNumber)),
            };
            batch.push(match r {
                Ok(row) => match classes::parse(&row.class, row.grade.as_deref(), &stages) {
                    Some(c) => Item::Good(Box::new(row), c),
                    None => Item::Bad(vec![Problem {
                        row: row.row,
                        column: layout.position(Column::Student(S::Class)),
                        value: row.class.clone(),
                        key: "error.import.class_unreadable",
                        other_row: None,
                        elsewhere: None,
                        accepted: None,
                    }]),
                },
                Err(p) => Item::Bad(p),
            });
            if batch.len() >= BATCH
                && send
                    .blocking_send((cols, std::mem::take(&mut batch)))
                    .is_err()
            {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if !batch.is_empty() {
            let _ = send.blocking_send((cols, batch));
        }
        header
    });

    let mut writer = match mode {
        Mode::Commit { .. } => Some(store::Writer::start(db, target).await?),
        Mode::Check => None,
    };
    // Checking reads through a transaction of its own on PostgreSQL (for its plans; see
    // `store::plan_each_batch`); on SQLite through the pool, without taking the write turn.
    let mut reading = match (&writer, db) {
        (None, Db::Postgres(_)) => {
            let mut tx = db.begin().await?;
            store::plan_each_batch(&mut tx, true).await?;
            Some(tx)
        }
        _ => None,
    };
    let partial = matches!(mode, Mode::Commit { partial: true });
    let (mut rows, mut good_count, mut problem_count) = (0u64, 0u64, 0u64);
    let mut problems = Vec::new();
    let mut keep = |ps: Vec<Problem>, count: &mut u64| {
        *count += ps.len() as u64;
        let room = KEEP_PROBLEMS.saturating_sub(problems.len());
        problems.extend(ps.into_iter().take(room));
    };
    while let Some((cols, batch)) = recv.recv().await {
        rows += batch.len() as u64;
        let mut good = Vec::with_capacity(batch.len());
        for item in batch {
            match item {
                Item::Good(row, class) => good.push((*row, class)),
                Item::Bad(ps) => keep(ps, &mut problem_count),
            }
        }
        let found = match (&mut writer, &mut reading) {
            (Some(w), _) => {
                store::plan_each_batch(w.tx(), true).await?;
                store::find(store::Conn::Tx(w.tx()), &good).await?
            }
            (None, Some(tx)) => store::find(store::Conn::Tx(tx), &good).await?,
            (None, None) => store::find(store::Conn::Pool(db), &good).await?,
        };
        let (good, bad) = store::check_against(target, cols, good, &found);
        keep(bad, &mut problem_count);
        good_count += good.len() as u64;
        // Without `partial`, the first problem means nothing will be written: keep reading to
        // report them all, but stop writing.
        if problem_count > 0 && !partial {
            writer = None;
        }
        if let Some(w) = &mut writer {
            w.write(good, &found).await?;
        }
        progress(rows);
    }
    let header = reader.await.map_err(AppError::internal)??;
    let counts = match writer {
        Some(mut w) => {
            w.counts.skipped = rows - good_count;
            Some(w.finish(rows, problem_count).await?)
        }
        None => None,
    };
    Ok(Outcome {
        header,
        rows,
        good: good_count,
        problem_count,
        problems,
        counts,
    })
}

/// A file's readable rows with their classes, in memory (the import benchmark's floor takes them
/// so that its timing holds the writes alone). Rows with problems are left out.
pub fn read_rows(path: &Path, stages: &[Stage]) -> Result<Vec<(StudentRow, ClassName)>, FileError> {
    let mut rows = Vec::new();
    student_file::scan(path, |_, r| {
        if let Ok(row) = r
            && let Some(c) = classes::parse(&row.class, row.grade.as_deref(), stages)
        {
            rows.push((row, c));
        }
        ControlFlow::Continue(())
    })?;
    Ok(rows)
}

/// The floor an import's commit is measured against: `rows` written for `target` by the
/// commit's own multi-row INSERTs in batches of [`BATCH`], each row a new student with new
/// guardians, with no lookup, no check against what is stored and no record, in one
/// transaction.
pub async fn insert_plainly(
    db: &Db,
    target: &Target,
    rows: Vec<(StudentRow, ClassName)>,
) -> Result<(), AppError> {
    let mut writer = store::Writer::start(db, target).await?;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        writer
            .write_new(rows.by_ref().take(BATCH).collect())
            .await?;
    }
    writer.commit_unrecorded().await
}

/// The hash of what a row says, ignoring where in the file it stands.
fn source_hash(row: &StudentRow, class: &ClassName) -> String {
    let mut r = row.clone();
    r.row = 0;
    kernel::secret::token_hash(&format!("{r:?}{class:?}"))
}

/// The import pages (the upload itself is in [`upload_routes`]).
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/admin/org/{id}/imports", get(pages::list))
        .route(
            "/admin/imports/template.xlsx",
            get(pages::template_download),
        )
        .route("/admin/imports", get(pages::mine))
        .route("/admin/imports/{id}", get(pages::show))
        .route("/admin/imports/{id}/commit", post(pages::commit))
        .route("/admin/imports/{id}/discard", post(pages::discard))
        .route("/admin/imports/{id}/errors.xlsx", get(pages::error_copy))
}

/// The spreadsheet upload, served under its own body-size limit.
pub fn upload_routes() -> axum::Router<kernel::AppState> {
    axum::Router::new().route(
        "/admin/org/{id}/imports",
        axum::routing::post(pages::upload),
    )
}
