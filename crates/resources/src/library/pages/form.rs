//! The new-resource and edit forms. With JavaScript, static/upload.js sends the file in chunks
//! first and fills the hidden `upload_id`; without it, the form posts the file itself
//! (multipart, under the file size limit) and it is stored through
//! [`crate::files::upload::store_stream`]. Errors come back beside their fields with the input
//! kept (a file already stored is kept too, by its upload id).

use super::picker::{self, Picker};
use super::{Labels, page_ctx};
use crate::library::input::parse_tags;
use crate::library::resource::{self, NewResource, ResourceEdit};
use crate::model::Kind;
use askama::Template;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Multipart, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::{AppError, AppResult, CatalogId, Ctx, FieldErrors, ResourceId, UploadId};
use serde::Deserialize;
use web::{IdPath, Page, PageCtx, Session, redirect, render};

/// The form's fields as typed.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub title: String,
    pub description: String,
    pub kind: String,
    pub tags: String,
    /// 学生可见 ticked.
    pub for_students: bool,
    pub catalog_ids: Vec<CatalogId>,
    pub version: Option<i64>,
    /// A stored upload (by upload.js, or kept from an earlier post of this form).
    pub upload_id: Option<UploadId>,
    pub file_name: Option<String>,
}

#[derive(Template)]
#[template(path = "library_form.html")]
struct FormPage {
    ctx: PageCtx,
    /// None when creating.
    id: Option<ResourceId>,
    f: Fields,
    errors: FieldErrors,
    /// Why the posted file was refused.
    file_message: Option<String>,
    picker: Picker,
    /// Where the chapter picker stands (kept through a post that comes back with errors).
    at: Option<CatalogId>,
    current_file: Option<String>,
    max_bytes: u64,
}

impl FormPage {
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
    fn kind_name(&self, k: &Kind) -> String {
        Labels(&self.ctx).kind(k.as_str())
    }
    fn kinds(&self) -> &'static [Kind] {
        Kind::ALL
    }
    fn chosen(&self, id: &CatalogId) -> bool {
        self.f.catalog_ids.contains(id)
    }
    /// The form's own address with the chapter picker standing at `at`.
    fn at_href(&self, at: &CatalogId) -> String {
        format!("{}?at={at}", self.action())
    }
    fn upload_value(&self) -> String {
        self.f.upload_id.map(|u| u.to_string()).unwrap_or_default()
    }
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/library/r/{id}/edit"),
            None => "/library/new".to_owned(),
        }
    }
    fn max_size(&self) -> String {
        super::size(i64::try_from(self.max_bytes).unwrap_or(i64::MAX))
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_form(
    cx: &Ctx<'_>,
    session: &Session,
    id: Option<ResourceId>,
    f: Fields,
    errors: FieldErrors,
    file_message: Option<String>,
    at: Option<CatalogId>,
    current_file: Option<String>,
) -> AppResult<FormPage> {
    let picker = picker::step(cx.db(), cx.actor, at, &f.catalog_ids).await?;
    Ok(FormPage {
        ctx: page_ctx(session, None),
        id,
        f,
        errors,
        file_message,
        picker,
        at,
        current_file,
        max_bytes: cx.state.config.files.max_file_bytes,
    })
}

#[derive(Deserialize)]
pub struct NewQuery {
    node: Option<String>,
    /// Where the chapter picker stands: a stage, subject, edition or volume.
    at: Option<String>,
}

impl NewQuery {
    fn at(&self) -> Option<CatalogId> {
        self.at.as_deref().and_then(|a| a.parse().ok())
    }
}

pub async fn new_form(page: Page, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    crate::access::Viewer::of(cx.db(), cx.actor)
        .await?
        .require_staff()?;
    let node = q.node.as_deref().and_then(|n| n.parse::<CatalogId>().ok());
    let f = Fields {
        kind: Kind::LessonPlan.as_str().into(),
        catalog_ids: node.into_iter().collect(),
        ..Default::default()
    };
    let page = render_form(
        &cx,
        session,
        None,
        f,
        FieldErrors::new(),
        None,
        q.at(),
        None,
    )
    .await?;
    Ok(render(&page))
}

pub async fn edit_form(
    page: Page,
    IdPath(id): IdPath<ResourceId>,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let r = resource::get(&cx, id).await?;
    if r.author_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    let nodes = crate::library::detail::catalog_of(cx.db(), id).await?;
    let f = Fields {
        title: r.title.clone(),
        description: r.description.clone(),
        kind: r.kind.clone(),
        tags: r.tag_list().join(" "),
        for_students: r.for_students,
        catalog_ids: nodes.iter().map(|n| n.id).collect(),
        version: Some(r.version),
        upload_id: None,
        file_name: None,
    };
    let page = render_form(
        &cx,
        session,
        Some(id),
        f,
        FieldErrors::new(),
        None,
        q.at(),
        r.file_name.clone(),
    )
    .await?;
    Ok(render(&page))
}

fn bad_upload(cx: &Ctx<'_>) -> impl Fn(MultipartError) -> AppError {
    let limit = cx.state.config.files.max_file_bytes;
    move |e| web::upload::multipart_error(e, limit, "file", "error.files.upload_failed")
}

/// The posted form: its fields, with the file stored (once the CSRF token was checked).
async fn read_form(
    cx: &Ctx<'_>,
    session: &Session,
    mut form: Multipart,
) -> AppResult<(Fields, Option<String>, Option<CatalogId>)> {
    let mut f = Fields::default();
    let mut csrf_ok = false;
    let mut file_message = None;
    let mut at = None;
    let mut bad_ids = false;
    let bad_upload = bad_upload(cx);
    while let Some(field) = form.next_field().await.map_err(&bad_upload)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            store_file(cx, session, field, csrf_ok, &mut f, &mut file_message).await?;
            continue;
        }
        let value = field.text().await.map_err(&bad_upload)?;
        match name.as_str() {
            "csrf" => {
                session.verify_csrf(&value)?;
                csrf_ok = true;
            }
            "title" => f.title = value,
            "description" => f.description = value,
            "kind" => f.kind = value,
            "tags" => f.tags = value,
            "for_students" => f.for_students = value == "true",
            "at" => at = value.trim().parse().ok(),
            "catalog_ids" => match value.parse() {
                Ok(id) => f.catalog_ids.push(id),
                Err(_) => bad_ids |= !value.trim().is_empty(),
            },
            "version" => f.version = value.trim().parse().ok(),
            "upload_id" if f.upload_id.is_none() => f.upload_id = value.trim().parse().ok(),
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(AppError::Csrf);
    }
    if bad_ids {
        f.catalog_ids.push(CatalogId(uuid::Uuid::nil()));
    }
    if let Some(u) = f.upload_id
        && f.file_name.is_none()
    {
        f.file_name = upload_name(cx, u).await?;
    }
    Ok((f, file_message, at))
}

async fn upload_name(cx: &Ctx<'_>, u: UploadId) -> AppResult<Option<String>> {
    let row: Option<(String,)> = kernel::on_db!(cx.db(), p => sqlx::query_as(
        "SELECT file_name FROM uploads WHERE id = $1 AND person_id = $2 AND state = 'complete'",
    ).bind(u).bind(cx.actor.person_id).fetch_optional(p).await)?;
    Ok(row.map(|r| r.0))
}

/// Stores the posted file, if one was chosen: it replaces an upload kept from an earlier post
/// of the form. (With JavaScript no file is posted: upload.js sent it and removed its name.)
async fn store_file(
    cx: &Ctx<'_>,
    session: &Session,
    field: Field<'_>,
    csrf_ok: bool,
    f: &mut Fields,
    file_message: &mut Option<String>,
) -> AppResult<()> {
    let name = field.file_name().unwrap_or("").to_owned();
    if name.is_empty() {
        // Drain it: nothing to keep.
        let mut field = field;
        while field.chunk().await.map_err(bad_upload(cx))?.is_some() {}
        return Ok(());
    }
    if !csrf_ok {
        return Err(AppError::Csrf);
    }
    match crate::files::upload::store_stream(cx, &name, Box::pin(field)).await {
        Ok((id, _blob)) => {
            f.upload_id = Some(id);
            f.file_name = Some(name);
            Ok(())
        }
        Err(e) => match crate::files::refusal_message_of(session.actor.locale, &name, &e) {
            Some(m) => {
                *file_message = Some(m);
                Ok(())
            }
            None => Err(e),
        },
    }
}

pub async fn create(page: Page, form: Multipart) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let (f, file_message, at) = read_form(&cx, session, form).await?;
    let input = NewResource {
        title: f.title.clone(),
        description: f.description.clone(),
        kind: f.kind.clone(),
        tags: parse_tags(&f.tags),
        for_students: f.for_students,
        catalog_ids: f.catalog_ids.clone(),
        upload_id: f.upload_id,
    };
    let result = if file_message.is_some() {
        Err(AppError::Invalid(FieldErrors::new()))
    } else {
        resource::create(&cx, input).await
    };
    match result {
        Ok(r) => Ok(redirect(&format!("/library/r/{}?ok=created", r.id))),
        Err(AppError::Invalid(mut errors)) => {
            if file_message.is_some() {
                errors.0.retain(|(k, _)| k != "upload_id");
            }
            let page = render_form(&cx, session, None, f, errors, file_message, at, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn update(
    page: Page,
    IdPath(id): IdPath<ResourceId>,
    form: Multipart,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let current = resource::get(&cx, id).await?;
    let (f, file_message, at) = read_form(&cx, session, form).await?;
    let edit = ResourceEdit {
        version: f.version,
        title: Some(f.title.clone()),
        description: Some(f.description.clone()),
        kind: Some(f.kind.clone()),
        tags: Some(parse_tags(&f.tags)),
        for_students: Some(f.for_students),
        catalog_ids: Some(f.catalog_ids.clone()),
        upload_id: f.upload_id,
    };
    let result = if file_message.is_some() {
        Err(AppError::Invalid(FieldErrors::new()))
    } else {
        resource::edit(&cx, id, edit).await
    };
    match result {
        Ok(r) => Ok(redirect(&format!("/library/r/{}?ok=saved", r.id))),
        Err(AppError::Invalid(errors) | AppError::Conflict(_, errors)) => {
            let page = render_form(
                &cx,
                session,
                Some(id),
                f,
                errors,
                file_message,
                at,
                current.file_name.clone(),
            )
            .await?;
            let status = if page.errors.get("version").is_some() {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok((status, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}
