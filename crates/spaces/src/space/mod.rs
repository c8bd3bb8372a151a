//! Learning spaces (网络学习空间): a space for each region, school, class, teacher, student and
//! guardian; opened (开通) by its owner or for them by an administrator; columns (栏目) with
//! posts and comments, each readable by the region, the school, the class or the owner alone.

pub mod access;
pub mod live;
pub mod model;
pub mod open;
pub mod pages;
pub mod posts;
pub mod rates;

use chrono::{DateTime, Utc};
use kernel::{AppError, AppResult, ColumnId, Ctx, NodeId, PersonId, SpaceId, on_db};
pub use model::{Kind, Visibility};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Space {
    pub id: SpaceId,
    pub kind: String,
    pub node_id: NodeId,
    pub person_id: Option<PersonId>,
    pub title: String,
    pub intro: String,
    pub opened_at: DateTime<Utc>,
    pub visits: i64,
}

impl Space {
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::School)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Column {
    pub id: ColumnId,
    pub space_id: SpaceId,
    /// A default column's key (its title is translated), or none for a region's own.
    pub key: Option<String>,
    pub title: String,
    pub content: String,
    pub visibility: String,
    pub position: i64,
}

impl Column {
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or(Visibility::Private)
    }
}

const SPACE_COLUMNS: &str = "id, kind, node_id, person_id, title, intro, opened_at, visits";

pub async fn find(db: &kernel::Db, id: SpaceId) -> AppResult<Option<Space>> {
    Ok(on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SPACE_COLUMNS} FROM spaces WHERE id = $1"
    ))).bind(id).fetch_optional(p).await)?)
}

/// A person's space of a kind, if opened.
pub async fn of_person(db: &kernel::Db, person: PersonId, kind: Kind) -> AppResult<Option<Space>> {
    Ok(on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SPACE_COLUMNS} FROM spaces WHERE person_id = $1 AND kind = $2"
    ))).bind(person).bind(kind.as_str()).fetch_optional(p).await)?)
}

/// A region's, school's or class's space, if opened.
pub async fn of_node(db: &kernel::Db, node: NodeId) -> AppResult<Option<Space>> {
    Ok(on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SPACE_COLUMNS} FROM spaces WHERE node_id = $1 AND person_id IS NULL"
    ))).bind(node).fetch_optional(p).await)?)
}

/// A space its viewer may see (the space itself is visible to whoever may see any column).
pub async fn get(cx: &Ctx<'_>, id: SpaceId) -> AppResult<Space> {
    let s = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound("spaces.space_not_found"))?;
    if access::can_view(cx, &s, Visibility::Region).await? {
        Ok(s)
    } else {
        Err(AppError::NotFound("spaces.space_not_found"))
    }
}

/// The columns of a space the viewer may read, in order.
pub async fn columns(cx: &Ctx<'_>, space: &Space) -> AppResult<Vec<Column>> {
    let readable = access::readable(cx, space).await?;
    columns_readable(cx, space, &readable).await
}

/// The columns of a space at the visibilities the viewer may read (see [`access::readable`]).
pub async fn columns_readable(
    cx: &Ctx<'_>,
    space: &Space,
    readable: &[Visibility],
) -> AppResult<Vec<Column>> {
    let all: Vec<Column> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT id, space_id, key, title, content, visibility, position FROM space_columns
         WHERE space_id = $1 ORDER BY position, created_at",
    ).bind(space.id).fetch_all(p).await)?;
    Ok(all
        .into_iter()
        .filter(|c| readable.contains(&c.visibility()))
        .collect())
}

/// One column of a space, if the viewer may read it.
pub async fn column(cx: &Ctx<'_>, space: &Space, id: ColumnId) -> AppResult<Column> {
    columns(cx, space)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(AppError::NotFound("spaces.column_not_found"))
}

/// The spaces' pages.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/spaces", get(pages::mine))
        .route("/spaces/open", post(pages::open_mine))
        .route("/spaces/open/{node}", post(pages::open_node))
        .route("/spaces/rates/{node}", get(rates::page))
        .route("/spaces/{id}", get(pages::show))
        .route(
            "/spaces/{id}/columns/{column}",
            get(pages::column).post(pages::create_post),
        )
        .route("/spaces/posts/{id}", get(pages::post))
        .route("/spaces/posts/{id}/comments", post(pages::comment))
}
