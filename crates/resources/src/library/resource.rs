//! A resource's life: created private by a member of staff against catalogue nodes with a
//! file, edited (which bumps its version and, if it was shared or under review, sends it back
//! through the school's review), deleted (softly) by its author or an administrator above it.

use super::input::{check_nodes, check_text, clean_tags};
use super::quality::{Quality, Signals};
use super::review::{self, Decision};
use crate::access::{Audience, Viewer, may_view};
use crate::model::{COLUMNS, Level, ResourceRow, Scope};
use kernel::audit::AuditEvent;
use kernel::{
    AppError, AppResult, CatalogId, Ctx, Db, FieldErrors, NodeId, ResourceId, Tx, UploadId, on_db,
    on_tx,
};
use serde::Deserialize;

pub const NOT_FOUND: &str = "resources.resource_not_found";

/// A new resource. It starts private; its author publishes it to the school for review.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewResource {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// lesson_plan | study_guide | courseware | micro_lesson | teaching_design | exercise |
    /// material | reference
    pub kind: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Shared with students too (学生可见), once shared.
    #[serde(default)]
    pub for_students: bool,
    /// The catalogue nodes (units, sections, …) it is for: one to ten.
    #[serde(default)]
    pub catalog_ids: Vec<CatalogId>,
    /// A completed upload of the caller's (see `/api/v1/uploads`).
    pub upload_id: Option<UploadId>,
}

/// Changes to a resource; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ResourceEdit {
    /// The version the editor started from: refused (409 `resources.changed_meanwhile`) if the
    /// resource changed since.
    pub version: Option<i64>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub tags: Option<Vec<String>>,
    pub for_students: Option<bool>,
    pub catalog_ids: Option<Vec<CatalogId>>,
    /// A new file: a completed upload of the caller's.
    pub upload_id: Option<UploadId>,
}

/// A resource as stored, deleted or not, whoever asks.
pub async fn find(db: &Db, id: ResourceId) -> AppResult<Option<ResourceRow>> {
    let sql = format!("SELECT {COLUMNS} FROM resources r WHERE r.id = $1");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id).fetch_optional(p).await)?,
    )
}

/// A resource the actor may see (its audience, or a reviewer of the level it waits at), or
/// `NotFound`: a deleted or foreign resource is never told apart from an unknown one.
pub async fn get(cx: &Ctx<'_>, id: ResourceId) -> AppResult<ResourceRow> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    get_as(cx, &viewer, id).await
}

/// [`get`] for a viewer already resolved.
pub async fn get_as(cx: &Ctx<'_>, viewer: &Viewer, id: ResourceId) -> AppResult<ResourceRow> {
    let r = find(cx.db(), id)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    if may_view(cx.db(), cx.actor, viewer, &r).await? {
        Ok(r)
    } else {
        Err(AppError::NotFound(NOT_FOUND))
    }
}

/// The row inside a write transaction, locked on PostgreSQL (SQLite has one writer).
pub(crate) async fn lock(tx: &mut Tx, id: ResourceId) -> AppResult<ResourceRow> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM resources r WHERE r.id = $1{lock}");
    let row: Option<ResourceRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id).fetch_optional(&mut *c).await)?;
    row.filter(|r| r.deleted_at.is_none())
        .ok_or(AppError::NotFound(NOT_FOUND))
}

/// The school year and term in progress at `org` on `today` (the region's date; from the
/// nearest region that set its terms).
pub async fn current_term(
    db: &Db,
    org: NodeId,
    today: chrono::NaiveDate,
) -> AppResult<Option<(i64, i64)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT t.school_year, t.term FROM terms t JOIN org_closure c ON c.ancestor_id = t.region_id
         WHERE c.descendant_id = $1 AND t.starts_on <= $2 AND t.ends_on >= $2
         ORDER BY c.depth LIMIT 1",
    ).bind(org).bind(today).fetch_optional(p).await)?)
}

/// The blob and file name of an upload of the actor's; an unusable one is a field error.
async fn take_upload(
    cx: &Ctx<'_>,
    errors: &mut FieldErrors,
    upload: Option<UploadId>,
    required: bool,
) -> AppResult<Option<(String, String)>> {
    let Some(upload) = upload else {
        if required {
            errors.add("upload_id", "error.resources.file_required");
        }
        return Ok(None);
    };
    match crate::files::blob::of_upload(cx.db(), cx.actor, upload).await {
        Ok(blob) => {
            let (name,): (String,) = on_db!(cx.db(), p => sqlx::query_as(
                "SELECT file_name FROM uploads WHERE id = $1",
            ).bind(upload).fetch_one(p).await)?;
            Ok(Some((blob.hash, name)))
        }
        Err(AppError::NotFound(code)) => {
            errors.add("upload_id", &format!("error.{code}"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

async fn write_nodes(tx: &mut Tx, id: ResourceId, nodes: &[CatalogId]) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query("DELETE FROM resource_catalog WHERE resource_id = $1")
        .bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    for n in nodes {
        on_tx!(tx, c => sqlx::query("INSERT INTO resource_catalog (resource_id, catalog_id) VALUES ($1, $2)")
            .bind(id).bind(n).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Creates a private resource of the actor's, owned by the actor's school (or region).
pub async fn create(cx: &Ctx<'_>, input: NewResource) -> AppResult<ResourceRow> {
    let db = cx.db();
    let viewer = Viewer::of(db, cx.actor).await?;
    viewer.require_staff()?;
    let mut errors = FieldErrors::new();
    let tags = clean_tags(&input.tags);
    let kind = check_text(
        &mut errors,
        &input.title,
        &input.description,
        &input.kind,
        &tags,
    );
    let nodes = check_nodes(db, cx.actor, &mut errors, &input.catalog_ids).await?;
    let file = if errors.get("upload_id").is_none() {
        take_upload(cx, &mut errors, input.upload_id, true).await?
    } else {
        None
    };
    errors.into_result()?;
    let (Some(kind), Some((hash, file_name))) = (kind, file) else {
        return Err(AppError::field(
            "upload_id",
            "error.resources.file_required",
        ));
    };
    let org = cx.actor.org_id;
    let term = current_term(db, org, cx.today()).await?;
    let id = ResourceId::new();
    let quality = Quality::of(Signals::default()).score;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO resources (id, org_id, author_id, title, description, kind, tags, blob_hash, file_name,
                                scope, pending_level, version, quality, school_year, term, created_at, updated_at, for_students)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'private', NULL, 1, $10, $11, $12, $13, $13, $14)",
    ).bind(id).bind(org).bind(cx.actor.person_id).bind(input.title.trim()).bind(input.description.trim())
     .bind(kind.as_str()).bind(tags.join("\n")).bind(&hash).bind(&file_name).bind(quality)
     .bind(term.map(|t| t.0)).bind(term.map(|t| t.1)).bind(cx.now).bind(input.for_students)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    write_nodes(&mut tx, id, &nodes).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("resource.create")
            .object("resource", id)
            .node(org)
            .detail(serde_json::json!({ "title": input.title.trim(), "kind": kind.as_str(), "blob": hash })),
    )
    .await?;
    crate::changes::record(&mut tx, id, cx.now).await?;
    tx.commit().await?;
    find(db, id).await?.ok_or(AppError::NotFound(NOT_FOUND))
}

/// Edits a resource of the actor's. The version goes up by one; a resource that was shared or
/// waited for a review goes back to the school's review as private (a `reset` step, and a
/// notification to its author).
pub async fn edit(cx: &Ctx<'_>, id: ResourceId, input: ResourceEdit) -> AppResult<ResourceRow> {
    let db = cx.db();
    let viewer = Viewer::of(db, cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    if r.author_id != cx.actor.person_id && !cx.actor.is_system() {
        return Err(AppError::Forbidden);
    }
    let title = input.title.unwrap_or_else(|| r.title.clone());
    let description = input.description.unwrap_or_else(|| r.description.clone());
    let kind = input.kind.unwrap_or_else(|| r.kind.clone());
    let tags = match &input.tags {
        Some(t) => clean_tags(t),
        None => r.tag_list().into_iter().map(str::to_owned).collect(),
    };
    let mut errors = FieldErrors::new();
    let kind = check_text(&mut errors, &title, &description, &kind, &tags);
    let nodes = match &input.catalog_ids {
        Some(ids) => Some(check_nodes(db, cx.actor, &mut errors, ids).await?),
        None => None,
    };
    let file = take_upload(cx, &mut errors, input.upload_id, false).await?;
    errors.into_result()?;
    let kind = kind.ok_or(AppError::field("kind", "error.resources.kind_invalid"))?;
    let mut tx = cx.begin().await?;
    let cur = lock(&mut tx, id).await?;
    if input.version.is_some_and(|v| v != cur.version) {
        return Err(review::changed_meanwhile());
    }
    let reset = cur.scope() != Scope::Private || cur.pending().is_some();
    let version = cur.version + 1;
    let (hash, file_name) = match file {
        Some((h, n)) => (Some(h), Some(n)),
        None => (cur.blob_hash.clone(), cur.file_name.clone()),
    };
    let (scope, pending) = if reset {
        (Scope::Private, Some(Level::School.as_str()))
    } else {
        (cur.scope(), None)
    };
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE resources SET title = $2, description = $3, kind = $4, tags = $5, blob_hash = $6,
                file_name = $7, scope = $8, pending_level = $9, version = $10, updated_at = $11, for_students = $12
         WHERE id = $1",
    ).bind(id).bind(title.trim()).bind(description.trim()).bind(kind.as_str()).bind(tags.join("\n"))
     .bind(&hash).bind(&file_name).bind(scope.as_str()).bind(pending).bind(version).bind(cx.now)
     .bind(input.for_students.unwrap_or(cur.for_students))
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if let Some(nodes) = &nodes {
        write_nodes(&mut tx, id, nodes).await?;
    }
    if reset {
        if cur.scope() != Scope::Private {
            Audience::default().write(&mut tx, id).await?;
        }
        let step = Decision::Reset;
        review::step(cx, &mut tx, &cur, Level::School, step, "", None, version).await?;
        review::notify_author(cx, &mut tx, &cur, step, Level::School, "").await?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("resource.edit")
            .object("resource", id)
            .node(cur.org_id)
            .detail(serde_json::json!({ "version": version, "reset": reset, "new_file": hash != cur.blob_hash })),
    )
    .await?;
    crate::changes::record(&mut tx, id, cx.now).await?;
    tx.commit().await?;
    find(db, id).await?.ok_or(AppError::NotFound(NOT_FOUND))
}

/// Whether the actor may delete `r`: its author, or an administrator of its school or above.
pub async fn may_delete(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<bool> {
    Ok(r.author_id == cx.actor.person_id
        || kernel::authz::administers(cx.db(), cx.actor, r.org_id).await?)
}

/// Deletes a resource softly: it leaves every list, queue and search result.
pub async fn delete(cx: &Ctx<'_>, id: ResourceId) -> AppResult<()> {
    let r = get(cx, id).await?;
    if !may_delete(cx, &r).await? {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    let cur = lock(&mut tx, id).await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE resources SET deleted_at = $2, pending_level = NULL, updated_at = $2 WHERE id = $1",
    ).bind(id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Audience::default().write(&mut tx, id).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("resource.delete")
            .object("resource", id)
            .node(cur.org_id)
            .detail(serde_json::json!({ "title": cur.title, "scope": cur.scope })),
    )
    .await?;
    crate::changes::record(&mut tx, id, cx.now).await?;
    tx.commit().await?;
    Ok(())
}
