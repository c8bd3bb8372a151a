//! The registry-change API under `/api/v1`: a student's registry, class changes, registry
//! change records (leave, suspension, return, withdrawal, …), a school's records, and transfers
//! between schools with their approvals. The same service functions as the pages.

use crate::registry::transfers::{
    self, Allowed, Decision, NewTransfer, Transfer, TransferLists, TransferView,
};
use crate::registry::{
    self, ChangeRow, ClassChange, HistoryRow, NewChange, Recorded, StudentRegistry,
};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, AppState, NodeId, PersonId, TransferId};
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/people/{id}/registry", get(student))
        .route("/api/v1/people/{id}/class-change", post(class_change))
        .route("/api/v1/people/{id}/registry-changes", post(record_change))
        .route("/api/v1/nodes/{id}/registry-changes", get(school_records))
        .route(
            "/api/v1/nodes/{id}/transfers",
            get(node_transfers).post(request_transfer),
        )
        .route("/api/v1/transfers/{id}", get(get_transfer))
        .route("/api/v1/transfers/{id}/approve", post(approve))
        .route("/api/v1/transfers/{id}/reject", post(reject))
        .route("/api/v1/transfers/{id}/cancel", post(cancel))
}

#[derive(OpenApi)]
#[openapi(
    paths(student, class_change, record_change, school_records, node_transfers, request_transfer, get_transfer,
          approve, reject, cancel),
    components(schemas(StudentRegistry, ChangeRow, HistoryRow, NewChange, ClassChange, Recorded, Paged<ChangeRow>,
        Transfer, TransferLists, TransferView, Allowed, NewTransfer, Decision))
)]
pub struct RegistryApiDoc;

/// A student's registry: status, class, registry change records and class history.
/// Administrators of the student's school or above.
#[utoipa::path(get, path = "/api/v1/people/{id}/registry", responses((status = 200, body = StudentRegistry), (status = 403), (status = 404)))]
async fn student(c: ApiCx, IdPath(id): IdPath<PersonId>) -> AppResult<Json<StudentRegistry>> {
    Ok(Json(registry::student(&c.cx(), id).await?))
}

/// Moves a student to another class of their school (转班级; or 留级 / 降级 / 跳级).
#[utoipa::path(post, path = "/api/v1/people/{id}/class-change", request_body = ClassChange, responses((status = 201, body = Recorded), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn class_change(
    c: ApiCx,
    IdPath(id): IdPath<PersonId>,
    ApiJson(input): ApiJson<ClassChange>,
) -> AppResult<(StatusCode, Json<Recorded>)> {
    Ok((
        StatusCode::CREATED,
        Json(registry::class_change(&c.cx(), id, input).await?),
    ))
}

/// Records a registry change (休学, 停学, 复学, 退学, …) and applies it to the record and class.
#[utoipa::path(post, path = "/api/v1/people/{id}/registry-changes", request_body = NewChange, responses((status = 201, body = Recorded), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn record_change(
    c: ApiCx,
    IdPath(id): IdPath<PersonId>,
    ApiJson(input): ApiJson<NewChange>,
) -> AppResult<(StatusCode, Json<Recorded>)> {
    Ok((
        StatusCode::CREATED,
        Json(registry::record(&c.cx(), id, input).await?),
    ))
}

/// A school's registry change records, newest first (its side of each transfer included).
#[utoipa::path(get, path = "/api/v1/nodes/{id}/registry-changes", params(PageQuery), responses((status = 200, body = Paged<ChangeRow>), (status = 403), (status = 404)))]
async fn school_records(
    c: ApiCx,
    IdPath(id): IdPath<NodeId>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<ChangeRow>>> {
    Ok(Json(registry::of_school(&c.cx(), id, &p).await?))
}

/// A node's transfer requests: a school's pending requests in and out, a region's requests
/// waiting for its approval, and the recent decisions.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/transfers", responses((status = 200, body = TransferLists), (status = 403), (status = 404)))]
async fn node_transfers(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<TransferLists>> {
    Ok(Json(transfers::for_node(&c.cx(), id).await?))
}

/// The receiving school asks for a student (by registry number and name) to be transferred in.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/transfers", request_body = NewTransfer, responses((status = 201, body = Transfer), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn request_transfer(
    c: ApiCx,
    IdPath(id): IdPath<NodeId>,
    ApiJson(input): ApiJson<NewTransfer>,
) -> AppResult<(StatusCode, Json<Transfer>)> {
    Ok((
        StatusCode::CREATED,
        Json(transfers::request(&c.cx(), id, input).await?),
    ))
}

/// A transfer request and what the caller may do with it.
#[utoipa::path(get, path = "/api/v1/transfers/{id}", responses((status = 200, body = TransferView), (status = 404)))]
async fn get_transfer(c: ApiCx, IdPath(id): IdPath<TransferId>) -> AppResult<Json<TransferView>> {
    Ok(Json(transfers::get(&c.cx(), id).await?))
}

/// Approves at the current step: the sending school, then the region (which completes it).
#[utoipa::path(post, path = "/api/v1/transfers/{id}/approve", request_body = Decision, responses((status = 200, body = TransferView), (status = 403), (status = 404), (status = 409)))]
async fn approve(
    c: ApiCx,
    IdPath(id): IdPath<TransferId>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<Json<TransferView>> {
    Ok(Json(transfers::approve(&c.cx(), id, d).await?))
}

/// Rejects at the current step; a comment is required.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/reject", request_body = Decision, responses((status = 200, body = TransferView), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn reject(
    c: ApiCx,
    IdPath(id): IdPath<TransferId>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<Json<TransferView>> {
    Ok(Json(transfers::reject(&c.cx(), id, d).await?))
}

/// The receiving school withdraws its pending request.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/cancel", responses((status = 200, body = TransferView), (status = 403), (status = 404), (status = 409)))]
async fn cancel(c: ApiCx, IdPath(id): IdPath<TransferId>) -> AppResult<Json<TransferView>> {
    Ok(Json(transfers::cancel(&c.cx(), id).await?))
}
