//! The catalogue's JSON API under `/api/v1/catalog`: the catalogues a person uses, nodes with
//! their breadcrumbs and children, volume outlines; maintenance and the import for the
//! region's administrators; textbook choices; class progress. Documented in [`CatalogApiDoc`].

use super::choices::{self, Choice};
use super::edit::{self, NewCatalogNode, Removed};
use super::import::{self, ImportError, ImportProblem, Imported};
use super::pages::opt_id;
use super::progress::{self, Progress};
use super::tree::{self, Catalogue, UnitOutline, WithBreadcrumb};
use super::{CatalogNode, pages};
use crate::access::Viewer;
use axum::extract::{Multipart, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::authz::{self, Permission};
use kernel::{AppError, AppResult, AppState, CatalogId, Ctx, NodeId};
use serde::{Deserialize, Serialize};
use standards::kinds::Stage;
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/catalog", get(list).post(create))
        .route("/api/v1/catalog/{id}", get(node).patch(update))
        .route("/api/v1/catalog/{id}/children", get(children))
        .route("/api/v1/catalog/{id}/outline", get(outline))
        .route("/api/v1/catalog/{id}/remove", post(remove))
        .route("/api/v1/catalog/{id}/reactivate", post(reactivate))
        .route(
            "/api/v1/catalog/choices/{node}",
            get(list_choices).put(set_choice),
        )
        .route(
            "/api/v1/catalog/progress/{class}",
            get(class_progress).put(set_progress),
        )
}

/// The import, under the upload size limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/api/v1/catalog/import", post(import_file))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        node,
        children,
        outline,
        create,
        update,
        remove,
        reactivate,
        import_file,
        list_choices,
        set_choice,
        class_progress,
        set_progress
    ),
    components(schemas(
        CatalogNode,
        Catalogue,
        WithBreadcrumb,
        UnitOutline,
        NewCatalogNode,
        NodeUpdate,
        RemoveResult,
        Removed,
        Imported,
        ImportProblem,
        ImportRefused,
        ImportRefusedBody,
        Choice,
        ChoiceInput,
        Progress,
        ProgressInput
    ))
)]
pub struct CatalogApiDoc;

async fn staff(cx: &Ctx<'_>) -> AppResult<()> {
    Viewer::of(cx.db(), cx.actor).await?.require_staff()
}

/// A node the actor uses (or maintains), else `NotFound`.
async fn visible(cx: &Ctx<'_>, id: CatalogId) -> AppResult<CatalogNode> {
    staff(cx).await?;
    let n = tree::get(cx.db(), id).await?;
    if tree::is_visible_to(cx.db(), cx.actor, &n).await?
        || edit::may_maintain(cx, n.region_id).await?
    {
        Ok(n)
    } else {
        Err(AppError::NotFound("catalog.node_not_found"))
    }
}

/// The catalogues I use (my city's, my district's), each with its stages.
#[utoipa::path(get, path = "/api/v1/catalog", responses((status = 200, body = Vec<Catalogue>), (status = 403)))]
async fn list(c: ApiCx) -> AppResult<Json<Vec<Catalogue>>> {
    let cx = c.cx();
    staff(&cx).await?;
    Ok(Json(tree::catalogues_for(cx.db(), cx.actor).await?))
}

/// A node with its breadcrumb (from the stage down).
#[utoipa::path(get, path = "/api/v1/catalog/{id}", responses((status = 200, body = WithBreadcrumb), (status = 404)))]
async fn node(c: ApiCx, IdPath(id): IdPath<CatalogId>) -> AppResult<Json<WithBreadcrumb>> {
    let cx = c.cx();
    visible(&cx, id).await?;
    Ok(Json(tree::with_breadcrumb(cx.db(), id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ChildQuery {
    /// Include deactivated children.
    include_inactive: Option<bool>,
}

/// A node's children in their order.
#[utoipa::path(get, path = "/api/v1/catalog/{id}/children", params(ChildQuery), responses((status = 200, body = Vec<CatalogNode>), (status = 404)))]
async fn children(
    c: ApiCx,
    IdPath(id): IdPath<CatalogId>,
    Query(q): Query<ChildQuery>,
) -> AppResult<Json<Vec<CatalogNode>>> {
    let cx = c.cx();
    visible(&cx, id).await?;
    Ok(Json(
        tree::children(cx.db(), id, q.include_inactive.unwrap_or(false)).await?,
    ))
}

/// A volume's units with their sections, in order.
#[utoipa::path(get, path = "/api/v1/catalog/{id}/outline", responses((status = 200, body = Vec<UnitOutline>), (status = 404)))]
async fn outline(c: ApiCx, IdPath(id): IdPath<CatalogId>) -> AppResult<Json<Vec<UnitOutline>>> {
    let cx = c.cx();
    visible(&cx, id).await?;
    Ok(Json(tree::outline(cx.db(), id).await?))
}

/// Creates a node: a stage of a region's catalogue (`region_id`), or a child of `parent_id`.
/// The region's administrators only.
#[utoipa::path(post, path = "/api/v1/catalog", request_body = NewCatalogNode, responses((status = 201, body = CatalogNode), (status = 403), (status = 409), (status = 422)))]
async fn create(
    c: ApiCx,
    ApiJson(input): ApiJson<NewCatalogNode>,
) -> AppResult<(StatusCode, Json<CatalogNode>)> {
    Ok((
        StatusCode::CREATED,
        Json(edit::create(&c.cx(), input).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NodeUpdate {
    /// A new name (the paths below follow).
    pub name: Option<String>,
    /// A new place among the siblings (1 for the first).
    pub position: Option<i64>,
}

/// Renames and/or moves a node among its siblings.
#[utoipa::path(patch, path = "/api/v1/catalog/{id}", request_body = NodeUpdate, responses((status = 200, body = CatalogNode), (status = 403), (status = 409), (status = 422)))]
async fn update(
    c: ApiCx,
    IdPath(id): IdPath<CatalogId>,
    ApiJson(u): ApiJson<NodeUpdate>,
) -> AppResult<Json<CatalogNode>> {
    let cx = c.cx();
    let mut n = tree::get(cx.db(), id).await?;
    if let Some(name) = u.name {
        n = edit::rename(&cx, id, &name).await?;
    }
    if let Some(p) = u.position {
        edit::reorder(&cx, id, p).await?;
        n = tree::get(cx.db(), id).await?;
    }
    Ok(Json(n))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RemoveResult {
    pub removed: Removed,
}

/// Removes a node and everything below it: deleted if nothing uses them, otherwise
/// deactivated.
#[utoipa::path(post, path = "/api/v1/catalog/{id}/remove", responses((status = 200, body = RemoveResult), (status = 403)))]
async fn remove(c: ApiCx, IdPath(id): IdPath<CatalogId>) -> AppResult<Json<RemoveResult>> {
    Ok(Json(RemoveResult {
        removed: edit::remove(&c.cx(), id).await?,
    }))
}

/// Reactivates a node and everything below it.
#[utoipa::path(post, path = "/api/v1/catalog/{id}/reactivate", responses((status = 200, body = CatalogNode), (status = 409)))]
async fn reactivate(c: ApiCx, IdPath(id): IdPath<CatalogId>) -> AppResult<Json<CatalogNode>> {
    Ok(Json(edit::reactivate(&c.cx(), id).await?))
}

/// A refused import: every problem by file, row, column and field.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportRefused {
    /// `catalog.import_invalid`
    pub code: String,
    pub message: String,
    pub file_name: String,
    /// The file as a whole could not be used.
    pub file_error: Option<String>,
    pub problem_count: u64,
    pub problems: Vec<ImportProblem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportRefusedBody {
    pub error: ImportRefused,
}

/// Imports a spreadsheet (CSV in UTF-8 or GBK, XLSX, XLS) into a region's catalogue:
/// multipart fields `region_id` and `file`. All or nothing; importing the same file again
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/catalog/import", request_body(content_type = "multipart/form-data", description = "`region_id` and `file`"),
    responses((status = 200, body = Imported), (status = 403), (status = 422, body = ImportRefusedBody)))]
async fn import_file(c: ApiCx, form: Multipart) -> AppResult<Response> {
    let staged = pages::receive_upload(&c.state, form).await?;
    let cx = c.cx();
    let region: NodeId = pages::parse_id(staged.field("region_id").unwrap_or_default())?;
    let Some(name) = staged.file_name.clone() else {
        return Err(AppError::field("file", "error.import.no_file"));
    };
    match import::run(&cx, region, &name, &staged.path).await {
        Ok(done) => Ok(Json(done).into_response()),
        Err(ImportError::App(e)) => Err(e),
        Err(ImportError::Rejected(r)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(ImportRefusedBody {
                error: ImportRefused {
                    code: "catalog.import_invalid".into(),
                    message: kernel::i18n::t(cx.actor.locale, "error.catalog.import_invalid")
                        .to_owned(),
                    file_name: r.file_name,
                    file_error: r.file_error,
                    problem_count: r.problem_count,
                    problems: r.problems,
                },
            }),
        )
            .into_response()),
    }
}

/// The textbook choices that apply at a node (its own and those inherited from above).
#[utoipa::path(get, path = "/api/v1/catalog/choices/{node}", responses((status = 200, body = Vec<Choice>), (status = 404)))]
async fn list_choices(c: ApiCx, IdPath(node): IdPath<NodeId>) -> AppResult<Json<Vec<Choice>>> {
    let cx = c.cx();
    staff(&cx).await?;
    authz::require_visible(
        cx.db(),
        cx.actor,
        Permission::ViewNode,
        node,
        "directory.node_not_found",
    )
    .await?;
    Ok(Json(choices::effective(cx.db(), node).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChoiceInput {
    /// primary | junior | senior …
    pub stage: String,
    /// JY/T 1001 course code.
    pub subject: String,
    /// The edition to teach; `null` clears the node's own choice.
    pub edition_id: Option<CatalogId>,
}

/// Sets or clears the edition a region or school teaches a stage's subject from (its
/// administrators only). Returns the choices that now apply there.
#[utoipa::path(put, path = "/api/v1/catalog/choices/{node}", request_body = ChoiceInput, responses((status = 200, body = Vec<Choice>), (status = 403), (status = 422)))]
async fn set_choice(
    c: ApiCx,
    IdPath(node): IdPath<NodeId>,
    ApiJson(input): ApiJson<ChoiceInput>,
) -> AppResult<Json<Vec<Choice>>> {
    let cx = c.cx();
    let stage = Stage::parse(&input.stage)
        .ok_or_else(|| AppError::field("stage", "error.catalog.unknown_stage"))?;
    choices::set(&cx, node, stage, input.subject.trim(), input.edition_id).await?;
    Ok(Json(choices::effective(cx.db(), node).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SubjectQuery {
    /// JY/T 1001 course code (13 语文, 14 数学, 41 英语).
    subject: String,
}

/// Where a class is in a subject this term (`null` if it has no volume this term).
#[utoipa::path(get, path = "/api/v1/catalog/progress/{class}", params(SubjectQuery), responses((status = 200, body = Option<Progress>), (status = 404)))]
async fn class_progress(
    c: ApiCx,
    IdPath(class): IdPath<NodeId>,
    Query(q): Query<SubjectQuery>,
) -> AppResult<Json<Option<Progress>>> {
    let cx = c.cx();
    staff(&cx).await?;
    authz::require_visible(
        cx.db(),
        cx.actor,
        Permission::ViewNode,
        class,
        "directory.node_not_found",
    )
    .await?;
    Ok(Json(
        progress::of_class(cx.db(), class, q.subject.trim(), cx.today()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ProgressInput {
    /// JY/T 1001 course code.
    pub subject: String,
    /// A unit or section of this term's volume; `null` goes back to the estimate.
    pub catalog_id: Option<String>,
}

/// Says where a class is in a subject (its teacher of the subject, its head teacher, or an
/// administrator above it).
#[utoipa::path(put, path = "/api/v1/catalog/progress/{class}", request_body = ProgressInput, responses((status = 200, body = Option<Progress>), (status = 403), (status = 422)))]
async fn set_progress(
    c: ApiCx,
    IdPath(class): IdPath<NodeId>,
    ApiJson(input): ApiJson<ProgressInput>,
) -> AppResult<Json<Option<Progress>>> {
    let at: Option<CatalogId> = opt_id(input.catalog_id.as_deref())?;
    Ok(Json(
        progress::set(&c.cx(), class, input.subject.trim(), at).await?,
    ))
}
