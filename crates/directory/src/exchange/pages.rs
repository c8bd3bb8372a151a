//! The 数据汇聚 page of a node: its links with upper and lower instances, a form to open one
//! for a lower instance (the one-time code) and one to pair with an upper instance, how each
//! push stands, and the conflicts met.

use super::links::{self, Conflict, Link};
use crate::model::Node;
use crate::nodes;
use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use kernel::{AppError, AppResult, AppState, Ctx, FieldErrors, LinkId, NodeId, on_db};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, Session, redirect, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/org/{id}/exchange", get(show))
        .route("/admin/org/{id}/exchange/invite", post(invite))
        .route("/admin/org/{id}/exchange/pair", post(pair))
        .route("/admin/links/{id}", get(link_page))
        .route("/admin/links/{id}/revoke", post(revoke))
        .route("/admin/links/{id}/push", post(push_now))
}

/// A link with what is still to send (lower side) and its open conflicts.
pub struct LinkRow {
    pub link: Link,
    pub backlog: i64,
    pub open_conflicts: i64,
}

#[derive(Template)]
#[template(path = "exchange.html")]
struct ExchangePage {
    ctx: PageCtx,
    node: Node,
    rows: Vec<LinkRow>,
    /// The code just made, shown once.
    code: Option<String>,
    errors: FieldErrors,
    url: String,
}

impl ExchangePage {
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
}

#[derive(Template)]
#[template(path = "exchange_link.html")]
struct LinkPage {
    ctx: PageCtx,
    item: LinkRow,
    conflicts: Vec<Conflict>,
}

async fn link_row(cx: &Ctx<'_>, link: Link) -> AppResult<LinkRow> {
    let backlog = if link.pushes() {
        let (n,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*) FROM base_changes WHERE seq > $1
               AND node_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $2)",
        ).bind(link.seq).bind(link.node_id).fetch_one(p).await)?;
        n
    } else {
        0
    };
    let (open,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM exchange_conflicts WHERE link_id = $1 AND resolved_at IS NULL",
    ).bind(link.id).fetch_one(p).await)?;
    Ok(LinkRow {
        link,
        backlog,
        open_conflicts: open,
    })
}

async fn page_of(
    cx: &Ctx<'_>,
    session: &Session,
    id: NodeId,
    code: Option<String>,
    errors: FieldErrors,
    url: String,
) -> AppResult<Response> {
    let node = nodes::get(cx, id).await?;
    let mut rows = Vec::new();
    for l in links::list(cx, id).await? {
        rows.push(link_row(cx, l).await?);
    }
    Ok(render(&ExchangePage {
        ctx: PageCtx::for_session(session),
        node,
        rows,
        code,
        errors,
        url,
    }))
}

async fn show(page: Page, IdPath(id): IdPath<NodeId>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    page_of(&cx, session, id, None, FieldErrors::new(), String::new()).await
}

async fn invite(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    match links::invite(&cx, id).await {
        Ok((_, code)) => {
            page_of(
                &cx,
                session,
                id,
                Some(code),
                FieldErrors::new(),
                String::new(),
            )
            .await
        }
        Err(AppError::Invalid(f)) => page_of(&cx, session, id, None, f, String::new()).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct PairForm {
    url: String,
    code: String,
}

async fn pair(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(form): CsrfForm<PairForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    match links::pair(&cx, id, &form.url, &form.code).await {
        Ok(link) => Ok(redirect(&format!("/admin/links/{}", link.id))),
        Err(AppError::Invalid(f)) => page_of(&cx, session, id, None, f, form.url).await,
        Err(e) => Err(e),
    }
}

async fn link_page(page: Page, IdPath(id): IdPath<LinkId>) -> AppResult<Response> {
    let cx = page.cx();
    let link = links::get(&cx, id).await?;
    let conflicts = links::conflicts(&cx, id).await?;
    Ok(render(&LinkPage {
        ctx: page.ctx(),
        item: link_row(&cx, link).await?,
        conflicts,
    }))
}

async fn revoke(
    page: Page,
    IdPath(id): IdPath<LinkId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let cx = page.cx();
    links::revoke(&cx, id).await?;
    Ok(redirect(&format!("/admin/links/{id}")))
}

async fn push_now(
    page: Page,
    IdPath(id): IdPath<LinkId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let cx = page.cx();
    links::retry_now(&cx, id).await?;
    Ok(redirect(&format!("/admin/links/{id}")))
}
