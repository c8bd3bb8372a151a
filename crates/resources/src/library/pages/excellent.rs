//! Excellent-resource lists (优秀资源评选): the lists a person sees, a new list for a node they
//! administer, a list's page (its entries; for its administrators the candidates to add, the
//! order and notes, publishing).

use super::{Labels, page_ctx, parse_id};
use crate::library::excellent::{self, EntryUpdate, ExcellentList, ListDetail, NewEntry, NewList};
use crate::library::reviewers;
use crate::model::ResourceRow;
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, Ctx, FieldErrors, ListId, NodeId, ResourceId};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, Session, redirect, render};

fn term_label(ctx: &PageCtx, year: Option<i64>, term: Option<i64>) -> String {
    match (year, term) {
        (Some(y), Some(t)) => ctx.tf(
            "library.term_of",
            &[
                ("year", y.to_string().as_str()),
                ("next", (y + 1).to_string().as_str()),
                ("term", t.to_string().as_str()),
            ],
        ),
        (Some(y), None) => ctx.tf(
            "excellent.year_of",
            &[
                ("year", y.to_string().as_str()),
                ("next", (y + 1).to_string().as_str()),
            ],
        ),
        _ => String::new(),
    }
}

#[derive(Template)]
#[template(path = "excellent_lists.html")]
struct ListsPage {
    ctx: PageCtx,
    result: Paged<ExcellentList>,
    nodes: Vec<(NodeId, String, String)>,
    form: CreateForm,
    errors: FieldErrors,
}

impl ListsPage {
    fn term(&self, l: &ExcellentList) -> String {
        term_label(&self.ctx, l.school_year, l.term)
    }
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
    fn link(&self, page: u32) -> String {
        format!("/library/excellent?page={page}")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    node_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    school_year: String,
    #[serde(default)]
    term: String,
}

#[derive(Deserialize)]
pub struct ListsQuery {
    page: Option<u32>,
    ok: Option<String>,
}

async fn lists_page(
    cx: &Ctx<'_>,
    session: &Session,
    page: Option<u32>,
    ok: Option<&str>,
    form: CreateForm,
    errors: FieldErrors,
) -> AppResult<ListsPage> {
    crate::access::Viewer::of(cx.db(), cx.actor)
        .await?
        .require_staff()?;
    let result = excellent::lists(
        cx,
        &PageQuery {
            page,
            per_page: Some(20),
        },
    )
    .await?;
    let nodes = reviewers::appointing_nodes(cx).await?;
    let mut form = form;
    if form.school_year.is_empty()
        && let Some((y, t)) =
            crate::library::resource::current_term(cx.db(), cx.actor.org_id, cx.today()).await?
    {
        form.school_year = y.to_string();
        form.term = t.to_string();
    }
    Ok(ListsPage {
        ctx: page_ctx(session, ok),
        result,
        nodes,
        form,
        errors,
    })
}

pub async fn lists(page: Page, Query(q): Query<ListsQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let page = lists_page(
        &cx,
        session,
        q.page,
        q.ok.as_deref(),
        CreateForm::default(),
        FieldErrors::new(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn create(page: Page, CsrfForm(f): CsrfForm<CreateForm>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let node: NodeId = parse_id(&f.node_id)?;
    let mut errors = FieldErrors::new();
    let number = |s: &str, field: &str, errors: &mut FieldErrors, key: &str| match s.trim() {
        "" => None,
        v => v.parse::<i64>().map(Some).unwrap_or_else(|_| {
            errors.add(field, key);
            None
        }),
    };
    let school_year = number(
        &f.school_year,
        "school_year",
        &mut errors,
        "error.resources.school_year_invalid",
    );
    let term = number(&f.term, "term", &mut errors, "error.resources.term_invalid");
    let result = if errors.is_empty() {
        excellent::create(
            &cx,
            NewList {
                node_id: node,
                title: f.title.clone(),
                school_year,
                term,
            },
        )
        .await
    } else {
        Err(AppError::Invalid(errors))
    };
    match result {
        Ok(l) => Ok(redirect(&format!(
            "/library/excellent/{}?ok=list_created",
            l.id
        ))),
        Err(AppError::Invalid(errors)) => {
            let page = lists_page(&cx, session, None, None, f, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "excellent_list.html")]
struct ListPage {
    ctx: PageCtx,
    d: ListDetail,
    candidates: Paged<ResourceRow>,
    errors: FieldErrors,
}

impl ListPage {
    fn l(&self) -> Labels<'_> {
        Labels(&self.ctx)
    }
    fn term(&self) -> String {
        term_label(&self.ctx, self.d.list.school_year, self.d.list.term)
    }
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
    fn status(&self) -> String {
        self.ctx
            .t(&format!("excellent.status_{}", self.d.list.status))
            .to_owned()
    }
    fn published(&self) -> bool {
        self.d.list.status == "published"
    }
    fn link(&self, page: u32) -> String {
        format!(
            "/library/excellent/{}?page={page}#candidates",
            self.d.list.id
        )
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    page: Option<u32>,
    ok: Option<String>,
}

async fn list_page(
    cx: &Ctx<'_>,
    session: &Session,
    id: ListId,
    page: Option<u32>,
    ok: Option<&str>,
    errors: FieldErrors,
) -> AppResult<ListPage> {
    let d = excellent::get(cx, id).await?;
    let candidates = if d.editable {
        excellent::candidates(
            cx,
            id,
            &PageQuery {
                page,
                per_page: Some(20),
            },
        )
        .await?
    } else {
        Paged::new(
            Vec::new(),
            0,
            &PageQuery {
                page: None,
                per_page: None,
            },
        )
    };
    Ok(ListPage {
        ctx: page_ctx(session, ok),
        d,
        candidates,
        errors,
    })
}

pub async fn show(
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let page = list_page(
        &cx,
        session,
        parse_id(&id)?,
        q.page,
        q.ok.as_deref(),
        FieldErrors::new(),
    )
    .await?;
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    on: String,
}

async fn after(
    cx: &Ctx<'_>,
    session: &Session,
    id: ListId,
    result: AppResult<ListDetail>,
    ok: &str,
) -> AppResult<Response> {
    match result {
        Ok(_) => Ok(redirect(&format!("/library/excellent/{id}?ok={ok}"))),
        Err(AppError::Invalid(errors) | AppError::Conflict(_, errors)) if !errors.is_empty() => {
            let page = list_page(cx, session, id, None, None, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn add(
    page: Page,
    IdPath(id): IdPath<ListId>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let resource_id: ResourceId = parse_id(&f.resource_id)?;
    let result = excellent::add(
        &cx,
        id,
        NewEntry {
            resource_id,
            note: f.note.clone(),
        },
    )
    .await;
    after(&cx, session, id, result, "added").await
}

pub async fn update_entry(
    page: Page,
    Path((id, rid)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let id: ListId = parse_id(&id)?;
    let rid: ResourceId = parse_id(&rid)?;
    let u = EntryUpdate {
        position: f.position.trim().parse().ok(),
        note: Some(f.note.clone()),
    };
    let result = excellent::update_entry(&cx, id, rid, u).await;
    after(&cx, session, id, result, "entry_saved").await
}

pub async fn remove(
    page: Page,
    Path((id, rid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<EntryForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let id: ListId = parse_id(&id)?;
    let rid: ResourceId = parse_id(&rid)?;
    let result = excellent::remove(&cx, id, rid).await;
    after(&cx, session, id, result, "removed").await
}

pub async fn publish(
    page: Page,
    IdPath(id): IdPath<ListId>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let on = f.on != "false";
    let result = excellent::publish(&cx, id, on).await;
    after(
        &cx,
        session,
        id,
        result,
        if on { "published" } else { "unpublished" },
    )
    .await
}
