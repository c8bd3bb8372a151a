//! The statistics API: `/api/v1/resources/stats/{node}` (a school's or region's administrators
//! only) and its upload target. Documented in [`StatsApiDoc`].

use super::{Backlog, NodeStats, ScopeCount, Target, TeacherUploads, TermRef, Usage, terms};
use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use kernel::paging::PageQuery;
use kernel::{AppError, AppResult, AppState, NodeId};
use serde::Deserialize;
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/resources/stats/{node}", get(stats))
        .route(
            "/api/v1/resources/stats/{node}/target",
            get(target).put(set_target),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(stats, target, set_target),
    components(schemas(
        NodeStats,
        TermRef,
        Target,
        TeacherUploads,
        ScopeCount,
        Backlog,
        Usage,
        TargetInput
    ))
)]
pub struct StatsApiDoc;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TermQuery {
    /// The term, as `2025-1` (school year 2025-2026, first term); the current one if not given.
    term: Option<String>,
    /// Only the teachers below their target.
    below: Option<bool>,
}

/// A school's or region's library statistics for a term: uploads per teacher against the
/// target (a page of the teachers, most uploads first, or only those below target;
/// `teachers_total` counts them all), resources by sharing level, the review backlog, usage
/// per school.
#[utoipa::path(get, path = "/api/v1/resources/stats/{node}", params(TermQuery, PageQuery), responses((status = 200, body = NodeStats), (status = 403), (status = 404), (status = 422)))]
async fn stats(
    c: ApiCx,
    IdPath(node): IdPath<NodeId>,
    Query(q): Query<TermQuery>,
    Query(page): Query<PageQuery>,
) -> AppResult<Json<NodeStats>> {
    let term = match q.term.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(
            terms::parse(t)
                .ok_or_else(|| AppError::field("term", "error.resource_stats.term_unknown"))?,
        ),
        None => None,
    };
    let mut s = super::of_node(&c.cx(), node, term).await?;
    if q.below.unwrap_or(false) {
        s.teachers.retain(TeacherUploads::below_target);
        s.teachers.reverse();
    }
    s.teachers_total = s.teachers.len() as i64;
    s.teachers = s
        .teachers
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(0))
        .take(usize::try_from(page.limit()).unwrap_or(20))
        .collect();
    Ok(Json(s))
}

/// The upload target that applies at a node.
#[utoipa::path(get, path = "/api/v1/resources/stats/{node}/target", responses((status = 200, body = Target), (status = 403)))]
async fn target(c: ApiCx, IdPath(node): IdPath<NodeId>) -> AppResult<Json<Target>> {
    let cx = c.cx();
    super::require_admin(&cx, node).await?;
    Ok(Json(
        super::target_for(cx.db(), cx.state.config.resources.target_per_term, node).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TargetInput {
    /// Uploads expected of each teacher in a term (0-1000); `null` goes back to the region
    /// above's target (or the platform's default).
    pub per_term: Option<i64>,
}

/// Sets a region's upload target (its administrators only).
#[utoipa::path(put, path = "/api/v1/resources/stats/{node}/target", request_body = TargetInput, responses((status = 200, body = Target), (status = 403), (status = 422)))]
async fn set_target(
    c: ApiCx,
    IdPath(node): IdPath<NodeId>,
    ApiJson(input): ApiJson<TargetInput>,
) -> AppResult<Json<Target>> {
    Ok(Json(
        super::set_target(&c.cx(), node, input.per_term).await?,
    ))
}
