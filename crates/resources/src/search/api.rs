//! `GET /api/v1/resources/search`: the same search as the page, as JSON.

use super::input::{SearchInput, SearchParams, Sort};
use super::results::{self, FacetGroup, FacetValue, Hit, SearchResults};
use crate::model::{Kind, Scope};
use axum::Json;
use axum::extract::Query;
use kernel::{AppError, AppResult};
use utoipa::OpenApi;
use web::ApiCx;

#[derive(OpenApi)]
#[openapi(
    paths(search),
    components(schemas(
        SearchResults,
        SearchInput,
        Hit,
        FacetGroup,
        FacetValue,
        Sort,
        Kind,
        Scope
    ))
)]
pub struct SearchApiDoc;

/// Searches the library: free text in Chinese or English over titles, tags, descriptions and
/// the files' text, with filters by catalogue node, kind, level and school, sorted by
/// relevance, newest or quality. Only the resources the caller may see; staff only. Returns a
/// page of hits with highlighted titles and passages, and the facet counts of every dimension.
#[utoipa::path(
    get,
    path = "/api/v1/resources/search",
    params(SearchParams),
    responses(
        (status = 200, body = SearchResults),
        (status = 401, description = "Not authenticated"),
        (status = 403, description = "Students and guardians do not use the library"),
        (status = 422, description = "A parameter is invalid: `fields` names it (e.g. an unknown sort)")
    )
)]
pub(crate) async fn search(
    c: ApiCx,
    Query(params): Query<SearchParams>,
) -> AppResult<Json<SearchResults>> {
    let input = params.parse().map_err(AppError::Invalid)?;
    Ok(Json(results::query(&c.cx(), input).await?))
}
