//! Importing a school's students, staff or teaching assignments from a spreadsheet: upload
//! (checked in the background), the report with the error copy, then commit or discard. Pages
//! under `/admin/org/{school}/imports` and `/admin/imports/{id}`.

use crate::import::jobs::{self, Job, Report};
use crate::import::{Counts, Kind, template};
use crate::model::Node;
use crate::nodes;
use askama::Template;
use axum::extract::{Multipart, Path, Query};
use axum::response::{IntoResponse, Response};
use kernel::{AppError, AppResult, AppState, Ctx, ImportId, NodeId};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use web::{CsrfForm, IdPath, Page, PageCtx, Session, redirect, render};
use web::{XLSX, attachment, parse_id};

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    ctx: PageCtx,
    school: Node,
    jobs: Vec<Job>,
    error: Option<String>,
}

impl ImportsPage {
    fn status(&self, s: &str) -> String {
        self.ctx.t(&format!("import.status_{s}")).to_owned()
    }
    fn kinds(&self) -> [(&'static str, String); 3] {
        Kind::ALL.map(|k| (k.as_str(), self.ctx.t(kind_key(k)).to_owned()))
    }
    fn kind_name(&self, kind: &str) -> String {
        self.ctx
            .t(kind_key(Kind::parse(kind).unwrap_or(Kind::Students)))
            .to_owned()
    }
}

fn kind_key(k: Kind) -> &'static str {
    match k {
        Kind::Students => "staff_import.kind_students",
        Kind::Staff => "staff_import.kind_staff",
        Kind::Assignments => "staff_import.kind_assignments",
    }
}

async fn list_page(
    cx: &Ctx<'_>,
    session: &Session,
    school: NodeId,
    error: Option<String>,
) -> AppResult<Response> {
    let school = nodes::get(cx, school).await?;
    let jobs = jobs::list(cx, school.id).await?;
    Ok(render(&ImportsPage {
        ctx: PageCtx::for_session(session),
        school,
        jobs,
        error,
    }))
}

pub async fn list(page: Page, Path(id): Path<String>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    list_page(&cx, session, parse_id(&id)?, None).await
}

/// The upload: the CSRF token and the file, streamed to a staging file as it arrives.
pub async fn upload(
    page: Page,
    Path(id): Path<String>,
    mut form: Multipart,
) -> AppResult<Response> {
    let Page { state, session, .. } = &page;
    let school: NodeId = parse_id(&id)?;
    let cx = page.cx();
    let dir = state.config.data_dir.join("imports");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(AppError::internal)?;
    let staging = dir.join(format!("upload-{}", uuid::Uuid::now_v7()));
    let mut csrf = String::new();
    let mut kind = Kind::Students;
    let mut file_name = None;
    let bad_upload = bad_upload(state);
    let received = async {
        while let Some(mut field) = form.next_field().await.map_err(&bad_upload)? {
            match field.name() {
                Some("csrf") => csrf = field.text().await.map_err(&bad_upload)?,
                Some("kind") => {
                    let k = field.text().await.map_err(&bad_upload)?;
                    kind = Kind::parse(&k)
                        .ok_or_else(|| AppError::field("kind", "error.invalid_choice"))?;
                }
                Some("file") => {
                    file_name = field.file_name().map(str::to_owned);
                    let mut out = tokio::fs::File::create(&staging)
                        .await
                        .map_err(AppError::internal)?;
                    while let Some(chunk) = field.chunk().await.map_err(&bad_upload)? {
                        out.write_all(&chunk).await.map_err(AppError::internal)?;
                    }
                    out.flush().await.map_err(AppError::internal)?;
                }
                _ => {}
            }
        }
        session.verify_csrf(&csrf)?;
        let name = file_name.clone().filter(|n| !n.is_empty());
        let Some(name) = name else {
            return Err(AppError::field("file", "error.import.no_file"));
        };
        jobs::create_kind(&cx, kind, school, &name, &staging, session.actor.locale).await
    }
    .await;
    let _ = tokio::fs::remove_file(&staging).await;
    match received {
        Ok(job) => Ok(redirect(&format!("/admin/imports/{}", job.id))),
        Err(AppError::Invalid(f)) => {
            let msg = f.0.first().map(|(_, k)| session_t(session, k));
            list_page(&cx, session, school, msg).await
        }
        Err(e @ AppError::TooLarge(_)) => {
            let msg = e.message(session.actor.locale);
            let page = list_page(&cx, session, school, Some(msg)).await?;
            Ok((axum::http::StatusCode::PAYLOAD_TOO_LARGE, page).into_response())
        }
        Err(e) => Err(e),
    }
}

fn session_t(session: &Session, key: &str) -> String {
    kernel::i18n::t(session.actor.locale, key).to_owned()
}

fn bad_upload(state: &AppState) -> impl Fn(axum::extract::multipart::MultipartError) -> AppError {
    let limit = state.config.max_upload_bytes as u64;
    move |e| web::upload::multipart_error(e, limit, "file", "error.import.upload_failed")
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    ctx: PageCtx,
    job: Job,
    school: Node,
    report: Report,
    counts: Option<Counts>,
    progress: u64,
    has_error_copy: bool,
    /// 确认导入 was pressed with problems in the file and the partial import not ticked.
    need_partial: bool,
}

impl ImportPage {
    fn status(&self) -> String {
        self.ctx
            .t(&format!("import.status_{}", self.job.status))
            .to_owned()
    }
    fn error(&self) -> String {
        self.job
            .error
            .as_deref()
            .map(|e| self.ctx.t(e).to_owned())
            .unwrap_or_default()
    }
    fn kind_name(&self) -> String {
        self.ctx.t(kind_key(self.job.kind())).to_owned()
    }
    /// The label of a result count, in the words of the job's kind.
    fn label(&self, what: &str) -> String {
        let key = match (self.job.kind(), what) {
            (Kind::Staff, "created") => "staff_import.staff_created",
            (Kind::Staff, "updated") => "staff_import.staff_updated",
            (Kind::Assignments, "created") => "staff_import.teachers_created",
            (Kind::Assignments, "updated") => "staff_import.teachers_updated",
            (_, "created") => "import.created",
            (_, "updated") => "import.updated",
            (_, "accounts_hint") if self.job.kind() != Kind::Students => {
                "staff_import.accounts_hint"
            }
            (_, "accounts_hint") => "import.accounts_hint",
            _ => "import.unchanged",
        };
        self.ctx.t(key).to_owned()
    }
    fn size(&self) -> String {
        let kib = self.job.file_size as f64 / 1024.0;
        if kib < 1024.0 {
            format!("{kib:.0} KiB")
        } else {
            format!("{:.1} MiB", kib / 1024.0)
        }
    }
}

/// The menu's 数据导入: a school's administrator goes straight to their school's imports; a
/// region's chooses the school in the tree.
pub async fn mine(session: Session) -> AppResult<Response> {
    let school = session
        .actor
        .grants_of(kernel::Role::Admin)
        .find(|g| g.node_kind == "school")
        .map(|g| g.node_id);
    match (school, session.actor.has_role(kernel::Role::Admin)) {
        (Some(s), _) => Ok(redirect(&format!("/admin/org/{s}/imports"))),
        (None, true) => Ok(redirect("/admin/org")),
        (None, false) => Err(AppError::Forbidden),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    need_partial: Option<String>,
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<ImportId>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let Page { state, .. } = &page;
    let cx = page.cx();
    let job = jobs::get(&cx, id).await?;
    let school = nodes::get(&cx, job.school_id).await?;
    let has_error_copy = job.problem_count > 0
        && tokio::fs::try_exists(jobs::errors_path(state, &job))
            .await
            .unwrap_or(false);
    Ok(render(&ImportPage {
        ctx: page.ctx(),
        progress: jobs::progress(state, &job),
        report: job.report(),
        counts: job.counts(),
        school,
        has_error_copy,
        need_partial: q.need_partial.is_some() && job.status == "checked",
        job,
    }))
}

#[derive(Debug, Deserialize)]
pub struct CommitForm {
    #[serde(default)]
    partial: Option<String>,
}

pub async fn commit(
    page: Page,
    IdPath(id): IdPath<ImportId>,
    CsrfForm(form): CsrfForm<CommitForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let partial = form.partial.is_some();
    if !partial {
        // Problems in the file and the partial import not chosen: back to the report, which
        // says why nothing happened and offers the partial import.
        let job = jobs::get(&cx, id).await?;
        if job.status == "checked" && job.problem_count > 0 {
            return Ok(redirect(&format!(
                "/admin/imports/{id}?need_partial=1#commit-form"
            )));
        }
    }
    let job = jobs::commit(&cx, id, partial).await?;
    Ok(redirect(&format!("/admin/imports/{}", job.id)))
}

pub async fn discard(
    page: Page,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let cx = page.cx();
    let job = jobs::discard(&cx, parse_id(&id)?).await?;
    Ok(redirect(&format!("/admin/org/{}/imports", job.school_id)))
}

/// The copy of the file with a column naming each row's problems.
pub async fn error_copy(page: Page, IdPath(id): IdPath<ImportId>) -> AppResult<Response> {
    let Page { state, session, .. } = &page;
    let cx = page.cx();
    let job = jobs::get(&cx, id).await?;
    let bytes = tokio::fs::read(jobs::errors_path(state, &job))
        .await
        .map_err(|_| AppError::NotFound("directory.import_not_found"))?;
    let stem = job
        .file_name
        .rsplit_once('.')
        .map_or(job.file_name.as_str(), |(s, _)| s);
    let name = format!(
        "{stem}-{}.xlsx",
        kernel::i18n::t(session.actor.locale, "import.errors_heading")
    );
    Ok(attachment(&name, XLSX, bytes))
}

#[derive(Debug, Deserialize)]
pub struct TemplateQuery {
    #[serde(default)]
    kind: Option<String>,
}

/// The empty template of a kind of file (`?kind=staff|assignments`, students by default) with
/// Chinese headers and a sheet of instructions.
pub async fn template_download(
    session: Session,
    axum::extract::Query(q): axum::extract::Query<TemplateQuery>,
) -> AppResult<Response> {
    let kind = match q.kind.as_deref() {
        None | Some("") => Kind::Students,
        Some(k) => Kind::parse(k).ok_or(AppError::NotFound("directory.import_not_found"))?,
    };
    let bytes = template::of_kind(kind, session.actor.locale).map_err(AppError::internal)?;
    let name = match kind {
        Kind::Students => "import.template_file",
        Kind::Staff => "staff_import.template_file_staff",
        Kind::Assignments => "staff_import.template_file_assignments",
    };
    Ok(attachment(
        kernel::i18n::t(session.actor.locale, name),
        XLSX,
        bytes,
    ))
}
