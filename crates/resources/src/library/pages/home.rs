//! The library's home: where to go (search, catalogue, upload, my resources, the review queue,
//! excellent lists) and what was shared lately.

use super::{Labels, page_ctx};
use crate::library::listing::{self, ListFilter, ResourceItem};
use crate::library::queue::{self, QueueFilter};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::paging::PageQuery;
use kernel::{AppResult, on_db};
use serde::Deserialize;
use web::{Page, PageCtx, render};

#[derive(Template)]
#[template(path = "library_home.html")]
struct HomePage {
    ctx: PageCtx,
    mine: i64,
    waiting: i64,
    reviewer: bool,
    admin: bool,
    /// A student: what is shared with students, and the search.
    student: bool,
    recent: Vec<ResourceItem>,
}

impl HomePage {
    fn l(&self) -> Labels<'_> {
        Labels(&self.ctx)
    }
}

#[derive(Deserialize)]
pub struct HomeQuery {
    ok: Option<String>,
}

pub async fn show(page: Page, Query(q): Query<HomeQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let viewer = crate::access::Viewer::of(cx.db(), cx.actor).await?;
    viewer.require_reader()?;
    let recent = listing::list(
        &cx,
        &ListFilter {
            shared: Some(true),
            ..ListFilter::default()
        },
        &PageQuery {
            page: Some(1),
            per_page: Some(10),
        },
    )
    .await?
    .items;
    if !viewer.staff {
        return Ok(render(&HomePage {
            ctx: page_ctx(session, q.ok.as_deref()),
            mine: 0,
            waiting: 0,
            reviewer: false,
            admin: false,
            student: true,
            recent,
        }));
    }
    let one = PageQuery {
        page: Some(1),
        per_page: Some(1),
    };
    let mine = listing::mine(&cx, &one).await?.total;
    let appointed: (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM resource_reviewers WHERE person_id = $1",
    ).bind(cx.actor.person_id).fetch_one(p).await)?;
    let admin = !cx.actor.admin_nodes().is_empty();
    let reviewer = admin || appointed.0 > 0;
    let waiting = if reviewer {
        queue::queue(&cx, &QueueFilter::default(), &one)
            .await?
            .total
    } else {
        0
    };
    Ok(render(&HomePage {
        ctx: page_ctx(session, q.ok.as_deref()),
        mine,
        waiting,
        reviewer,
        admin,
        student: false,
        recent,
    }))
}
