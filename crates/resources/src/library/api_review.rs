//! The review queue, reviewer appointments and excellent-resource lists under `/api/v1`.

use super::excellent::{self, EntryUpdate, ExcellentList, ListDetail, NewEntry, NewList};
use super::queue::{self, QueueFilter, QueueItem};
use super::reviewers::{self, Appointment, Candidate, Reviewer};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, AppState, ListId, NodeId, PersonId, ResourceId};
use web::{ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reviews", get(queue))
        .route("/api/v1/reviewers/{node}", get(reviewers).post(appoint))
        .route("/api/v1/reviewers/{node}/candidates", get(candidates))
        .route(
            "/api/v1/reviewers/{node}/{person}",
            axum::routing::delete(dismiss),
        )
        .route("/api/v1/excellent-lists", get(lists).post(create_list))
        .route("/api/v1/excellent-lists/{id}", get(get_list))
        .route("/api/v1/excellent-lists/{id}/entries", post(add_entry))
        .route(
            "/api/v1/excellent-lists/{id}/entries/{resource}",
            axum::routing::patch(update_entry).delete(remove_entry),
        )
        .route("/api/v1/excellent-lists/{id}/publish", post(publish))
        .route("/api/v1/excellent-lists/{id}/unpublish", post(unpublish))
}

fn ids<A: kernel::ids::Id, B: kernel::ids::Id>(a: &str, b: &str) -> AppResult<(A, B)> {
    Ok((
        a.parse().map_err(|_| AppError::NotFound(A::not_found()))?,
        b.parse().map_err(|_| AppError::NotFound(B::not_found()))?,
    ))
}

/// What waits for the caller's review at every node they review, oldest first.
#[utoipa::path(get, path = "/api/v1/reviews", params(QueueFilter, PageQuery), responses((status = 200, body = Paged<QueueItem>)))]
pub(super) async fn queue(
    c: ApiCx,
    Query(f): Query<QueueFilter>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<QueueItem>>> {
    Ok(Json(queue::queue(&c.cx(), &f, &p).await?))
}

/// The reviewers appointed at a school (教研组长) or region (教研员): its administrators only.
#[utoipa::path(get, path = "/api/v1/reviewers/{node}", responses((status = 200, body = Vec<Reviewer>), (status = 404)))]
pub(super) async fn reviewers(
    c: ApiCx,
    IdPath(node): IdPath<NodeId>,
) -> AppResult<Json<Vec<Reviewer>>> {
    Ok(Json(reviewers::list(&c.cx(), node).await?))
}

/// The staff who may be appointed at a node.
#[utoipa::path(get, path = "/api/v1/reviewers/{node}/candidates", responses((status = 200, body = Vec<Candidate>), (status = 404)))]
pub(super) async fn candidates(
    c: ApiCx,
    IdPath(node): IdPath<NodeId>,
) -> AppResult<Json<Vec<Candidate>>> {
    Ok(Json(reviewers::candidates(&c.cx(), node).await?))
}

/// Appoints a reviewer (optionally for one subject); appointing again changes the subject.
#[utoipa::path(post, path = "/api/v1/reviewers/{node}", request_body = Appointment, responses((status = 201, body = Reviewer), (status = 404), (status = 422)))]
pub(super) async fn appoint(
    c: ApiCx,
    IdPath(node): IdPath<NodeId>,
    ApiJson(a): ApiJson<Appointment>,
) -> AppResult<(StatusCode, Json<Reviewer>)> {
    Ok((
        StatusCode::CREATED,
        Json(reviewers::appoint(&c.cx(), node, a).await?),
    ))
}

/// Ends an appointment.
#[utoipa::path(delete, path = "/api/v1/reviewers/{node}/{person}", responses((status = 204), (status = 404)))]
pub(super) async fn dismiss(
    c: ApiCx,
    Path((node, person)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let (node, person): (NodeId, PersonId) = ids(&node, &person)?;
    reviewers::dismiss(&c.cx(), node, person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The excellent-resource lists the caller sees: published ones of the nodes they belong to,
/// every list of the nodes they administer.
#[utoipa::path(get, path = "/api/v1/excellent-lists", params(PageQuery), responses((status = 200, body = Paged<ExcellentList>)))]
pub(super) async fn lists(
    c: ApiCx,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<ExcellentList>>> {
    Ok(Json(excellent::lists(&c.cx(), &p).await?))
}

/// Creates a draft list of a school, district or city the caller administers.
#[utoipa::path(post, path = "/api/v1/excellent-lists", request_body = NewList, responses((status = 201, body = ExcellentList), (status = 403), (status = 422)))]
pub(super) async fn create_list(
    c: ApiCx,
    ApiJson(l): ApiJson<NewList>,
) -> AppResult<(StatusCode, Json<ExcellentList>)> {
    Ok((
        StatusCode::CREATED,
        Json(excellent::create(&c.cx(), l).await?),
    ))
}

/// A list with its entries in order.
#[utoipa::path(get, path = "/api/v1/excellent-lists/{id}", responses((status = 200, body = ListDetail), (status = 404)))]
pub(super) async fn get_list(c: ApiCx, IdPath(id): IdPath<ListId>) -> AppResult<Json<ListDetail>> {
    Ok(Json(excellent::get(&c.cx(), id).await?))
}

/// Adds a resource shared at the list's node, at the end.
#[utoipa::path(post, path = "/api/v1/excellent-lists/{id}/entries", request_body = NewEntry, responses((status = 200, body = ListDetail), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub(super) async fn add_entry(
    c: ApiCx,
    IdPath(id): IdPath<ListId>,
    ApiJson(e): ApiJson<NewEntry>,
) -> AppResult<Json<ListDetail>> {
    Ok(Json(excellent::add(&c.cx(), id, e).await?))
}

/// Moves an entry and/or changes its note.
#[utoipa::path(patch, path = "/api/v1/excellent-lists/{id}/entries/{resource}", request_body = EntryUpdate, responses((status = 200, body = ListDetail), (status = 403), (status = 404)))]
pub(super) async fn update_entry(
    c: ApiCx,
    Path((id, resource)): Path<(String, String)>,
    ApiJson(u): ApiJson<EntryUpdate>,
) -> AppResult<Json<ListDetail>> {
    let (id, resource): (ListId, ResourceId) = ids(&id, &resource)?;
    Ok(Json(
        excellent::update_entry(&c.cx(), id, resource, u).await?,
    ))
}

/// Takes a resource off the list.
#[utoipa::path(delete, path = "/api/v1/excellent-lists/{id}/entries/{resource}", responses((status = 200, body = ListDetail), (status = 403), (status = 404)))]
pub(super) async fn remove_entry(
    c: ApiCx,
    Path((id, resource)): Path<(String, String)>,
) -> AppResult<Json<ListDetail>> {
    let (id, resource): (ListId, ResourceId) = ids(&id, &resource)?;
    Ok(Json(excellent::remove(&c.cx(), id, resource).await?))
}

/// Publishes the list to its node's members.
#[utoipa::path(post, path = "/api/v1/excellent-lists/{id}/publish", responses((status = 200, body = ListDetail), (status = 403), (status = 404)))]
pub(super) async fn publish(c: ApiCx, IdPath(id): IdPath<ListId>) -> AppResult<Json<ListDetail>> {
    Ok(Json(excellent::publish(&c.cx(), id, true).await?))
}

/// Takes the list back to draft.
#[utoipa::path(post, path = "/api/v1/excellent-lists/{id}/unpublish", responses((status = 200, body = ListDetail), (status = 403), (status = 404)))]
pub(super) async fn unpublish(c: ApiCx, IdPath(id): IdPath<ListId>) -> AppResult<Json<ListDetail>> {
    Ok(Json(excellent::publish(&c.cx(), id, false).await?))
}
