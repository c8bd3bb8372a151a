//! The exchange's HTTP endpoints: pairing and pushing (between instances, authenticated by the
//! one-time code and by the link's signature), the change feed and the links (bearer token).

use super::feed::{self, ChangeEntry, FeedPage, FeedQuery};
use super::links::{self, Conflict, Link};
use super::{Batch, PairReply, PairRequest, PushReply, apply, sign};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::{AppError, AppResult, AppState, LinkId, NodeId};
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath, Meta};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exchange/pair", post(pair))
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/nodes/{id}/links", get(node_links))
        .route("/api/v1/links/{id}/conflicts", get(link_conflicts))
}

pub fn push_routes() -> Router<AppState> {
    Router::new().route("/api/v1/exchange/push", post(push))
}

#[derive(OpenApi)]
#[openapi(
    paths(pair, push, changes, node_links, link_conflicts),
    components(schemas(
        PairRequest,
        PairReply,
        Batch,
        PushReply,
        FeedPage,
        ChangeEntry,
        Link,
        Conflict
    ))
)]
pub struct ExchangeApiDoc;

/// A lower instance pairs with a one-time code from this (upper) instance's administrator.
#[utoipa::path(post, path = "/api/v1/exchange/pair", request_body = PairRequest,
    responses((status = 200, body = PairReply), (status = 422)), security(()))]
async fn pair(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<PairRequest>,
) -> AppResult<Json<PairReply>> {
    Ok(Json(
        links::accept(&state.db, state.clock.now(), &meta, &req).await?,
    ))
}

/// A lower instance's batch of changes, signed with its link key (`x-jiaoyun-link`,
/// `x-jiaoyun-timestamp`, `x-jiaoyun-signature`). 409 with the upper's position when the batch
/// starts past it.
#[utoipa::path(post, path = "/api/v1/exchange/push", request_body = Batch,
    responses((status = 200, body = PushReply), (status = 401), (status = 409, body = PushReply)), security(()))]
async fn push(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let id: LinkId = header(sign::LINK_HEADER)
        .parse()
        .map_err(|_| AppError::Unauthenticated)?;
    let time: i64 = header(sign::TIME_HEADER)
        .parse()
        .map_err(|_| AppError::Unauthenticated)?;
    let link = links::find(&state.db, id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let now = state.clock.now();
    let signed = link.direction == "from_lower"
        && link.status == "active"
        && link.public_key.as_deref().is_some_and(|k| {
            sign::verify(
                k,
                id,
                time,
                now.timestamp(),
                &body,
                header(sign::SIGNATURE_HEADER),
            )
        });
    if !signed {
        tracing::warn!(link = %id, "exchange push refused: bad signature, stale time or inactive link");
        return Err(AppError::Unauthenticated);
    }
    let batch: Batch =
        serde_json::from_slice(&body).map_err(|_| AppError::BadRequest("exchange.unreadable"))?;
    if batch.link_id != id || batch.after > batch.upto {
        return Err(AppError::BadRequest("exchange.unreadable"));
    }
    let reply = apply::apply(&state.db, &link, &batch, now, &meta).await?;
    let status = if reply.gap {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok((status, Json(reply)).into_response())
}

/// The base-data change log of a node's subtree, after a cursor; with `records=true` each
/// changed entity's current record (personal data masked unless `full=true`; audited).
#[utoipa::path(get, path = "/api/v1/changes", params(FeedQuery),
    responses((status = 200, body = FeedPage), (status = 404)))]
async fn changes(c: ApiCx, Query(q): Query<FeedQuery>) -> AppResult<Json<FeedPage>> {
    Ok(Json(feed::read(&c.cx(), &q).await?))
}

/// The links of a node's subtree with another instance, and how their pushes stand.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/links", responses((status = 200, body = Vec<Link>), (status = 403)))]
async fn node_links(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<Vec<Link>>> {
    Ok(Json(links::list(&c.cx(), id).await?))
}

/// The conflicts a link has met (open ones first).
#[utoipa::path(get, path = "/api/v1/links/{id}/conflicts", responses((status = 200, body = Vec<Conflict>), (status = 404)))]
async fn link_conflicts(c: ApiCx, IdPath(id): IdPath<LinkId>) -> AppResult<Json<Vec<Conflict>>> {
    Ok(Json(links::conflicts(&c.cx(), id).await?))
}
