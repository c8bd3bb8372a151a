//! `/library/catalog`: the catalogues a person uses, node by node; for the region's
//! administrators the forms that create, rename, reorder, remove and reactivate nodes, the
//! import and, for every administrator, the textbook choices of the nodes they administer.

use super::{detail, kind_label, opt_id, page_ctx, parse_id, stage_label};
use crate::access::Viewer;
use crate::catalog::choices::{self, Choice};
use crate::catalog::edit::{self, NewCatalogNode, Removed};
use crate::catalog::import::{Imported, Rejected};
use crate::catalog::{CatalogNode, NodeKind, tree};
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use kernel::{AppError, AppResult, CatalogId, Ctx, FieldErrors, NodeId, on_db};
use serde::Deserialize;
use web::{CsrfForm, Page, PageCtx, Session, redirect, render};

/// A region whose catalogue the page can show.
#[derive(Debug, Clone)]
pub struct Tab {
    pub id: NodeId,
    pub name: String,
    pub maintain: bool,
}

/// A node an administrator may set textbook choices at.
#[derive(Debug, Clone)]
pub struct AdminNode {
    pub id: NodeId,
    pub name: String,
}

/// The textbook-choice section.
pub struct ChoicesView {
    pub at: AdminNode,
    pub nodes: Vec<AdminNode>,
    pub effective: Vec<Choice>,
    pub candidates: Vec<CatalogNode>,
}

/// What the create form keeps on error.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeForm {
    #[serde(default)]
    pub region_id: String,
    #[serde(default)]
    pub parent_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub grade: String,
    #[serde(default)]
    pub term: String,
}

#[derive(Template)]
#[template(path = "catalog.html")]
pub struct CatalogPage {
    pub ctx: PageCtx,
    pub tabs: Vec<Tab>,
    pub region: Option<Tab>,
    pub node: Option<CatalogNode>,
    pub crumbs: Vec<CatalogNode>,
    pub children: Vec<CatalogNode>,
    /// The kind a new child would be.
    pub child_kind: Option<&'static str>,
    pub form: NodeForm,
    pub errors: FieldErrors,
    /// A message for the whole page (a refused rename, move or removal).
    pub error: Option<String>,
    pub imported: Option<Imported>,
    pub rejected: Option<Rejected>,
    pub choices: Option<ChoicesView>,
}

impl CatalogPage {
    fn kind(&self, k: &str) -> String {
        kind_label(&self.ctx, k)
    }
    fn stage(&self, s: &str) -> String {
        stage_label(&self.ctx, s)
    }
    fn detail(&self, n: &CatalogNode) -> String {
        detail(&self.ctx, n)
    }
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
    fn maintain(&self) -> bool {
        self.region.as_ref().is_some_and(|r| r.maintain)
    }
    fn region_id(&self) -> String {
        self.region
            .as_ref()
            .map(|r| r.id.to_string())
            .unwrap_or_default()
    }
    fn node_id(&self) -> String {
        self.node
            .as_ref()
            .map(|n| n.id.to_string())
            .unwrap_or_default()
    }
    /// The link to a node of this region.
    fn href(&self, n: &CatalogNode) -> String {
        format!("/library/catalog?region={}&node={}", n.region_id, n.id)
    }
    fn is_last(&self, i: &usize) -> bool {
        *i + 1 == self.children.len()
    }
    /// The 1-based place one up (the row's index is 0-based).
    fn up(&self, i: &usize) -> usize {
        *i
    }
    fn down(&self, i: &usize) -> usize {
        *i + 2
    }
    /// "初中 · 数学 · 人教版" for an edition.
    fn edition_label(&self, e: &CatalogNode) -> String {
        let subject = e
            .subject
            .as_deref()
            .map(crate::catalog::model::subject_name)
            .unwrap_or_default();
        format!("{} · {subject} · {}", self.stage(&e.stage), e.name)
    }
    fn choice_at(&self) -> String {
        self.choices
            .as_ref()
            .map(|c| c.at.id.to_string())
            .unwrap_or_default()
    }
    fn new_subject(&self) -> bool {
        self.child_kind == Some("subject")
    }
    fn new_volume(&self) -> bool {
        self.child_kind == Some("volume")
    }
    fn new_edition(&self) -> bool {
        self.child_kind == Some("edition")
    }
}

/// The regions a person sees catalogues of: those they use with a catalogue, and those they
/// maintain (their own, and the regions right below them).
async fn tabs(cx: &Ctx<'_>) -> AppResult<Vec<Tab>> {
    let db = cx.db();
    let mut ids = tree::regions_for(db, cx.actor).await?;
    for a in cx.actor.admin_nodes() {
        let below: Vec<(NodeId,)> = on_db!(db, p => sqlx::query_as(
            "SELECT id FROM org_nodes WHERE parent_id = $1 AND kind IN ('city', 'district') AND active = TRUE ORDER BY code, name",
        ).bind(a).fetch_all(p).await)?;
        for id in std::iter::once(a).chain(below.into_iter().map(|r| r.0)) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let maintain = edit::may_maintain(cx, id).await?;
        let has = !tree::stages(db, id, false).await?.is_empty();
        if !has && !maintain {
            continue;
        }
        let row: Option<(String,)> = on_db!(db, p => sqlx::query_as(
            "SELECT name FROM org_nodes WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?;
        if let Some((name,)) = row {
            out.push(Tab { id, name, maintain });
        }
    }
    Ok(out)
}

async fn choices_view(cx: &Ctx<'_>, at: Option<NodeId>) -> AppResult<Option<ChoicesView>> {
    let db = cx.db();
    let mut nodes = Vec::new();
    for id in cx.actor.admin_nodes() {
        let row: Option<(String, String)> = on_db!(db, p => sqlx::query_as(
            "SELECT name, kind FROM org_nodes WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?;
        if let Some((name, kind)) = row
            && matches!(kind.as_str(), "province" | "city" | "district" | "school")
        {
            nodes.push(AdminNode { id, name });
        }
    }
    let at = match at {
        Some(id) => {
            if !kernel::authz::administers(db, cx.actor, id).await? {
                return Err(AppError::NotFound("directory.node_not_found"));
            }
            let (name,): (String,) = on_db!(db, p => sqlx::query_as(
                "SELECT name FROM org_nodes WHERE id = $1",
            ).bind(id).fetch_one(p).await)?;
            AdminNode { id, name }
        }
        None => match nodes.first() {
            Some(n) => n.clone(),
            None => return Ok(None),
        },
    };
    let regions = tree::regions_above(db, &[at.id]).await?;
    Ok(Some(ChoicesView {
        effective: choices::effective(db, at.id).await?,
        candidates: tree::all_editions(db, &regions).await?,
        at,
        nodes,
    }))
}

/// The page for `region` (or the first the person uses) at `node` (or its stages).
pub async fn build(
    cx: &Ctx<'_>,
    session: &Session,
    ok: Option<&str>,
    region: Option<NodeId>,
    node: Option<CatalogId>,
    at: Option<NodeId>,
) -> AppResult<CatalogPage> {
    Viewer::of(cx.db(), cx.actor).await?.require_staff()?;
    let db = cx.db();
    let tabs = tabs(cx).await?;
    let node = match node {
        Some(id) => Some(tree::get(db, id).await?),
        None => None,
    };
    let region_id = node.as_ref().map(|n| n.region_id).or(region);
    let region = match region_id {
        Some(id) => Some(
            tabs.iter()
                .find(|t| t.id == id)
                .cloned()
                .ok_or(AppError::NotFound("catalog.node_not_found"))?,
        ),
        None => tabs.first().cloned(),
    };
    let maintain = region.as_ref().is_some_and(|r| r.maintain);
    let (crumbs, children, child_kind) = match (&node, &region) {
        (Some(n), _) => {
            let crumbs = tree::with_breadcrumb(db, n.id).await?.breadcrumb;
            let kids = tree::children(db, n.id, maintain).await?;
            (crumbs, kids, n.kind().child().map(NodeKind::as_str))
        }
        (None, Some(r)) => (
            Vec::new(),
            tree::stages(db, r.id, maintain).await?,
            Some("stage"),
        ),
        (None, None) => (Vec::new(), Vec::new(), None),
    };
    Ok(CatalogPage {
        ctx: page_ctx(session, ok),
        choices: choices_view(cx, at).await?,
        tabs,
        region,
        node,
        crumbs,
        children,
        child_kind,
        form: NodeForm::default(),
        errors: FieldErrors::new(),
        error: None,
        imported: None,
        rejected: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct BrowseQuery {
    region: Option<String>,
    node: Option<String>,
    at: Option<String>,
    ok: Option<String>,
}

pub async fn page_of(page: Page, Query(q): Query<BrowseQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let page = build(
        &cx,
        session,
        q.ok.as_deref(),
        opt_id(q.region.as_deref())?,
        opt_id(q.node.as_deref())?,
        opt_id(q.at.as_deref())?,
    )
    .await?;
    Ok(render(&page))
}

fn back(region: NodeId, node: Option<CatalogId>, ok: &str) -> Response {
    match node {
        Some(n) => redirect(&format!(
            "/library/catalog?region={region}&node={n}&ok={ok}"
        )),
        None => redirect(&format!("/library/catalog?region={region}&ok={ok}")),
    }
}

/// A refused action shown on the page of the node it was about.
async fn refused(
    cx: &Ctx<'_>,
    session: &Session,
    region: NodeId,
    node: Option<CatalogId>,
    e: AppError,
) -> AppResult<Response> {
    let key = match &e {
        AppError::Invalid(f) => f.0.first().map(|(_, k)| k.clone()),
        AppError::Conflict(code, _) => Some(format!("error.{code}")),
        _ => None,
    };
    let Some(key) = key else { return Err(e) };
    let mut page = build(cx, session, None, Some(region), node, None).await?;
    page.error = Some(page.ctx.t(&key).to_owned());
    Ok(render(&page))
}

pub async fn create(page: Page, CsrfForm(form): CsrfForm<NodeForm>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let parent: Option<CatalogId> = opt_id(Some(&form.parent_id))?;
    let region: Option<NodeId> = opt_id(Some(&form.region_id))?;
    let mut errors = FieldErrors::new();
    let grade = match form.grade.trim() {
        "" => None,
        g => {
            let parsed = crate::catalog::model::parse_grade(g).or_else(|| g.parse().ok());
            if parsed.is_none() {
                errors.add("grade", "error.catalog.grade_unreadable");
            }
            parsed
        }
    };
    let term = match form.term.trim() {
        "" => None,
        t => {
            let parsed = crate::catalog::model::parse_term(t);
            if parsed.is_none() {
                errors.add("term", "error.catalog.term_invalid");
            }
            parsed
        }
    };
    let result = match errors.into_result() {
        Ok(()) => {
            edit::create(
                &cx,
                NewCatalogNode {
                    region_id: region,
                    parent_id: parent,
                    name: form.name.clone(),
                    code: Some(form.code.clone()),
                    grade,
                    term,
                    position: None,
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(n) => Ok(back(n.region_id, parent, "created")),
        Err(AppError::Invalid(f)) | Err(AppError::Conflict(_, f)) if !f.is_empty() => {
            let region = match (parent, region) {
                (Some(p), _) => tree::get(cx.db(), p).await?.region_id,
                (None, Some(r)) => r,
                (None, None) => return Err(AppError::Invalid(f)),
            };
            let mut page = build(&cx, session, None, Some(region), parent, None).await?;
            page.errors = f;
            page.form = form;
            Ok(render(&page))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    name: String,
}

pub async fn rename(
    page: Page,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RenameForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let node = tree::get(cx.db(), parse_id(&id)?).await?;
    match edit::rename(&cx, node.id, &form.name).await {
        Ok(n) => Ok(back(n.region_id, Some(n.id), "renamed")),
        Err(e) => refused(&cx, session, node.region_id, Some(node.id), e).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    to: i64,
}

pub async fn reorder(
    page: Page,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let node = tree::get(cx.db(), parse_id(&id)?).await?;
    edit::reorder(&cx, node.id, form.to).await?;
    Ok(back(node.region_id, node.parent_id, "moved"))
}

pub async fn remove(
    page: Page,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let cx = page.cx();
    let node = tree::get(cx.db(), parse_id(&id)?).await?;
    match edit::remove(&cx, node.id).await? {
        Removed::Deleted => Ok(back(node.region_id, node.parent_id, "deleted")),
        Removed::Deactivated => Ok(back(node.region_id, node.parent_id, "deactivated")),
    }
}

pub async fn reactivate(
    page: Page,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let node = tree::get(cx.db(), parse_id(&id)?).await?;
    match edit::reactivate(&cx, node.id).await {
        Ok(n) => Ok(back(n.region_id, n.parent_id, "reactivated")),
        Err(e) => refused(&cx, session, node.region_id, node.parent_id, e).await,
    }
}
