//! The organisation tree: create, read, rename, move, deactivate and reactivate nodes. The
//! closure table `org_closure` is kept in step inside the same transaction.

pub mod api;
pub mod pages;

use crate::model::{Node, NodeKind, SchoolType, Stage};
use crate::validate;
use kernel::audit::AuditEvent;
use kernel::authz::{self, Permission};
use kernel::error::unique_violation;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, Ctx, Db, FieldErrors, NodeId, Tx, on_db, on_tx};
use serde::Deserialize;

const NODE_COLUMNS: &str = "id, kind, parent_id, name, code, school_type, stages, grade_code, entry_year, school_id, active, created_at, updated_at";

pub async fn find(db: &Db, id: NodeId) -> AppResult<Option<Node>> {
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {NODE_COLUMNS} FROM org_nodes WHERE id = $1")))
        .bind(id).fetch_optional(p).await)?,
    )
}

/// A node the actor may see, or `NotFound` (never revealing whether it exists elsewhere).
pub async fn get(cx: &Ctx<'_>, id: NodeId) -> AppResult<Node> {
    let node = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound("directory.node_not_found"))?;
    authz::require_visible(
        cx.db(),
        cx.actor,
        Permission::ViewNode,
        id,
        "directory.node_not_found",
    )
    .await?;
    Ok(node)
}

/// The path from the root down to the node (inclusive).
pub async fn breadcrumbs(db: &Db, id: NodeId) -> AppResult<Vec<Node>> {
    Ok(on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM org_nodes n JOIN org_closure c ON c.ancestor_id = n.id
         WHERE c.descendant_id = $1 ORDER BY c.depth DESC",
        NODE_COLUMNS.split(", ").map(|c| format!("n.{c}")).collect::<Vec<_>>().join(", ")
    ))).bind(id).fetch_all(p).await)?)
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildFilter {
    /// Include deactivated children.
    pub include_inactive: Option<bool>,
}

pub async fn children(
    cx: &Ctx<'_>,
    id: NodeId,
    filter: ChildFilter,
    page: &PageQuery,
) -> AppResult<Paged<Node>> {
    get(cx, id).await?;
    let all = filter.include_inactive.unwrap_or(false);
    let db = cx.db();
    let items: Vec<Node> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NODE_COLUMNS} FROM org_nodes WHERE parent_id = $1 AND (active = TRUE OR $2)
         ORDER BY kind, code, name LIMIT $3 OFFSET $4"
    ))).bind(id).bind(all).bind(page.limit()).bind(page.offset()).fetch_all(p).await)?;
    let total: (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM org_nodes WHERE parent_id = $1 AND (active = TRUE OR $2)",
    ).bind(id).bind(all).fetch_one(p).await)?;
    Ok(Paged::new(items, total.0, page))
}

/// What a new node needs; which fields apply depends on the kind.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewNode {
    pub parent_id: Option<NodeId>,
    pub kind: String,
    pub name: String,
    /// Regions: the 6-digit GB/T 2260 code; schools: the 10-digit school code.
    pub code: Option<String>,
    /// Schools: primary, junior, senior, nine_year, complete, twelve_year, vocational, kindergarten, special.
    pub school_type: Option<String>,
    /// Grades: the stage this grade belongs to.
    pub stage: Option<String>,
    /// Grades: the year within the stage (1 = first year).
    pub grade_year: Option<i64>,
    /// Classes: the school year the class entered.
    pub entry_year: Option<i64>,
}

/// Creates a node. Roots (no parent) only from the command line.
pub async fn create(cx: &Ctx<'_>, input: NewNode) -> AppResult<Node> {
    let db = cx.db();
    let mut errors = FieldErrors::new();
    let kind = NodeKind::parse(&input.kind);
    if kind.is_none() {
        errors.add("kind", "error.invalid_choice");
    }
    if let Err(k) = validate::name(&input.name, 60) {
        errors.add("name", k);
    }
    let parent = match input.parent_id {
        Some(pid) => {
            let p = find(db, pid)
                .await?
                .ok_or(AppError::NotFound("directory.node_not_found"))?;
            authz::require_visible(
                db,
                cx.actor,
                Permission::ViewNode,
                pid,
                "directory.node_not_found",
            )
            .await?;
            authz::require(db, cx.actor, Permission::ManageNode, pid).await?;
            if !p.active {
                return Err(AppError::Conflict(
                    "directory.parent_inactive",
                    FieldErrors::new(),
                ));
            }
            Some(p)
        }
        None if cx.actor.is_system() => None,
        None => return Err(AppError::Forbidden),
    };
    let Some(kind) = kind else {
        return Err(AppError::Invalid(errors));
    };
    match &parent {
        Some(p) if !p.kind().is_some_and(|pk| pk.child_kinds().contains(&kind)) => {
            errors.add("kind", "error.kind_not_allowed_here")
        }
        None if !kind.may_be_root() => errors.add("kind", "error.kind_not_allowed_here"),
        _ => {}
    }

    let mut node = Node {
        id: NodeId::new(),
        kind: kind.as_str().into(),
        parent_id: parent.as_ref().map(|p| p.id),
        name: input.name.trim().to_owned(),
        code: None,
        school_type: None,
        stages: None,
        grade_code: None,
        entry_year: None,
        school_id: None,
        active: true,
        created_at: cx.now,
        updated_at: cx.now,
    };
    match kind {
        k if k.is_region() => {
            let code = validate::normalize_code(input.code.as_deref().unwrap_or(""));
            match validate::division_code(&code, k) {
                Err(e) => errors.add("code", e),
                Ok(()) => {
                    if let Some(pc) = parent.as_ref().and_then(|p| p.code.as_deref()) {
                        let shared = if k == NodeKind::City { 2 } else { 4 };
                        if pc.get(..shared) != code.get(..shared) {
                            errors.add("code", "error.division_code_parent");
                        }
                    }
                }
            }
            node.code = Some(code);
        }
        NodeKind::School => {
            let code = validate::normalize_code(input.code.as_deref().unwrap_or(""));
            let province = parent
                .as_ref()
                .and_then(|p| p.code.as_deref())
                .and_then(|c| c.get(..2));
            if let Err(e) = validate::school_code(&code, province) {
                errors.add("code", e);
            }
            node.code = Some(code);
            match input.school_type.as_deref().and_then(SchoolType::parse) {
                Some(t) => {
                    node.school_type = Some(t.as_str().into());
                    node.stages = Some(
                        t.stages()
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                }
                None => errors.add("school_type", "error.invalid_choice"),
            }
        }
        NodeKind::Grade => {
            let school = parent.as_ref().ok_or(AppError::Forbidden)?;
            let stage = input.stage.as_deref().and_then(Stage::parse);
            match stage {
                Some(s) if school.stage_list().contains(&s) => {
                    node.stages = Some(s.as_str().into());
                    match input.grade_year {
                        Some(y) if (1..=i64::from(s.years())).contains(&y) => {
                            node.grade_code = Some(y.to_string())
                        }
                        _ => errors.add("grade_year", "error.grade_year_range"),
                    }
                }
                _ => errors.add("stage", "error.stage_not_taught"),
            }
            node.school_id = Some(school.id);
        }
        NodeKind::Class => {
            let grade = parent.as_ref().ok_or(AppError::Forbidden)?;
            node.school_id = grade.school_id;
            node.stages = grade.stages.clone();
            node.grade_code = grade.grade_code.clone();
            match input.entry_year {
                Some(y) if (2000..=2100).contains(&y) => node.entry_year = Some(y),
                None => node.entry_year = None,
                Some(_) => errors.add("entry_year", "error.year_range"),
            }
        }
        _ => {}
    }
    errors.into_result()?;

    let mut tx = cx.begin().await?;
    ensure_unique_sibling_name(&mut tx, node.parent_id, &node.name, None).await?;
    insert(&mut tx, &node).await?;
    crate::changes::record(
        &mut tx,
        cx.now,
        node.school_id.unwrap_or(node.id),
        crate::changes::Entity::Node,
        node.id.0,
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("node.create").object("node", node.id).node(node.id).detail(serde_json::json!({
            "kind": node.kind, "name": node.name, "code": node.code, "parent_id": node.parent_id,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(node)
}

/// Inserts a node and its closure rows (no checks; also used by the demo and benchmark loaders).
pub async fn insert(tx: &mut Tx, node: &Node) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO org_nodes (id, kind, parent_id, name, code, school_type, stages, grade_code, entry_year, school_id, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(node.id).bind(&node.kind).bind(node.parent_id).bind(&node.name).bind(&node.code)
    .bind(&node.school_type).bind(&node.stages).bind(&node.grade_code).bind(node.entry_year)
    .bind(node.school_id).bind(node.active).bind(node.created_at).bind(node.updated_at)
    .execute(&mut *c).await.map(|r| r.rows_affected()))
    .map_err(|e| unique_violation(e, "directory.code_taken", "code"))?;
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO org_closure (ancestor_id, descendant_id, depth)
         SELECT ancestor_id, $1, depth + 1 FROM org_closure WHERE descendant_id = $2
         UNION ALL SELECT $1, $1, 0",
    ).bind(node.id).bind(node.parent_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

async fn ensure_unique_sibling_name(
    tx: &mut Tx,
    parent: Option<NodeId>,
    name: &str,
    except: Option<NodeId>,
) -> AppResult<()> {
    let Some(parent) = parent else { return Ok(()) };
    let n: (i64,) = on_tx!(tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM org_nodes WHERE parent_id = $1 AND name = $2 AND active = TRUE AND ($3 IS NULL OR id <> $3)",
    ).bind(parent).bind(name).bind(except).fetch_one(c).await)?;
    if n.0 > 0 {
        let mut f = FieldErrors::new();
        f.add("name", "error.directory.duplicate_name");
        return Err(AppError::Conflict("directory.duplicate_name", f));
    }
    Ok(())
}

pub async fn rename(cx: &Ctx<'_>, id: NodeId, name: &str) -> AppResult<Node> {
    let node = get(cx, id).await?;
    authz::require(cx.db(), cx.actor, Permission::ManageNode, id).await?;
    validate::name(name, 60).map_err(|k| AppError::field("name", k))?;
    let name = name.trim();
    let mut tx = cx.begin().await?;
    ensure_unique_sibling_name(&mut tx, node.parent_id, name, Some(id)).await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE org_nodes SET name = $2, updated_at = $3 WHERE id = $1")
        .bind(id).bind(name).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    crate::changes::record(
        &mut tx,
        cx.now,
        node.school_id.unwrap_or(id),
        crate::changes::Entity::Node,
        id.0,
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("node.rename")
            .object("node", id)
            .node(id)
            .detail(serde_json::json!({ "from": node.name, "to": name })),
    )
    .await?;
    tx.commit().await?;
    Ok(Node {
        name: name.to_owned(),
        updated_at: cx.now,
        ..node
    })
}

/// Moves a school (and its grades and classes) under another region. The actor must
/// administer a node above the school and the new parent.
pub async fn move_school(cx: &Ctx<'_>, id: NodeId, new_parent: NodeId) -> AppResult<Node> {
    let db = cx.db();
    let node = get(cx, id).await?;
    if node.kind() != Some(NodeKind::School) {
        return Err(AppError::field("parent_id", "error.only_schools_move"));
    }
    let parent_id = node.parent_id.ok_or(AppError::Forbidden)?;
    authz::require(db, cx.actor, Permission::ManageNode, parent_id).await?;
    let target = find(db, new_parent)
        .await?
        .ok_or_else(|| AppError::field("parent_id", "error.directory.node_not_found"))?;
    if !authz::may(db, cx.actor, Permission::ManageNode, new_parent).await? {
        return Err(AppError::field(
            "parent_id",
            "error.directory.node_not_found",
        ));
    }
    if !target.active
        || !target
            .kind()
            .is_some_and(|k| k.child_kinds().contains(&NodeKind::School))
    {
        return Err(AppError::field("parent_id", "error.kind_not_allowed_here"));
    }
    let province = target.code.as_deref().and_then(|c| c.get(..2));
    if node.code.as_deref().and_then(|c| c.get(2..4)) != province {
        return Err(AppError::field(
            "parent_id",
            "error.school_code_province_mismatch",
        ));
    }
    if parent_id == new_parent {
        return Ok(node);
    }
    let mut tx = cx.begin().await?;
    ensure_unique_sibling_name(&mut tx, Some(new_parent), &node.name, Some(id)).await?;
    on_tx!(&mut tx, c => sqlx::query(
        "DELETE FROM org_closure
         WHERE descendant_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $1)
           AND ancestor_id IN (SELECT ancestor_id FROM org_closure WHERE descendant_id = $1 AND ancestor_id <> $1)",
    ).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO org_closure (ancestor_id, descendant_id, depth)
         SELECT a.ancestor_id, d.descendant_id, a.depth + d.depth + 1
         FROM org_closure a, org_closure d WHERE a.descendant_id = $1 AND d.ancestor_id = $2",
    ).bind(new_parent).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE org_nodes SET parent_id = $2, updated_at = $3 WHERE id = $1")
        .bind(id).bind(new_parent).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    crate::changes::record(&mut tx, cx.now, id, crate::changes::Entity::Node, id.0).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("node.move")
            .object("node", id)
            .node(new_parent)
            .detail(serde_json::json!({ "from": parent_id, "to": new_parent })),
    )
    .await?;
    // The old region's administrators see the move in their log too.
    cx.audit(
        &mut tx,
        AuditEvent::new("node.move")
            .object("node", id)
            .node(parent_id)
            .detail(serde_json::json!({ "from": parent_id, "to": new_parent })),
    )
    .await?;
    tx.commit().await?;
    Ok(Node {
        parent_id: Some(new_parent),
        updated_at: cx.now,
        ..node
    })
}

/// Deactivates a node. Refused while it still has active child nodes or people, so nothing is
/// ever silently dropped with it; an administrator of a node above it must do it.
pub async fn deactivate(cx: &Ctx<'_>, id: NodeId) -> AppResult<Node> {
    let db = cx.db();
    let node = get(cx, id).await?;
    let parent = node.parent_id.ok_or(AppError::Forbidden)?;
    authz::require(db, cx.actor, Permission::ManageNode, parent).await?;
    let mut tx = cx.begin().await?;
    let (children,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as("SELECT COUNT(*) FROM org_nodes WHERE parent_id = $1 AND active = TRUE")
        .bind(id).fetch_one(c).await)?;
    let (people,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM persons p WHERE p.active = TRUE AND (p.org_id = $1 OR EXISTS (
            SELECT 1 FROM role_assignments r WHERE r.person_id = p.id AND r.node_id = $1 AND r.role = 'student'))",
    ).bind(id).fetch_one(c).await)?;
    if children > 0 || people > 0 {
        let mut f = FieldErrors::new();
        f.add("active", "error.directory.node_not_empty");
        return Err(AppError::Conflict("directory.node_not_empty", f));
    }
    on_tx!(&mut tx, c => sqlx::query("UPDATE org_nodes SET active = FALSE, updated_at = $2 WHERE id = $1")
        .bind(id).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    crate::changes::record(
        &mut tx,
        cx.now,
        node.school_id.unwrap_or(id),
        crate::changes::Entity::Node,
        id.0,
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("node.deactivate")
            .object("node", id)
            .node(parent),
    )
    .await?;
    tx.commit().await?;
    Ok(Node {
        active: false,
        updated_at: cx.now,
        ..node
    })
}

pub async fn reactivate(cx: &Ctx<'_>, id: NodeId) -> AppResult<Node> {
    let node = get(cx, id).await?;
    let parent = node.parent_id.ok_or(AppError::Forbidden)?;
    authz::require(cx.db(), cx.actor, Permission::ManageNode, parent).await?;
    let mut tx = cx.begin().await?;
    ensure_unique_sibling_name(&mut tx, node.parent_id, &node.name, Some(id)).await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE org_nodes SET active = TRUE, updated_at = $2 WHERE id = $1")
        .bind(id).bind(cx.now).execute(c).await.map(|r| r.rows_affected()))?;
    crate::changes::record(
        &mut tx,
        cx.now,
        node.school_id.unwrap_or(id),
        crate::changes::Entity::Node,
        id.0,
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("node.reactivate")
            .object("node", id)
            .node(parent),
    )
    .await?;
    tx.commit().await?;
    Ok(Node {
        active: true,
        updated_at: cx.now,
        ..node
    })
}

/// Finds an active region or school by its code, within what the actor may see.
pub async fn find_by_code(cx: &Ctx<'_>, code: &str) -> AppResult<Option<Node>> {
    let code = validate::normalize_code(code);
    let node: Option<Node> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NODE_COLUMNS} FROM org_nodes WHERE code = $1 AND kind IN ('province', 'city', 'district', 'school') AND active = TRUE"
    ))).bind(code).fetch_optional(p).await)?;
    match node {
        Some(n) if authz::may(cx.db(), cx.actor, Permission::ViewNode, n.id).await? => Ok(Some(n)),
        _ => Ok(None),
    }
}

/// Counts of the nodes and people below a node, by kind and role.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub schools: i64,
    pub classes: i64,
    pub teachers: i64,
    pub students: i64,
    pub guardians: i64,
    pub admins: i64,
}

pub async fn summary(cx: &Ctx<'_>, id: NodeId) -> AppResult<Summary> {
    get(cx, id).await?;
    authz::require(cx.db(), cx.actor, Permission::ViewPeople, id).await?;
    let db = cx.db();
    let kinds: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT n.kind, COUNT(*) FROM org_closure c JOIN org_nodes n ON n.id = c.descendant_id
         WHERE c.ancestor_id = $1 AND n.active = TRUE AND n.kind IN ('school', 'class') GROUP BY n.kind",
    ).bind(id).fetch_all(p).await)?;
    let roles: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT r.role, COUNT(DISTINCT r.person_id) FROM org_closure c
         JOIN role_assignments r ON r.node_id = c.descendant_id
         WHERE c.ancestor_id = $1 GROUP BY r.role",
    ).bind(id).fetch_all(p).await)?;
    let mut s = Summary::default();
    for (k, n) in kinds {
        match k.as_str() {
            "school" => s.schools = n,
            "class" => s.classes = n,
            _ => {}
        }
    }
    for (r, n) in roles {
        match r.as_str() {
            "teacher" => s.teachers = n,
            "student" => s.students = n,
            "guardian" => s.guardians = n,
            "admin" => s.admins = n,
            _ => {}
        }
    }
    Ok(s)
}

/// The organisation tree's pages and API.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/admin/org", get(pages::root))
        .route("/admin/org/{id}", get(pages::show))
        .route("/admin/org/{id}/children", post(pages::create_child))
        .route("/admin/org/{id}/rename", post(pages::rename))
        .route("/admin/org/{id}/move", post(pages::move_school))
        .route("/admin/org/{id}/deactivate", post(pages::deactivate))
        .route("/admin/org/{id}/reactivate", post(pages::reactivate))
        .route("/admin/org/{id}/terms", post(pages::create_term))
        .route("/admin/org/{id}/promote", post(pages::promote))
        .merge(api::routes())
}
