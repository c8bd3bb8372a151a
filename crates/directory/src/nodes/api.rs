//! The organisation tree and its terms in the JSON API.

use crate::model::Node;
use crate::nodes::{self, ChildFilter, NewNode};
use crate::terms::{self, NewTerm, Term};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, AppState, NodeId};
use serde::Deserialize;
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/nodes", post(create_node))
        .route("/api/v1/nodes/{id}", get(get_node).patch(update_node))
        .route("/api/v1/nodes/{id}/children", get(children))
        .route("/api/v1/nodes/{id}/deactivate", post(deactivate_node))
        .route("/api/v1/nodes/{id}/reactivate", post(reactivate_node))
        .route(
            "/api/v1/nodes/{id}/terms",
            get(list_terms).post(create_term),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(get_node, children, create_node, update_node, deactivate_node, reactivate_node, list_terms, create_term),
    components(schemas(Node, NewNode, NodeUpdate, Paged<Node>, Term, NewTerm))
)]
pub struct NodesApiDoc;

/// A node of the organisation tree.
#[utoipa::path(get, path = "/api/v1/nodes/{id}", responses((status = 200, body = Node), (status = 404)))]
async fn get_node(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<Node>> {
    Ok(Json(nodes::get(&c.cx(), id).await?))
}

/// A node's children, paged.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/children", params(ChildFilter, PageQuery), responses((status = 200, body = Paged<Node>)))]
async fn children(
    c: ApiCx,
    IdPath(id): IdPath<NodeId>,
    Query(f): Query<ChildFilter>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<Node>>> {
    Ok(Json(nodes::children(&c.cx(), id, f, &p).await?))
}

/// Creates a region, school, grade or class below `parent_id`.
#[utoipa::path(post, path = "/api/v1/nodes", request_body = NewNode, responses((status = 201, body = Node), (status = 422)))]
async fn create_node(
    c: ApiCx,
    ApiJson(input): ApiJson<NewNode>,
) -> AppResult<(StatusCode, Json<Node>)> {
    Ok((
        StatusCode::CREATED,
        Json(nodes::create(&c.cx(), input).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NodeUpdate {
    /// A new name.
    pub name: Option<String>,
    /// Schools only: the new parent region.
    pub parent_id: Option<NodeId>,
}

/// Renames a node and/or moves a school to another region.
#[utoipa::path(patch, path = "/api/v1/nodes/{id}", request_body = NodeUpdate, responses((status = 200, body = Node)))]
async fn update_node(
    c: ApiCx,
    IdPath(id): IdPath<NodeId>,
    ApiJson(u): ApiJson<NodeUpdate>,
) -> AppResult<Json<Node>> {
    let cx = c.cx();
    let mut node = nodes::get(&cx, id).await?;
    if let Some(name) = u.name {
        node = nodes::rename(&cx, id, &name).await?;
    }
    if let Some(parent) = u.parent_id {
        node = nodes::move_school(&cx, id, parent).await?;
    }
    Ok(Json(node))
}

/// Deactivates an empty node.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/deactivate", responses((status = 200, body = Node), (status = 409)))]
async fn deactivate_node(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<Node>> {
    Ok(Json(nodes::deactivate(&c.cx(), id).await?))
}

/// Reactivates a node.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/reactivate", responses((status = 200, body = Node)))]
async fn reactivate_node(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<Node>> {
    Ok(Json(nodes::reactivate(&c.cx(), id).await?))
}

/// The terms that apply at a node.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/terms", responses((status = 200, body = Vec<Term>)))]
async fn list_terms(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<Vec<Term>>> {
    Ok(Json(terms::for_node(&c.cx(), id).await?))
}

/// Sets a term of a school year on a region.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/terms", request_body = NewTerm, responses((status = 201, body = Term)))]
async fn create_term(
    c: ApiCx,
    IdPath(id): IdPath<NodeId>,
    ApiJson(t): ApiJson<NewTerm>,
) -> AppResult<(StatusCode, Json<Term>)> {
    Ok((
        StatusCode::CREATED,
        Json(terms::create(&c.cx(), id, t).await?),
    ))
}
