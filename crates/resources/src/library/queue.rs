//! The review queue: what waits for a decision at every node the actor reviews (the nodes they
//! administer and every node below, and where they are an appointed reviewer, for their
//! subject), oldest first, with filters.

use crate::model::{COLUMNS, Level, ResourceRow};
use chrono::{DateTime, Duration, Utc};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, Ctx, NodeId, PersonId, on_db};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueFilter {
    /// school | district | city
    pub level: Option<String>,
    /// A JY/T 1001 course code (13 语文, 14 数学, …).
    pub subject: Option<String>,
    /// A resource kind.
    pub kind: Option<String>,
    /// The author's school (or region).
    pub school: Option<NodeId>,
    /// Waiting at least this many days.
    pub waiting_days: Option<u32>,
}

/// A resource waiting for review, with where and since when.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ReviewQueueItem)]
pub struct QueueItem {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub resource: ResourceRow,
    pub author_name: String,
    pub org_name: String,
    /// The node whose review it waits for.
    pub review_node_id: NodeId,
    pub review_node_name: String,
    /// When it started waiting (submitted, recommended or sent back by an edit).
    pub waiting_since: Option<DateTime<Utc>>,
}

/// The FROM and WHERE of the queue, binding $1 the person, $2 level, $3 subject, $4 kind,
/// $5 school, $6 waiting-since bound, then the administered nodes from $7.
fn from_where(admin: usize) -> String {
    let admin_list: Vec<String> = (0..admin).map(|i| format!("${}", i + 7)).collect();
    let administers = if admin_list.is_empty() {
        "FALSE".to_owned()
    } else {
        format!(
            "EXISTS (SELECT 1 FROM org_closure ac WHERE ac.descendant_id = rn.id AND ac.ancestor_id IN ({}))",
            admin_list.join(", ")
        )
    };
    format!(
        "FROM resources r
         JOIN org_closure lc ON lc.descendant_id = r.org_id
         JOIN org_nodes rn ON rn.id = lc.ancestor_id
         JOIN persons au ON au.id = r.author_id
         JOIN org_nodes o ON o.id = r.org_id
         WHERE r.deleted_at IS NULL AND r.pending_level IS NOT NULL
           AND ((r.pending_level = 'school' AND lc.depth = 0)
                OR (r.pending_level <> 'school' AND lc.depth > 0 AND rn.kind = r.pending_level))
           AND r.author_id <> $1
           AND ({administers}
                OR EXISTS (SELECT 1 FROM resource_reviewers rr WHERE rr.node_id = rn.id AND rr.person_id = $1
                           AND (rr.subject IS NULL OR EXISTS (
                               SELECT 1 FROM resource_catalog rc JOIN catalog_nodes cn ON cn.id = rc.catalog_id
                               WHERE rc.resource_id = r.id AND cn.subject = rr.subject))))
           AND ($2 IS NULL OR r.pending_level = $2)
           AND ($3 IS NULL OR EXISTS (SELECT 1 FROM resource_catalog sc JOIN catalog_nodes sn ON sn.id = sc.catalog_id
                                      WHERE sc.resource_id = r.id AND sn.subject = $3))
           AND ($4 IS NULL OR r.kind = $4)
           AND ($5 IS NULL OR r.org_id = $5)
           AND ($6 IS NULL OR COALESCE((SELECT MAX(w.created_at) FROM resource_reviews w
                    WHERE w.resource_id = r.id AND w.decision IN ('submitted', 'recommended', 'reset')), r.updated_at) <= $6)"
    )
}

/// What waits for the actor's review, oldest first.
pub async fn queue(cx: &Ctx<'_>, f: &QueueFilter, page: &PageQuery) -> AppResult<Paged<QueueItem>> {
    let admin: Vec<NodeId> = cx.actor.admin_nodes();
    let me: PersonId = cx.actor.person_id;
    let level = f.level.as_deref().and_then(Level::parse).map(Level::as_str);
    let subject = f
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let kind = f.kind.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let before: Option<DateTime<Utc>> = f
        .waiting_days
        .filter(|d| *d > 0)
        .map(|d| cx.now - Duration::days(i64::from(d)));
    let fw = from_where(admin.len());
    let cols = COLUMNS;
    let list = format!(
        "SELECT {cols}, au.name AS author_name, o.name AS org_name, rn.id AS review_node_id,
                rn.name AS review_node_name,
                (SELECT MAX(w.created_at) FROM resource_reviews w WHERE w.resource_id = r.id
                 AND w.decision IN ('submitted', 'recommended', 'reset')) AS waiting_since
         {fw} ORDER BY waiting_since, r.id LIMIT ${} OFFSET ${}",
        admin.len() + 7,
        admin.len() + 8
    );
    let count = format!("SELECT COUNT(*) {fw}");
    macro_rules! bind_all {
        ($q:expr) => {{
            let mut q = $q
                .bind(me)
                .bind(level)
                .bind(subject)
                .bind(kind)
                .bind(f.school)
                .bind(before);
            for n in &admin {
                q = q.bind(*n);
            }
            q
        }};
    }
    let items: Vec<QueueItem> = on_db!(cx.db(), p => bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(list.clone())))
        .bind(page.limit()).bind(page.offset()).fetch_all(p).await)?;
    let (total,): (i64,) = on_db!(cx.db(), p => bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(count.clone())))
        .fetch_one(p).await)?;
    Ok(Paged::new(items, total, page))
}

/// The schools (and regions) whose resources wait in the actor's queue, for the filter.
pub async fn schools(cx: &Ctx<'_>) -> AppResult<Vec<(NodeId, String)>> {
    let admin: Vec<NodeId> = cx.actor.admin_nodes();
    let fw = from_where(admin.len());
    let sql = format!("SELECT DISTINCT o.id, o.name {fw} ORDER BY o.name");
    let none: Option<&str> = None;
    let no_node: Option<NodeId> = None;
    let no_time: Option<DateTime<Utc>> = None;
    let rows: Vec<(NodeId, String)> = on_db!(cx.db(), p => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(cx.actor.person_id).bind(none).bind(none).bind(none).bind(no_node).bind(no_time);
        for n in &admin {
            q = q.bind(*n);
        }
        q.fetch_all(p).await
    })?;
    Ok(rows)
}
