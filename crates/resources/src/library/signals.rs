//! Quality signals: views and downloads (usage, recorded as `resource_events` with the viewer's
//! school), favourites, ratings (1-5 with a comment, one per person) and comments. Each is
//! kept in the counters on `resources`, and the quality score is recomputed on every signal it
//! uses. A person's views and downloads of a resource count once a day each (a reload or a
//! repeated download is not more use), and an author's use of their own resource not at all.

use super::quality;
use super::resource::get_as;
use crate::access::Viewer;
use crate::model::ResourceRow;
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, CommentId, Ctx, Db, PersonId, ResourceId, Tx, on_db, on_tx};
use serde::{Deserialize, Serialize};

pub const RATING_COMMENT_MAX: usize = 500;
pub const COMMENT_MAX: usize = 2000;

/// The start of the calendar day (in the region's time zone) that `now` falls in.
pub fn day_start(now: DateTime<Utc>, zone: kernel::time::Zone) -> DateTime<Utc> {
    zone.day_start(zone.date(now))
}

/// Records a usage event if this person has not had one of this kind for this resource today.
async fn usage(cx: &Ctx<'_>, r: &ResourceRow, kind: &'static str) -> AppResult<bool> {
    if r.author_id == cx.actor.person_id || cx.actor.is_system() {
        return Ok(false);
    }
    let since = day_start(cx.now, cx.state.config.time_zone);
    let seen: Option<(i32,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT 1 FROM resource_events WHERE person_id = $1 AND kind = $2 AND resource_id = $3 AND at >= $4 LIMIT 1",
    ).bind(cx.actor.person_id).bind(kind).bind(r.id).bind(since).fetch_optional(p).await)?;
    if seen.is_some() {
        return Ok(false);
    }
    let mut tx = cx.begin().await?;
    let again: Option<(i32,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT 1 FROM resource_events WHERE person_id = $1 AND kind = $2 AND resource_id = $3 AND at >= $4 LIMIT 1",
    ).bind(cx.actor.person_id).bind(kind).bind(r.id).bind(since).fetch_optional(&mut *c).await)?;
    if again.is_some() {
        return Ok(false);
    }
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO resource_events (resource_id, person_id, org_id, kind, at) VALUES ($1, $2, $3, $4, $5)",
    ).bind(r.id).bind(cx.actor.person_id).bind(cx.actor.org_id).bind(kind).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let counter = if kind == "view" {
        "UPDATE resources SET views = views + 1 WHERE id = $1"
    } else {
        "UPDATE resources SET downloads = downloads + 1 WHERE id = $1"
    };
    on_tx!(&mut tx, c => sqlx::query(counter).bind(r.id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    quality::recompute(&mut tx, r.id, cx.now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Counts a view of the resource page (once a day per person); whether it counted.
pub async fn view(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<bool> {
    usage(cx, r, "view").await
}

/// Counts a download (once a day per person); whether it counted.
pub async fn download(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<bool> {
    usage(cx, r, "download").await
}

/// Whether `person` has made `resource` a favourite.
pub async fn is_favourite(db: &Db, resource: ResourceId, person: PersonId) -> AppResult<bool> {
    let row: Option<(i32,)> = on_db!(db, p => sqlx::query_as(
        "SELECT 1 FROM resource_favourites WHERE resource_id = $1 AND person_id = $2",
    ).bind(resource).bind(person).fetch_optional(p).await)?;
    Ok(row.is_some())
}

/// Makes the resource a favourite of the actor's (`on`) or not; returns the new count.
pub async fn set_favourite(cx: &Ctx<'_>, id: ResourceId, on: bool) -> AppResult<i64> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    viewer.require_staff()?;
    let r = get_as(cx, &viewer, id).await?;
    let mut tx = cx.begin().await?;
    let changed = if on {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO resource_favourites (resource_id, person_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (resource_id, person_id) DO NOTHING",
        ).bind(id).bind(cx.actor.person_id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?
    } else {
        on_tx!(&mut tx, c => sqlx::query(
            "DELETE FROM resource_favourites WHERE resource_id = $1 AND person_id = $2",
        ).bind(id).bind(cx.actor.person_id).execute(&mut *c).await.map(|r| r.rows_affected()))?
    };
    let count = recount(
        &mut tx,
        id,
        "favourites",
        "SELECT COUNT(*) FROM resource_favourites WHERE resource_id = $1",
    )
    .await?;
    if changed > 0 {
        quality::recompute(&mut tx, id, cx.now).await?;
        cx.audit(
            &mut tx,
            AuditEvent::new(if on {
                "resource.favourite"
            } else {
                "resource.unfavourite"
            })
            .object("resource", id)
            .node(r.org_id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(count)
}

/// Sets a counter column from a count query (both bound to the resource).
async fn recount(
    tx: &mut Tx,
    id: ResourceId,
    column: &'static str,
    count_sql: &'static str,
) -> AppResult<i64> {
    let (n,): (i64,) =
        on_tx!(tx, c => sqlx::query_as(count_sql).bind(id).fetch_one(&mut *c).await)?;
    let sql = format!("UPDATE resources SET {column} = $2 WHERE id = $1");
    on_tx!(tx, c => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(id).bind(n)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n)
}

/// A rating as given.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = ResourceRatingInput)]
pub struct RatingInput {
    /// 1-5.
    pub stars: i64,
    #[serde(default)]
    pub comment: String,
}

/// A person's rating of a resource.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ResourceRating)]
pub struct Rating {
    pub person_id: PersonId,
    pub person_name: String,
    pub stars: i64,
    pub comment: String,
    pub updated_at: DateTime<Utc>,
}

/// Rates a resource (not one's own); rating again replaces the earlier rating.
pub async fn rate(cx: &Ctx<'_>, id: ResourceId, input: RatingInput) -> AppResult<Rating> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    viewer.require_staff()?;
    let r = get_as(cx, &viewer, id).await?;
    let mut errors = kernel::FieldErrors::new();
    if r.author_id == cx.actor.person_id {
        errors.add("stars", "error.resources.rate_own");
    } else if !(1..=5).contains(&input.stars) {
        errors.add("stars", "error.resources.stars_range");
    }
    if input.comment.chars().count() > RATING_COMMENT_MAX {
        errors.add("comment", "error.resources.comment_too_long");
    }
    errors.into_result()?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO resource_ratings (resource_id, person_id, stars, comment, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (resource_id, person_id) DO UPDATE SET stars = excluded.stars, comment = excluded.comment,
                                                            updated_at = excluded.updated_at",
    ).bind(id).bind(cx.actor.person_id).bind(input.stars).bind(input.comment.trim()).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE resources SET rating_count = (SELECT COUNT(*) FROM resource_ratings WHERE resource_id = $1),
                              rating_sum = (SELECT COALESCE(SUM(stars), 0) FROM resource_ratings WHERE resource_id = $1)
         WHERE id = $1",
    ).bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    quality::recompute(&mut tx, id, cx.now).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("resource.rate")
            .object("resource", id)
            .node(r.org_id)
            .detail(serde_json::json!({ "stars": input.stars })),
    )
    .await?;
    tx.commit().await?;
    my_rating(cx.db(), id, cx.actor.person_id)
        .await?
        .ok_or(AppError::NotFound(super::resource::NOT_FOUND))
}

const RATING_COLUMNS: &str = "g.person_id, p.name AS person_name, g.stars, g.comment, g.updated_at";

/// The person's rating of the resource, if they gave one.
pub async fn my_rating(db: &Db, id: ResourceId, person: PersonId) -> AppResult<Option<Rating>> {
    let sql = format!(
        "SELECT {RATING_COLUMNS} FROM resource_ratings g JOIN persons p ON p.id = g.person_id
         WHERE g.resource_id = $1 AND g.person_id = $2"
    );
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id).bind(person).fetch_optional(p).await)?,
    )
}

/// A resource's ratings, newest first.
pub async fn ratings(cx: &Ctx<'_>, id: ResourceId, page: &PageQuery) -> AppResult<Paged<Rating>> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    let sql = format!(
        "SELECT {RATING_COLUMNS} FROM resource_ratings g JOIN persons p ON p.id = g.person_id
         WHERE g.resource_id = $1 ORDER BY g.updated_at DESC LIMIT $2 OFFSET $3"
    );
    let items: Vec<Rating> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id).bind(page.limit()).bind(page.offset()).fetch_all(p).await)?;
    Ok(Paged::new(items, r.rating_count, page))
}

/// A comment on a resource.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ResourceComment)]
pub struct Comment {
    pub id: CommentId,
    pub person_id: PersonId,
    pub person_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Whether the caller may delete it (theirs, or they administer the resource's school).
    #[sqlx(skip)]
    pub deletable: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = ResourceCommentInput)]
pub struct CommentInput {
    pub body: String,
}

/// Posts a comment on a resource the actor sees.
pub async fn comment(cx: &Ctx<'_>, id: ResourceId, input: CommentInput) -> AppResult<Comment> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    viewer.require_staff()?;
    let r = get_as(cx, &viewer, id).await?;
    let body = input.body.trim();
    if body.is_empty() {
        return Err(AppError::field("body", "error.resources.comment_required"));
    }
    if body.chars().count() > COMMENT_MAX {
        return Err(AppError::field("body", "error.resources.comment_too_long"));
    }
    let cid = CommentId::new();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO resource_comments (id, resource_id, person_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
    ).bind(cid).bind(id).bind(cx.actor.person_id).bind(body).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    recount(
        &mut tx,
        id,
        "comments",
        "SELECT COUNT(*) FROM resource_comments WHERE resource_id = $1 AND deleted_at IS NULL",
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("resource.comment")
            .object("resource", id)
            .node(r.org_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Comment {
        id: cid,
        person_id: cx.actor.person_id,
        person_name: cx.actor.name.clone(),
        body: body.to_owned(),
        created_at: cx.now,
        deletable: true,
    })
}

/// Deletes a comment: its writer, or an administrator of the resource's school or above.
pub async fn delete_comment(cx: &Ctx<'_>, id: ResourceId, comment: CommentId) -> AppResult<()> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    let row: Option<(PersonId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT person_id FROM resource_comments WHERE id = $1 AND resource_id = $2 AND deleted_at IS NULL",
    ).bind(comment).bind(id).fetch_optional(p).await)?;
    let (writer,) = row.ok_or(AppError::NotFound("resources.comment_not_found"))?;
    if writer != cx.actor.person_id
        && !kernel::authz::administers(cx.db(), cx.actor, r.org_id).await?
    {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE resource_comments SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
        .bind(comment).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    recount(
        &mut tx,
        id,
        "comments",
        "SELECT COUNT(*) FROM resource_comments WHERE resource_id = $1 AND deleted_at IS NULL",
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("resource.comment_delete")
            .object("resource", id)
            .node(r.org_id)
            .detail(serde_json::json!({ "comment": comment, "own": writer == cx.actor.person_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A resource's comments, oldest first, each saying whether the caller may delete it.
pub async fn comments(cx: &Ctx<'_>, id: ResourceId, page: &PageQuery) -> AppResult<Paged<Comment>> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    let mut items: Vec<Comment> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT m.id, m.person_id, p.name AS person_name, m.body, m.created_at
         FROM resource_comments m JOIN persons p ON p.id = m.person_id
         WHERE m.resource_id = $1 AND m.deleted_at IS NULL ORDER BY m.created_at, m.id LIMIT $2 OFFSET $3",
    ).bind(id).bind(page.limit()).bind(page.offset()).fetch_all(p).await)?;
    let admin = kernel::authz::administers(cx.db(), cx.actor, r.org_id).await?;
    for c in &mut items {
        c.deletable = admin || c.person_id == cx.actor.person_id;
    }
    Ok(Paged::new(items, r.comments, page))
}
