//! My resources, each with its state (private, waiting at a level, shared how far).

use super::{Labels, page_ctx};
use crate::library::listing::{self, ListFilter, ResourceItem};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::AppResult;
use kernel::paging::{PageQuery, Paged};
use serde::Deserialize;
use web::{Page, PageCtx, render};

#[derive(Template)]
#[template(path = "library_mine.html")]
struct MinePage {
    ctx: PageCtx,
    result: Paged<ResourceItem>,
    scope: String,
}

impl MinePage {
    fn l(&self) -> Labels<'_> {
        Labels(&self.ctx)
    }
    fn link(&self, page: u32) -> String {
        format!(
            "/library/mine?scope={}&page={page}",
            super::enc(&self.scope)
        )
    }
    fn scopes(&self) -> &'static [crate::model::Scope] {
        super::scopes()
    }
}

#[derive(Deserialize)]
pub struct MineQuery {
    ok: Option<String>,
    scope: Option<String>,
    page: Option<u32>,
}

pub async fn list(page: Page, Query(q): Query<MineQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    crate::access::Viewer::of(cx.db(), cx.actor)
        .await?
        .require_staff()?;
    let scope = q.scope.clone().unwrap_or_default();
    let filter = ListFilter {
        mine: Some(true),
        scope: Some(scope.clone()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let result = listing::list(
        &cx,
        &filter,
        &PageQuery {
            page: q.page,
            per_page: Some(30),
        },
    )
    .await?;
    Ok(render(&MinePage {
        ctx: page_ctx(session, q.ok.as_deref()),
        result,
        scope,
    }))
}
