//! Import jobs. A file uploaded for a school is stored under the data directory and checked,
//! then (when someone asks) committed; each step runs in the background on whichever node
//! claims it. A running job holds a lease that its node renews; a job whose lease ran out was
//! interrupted (its node stopped: a commit's transaction never committed, so nothing of it is
//! stored) and is run again from the start by the next node that looks, up to three times.

use super::{ImportError, Kind, Mode, Outcome, Target};
use crate::model::NodeKind;
use crate::nodes;
use chrono::{DateTime, Duration, Utc};
use kernel::authz::{self, Permission};
use kernel::{
    AppError, AppResult, AppState, AuditEvent, Ctx, FieldErrors, ImportId, Locale, NodeId,
    PersonId, on_db,
};
use serde::{Deserialize, Serialize};
use sheets::report;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How long a claim lasts without renewal, and how often the running node renews it.
pub const LEASE_SECONDS: i64 = 60;
const RENEW_SECONDS: u64 = 15;
/// Runs of one step before the job is given up as failing.
const MAX_ATTEMPTS: i64 = 3;
/// Problems kept in words on the job's report (the error copy has every row's).
pub const REPORT_LINES: usize = 1000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Job {
    pub id: ImportId,
    pub school_id: NodeId,
    pub kind: String,
    pub file_name: String,
    #[serde(skip)]
    pub file_key: String,
    pub file_hash: String,
    pub file_size: i64,
    /// checking | checked | committing | done | failed | discarded
    pub status: String,
    pub partial: bool,
    pub locale: String,
    pub progress_rows: i64,
    pub total_rows: i64,
    pub good_rows: i64,
    pub problem_count: i64,
    #[serde(skip)]
    pub report: Option<String>,
    /// The commit's counts (JSON).
    pub result: Option<String>,
    /// The message key of what stopped the job.
    pub error: Option<String>,
    pub attempts: i64,
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
    /// The node that holds the job's claim (while it runs).
    pub lease_node: Option<String>,
    /// The claim's own token: the job's updates apply only while it still holds.
    #[serde(skip)]
    pub lease_token: Option<String>,
    pub created_by: Option<PersonId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The checking report kept on the job: the file's headers and the first problems in words.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub header_row: u32,
    pub headers: Vec<String>,
    pub lines: Vec<ReportLine>,
    /// The columns whose values are not imported (unknown headers, fields named twice).
    #[serde(default)]
    pub ignored_columns: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportLine {
    pub row: u32,
    pub message: String,
}

impl Job {
    pub fn report(&self) -> Report {
        self.report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default()
    }
    pub fn counts(&self) -> Option<super::Counts> {
        self.result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
    }
    /// What the file holds.
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Students)
    }
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "checking" | "committing")
    }
}

/// Rows read by the jobs this process runs (the database has them only every few seconds).
#[derive(Default)]
struct Progress(Mutex<HashMap<ImportId, u64>>);

/// Wakes this process's runner when a job is queued.
#[derive(Default)]
struct Wake(tokio::sync::Notify);

fn dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("imports")
}

/// Where the job's file is kept.
pub fn file_path(state: &AppState, job: &Job) -> PathBuf {
    dir(state).join(&job.file_key)
}

/// Where the copy of the file with its problems is written (when it has any).
pub fn errors_path(state: &AppState, job: &Job) -> PathBuf {
    dir(state).join(format!("{}-errors.xlsx", job.id))
}

/// The rows read so far (from this process if it runs the job, else from the database).
pub fn progress(state: &AppState, job: &Job) -> u64 {
    progress_of(state, job.id).max(job.progress_rows.max(0) as u64)
}

/// The rows read so far by this process's run of the job.
pub fn progress_of(state: &AppState, id: ImportId) -> u64 {
    state
        .cache::<Progress>()
        .0
        .lock()
        .map(|m| m.get(&id).copied().unwrap_or(0))
        .unwrap_or(0)
}

async fn load(state: &AppState, id: ImportId) -> AppResult<Option<Job>> {
    Ok(
        on_db!(&state.db, p => sqlx::query_as("SELECT * FROM import_jobs WHERE id = $1")
        .bind(id).fetch_optional(p).await)?,
    )
}

/// A job of a school the actor manages people of; others look the same as unknown.
pub async fn get(cx: &Ctx<'_>, id: ImportId) -> AppResult<Job> {
    let job = load(cx.state, id)
        .await?
        .ok_or(AppError::NotFound("directory.import_not_found"))?;
    authz::require_visible(
        cx.db(),
        cx.actor,
        Permission::ManagePeople,
        job.school_id,
        "directory.import_not_found",
    )
    .await?;
    Ok(job)
}

/// A school's imports, newest first.
pub async fn list(cx: &Ctx<'_>, school: NodeId) -> AppResult<Vec<Job>> {
    authz::require_visible(
        cx.db(),
        cx.actor,
        Permission::ManagePeople,
        school,
        "directory.node_not_found",
    )
    .await?;
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT * FROM import_jobs WHERE school_id = $1 ORDER BY created_at DESC LIMIT 50",
    ).bind(school).fetch_all(p).await)?)
}

/// Stores an uploaded student file for `school` and queues its check. `upload` is moved into
/// the data directory.
pub async fn create(
    cx: &Ctx<'_>,
    school: NodeId,
    file_name: &str,
    upload: &Path,
    locale: Locale,
) -> AppResult<Job> {
    create_kind(cx, Kind::Students, school, file_name, upload, locale).await
}

/// Stores an uploaded file of any kind for `school` and queues its check.
pub async fn create_kind(
    cx: &Ctx<'_>,
    kind: Kind,
    school: NodeId,
    file_name: &str,
    upload: &Path,
    locale: Locale,
) -> AppResult<Job> {
    let node = nodes::find(cx.db(), school)
        .await?
        .ok_or_else(|| AppError::field("school_id", "error.directory.node_not_found"))?;
    if !authz::may(cx.db(), cx.actor, Permission::ManagePeople, node.id).await? {
        return Err(AppError::field(
            "school_id",
            "error.directory.node_not_found",
        ));
    }
    if node.kind() != Some(NodeKind::School) || !node.active {
        return Err(AppError::field("school_id", "error.import.not_a_school"));
    }
    let name: String = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if name.trim().is_empty() {
        return Err(AppError::field("file", "error.required"));
    }
    let id = ImportId::new();
    let key = format!("{id}.upload");
    let target = dir(cx.state).join(&key);
    let (hash, size) = store_file(upload.to_owned(), target.clone()).await?;
    if size == 0 {
        let _ = tokio::fs::remove_file(&target).await;
        return Err(AppError::field("file", "error.import.empty_file"));
    }
    let created_by = (!cx.actor.is_system()).then_some(cx.actor.person_id);
    let mut tx = cx.begin().await?;
    kernel::on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO import_jobs (id, school_id, kind, file_name, file_key, file_hash, file_size, status, locale,
                                  created_by, created_at, updated_at)
         VALUES ($1, $2, $10, $3, $4, $5, $6, 'checking', $7, $8, $9, $9)",
    ).bind(id).bind(school).bind(&name).bind(&key).bind(&hash).bind(size).bind(locale.tag())
    .bind(created_by).bind(cx.now).bind(kind.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("import.upload")
            .object("import", id)
            .node(school)
            .detail(serde_json::json!({ "file": name, "size": size, "sha256": hash, "kind": kind.as_str() })),
    )
    .await?;
    tx.commit().await?;
    wake(cx.state);
    load(cx.state, id)
        .await?
        .ok_or(AppError::NotFound("directory.import_not_found"))
}

/// Moves (or copies, across file systems) the upload into place; returns its SHA-256 and size.
async fn store_file(from: PathBuf, to: PathBuf) -> AppResult<(String, i64)> {
    tokio::task::spawn_blocking(move || -> std::io::Result<(String, i64)> {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        if let Some(d) = to.parent() {
            std::fs::create_dir_all(d)?;
        }
        if std::fs::rename(&from, &to).is_err() {
            std::fs::copy(&from, &to)?;
        }
        let mut f = std::fs::File::open(&to)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0i64;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            size += n as i64;
            h.update(&buf[..n]);
        }
        Ok((format!("{:x}", h.finalize()), size))
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// Asks for the checked file to be committed. Without `partial`, a file with problems is
/// refused: all or nothing.
pub async fn commit(cx: &Ctx<'_>, id: ImportId, partial: bool) -> AppResult<Job> {
    let job = get(cx, id).await?;
    if job.status != "checked" {
        return Err(AppError::Conflict(
            "directory.import_not_checked",
            FieldErrors::new(),
        ));
    }
    if job.problem_count > 0 && !partial {
        return Err(AppError::Conflict(
            "directory.import_has_problems",
            FieldErrors::new(),
        ));
    }
    if job.good_rows == 0 {
        return Err(AppError::Conflict(
            "directory.import_nothing_to_commit",
            FieldErrors::new(),
        ));
    }
    let mut tx = cx.begin().await?;
    let n = kernel::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE import_jobs SET status = 'committing', partial = $2, attempts = 0, progress_rows = 0, updated_at = $3
         WHERE id = $1 AND status = 'checked'",
    ).bind(id).bind(partial).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict(
            "directory.import_not_checked",
            FieldErrors::new(),
        ));
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("import.commit_requested")
            .object("import", id)
            .node(job.school_id)
            .detail(serde_json::json!({ "partial": partial })),
    )
    .await?;
    tx.commit().await?;
    wake(cx.state);
    get(cx, id).await
}

/// Throws a checked (or failed) job away with its files.
pub async fn discard(cx: &Ctx<'_>, id: ImportId) -> AppResult<Job> {
    let job = get(cx, id).await?;
    let mut tx = cx.begin().await?;
    let n = kernel::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE import_jobs SET status = 'discarded', updated_at = $2 WHERE id = $1 AND status IN ('checked', 'failed')",
    ).bind(id).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict(
            "directory.import_not_discardable",
            FieldErrors::new(),
        ));
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("import.discard")
            .object("import", id)
            .node(job.school_id),
    )
    .await?;
    tx.commit().await?;
    let _ = tokio::fs::remove_file(file_path(cx.state, &job)).await;
    let _ = tokio::fs::remove_file(errors_path(cx.state, &job)).await;
    get(cx, id).await
}

fn wake(state: &AppState) {
    state.cache::<Wake>().0.notify_one();
}

/// Runs queued jobs for as long as the process lives.
pub async fn runner(state: AppState) {
    let wake = state.cache::<Wake>();
    loop {
        match run_next(&state).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "import job runner"),
        }
        tokio::select! {
            _ = wake.0.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
        }
    }
}

/// Claims and runs the oldest job that waits (or whose runner stopped); returns its id.
pub async fn run_next(state: &AppState) -> AppResult<Option<ImportId>> {
    let now = state.clock.now();
    let candidates: Vec<(ImportId,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id FROM import_jobs WHERE status IN ('checking', 'committing')
           AND (lease_until IS NULL OR lease_until < $1) ORDER BY created_at LIMIT 5",
    ).bind(now).fetch_all(p).await)?;
    for (id,) in candidates {
        if let Some(job) = claim(state, id, now).await? {
            run_claimed(state, job).await?;
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Runs one job now (the command line's own), if no other node holds it; returns whether it ran.
pub async fn run_job(state: &AppState, id: ImportId) -> AppResult<bool> {
    match claim(state, id, state.clock.now()).await? {
        Some(job) => run_claimed(state, job).await.map(|()| true),
        None => Ok(false),
    }
}

/// Takes the job if no other node holds it, under a token of this claim's own.
async fn claim(state: &AppState, id: ImportId, now: DateTime<Utc>) -> AppResult<Option<Job>> {
    let mut tx = state.db.begin().await?;
    let n = kernel::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE import_jobs SET lease_until = $2, attempts = attempts + 1, updated_at = $3,
                lease_node = $4, lease_token = $5
         WHERE id = $1 AND status IN ('checking', 'committing') AND (lease_until IS NULL OR lease_until < $3)",
    ).bind(id).bind(now + Duration::seconds(LEASE_SECONDS)).bind(now)
    .bind(state.config.node_name()).bind(uuid::Uuid::now_v7().to_string())
    .execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    if n == 0 {
        return Ok(None);
    }
    load(state, id).await
}

/// Sets the job's final fields (outside a commit's transaction), if its claim still holds.
async fn settle(state: &AppState, job: &Job, fields: Settle) -> AppResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    kernel::on_tx!(&mut tx, c => sqlx::query(
        "UPDATE import_jobs SET status = $2, total_rows = $3, good_rows = $4, problem_count = $5, report = $6,
                error = $7, progress_rows = $3, lease_until = NULL, lease_node = NULL, updated_at = $8,
                finished_at = CASE WHEN $2 = 'failed' THEN $8 ELSE finished_at END
         WHERE id = $1 AND status IN ('checking', 'committing') AND COALESCE(lease_token, '') = COALESCE($9, '')",
    ).bind(job.id).bind(fields.status).bind(fields.rows).bind(fields.good).bind(fields.problems)
    .bind(fields.report).bind(fields.error).bind(now).bind(job.lease_token.as_deref())
    .execute(c).await.map(|r| r.rows_affected()))?;
    tx.commit().await
}

struct Settle {
    status: &'static str,
    rows: i64,
    good: i64,
    problems: i64,
    report: Option<String>,
    error: Option<String>,
}

impl Settle {
    fn failed(key: String) -> Self {
        Self {
            status: "failed",
            rows: 0,
            good: 0,
            problems: 0,
            report: None,
            error: Some(key),
        }
    }
}

async fn run_claimed(state: &AppState, job: Job) -> AppResult<()> {
    if job.attempts > MAX_ATTEMPTS {
        return settle(
            state,
            &job,
            Settle::failed("error.import.interrupted".into()),
        )
        .await;
    }
    let Some(school) = nodes::find(&state.db, job.school_id).await? else {
        return settle(
            state,
            &job,
            Settle::failed("error.directory.node_not_found".into()),
        )
        .await;
    };
    let mut target = Target::new(school, job.id, state);
    target.lease = job.lease_token.clone();
    if let Some(by) = job.created_by {
        let name: Option<(String,)> = on_db!(&state.db, p => sqlx::query_as("SELECT name FROM persons WHERE id = $1")
            .bind(by).fetch_optional(p).await)?;
        target.actor = Some((by, name.map(|n| n.0).unwrap_or_default()));
    }
    let mode = if job.status == "committing" {
        Mode::Commit {
            partial: job.partial,
        }
    } else {
        Mode::Check
    };
    let progress_map = state.cache::<Progress>();
    let renew = tokio::spawn(renew_lease(state.clone(), job.id, job.lease_token.clone()));
    let path = file_path(state, &job);
    let report_progress = |rows: u64| {
        if let Ok(mut m) = progress_map.0.lock() {
            m.insert(job.id, rows);
        }
    };
    let outcome = match Kind::parse(&job.kind) {
        Some(Kind::Students) | None => {
            super::run(&state.db, &target, &path, mode, &report_progress).await
        }
        Some(Kind::Staff) => {
            super::staff::run(&state.db, &target, &path, mode, &report_progress).await
        }
        Some(Kind::Assignments) => {
            super::assignments::run(&state.db, &target, &path, mode, &report_progress).await
        }
    };
    renew.abort();
    if let Ok(mut m) = progress_map.0.lock() {
        m.remove(&job.id);
    }
    let locale = Locale::parse(&job.locale).unwrap_or_default();
    match outcome {
        // A commit that wrote: the job was marked done in its transaction. The next import's
        // lookups are planned with statistics that know what this one wrote.
        Ok(Outcome {
            counts: Some(_), ..
        }) => {
            let tables = [
                "persons",
                "accounts",
                "students",
                "staff",
                "role_assignments",
                "family_members",
                "class_history",
            ];
            if let Err(e) = state.db.refresh_statistics(&tables).await {
                tracing::warn!(error = %e, "statistics after an import");
            }
            Ok(())
        }
        Ok(o) => {
            let report = report_of(&o, locale);
            if o.problem_count > 0 {
                write_error_copy(state, &job, &o, locale).await;
            } else {
                let _ = tokio::fs::remove_file(errors_path(state, &job)).await;
            }
            settle(
                state,
                &job,
                Settle {
                    status: "checked",
                    rows: o.rows as i64,
                    good: o.good as i64,
                    problems: o.problem_count as i64,
                    report: serde_json::to_string(&report).ok(),
                    error: None,
                },
            )
            .await
        }
        Err(ImportError::File(e)) => settle(state, &job, Settle::failed(e.key())).await,
        Err(ImportError::App(e)) => {
            tracing::error!(error = %e, import = %job.id, "import job failed");
            // Leave the lease to run out: a database outage is retried, up to MAX_ATTEMPTS.
            Err(e)
        }
    }
}

/// Keeps the claim alive and the database's progress current while the job runs.
async fn renew_lease(state: AppState, id: ImportId, token: Option<String>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(RENEW_SECONDS));
    tick.tick().await;
    loop {
        tick.tick().await;
        let rows = progress_of(&state, id) as i64;
        let now = state.clock.now();
        let renewed = async {
            let mut tx = state.db.begin().await?;
            kernel::on_tx!(&mut tx, c => sqlx::query(
                "UPDATE import_jobs SET lease_until = $2, progress_rows = $3
                 WHERE id = $1 AND status IN ('checking', 'committing') AND COALESCE(lease_token, '') = COALESCE($4, '')",
            ).bind(id).bind(now + Duration::seconds(LEASE_SECONDS)).bind(rows).bind(token.as_deref())
            .execute(c).await.map(|r| r.rows_affected()))?;
            tx.commit().await
        };
        if let Err(e) = renewed.await {
            tracing::warn!(error = %e, import = %id, "import lease not renewed");
        }
    }
}

fn report_of(o: &Outcome, locale: Locale) -> Report {
    Report {
        format: format!("{:?}", o.header.format),
        header_row: o.header.header_row,
        headers: o.header.headers.clone(),
        lines: o
            .problems
            .iter()
            .take(REPORT_LINES)
            .map(|p| ReportLine {
                row: p.row,
                message: report::describe(&o.header.headers, p, locale),
            })
            .collect(),
        ignored_columns: report::column_notes(&o.header, locale),
    }
}

async fn write_error_copy(state: &AppState, job: &Job, o: &Outcome, locale: Locale) {
    let src = file_path(state, job);
    let out = errors_path(state, job);
    let problems = o.problems.clone();
    let header = o.header.clone();
    let written = tokio::task::spawn_blocking(move || {
        let heading = kernel::i18n::t(locale, "import.errors_heading");
        report::error_copy(
            &src,
            &header,
            &problems,
            heading,
            |p| report::describe(&header.headers, p, locale),
            &out,
        )
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::warn!(import = %job.id, "error copy not written");
    }
}
