//! The home-page panel (notifications and recommendations), the full recommendations page,
//! the click-through redirect, and the API.

use super::{ClickThrough, Reason, Recommendation};
use crate::access::Viewer;
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kernel::{AppError, AppResult, AppState, Ctx, NodeId, ResourceId};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use web::{ApiCx, Page, PageCtx, Session, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/library/recommendations", get(page_of))
        .route("/library/rec/{id}", get(click))
        .route("/api/v1/recommendations", get(api_list))
        .route("/api/v1/recommendations/metrics/{node}", get(api_metrics))
}

/// Labels of a recommendation's reason, shared by the panel and the page.
pub struct Shown<'a> {
    pub ctx: &'a PageCtx,
}

impl Shown<'_> {
    pub fn why(&self, r: &Recommendation) -> String {
        match &r.why {
            Reason::NextChapter {
                class_name,
                subject,
                chapter,
                estimated,
                ..
            } => {
                let key = if *estimated {
                    "recommend.why_next_estimated"
                } else {
                    "recommend.why_next"
                };
                self.ctx.tf(
                    key,
                    &[
                        ("class", class_name.as_str()),
                        (
                            "subject",
                            standards::subjects::subject_name(subject).as_str(),
                        ),
                        ("chapter", chapter.as_str()),
                    ],
                )
            }
            Reason::CoDownload {
                because, teachers, ..
            } => self.ctx.tf(
                "recommend.why_co_download",
                &[
                    ("title", because.as_str()),
                    ("count", teachers.to_string().as_str()),
                ],
            ),
        }
    }
    pub fn kind(&self, r: &Recommendation) -> String {
        self.ctx
            .t(&format!("library.kind.{}", r.kind.as_str()))
            .to_owned()
    }
}

#[derive(Template)]
#[template(path = "rec_panel.html")]
struct Panel {
    ctx: PageCtx,
    recs: Vec<Recommendation>,
}

impl Panel {
    fn shown(&self) -> Shown<'_> {
        Shown { ctx: &self.ctx }
    }
}

/// The home-page panel for staff: unread notifications and what to prepare next.
pub fn home_panel<'a>(state: &'a AppState, session: &'a Session) -> web::panels::PanelFuture<'a> {
    Box::pin(async move {
        let meta = kernel::RequestMeta::cli();
        let cx = Ctx::new(state, &session.actor, &meta);
        let viewer = Viewer::of(cx.db(), cx.actor).await?;
        if !viewer.staff {
            return Ok(None);
        }
        let recs = super::for_teacher(&cx, 6).await?;
        super::record_shown(&cx, &recs).await?;
        let panel = Panel {
            ctx: PageCtx::for_session(session),
            recs,
        };
        Ok(Some(panel.render().map_err(AppError::internal)?))
    })
}

#[derive(Template)]
#[template(path = "rec_page.html")]
struct RecPage {
    ctx: PageCtx,
    recs: Vec<Recommendation>,
    metrics: Vec<(String, Vec<ClickThrough>)>,
}

impl RecPage {
    fn shown(&self) -> Shown<'_> {
        Shown { ctx: &self.ctx }
    }
    fn kind_of(&self, r: &Recommendation) -> String {
        self.shown().kind(r)
    }
    fn why_of(&self, r: &Recommendation) -> String {
        self.shown().why(r)
    }
    fn pct(&self, c: &ClickThrough) -> String {
        c.rate
            .map(|r| format!("{:.1}%", r * 100.0))
            .unwrap_or_else(|| "—".into())
    }
}

async fn page_of(page: Page) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let recs = super::for_teacher(&cx, 30).await?;
    super::record_shown(&cx, &recs).await?;
    let since = cx.now - chrono::Duration::days(90);
    let mut metrics = Vec::new();
    for node in session.actor.admin_nodes().into_iter().take(3) {
        let name: (String,) = kernel::on_db!(cx.db(), p => sqlx::query_as(
            "SELECT name FROM org_nodes WHERE id = $1",
        ).bind(node).fetch_one(p).await)?;
        metrics.push((name.0, super::click_through(cx.db(), node, since).await?));
    }
    Ok(render(&RecPage {
        ctx: page.ctx(),
        recs,
        metrics,
    }))
}

#[derive(Deserialize)]
struct ClickQuery {
    why: Option<String>,
}

/// Records the click, then shows the resource.
async fn click(
    page: Page,
    Path(id): Path<String>,
    Query(q): Query<ClickQuery>,
) -> AppResult<Response> {
    let id: ResourceId = id
        .parse()
        .map_err(|_| AppError::NotFound("resources.resource_not_found"))?;
    let cx = page.cx();
    Viewer::of(cx.db(), cx.actor).await?.require_staff()?;
    super::record_click(&cx, id, q.why.as_deref().unwrap_or("")).await?;
    Ok(web::redirect(&format!("/library/r/{id}")).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Recommendations {
    pub items: Vec<Recommendation>,
}

/// What the signed-in teacher is recommended, each with why (shown ones are recorded).
#[utoipa::path(get, path = "/api/v1/recommendations", responses((status = 200, body = Recommendations), (status = 403)))]
async fn api_list(c: ApiCx) -> AppResult<Json<Recommendations>> {
    let cx = c.cx();
    let items = super::for_teacher(&cx, 30).await?;
    super::record_shown(&cx, &items).await?;
    Ok(Json(Recommendations { items }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MetricsQuery {
    /// Only events after this many days ago (default 90).
    days: Option<i64>,
}

/// Shown, clicked and click-through rate of recommendations for a node's people, by reason
/// (administrators of the node).
#[utoipa::path(get, path = "/api/v1/recommendations/metrics/{node}", params(MetricsQuery), responses((status = 200, body = Vec<ClickThrough>), (status = 403)))]
async fn api_metrics(
    c: ApiCx,
    web::IdPath(node): web::IdPath<NodeId>,
    Query(q): Query<MetricsQuery>,
) -> AppResult<Json<Vec<ClickThrough>>> {
    let cx = c.cx();
    if !kernel::authz::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::Forbidden);
    }
    let since = cx.now - chrono::Duration::days(q.days.unwrap_or(90).clamp(1, 3650));
    Ok(Json(super::click_through(cx.db(), node, since).await?))
}

#[derive(OpenApi)]
#[openapi(
    paths(api_list, api_metrics),
    components(schemas(Recommendations, Recommendation, Reason, ClickThrough))
)]
pub struct RecommendApiDoc;
