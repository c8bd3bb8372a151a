//! The review queue: what waits at every node the actor reviews, oldest first, with filters
//! (level, subject, kind, school, waiting at least so many days) and paging.

use super::{Labels, page_ctx};
use crate::library::queue::{self, QueueFilter, QueueItem};
use crate::model::{Kind, Level};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, NodeId, on_db};
use serde::Deserialize;
use web::{Page, PageCtx, render};

#[derive(Template)]
#[template(path = "review_queue.html")]
struct QueuePage {
    ctx: PageCtx,
    result: Paged<QueueItem>,
    q: QueueQuery,
    schools: Vec<(NodeId, String)>,
    subjects: Vec<String>,
}

impl QueuePage {
    fn l(&self) -> Labels<'_> {
        Labels(&self.ctx)
    }
    fn when(&self, t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
        t.map(|t| self.ctx.when(t)).unwrap_or_default()
    }
    fn levels(&self) -> &'static [Level] {
        Level::ALL
    }
    fn kinds(&self) -> &'static [Kind] {
        Kind::ALL
    }
    fn is(&self, value: &Option<String>, option: &str) -> bool {
        value.as_deref() == Some(option)
    }
    fn school_is(&self, id: &NodeId) -> bool {
        self.q.school.as_deref() == Some(id.to_string().as_str())
    }
    fn days_is(&self, d: &u32) -> bool {
        self.q.waiting_days == Some(*d)
    }
    fn link(&self, page: u32) -> String {
        let o = |v: &Option<String>| super::enc(v.as_deref().unwrap_or(""));
        format!(
            "/library/review?level={}&subject={}&kind={}&school={}&waiting_days={}&page={page}",
            o(&self.q.level),
            o(&self.q.subject),
            o(&self.q.kind),
            o(&self.q.school),
            self.q.waiting_days.unwrap_or(0)
        )
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueQuery {
    level: Option<String>,
    subject: Option<String>,
    kind: Option<String>,
    school: Option<String>,
    waiting_days: Option<u32>,
    page: Option<u32>,
    ok: Option<String>,
}

pub async fn list(page: Page, Query(q): Query<QueueQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    crate::access::Viewer::of(cx.db(), cx.actor)
        .await?
        .require_staff()?;
    let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let filter = QueueFilter {
        level: some(&q.level),
        subject: some(&q.subject),
        kind: some(&q.kind),
        school: q.school.as_deref().and_then(|s| s.parse().ok()),
        waiting_days: q.waiting_days,
    };
    let result = queue::queue(
        &cx,
        &filter,
        &PageQuery {
            page: q.page,
            per_page: Some(30),
        },
    )
    .await?;
    let schools = queue::schools(&cx).await?;
    let subjects: Vec<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT DISTINCT subject FROM catalog_nodes WHERE kind = 'subject' AND subject IS NOT NULL ORDER BY subject",
    ).fetch_all(p).await)?;
    Ok(render(&QueuePage {
        ctx: page_ctx(session, q.ok.as_deref()),
        result,
        q,
        schools,
        subjects: subjects.into_iter().map(|s| s.0).collect(),
    }))
}
