//! Content safety for minors: a region's word list (敏感词) checked on every post and comment
//! in a space (a word to block refuses it and names the word; a word to hold keeps it from
//! others until a moderator approves), reports of posts and comments by readers, and the
//! moderation queue of the administrators above the space.

pub mod pages;

use crate::scope;
use crate::space::{self, Space};
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PostCommentId, PostId, on_db, on_tx};
use serde::Serialize;

/// What the word list says of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// Published once a moderator approves; the words found.
    Hold(Vec<String>),
    /// Refused; the words found.
    Block(Vec<String>),
}

/// Checks `text` against the word lists of every region at or above `node`.
pub async fn check(db: &kernel::Db, node: NodeId, text: &str) -> AppResult<Verdict> {
    let words: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT w.word, w.action FROM sensitive_words w
         JOIN org_closure c ON c.ancestor_id = w.region_id AND c.descendant_id = $1",
    ).bind(node).fetch_all(p).await)?;
    let lower = text.to_lowercase();
    let found = |action: &str| -> Vec<String> {
        let mut f: Vec<String> = words
            .iter()
            .filter(|(w, a)| a == action && lower.contains(&w.to_lowercase()))
            .map(|(w, _)| w.clone())
            .collect();
        f.sort();
        f.dedup();
        f
    };
    let block = found("block");
    if !block.is_empty() {
        return Ok(Verdict::Block(block));
    }
    let hold = found("hold");
    Ok(if hold.is_empty() {
        Verdict::Clean
    } else {
        Verdict::Hold(hold)
    })
}

/// The validation error of a blocked text: the field's message, and the words named.
pub fn blocked(field: &str, words: &[String]) -> AppError {
    let mut f = FieldErrors::new();
    f.add(field, "safety.error.blocked");
    f.add(&format!("{field}.words"), &words.join("、"));
    AppError::Invalid(f)
}

/// A word of a region's list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Word {
    pub word: String,
    pub action: String,
    pub created_at: DateTime<Utc>,
}

async fn require_region_admin(cx: &Ctx<'_>, region: NodeId) -> AppResult<()> {
    let node = directory::nodes::find(cx.db(), region)
        .await?
        .ok_or(AppError::NotFound("directory.node_not_found"))?;
    let is_region = matches!(node.kind.as_str(), "province" | "city" | "district");
    if is_region && scope::administers(cx.db(), cx.actor, region).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("directory.node_not_found"))
    }
}

pub async fn words(cx: &Ctx<'_>, region: NodeId) -> AppResult<Vec<Word>> {
    require_region_admin(cx, region).await?;
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT word, action, created_at FROM sensitive_words WHERE region_id = $1 ORDER BY action, word",
    ).bind(region).fetch_all(p).await)?)
}

/// Adds words (one per line or separated by commas) to a region's list; returns how many.
pub async fn add_words(cx: &Ctx<'_>, region: NodeId, words: &str, action: &str) -> AppResult<u64> {
    require_region_admin(cx, region).await?;
    if !matches!(action, "block" | "hold") {
        return Err(AppError::field("action", "safety.error.action"));
    }
    let list: Vec<String> = words
        .split(['\n', ',', '，', '、'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    if list.is_empty() {
        return Err(AppError::field("words", "safety.error.words_required"));
    }
    if list.iter().any(|w| w.chars().count() > 30) {
        return Err(AppError::field("words", "safety.error.word_too_long"));
    }
    let mut tx = cx.begin().await?;
    let mut n = 0;
    for w in &list {
        n += on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO sensitive_words (region_id, word, action, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (region_id, word) DO UPDATE SET action = excluded.action",
        ).bind(region).bind(w).bind(action).bind(cx.actor.person_id).bind(cx.now)
         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("safety.words")
            .object("node", region)
            .node(region)
            .detail(serde_json::json!({ "added": list.len(), "action": action })),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

pub async fn remove_word(cx: &Ctx<'_>, region: NodeId, word: &str) -> AppResult<()> {
    require_region_admin(cx, region).await?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM sensitive_words WHERE region_id = $1 AND word = $2")
        .bind(region).bind(word).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("safety.words")
            .object("node", region)
            .node(region)
            .detail(serde_json::json!({ "removed": word })),
    )
    .await?;
    tx.commit().await
}

pub const REASON_MAX: usize = 200;

/// A reader reports a post (or one of its comments) to the moderators.
pub async fn report(
    cx: &Ctx<'_>,
    post: PostId,
    comment: Option<PostCommentId>,
    reason: &str,
) -> AppResult<()> {
    let (space, _, _) = space::posts::get(cx, post).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_MAX {
        return Err(AppError::field("reason", "safety.error.reason"));
    }
    if let Some(c) = comment {
        let (n,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*) FROM space_comments WHERE id = $1 AND post_id = $2",
        ).bind(c).bind(post).fetch_one(p).await)?;
        if n == 0 {
            return Err(AppError::NotFound("spaces.comment_not_found"));
        }
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO content_reports (id, post_id, comment_id, reported_by, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    ).bind(uuid::Uuid::now_v7()).bind(post).bind(comment).bind(cx.actor.person_id).bind(reason).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("safety.report")
            .object("space", space.id)
            .node(space.node_id),
    )
    .await?;
    tx.commit().await
}

/// Something waiting for a moderator: a held post or comment, or a report.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Item {
    /// `post`, `comment` or `report`.
    pub what: String,
    pub id: uuid::Uuid,
    pub post_id: PostId,
    pub space_title: String,
    pub author: String,
    pub text: String,
    /// The held words, or the report's reason.
    pub why: String,
    pub at: DateTime<Utc>,
}

/// What waits for the actor's moderation: held posts and comments, open reports, in the spaces
/// at or below the nodes they administer.
pub async fn queue(cx: &Ctx<'_>) -> AppResult<Vec<Item>> {
    let mut out = Vec::new();
    for node in cx.actor.admin_nodes() {
        let rows: Vec<Item> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT 'post' AS what, x.id, x.id AS post_id, s.title AS space_title, a.name AS author, x.title AS text,
                    COALESCE(x.held_words, '') AS why, x.created_at AS at
             FROM space_posts x JOIN spaces s ON s.id = x.space_id JOIN persons a ON a.id = x.author_id
             JOIN org_closure c ON c.descendant_id = s.node_id AND c.ancestor_id = $1
             WHERE x.state = 'held'
             UNION ALL
             SELECT 'comment', k.id, x.id, s.title, a.name, k.body, COALESCE(k.held_words, ''), k.created_at
             FROM space_comments k JOIN space_posts x ON x.id = k.post_id JOIN spaces s ON s.id = x.space_id
             JOIN persons a ON a.id = k.author_id
             JOIN org_closure c ON c.descendant_id = s.node_id AND c.ancestor_id = $1
             WHERE k.state = 'held'
             UNION ALL
             SELECT 'report', r.id, x.id, s.title, a.name, COALESCE(k.body, x.title), r.reason, r.created_at
             FROM content_reports r JOIN space_posts x ON x.id = r.post_id JOIN spaces s ON s.id = x.space_id
             LEFT JOIN space_comments k ON k.id = r.comment_id
             JOIN persons a ON a.id = COALESCE(k.author_id, x.author_id)
             JOIN org_closure c ON c.descendant_id = s.node_id AND c.ancestor_id = $1
             WHERE r.resolved_at IS NULL
             ORDER BY 8 LIMIT 200",
        ).bind(node).fetch_all(p).await)?;
        for r in rows {
            if !out.iter().any(|o: &Item| o.id == r.id) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// The space a post is in, for the moderation's permission check.
async fn space_of_post(cx: &Ctx<'_>, post: PostId) -> AppResult<Space> {
    let row: Option<(kernel::SpaceId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT space_id FROM space_posts WHERE id = $1",
    ).bind(post).fetch_optional(p).await)?;
    let id = row.ok_or(AppError::NotFound("spaces.post_not_found"))?.0;
    space::find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound("spaces.post_not_found"))
}

/// A moderator approves (publishes) or removes a held post or comment, or closes a report by
/// keeping or removing what it was about. Audited.
pub async fn decide(cx: &Ctx<'_>, what: &str, id: uuid::Uuid, keep: bool) -> AppResult<()> {
    let post: PostId = match what {
        "post" => PostId(id),
        "comment" => {
            let row: Option<(PostId,)> = on_db!(cx.db(), p => sqlx::query_as(
                "SELECT post_id FROM space_comments WHERE id = $1",
            ).bind(id).fetch_optional(p).await)?;
            row.ok_or(AppError::NotFound("spaces.comment_not_found"))?.0
        }
        "report" => {
            let row: Option<(PostId,)> = on_db!(cx.db(), p => sqlx::query_as(
                "SELECT post_id FROM content_reports WHERE id = $1",
            ).bind(id).fetch_optional(p).await)?;
            row.ok_or(AppError::NotFound("spaces.post_not_found"))?.0
        }
        _ => return Err(AppError::BadRequest("invalid_form")),
    };
    let space = space_of_post(cx, post).await?;
    if !scope::administers(cx.db(), cx.actor, space.node_id).await? {
        return Err(AppError::NotFound("spaces.post_not_found"));
    }
    let state = if keep { "published" } else { "removed" };
    let mut tx = cx.begin().await?;
    match what {
        "post" => {
            on_tx!(&mut tx, c => sqlx::query("UPDATE space_posts SET state = $2 WHERE id = $1 AND state = 'held'")
            .bind(id).bind(state).execute(&mut *c).await.map(|r| r.rows_affected()))?
        }
        "comment" => {
            on_tx!(&mut tx, c => sqlx::query("UPDATE space_comments SET state = $2 WHERE id = $1 AND state = 'held'")
            .bind(id).bind(state).execute(&mut *c).await.map(|r| r.rows_affected()))?
        }
        _ => {
            let (comment,): (Option<PostCommentId>,) = on_tx!(&mut tx, c => sqlx::query_as(
                "SELECT comment_id FROM content_reports WHERE id = $1",
            ).bind(id).fetch_one(&mut *c).await)?;
            if !keep {
                match comment {
                    Some(k) => {
                        on_tx!(&mut tx, c => sqlx::query("UPDATE space_comments SET state = 'removed' WHERE id = $1")
                        .bind(k).execute(&mut *c).await.map(|r| r.rows_affected()))?
                    }
                    None => {
                        on_tx!(&mut tx, c => sqlx::query("UPDATE space_posts SET state = 'removed' WHERE id = $1")
                        .bind(post).execute(&mut *c).await.map(|r| r.rows_affected()))?
                    }
                };
            }
            on_tx!(&mut tx, c => sqlx::query(
                "UPDATE content_reports SET outcome = $2, resolved_by = $3, resolved_at = $4 WHERE id = $1",
            ).bind(id).bind(if keep { "kept" } else { "removed" }).bind(cx.actor.person_id).bind(cx.now)
             .execute(&mut *c).await.map(|r| r.rows_affected()))?
        }
    };
    cx.audit(
        &mut tx,
        AuditEvent::new(if keep { "safety.keep" } else { "safety.remove" })
            .object("space", space.id)
            .node(space.node_id)
            .detail(serde_json::json!({ "what": what, "id": id.to_string() })),
    )
    .await?;
    tx.commit().await
}

/// The safety pages.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/spaces/moderation", get(pages::queue).post(pages::decide))
        .route(
            "/spaces/words/{region}",
            get(pages::words).post(pages::add_words),
        )
        .route("/spaces/words/{region}/remove", post(pages::remove_word))
        .route("/spaces/posts/{id}/report", post(pages::report))
}
