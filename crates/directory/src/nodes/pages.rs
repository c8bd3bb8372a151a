//! Administering the organisation tree: browse a node, create children, rename, move a school,
//! deactivate and reactivate, and set terms on regions.

use crate::model::{Node, SchoolType};
use crate::nodes::{self, ChildFilter, NewNode, Summary};
use crate::terms::{self, NewTerm, Term};
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::authz::{self, Permission};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, FieldErrors, NodeId};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, Session, render};

#[derive(Template)]
#[template(path = "org_node.html")]
struct NodePage {
    ctx: PageCtx,
    node: Node,
    crumbs: Vec<Node>,
    crumbs_open: Vec<NodeId>,
    children: Paged<Node>,
    summary: Summary,
    terms: Vec<Term>,
    child_kinds: Vec<&'static str>,
    school_types: Vec<&'static str>,
    stages: Vec<&'static str>,
    may_manage_parent: bool,
    /// The school year that has begun (or begins in August): the promotion form's default.
    school_year: i64,
    errors: FieldErrors,
    form: NewNodeForm,
}

impl NodePage {
    fn kind_label(&self, kind: &str) -> String {
        self.ctx.t(&format!("kind.{kind}")).to_owned()
    }
    fn type_label(&self, t: &Option<String>) -> String {
        t.as_deref()
            .map(|t| self.ctx.t(&format!("school_type.{t}")).to_owned())
            .unwrap_or_default()
    }
    fn stages_label(&self, n: &Node) -> String {
        n.stage_list()
            .iter()
            .map(|s| self.ctx.t(&format!("stage.{}", s.as_str())).to_owned())
            .collect::<Vec<_>>()
            .join("、")
    }
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewNodeForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub school_type: String,
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub grade_year: String,
    #[serde(default)]
    pub entry_year: String,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    page: Option<u32>,
    include_inactive: Option<bool>,
}

pub async fn root(session: Session) -> AppResult<Response> {
    let first = session
        .actor
        .admin_nodes()
        .first()
        .copied()
        .ok_or(AppError::Forbidden)?;
    Ok(Redirect::to(&format!("/admin/org/{first}")).into_response())
}

async fn page_of(
    page: &Page,
    id: NodeId,
    q: &ShowQuery,
    errors: FieldErrors,
    form: NewNodeForm,
) -> AppResult<NodePage> {
    let cx = page.cx();
    let node = nodes::get(&cx, id).await?;
    authz::require(cx.db(), cx.actor, Permission::ViewPeople, id).await?;
    let crumbs = nodes::breadcrumbs(cx.db(), id).await?;
    // Only the levels the viewer may open are links: a school's administrator sees the city
    // and the province named, not offered.
    let mut crumbs_open = Vec::new();
    for c in &crumbs {
        if authz::may(cx.db(), cx.actor, Permission::ViewPeople, c.id).await? {
            crumbs_open.push(c.id);
        }
    }
    let children = nodes::children(
        &cx,
        id,
        ChildFilter {
            include_inactive: q.include_inactive,
        },
        &PageQuery {
            page: q.page,
            per_page: Some(50),
        },
    )
    .await?;
    let summary = nodes::summary(&cx, id).await?;
    let terms = if node.kind().is_some_and(|k| k.is_region()) {
        terms::for_node(&cx, id).await?
    } else {
        Vec::new()
    };
    let may_manage_parent = match node.parent_id {
        Some(p) => authz::may(cx.db(), cx.actor, Permission::ManageNode, p).await?,
        None => false,
    };
    let child_kinds = node
        .kind()
        .map(|k| k.child_kinds().iter().map(|c| c.as_str()).collect())
        .unwrap_or_default();
    let stages = node.stage_list().iter().map(|s| s.as_str()).collect();
    Ok(NodePage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        node,
        crumbs,
        crumbs_open,
        children,
        summary,
        terms,
        child_kinds,
        school_types: SchoolType::ALL.iter().map(|t| t.as_str()).collect(),
        stages,
        may_manage_parent,
        school_year: crate::import::classes::school_year(cx.today()),
        errors,
        form,
    })
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let p = page_of(&page, id, &q, FieldErrors::new(), NewNodeForm::default()).await?;
    Ok(render(&p))
}

/// Re-renders the node page with the errors beside the fields and the input kept.
async fn invalid(page: &Page, id: NodeId, e: AppError, form: NewNodeForm) -> AppResult<Response> {
    match e {
        AppError::Invalid(errors) | AppError::Conflict(_, errors) if !errors.is_empty() => {
            let q = ShowQuery {
                done: None,
                page: None,
                include_inactive: None,
            };
            let p = page_of(page, id, &q, errors, form).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)).into_response())
        }
        other => Err(other),
    }
}

fn num(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

pub async fn create_child(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(form): CsrfForm<NewNodeForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let input = NewNode {
        parent_id: Some(id),
        kind: form.kind.clone(),
        name: form.name.clone(),
        code: Some(form.code.clone()),
        school_type: Some(form.school_type.clone()),
        stage: Some(form.stage.clone()),
        grade_year: num(&form.grade_year),
        entry_year: num(&form.entry_year),
    };
    match nodes::create(&cx, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/org/{id}?done=created")).into_response()),
        Err(e) => invalid(&page, id, e, form).await,
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
}

pub async fn rename(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(form): CsrfForm<RenameForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    match nodes::rename(&cx, id, &form.name).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/org/{id}?done=saved")).into_response()),
        Err(e) => invalid(&page, id, e, NewNodeForm::default()).await,
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    /// The new parent region's division code.
    parent_code: String,
}

pub async fn move_school(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let result = match nodes::find_by_code(&cx, &form.parent_code).await? {
        Some(target) => nodes::move_school(&cx, id, target.id).await,
        None => Err(AppError::field(
            "parent_id",
            "error.directory.node_not_found",
        )),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/org/{id}?done=moved")).into_response()),
        Err(e) => invalid(&page, id, e, NewNodeForm::default()).await,
    }
}

pub async fn deactivate(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let cx = page.cx();
    match nodes::deactivate(&cx, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/org/{id}?done=deactivated")).into_response()),
        Err(e) => invalid(&page, id, e, NewNodeForm::default()).await,
    }
}

pub async fn reactivate(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let cx = page.cx();
    match nodes::reactivate(&cx, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/org/{id}?done=reactivated")).into_response()),
        Err(e) => invalid(&page, id, e, NewNodeForm::default()).await,
    }
}

#[derive(Deserialize)]
pub struct TermForm {
    school_year: String,
    term: String,
    starts_on: String,
    ends_on: String,
}

pub async fn create_term(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(form): CsrfForm<TermForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let input = NewTerm {
        school_year: num(&form.school_year).unwrap_or(0),
        term: num(&form.term).unwrap_or(0),
        starts_on: form.starts_on,
        ends_on: form.ends_on,
    };
    match terms::create(&cx, id, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/org/{id}?done=created")).into_response()),
        Err(e) => invalid(&page, id, e, NewNodeForm::default()).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct PromoteForm {
    #[serde(default)]
    pub school_year: String,
}

#[derive(Template)]
#[template(path = "promoted.html")]
struct PromotedPage {
    ctx: PageCtx,
    node: Node,
    p: crate::lifecycle::Promotion,
}

/// The school year's turn for a school: every class up a grade, the last grade graduated.
pub async fn promote(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(form): CsrfForm<PromoteForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    match crate::lifecycle::promote(&cx, id, num(&form.school_year).unwrap_or(0)).await {
        Ok(p) => Ok(render(&PromotedPage {
            ctx: page.ctx(),
            node: nodes::get(&cx, id).await?,
            p,
        })),
        Err(e) => invalid(&page, id, e, NewNodeForm::default()).await,
    }
}
