//! The audit log of a subtree in the JSON API.

use super::AuditQuery;
use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use kernel::audit::AuditEntry;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, AppState};
use utoipa::OpenApi;
use web::ApiCx;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(audit))
}

#[derive(OpenApi)]
#[openapi(paths(audit), components(schemas(AuditEntry, Paged<AuditEntry>)))]
pub struct AuditApiDoc;

/// Searches the audit log of a subtree.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery, PageQuery), responses((status = 200, body = Paged<AuditEntry>)))]
async fn audit(
    c: ApiCx,
    Query(q): Query<AuditQuery>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<AuditEntry>>> {
    Ok(Json(super::search(&c.cx(), &q, &p).await?))
}
