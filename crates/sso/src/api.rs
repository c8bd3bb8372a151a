//! Connected applications through the JSON API (`/api/v1/applications`): the same operations
//! as `/admin/apps`, for the administrators of a node's subtree.

use crate::apps::{self, AppChanges, Application, NewApplication, Registered};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::{AppError, AppResult, AppState, ApplicationId, NodeId};
use serde::Deserialize;
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/applications",
            get(list_applications).post(register_application),
        )
        .route(
            "/api/v1/applications/{id}",
            get(get_application).patch(update_application),
        )
        .route("/api/v1/applications/{id}/secret", post(new_secret))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list_applications,
        register_application,
        get_application,
        update_application,
        new_secret
    ),
    components(schemas(Application, NewApplication, AppChanges, Registered))
)]
pub struct ApiDoc;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NodeParam {
    /// The node whose subtree's applications to list (default: the first node the caller
    /// administers).
    node: Option<NodeId>,
}

/// The applications of a node's subtree.
#[utoipa::path(get, path = "/api/v1/applications", params(NodeParam), responses((status = 200, body = Vec<Application>), (status = 403)))]
async fn list_applications(
    c: ApiCx,
    Query(q): Query<NodeParam>,
) -> AppResult<Json<Vec<Application>>> {
    let node = match q.node {
        Some(n) => n,
        None => c
            .actor
            .admin_nodes()
            .first()
            .copied()
            .ok_or(AppError::Forbidden)?,
    };
    Ok(Json(apps::list_managed(&c.state.db, &c.actor, node).await?))
}

/// Registers an OIDC client or a CAS service; the client secret is in the answer, once.
#[utoipa::path(post, path = "/api/v1/applications", request_body = NewApplication, responses((status = 201, body = Registered), (status = 422)))]
async fn register_application(
    c: ApiCx,
    ApiJson(input): ApiJson<NewApplication>,
) -> AppResult<(StatusCode, Json<Registered>)> {
    let r = apps::register(&c.state, &c.actor, &c.meta, input).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/api/v1/applications/{id}", responses((status = 200, body = Application), (status = 404)))]
async fn get_application(
    c: ApiCx,
    IdPath(id): IdPath<ApplicationId>,
) -> AppResult<Json<Application>> {
    Ok(Json(apps::managed(&c.state.db, &c.actor, id).await?))
}

/// Changes an application; `"active": false` deactivates it.
#[utoipa::path(patch, path = "/api/v1/applications/{id}", request_body = AppChanges, responses((status = 200, body = Application), (status = 404), (status = 422)))]
async fn update_application(
    c: ApiCx,
    IdPath(id): IdPath<ApplicationId>,
    ApiJson(ch): ApiJson<AppChanges>,
) -> AppResult<Json<Application>> {
    Ok(Json(
        apps::update(&c.state, &c.actor, &c.meta, id, ch).await?,
    ))
}

/// A new client secret; the old one stops working. Returned once.
#[utoipa::path(post, path = "/api/v1/applications/{id}/secret", responses((status = 200, body = Registered), (status = 404)))]
async fn new_secret(c: ApiCx, IdPath(id): IdPath<ApplicationId>) -> AppResult<Json<Registered>> {
    Ok(Json(
        apps::new_secret(&c.state, &c.actor, &c.meta, id).await?,
    ))
}
