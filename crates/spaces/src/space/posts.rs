//! Posts and comments in a space's columns: written by those who may (see `access`), each with
//! a visibility no wider than a minor's space allows, counted in the fact record (a post, the
//! first post that fills a column, a comment, a visit).

use super::access;
use super::model::{TEACHER_ARCHIVE, Visibility};
use super::{Column, Space};
use chrono::{DateTime, NaiveDate, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{
    AppError, AppResult, Ctx, FieldErrors, PersonId, PostCommentId, PostId, on_db, on_tx,
};
use serde::{Deserialize, Serialize};

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 10_000;
pub const COMMENT_MAX: usize = 1_000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Post {
    pub id: PostId,
    pub space_id: kernel::SpaceId,
    pub column_id: kernel::ColumnId,
    pub author_id: PersonId,
    pub author_name: String,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub occurred_on: Option<NaiveDate>,
    pub visibility: String,
    /// `published`, or `held` until a moderator approves (only its author sees it then).
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub comments: i64,
}

const POST_COLUMNS: &str = "x.id, x.space_id, x.column_id, x.author_id, p.name AS author_name, x.title, x.body, \
     x.category, x.occurred_on, x.visibility, x.state, x.created_at, \
     (SELECT COUNT(*) FROM space_comments k WHERE k.post_id = x.id AND k.state = 'published') AS comments";

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPost {
    pub title: String,
    pub body: String,
    /// `region`, `school`, `class` or `private`; the column's when not given.
    #[serde(default)]
    pub visibility: Option<String>,
    /// An archive entry's category (a teacher's archive, a student's growth archive).
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub occurred_on: Option<NaiveDate>,
}

/// The published posts of a column that the viewer may read (at the visibilities
/// `access::readable` gave), newest first.
pub async fn list(
    cx: &Ctx<'_>,
    column: &Column,
    readable: &[Visibility],
    limit: i64,
) -> AppResult<Vec<Post>> {
    let rows: Vec<Post> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POST_COLUMNS} FROM space_posts x JOIN persons p ON p.id = x.author_id
         WHERE x.column_id = $1 AND (x.state = 'published' OR (x.state = 'held' AND x.author_id = $3))
         ORDER BY x.created_at DESC LIMIT $2"
    ))).bind(column.id).bind(limit).bind(cx.actor.person_id).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            r.author_id == cx.actor.person_id
                || readable
                    .contains(&Visibility::parse(&r.visibility).unwrap_or(Visibility::Private))
        })
        .collect())
}

/// Which categories a column's entries take, if it is an archive.
pub fn categories(space: &Space, column: &Column) -> &'static [&'static str] {
    match (space.kind(), column.key.as_deref()) {
        (super::Kind::Teacher, Some("archive")) => &TEACHER_ARCHIVE,
        _ => &[],
    }
}

/// Writes a post in a column.
pub async fn create(cx: &Ctx<'_>, space: &Space, column: &Column, n: NewPost) -> AppResult<PostId> {
    if column.content != "posts" || !access::may_post(cx, space, column.key.as_deref()).await? {
        return Err(AppError::Forbidden);
    }
    let mut f = FieldErrors::new();
    let title = n.title.trim();
    if title.is_empty() {
        f.add("title", "space.error.title_required");
    } else if title.chars().count() > TITLE_MAX {
        f.add("title", "space.error.title_too_long");
    }
    if n.body.trim().is_empty() {
        f.add("body", "space.error.body_required");
    } else if n.body.chars().count() > BODY_MAX {
        f.add("body", "space.error.body_too_long");
    }
    let visibility = match n.visibility.as_deref().filter(|v| !v.is_empty()) {
        None => column.visibility(),
        Some(v) => match Visibility::parse(v) {
            Some(v) => v,
            None => {
                f.add("visibility", "space.error.visibility");
                column.visibility()
            }
        },
    };
    let categories = categories(space, column);
    let category = n
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match category {
        Some(c) if !categories.contains(&c) => f.add("category", "space.error.category"),
        None if !categories.is_empty() => f.add("category", "space.error.category"),
        _ => {}
    }
    if n.occurred_on.is_some_and(|d| d > cx.today()) {
        f.add("occurred_on", "space.error.future_date");
    }
    f.into_result()?;
    let (state, held) = match crate::safety::check(
        cx.db(),
        space.node_id,
        &format!("{title}\n{}", n.body),
    )
    .await?
    {
        crate::safety::Verdict::Block(words) => return Err(crate::safety::blocked("body", &words)),
        crate::safety::Verdict::Hold(words) => ("held", Some(words.join("、"))),
        crate::safety::Verdict::Clean => ("published", None),
    };
    // A minor's space never shows beyond the school.
    let visibility = visibility.for_kind(space.kind());
    let id = PostId::new();
    let mut tx = cx.begin().await?;
    let (before,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM space_posts WHERE column_id = $1",
    ).bind(column.id).fetch_one(&mut *c).await)?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO space_posts (id, space_id, column_id, author_id, title, body, category, occurred_on, visibility, state, created_at, updated_at, held_words)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $10, $10, $12)",
    ).bind(id).bind(space.id).bind(column.id).bind(cx.actor.person_id).bind(title).bind(n.body.trim())
     .bind(category).bind(n.occurred_on).bind(visibility.as_str()).bind(cx.now).bind(state).bind(held)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "space.post",
            space.node_id,
            Some(cx.actor.person_id),
            id.0,
            format!("space.post:{id}"),
        ),
    )
    .await?;
    if before == 0 {
        facts::record(
            &mut tx,
            cx.now,
            Fact::once(
                "space.column_filled",
                space.node_id,
                space.person_id,
                column.id.0,
                format!("space.column_filled:{}", column.id),
            ),
        )
        .await?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("space.post")
            .object("space", space.id)
            .node(space.node_id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A post with its space and column, if the viewer may read it.
pub async fn get(cx: &Ctx<'_>, id: PostId) -> AppResult<(Space, Column, Post)> {
    let post: Option<Post> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POST_COLUMNS} FROM space_posts x JOIN persons p ON p.id = x.author_id
         WHERE x.id = $1 AND x.state <> 'removed'"
    ))).bind(id).fetch_optional(p).await)?;
    let post = post.ok_or(AppError::NotFound("spaces.post_not_found"))?;
    let space = super::find(cx.db(), post.space_id)
        .await?
        .ok_or(AppError::NotFound("spaces.post_not_found"))?;
    let readable = access::readable(cx, &space).await?;
    let column = super::columns_readable(cx, &space, &readable)
        .await?
        .into_iter()
        .find(|c| c.id == post.column_id)
        .ok_or(AppError::NotFound("spaces.post_not_found"))?;
    let v = Visibility::parse(&post.visibility).unwrap_or(Visibility::Private);
    let mine = post.author_id == cx.actor.person_id;
    if !mine && !readable.contains(&v) {
        return Err(AppError::NotFound("spaces.post_not_found"));
    }
    // A held post: its author, and the moderators above the space.
    if post.state == "held"
        && !mine
        && !crate::scope::administers(cx.db(), cx.actor, space.node_id).await?
    {
        return Err(AppError::NotFound("spaces.post_not_found"));
    }
    Ok((space, column, post))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Comment {
    pub id: PostCommentId,
    pub author_name: String,
    pub body: String,
    /// `published`, or `held` for a moderator (only its author sees it then).
    pub state: String,
    pub created_at: DateTime<Utc>,
}

pub async fn comments(cx: &Ctx<'_>, post: PostId) -> AppResult<Vec<Comment>> {
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT k.id, p.name AS author_name, k.body, k.state, k.created_at FROM space_comments k
         JOIN persons p ON p.id = k.author_id
         WHERE k.post_id = $1 AND (k.state = 'published' OR (k.state = 'held' AND k.author_id = $2))
         ORDER BY k.created_at LIMIT 500",
    ).bind(post).bind(cx.actor.person_id).fetch_all(p).await)?)
}

/// Comments on a post the viewer may read (members of the space's school, and its owner).
pub async fn comment(cx: &Ctx<'_>, id: PostId, body: &str) -> AppResult<PostCommentId> {
    let (space, _, post) = get(cx, id).await?;
    if !access::may_comment(cx, &space).await? {
        return Err(AppError::Forbidden);
    }
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::field("body", "space.error.comment_required"));
    }
    if body.chars().count() > COMMENT_MAX {
        return Err(AppError::field("body", "space.error.comment_too_long"));
    }
    let (state, held) = match crate::safety::check(cx.db(), space.node_id, body).await? {
        crate::safety::Verdict::Block(words) => return Err(crate::safety::blocked("body", &words)),
        crate::safety::Verdict::Hold(words) => ("held", Some(words.join("、"))),
        crate::safety::Verdict::Clean => ("published", None),
    };
    let cid = PostCommentId::new();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO space_comments (id, post_id, author_id, body, state, created_at, held_words) VALUES ($1, $2, $3, $4, $6, $5, $7)",
    ).bind(cid).bind(id).bind(cx.actor.person_id).bind(body).bind(cx.now).bind(state).bind(held)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "space.comment",
            space.node_id,
            Some(cx.actor.person_id),
            cid.0,
            format!("space.comment:{cid}"),
        ),
    )
    .await?;
    if post.author_id != cx.actor.person_id && state == "published" {
        crate::tell(
            cx.state,
            &mut tx,
            post.author_id,
            "comment",
            "notice.space_comment",
            id.0,
            &format!("/spaces/posts/{id}"),
            serde_json::json!({ "title": post.title }),
            &format!("comment:{cid}"),
            cx.now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(cid)
}

/// Counts a visit by someone other than the owner, once per person and day.
pub async fn visit(cx: &Ctx<'_>, space: &Space) -> AppResult<()> {
    if access::owns(cx, space).await? {
        return Ok(());
    }
    let key = format!(
        "space.visit:{}:{}:{}",
        space.id,
        cx.actor.person_id,
        cx.today()
    );
    // Most page views are a repeat visit the same day: a read, not a write.
    let (seen,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM facts WHERE idempotency_key = $1",
    ).bind(&key).fetch_one(p).await)?;
    if seen > 0 {
        return Ok(());
    }
    let mut tx = cx.begin().await?;
    let first = facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "space.visit",
            space.node_id,
            Some(cx.actor.person_id),
            space.id.0,
            format!(
                "space.visit:{}:{}:{}",
                space.id,
                cx.actor.person_id,
                cx.today()
            ),
        ),
    )
    .await?;
    if first {
        on_tx!(&mut tx, c => sqlx::query("UPDATE spaces SET visits = visits + 1 WHERE id = $1")
            .bind(space.id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await
}
