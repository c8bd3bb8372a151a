//! A class's roster in the JSON API.

use crate::classes::{self, Roster};
use axum::routing::get;
use axum::{Json, Router};
use kernel::{AppResult, AppState, NodeId};
use utoipa::OpenApi;
use web::{ApiCx, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/classes/{id}/roster", get(roster))
}

#[derive(OpenApi)]
#[openapi(paths(roster), components(schemas(Roster, classes::Member)))]
pub struct ClassesApiDoc;

/// A class's roster (its teachers and the administrators above it).
#[utoipa::path(get, path = "/api/v1/classes/{id}/roster", responses((status = 200, body = Roster), (status = 404)))]
async fn roster(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<Roster>> {
    Ok(Json(classes::roster(&c.cx(), id).await?))
}
