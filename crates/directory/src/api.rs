//! The JSON API under `/api/v1`: the same operations as the pages, authenticated by bearer
//! token, errors as `{"error": {"code", "message", "fields"}}`. The OpenAPI document is served
//! at `/api/v1/openapi.json` and browsable at `/api/docs`.

use crate::audit_log::{self, AuditQuery};
use crate::classes::{self, Roster};
use crate::model::{Node, Person, PersonRow, RoleView};
use crate::nodes::{self, ChildFilter, NewNode};
use crate::pages::parse_id;
use crate::people::{
    self, Created, NewPerson, PersonDetail, PersonInput, PersonPatch, SearchQuery,
};
use crate::roles::{self, NewGrant};
use crate::terms::{self, NewTerm, Term};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::audit::AuditEntry;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, AppState, Grant, NodeId, PersonId, RoleId};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use web::{ApiActor, ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/nodes", post(create_node))
        .route("/api/v1/nodes/{id}", get(get_node).patch(update_node))
        .route("/api/v1/nodes/{id}/children", get(children))
        .route("/api/v1/nodes/{id}/stats", get(node_stats))
        .route("/api/v1/nodes/{id}/deactivate", post(deactivate_node))
        .route("/api/v1/nodes/{id}/reactivate", post(reactivate_node))
        .route(
            "/api/v1/nodes/{id}/terms",
            get(list_terms).post(create_term),
        )
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
        .route("/api/v1/classes/{id}/roster", get(roster))
        .route("/api/v1/audit", get(audit))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Jiaoyun API", version = "1", description = "The organisation tree, people, roles, terms, rosters and the audit log. Authenticate with `Authorization: Bearer jy_…` (create a token with `jiaoyun admin create-token`). Errors: `{\"error\": {\"code\", \"message\", \"fields\"}}`; unknown or foreign ids give 404."),
    paths(me, get_node, children, node_stats, create_node, update_node, deactivate_node, reactivate_node, list_terms, create_term,
          search_people, create_person, get_person, update_person, patch_person, deactivate_person, reactivate_person,
          list_roles, add_role, remove_role, roster, audit),
    components(schemas(Me, Node, NewNode, NodeUpdate, Paged<Node>, Term, NewTerm, PersonRow, Paged<PersonRow>, NewPerson,
        PersonInput, PersonPatch, Created, Person, PersonDetail, RoleView, NewGrant, Grant, Roster, classes::Member, AuditEntry, Paged<AuditEntry>, RoleCreated)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

pub struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// A readable list of the API's operations, rendered on the server (no JavaScript needed). The
/// server serves it at `/api/docs` for the whole API (every crate's document merged).
pub fn docs_page(doc: &utoipa::openapi::OpenApi) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Jiaoyun API</title><link rel=\"stylesheet\" href=\"/static/app.css\"><main>",
    );
    html.push_str(&format!(
        "<h1>{}</h1><p>{}</p><p><a href=\"/api/v1/openapi.json\">openapi.json</a></p>",
        esc(&doc.info.title),
        esc(doc.info.description.as_deref().unwrap_or(""))
    ));
    html.push_str(
        "<table><thead><tr><th>Method</th><th>Path</th><th>Summary</th></tr></thead><tbody>",
    );
    for (path, item) in doc.paths.paths.iter() {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                let summary = op
                    .summary
                    .clone()
                    .or_else(|| op.description.clone())
                    .unwrap_or_default();
                html.push_str(&format!(
                    "<tr><td><code>{method}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(path),
                    esc(&summary)
                ));
            }
        }
    }
    html.push_str("</tbody></table></main></html>");
    Html(html).into_response()
}

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

/// A node of the organisation tree.
#[utoipa::path(get, path = "/api/v1/nodes/{id}", responses((status = 200, body = Node), (status = 404)))]
async fn get_node(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<Node>> {
    Ok(Json(nodes::get(&c.cx(), id).await?))
}

/// Live statistics of a node's subtree: students by grade, gender, ethnicity and category,
/// class sizes, teacher-student ratio, left-behind and migrant children, registration.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/stats", responses((status = 200, body = crate::stats::NodeStats), (status = 403), (status = 404)))]
async fn node_stats(
    c: ApiCx,
    IdPath(id): IdPath<NodeId>,
) -> AppResult<Json<crate::stats::NodeStats>> {
    Ok(Json(crate::stats::of_node(&c.cx(), id).await?))
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

/// A class's roster (its teachers and the administrators above it).
#[utoipa::path(get, path = "/api/v1/classes/{id}/roster", responses((status = 200, body = Roster), (status = 404)))]
async fn roster(c: ApiCx, IdPath(id): IdPath<NodeId>) -> AppResult<Json<Roster>> {
    Ok(Json(classes::roster(&c.cx(), id).await?))
}

/// Searches the audit log of a subtree.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery, PageQuery), responses((status = 200, body = Paged<AuditEntry>)))]
async fn audit(
    c: ApiCx,
    Query(q): Query<AuditQuery>,
    Query(p): Query<PageQuery>,
) -> AppResult<Json<Paged<AuditEntry>>> {
    Ok(Json(audit_log::search(&c.cx(), &q, &p).await?))
}
