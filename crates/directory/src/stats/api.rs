//! A node's live statistics in the JSON API.

use axum::routing::get;
use axum::{Json, Router};
use kernel::{AppResult, AppState, NodeId};
use utoipa::OpenApi;
use web::{ApiCx, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/nodes/{id}/stats", get(node_stats))
}

#[derive(OpenApi)]
#[openapi(paths(node_stats))]
pub struct StatsApiDoc;

/// Live statistics of a node's subtree: students by grade, gender, ethnicity and category,
/// class sizes, teacher-student ratio, left-behind and migrant children, registration.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/stats", responses((status = 200, body = crate::stats::NodeStats), (status = 403), (status = 404)))]
async fn node_stats(
    c: ApiCx,
    IdPath(id): IdPath<NodeId>,
) -> AppResult<Json<crate::stats::NodeStats>> {
    Ok(Json(crate::stats::of_node(&c.cx(), id).await?))
}
