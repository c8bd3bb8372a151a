//! Everything the resource page and `GET /api/v1/resources/{id}` show about one resource to
//! one viewer: metadata, catalogue paths, the file, the signals and the quality's parts, what
//! the viewer may do, their favourite and rating, the lists it was selected for, and the review
//! history for its author and reviewers.

use super::excellent::{self, Selection};
use super::quality::{Quality, Signals};
use super::resource::get_as;
use super::review::{self, Allowed, ReviewStep};
use super::signals::{self, Rating};
use crate::access::Viewer;
use crate::files::blob::{self, Blob};
use crate::model::ResourceRow;
use kernel::{AppResult, CatalogId, Ctx, Db, ResourceId, on_db};
use serde::Serialize;

/// A catalogue node a resource hangs on.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ResourceCatalogRef)]
pub struct CatalogRef {
    pub id: CatalogId,
    pub kind: String,
    pub name: String,
    /// From the stage down, joined by " / ".
    pub path: String,
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResourceDetail {
    #[serde(flatten)]
    pub resource: ResourceRow,
    pub author_name: String,
    pub org_name: String,
    pub catalog: Vec<CatalogRef>,
    pub file: Option<Blob>,
    pub quality_parts: Quality,
    pub allowed: Allowed,
    pub favourite: bool,
    pub my_rating: Option<Rating>,
    pub selections: Vec<Selection>,
    /// The review history, for the author and the reviewers only.
    pub history: Option<Vec<ReviewStep>>,
}

/// The catalogue nodes of a resource, in path order.
pub async fn catalog_of(db: &Db, id: ResourceId) -> AppResult<Vec<CatalogRef>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT c.id, c.kind, c.name, c.path, c.subject FROM resource_catalog rc
         JOIN catalog_nodes c ON c.id = rc.catalog_id WHERE rc.resource_id = $1 ORDER BY c.path",
    ).bind(id).fetch_all(p).await)?)
}

/// The names of a resource's author and owning node.
pub async fn names(db: &Db, r: &ResourceRow) -> AppResult<(String, String)> {
    let (a,): (String,) = on_db!(db, p => sqlx::query_as("SELECT name FROM persons WHERE id = $1")
        .bind(r.author_id).fetch_one(p).await)?;
    let (o,): (String,) = on_db!(db, p => sqlx::query_as("SELECT name FROM org_nodes WHERE id = $1")
        .bind(r.org_id).fetch_one(p).await)?;
    Ok((a, o))
}

/// The resource as the actor sees it (`NotFound` if they may not).
pub async fn detail(cx: &Ctx<'_>, id: ResourceId) -> AppResult<ResourceDetail> {
    let db = cx.db();
    let viewer = Viewer::of(db, cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    of_row(cx, &viewer, r).await
}

/// [`detail`] of a row already checked visible.
pub async fn of_row(cx: &Ctx<'_>, viewer: &Viewer, r: ResourceRow) -> AppResult<ResourceDetail> {
    let db = cx.db();
    let (author_name, org_name) = names(db, &r).await?;
    let allowed = review::allowed(cx, &r).await?;
    let history = if allowed.history {
        Some(review::steps(db, r.id).await?)
    } else {
        None
    };
    let file = match &r.blob_hash {
        Some(h) => blob::find(db, h).await?,
        None => None,
    };
    Ok(ResourceDetail {
        author_name,
        org_name,
        catalog: catalog_of(db, r.id).await?,
        file,
        quality_parts: Quality::of(Signals::of(&r)),
        allowed,
        favourite: signals::is_favourite(db, r.id, cx.actor.person_id).await?,
        my_rating: signals::my_rating(db, r.id, cx.actor.person_id).await?,
        selections: excellent::selections(db, viewer, r.id).await?,
        history,
        resource: r,
    })
}
