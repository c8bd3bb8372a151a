//! The library's API under `/api/v1`: resources (create, list, read, edit, delete), their
//! review steps, favourites, ratings and comments. The queue, reviewers and excellent lists are
//! in [`super::api_review`]; [`LibraryApiDoc`] documents both.

use super::api_review;
use super::detail::{self, CatalogRef, ResourceDetail};
use super::excellent::{
    Entry, EntryUpdate, ExcellentList, ListDetail, NewEntry, NewList, Selection,
};
use super::listing::{self, ListFilter, ResourceItem};
use super::quality::Quality;
use super::queue::QueueItem;
use super::resource::{self, NewResource, ResourceEdit};
use super::review::{self, Allowed, ReviewInput, ReviewStep};
use super::reviewers::{Appointment, Candidate, Reviewer};
use super::signals::{self, Comment, CommentInput, Rating, RatingInput};
use crate::files::blob::Blob;
use crate::model::{Level, ResourceRow};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, AppState, CommentId, ResourceId};
use serde::Serialize;
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/resources", get(list).post(create))
        .route(
            "/api/v1/resources/{id}",
            get(show).patch(edit).delete(remove),
        )
        .route("/api/v1/resources/{id}/submit", post(submit))
        .route("/api/v1/resources/{id}/withdraw", post(withdraw))
        .route("/api/v1/resources/{id}/approve", post(approve))
        .route("/api/v1/resources/{id}/reject", post(reject))
        .route("/api/v1/resources/{id}/recommend", post(recommend))
        .route("/api/v1/resources/{id}/reviews", get(history))
        .route(
            "/api/v1/resources/{id}/favourite",
            put(favourite).delete(unfavourite),
        )
        .route("/api/v1/resources/{id}/rating", put(rate))
        .route("/api/v1/resources/{id}/ratings", get(ratings))
        .route(
            "/api/v1/resources/{id}/comments",
            get(comments).post(comment),
        )
        .route(
            "/api/v1/resources/{id}/comments/{cid}",
            delete(delete_comment),
        )
        .merge(api_review::routes())
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, show, edit, remove, submit, withdraw, approve, reject, recommend, history,
          favourite, unfavourite, rate, ratings, comments, comment, delete_comment,
          api_review::queue, api_review::reviewers, api_review::candidates, api_review::appoint,
          api_review::dismiss, api_review::lists, api_review::create_list, api_review::get_list,
          api_review::add_entry, api_review::update_entry, api_review::remove_entry,
          api_review::publish, api_review::unpublish),
    components(schemas(ResourceRow, ResourceItem, Paged<ResourceItem>, NewResource, ResourceEdit, ResourceDetail,
        CatalogRef, Blob, Quality, Allowed, Level, ReviewInput, ReviewStep, Favourite, Rating, RatingInput,
        Paged<Rating>, Comment, CommentInput, Paged<Comment>, QueueItem, Paged<QueueItem>, Reviewer,
        Appointment, Candidate, ExcellentList, Paged<ExcellentList>, ListDetail, Entry, NewList, NewEntry,
        EntryUpdate, Selection))
)]
pub struct LibraryApiDoc;

/// The resources the caller sees (or only their own, `mine=true`), newest first.
#[utoipa::path(get, path = "/api/v1/resources", params(ListFilter, PageQuery), responses((status = 200, body = Paged<ResourceItem>)))]
async fn list(
    c: ApiCx,
    Query(f): Query<ListFilter>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<ResourceItem>>> {
    Ok(Json(listing::list(&c.cx(), &f, &p).await?))
}

/// Creates a private resource of the caller's from a completed upload, on catalogue nodes.
#[utoipa::path(post, path = "/api/v1/resources", request_body = NewResource, responses((status = 201, body = ResourceRow), (status = 403), (status = 422)))]
async fn create(
    c: ApiCx,
    ApiJson(input): ApiJson<NewResource>,
) -> AppResult<(StatusCode, Json<ResourceRow>)> {
    Ok((
        StatusCode::CREATED,
        Json(resource::create(&c.cx(), input).await?),
    ))
}

/// A resource with its catalogue paths, file, quality parts, what the caller may do, and the
/// review history for its author and reviewers.
#[utoipa::path(get, path = "/api/v1/resources/{id}", responses((status = 200, body = ResourceDetail), (status = 404)))]
async fn show(c: ApiCx, IdPath(id): IdPath<ResourceId>) -> AppResult<Json<ResourceDetail>> {
    Ok(Json(detail::detail(&c.cx(), id).await?))
}

/// Edits the caller's resource (bumps its version; a shared or waiting one goes back to the
/// school's review).
#[utoipa::path(patch, path = "/api/v1/resources/{id}", request_body = ResourceEdit, responses((status = 200, body = ResourceRow), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn edit(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    ApiJson(input): ApiJson<ResourceEdit>,
) -> AppResult<Json<ResourceRow>> {
    Ok(Json(resource::edit(&c.cx(), id, input).await?))
}

/// Deletes a resource (its author, or an administrator of its school or above).
#[utoipa::path(delete, path = "/api/v1/resources/{id}", responses((status = 204), (status = 403), (status = 404)))]
async fn remove(c: ApiCx, IdPath(id): IdPath<ResourceId>) -> AppResult<StatusCode> {
    resource::delete(&c.cx(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The author publishes a private resource to the school's review.
#[utoipa::path(post, path = "/api/v1/resources/{id}/submit", request_body = ReviewInput, responses((status = 200, body = ResourceRow), (status = 403), (status = 404), (status = 409)))]
async fn submit(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    ApiJson(i): ApiJson<ReviewInput>,
) -> AppResult<Json<ResourceRow>> {
    Ok(Json(review::submit(&c.cx(), id, i).await?))
}

/// The author withdraws a shared or waiting resource (private again).
#[utoipa::path(post, path = "/api/v1/resources/{id}/withdraw", request_body = ReviewInput, responses((status = 200, body = ResourceRow), (status = 403), (status = 404), (status = 409)))]
async fn withdraw(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    ApiJson(i): ApiJson<ReviewInput>,
) -> AppResult<Json<ResourceRow>> {
    Ok(Json(review::withdraw(&c.cx(), id, i).await?))
}

/// A reviewer of the level it waits at approves it (optional expert score 1-5). 409
/// `resources.changed_meanwhile` if `version` is not the current one.
#[utoipa::path(post, path = "/api/v1/resources/{id}/approve", request_body = ReviewInput, responses((status = 200, body = ResourceRow), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn approve(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    ApiJson(i): ApiJson<ReviewInput>,
) -> AppResult<Json<ResourceRow>> {
    Ok(Json(review::approve(&c.cx(), id, i).await?))
}

/// A reviewer of the level it waits at rejects it; `comment` (the reason) is required.
#[utoipa::path(post, path = "/api/v1/resources/{id}/reject", request_body = ReviewInput, responses((status = 200, body = ResourceRow), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn reject(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    ApiJson(i): ApiJson<ReviewInput>,
) -> AppResult<Json<ResourceRow>> {
    Ok(Json(review::reject(&c.cx(), id, i).await?))
}

/// A reviewer of the level it is shared at recommends it (推优) to the next level.
#[utoipa::path(post, path = "/api/v1/resources/{id}/recommend", request_body = ReviewInput, responses((status = 200, body = ResourceRow), (status = 403), (status = 404), (status = 409)))]
async fn recommend(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    ApiJson(i): ApiJson<ReviewInput>,
) -> AppResult<Json<ResourceRow>> {
    Ok(Json(review::recommend(&c.cx(), id, i).await?))
}

/// The review history, oldest first (its author and reviewers only).
#[utoipa::path(get, path = "/api/v1/resources/{id}/reviews", responses((status = 200, body = Vec<ReviewStep>), (status = 403), (status = 404)))]
async fn history(c: ApiCx, IdPath(id): IdPath<ResourceId>) -> AppResult<Json<Vec<ReviewStep>>> {
    Ok(Json(review::history(&c.cx(), id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ResourceFavourite)]
pub struct Favourite {
    pub favourite: bool,
    /// How many people made it a favourite.
    pub favourites: i64,
}

/// Makes the resource a favourite of the caller's.
#[utoipa::path(put, path = "/api/v1/resources/{id}/favourite", responses((status = 200, body = Favourite), (status = 404)))]
async fn favourite(c: ApiCx, IdPath(id): IdPath<ResourceId>) -> AppResult<Json<Favourite>> {
    let favourites = signals::set_favourite(&c.cx(), id, true).await?;
    Ok(Json(Favourite {
        favourite: true,
        favourites,
    }))
}

/// No longer a favourite of the caller's.
#[utoipa::path(delete, path = "/api/v1/resources/{id}/favourite", responses((status = 200, body = Favourite), (status = 404)))]
async fn unfavourite(c: ApiCx, IdPath(id): IdPath<ResourceId>) -> AppResult<Json<Favourite>> {
    let favourites = signals::set_favourite(&c.cx(), id, false).await?;
    Ok(Json(Favourite {
        favourite: false,
        favourites,
    }))
}

/// Rates the resource 1-5 with a comment (one rating per person: again replaces it).
#[utoipa::path(put, path = "/api/v1/resources/{id}/rating", request_body = RatingInput, responses((status = 200, body = Rating), (status = 404), (status = 422)))]
async fn rate(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    ApiJson(i): ApiJson<RatingInput>,
) -> AppResult<Json<Rating>> {
    Ok(Json(signals::rate(&c.cx(), id, i).await?))
}

/// The resource's ratings, newest first.
#[utoipa::path(get, path = "/api/v1/resources/{id}/ratings", params(PageQuery), responses((status = 200, body = Paged<Rating>), (status = 404)))]
async fn ratings(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<Rating>>> {
    Ok(Json(signals::ratings(&c.cx(), id, &p).await?))
}

/// The resource's comments, oldest first.
#[utoipa::path(get, path = "/api/v1/resources/{id}/comments", params(PageQuery), responses((status = 200, body = Paged<Comment>), (status = 404)))]
async fn comments(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<Comment>>> {
    Ok(Json(signals::comments(&c.cx(), id, &p).await?))
}

/// Posts a comment.
#[utoipa::path(post, path = "/api/v1/resources/{id}/comments", request_body = CommentInput, responses((status = 201, body = Comment), (status = 404), (status = 422)))]
async fn comment(
    c: ApiCx,
    IdPath(id): IdPath<ResourceId>,
    ApiJson(i): ApiJson<CommentInput>,
) -> AppResult<(StatusCode, Json<Comment>)> {
    Ok((
        StatusCode::CREATED,
        Json(signals::comment(&c.cx(), id, i).await?),
    ))
}

/// Deletes a comment (its writer, or an administrator of the resource's school or above).
#[utoipa::path(delete, path = "/api/v1/resources/{id}/comments/{cid}", responses((status = 204), (status = 403), (status = 404)))]
async fn delete_comment(
    c: ApiCx,
    Path((id, cid)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id: ResourceId = id
        .parse()
        .map_err(|_| AppError::NotFound(resource::NOT_FOUND))?;
    let cid: CommentId = cid
        .parse()
        .map_err(|_| AppError::NotFound("resources.comment_not_found"))?;
    signals::delete_comment(&c.cx(), id, cid).await?;
    Ok(StatusCode::NO_CONTENT)
}
