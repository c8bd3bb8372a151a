//! People and their roles in the JSON API, and who the caller is (`/api/v1/me`).

use crate::model::{Person, PersonRow, RoleView};
use crate::people::{
    self, Created, NewPerson, PersonDetail, PersonInput, PersonPatch, SearchQuery,
};
use crate::roles::{self, NewGrant};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, AppState, Grant, NodeId, PersonId, RoleId};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use web::{ApiActor, ApiCx, ApiJson, IdPath, parse_id};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/people", get(search_people).post(create_person))
        .route(
            "/api/v1/people/{id}",
            get(get_person).put(update_person).patch(patch_person),
        )
        .route("/api/v1/people/{id}/deactivate", post(deactivate_person))
        .route("/api/v1/people/{id}/reactivate", post(reactivate_person))
        .route("/api/v1/people/{id}/roles", get(list_roles).post(add_role))
        .route(
            "/api/v1/people/{id}/roles/{role_id}",
            axum::routing::delete(remove_role),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(me, search_people, create_person, get_person, update_person, patch_person, deactivate_person, reactivate_person,
          list_roles, add_role, remove_role),
    components(schemas(Me, PersonRow, Paged<PersonRow>, NewPerson, PersonInput, PersonPatch, Created, Person, PersonDetail,
        RoleView, NewGrant, Grant, RoleCreated))
)]
pub struct PeopleApiDoc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub person_id: PersonId,
    pub name: String,
    pub org_id: NodeId,
    pub locale: String,
    pub roles: Vec<Grant>,
}

/// Who am I, with my roles.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me)))]
async fn me(ApiActor(a): ApiActor) -> Json<Me> {
    Json(Me {
        person_id: a.person_id,
        name: a.name.clone(),
        org_id: a.org_id,
        locale: a.locale.tag().into(),
        roles: a.grants.clone(),
    })
}

/// Searches the people of a subtree (personal data masked).
#[utoipa::path(get, path = "/api/v1/people", params(SearchQuery, PageQuery), responses((status = 200, body = Paged<PersonRow>)))]
async fn search_people(
    c: ApiCx,
    Query(q): Query<SearchQuery>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<PersonRow>>> {
    Ok(Json(people::search(&c.cx(), &q, &p).await?))
}

/// Creates a person with an account (initial password returned once) and optionally a first role.
#[utoipa::path(post, path = "/api/v1/people", request_body = NewPerson, responses((status = 201, body = Created), (status = 422), (status = 409)))]
async fn create_person(
    c: ApiCx,
    ApiJson(p): ApiJson<NewPerson>,
) -> AppResult<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(people::create(&c.cx(), p).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RevealQuery {
    /// Show personal data in full (if permitted; audited).
    reveal: Option<bool>,
}

/// A person, masked unless `reveal=true` and permitted (that view is audited).
#[utoipa::path(get, path = "/api/v1/people/{id}", params(RevealQuery), responses((status = 200, body = PersonDetail), (status = 404)))]
async fn get_person(
    c: ApiCx,
    IdPath(id): IdPath<PersonId>,
    Query(q): Query<RevealQuery>,
) -> AppResult<Json<PersonDetail>> {
    Ok(Json(
        people::detail(&c.cx(), id, q.reveal.unwrap_or(false)).await?,
    ))
}

/// Replaces a person's fields: the body carries every field (`null` for none); a left-out
/// field is a 422 naming it, never an erased value. Use PATCH to change some fields.
#[utoipa::path(put, path = "/api/v1/people/{id}", request_body = PersonInput, responses((status = 200, body = Person), (status = 422)))]
async fn update_person(
    c: ApiCx,
    IdPath(id): IdPath<PersonId>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> AppResult<Json<Person>> {
    let p = PersonInput::whole(body)?;
    Ok(Json(people::update(&c.cx(), id, p).await?.masked()))
}

/// Changes the fields the body names; the others keep their values (`null` clears one).
#[utoipa::path(patch, path = "/api/v1/people/{id}", request_body = PersonPatch, responses((status = 200, body = Person), (status = 422)))]
async fn patch_person(
    c: ApiCx,
    IdPath(id): IdPath<PersonId>,
    ApiJson(p): ApiJson<PersonPatch>,
) -> AppResult<Json<Person>> {
    Ok(Json(people::patch(&c.cx(), id, p).await?.masked()))
}

/// Deactivates a person: sessions end, tokens are revoked, records stay.
#[utoipa::path(post, path = "/api/v1/people/{id}/deactivate", responses((status = 200, body = Person)))]
async fn deactivate_person(c: ApiCx, IdPath(id): IdPath<PersonId>) -> AppResult<Json<Person>> {
    Ok(Json(people::set_active(&c.cx(), id, false).await?.masked()))
}

/// Reactivates a person.
#[utoipa::path(post, path = "/api/v1/people/{id}/reactivate", responses((status = 200, body = Person)))]
async fn reactivate_person(c: ApiCx, IdPath(id): IdPath<PersonId>) -> AppResult<Json<Person>> {
    Ok(Json(people::set_active(&c.cx(), id, true).await?.masked()))
}

/// A person's role assignments.
#[utoipa::path(get, path = "/api/v1/people/{id}/roles", responses((status = 200, body = Vec<RoleView>)))]
async fn list_roles(c: ApiCx, IdPath(id): IdPath<PersonId>) -> AppResult<Json<Vec<RoleView>>> {
    let cx = c.cx();
    people::get_visible(&cx, id).await?;
    Ok(Json(roles::list_for(cx.db(), id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RoleCreated {
    pub id: RoleId,
}

/// Assigns a role.
#[utoipa::path(post, path = "/api/v1/people/{id}/roles", request_body = NewGrant, responses((status = 201, body = RoleCreated), (status = 409), (status = 422)))]
async fn add_role(
    c: ApiCx,
    IdPath(id): IdPath<PersonId>,
    ApiJson(g): ApiJson<NewGrant>,
) -> AppResult<(StatusCode, Json<RoleCreated>)> {
    let rid = roles::assign(&c.cx(), id, g).await?;
    Ok((StatusCode::CREATED, Json(RoleCreated { id: rid })))
}

/// Removes a role assignment.
#[utoipa::path(delete, path = "/api/v1/people/{id}/roles/{role_id}", responses((status = 204)))]
async fn remove_role(
    c: ApiCx,
    Path((id, role_id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let id = parse_id(&id)?;
    let role_id = parse_id(&role_id)?;
    roles::remove(&c.cx(), id, role_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
