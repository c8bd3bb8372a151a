//! Review and recommendation through the levels (审核, 推优). The author submits a private
//! resource to the school; a reviewer there (a school administrator or an appointed 教研组长)
//! approves it (shared at the school, with an optional expert score) or rejects it with a
//! reason. A reviewer of the level it is shared at recommends it to the next level, whose
//! reviewers (district administrators, 教研员) decide the same way; then the city. The author
//! may withdraw it (private again). Every step is a `resource_reviews` row; a decision names the
//! version its reviewer saw and is refused if the resource changed meanwhile; the author is
//! notified of each decision.

use super::resource::{find, get_as, lock};
use crate::access::{Audience, Viewer, level_node, next_level, reviews_at, subjects_of};
use crate::model::{Level, ResourceRow, Scope};
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{
    AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, ResourceId, Tx, on_db, on_tx,
};
use serde::{Deserialize, Serialize};

pub const COMMENT_MAX: usize = 2000;

crate::model::str_enum!(
    /// A step of a resource's way through the levels. i18n: `library.decision.<code>`.
    Decision {
        Submitted => "submitted",
        Approved => "approved",
        Rejected => "rejected",
        Recommended => "recommended",
        Withdrawn => "withdrawn",
        /// Edited while shared or under review: back to the school's review.
        Reset => "reset",
    }
);

/// A decision or step as the caller sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = ResourceReviewInput)]
pub struct ReviewInput {
    /// The version of the resource the caller saw (refused with 409
    /// `resources.changed_meanwhile` if it changed since).
    pub version: i64,
    /// A comment; the reason, required, when rejecting.
    #[serde(default)]
    pub comment: String,
    /// Approving only: an expert score, 1-5.
    pub score: Option<i64>,
}

/// One step of the history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ResourceReviewStep)]
pub struct ReviewStep {
    pub id: uuid::Uuid,
    /// school | district | city
    pub level: String,
    pub node_id: NodeId,
    pub node_name: String,
    /// submitted | approved | rejected | recommended | withdrawn | reset
    pub decision: String,
    pub actor_id: PersonId,
    pub actor_name: String,
    pub comment: String,
    pub score: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

pub fn changed_meanwhile() -> AppError {
    let mut f = FieldErrors::new();
    f.add("version", "error.resources.changed_meanwhile");
    AppError::Conflict("resources.changed_meanwhile", f)
}

fn wrong_state() -> AppError {
    AppError::Conflict("resources.wrong_state", FieldErrors::new())
}

/// Writes a step of the history inside `tx`, at the node reviewing at `level`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn step(
    cx: &Ctx<'_>,
    tx: &mut Tx,
    r: &ResourceRow,
    level: Level,
    decision: Decision,
    comment: &str,
    score: Option<i64>,
    version: i64,
) -> AppResult<()> {
    let node = level_node(cx.db(), r.org_id, level)
        .await?
        .unwrap_or(r.org_id);
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO resource_reviews (id, resource_id, level, node_id, decision, actor_id, comment, score, version, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    ).bind(uuid::Uuid::now_v7()).bind(r.id).bind(level.as_str()).bind(node).bind(decision.as_str())
     .bind(cx.actor.person_id).bind(comment).bind(score).bind(version).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Tells the author what happened to their resource at `level`.
pub(crate) async fn notify_author(
    cx: &Ctx<'_>,
    tx: &mut Tx,
    r: &ResourceRow,
    decision: Decision,
    level: Level,
    comment: &str,
) -> AppResult<()> {
    let kind = match decision {
        Decision::Approved => "notice.resource_approved",
        Decision::Rejected => "notice.resource_rejected",
        Decision::Recommended => "notice.resource_recommended",
        Decision::Reset => "notice.resource_reset",
        Decision::Submitted | Decision::Withdrawn => return Ok(()),
    };
    let node = level_node(cx.db(), r.org_id, level)
        .await?
        .unwrap_or(r.org_id);
    let (node_name,): (String,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT name FROM org_nodes WHERE id = $1",
    ).bind(node).fetch_one(p).await)?;
    let link = format!("/library/r/{}", r.id);
    kernel::notify::send(
        tx,
        r.author_id,
        kind,
        Some(r.id.0),
        Some(&link),
        serde_json::json!({ "title": r.title, "node": node_name, "comment": comment }),
        cx.now,
    )
    .await
}

/// The row, the version checked and the state as expected, inside `tx`.
async fn locked(tx: &mut Tx, r: &ResourceRow, version: i64) -> AppResult<ResourceRow> {
    let cur = lock(tx, r.id).await?;
    if cur.version != version {
        return Err(changed_meanwhile());
    }
    if cur.scope != r.scope || cur.pending_level != r.pending_level {
        return Err(wrong_state());
    }
    Ok(cur)
}

fn check_comment(comment: &str, required: bool) -> AppResult<()> {
    if required && comment.trim().is_empty() {
        return Err(AppError::field(
            "comment",
            "error.resources.reason_required",
        ));
    }
    if comment.chars().count() > COMMENT_MAX {
        return Err(AppError::field(
            "comment",
            "error.resources.comment_too_long",
        ));
    }
    Ok(())
}

async fn finish(
    cx: &Ctx<'_>,
    mut tx: Tx,
    r: &ResourceRow,
    action: &'static str,
    detail: serde_json::Value,
) -> AppResult<ResourceRow> {
    cx.audit(
        &mut tx,
        AuditEvent::new(action)
            .object("resource", r.id)
            .node(r.org_id)
            .detail(detail),
    )
    .await?;
    crate::changes::record(&mut tx, r.id, cx.now).await?;
    tx.commit().await?;
    find(cx.db(), r.id)
        .await?
        .ok_or(AppError::NotFound(super::resource::NOT_FOUND))
}

async fn set_state(
    tx: &mut Tx,
    id: ResourceId,
    scope: Scope,
    pending: Option<Level>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE resources SET scope = $2, pending_level = $3, updated_at = $4 WHERE id = $1",
    ).bind(id).bind(scope.as_str()).bind(pending.map(Level::as_str)).bind(now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The author publishes a private resource to the school: it waits for the school's review.
pub async fn submit(cx: &Ctx<'_>, id: ResourceId, input: ReviewInput) -> AppResult<ResourceRow> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    if r.author_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    check_comment(&input.comment, false)?;
    let mut tx = cx.begin().await?;
    let cur = locked(&mut tx, &r, input.version).await?;
    if cur.scope() != Scope::Private || cur.pending().is_some() {
        return Err(wrong_state());
    }
    set_state(&mut tx, id, Scope::Private, Some(Level::School), cx.now).await?;
    step(
        cx,
        &mut tx,
        &cur,
        Level::School,
        Decision::Submitted,
        input.comment.trim(),
        None,
        cur.version,
    )
    .await?;
    finish(
        cx,
        tx,
        &cur,
        "resource.submit",
        serde_json::json!({ "version": cur.version }),
    )
    .await
}

/// The author takes a shared or waiting resource back: private again, out of every queue.
pub async fn withdraw(cx: &Ctx<'_>, id: ResourceId, input: ReviewInput) -> AppResult<ResourceRow> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    if r.author_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    check_comment(&input.comment, false)?;
    let mut tx = cx.begin().await?;
    let cur = locked(&mut tx, &r, input.version).await?;
    let Some(level) = cur.pending().or(cur.scope().level()) else {
        return Err(wrong_state());
    };
    set_state(&mut tx, id, Scope::Private, None, cx.now).await?;
    if cur.scope() != Scope::Private {
        Audience::default().write(&mut tx, id).await?;
    }
    step(
        cx,
        &mut tx,
        &cur,
        level,
        Decision::Withdrawn,
        input.comment.trim(),
        None,
        cur.version,
    )
    .await?;
    finish(
        cx,
        tx,
        &cur,
        "resource.withdraw",
        serde_json::json!({ "from": cur.scope, "pending": cur.pending_level }),
    )
    .await
}

/// The level `r` waits at, which the actor reviews: `wrong_state` if it waits for nothing,
/// `Forbidden` if they do not review there.
async fn decision_level(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<Level> {
    if r.pending().is_none() {
        return Err(wrong_state());
    }
    reviewing(cx, r).await?.ok_or(AppError::Forbidden)
}

/// The level `r` waits at, if the actor reviews there (never their own resource).
async fn reviewing(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<Option<Level>> {
    let Some(level) = r.pending() else {
        return Ok(None);
    };
    if r.author_id == cx.actor.person_id {
        return Ok(None);
    }
    let Some(node) = level_node(cx.db(), r.org_id, level).await? else {
        return Ok(None);
    };
    let subjects = subjects_of(cx.db(), r.id).await?;
    Ok(reviews_at(cx.db(), cx.actor, node, &subjects)
        .await?
        .then_some(level))
}

/// The level `r` would be recommended to, if the actor reviews at the level it is shared at.
async fn recommending(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<Option<Level>> {
    let Some(current) = r.scope().level() else {
        return Ok(None);
    };
    if r.pending().is_some() || r.author_id == cx.actor.person_id {
        return Ok(None);
    }
    let Some(next) = next_level(cx.db(), r.org_id, r.scope()).await? else {
        return Ok(None);
    };
    let Some(node) = level_node(cx.db(), r.org_id, current).await? else {
        return Ok(None);
    };
    let subjects = subjects_of(cx.db(), r.id).await?;
    Ok(reviews_at(cx.db(), cx.actor, node, &subjects)
        .await?
        .then_some(next))
}

/// A reviewer of the level it waits at approves it: shared at that level.
pub async fn approve(cx: &Ctx<'_>, id: ResourceId, input: ReviewInput) -> AppResult<ResourceRow> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    let level = decision_level(cx, &r).await?;
    check_comment(&input.comment, false)?;
    if input.score.is_some_and(|s| !(1..=5).contains(&s)) {
        return Err(AppError::field("score", "error.resources.score_range"));
    }
    let scope = level.scope();
    let audience = Audience::of(cx.db(), r.org_id, scope).await?;
    let mut tx = cx.begin().await?;
    let cur = locked(&mut tx, &r, input.version).await?;
    set_state(&mut tx, id, scope, None, cx.now).await?;
    audience.write(&mut tx, id).await?;
    step(
        cx,
        &mut tx,
        &cur,
        level,
        Decision::Approved,
        input.comment.trim(),
        input.score,
        cur.version,
    )
    .await?;
    if input.score.is_some() {
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE resources SET expert_score = (SELECT AVG(CAST(score AS DOUBLE PRECISION)) FROM resource_reviews
                                                  WHERE resource_id = $1 AND score IS NOT NULL)
             WHERE id = $1",
        ).bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        super::quality::recompute(&mut tx, id, cx.now).await?;
    }
    notify_author(
        cx,
        &mut tx,
        &cur,
        Decision::Approved,
        level,
        input.comment.trim(),
    )
    .await?;
    finish(cx, tx, &cur, "resource.approve", serde_json::json!({ "level": level.as_str(), "score": input.score, "version": cur.version })).await
}

/// A reviewer of the level it waits at rejects it with a reason: it stays shared as far as it
/// was before this review, and waits no more.
pub async fn reject(cx: &Ctx<'_>, id: ResourceId, input: ReviewInput) -> AppResult<ResourceRow> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    let level = decision_level(cx, &r).await?;
    check_comment(&input.comment, true)?;
    let mut tx = cx.begin().await?;
    let cur = locked(&mut tx, &r, input.version).await?;
    set_state(&mut tx, id, cur.scope(), None, cx.now).await?;
    step(
        cx,
        &mut tx,
        &cur,
        level,
        Decision::Rejected,
        input.comment.trim(),
        None,
        cur.version,
    )
    .await?;
    notify_author(
        cx,
        &mut tx,
        &cur,
        Decision::Rejected,
        level,
        input.comment.trim(),
    )
    .await?;
    finish(
        cx,
        tx,
        &cur,
        "resource.reject",
        serde_json::json!({ "level": level.as_str(), "version": cur.version }),
    )
    .await
}

/// A reviewer of the level it is shared at recommends it (推优) to the next level's review.
pub async fn recommend(cx: &Ctx<'_>, id: ResourceId, input: ReviewInput) -> AppResult<ResourceRow> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    let Some(next) = recommending(cx, &r).await? else {
        let top = r.pending().is_none()
            && r.scope() != Scope::Private
            && next_level(cx.db(), r.org_id, r.scope()).await?.is_none();
        return Err(if top {
            AppError::Conflict("resources.no_next_level", FieldErrors::new())
        } else {
            AppError::Forbidden
        });
    };
    check_comment(&input.comment, false)?;
    let mut tx = cx.begin().await?;
    let cur = locked(&mut tx, &r, input.version).await?;
    set_state(&mut tx, id, cur.scope(), Some(next), cx.now).await?;
    step(
        cx,
        &mut tx,
        &cur,
        next,
        Decision::Recommended,
        input.comment.trim(),
        None,
        cur.version,
    )
    .await?;
    notify_author(
        cx,
        &mut tx,
        &cur,
        Decision::Recommended,
        next,
        input.comment.trim(),
    )
    .await?;
    finish(
        cx,
        tx,
        &cur,
        "resource.recommend",
        serde_json::json!({ "to": next.as_str(), "version": cur.version }),
    )
    .await
}

/// What the actor may do with a resource they see.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[schema(as = ResourceActions)]
pub struct Allowed {
    pub edit: bool,
    pub delete: bool,
    pub submit: bool,
    pub withdraw: bool,
    /// Approve or reject, at this level.
    pub review: Option<Level>,
    /// Recommend to this level.
    pub recommend: Option<Level>,
    /// See the review history.
    pub history: bool,
    /// Rate, comment and favourite: staff (students only read what is shared with them).
    pub signals: bool,
}

pub async fn allowed(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<Allowed> {
    let author = r.author_id == cx.actor.person_id;
    let review = reviewing(cx, r).await?;
    let recommend = recommending(cx, r).await?;
    let history = author || review.is_some() || recommend.is_some() || reviews_any(cx, r).await?;
    Ok(Allowed {
        signals: Viewer::is_staff(cx.actor),
        edit: author,
        delete: super::resource::may_delete(cx, r).await?,
        submit: author && r.scope() == Scope::Private && r.pending().is_none(),
        withdraw: author && (r.scope() != Scope::Private || r.pending().is_some()),
        review,
        recommend,
        history,
    })
}

/// Whether the actor reviews at any level the resource has reached or waits at.
async fn reviews_any(cx: &Ctx<'_>, r: &ResourceRow) -> AppResult<bool> {
    let subjects = subjects_of(cx.db(), r.id).await?;
    let top = r
        .pending()
        .map_or(r.scope(), Level::scope)
        .max(r.scope())
        .max(Scope::School);
    for level in Level::ALL {
        if level.scope() > top {
            break;
        }
        if let Some(node) = level_node(cx.db(), r.org_id, *level).await?
            && reviews_at(cx.db(), cx.actor, node, &subjects).await?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The review history of a resource, oldest first: its author and its reviewers only.
pub async fn history(cx: &Ctx<'_>, id: ResourceId) -> AppResult<Vec<ReviewStep>> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = get_as(cx, &viewer, id).await?;
    if !(viewer.system || r.author_id == cx.actor.person_id || reviews_any(cx, &r).await?) {
        return Err(AppError::Forbidden);
    }
    steps(cx.db(), id).await
}

/// The steps without the permission check (the resource page checks [`Allowed::history`]).
pub async fn steps(db: &kernel::Db, id: ResourceId) -> AppResult<Vec<ReviewStep>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT v.id, v.level, v.node_id, n.name AS node_name, v.decision, v.actor_id, p.name AS actor_name,
                v.comment, v.score, v.version, v.created_at
         FROM resource_reviews v JOIN org_nodes n ON n.id = v.node_id JOIN persons p ON p.id = v.actor_id
         WHERE v.resource_id = $1 ORDER BY v.created_at, v.id",
    ).bind(id).fetch_all(p).await)?)
}
