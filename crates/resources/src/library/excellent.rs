//! Excellent-resource selection (优秀资源评选): an administrator of a school, district or city
//! makes a list (title, school year and term), adds resources shared at that node's level or
//! above, orders them with notes and publishes it; the node's members see published lists,
//! and each resource page shows the lists it was selected for.

use crate::access::Viewer;
use crate::model::{COLUMNS, ResourceRow};
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::paging::{PageQuery, Paged};
use kernel::{
    AppError, AppResult, Ctx, Db, FieldErrors, ListId, NodeId, PersonId, ResourceId, Tx, on_db,
    on_tx,
};
use serde::{Deserialize, Serialize};

pub const NOT_FOUND: &str = "resources.list_not_found";
pub const TITLE_MAX: usize = 100;
pub const NOTE_MAX: usize = 500;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ExcellentList {
    pub id: ListId,
    pub node_id: NodeId,
    pub node_name: String,
    pub title: String,
    pub school_year: Option<i64>,
    pub term: Option<i64>,
    /// draft | published
    pub status: String,
    pub created_by: PersonId,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    /// How many resources it lists.
    pub entries: i64,
}

/// A listed resource, in its place, with the list maker's note.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ExcellentEntry)]
pub struct Entry {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub resource: ResourceRow,
    pub author_name: String,
    pub org_name: String,
    pub position: i64,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ExcellentListDetail)]
pub struct ListDetail {
    pub list: ExcellentList,
    pub entries: Vec<Entry>,
    /// Whether the caller administers the list's node (and so may change it).
    pub editable: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = NewExcellentList)]
pub struct NewList {
    /// The school, district or city whose list it is.
    pub node_id: NodeId,
    pub title: String,
    pub school_year: Option<i64>,
    /// 1 or 2.
    pub term: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = NewExcellentEntry)]
pub struct NewEntry {
    pub resource_id: ResourceId,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = ExcellentEntryUpdate)]
pub struct EntryUpdate {
    /// The new place, from 1.
    pub position: Option<i64>,
    pub note: Option<String>,
}

const LIST_SELECT: &str =
    "SELECT l.id, l.node_id, n.name AS node_name, l.title, l.school_year, l.term, l.status,
        l.created_by, l.created_at, l.published_at,
        (SELECT COUNT(*) FROM excellent_entries e WHERE e.list_id = l.id) AS entries
     FROM excellent_lists l JOIN org_nodes n ON n.id = l.node_id";

async fn find(db: &Db, id: ListId) -> AppResult<Option<ExcellentList>> {
    let sql = format!("{LIST_SELECT} WHERE l.id = $1");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// A list the actor sees (published at a node they belong to, or any list of a node they
/// administer) and whether they may change it.
async fn visible(cx: &Ctx<'_>, id: ListId) -> AppResult<(ExcellentList, bool)> {
    let list = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let editable = kernel::authz::administers(cx.db(), cx.actor, list.node_id).await?;
    if editable {
        return Ok((list, true));
    }
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    if list.status == "published" && viewer.member.contains(&list.node_id) {
        Ok((list, false))
    } else {
        Err(AppError::NotFound(NOT_FOUND))
    }
}

async fn editable(cx: &Ctx<'_>, id: ListId) -> AppResult<ExcellentList> {
    match visible(cx, id).await? {
        (list, true) => Ok(list),
        _ => Err(AppError::Forbidden),
    }
}

fn check_list(errors: &mut FieldErrors, title: &str, school_year: Option<i64>, term: Option<i64>) {
    let t = title.trim();
    if t.is_empty() {
        errors.add("title", "error.resources.list_title_required");
    } else if t.chars().count() > TITLE_MAX {
        errors.add("title", "error.resources.title_too_long");
    }
    if school_year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        errors.add("school_year", "error.resources.school_year_invalid");
    }
    if term.is_some_and(|t| !(1..=2).contains(&t)) {
        errors.add("term", "error.resources.term_invalid");
    }
}

/// Creates a draft list of a node the actor administers.
pub async fn create(cx: &Ctx<'_>, input: NewList) -> AppResult<ExcellentList> {
    let kind: Option<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT kind FROM org_nodes WHERE id = $1 AND active = TRUE",
    ).bind(input.node_id).fetch_optional(p).await)?;
    let (kind,) = kind.ok_or(AppError::NotFound("directory.node_not_found"))?;
    if !kernel::authz::administers(cx.db(), cx.actor, input.node_id).await? {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    if !matches!(kind.as_str(), "school" | "district" | "city") {
        errors.add("node_id", "error.resources.list_node");
    }
    check_list(&mut errors, &input.title, input.school_year, input.term);
    errors.into_result()?;
    let id = ListId::new();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO excellent_lists (id, node_id, title, school_year, term, status, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7)",
    ).bind(id).bind(input.node_id).bind(input.title.trim()).bind(input.school_year).bind(input.term)
     .bind(cx.actor.person_id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("excellent.create")
            .object("list", id)
            .node(input.node_id),
    )
    .await?;
    tx.commit().await?;
    find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))
}

/// The lists the actor sees: published ones of the nodes they belong to, and every list of the
/// nodes they administer; newest first.
pub async fn lists(cx: &Ctx<'_>, page: &PageQuery) -> AppResult<Paged<ExcellentList>> {
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let admin = cx.actor.admin_nodes();
    let member: Vec<String> = (0..viewer.member.len())
        .map(|i| format!("${}", i + 1))
        .collect();
    let adm: Vec<String> = (0..admin.len())
        .map(|i| format!("${}", i + 1 + viewer.member.len()))
        .collect();
    let mut cond = vec!["FALSE".to_owned()];
    if !member.is_empty() {
        cond.push(format!(
            "(l.status = 'published' AND l.node_id IN ({}))",
            member.join(", ")
        ));
    }
    if !adm.is_empty() {
        cond.push(format!(
            "EXISTS (SELECT 1 FROM org_closure c WHERE c.descendant_id = l.node_id AND c.ancestor_id IN ({}))",
            adm.join(", ")
        ));
    }
    let cond = if viewer.system {
        "TRUE".to_owned()
    } else {
        cond.join(" OR ")
    };
    let k = viewer.member.len() + admin.len();
    let sql = format!(
        "{LIST_SELECT} WHERE {cond} ORDER BY COALESCE(l.published_at, l.created_at) DESC, l.id DESC LIMIT ${} OFFSET ${}",
        k + 1,
        k + 2
    );
    let count = format!("SELECT COUNT(*) FROM excellent_lists l WHERE {cond}");
    let nodes: Vec<NodeId> = if viewer.system {
        Vec::new()
    } else {
        viewer.member.iter().chain(admin.iter()).copied().collect()
    };
    let (items, total): (Vec<ExcellentList>, (i64,)) = on_db!(cx.db(), p => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        let mut c = sqlx::query_as(sqlx::AssertSqlSafe(count.clone()));
        for n in &nodes {
            q = q.bind(*n);
            c = c.bind(*n);
        }
        (q.bind(page.limit()).bind(page.offset()).fetch_all(p).await?, c.fetch_one(p).await?)
    });
    Ok(Paged::new(items, total.0, page))
}

/// A list with its entries in order. Entries no longer shared at the list's node (withdrawn,
/// edited back into review, deleted) are left out until they are shared there again.
pub async fn get(cx: &Ctx<'_>, id: ListId) -> AppResult<ListDetail> {
    let (list, editable) = visible(cx, id).await?;
    let entries = entries(cx.db(), &list).await?;
    Ok(ListDetail {
        list,
        entries,
        editable,
    })
}

async fn entries(db: &Db, list: &ExcellentList) -> AppResult<Vec<Entry>> {
    let sql = format!(
        "SELECT {COLUMNS}, au.name AS author_name, o.name AS org_name, e.position, e.note
         FROM excellent_entries e JOIN resources r ON r.id = e.resource_id
         JOIN persons au ON au.id = r.author_id JOIN org_nodes o ON o.id = r.org_id
         WHERE e.list_id = $1 AND r.deleted_at IS NULL AND EXISTS (
             SELECT 1 FROM resource_audience a WHERE a.resource_id = r.id AND a.kind = 'v' AND a.node_id = $2)
         ORDER BY e.position, r.id"
    );
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(list.id).bind(list.node_id).fetch_all(p).await)?,
    )
}

/// Whether a resource is shared at `node`'s level or above so that the node's members see it.
async fn shared_at(db: &Db, resource: ResourceId, node: NodeId) -> AppResult<bool> {
    let row: Option<(i32,)> = on_db!(db, p => sqlx::query_as(
        "SELECT 1 FROM resource_audience a JOIN resources r ON r.id = a.resource_id
         WHERE a.resource_id = $1 AND a.kind = 'v' AND a.node_id = $2 AND r.deleted_at IS NULL",
    ).bind(resource).bind(node).fetch_optional(p).await)?;
    Ok(row.is_some())
}

async fn renumber(tx: &mut Tx, list: ListId, order: &[ResourceId]) -> AppResult<()> {
    for (i, r) in order.iter().enumerate() {
        on_tx!(tx, c => sqlx::query("UPDATE excellent_entries SET position = $3 WHERE list_id = $1 AND resource_id = $2")
            .bind(list).bind(r).bind(i as i64 + 1).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

async fn order_of(tx: &mut Tx, list: ListId) -> AppResult<Vec<ResourceId>> {
    let rows: Vec<(ResourceId,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT resource_id FROM excellent_entries WHERE list_id = $1 ORDER BY position, resource_id",
    ).bind(list).fetch_all(&mut *c).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Adds a resource (shared at the list's node) at the end of the list.
pub async fn add(cx: &Ctx<'_>, id: ListId, input: NewEntry) -> AppResult<ListDetail> {
    let list = editable(cx, id).await?;
    let mut errors = FieldErrors::new();
    if !shared_at(cx.db(), input.resource_id, list.node_id).await? {
        errors.add("resource_id", "error.resources.not_shared_here");
    }
    if input.note.chars().count() > NOTE_MAX {
        errors.add("note", "error.resources.comment_too_long");
    }
    errors.into_result()?;
    let mut tx = cx.begin().await?;
    let order = order_of(&mut tx, id).await?;
    if order.contains(&input.resource_id) {
        return Err(AppError::Conflict("resources.already_listed", {
            let mut f = FieldErrors::new();
            f.add("resource_id", "error.resources.already_listed");
            f
        }));
    }
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO excellent_entries (list_id, resource_id, position, note) VALUES ($1, $2, $3, $4)",
    ).bind(id).bind(input.resource_id).bind(order.len() as i64 + 1).bind(input.note.trim())
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("excellent.add")
            .object("list", id)
            .node(list.node_id)
            .detail(serde_json::json!({ "resource": input.resource_id })),
    )
    .await?;
    crate::changes::record(&mut tx, input.resource_id, cx.now).await?;
    tx.commit().await?;
    get(cx, id).await
}

/// Moves an entry to a new place and/or changes its note.
pub async fn update_entry(
    cx: &Ctx<'_>,
    id: ListId,
    resource: ResourceId,
    u: EntryUpdate,
) -> AppResult<ListDetail> {
    let list = editable(cx, id).await?;
    if u.note
        .as_ref()
        .is_some_and(|n| n.chars().count() > NOTE_MAX)
    {
        return Err(AppError::field("note", "error.resources.comment_too_long"));
    }
    let mut tx = cx.begin().await?;
    let mut order = order_of(&mut tx, id).await?;
    let Some(at) = order.iter().position(|r| *r == resource) else {
        return Err(AppError::NotFound(super::resource::NOT_FOUND));
    };
    if let Some(p) = u.position {
        let r = order.remove(at);
        let to = usize::try_from(p.max(1) - 1).unwrap_or(0).min(order.len());
        order.insert(to, r);
        renumber(&mut tx, id, &order).await?;
    }
    if let Some(note) = &u.note {
        on_tx!(&mut tx, c => sqlx::query("UPDATE excellent_entries SET note = $3 WHERE list_id = $1 AND resource_id = $2")
            .bind(id).bind(resource).bind(note.trim()).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("excellent.update")
            .object("list", id)
            .node(list.node_id)
            .detail(serde_json::json!({ "resource": resource, "position": u.position })),
    )
    .await?;
    tx.commit().await?;
    get(cx, id).await
}

/// Takes a resource off the list.
pub async fn remove(cx: &Ctx<'_>, id: ListId, resource: ResourceId) -> AppResult<ListDetail> {
    let list = editable(cx, id).await?;
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query("DELETE FROM excellent_entries WHERE list_id = $1 AND resource_id = $2")
        .bind(id).bind(resource).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound(super::resource::NOT_FOUND));
    }
    let order = order_of(&mut tx, id).await?;
    renumber(&mut tx, id, &order).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("excellent.remove")
            .object("list", id)
            .node(list.node_id)
            .detail(serde_json::json!({ "resource": resource })),
    )
    .await?;
    crate::changes::record(&mut tx, resource, cx.now).await?;
    tx.commit().await?;
    get(cx, id).await
}

/// Publishes a list to the node's members (`true`) or takes it back to draft.
pub async fn publish(cx: &Ctx<'_>, id: ListId, on: bool) -> AppResult<ListDetail> {
    let list = editable(cx, id).await?;
    let mut tx = cx.begin().await?;
    let (status, at) = if on {
        ("published", Some(cx.now))
    } else {
        ("draft", None)
    };
    on_tx!(&mut tx, c => sqlx::query("UPDATE excellent_lists SET status = $2, published_at = $3 WHERE id = $1")
        .bind(id).bind(status).bind(at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new(if on {
            "excellent.publish"
        } else {
            "excellent.unpublish"
        })
        .object("list", id)
        .node(list.node_id),
    )
    .await?;
    tx.commit().await?;
    get(cx, id).await
}

/// Resources the actor may add to a list: shared at its node, not on it yet, best first.
pub async fn candidates(
    cx: &Ctx<'_>,
    id: ListId,
    page: &PageQuery,
) -> AppResult<Paged<ResourceRow>> {
    let list = editable(cx, id).await?;
    let filter = "FROM resources r WHERE r.deleted_at IS NULL
          AND EXISTS (SELECT 1 FROM resource_audience a WHERE a.resource_id = r.id AND a.kind = 'v' AND a.node_id = $2)
          AND NOT EXISTS (SELECT 1 FROM excellent_entries e WHERE e.list_id = $1 AND e.resource_id = r.id)";
    let sql = format!("SELECT {COLUMNS} {filter} ORDER BY r.quality DESC, r.id LIMIT $3 OFFSET $4");
    let count = format!("SELECT COUNT(*) {filter}");
    let items: Vec<ResourceRow> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id).bind(list.node_id).bind(page.limit()).bind(page.offset()).fetch_all(p).await)?;
    let (total,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(count.clone()))
        .bind(id).bind(list.node_id).fetch_one(p).await)?;
    Ok(Paged::new(items, total, page))
}

/// A list a resource was selected for.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ExcellentSelection)]
pub struct Selection {
    pub list_id: ListId,
    pub title: String,
    pub node_name: String,
    pub school_year: Option<i64>,
    pub term: Option<i64>,
    pub position: i64,
    pub note: String,
}

/// The published lists the viewer sees that select `resource`.
pub async fn selections(
    db: &Db,
    viewer: &Viewer,
    resource: ResourceId,
) -> AppResult<Vec<Selection>> {
    let rows: Vec<(Selection, NodeId)> = {
        let sel: Vec<SelectionRow> = on_db!(db, p => sqlx::query_as(
            "SELECT l.id AS list_id, l.title, n.name AS node_name, l.school_year, l.term, e.position, e.note, l.node_id
             FROM excellent_entries e JOIN excellent_lists l ON l.id = e.list_id JOIN org_nodes n ON n.id = l.node_id
             WHERE e.resource_id = $1 AND l.status = 'published' ORDER BY l.published_at DESC",
        ).bind(resource).fetch_all(p).await)?;
        sel.into_iter().map(|s| (s.selection, s.node_id)).collect()
    };
    Ok(rows
        .into_iter()
        .filter(|(_, n)| viewer.system || viewer.member.contains(n))
        .map(|(s, _)| s)
        .collect())
}

#[derive(sqlx::FromRow)]
struct SelectionRow {
    #[sqlx(flatten)]
    selection: Selection,
    node_id: NodeId,
}
